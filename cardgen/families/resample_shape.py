"""resample.shape: output shapes of the other resamplers (Upsample, PixelShuffle and
PixelUnshuffle, Unfold/Fold, the padding modules), alone and in short stacks."""

from __future__ import annotations

from typing import Any

from cardgen.claims import error_claim, shape_claim
from cardgen.errors import ShapeError
from cardgen.explain.resample import (
    SPATIAL,
    fold_steps,
    leading_text,
    pad_steps,
    pixel_shuffle_tex,
    pixel_unshuffle_tex,
    reflect_fits_text,
    shuffle_refused_text,
    unfold_steps,
    unshuffle_refused_text,
    upsample_refused_text,
    upsample_scale_tex,
    upsample_size_text,
)
from cardgen.explain.sizes import channels_out_text, conv_fit_text, size_tex
from cardgen.families.base import (
    MAX_DRAWS,
    Solution,
    exhausted,
    fits_claim,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer, pad_pairs
from cardgen.solver import trace
from cardgen.solver.resample import scaled_size
from cardgen.solver.shapes import conv_padding

NAME = "resample.shape"
TITLE = ("Output shape of a resampler: Upsample (scale, floor), PixelShuffle/Unshuffle, "
         "Unfold/Fold blocks, asymmetric padding")
TOPIC = "Resampling"
LEVELS = (1, 2, 3)

CHANNELS = (1, 2, 3, 4, 8, 16)
# scales whose products are exact in binary, so the card's decimals are torch's
FRACTIONAL = (1.5, 2.5, 0.5, 0.75, 1.25)
PADS = ("ZeroPad2d", "ReplicationPad2d", "ReflectionPad2d", "ConstantPad2d")


def _make(type_: str, **kwargs: Any) -> Layer:
    return Layer.make(type_, **kwargs)


def _pad(rng: Any, size_h: int, size_w: int, type_: str | None = None) -> Layer:
    """An asymmetric 4-tuple pad: (left, right, top, bottom), every pad distinct enough
    that the order matters."""
    type_ = type_ or pick(rng, PADS)
    while True:
        t = tuple(rng.randrange(0, 5) for _ in range(4))
        if t[0] + t[1] != t[2] + t[3] and len(set(t)) >= 3:
            break
    kwargs: dict[str, Any] = {"padding": t}
    if type_ == "ConstantPad2d":
        kwargs["value"] = pick(rng, (0.5, 1, -1))
    return _make(type_, **kwargs)


def _level1(rng: Any) -> tuple[list[Layer], list[int]]:
    n, c = pick(rng, (1, 2, 4)), pick(rng, CHANNELS)
    h, w = rng.randrange(3, 17), rng.randrange(3, 17)
    if rng.random() < 0.5:
        scale: Any = pick(rng, (2, 3, 4))
        if rng.random() < 0.4:
            scale = (pick(rng, (2, 3)), pick(rng, (1, 2, 4)))
        mode = pick(rng, ("nearest", "nearest", "bilinear", "bicubic"))
        kwargs: dict[str, Any] = {"scale_factor": scale}
        if mode != "nearest":
            kwargs["mode"] = mode
        return [_make("Upsample", **kwargs)], [n, c, h, w]
    r = pick(rng, (2, 3, 4))
    shape = [n, r * r * pick(rng, (1, 2, 3, 4, 8)), rng.randrange(2, 12), rng.randrange(2, 12)]
    return [_make("PixelShuffle", upscale_factor=r)], shape[rng.random() < 0.25:]


def _level2(rng: Any) -> tuple[list[Layer], list[int]]:
    n, c = pick(rng, (1, 2, 4)), pick(rng, CHANNELS)
    h, w = rng.randrange(3, 17), rng.randrange(3, 17)
    form = rng.randrange(4)
    if form == 0:  # asymmetric pads, last dim first
        if rng.random() < 0.2:
            left = rng.randrange(0, 5)
            t = (left, pick(rng, [v for v in range(1, 6) if v != left]))  # asymmetric
            return [_make(pick(rng, ("ZeroPad1d", "ReplicationPad1d")), padding=t)], \
                [n, c, rng.randrange(3, 20)]
        layer = _pad(rng, h, w)
        return [layer], [n, c, h, w]
    if form == 1:
        r = pick(rng, (2, 2, 3, 4))
        return [_make("PixelUnshuffle", downscale_factor=r)], \
            [n, c, r * rng.randrange(1, 6), r * rng.randrange(1, 6)]
    if form == 2:
        k = pick(rng, (2, 3, (2, 3), (3, 2)))
        kwargs: dict[str, Any] = {"kernel_size": k}
        if rng.random() < 0.6:
            kwargs["stride"] = pick(rng, (2, 2, 3))
        if rng.random() < 0.4:
            kwargs["padding"] = 1
        return [_make("Unfold", **kwargs)], [n, pick(rng, (1, 2, 3, 4)), h, w]
    scale = pick(rng, FRACTIONAL)
    if rng.random() < 0.3:
        scale = (pick(rng, FRACTIONAL), pick(rng, FRACTIONAL + (2,)))
    return [_make("Upsample", scale_factor=scale)], [n, c, h | 1, w]


def _level3(rng: Any) -> tuple[list[Layer], list[int]]:
    n, c = pick(rng, (1, 2)), pick(rng, (1, 2, 3, 4))
    h, w = rng.randrange(4, 15), rng.randrange(4, 15)
    form = rng.randrange(6)
    if form == 0:  # pad, then a conv on the padded size
        k, s = pick(rng, (2, 3, 4, 5)), pick(rng, (1, 2, 2))
        conv = _make("Conv2d", in_channels=c, out_channels=pick(rng, (4, 8, 16)),
                     kernel_size=k, **({"stride": s} if s > 1 else {}))
        return [_pad(rng, h, w), conv], [n, c, h, w]
    if form == 1:  # a fractional upsample, then a conv
        scale = pick(rng, FRACTIONAL)
        kwargs: dict[str, Any] = {"kernel_size": 3}
        if rng.random() < 0.5:
            kwargs["stride"] = 2
        if rng.random() < 0.5:
            kwargs["padding"] = 1
        return [_make("Upsample", scale_factor=scale),
                _make("Conv2d", in_channels=c, out_channels=8, **kwargs)], [n, c, h | 1, w]
    if form == 2:  # space to depth, then a conv on the new channels
        r, s = pick(rng, (2, 2, 3)), pick(rng, (1, 2))
        return [_make("PixelUnshuffle", downscale_factor=r),
                _make("Conv2d", in_channels=c * r * r, out_channels=pick(rng, (16, 32)),
                      kernel_size=3, **({"stride": s} if s > 1 else {}))], \
            [n, c, r * rng.randrange(2, 6), r * rng.randrange(2, 6)]
    if form == 3:  # a pad, then blocks of 2 (odd padded sizes refuse)
        return [_make("ZeroPad2d", padding=_pad(rng, h, w).get("padding")),
                _make("PixelUnshuffle", downscale_factor=2)], [n, c, h, w]
    if form == 4:  # Unfold, then a Fold that may or may not hold its blocks
        k, s = pick(rng, (2, 3)), pick(rng, (2, 3))
        blocks_h, blocks_w = (h - k) // s + 1, (w - k) // s + 1
        out = (pick(rng, (h, h - 1, h + 1, (blocks_h - 1) * s + k)),
               pick(rng, (w, w - 1, (blocks_w - 1) * s + k)))
        stride = {"stride": s}
        return [_make("Unfold", kernel_size=k, **stride),
                _make("Fold", output_size=out, kernel_size=k, **stride)], [n, c, h, w]
    r1, r2 = pick(rng, (2, 3)), pick(rng, (2, 3, 4))  # unshuffle, then shuffle
    return [_make("PixelUnshuffle", downscale_factor=r1),
            _make("PixelShuffle", upscale_factor=r2)], \
        [n, pick(rng, (1, 2, 3)), r1 * rng.randrange(1, 5), r1 * rng.randrange(1, 5)]


DRAW = {1: _level1, 2: _level2, 3: _level3}


# L3: about one card in four is an error (decided before the draw, so the stacks that
# often refuse do not fill the deck with errors)
ERRORS = 0.25


def generate(rng: Any, level: int) -> dict[str, Any]:
    want_error = level == 3 and rng.random() < ERRORS
    for _ in range(MAX_DRAWS):
        try:
            layers, shape = DRAW[level](rng)
        except ShapeError:
            continue
        shape_t = tuple(shape)
        try:  # traced once: whether it runs, and then its output
            steps = trace(layers, shape_t)
        except ShapeError:
            steps = None
        if (steps is not None) == want_error:
            continue
        if steps is not None:
            out = steps[-1].output_shape
            if out == shape_t or not fits_claim(layers, shape_t):
                continue
        return {"layers": [layer.to_json() for layer in layers], "input_shape": list(shape)}
    raise exhausted(NAME, MAX_DRAWS)


# ---------------------------------------------------------------- worked steps

def _conv_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    steps = [f"Then the conv: {channels_out_text(shape[1], out[1])}."]
    done: dict[tuple[int, ...], str] = {}
    for d, name in enumerate(SPATIAL[2]):
        size, k = shape[2 + d], layer.tup("kernel_size")[d]
        s, dil = layer.tup("stride")[d], layer.tup("dilation")[d]
        pl, pr = conv_padding(layer, d)
        key = (size, k, s, pl, pr, dil)
        if key in done:
            steps.append(f"{name} is {size} too, with the same kernel, stride and padding: "
                         f"{out[2 + d]}.")
            continue
        done[key] = name
        steps.append(size_tex(size, k, s, pl, dil, out[2 + d], name=f"{name}_{{out}}"))
    return steps


def _lead_names(rank: int, kept: int) -> list[str]:
    return ["N", "C"][:kept] if rank >= 4 else ["C"][:kept]


def _layer_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...] | None
                 ) -> list[str]:
    """One layer worked on `shape`; `out` None: PyTorch refuses (the steps say why)."""
    kind = layer.kind
    if kind == "upsample":
        names = SPATIAL[len(shape) - 2]
        if layer.get("size") is not None:
            assert out is not None
            return [leading_text(shape, 2, ["N", "C"]),
                    upsample_size_text(names, out[2:])]
        scale = layer.get("scale_factor")
        scales = scale if isinstance(scale, tuple) else (scale,) * len(names)
        if out is None:
            for name, size, f in zip(names, shape[2:], scales, strict=True):
                if scaled_size(size, f) < 1:
                    return [upsample_refused_text(name, size, f)]
            raise ValueError("the solver refuses an upsample the rule allows")
        return [leading_text(shape, 2, ["N", "C"]),
                upsample_scale_tex(names, shape[2:], scales, out[2:])]
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        c, h, w = shape[-3:]
        kept = len(shape) - 3
        lead = [leading_text(shape, kept, ["N"])] if kept else []
        if kind == "pixel_shuffle":
            r = layer.get("upscale_factor")
            if out is None:
                return [shuffle_refused_text(c, r)]
            return [*lead, pixel_shuffle_tex(c, h, w, r, out[-3:])]
        r = layer.get("downscale_factor")
        if out is None:
            name, size = ("H", h) if h % r else ("W", w)
            return [unshuffle_refused_text(name, size, r)]
        return [*lead, pixel_unshuffle_tex(c, h, w, r, out[-3:])]
    if kind == "unfold":
        assert out is not None  # the drawn Unfolds all fit
        k, s, p, d = (layer.tup(n) for n in ("kernel_size", "stride", "padding", "dilation"))
        lead = [leading_text(shape, 1, ["N"])] if len(shape) == 4 else []
        return [*lead, *unfold_steps(shape[-3], shape[-2:], k, s, p, d, out[-2], out[-1])]
    if kind == "fold":
        k, s, p, d = (layer.tup(n) for n in ("kernel_size", "stride", "padding", "dilation"))
        lead = [leading_text(shape, 1, ["N"])] if len(shape) == 3 and out else []
        return [*lead, *fold_steps(shape[-2], shape[-1], layer.tup("output_size"), k, s, p, d,
                                   None if out is None else out[-3])]
    if kind == "conv":
        if out is None:  # the only refusal of these convs: no room for the kernel
            for d in range(2):
                pl, pr = conv_padding(layer, d)
                k, dil = layer.tup("kernel_size")[d], layer.tup("dilation")[d]
                if shape[2 + d] + pl + pr < dil * (k - 1) + 1:
                    return [f"{SPATIAL[2][d]}: "
                            + conv_fit_text(shape[2 + d], pl, pr, k, dil, fits=False)]
            raise ValueError("the solver refuses a conv whose kernel fits")
        return _conv_steps(layer, shape, out)
    # a padding module
    n = layer.ndim
    names = SPATIAL[n]
    spatial = shape[-n:]
    steps = []
    if kind == "pad_reflect":
        steps.append(reflect_fits_text(names, spatial, pad_pairs(layer)))
        if out is None:
            return steps
    assert out is not None
    return [*pad_steps(layer.type, layer.get("padding"), names, spatial, out[-n:]), *steps]


