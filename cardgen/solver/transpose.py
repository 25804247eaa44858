"""ConvTranspose's two ways of choosing the extra cells, exactly as PyTorch rules them.

- An explicit ``output_padding`` (a constructor argument) must be smaller than the stride
  or the dilation (``arith.conv_transpose_out`` raises otherwise, as torch does when the
  layer runs).
- ``forward(x, output_size=...)`` (torch.nn.modules.conv ``_output_padding``) accepts,
  per spatial dim, sizes from ``lo = (in-1)s - 2p + d(k-1) + 1`` up to ``lo + s - 1``:
  the stride alone bounds the range, even when the dilation is larger. It then runs with
  ``output_padding = size - lo`` in that dim, ignoring the layer's own output_padding.

Pure math: no torch, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.arith import conv_transpose_out
from cardgen.solver.shapes import dim_args


def explicit_allowed(output_padding: int, stride: int, dilation: int) -> bool:
    """An explicit output_padding runs when it is smaller than the stride or the dilation."""
    return output_padding < stride or output_padding < dilation


def size_range(size: int, kernel: int, stride: int, padding: int,
               dilation: int) -> tuple[int, int]:
    """The sizes ``output_size=`` accepts along one dim: [lo, lo + stride - 1]."""
    lo = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1
    return lo, lo + stride - 1


@dataclass(frozen=True)
class Picked:
    """What ``layer(x, output_size=...)`` does: the range per dim, and (when every size is
    in range) the output_padding it uses per dim and the output shape."""

    ranges: tuple[tuple[int, int], ...]
    output_padding: tuple[int, ...] | None  # None: a size is out of range (ValueError)
    output_shape: tuple[int, ...] | None    # None: torch raises


def picked(layer: Layer, input_shape: Sequence[int], output_size: Sequence[int]) -> Picked:
    """The solver's account of ``layer(zeros(input_shape), output_size=output_size)``;
    ShapeError (torch raises) for the refusals that come before any range (the layer's
    kind, the length of output_size)."""
    if layer.kind != "conv_transpose":
        raise ShapeError(f"{layer.type} has no output_size argument")
    n = layer.ndim
    shape = tuple(input_shape)
    if len(output_size) != n:
        raise ShapeError(f"output_size must have {n} spatial sizes, got {len(output_size)}")
    if len(shape) < n:
        raise ShapeError(f"a {len(shape)}-D input has no {n} spatial dims")
    spatial = shape[-n:]
    # each dim's (size, kernel, stride, padding, output_padding, dilation), kept on the
    # Layer: a range card asks for every size of its range and one past each end
    dims = [dim_args(layer, d, spatial[d]) for d in range(n)]
    ranges = tuple([size_range(size, k, s, p, dl) for size, k, s, p, _, dl in dims])
    if any(not lo <= t <= hi for t, (lo, hi) in zip(output_size, ranges, strict=True)):
        return Picked(ranges, None, None)
    pads = tuple(t - lo for t, (lo, _) in zip(output_size, ranges, strict=True))
    # The layer with output_padding=pads on this input, as layer_step runs it (an unbatched
    # or batched input, in_channels, each dim's size rule), without building that layer.
    lead = len(shape) - n
    if lead not in (1, 2) or shape[lead - 1] != layer.get("in_channels"):
        return Picked(ranges, pads, None)
    try:
        sizes = tuple([conv_transpose_out(size, k, s, p, extra, dl)
                       for (size, k, s, p, _, dl), extra in zip(dims, pads, strict=True)])
    except ShapeError:
        return Picked(ranges, pads, None)
    return Picked(ranges, pads, (*shape[:lead - 1], layer.get("out_channels"), *sizes))
