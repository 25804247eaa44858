"""Which input cells each output index of a pooling layer reads (DESIGN.md §3 `windows`)."""

from __future__ import annotations

from collections.abc import Sequence

from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.shapes import adaptive_sizes, layer_step, pool_stride

Window = tuple[int, int]


def adaptive_windows(size: int, out: int) -> list[Window]:
    # arith.adaptive_bounds(i, size, out) of each output, written out (no call per output)
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def fixed_windows(size: int, out: int, kernel: int, stride: int, padding: int) -> list[Window]:
    """Windows of a fixed pool in input coordinates, padding cells excluded."""
    return [(max(i * stride - padding, 0), min(i * stride - padding + kernel, size))
            for i in range(out)]


def pool_windows(layer: Layer, shape: Sequence[int]) -> list[list[Window]]:
    """One list of [start, stop) per spatial dim for a pooling layer on ``shape``."""
    if layer.kind not in ("maxpool", "avgpool", "adaptive_avg", "adaptive_max"):
        raise ShapeError(f"{layer.type} is not a pooling layer: it has no windows")
    step = layer_step(layer, shape)
    spatial = tuple(shape)[-layer.ndim:]
    outs = step.output_shape[-layer.ndim:]
    if layer.kind.startswith("adaptive"):
        sizes = adaptive_sizes(layer, spatial)
        return [adaptive_windows(s, o) for s, o in zip(spatial, sizes, strict=True)]
    if layer.kind == "maxpool" and any(d != 1 for d in layer.tup("dilation")):
        raise ShapeError(f"{layer}: windows are contiguous only with dilation 1")
    return [fixed_windows(s, o, k, st, p) for s, o, k, st, p in
            zip(spatial, outs, layer.tup("kernel_size"), pool_stride(layer),
                layer.tup("padding"), strict=True)]


def windows_overlap(windows: Sequence[Window]) -> bool:
    """Whether consecutive windows share a cell; touching windows ([0, 2), [2, 4)) do not."""
    return any(b[0] < a[1] for a, b in zip(windows, windows[1:], strict=False))


def read_counts(windows: Sequence[Window], size: int) -> list[int]:
    """How many windows read each of the ``size`` input cells."""
    counts = [0] * size
    for a, b in windows:
        for c in range(max(a, 0), min(b, size)):
            counts[c] += 1
    return counts