def solve(params: dict[str, Any]) -> Solution:
    layers = [Layer.from_json(j) for j in params["layers"]]
    shape = tuple(params["input_shape"])
    steps: list[str] = []
    current = shape
    refused = False
    for layer in layers:
        try:
            out: tuple[int, ...] | None = trace([layer], current)[0].output_shape
        except ShapeError:
            out, refused = None, True
        worked = _layer_steps(layer, current, out)
        if len(layers) > 1:
            head = (f"{layer_code(layer)} on `{shape_text(current)}`"
                    + (f" \u2192 `{shape_text(out)}`:" if out else ":"))
            worked = [head, *worked]
        steps += worked
        if out is None:
            break
        current = out
    if len(layers) == 1:
        question = (f"{layer_code(layers[0])} receives an input of shape "
                    f"`{shape_text(shape)}`. What is the output shape?")
    else:
        listing = " \u2192 ".join(layer_code(layer) for layer in layers)
        question = (f"An input of shape `{shape_text(shape)}` goes through {listing}. What "
                    "is the final output shape?")
    level3 = len(layers) > 1 or refused
    if level3:
        question += " (Answer `error` if PyTorch refuses.)"
    form = ("the shape with x between dims, written like the input's"
            + (", or error" if level3 else ""))
    if refused:
        return Solution(question=question, answer="error", form=form, steps=steps,
                        claims=[error_claim(layers, shape)])
    return Solution(question=question, answer=shape_text(current), form=form, steps=steps,
                    claims=[shape_claim(layers, shape)])
