"""Pooling arithmetic that depends on options: AvgPool's divisor (``count_include_pad``,
``divisor_override``, ceil mode's window that hangs past the padded end) and the output
size of MaxUnpool fed by MaxPool(return_indices=True). Exact, no torch.

PyTorch's rules (aten/src/ATen/native/cpu/AvgPoolKernel.cpp, torch/nn/functional.py
``_unpool_output_size``, aten/src/ATen/native/cpu/MaxUnpoolKernel.cpp):

- AvgPool, per dim: ``start = i*s - p``, ``end = min(start + k, size + p)``; the padded
  count is ``end - start`` (a ceil-mode window that hangs past the right padding does not
  count the cells beyond it), then start and end are clipped to the input and the plain
  count is what is left. The divisor is ``divisor_override`` when given, else the product
  over dims of the padded counts (``count_include_pad=True``) or of the plain counts.
- MaxUnpool, per dim: ``default = (in - 1)*s - 2p + k`` with the unpool's own kernel,
  stride and padding, ``in`` the pooled size. An ``output_size`` must lie strictly
  between ``default - s`` and ``default + s`` and be non-negative. The indices are flat
  positions in the pool's input plane; the unpool writes each at the same flat position
  of its output plane and raises when one is not below the plane's size (an empty output
  is returned without looking at any index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from math import prod

from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.shapes import output_shape, pool_stride


@dataclass(frozen=True)
class AvgWindow:
    """One AvgPool output along one dim, in input coordinates (padding excluded)."""

    size: int  # input cells along the dim
    pad: int
    start: int  # i*s - p: may be negative (left padding)
    stop: int  # start + k: may pass the right padding in ceil mode
    end: int  # min(stop, size + pad): where the padded count stops

    @property
    def first(self) -> int:
        return max(self.start, 0)

    @property
    def last(self) -> int:  # exclusive
        return min(self.stop, self.size)

    @property
    def cells(self) -> int:
        """Input cells read (the divisor's factor with count_include_pad=False)."""
        return max(self.last - self.first, 0)

    @property
    def padded(self) -> int:
        """Input and padding cells counted (the factor with count_include_pad=True)."""
        return self.end - self.start

    @property
    def left_pad(self) -> int:
        return self.first - self.start

    @property
    def right_pad(self) -> int:
        """Right-padding cells inside the window (counted when padding is included)."""
        return max(self.end - max(self.size, self.start), 0)

    @property
    def beyond(self) -> int:
        """Cells past the right padding (a ceil-mode window hanging off the end)."""
        return self.stop - self.end


def avg_window(size: int, kernel: int, stride: int, pad: int, index: int) -> AvgWindow:
    start = index * stride - pad
    return AvgWindow(size, pad, start, start + kernel, min(start + kernel, size + pad))


@dataclass(frozen=True)
class AvgDivisor:
    windows: tuple[AvgWindow, ...]  # one per spatial dim
    include_pad: bool
    override: int | None

    @property
    def counted(self) -> int:
        """The product of the per-dim counts the rule uses (before any override)."""
        return prod(w.padded if self.include_pad else w.cells for w in self.windows)

    @property
    def divisor(self) -> int:
        return self.override if self.override is not None else self.counted


def avg_divisor(layer: Layer, spatial: Sequence[int], index: Sequence[int]) -> AvgDivisor:
    """The divisor of output ``index`` of an AvgPool on an input of ``spatial`` sizes;
    ShapeError when the layer refuses that input or the index is not an output."""
    if layer.kind != "avgpool":
        raise ShapeError(f"{layer.type} has no divisor: only AvgPool averages with one")
    n = layer.ndim
    outs = output_shape(layer, (1, 1, *spatial))[2:]
    if len(index) != n or any(not 0 <= i < o for i, o in zip(index, outs, strict=True)):
        raise ShapeError(f"{layer}: output {list(index)} is not among {list(outs)}")
    k, s, p = layer.tup("kernel_size"), pool_stride(layer), layer.tup("padding")
    windows = tuple(avg_window(spatial[d], k[d], s[d], p[d], index[d]) for d in range(n))
    return AvgDivisor(windows, bool(layer.get("count_include_pad")),
                      layer.kwargs.get("divisor_override"))


def avg_values(layer: Layer, spatial: Sequence[int], plane: Sequence[int]
               ) -> tuple[tuple[int, ...], list[Fraction]]:
    """An AvgPool's exact outputs on one plane of integers (C order): the output sizes
    and each output's window sum over its divisor. What ``solver.forward`` computes, by
    the per-dim windows alone: a build averages many small planes."""
    outs = output_shape(layer, (1, 1, *spatial))[2:]
    k, s, p = layer.tup("kernel_size"), pool_stride(layer), layer.tup("padding")
    include_pad = bool(layer.get("count_include_pad"))
    override = layer.kwargs.get("divisor_override")
    # per dim and output: the flat offsets (dim stride applied) of the input cells read and
    # the divisor's factor, as avg_window's first, last, padded and cells give them (no
    # AvgWindow made per output: a build averages many small planes)
    per_dim = []
    for d, size in enumerate(spatial):
        step = prod(spatial[d + 1:])
        rows = []
        for i in range(outs[d]):
            start = i * s[d] - p[d]
            stop = start + k[d]
            first, last = max(start, 0), min(stop, size)
            factor = min(stop, size + p[d]) - start if include_pad else max(last - first, 0)
            rows.append(([c * step for c in range(first, last)], factor))
        per_dim.append(rows)
    values = []
    for windows in product(*per_dim):
        offsets = _offsets([cells for cells, _ in windows])
        divisor = override or prod(f for _, f in windows)
        values.append(Fraction(sum(plane[o] for o in offsets), divisor))
    return outs, values


def _offsets(per_dim: Sequence[Sequence[int]]) -> list[int]:
    """The flat offsets of a window's cells in C order, from each dim's offsets (its
    cells times the dim's stride)."""
    offsets = [0]
    for cells in per_dim:
        offsets = [o + c for o in offsets for c in cells]
    return offsets


def window_sum(spatial: Sequence[int], plane: Sequence[int],
               windows: Sequence[AvgWindow]) -> int:
    """The sum of the input cells one output's windows (avg_divisor's) read, on one plane
    of integers (C order), as avg_values sums them."""
    return sum(plane[o] for o in _offsets(
        [[c * prod(spatial[d + 1:]) for c in range(w.first, w.last)]
         for d, w in enumerate(windows)]))


@dataclass(frozen=True)
class Unpool:
    """MaxPool(return_indices=True) then MaxUnpool on one input shape."""

    pooled: tuple[int, ...]  # the pool's output shape (the unpool's input)
    default: tuple[int, ...]  # per spatial dim: (in - 1)*s - 2p + k
    low: tuple[int, ...]  # an output_size must be > low and < high, per dim
    high: tuple[int, ...]
    size: tuple[int, ...] | None  # the spatial output_size asked for (None: default)
    out: tuple[int, ...] | None  # the spatial size the unpool would write, if accepted
    refused: str | None  # "length", "range", "negative", "index" (every input) or None
    index_max: int  # the largest flat index any input can give (a rising input)
    index_min: int  # the smallest largest index (a falling input)
    depends: bool  # some inputs raise (an index too large), others do not

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        """The output shape on every input, or None when it raises on every input."""
        if self.refused or self.depends or self.out is None:
            return None
        return (*self.pooled[:-len(self.out)], *self.out)

    @property
    def out_plane(self) -> int:
        return prod(self.out) if self.out is not None else 0


def _last_window_cells(layer: Layer, spatial: Sequence[int], pooled: Sequence[int]
                       ) -> tuple[list[int], list[int]]:
    """Per dim: the first and the last input cell of the last window (windows rise, so
    the last window holds both extremes of the largest index)."""
    k, s, p = layer.tup("kernel_size"), pool_stride(layer), layer.tup("padding")
    firsts, lasts = [], []
    for d, size in enumerate(spatial):
        start = (pooled[d] - 1) * s[d] - p[d]
        firsts.append(max(start, 0))
        lasts.append(min(start + k[d], size) - 1)
    return firsts, lasts


def _flat(cells: Sequence[int], spatial: Sequence[int]) -> int:
    index = 0
    for c, size in zip(cells, spatial, strict=True):
        index = index * size + c
    return index


def unpool(pool: Layer, unpool_layer: Layer, input_shape: Sequence[int],
           output_size: Sequence[int] | None = None) -> Unpool:
    """What ``unpool(*pool(x), output_size=...)`` gives for inputs ``x`` of this shape.
    ShapeError when the pool itself refuses the shape (or the types do not fit)."""
    n = pool.ndim
    if pool.kind != "maxpool" or unpool_layer.kind != "maxunpool" or unpool_layer.ndim != n:
        raise ShapeError("an unpool pairs a MaxPool with a MaxUnpool of the same dims")
    if any(d != 1 for d in pool.tup("dilation")):
        raise ShapeError("the unpool rule here takes a MaxPool with dilation 1")
    if len(input_shape) != n + 2:
        raise ShapeError(f"an unpool here takes a batched input of {n + 2} dims")
    pooled = output_shape(pool, input_shape)
    spatial, pin = tuple(input_shape[2:]), pooled[2:]
    k, s, p = (unpool_layer.tup("kernel_size"), pool_stride(unpool_layer),
               unpool_layer.tup("padding"))
    default = tuple((pin[d] - 1) * s[d] - 2 * p[d] + k[d] for d in range(n))
    low = tuple(default[d] - s[d] for d in range(n))
    high = tuple(default[d] + s[d] for d in range(n))
    firsts, lasts = _last_window_cells(pool, spatial, pin)
    index_max, index_min = _flat(lasts, spatial), _flat(firsts, spatial)
    size = None if output_size is None else tuple(output_size)
    if size is not None and len(size) == n + 2:
        size = size[2:]
    refused, out, depends = None, None, False
    if size is not None and len(size) != n:
        refused = "length"
    elif size is not None and not all(lo < o < hi for lo, o, hi in
                                      zip(low, size, high, strict=True)):
        refused = "range"
    else:
        out = default if size is None else size
        if any(o < 0 for o in out):
            refused = "negative"
        elif prod(out) > 0 and index_min >= prod(out):
            refused = "index"
        elif prod(out) > 0 and index_max >= prod(out):
            depends = True
    return Unpool(pooled, default, low, high, size, out, refused, index_max, index_min,
                  depends)
