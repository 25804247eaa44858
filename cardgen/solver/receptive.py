"""Receptive fields through a stack of Conv and fixed-pool layers, by exact composition of
windows (no torch, no I/O).

Along one spatial dim a layer reads, for its output unit ``u``, the input cells
``u*s - left + t*d`` for taps ``t = 0..k-1`` that fall inside the input (padding cells
are no input: they are left out). The cells output unit ``i`` of a stack depends on are
found by walking the stack backwards from ``{i}``, one layer at a time, keeping only real
cells at every layer (a padding cell of a middle layer depends on nothing).

The classic recurrences, for a stack without padding: the jump (distance in input cells
between neighbouring units' fields) ``J_l = J_{l-1} * s_l`` and the field size (first
cell to last, skipped cells included) ``r_l = r_{l-1} + d_l (k_l - 1) J_{l-1}``, from
``r_0 = J_0 = 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.shapes import conv_padding, layer_step, pool_stride

RF_KINDS = ("conv", "maxpool", "avgpool")

Range = tuple[int, int]


@dataclass(frozen=True)
class Tap:
    """One layer along one dim: kernel, stride, left padding, dilation."""

    kernel: int
    stride: int
    left: int
    dilation: int

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


@lru_cache(maxsize=4096)  # a build asks for the same layer's geometry many times
def tap(layer: Layer, d: int) -> Tap:
    """The window geometry of `layer` along spatial dim `d`."""
    kind = layer.kind
    if kind not in RF_KINDS:
        raise ShapeError(f"{layer.type} has no fixed window: receptive fields are traced "
                         "through Conv, MaxPool and AvgPool layers")
    k = layer.tup("kernel_size")[d]
    if kind == "conv":
        return Tap(k, layer.tup("stride")[d], conv_padding(layer, d)[0],
                   layer.tup("dilation")[d])
    dil = layer.tup("dilation")[d] if kind == "maxpool" else 1
    return Tap(k, pool_stride(layer)[d], layer.tup("padding")[d], dil)


@dataclass(frozen=True)
class Row:
    """The recurrence after one layer: field size and jump in input cells."""

    size: int
    jump: int


def field_rows(taps: Sequence[Tap]) -> list[Row]:
    """(size, jump) before any layer (1, 1) and after each layer, for a stack without
    padding along one dim."""
    rows = [Row(1, 1)]
    for t in taps:
        last = rows[-1]
        rows.append(Row(last.size + t.dilation * (t.kernel - 1) * last.jump,
                        last.jump * t.stride))
    return rows


@dataclass(frozen=True)
class Field:
    """What one output unit reads along one dim.

    ``ranges[l]`` is the [start, stop) of the cells it depends on in the tensor that
    enters layer l (``ranges[-1]`` is the unit itself in the output; None where it
    depends on no cell there); ``cells`` how many input cells inside ``ranges[0]`` it
    actually depends on (fewer than the range when taps skip cells)."""

    ranges: list[Range | None]
    cells: int
    sizes: list[int]  # the length of the dim in each tensor, input first
    runs: list[list[Range]]  # per tensor, input first: the maximal runs of cells read

    @property
    def support(self) -> Range | None:
        return self.ranges[0]


def _runs(units: list[int]) -> list[Range]:
    runs: list[Range] = []
    for u in units:
        if runs and runs[-1][1] == u:
            runs[-1] = (runs[-1][0], u + 1)
        else:
            runs.append((u, u + 1))
    return runs


def _back(units: list[int], t: Tap, size: int) -> list[int]:
    """The input cells (sorted) that the (sorted) `units` read."""
    if t.dilation == 1:
        # each unit reads one run of cells, and the runs start and stop later unit by
        # unit: a cell below the last run's stop was read already (no set, no sort)
        cells: list[int] = []
        done = 0
        for u in units:
            start = max(u * t.stride - t.left, done)
            stop = min(u * t.stride - t.left + t.kernel, size)
            if start < stop:
                cells.extend(range(start, stop))
                done = stop
        return cells
    reads = {u * t.stride - t.left + j * t.dilation for u in units for j in range(t.kernel)}
    return sorted(c for c in reads if 0 <= c < size)


def dim_sizes(layers: Sequence[Layer], input_shape: Sequence[int]) -> list[tuple[int, ...]]:
    """The spatial sizes of every tensor through the stack, input first; ShapeError where
    torch raises (also for a layer with no fixed window)."""
    return list(_dim_sizes(tuple(layers), tuple(input_shape)))


@lru_cache(maxsize=1024)  # a card's generator, steps and claims ask for the same stack
def _dim_sizes(layers: tuple[Layer, ...], input_shape: tuple[int, ...]
               ) -> tuple[tuple[int, ...], ...]:
    shape = input_shape
    out = [shape[-layers[0].ndim:]] if layers else []
    for layer in layers:
        if layer.kind not in RF_KINDS:
            raise ShapeError(f"{layer.type}: receptive fields are traced through Conv, "
                             "MaxPool and AvgPool layers only")
        shape = layer_step(layer, shape).output_shape
        out.append(shape[-layer.ndim:])
    return tuple(out)


def fields(layers: Sequence[Layer], input_shape: Sequence[int],
           index: Sequence[int]) -> tuple[Field, ...]:
    """Per spatial dim, what output unit `index` (spatial coordinates) of the stack reads;
    ShapeError where torch raises or the index is not an output unit. Cached: a card
    asks for the same unit in its generator, its steps and its claims (do not change
    the Fields it returns)."""
    return _fields(tuple(layers), tuple(input_shape), tuple(index))


@lru_cache(maxsize=1024)
def _fields(layers: tuple[Layer, ...], input_shape: tuple[int, ...],
            index: tuple[int, ...]) -> tuple[Field, ...]:
    if not layers:
        raise ShapeError("an empty stack has no receptive field")
    nd = layers[0].ndim
    if any(layer.ndim != nd for layer in layers):
        raise ShapeError("every layer of the stack must have the same number of spatial dims")
    sizes = _dim_sizes(layers, input_shape)
    if len(index) != nd:
        raise ShapeError(f"the output index needs {nd} coordinates, got {len(index)}")
    result = []
    for d in range(nd):
        out = sizes[-1][d]
        if not 0 <= index[d] < out:
            raise ShapeError(f"output index {index[d]} is outside the {out} output units "
                             f"along spatial dim {d}")
        units = [index[d]]
        ranges: list[Range | None] = [(index[d], index[d] + 1)]
        runs = [[(index[d], index[d] + 1)]]
        for layer_i in range(len(layers) - 1, -1, -1):
            units = _back(units, tap(layers[layer_i], d), sizes[layer_i][d])
            ranges.append((units[0], units[-1] + 1) if units else None)
            runs.append(_runs(units))
        ranges.reverse()
        runs.reverse()
        result.append(Field(ranges, len(units), [s[d] for s in sizes], runs))
    return tuple(result)


def support(layers: Sequence[Layer], input_shape: Sequence[int],
            index: Sequence[int]) -> list[Range | None]:
    """The [start, stop) of input cells output unit `index` depends on, per spatial dim
    (first cell to last; padding cells are not input). None in every dim: it depends on no
    input cell (the cells are a product over the dims, so one empty dim empties them all)."""
    return box_of(fields(layers, input_shape, index))


def box_of(found: Sequence[Field]) -> list[Range | None]:
    """The box of `fields`' supports: None in every dim when one dim reads nothing."""
    box = [f.support for f in found]
    return [None] * len(box) if None in box else box
