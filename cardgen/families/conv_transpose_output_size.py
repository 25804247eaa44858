"""conv_transpose.output_size: ConvTranspose output sizes, and the output_padding to use."""

from __future__ import annotations

from typing import Any

from cardgen.claims import shape_claim, unique_claim
from cardgen.errors import ShapeError
from cardgen.explain.sizes import (
    transpose_recover_steps,
    transpose_size_tex,
    transposed_caption,
)
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver import output_shape
from cardgen.solver.arith import conv_out, conv_transpose_out

NAME = "conv_transpose.output_size"
TITLE = "ConvTranspose output size, and which output_padding recovers a size"
TOPIC = "Transposed conv"
LEVELS = (1, 2, 3)

SIZES = (2, 3, 4, 5, 6, 7, 8, 14, 16, 28, 32, 56, 13, 15)


def variant_form(params: dict[str, Any]) -> dict[str, Any]:
    """What a variant keeps (cardgen.variants): a "which output_padding" question leaves
    out the output_padding, which is its answer."""
    if params.get("q") == "recover":
        return {k: v for k, v in params.items() if k != "output_padding"}
    return params


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        size = pick(rng, SIZES)
        # level 1: any padding below the kernel (k drawn as often as it has paddings), so
        # its cards spread evenly over many (k, s, p) forms
        k = pick(rng, (2, 3, 4, 5, 7) if level > 1 else (1, 2, 2, 3, 3, 3, 4, 4, 4, 4))
        s = pick(rng, (1, 2, 2, 3) if level > 1 else (1, 2))
        p = rng.randrange(0, k // 2 + 1) if level > 1 else rng.randrange(0, k)
        d = pick(rng, (1, 2, 2, 3)) if level == 3 else 1
        if level < 3:
            op = rng.randrange(0, s) if level == 2 else 0
            params = {"q": "size", "nd": 2 if level == 2 else 1, "size": size, "kernel": k,
                      "stride": s, "padding": p, "output_padding": op, "dilation": d}
            try:
                out = conv_transpose_out(size, k, s, p, op, d)
            except ShapeError:
                continue
            # level 2 goes beyond level 1's forms: an output_padding, a kernel of 5+ or a
            # stride of 3
            beyond = op > 0 or k >= 5 or s >= 3
            if out != size and (level == 1 or beyond):  # a kept size is a copy of the
                return params                            # question, no arithmetic
            continue
        # level 3: a strided conv maps `big` to `size`; which output_padding brings it back?
        # (a real size to bring back: no 2, 3 or 4; often dilated: one more product)
        if size < 5:
            continue
        s = pick(rng, (2, 3, 4))
        big = size * s + rng.randrange(0, s)
        try:
            if conv_out(big, k, s, p, d) != size:
                continue
            base = conv_transpose_out(size, k, s, p, 0, d)
        except ShapeError:
            continue
        if 0 <= big - base < max(s, d):
            return {"q": "recover", "nd": 2, "size": size, "kernel": k, "stride": s,
                    "padding": p, "output_padding": big - base, "dilation": d, "target": big}
    raise exhausted(NAME, MAX_DRAWS)


def _layer(params: dict[str, Any], output_padding: int) -> Layer:
    kw: dict[str, Any] = {"in_channels": 16, "out_channels": 8, "kernel_size": params["kernel"]}
    for key, value, default in (("stride", params["stride"], 1),
                                ("padding", params["padding"], 0),
                                ("output_padding", output_padding, 0),
                                ("dilation", params["dilation"], 1)):
        if value != default:
            kw[key] = value
    return Layer.make(f"ConvTranspose{params['nd']}d", **kw)


def solve(params: dict[str, Any]) -> Solution:
    size, k, s, p, d = (params[x] for x in ("size", "kernel", "stride", "padding", "dilation"))
    op = params["output_padding"]
    layer = _layer(params, op)
    shape = (1, 16) + (size,) * params["nd"]
    out = output_shape(layer, shape)
    formula = transpose_size_tex(size, k, s, p, op, d, out[-1])
    diagram = Diagram("transposed_strip", {"size": size, "kernel": k, "stride": s,
                                           "padding": p, "output_padding": op, "dilation": d},
                      transposed_caption(size, k, s, p, op, d, out[-1]))
    if params["q"] == "size":
        return Solution(
            question=f"{layer_code(layer)} receives `{shape_text(shape)}`. What is the output "
                     "shape?",
            answer=shape_text(out),
            form="the shape as NxCxL, written like the input's" if params["nd"] == 1
            else "the shape as NxCxHxW, written like the input's",
            steps=[f"Channels become out_channels = {out[1]}.", formula],
            claims=[shape_claim([layer], shape)],
            diagrams=[diagram],
        )
    target = params["target"]
    conv = Layer.make("Conv2d", in_channels=8, out_channels=16, kernel_size=k, stride=s,
                      padding=p, **({"dilation": d} if d != 1 else {}))
    big_shape = (1, 8, target, target)
    top = max(s, d) - 1  # output_padding must be smaller than the stride or the dilation
    back = shape_claim([_layer(params, op)], shape)
    if "output_padding" not in back["layers"][0]["args"]:  # op 0 is left out of the layer
        back["layers"][0]["args"]["output_padding"] = 0
    return Solution(
        question=f"{layer_code(conv)} maps `{shape_text(big_shape)}` to "
                 f"`{shape_text(shape)}`. A ConvTranspose2d(16, 8, {k}, stride={s}, padding={p}"
                 + (f", dilation={d}" if d != 1 else "") + ") should map it back to "
                 f"{target}x{target}. Which output_padding, between 0 and {top}?",
        answer=str(op),
        form="a whole number",
        steps=[*transpose_recover_steps(target, size, k, s, p, d, op), formula],
        claims=[shape_claim([conv], big_shape), shape_claim([layer], shape),
                unique_claim(back, {"op": ("layers", 0, "args", "output_padding")},
                             {"op": (0, top)})],
        diagrams=[diagram],
    )
