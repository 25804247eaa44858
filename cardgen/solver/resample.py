"""Output shapes of the resamplers, as PyTorch gives them: Upsample (interpolate),
PixelShuffle/PixelUnshuffle, Unfold/Fold and the padding modules. Pure arithmetic; each
function raises ShapeError, with the reason in words, exactly where torch raises."""

from __future__ import annotations

import math
from math import prod

from cardgen.errors import ShapeError
from cardgen.layers import Layer, pad_pairs
from cardgen.solver.arith import conv_out

Shape = tuple[int, ...]

# The modes that interpolate along a fixed number of spatial dims (rank - 2).
_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _per_dim(value: object, n: int, name: str) -> tuple[object, ...]:
    if isinstance(value, tuple):
        if len(value) != n:
            raise ShapeError(f"{name} has {len(value)} entries but the input has {n} spatial "
                             "dims")
        return value
    return (value,) * n


def scaled_size(size: int, scale: float) -> int:
    """torch multiplies in double and truncates: floor(float(in) * scale) for positives
    (3 * (1/3 as a double) rounds to 1.0, so gives 1)."""
    return math.floor(float(size) * scale)


def upsample_sizes(layer: Layer, shape: Shape) -> Shape:
    """The spatial output sizes of Upsample on `shape` (N, C, *spatial)."""
    mode = layer.get("mode")
    if not 3 <= len(shape) <= 5:
        raise ShapeError(f"Upsample takes a 3-D, 4-D or 5-D input (N, C, spatial...), got "
                         f"{len(shape)}-D")
    if mode in _MODE_RANK and len(shape) != _MODE_RANK[mode]:
        raise ShapeError(f"mode={mode!r} needs a {_MODE_RANK[mode]}-D input, got "
                         f"{len(shape)}-D")
    spatial = shape[2:]
    n = len(spatial)
    if layer.get("size") is not None:
        outs = tuple(int(v) for v in _per_dim(layer.get("size"), n, "size"))  # type: ignore[call-overload]
    else:
        scales = _per_dim(layer.get("scale_factor"), n, "scale_factor")
        outs = tuple(scaled_size(s, float(f)) for s, f in  # type: ignore[arg-type]
                     zip(spatial, scales, strict=True))
    if min(outs) < 1:
        raise ShapeError(f"an output size is {min(outs)}: every input and output size must "
                         "be at least 1")
    return outs


def blocks(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Sliding-block positions along one dim (the conv size rule); at least 1 or raise."""
    try:
        return conv_out(size, kernel, stride, padding, dilation)
    except ShapeError:
        raise ShapeError(f"no sliding block fits: padded size {size + 2 * padding} is smaller "
                         f"than the dilated kernel {dilation * (kernel - 1) + 1}") from None


def block_counts(layer: Layer, spatial: Shape) -> Shape:
    """Blocks along H and W for Unfold (spatial = the input's) or Fold (its output_size)."""
    k, s, p, d = (layer.tup(n) for n in ("kernel_size", "stride", "padding", "dilation"))
    return tuple(blocks(spatial[i], k[i], s[i], p[i], d[i]) for i in range(2))


def resample_shape(layer: Layer, shape: Shape) -> Shape:
    """The output shape of one resampling layer; ShapeError where torch raises."""
    kind = layer.kind
    if kind == "upsample":
        return shape[:2] + upsample_sizes(layer, shape)
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        if len(shape) < 3:
            raise ShapeError(f"{layer.type} needs at least 3 dims (C, H, W), got "
                             f"{len(shape)}-D")
        *lead, c, h, w = shape
        if kind == "pixel_shuffle":
            r = layer.get("upscale_factor")
            if c % (r * r):
                raise ShapeError(f"channels {c} are not divisible by upscale_factor^2 = "
                                 f"{r * r}")
            return (*lead, c // (r * r), h * r, w * r)
        r = layer.get("downscale_factor")
        for name, size in (("height", h), ("width", w)):
            if size % r:
                raise ShapeError(f"{name} {size} is not divisible by downscale_factor {r}")
        return (*lead, c * r * r, h // r, w // r)
    if kind == "unfold":
        if len(shape) not in (3, 4):
            raise ShapeError(f"Unfold takes a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                             f"{len(shape)}-D")
        counts = block_counts(layer, shape[-2:])
        return (*shape[:-3], shape[-3] * prod(layer.tup("kernel_size")), prod(counts))
    if kind == "fold":
        if len(shape) not in (2, 3):
            raise ShapeError(f"Fold takes a 2-D (C*kH*kW, L) or 3-D (N, C*kH*kW, L) input, "
                             f"got {len(shape)}-D")
        area = prod(layer.tup("kernel_size"))
        if shape[-2] % area:
            raise ShapeError(f"dim {shape[-2]} is not divisible by the kernel's "
                             f"{area} cells")
        out = layer.tup("output_size")
        counts = block_counts(layer, out)
        if prod(counts) != shape[-1]:
            raise ShapeError(f"output_size {list(out)} holds {prod(counts)} blocks, but the "
                             f"input has L = {shape[-1]}")
        return (*shape[:-2], shape[-2] // area, *out)
    # the padding modules
    n = layer.ndim
    if kind in ("pad_reflect", "pad_replicate"):
        if len(shape) not in (n + 1, n + 2):
            raise ShapeError(f"{layer.type} takes a {n + 1}-D or {n + 2}-D input, got "
                             f"{len(shape)}-D")
    elif len(shape) < n:
        raise ShapeError(f"{layer.type} pads {n} dims, the input has {len(shape)}")
    pairs = pad_pairs(layer)
    spatial = shape[-n:]
    if kind == "pad_reflect":
        for size, (before, after) in zip(spatial, pairs, strict=True):
            if max(before, after) >= size:
                raise ShapeError(f"reflection padding {max(before, after)} is not smaller "
                                 f"than the input size {size}")
    return shape[:-n] + tuple(s + a + b for s, (a, b) in zip(spatial, pairs, strict=True))
