"""adaptive.output_shape: AdaptiveAvg/MaxPool output shapes: an int output_size expands to
every spatial dim, None keeps a dim (after a layer that changed it), out > in, Flatten.

No level's answer can be read off the question: each needs a rule or some arithmetic.
"""

from __future__ import annotations

from math import prod
from typing import Any

from cardgen.claims import shape_claim
from cardgen.errors import ShapeError
from cardgen.explain.sizes import and_list, channels_out_text
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
SMALL_SIZES = (7, 14, 13, 6, 5, 9, 12, 17)
OUTS = (1, 2, 3, 4, 5, 6, 7)
# layers that change H and W before the adaptive pool, whose None must keep the new size
BEFORE = ("MaxPool2d", "MaxPool2d-s2p1", "Conv2d-s2p1", "Conv2d-valid")


def _mental_flatten(shape: tuple[int, ...], out: tuple[int, ...], params: dict[str, Any]
                    ) -> bool:
    """Flatten's product can be worked in the head (every partial product at most 1024),
    and it is not a number the question already shows (that would give it away)."""
    partial = shape[1]
    for size in shape[2:]:
        if partial > 1024:
            return False
        partial *= size
    given = params["output_size"]
    shown = {*params["input_shape"], *(given if isinstance(given, list) else [given])}
    return out[-1] not in shown


def _before(name: str, channels: int, rng: Any, nd: int = 2) -> Layer:
    if name == "MaxPool2d":
        return Layer.make(f"MaxPool{nd}d", kernel_size=2)
    if name == "MaxPool2d-s2p1":
        return Layer.make(f"MaxPool{nd}d", kernel_size=3, stride=2, padding=1)
    c2 = pick(rng, (16, 32, 64, 128))
    if name == "Conv2d-s2p1":
        return Layer.make(f"Conv{nd}d", in_channels=channels, out_channels=c2, kernel_size=3,
                          stride=2, padding=1)
    return Layer.make(f"Conv{nd}d", in_channels=channels, out_channels=c2, kernel_size=3)


def _layers(p: dict[str, Any]) -> list[Layer]:
    pool = Layer.make(f"Adaptive{p['kind']}Pool{p['nd']}d", output_size=p["output_size"])
    before = [Layer.from_json(p["before"])] if "before" in p else []
    return [*before, pool, *([Layer.make("Flatten")] if p.get("flatten") else [])]


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        params = _draw(rng, level)
        if params["output_size"] == 0:
            continue
        layers = _layers(params)
        if not fits_claim(layers, params["input_shape"]):
            continue
        try:
            steps = trace(layers, params["input_shape"])
        except ShapeError:
            continue
        if params.get("flatten") and not _mental_flatten(steps[-1].input_shape,
                                                          steps[-1].output_shape, params):
            continue
        return params
    raise exhausted(NAME, MAX_DRAWS)


def _draw(rng: Any, level: int) -> dict[str, Any]:
    kind = pick(rng, ("Avg", "Max"))
    batch, ch = pick(rng, (1, 2, 8, 16, 64)), pick(rng, (3, 64, 128, 512, 2048))
    if level == 1:  # an int output_size stands for every spatial dim; Flatten multiplies
        nd, out = pick(rng, (2, 2, 3)), pick(rng, (2, 3, 4))
        # each dim larger than, equal to, or smaller than the output size
        sizes = [pick(rng, SIZES) if rel == "<" else out if rel == "=" else
                 rng.randrange(1, out) for rel in (pick(rng, "<<=>") for _ in range(nd))]
        return {"kind": kind, "nd": nd, "output_size": out,
                "input_shape": [batch, pick(rng, (2, 3, 4, 5, 6, 8, 10, 16)), *sizes],
                "flatten": True}
    if level == 2:  # None keeps the size that a layer before the pool made
        out: list[Any] = [pick(rng, OUTS), pick(rng, OUTS)]
        out[rng.randrange(2)] = None
        if rng.random() < 0.25:
            out = [None, None]
        sizes = [pick(rng, SIZES)] * 2 if rng.random() < 0.6 else \
            [pick(rng, SIZES), pick(rng, SIZES)]
        return {"kind": kind, "nd": 2, "output_size": out, "input_shape": [batch, ch, *sizes],
                "before": _before(pick(rng, BEFORE), ch, rng).to_json()}
    # a layer before the pool on a non-square input, then None, out > in, 3-D, unbatched
    # or Flatten; None or Flatten in every card, so that no answer copies the question
    nd = pick(rng, (2, 3))
    if nd == 3:
        ch = pick(rng, (3, 8, 16, 32))
    sizes = [pick(rng, SMALL_SIZES if nd == 3 else SIZES) for _ in range(nd)]
    if len(set(sizes)) == 1:
        sizes[-1] += pick(rng, (1, 3, 5))
    before = _before(pick(rng, BEFORE), ch, rng, nd)
    flatten = rng.random() < 0.4
    unbatched = not flatten and rng.random() < 0.25
    shape = ([] if unbatched else [batch]) + [ch, *sizes]
    try:
        spatial = trace([before], shape)[-1].output_shape[-nd:]
    except ShapeError:
        return {"kind": kind, "nd": nd, "output_size": 0, "input_shape": shape}  # refused
    out = [pick(rng, OUTS + (None,)) for _ in range(nd)]
    if not flatten and None not in out:
        out[rng.randrange(nd)] = None
    if rng.random() < 0.5:  # output larger than input is allowed
        small = [i for i, o in enumerate(out) if o is not None and spatial[i] < 8]
        if small:
            i = pick(rng, small)
            out[i] = spatial[i] + pick(rng, (1, 2, 3, 5))
    if flatten:  # keep the product mental
        ch = min(ch, 16)
        shape[-nd - 1] = ch
        before = _before_like(before, ch)
    return {"kind": kind, "nd": nd, "output_size": out, "input_shape": shape,
            "before": before.to_json(), **({"flatten": True} if flatten else {})}


