"""conv.same_padding: the padding that keeps the size; PyTorch's padding='same'."""

from __future__ import annotations

from typing import Any

from cardgen.claims import error_claim, shape_claim
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    fits_claim,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver.arith import same_padding

NAME = "conv.same_padding"
TITLE = "Padding that keeps the size; padding='same' for even kernels and with stride"
TOPIC = "Padding"
LEVELS = (1, 2, 3)

SIZES = (7, 8, 12, 14, 16, 28, 32, 56, 64, 112, 224)


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        params = _draw(rng, level)
        # the size of the work is the stride-1 layer's (a strided 'same' is never built)
        layer = _conv(params["nd"], params["kernel"], params["dilation"], "same")
        if fits_claim([layer], (1, 8) + (params["size"],) * params["nd"]):
            return params
    raise exhausted(NAME, MAX_DRAWS)


def _draw(rng: Any, level: int) -> dict[str, Any]:
    size = pick(rng, SIZES)
    if level == 1:  # odd kernel, no dilation: p = (k-1)/2
        return {"q": "pad", "nd": pick(rng, (1, 2)), "size": size,
                "kernel": pick(rng, (1, 3, 5, 7, 9, 11)), "dilation": 1}
    if level == 2:
        if rng.random() < 0.5:  # odd kernel, dilated
            return {"q": "pad", "nd": 2, "size": size, "kernel": pick(rng, (3, 5, 7)),
                    "dilation": pick(rng, (2, 3, 4, 6))}
        return {"q": "split", "nd": pick(rng, (1, 2)), "size": size,
                "kernel": pick(rng, (2, 4, 6, 8)), "dilation": pick(rng, (1, 1, 3))}
    # level 3: does padding='same' construct with this stride? (answer balanced by design)
    stride = pick(rng, (1, 1, 1, 2, 3, 4))
    k = pick(rng, (2, 3, 4, 5, 7))
    return {"q": "stride", "nd": 2, "size": size, "kernel": k,
            "dilation": pick(rng, (1, 1, 2)), "stride": stride}


def _conv(nd: int, k: int, d: int, padding: Any, stride: int = 1) -> Layer:
    kw: dict[str, Any] = {"in_channels": 8, "out_channels": 8, "kernel_size": k,
                          "padding": padding}
    if d != 1:
        kw["dilation"] = d
    if stride != 1:
        kw["stride"] = stride
    if padding == "same" and stride > 1:  # PyTorch refuses to build it: keep it unvalidated
        return Layer(f"Conv{nd}d", tuple(kw.items()))
    return Layer.make(f"Conv{nd}d", **kw)


def solve(params: dict[str, Any]) -> Solution:
    q, nd, size, k, d = (params[x] for x in ("q", "nd", "size", "kernel", "dilation"))
    shape = (1, 8) + (size,) * nd
    total = d * (k - 1)
    left, right = same_padding(k, d)
    dil_text = f", dilation {d}" if d > 1 else ""
    span = f"\\( d(k-1) = {d}\\cdot({k}-1) = {total} \\)"
    if q == "pad":
        layer = _conv(nd, k, d, left)
        strip = Diagram("sliding_strip", {"size": min(size, 16), "kernel": k, "stride": 1,
                                          "pad_left": left, "pad_right": right,
                                          "dilation": d},
                        f"Padding {left} on each side: every input cell gets a placement.")
        return Solution(
            question=f"A stride-1 Conv{nd}d with kernel size {k}{dil_text} gets an input of "
                     f"shape `{shape_text(shape)}`. What padding p (the same on each side) "
                     "keeps the spatial size unchanged?",
            answer=str(left),
            form="a whole number, e.g. 2",
            steps=["With stride 1 the output is \\( in + 2p - d(k-1) \\); it equals in when "
                   "\\( 2p = d(k-1) \\).", f"{span}, so \\( p = {total}/2 = {left} \\).",
                   f"Check: {layer_code(layer)} maps `{shape_text(shape)}` to the same size."],
            claims=[shape_claim([layer], shape)],
            diagrams=[strip],
        )
    if q == "split":
        same = _conv(nd, k, d, "same")
        claims = [shape_claim([same], shape), shape_claim([_conv(nd, k, d, left)], shape),
                  shape_claim([_conv(nd, k, d, right)], shape)]
        return Solution(
            question=f"`nn.Conv{nd}d(8, 8, {k}{', dilation=' + str(d) if d > 1 else ''}, "
                     f"padding='same')` runs on a length-{size} input along each spatial dim. "
                     "How many zeros does PyTorch pad on the left and on the right of each dim?",
            answer=f"{left},{right}",
            form="left,right, e.g. 2,3",
            steps=[f"'same' needs total padding {span}.",
                   f"{total} is {'odd' if total % 2 else 'even'}: PyTorch puts "
                   f"\\( \\lfloor {total}/2 \\rfloor = {left} \\) on the left and the remaining "
                   f"{right} on the right.",
                   f"No symmetric padding works: padding={left} gives size "
                   f"{size - (right - left)}, padding={right} gives {size + (right - left)}."
                   if left != right else "The total is even, so the split is symmetric."],
            claims=claims,
            diagrams=[Diagram("sliding_strip", {"size": min(size, 16), "kernel": k,
                                                "stride": 1, "pad_left": left,
                                                "pad_right": right, "dilation": d},
                              f"{left} zero(s) left, {right} right.")],
        )
    stride = params["stride"]
    layer = _conv(nd, k, d, "same", stride)
    ok = stride == 1
    return Solution(
        question=f"Does {layer_code(layer)} run on an input of shape `{shape_text(shape)}`?",
        answer="yes" if ok else "no",
        form="yes or no",
        steps=["`padding='same'` keeps the size: PyTorch allows it only with stride 1."
               + (" Here the stride is 1, and the total padding is " + span + "."
                  if ok else f" Here stride = {stride}, so building the layer raises "
                  "ValueError: padding='same' is not supported for strided convolutions.")],
        claims=[shape_claim([layer], shape) if ok else error_claim([layer], shape)],
    )
