"""Exact output values of pooling stacks on small tensors (averages as Fractions)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from math import prod
from typing import Any

import numpy as np

from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.arith import adaptive_bounds
from cardgen.solver.shapes import adaptive_sizes, conv_padding, layer_step, pool_stride

MAX_CELLS = 1_000_000


def _dim_cells(layer: Layer, d: int, i: int, size: int, out: int) -> tuple[list[int], int, int]:
    """Input indices read by output ``i`` along dim ``d``; with the avg-pool divisor factors."""
    kind = layer.kind
    if kind.startswith("adaptive"):
        a, b = adaptive_bounds(i, size, out)
        return list(range(a, b)), b - a, b - a
    k, s, p = layer.tup("kernel_size")[d], pool_stride(layer)[d], layer.tup("padding")[d]
    dil = layer.tup("dilation")[d] if kind == "maxpool" else 1
    start = i * s - p
    cells = [start + j * dil for j in range(k) if 0 <= start + j * dil < size]
    # avg_pool: the padded count stops at the end of the right padding (ceil mode can pass it).
    padded = min(start + k, size + p) - start
    return cells, padded, len(cells)


def _gather(nested: Any, index_lists: Sequence[list[int]]) -> list[Any]:
    """Cells of a nested list at the cross product of per-dim indices, in C order."""
    first, rest = index_lists[0], index_lists[1:]
    if not rest:
        return [nested[i] for i in first]
    return [v for i in first for v in _gather(nested[i], rest)]


def _pool(layer: Layer, x: np.ndarray) -> np.ndarray:
    step = layer_step(layer, x.shape)
    n = layer.ndim
    spatial, outs = x.shape[-n:], step.output_shape[-n:]
    is_max = layer.kind in ("maxpool", "adaptive_max")
    divisor = layer.kwargs.get("divisor_override")  # AvgPool1d has no such argument
    include_pad = layer.kind == "avgpool" and layer.get("count_include_pad")
    per_dim = [[_dim_cells(layer, d, i, spatial[d], outs[d]) for i in range(outs[d])]
               for d in range(n)]
    # Plain lists, not numpy indexing, per output cell: the windows are tiny.
    windows = list(itertools.product(*per_dim))
    values: list[Any] = []
    for plane in x.reshape((-1, *spatial)).tolist():
        for info in windows:
            block = _gather(plane, [c for c, _, _ in info])
            if is_max:
                # A dilated window can land on padding only; torch's max is then -inf.
                values.append(max(block, default=float("-inf")))
            elif not block:
                raise ShapeError(f"{layer}: output reads no input cell")
            else:
                den = divisor or prod(pd if include_pad else v for _, pd, v in info)
                total = sum(block)  # floats (and Fractions) too: a values claim may hold them
                values.append(Fraction(total, den) if isinstance(total, int)
                              else Fraction(total) / den)
    y = np.empty(len(values), dtype=object)
    y[:] = values
    return y.reshape(step.output_shape)


def _to_array(values: Any) -> np.ndarray:
    x = np.array(values, dtype=object)
    if x.size > MAX_CELLS:
        raise ShapeError(f"tensor of {x.size} cells is larger than the limit {MAX_CELLS}")
    flat = x.ravel().tolist()
    if any(isinstance(v, bool | list) or not isinstance(v, int | float | Fraction) for v in flat):
        raise ShapeError("values must be a rectangular nested list of numbers")
    return x


def forward(layers: Sequence[Layer], values: Any) -> np.ndarray:
    """Run a stack of pooling layers (and Flatten) on exact numbers."""
    x = _to_array(values)
    for layer in layers:
        if layer.kind == "flatten":
            x = x.reshape(layer_step(layer, x.shape).output_shape)
        elif layer.kind in ("maxpool", "avgpool", "adaptive_avg", "adaptive_max"):
            x = _pool(layer, x)
        else:
            raise ShapeError(f"{layer.type}: values depend on random weights; only pooling "
                             "and Flatten layers have exact values")
    return x


def to_nested(x: np.ndarray, exact: bool = False) -> Any:
    """Nested lists; Fractions as floats unless ``exact``."""
    conv = (lambda v: v) if exact else (lambda v: float(v) if isinstance(v, Fraction) else v)
    return np.vectorize(conv, otypes=[object])(x).tolist() if x.size else x.tolist()


__all__ = ["forward", "to_nested", "conv_padding", "adaptive_sizes"]