def _before_like(layer: Layer, channels: int) -> Layer:
    """`layer` taking `channels` input channels (a conv keeps its other arguments)."""
    if layer.kind != "conv":
        return layer
    return Layer.make(layer.type, **{**layer.kwargs, "in_channels": channels,
                                     "out_channels": min(layer.get("out_channels"), 16)})


def _before_diagram(layer: Layer, shape: tuple[int, ...]) -> list[Diagram]:
    """The layer before the pool, one strip per distinct spatial size (dims of one size
    share a strip, and its caption names them)."""
    if layer.kind not in ("conv", "maxpool"):
        return []
    nd = layer.ndim
    k = layer.tup("kernel_size")[0]
    s = layer.tup("stride")[0] if layer.kind == "conv" else pool_stride(layer)[0]
    p = layer.tup("padding")[0]
    by_size: dict[int, list[str]] = {}
    for name, size in zip("DHW"[3 - nd:], shape[-nd:], strict=True):
        by_size.setdefault(size, []).append(name)
    diagrams = []
    for size, names in by_size.items():
        out = (size + 2 * p - k) // s + 1
        parts = [never_read(size, p, p, (out - 1) * s + k), condensed_note(size + 2 * p)]
        diagrams.append(Diagram(
            "sliding_strip", {"size": size, "kernel": k, "stride": s, "pad_left": p,
                              "pad_right": p},
            f"{and_list(names)} through {layer_code(layer)}: kernel {k}, stride {s}, padding "
            f"{p} on {size} cells, {out} windows" + "".join(f"; {t}" for t in parts if t)
            + "."))
    return diagrams


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
            f"{' and '.join(dims)}: "
            + (f"all {size} input cells" if size > 1 else "its 1 input cell")
            + (", and the window of its one output" if out == 1
               else f", and the window of each of the {out} outputs")
            + (f" ({shading})" if shading else "")
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
        form="the shape with x between dims, written like the input's",
        steps=steps,
        claims=[shape_claim(layers, shape)],
        # the question's own sizes: the pool's strips only when it receives the input as
        # given (a layer before it draws its own strip instead)
        diagrams=_before_diagram(layers[0], shape) or _diagrams(pool_in[-nd:],
                                                                pool.tup("output_size")),
    )


def _resize_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    """The layer before the pool: each spatial size through the size formula (the layers
    drawn here have one kernel, stride and padding for every dim)."""
    k, s, p = layer.tup("kernel_size")[0], pool_stride(layer)[0], layer.tup("padding")[0]
    if layer.kind == "conv":
        s = layer.tup("stride")[0]
    nd = layer.ndim
    names = "DHW"[3 - nd:]
    what = (f"{channels_out_text(shape[-nd - 1], out[-nd - 1])}; " if layer.kind == "conv"
            else "")
    unbatched = (f"`{shape_text(shape)}` has no batch dim (channels, then "
                 f"{and_list(names)}): PyTorch runs the layer on it as on one sample; "
                 if len(shape) == nd + 1 else "")
    steps = [f"{layer_code(layer)}: {unbatched}{what}{and_list(names)} go through the size "
             "formula."]
    done: dict[int, str] = {}
    for name, size, new in zip(names, shape[-nd:], out[-nd:], strict=True):
        if size in done:
            steps.append(f"{name} is {size} too, like {done[size]}, so it also becomes {new}.")
            continue
        done[size] = name
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
