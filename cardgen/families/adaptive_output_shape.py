"""adaptive.output_shape: AdaptiveAvg/MaxPool output shapes: an int output_size expands to
every spatial dim, None keeps a dim (after a layer that changed it), out > in, Flatten.

No level's answer can be read off the question: each needs a rule or some arithmetic.
"""

from __future__ import annotations

from math import prod
from typing import Any

from cardgen.claims import shape_claim
from cardgen.explain.windows import condensed_note, never_read, read_counts_caption
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
from cardgen.solver import adaptive_windows, read_counts, trace
from cardgen.solver.shapes import pool_stride

NAME = "adaptive.output_shape"
TITLE = "Adaptive pooling output shape: an int or None in output_size, out > in, Flatten"
TOPIC = "Adaptive pooling"
LEVELS = (1, 2, 3)

SIZES = (7, 14, 28, 56, 13, 6, 5, 9, 224, 112, 32, 17)
OUTS = (1, 2, 3, 4, 5, 6, 7)
# layers that change H and W before the adaptive pool, whose None must keep the new size
BEFORE = ("MaxPool2d", "MaxPool2d-s2p1", "Conv2d-s2p1", "Conv2d-valid")


def _before(name: str, channels: int, rng: Any) -> Layer:
    if name == "MaxPool2d":
        return Layer.make("MaxPool2d", kernel_size=2)
    if name == "MaxPool2d-s2p1":
        return Layer.make("MaxPool2d", kernel_size=3, stride=2, padding=1)
    c2 = pick(rng, (16, 32, 64, 128))
    if name == "Conv2d-s2p1":
        return Layer.make("Conv2d", in_channels=channels, out_channels=c2, kernel_size=3,
                          stride=2, padding=1)
    return Layer.make("Conv2d", in_channels=channels, out_channels=c2, kernel_size=3)


def _layers(p: dict[str, Any]) -> list[Layer]:
    pool = Layer.make(f"Adaptive{p['kind']}Pool{p['nd']}d", output_size=p["output_size"])
    before = [Layer.from_json(p["before"])] if "before" in p else []
    return [*before, pool, *([Layer.make("Flatten")] if p.get("flatten") else [])]


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        params = _draw(rng, level)
        if fits_claim(_layers(params), params["input_shape"]):
            return params
    raise exhausted(NAME, MAX_DRAWS)


def _draw(rng: Any, level: int) -> dict[str, Any]:
    kind = pick(rng, ("Avg", "Max"))
    batch, ch = pick(rng, (1, 2, 8, 16, 64)), pick(rng, (3, 64, 128, 512, 2048))
    extra: dict[str, Any] = {}
    if level == 1:  # an int output_size stands for every spatial dim
        nd = pick(rng, (2, 2, 3))
        out: Any = pick(rng, OUTS)
        sizes = [pick(rng, SIZES) for _ in range(nd)]
        if rng.random() < 0.35:  # ... and Flatten multiplies them with the channels
            ch, out, extra = pick(rng, (2, 3, 4, 5, 6, 8, 10, 16)), pick(rng, (2, 3, 4)), \
                {"flatten": True}
            sizes = sizes[:2]
            nd = 2
    elif level == 2:  # None keeps the size that a layer before the pool made
        nd = 2
        out = [pick(rng, OUTS), pick(rng, OUTS)]
        out[rng.randrange(2)] = None
        if rng.random() < 0.25:
            out = [None, None]
        sizes = [pick(rng, SIZES)] * 2 if rng.random() < 0.6 else \
            [pick(rng, SIZES), pick(rng, SIZES)]
        extra = {"before": _before(pick(rng, BEFORE), ch, rng).to_json()}
    else:
        nd = pick(rng, (2, 3))
        out = [pick(rng, OUTS + (None, 10, 20)) for _ in range(nd)]
        sizes = [pick(rng, SIZES) for _ in range(nd)]
        if all(o is None for o in out):  # the answer would be the input shape
            out[0] = pick(rng, OUTS)
        if rng.random() < 0.5:  # output larger than input is allowed
            i = rng.randrange(nd)
            sizes[i] = pick(rng, (2, 3, 4, 5))
            out[i] = sizes[i] + pick(rng, (1, 2, 3, 5))
        if rng.random() < 0.3:  # Flatten: channels times every output size
            ch, extra = pick(rng, (2, 3, 4, 5, 6, 8)), {"flatten": True}
            sizes = [s if s < 8 else pick(rng, (6, 7, 9, 5)) for s in sizes]
            out = [o if o is None or o < 8 else pick(rng, (2, 3, 4)) for o in out]
    unbatched = level == 3 and "flatten" not in extra and rng.random() < 0.2
    shape = ([] if unbatched else [batch]) + [ch] + sizes
    return {"kind": kind, "nd": nd, "output_size": out, "input_shape": shape, **extra}


