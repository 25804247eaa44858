"""`cardgen solve`: the calculator's report, as data and as text for a person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cardgen.errors import CardgenError
from cardgen.explain.sizes import layer_formulas
from cardgen.layers import POOL_KINDS, RESAMPLE_KINDS, Layer
from cardgen.solver import trace
from cardgen.solver.arith import adaptive_bounds
from cardgen.solver.shapes import adaptive_sizes, pool_stride
from cardgen.solver.windows import fixed_windows

DIM_NAMES = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}
SHOWN_WINDOWS = 12          # windows per dim the text report prints
MAX_JSON_WINDOWS = 100_000  # windows --json lists, all layers and dims together


def window_counts(step: Any) -> list[int] | None:
    """Windows per spatial dim of a pooling step (None: not a pooling layer, or a dilated
    max pool, whose windows are not contiguous)."""
    layer = step.layer
    if layer.kind not in POOL_KINDS:
        return None
    if layer.kind == "maxpool" and any(d != 1 for d in layer.tup("dilation")):
        return None
    return list(step.output_shape[-layer.ndim:])


def _windows(step: Any, limit: int | None = None) -> list[list[list[int]]] | None:
    """The first `limit` windows per dim (all when None): only those are computed, so an
    input of 10^7 cells costs no more than one of 10."""
    counts = window_counts(step)
    if counts is None:
        return None
    layer = step.layer
    spatial = tuple(step.input_shape)[-layer.ndim:]
    shown = [c if limit is None else min(c, limit) for c in counts]
    if layer.kind.startswith("adaptive"):
        sizes = adaptive_sizes(layer, spatial)
        return [[list(adaptive_bounds(i, s, o)) for i in range(n)]
                for s, o, n in zip(spatial, sizes, shown, strict=True)]
    # fixed windows of the first n outputs are the windows of a pool with n outputs
    return [[list(w) for w in fixed_windows(s, n, k, st, p)] for s, n, k, st, p in
            zip(spatial, shown, layer.tup("kernel_size"), pool_stride(layer),
                layer.tup("padding"), strict=True)]


def solve_report(layers: Sequence[Layer], input_shape: Sequence[int]) -> dict[str, Any]:
    """The JSON form of DESIGN.md §5. It lists every window: CardgenError (one line)
    when that would be more than MAX_JSON_WINDOWS."""
    steps = trace(layers, input_shape)
    total = 0
    for i, step in enumerate(steps, 1):
        total += sum(window_counts(step) or ())
        if total > MAX_JSON_WINDOWS:
            raise CardgenError(
                f"--json lists every pooling window, more than {MAX_JSON_WINDOWS:,} by "
                f"layer {i} {step.layer}; leave out --json for the shapes and the first "
                f"{SHOWN_WINDOWS} windows of each dim")
    out_layers = []
    for step in steps:
        entry: dict[str, Any] = {"layer": str(step.layer),
                                 "output_shape": list(step.output_shape)}
        windows = _windows(step)
        if windows is not None:
            entry["windows"] = windows
        out_layers.append(entry)
    final = steps[-1].output_shape if steps else tuple(input_shape)
    return {"input_shape": list(input_shape), "layers": out_layers, "output_shape": list(final)}


def _fmt_windows(windows: list[list[int]], count: int) -> str:
    parts = [f"[{a},{b})" for a, b in windows]
    if count > len(windows):
        parts.append(f"... ({count} windows)")
    return " ".join(parts)


def solve_text(layers: Sequence[Layer], input_shape: Sequence[int]) -> str:
    steps = trace(layers, input_shape)
    lines = [f"input  {'x'.join(map(str, input_shape))}"]
    for i, step in enumerate(steps, 1):
        shape = "x".join(map(str, step.output_shape))
        lines.append(f"{i}. {step.layer}  ->  {shape}")
        formulas = layer_formulas(step.layer, step.input_shape, step.output_shape)
        names = DIM_NAMES.get(step.layer.ndim, [step.layer.kind] * len(formulas))
        if step.layer.kind in RESAMPLE_KINDS:  # its rows name their own dims
            lines += [f"     {formula}" for formula in formulas]
            continue
        for name, formula in zip(names, formulas, strict=False):
            lines.append(f"     {name}: {formula}")
        windows = _windows(step, SHOWN_WINDOWS)
        counts = window_counts(step)
        if windows and counts:
            for name, dim, count in zip(names, windows, counts, strict=False):
                lines.append(f"     {name} windows: {_fmt_windows(dim, count)}")
    final = steps[-1].output_shape if steps else tuple(input_shape)
    lines.append(f"output {'x'.join(map(str, final))}")
    return "\n".join(lines)
