"""pool.output_size: MaxPool/AvgPool output shapes; ceil_mode, the last-window and padding rules."""

from __future__ import annotations

from typing import Any

from cardgen.claims import error_claim, shape_claim
from cardgen.errors import ShapeError
from cardgen.explain.windows import (
    ceil_label,
    ceil_last_window,
    condensed_note,
    gaps_skipped,
    never_read,
    pool_padding_refused,
)
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    fits_claim,
    layer_code,
    pick,
    shape_text,
    size_tex,
)
from cardgen.layers import Layer
from cardgen.solver import output_shape
from cardgen.solver.arith import ceil_dropped, pool_out_raw

NAME = "pool.output_size"
TITLE = "MaxPool/AvgPool output shape: padding, ceil_mode, the last-window rule"
TOPIC = "Pooling"
LEVELS = (1, 2, 3)

SIZES = (224, 112, 56, 55, 28, 27, 14, 13, 7, 6, 5, 9, 10, 11, 32, 15, 33)


def _layer(p: dict[str, Any]) -> Layer:
    kind = p["kind"]
    kw: dict[str, Any] = {"kernel_size": p["kernel"]}
    if p["stride"] != p["kernel"]:
        kw["stride"] = p["stride"]
    if p["padding"]:
        kw["padding"] = p["padding"]
    if p.get("dilation", 1) != 1:
        kw["dilation"] = p["dilation"]
    if p["ceil_mode"]:
        kw["ceil_mode"] = True
    return Layer.make(f"{kind}Pool{p['nd']}d", **kw)


def _shape(p: dict[str, Any]) -> tuple[int, ...]:
    return (p["batch"], p["channels"], *p["sizes"])


def _result(p: dict[str, Any]) -> tuple[int, ...] | None:
    try:
        return output_shape(_layer(p), _shape(p))
    except ShapeError:
        return None


def variant_form(params: dict[str, Any]) -> dict[str, Any]:
    """What a variant keeps (cardgen.variants): whether the question shows a stride, or
    the learner must know that a pool's stride defaults to its kernel."""
    return {**params, "stride": "kernel" if params["stride"] == params["kernel"] else "given"}


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        k = pick(rng, (2, 2, 3, 3, 4, 5) if level > 1 else (2, 3, 4, 5))
        p: dict[str, Any] = {
            "kind": pick(rng, ("Max", "Avg")), "nd": 2, "batch": pick(rng, (1, 2, 4, 8)),
            "channels": pick(rng, (3, 16, 64, 96, 256)), "kernel": k,
            "stride": pick(rng, (k, k, 1, 2)), "padding": 0, "ceil_mode": False}
        size = pick(rng, SIZES)
        p["sizes"] = [size, size]
        if level == 1:
            p["kind"], p["stride"] = "Max", pick(rng, (k, 1, 2, 3))
        elif level == 2:
            p["padding"] = rng.randrange(0, k // 2 + 1)
            p["ceil_mode"] = rng.random() < 0.4
        else:
            p["sizes"] = [size, pick(rng, SIZES)]
            p["padding"] = rng.randrange(0, k // 2 + 1)
            twist = pick(rng, ("ceil", "ceil", "badpad", "dilated"))
            if twist == "ceil":
                p["ceil_mode"] = True
                p["stride"] = pick(rng, (2, 3, 4))
                plain = [pool_out_raw(n, k, p["stride"], p["padding"]) for n in p["sizes"]]
                ceil = [pool_out_raw(n, k, p["stride"], p["padding"], 1, True)
                        for n in p["sizes"]]
                edge = any(ceil_dropped(n, k, p["stride"], p["padding"]) for n in p["sizes"])
                if plain == ceil and not edge:
                    continue
            elif twist == "badpad":
                p["padding"] = k // 2 + 1
            else:
                p["kind"], p["dilation"] = "Max", 2
        got = _result(p)
        if got is None and p["padding"] <= k // 2:
            continue
        if got is not None and list(got[2:]) == p["sizes"]:  # the answer would copy the input
            continue
        if not fits_claim([_layer(p)], _shape(p)):
            continue
        return p
    raise exhausted(NAME, MAX_DRAWS)


def _caption(names: str, size: int, k: int, s: int, pad: int, d: int, out: int,
             ceil: bool) -> str:
    """What one strip shows: the dim's own numbers, which cells are left unread, and
    whether the strip is condensed."""
    dil = f", dilation {d}" if d > 1 else ""
    text = f"{names}: kernel {k}{dil}, stride {s}, padding {pad} on {size} cells"
    end = min((out - 1) * s + d * (k - 1) + 1, size + 2 * pad)  # of the last window kept
    unread = never_read(size, pad, pad, end)
    extra = ceil_label(size, k, s, pad, d) if ceil else ""
    parts = (unread, gaps_skipped(size, k, s, pad, d, out), extra,
             condensed_note(size + 2 * pad))
    return text + "".join(f"; {part}" for part in parts if part) + "."


def solve(params: dict[str, Any]) -> Solution:
    layer, shape = _layer(params), _shape(params)
    out = _result(params)
    k, s, pad = params["kernel"], params["stride"], params["padding"]
    d, ceil = params.get("dilation", 1), params["ceil_mode"]
    question = (f"{layer_code(layer)} receives an input of shape `{shape_text(shape)}`. What "
                "is the output shape? (Answer `error` if PyTorch refuses.)")
    form = "the shape as NxCxHxW, written like the input's, or error"
    if pad > k // 2:
        # No diagram: a strip would draw windows of a layer that never runs.
        return Solution(
            question=question, answer="error", form=form,
            steps=[pool_padding_refused(k, pad),
                   "No window diagram: the layer never runs, so it has no windows."],
            claims=[error_claim([layer], shape)])
    assert out is not None
    steps = [f"Batch and channels are unchanged: `{shape[0]}x{shape[1]}`."]
    diagrams = []
    sizes = params["sizes"]
    for i, (name, size) in enumerate(zip("HW", sizes, strict=True)):
        if ceil:
            num = size + 2 * pad - d * (k - 1) - 1
            steps.append(size_tex(size, k, s, pad, d, -(-num // s) + 1, name=f"{name}_{{out}}",
                                  ceil=True))
            steps.append(ceil_last_window(size, k, s, pad, d, out[2 + i]))
        else:
            steps.append(size_tex(size, k, s, pad, d, out[2 + i], name=f"{name}_{{out}}"))
        if i == 0 or size != sizes[0]:
            names = "H and W" if sizes[0] == sizes[1] else name
            diagrams.append(Diagram("sliding_strip", {
                "size": size, "kernel": k, "stride": s, "pad_left": pad, "pad_right": pad,
                "dilation": d, "ceil_mode": ceil},
                _caption(names, size, k, s, pad, d, out[2 + i], ceil)))
    return Solution(question=question, answer=shape_text(out), form=form, steps=steps,
                    claims=[shape_claim([layer], shape)], diagrams=diagrams)
