"""conv.output_size: the output shape of a Conv1d/2d/3d layer."""

from __future__ import annotations

from typing import Any

from cardgen.claims import shape_claim
from cardgen.errors import ShapeError
from cardgen.explain.sizes import (
    channels_out_text,
    padding_mode_text,
    size_tex,
    strip_caption,
    unchanged_dims_text,
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
)
from cardgen.layers import Layer
from cardgen.render.diagrams.strip import condensed
from cardgen.solver import output_shape
from cardgen.solver.shapes import conv_padding

NAME = "conv.output_size"
TITLE = "Output shape of a Conv layer (stride, padding, dilation, 'same'/'valid')"
TOPIC = "Output size"
LEVELS = (1, 2, 3)

SMALL = (5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
REAL = (224, 112, 56, 28, 14, 7, 32, 64, 128, 227, 96, 299, 150, 48)
CHANNELS = (1, 3, 16, 32, 64, 128, 256)


def _layer(nd: int, cin: int, cout: int, k: Any, s: Any, p: Any, d: Any = 1) -> Layer:
    kw: dict[str, Any] = {"in_channels": cin, "out_channels": cout, "kernel_size": k}
    if s != 1:
        kw["stride"] = s
    if p != 0:
        kw["padding"] = p
    if d != 1:
        kw["dilation"] = d
    return Layer.make(f"Conv{nd}d", **kw)


def _identity_dims(layer: Layer) -> list[int]:
    """Dims with kernel 1, stride 1 and no padding: the size passes through, no arithmetic."""
    if layer.get("padding") == "same":
        return list(range(layer.ndim))
    valid = layer.get("padding") == "valid"
    return [d for d in range(layer.ndim)
            if layer.tup("kernel_size")[d] == 1 and layer.tup("stride")[d] == 1
            and (valid or layer.tup("padding")[d] == 0)]


def _giveaway(layer: Layer) -> bool:
    """Every spatial size can be read off the question: no arithmetic to drill."""
    return len(_identity_dims(layer)) == layer.ndim


def _kept(shape: tuple[int, ...], out: tuple[int, ...]) -> bool:
    """Every spatial size comes out unchanged: the answer is a copy of the question (the
    channels are out_channels, written in the layer), no arithmetic to drill."""
    return tuple(out[2:]) == tuple(shape[2:])


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        batch = pick(rng, (1, 1, 2, 4, 8))
        cin, cout = pick(rng, CHANNELS), pick(rng, CHANNELS[1:])
        if level == 1:
            nd = pick(rng, (1, 2))
            size = pick(rng, SMALL)
            k = pick(rng, (1, 2, 3, 3, 4, 4, 5, 5))
            s = pick(rng, (1, 2))
            # any padding up to k-1 (more than k//2 grows the size): each (k, s, p) is a
            # form of its own, so a deck's L1 cards spread over many of them
            p = rng.randrange(0, max(k, 2))
            layer, spatial = _layer(nd, cin, cout, k, s, p), (size,) * nd
        elif level == 2:
            nd = 2
            size = pick(rng, REAL + SMALL)
            k = pick(rng, (1, 2, 3, 3, 4, 5, 6, 7, 9, 11))
            s = pick(rng, (1, 2, 2, 3, 3, 4, 4))
            p = pick(rng, (0, k // 2, k // 2, rng.randrange(0, k), "valid"))
            # beyond level 1: a kernel of 6+, a stride of 3+, or 'valid' ('same' keeps the
            # size, readable off the question)
            if k < 6 and s < 3 and p != "valid":
                continue
            layer, spatial = _layer(nd, cin, cout, k, s, p), (size, size)
        else:
            nd = pick(rng, (2, 2, 2, 3, 1))
            spatial = tuple(pick(rng, REAL + SMALL) for _ in range(nd))
            if nd == 3:
                spatial = tuple(pick(rng, (8, 16, 32, 7, 9, 15)) for _ in range(3))
            k = tuple(pick(rng, (1, 2, 3, 5, 7)) for _ in range(nd))
            s = tuple(pick(rng, (1, 2, 3)) for _ in range(nd))
            d = tuple(pick(rng, (1, 1, 2, 3)) for _ in range(nd))
            p = tuple(rng.randrange(0, kk + 1) for kk in k)
            if nd == 1:
                k, s, d, p = k[0], s[0], d[0], p[0]
            if rng.random() < 0.15:
                s, p = 1, "valid"
            layer, spatial = _layer(nd, cin, cout, k, s, p, d), spatial
        shape = (batch, cin, *spatial)
        if _giveaway(layer):
            continue
        try:
            out = output_shape(layer, shape)
        except ShapeError:
            continue
        if min(out[2:]) >= 1 and not _kept(shape, out) and fits_claim([layer], shape):
            return {"layer": layer.to_json(), "input_shape": list(shape)}
    raise exhausted(NAME, MAX_DRAWS)


def solve(params: dict[str, Any]) -> Solution:
    layer = Layer.from_json(params["layer"])
    shape = tuple(params["input_shape"])
    out = output_shape(layer, shape)
    names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[layer.ndim]
    steps = [f"Batch {shape[0]} is unchanged; {channels_out_text(shape[1], out[1])}."]
    if isinstance(layer.get("padding"), str):
        steps.append(padding_mode_text(layer.get("padding")))
    # one strip per distinct dim whose size takes arithmetic; identity dims are named
    same = _identity_dims(layer)
    strips: dict[tuple[int, ...], list[str]] = {}
    for d, name in enumerate(names):
        size = shape[2 + d]
        k, s = layer.tup("kernel_size")[d], layer.tup("stride")[d]
        dil = layer.tup("dilation")[d]
        pl, pr = conv_padding(layer, d)
        steps.append(size_tex(size, k, s, pl, dil, out[2 + d], pr if pr != pl else None,
                              name=f"{name}_{{out}}"))
        if d not in same:
            strips.setdefault((size, k, s, pl, pr, dil, out[2 + d]), []).append(name)
    if same and strips:
        steps.append(unchanged_dims_text([names[d] for d in same]))
    diagrams = [Diagram("sliding_strip", {"size": size, "kernel": k, "stride": s,
                                          "pad_left": pl, "pad_right": pr, "dilation": dil},
                        strip_caption(dims, size, k, s, pl, pr, dil, o,
                                      condensed(size + pl + pr)))
                for (size, k, s, pl, pr, dil, o), dims in strips.items()]
    letters = "x".join(["N", "C"] + names)
    return Solution(
        question=f"{layer_code(layer)} receives an input of shape `{shape_text(shape)}`. "
                 "What is the output shape?",
        answer=shape_text(out),
        form=f"the shape as {letters}, written like the input's",
        steps=steps,
        claims=[shape_claim([layer], shape)],
        diagrams=diagrams,
    )
