"""conv.validity: does this Conv layer run on this input?"""

from __future__ import annotations

from typing import Any

from cardgen.claims import error_claim, shape_claim
from cardgen.errors import ShapeError
from cardgen.explain.sizes import channels_text, conv_fit_text, strip_caption
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
from cardgen.render.diagrams.strip import condensed
from cardgen.solver import output_shape
from cardgen.solver.arith import conv_out

NAME = "conv.validity"
TITLE = "Does this Conv layer run on this input? (kernel vs padded input, channels)"
TOPIC = "Validity"
LEVELS = (1, 2, 3)

CHANNELS = (1, 3, 8, 16, 32, 64)


# Per level: level 1 compares the kernel with the bare input (Conv1d); level 2 pads first
# (Conv2d, padding 1 to 3: two more steps) and may feed the wrong channels; level 3 also
# dilates the kernel (one more product, larger spans), on larger inputs.
# Share of level 2 and 3 cards whose channels do not match, decided before the draw: a
# mismatch answers "no" at the first check, so drawing until the answer is "no" would fill
# the "no" half with them.
MISMATCH = 0.2


def variant_form(params: dict[str, Any]) -> dict[str, Any]:
    """What a variant keeps (cardgen.variants): whether the channels match, so a note on
    sizes holds no variant that fails on channels alone (and the other way round)."""
    return {**params, "channels_match": params["in_channels"] == params["x_channels"]}


def generate(rng: Any, level: int) -> dict[str, Any]:
    mismatch = level >= 2 and rng.random() < MISMATCH
    # half the cards of a level "yes": the mismatched-channel draws are all "no"
    want_ok = not mismatch and rng.random() < (0.5 / (1 - MISMATCH) if level >= 2 else 0.5)
    for _ in range(MAX_DRAWS):
        size = rng.randrange(2, 10) if level < 3 else rng.randrange(3, 24)
        k = rng.randrange(2, 10)
        p = rng.randrange(1, 4) if level > 1 else 0
        d = pick(rng, (2, 3, 4)) if level == 3 else 1
        cin = pick(rng, CHANNELS)
        xin = cin
        if mismatch:
            xin = pick(rng, [c for c in CHANNELS if c != cin])
        params = {"nd": 1 if level == 1 else 2, "size": size, "kernel": k, "padding": p,
                  "dilation": d, "in_channels": cin, "x_channels": xin,
                  "stride": pick(rng, (1, 2))}
        if _fits(params) == want_ok:
            return params
    raise exhausted(NAME, MAX_DRAWS)


def _fits(params: dict[str, Any]) -> bool:
    """_runs by the numbers the generator drew (the channels match and the padded input
    holds the dilated kernel), without a Layer and a step for each draw: most draws are
    turned away (tests: equal to _runs over every draw the levels can make)."""
    p = params["padding"]
    return params["in_channels"] == params["x_channels"] and \
        params["size"] + 2 * p >= params["dilation"] * (params["kernel"] - 1) + 1


def _layer(params: dict[str, Any]) -> Layer:
    kw: dict[str, Any] = {"in_channels": params["in_channels"], "out_channels": 16,
                          "kernel_size": params["kernel"]}
    for key, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
        if params[key] != default:
            kw[key] = params[key]
    return Layer.make(f"Conv{params['nd']}d", **kw)


def _shape(params: dict[str, Any]) -> tuple[int, ...]:
    return (1, params["x_channels"]) + (params["size"],) * params["nd"]


def _runs(params: dict[str, Any]) -> bool:
    try:
        output_shape(_layer(params), _shape(params))
    except ShapeError:
        return False
    return True


def solve(params: dict[str, Any]) -> Solution:
    layer, shape = _layer(params), _shape(params)
    size, k, p, d = params["size"], params["kernel"], params["padding"], params["dilation"]
    stride = params["stride"]
    ok = _runs(params)
    try:  # the size rule alone, channels aside: does the kernel fit?
        count = conv_out(size, k, stride, p, d)
    except ShapeError:
        count = None
    steps = [channels_text(params["in_channels"], params["x_channels"]),
             conv_fit_text(size, p, p, k, d, fits=count is not None)]
    diagrams = []
    if ok:  # a refused layer has no run to draw
        out = output_shape(layer, shape)
        steps.append(f"It runs: output `{shape_text(out)}`.")
        diagrams.append(Diagram("sliding_strip", {"size": size, "kernel": k, "stride": stride,
                                                  "pad_left": p, "pad_right": p, "dilation": d},
                                strip_caption(["L"] if params["nd"] == 1 else ["H", "W"],
                                              size, k, stride, p, p, d, out[-1],
                                              condensed(size + 2 * p))))
    return Solution(
        question=f"Does {layer_code(layer)} run on an input of shape `{shape_text(shape)}`?",
        answer="yes" if ok else "no",
        form="yes or no",
        steps=steps,
        claims=[shape_claim([layer], shape) if ok else error_claim([layer], shape)],
        diagrams=diagrams,
    )
