"""adaptive.output_shape: AdaptiveAvg/MaxPool output shapes, None entries, out > in."""

from __future__ import annotations

from typing import Any

from cardgen.claims import shape_claim
from cardgen.families.base import (
    MAX_DRAWS,
    Solution,
    exhausted,
    fits_claim,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver import output_shape

NAME = "adaptive.output_shape"
TITLE = "Adaptive pooling output shape: output_size with None, batch and channels kept"
TOPIC = "Adaptive pooling"
LEVELS = (1, 2, 3)

SIZES = (7, 14, 28, 56, 13, 6, 5, 9, 224, 112, 32, 17)
OUTS = (1, 2, 3, 4, 5, 6, 7)


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        params = _draw(rng, level)
        layer = Layer.make(f"Adaptive{params['kind']}Pool{params['nd']}d",
                           output_size=params["output_size"])
        if fits_claim([layer], params["input_shape"]):
            return params
    raise exhausted(NAME, MAX_DRAWS)


def _draw(rng: Any, level: int) -> dict[str, Any]:
    kind = pick(rng, ("Avg", "Max"))
    batch, ch = pick(rng, (1, 2, 8, 16, 64)), pick(rng, (3, 64, 128, 512, 2048))
    if level == 1:
        nd = pick(rng, (1, 2))
        out: Any = pick(rng, OUTS)
    elif level == 2:
        nd = 2
        out = [pick(rng, OUTS + (None,)), pick(rng, OUTS + (None,))]
    else:
        nd = pick(rng, (2, 3))
        out = [pick(rng, OUTS + (None, 10, 20)) for _ in range(nd)]
    sizes = [pick(rng, SIZES) for _ in range(nd)]
    if level == 3 and rng.random() < 0.5:  # output larger than input is allowed
        i = rng.randrange(nd)
        sizes[i] = pick(rng, (2, 3, 4, 5))
        out[i] = sizes[i] + pick(rng, (1, 2, 3, 5))
    unbatched = level == 3 and rng.random() < 0.2
    shape = ([] if unbatched else [batch]) + [ch] + sizes
    return {"kind": kind, "nd": nd, "output_size": out, "input_shape": shape}


def solve(params: dict[str, Any]) -> Solution:
    layer = Layer.make(f"Adaptive{params['kind']}Pool{params['nd']}d",
                       output_size=params["output_size"])
    shape = tuple(params["input_shape"])
    out = output_shape(layer, shape)
    nd = params["nd"]
    lead = len(shape) - nd
    sizes = layer.tup("output_size")
    steps = [f"The leading dims `{shape_text(shape[:lead])}` "
             + ("(no batch dim: an unbatched input) " if lead == 1 else "(batch, channels) ")
             + "are unchanged: adaptive pooling works per channel."]
    for i, o in enumerate(sizes):
        size = shape[lead + i]
        if o is None:
            steps.append(f"Spatial dim {i + 1}: `None` keeps the input size, {size}.")
        elif o > size:
            steps.append(f"Spatial dim {i + 1}: {o} > {size} is allowed: windows repeat cells.")
        else:
            steps.append(f"Spatial dim {i + 1}: {size} becomes {o}, whatever the input size.")
    return Solution(
        question=f"{layer_code(layer)} receives an input of shape `{shape_text(shape)}`. "
                 "What is the output shape?",
        answer=shape_text(out),
        form="the shape with x between dims, e.g. 2x3x4x5",
        steps=steps,
        claims=[shape_claim([layer], shape)],
    )