def _before_diagram(layer: Layer, shape: tuple[int, ...]) -> list[Diagram]:
    """The layer before the pool along H (its W strip is the same when W = H)."""
    if layer.kind not in ("conv", "maxpool"):
        return []
    size, k = shape[-2], layer.tup("kernel_size")[0]
    s = layer.tup("stride")[0] if layer.kind == "conv" else pool_stride(layer)[0]
    p = layer.tup("padding")[0]
    out = (size + 2 * p - k) // s + 1
    parts = [never_read(size, p, p, (out - 1) * s + k), condensed_note(size + 2 * p)]
    return [Diagram("sliding_strip", {"size": size, "kernel": k, "stride": s, "pad_left": p,
                                      "pad_right": p},
                    f"H through {layer_code(layer)}: kernel {k}, stride {s}, padding {p} on "
                    f"{size} cells, {out} windows" + "".join(f"; {t}" for t in parts if t)
                    + ".")]


def _diagrams(sizes: tuple[int, ...], outs: tuple[int | None, ...]) -> list[Diagram]:
    """One adaptive strip per distinct (size, out) among the dims with a number, at the
    question's own sizes."""
    names = "DHW"[3 - len(sizes):]
    pairs: dict[tuple[int, int], list[str]] = {}
    for name, size, out in zip(names, sizes, outs, strict=True):
        if out is not None:
            pairs.setdefault((size, out), []).append(name)
    diagrams = []
    for (size, out), dims in pairs.items():
        shading = read_counts_caption(read_counts(adaptive_windows(size, out), size))
        diagrams.append(Diagram(
            "adaptive_strip", {"size": size, "out": out},
            f"{' and '.join(dims)}: all {size} input cells, and the window of each of the "
            f"{out} output{'s' if out > 1 else ''}" + (f" ({shading})" if shading else "")
            + "."))
    return diagrams


def solve(params: dict[str, Any]) -> Solution:
    layers = _layers(params)
    shape = tuple(params["input_shape"])
    steps_ = trace(layers, shape)
    nd = params["nd"]
    steps: list[str] = []
    current = shape
    for layer, step in zip(layers, steps_, strict=True):
        if layer.kind in ("conv", "maxpool"):
            steps += _resize_steps(layer, current, step.output_shape)
        elif layer.kind == "flatten":
            rest = current[1:]
            product = "\\cdot".join(map(str, rest))
            steps.append(f"`nn.Flatten()` keeps dim 0 and multiplies the rest: "
                         f"\\( {product} = {prod(rest)} \\), so "
                         f"`{shape_text(step.output_shape)}`.")
        else:
            steps += _pool_steps(layer, current, step.output_shape)
        current = step.output_shape
    pool = next(la for la in layers if la.kind.startswith("adaptive"))
    pool_in = steps_[layers.index(pool)].input_shape
    listing = " \u2192 ".join(layer_code(la) for la in layers)
    what = (f"{layer_code(pool)} receives" if len(layers) == 1 else
            f"The stack {listing} receives")
    return Solution(
        question=f"{what} an input of shape `{shape_text(shape)}`. What is the output shape?",
        answer=shape_text(current),
        form="the shape with x between dims, e.g. 2x3x4x5",
        steps=steps,
        claims=[shape_claim(layers, shape)],
        diagrams=_before_diagram(layers[0], shape) + _diagrams(pool_in[-nd:],
                                                               pool.tup("output_size")),
    )


def _resize_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    """The layer before the pool: H and W through the size formula."""
    k, s, p = layer.tup("kernel_size")[0], pool_stride(layer)[0], layer.tup("padding")[0]
    if layer.kind == "conv":
        s = layer.tup("stride")[0]
    what = f"channels become {out[1]}; " if layer.kind == "conv" else ""
    steps = [f"{layer_code(layer)}: {what}H and W go through the size formula."]
    for name, size, new in zip("HW", shape[-2:], out[-2:], strict=True):
        if name == "W" and size == shape[-2]:
            steps.append(f"W is {size} too, so it also becomes {new}.")
            break
        steps.append(size_tex(size, k, s, p, 1, new, name=f"{name}_{{out}}"))
    steps.append(f"So `{shape_text(shape)}` \u2192 `{shape_text(out)}`.")
    return steps


def _pool_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    nd = layer.ndim
    lead = len(shape) - nd
    given = layer.get("output_size")
    steps = [f"{layer_code(layer)}: the leading dims `{shape_text(shape[:lead])}` "
             + ("(no batch dim: an unbatched input) " if lead == 1 else "(batch, channels) ")
             + "are unchanged: adaptive pooling works per channel."]
    if isinstance(given, int):
        steps.append(f"An int output_size stands for every spatial dim: {given} means "
                     f"({', '.join([str(given)] * nd)}).")
    names = "DHW"[3 - nd:]
    for name, o, size, new in zip(names, layer.tup("output_size"), shape[lead:], out[lead:],
                                  strict=True):
        if o is None:
            steps.append(f"{name}: `None` keeps the size this layer receives, {size}.")
        elif o > size:
            steps.append(f"{name}: {size} becomes {new}; more outputs than input cells is "
                         "allowed: windows share cells.")
        else:
            steps.append(f"{name}: {size} becomes {new}, whatever the input size.")
    steps.append(f"So `{shape_text(shape)}` \u2192 `{shape_text(out)}`.")
    return steps
