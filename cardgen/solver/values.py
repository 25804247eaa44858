"""Exact output values of pooling stacks on small tensors (averages as Fractions)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from math import prod
from typing import Any

from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.arith import adaptive_bounds
from cardgen.solver.shapes import adaptive_sizes, conv_padding, layer_step, pool_stride

MAX_CELLS = 1_000_000


def _dim_cells(layer: Layer, d: int, size: int, out: int) -> list[tuple[list[int], int, int]]:
    """Per output index along dim ``d``: the input indices it reads, with the avg-pool
    divisor factors (padded count, cells read). The layer's values are read once per dim."""
    if layer.kind.startswith("adaptive"):
        rows = []
        for i in range(out):
            a, b = adaptive_bounds(i, size, out)
            rows.append((list(range(a, b)), b - a, b - a))
        return rows
    k, s, p = layer.tup("kernel_size")[d], pool_stride(layer)[d], layer.tup("padding")[d]
    dil = layer.tup("dilation")[d] if layer.kind == "maxpool" else 1
    rows = []
    for i in range(out):
        start = i * s - p
        cells = [start + j * dil for j in range(k) if 0 <= start + j * dil < size]
        # avg_pool: the padded count stops at the end of the right padding (ceil mode can
        # pass it).
        rows.append((cells, min(start + k, size + p) - start, len(cells)))
    return rows


class Exact:
    """A tensor of exact numbers (ints, Fractions, floats): its shape and its cells in C
    order. Plain lists: the tensors here are tiny, and numpy costs a build 0.1 s to import."""

    __slots__ = ("flat", "shape")

    def __init__(self, shape: Sequence[int], flat: list[Any]) -> None:
        self.shape = tuple(shape)
        self.flat = flat

    def tolist(self) -> Any:
        """Nested lists, like ``numpy.ndarray.tolist``."""
        if not self.shape:
            return self.flat[0]
        if 0 not in self.shape and len(self.flat) == prod(self.shape):
            # rows cut from the flat list, then grouped dim by dim, last dim first (the
            # recursion below, without a call per row)
            out = self.flat[:]
            for size in reversed(self.shape[1:]):
                out = [out[i:i + size] for i in range(0, len(out), size)]
            return out

        def nest(offset: int, dims: tuple[int, ...]) -> list[Any]:
            if len(dims) == 1:
                return self.flat[offset:offset + dims[0]]
            step = prod(dims[1:])  # 0 for an empty dim: no division by it
            return [nest(offset + i * step, dims[1:]) for i in range(dims[0])]

        return nest(0, self.shape)


def _strides(shape: Sequence[int]) -> list[int]:
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return strides[::-1]


def _pool(layer: Layer, x: Exact) -> Exact:
    step = layer_step(layer, x.shape)
    n = layer.ndim
    spatial, outs = x.shape[-n:], step.output_shape[-n:]
    is_max = layer.kind in ("maxpool", "adaptive_max")
    divisor = layer.kwargs.get("divisor_override")  # AvgPool1d has no such argument
    include_pad = layer.kind == "avgpool" and layer.get("count_include_pad")
    per_dim = [_dim_cells(layer, d, spatial[d], outs[d]) for d in range(n)]
    strides = _strides(spatial)
    # Per output cell: the offsets it reads within one plane, and its avg-pool divisor.
    windows = []
    for info in itertools.product(*per_dim):
        if n == 1:  # the offsets are the cells (the common 1-D and 2-D cases written out)
            offsets = info[0][0]
        elif n == 2:
            offsets = [r * strides[0] + c for r in info[0][0] for c in info[1][0]]
        else:
            offsets = [sum(c * st for c, st in zip(cells, strides, strict=True))
                       for cells in itertools.product(*(c for c, _, _ in info))]
        den = divisor or prod(pd if include_pad else v for _, pd, v in info)
        windows.append((offsets, den))
    plane = prod(spatial)
    flat = x.flat
    values: list[Any] = []
    for base in range(0, len(flat), plane):
        for offsets, den in windows:
            block = [flat[base + o] for o in offsets]
            if is_max:
                # A dilated window can land on padding only; torch's max is then -inf.
                values.append(max(block, default=float("-inf")))
            elif not block:
                raise ShapeError(f"{layer}: output reads no input cell")
            else:
                total = sum(block)  # floats (and Fractions) too: a values claim may hold them
                values.append(Fraction(total, den) if isinstance(total, int)
                              else Fraction(total) / den)
    return Exact(step.output_shape, values)


def _exact(values: Any) -> Exact:
    """A rectangular nested list of numbers (or an Exact) as an Exact; ShapeError if not."""
    if isinstance(values, Exact):
        return values
    if hasattr(values, "tolist"):  # a numpy array
        values = values.tolist()
    dims: list[int] = []
    level = [values]
    while isinstance(level[0], (list, tuple)):
        # (a tuple of types, not list | tuple: that union would be made again per item)
        sizes = {len(v) if isinstance(v, (list, tuple)) else -1 for v in level}
        if len(sizes) != 1 or -1 in sizes:
            raise ShapeError("values must be a rectangular nested list of numbers")
        size = sizes.pop()
        if len(level) * size > MAX_CELLS:
            raise ShapeError(f"tensor larger than the limit of {MAX_CELLS} cells")
        dims.append(size)
        level = [v for row in level for v in row]
        if not level:
            break
    # plain ints (the usual input) pass the exact-type test; the rest are judged in full
    if not all(type(v) is int for v in level) and any(
            isinstance(v, bool) or not isinstance(v, (int, float, Fraction)) for v in level):
        raise ShapeError("values must be a rectangular nested list of numbers")
    return Exact(dims, level)


def forward(layers: Sequence[Layer], values: Any) -> Exact:
    """Run a stack of pooling layers (and Flatten) on exact numbers."""
    x = _exact(values)
    for layer in layers:
        if layer.kind == "flatten":
            x = Exact(layer_step(layer, x.shape).output_shape, x.flat)
        elif layer.kind in ("maxpool", "avgpool", "adaptive_avg", "adaptive_max"):
            x = _pool(layer, x)
        else:
            raise ShapeError(f"{layer.type}: values depend on random weights; only pooling "
                             "and Flatten layers have exact values")
    return x


def to_nested(x: Exact, exact: bool = False) -> Any:
    """Nested lists; Fractions as floats unless ``exact``."""
    if exact:
        return x.tolist()
    return Exact(x.shape, [float(v) if isinstance(v, Fraction) else v for v in x.flat]).tolist()


__all__ = ["Exact", "forward", "to_nested", "conv_padding", "adaptive_sizes"]
