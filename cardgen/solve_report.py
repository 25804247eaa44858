"""`cardgen solve`: the calculator's report, as data and as text for a person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cardgen.errors import ShapeError
from cardgen.explain.sizes import layer_formulas
from cardgen.layers import POOL_KINDS, Layer
from cardgen.solver import pool_windows, trace

DIM_NAMES = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def _windows(step: Any) -> list[list[list[int]]] | None:
    if step.layer.kind not in POOL_KINDS:
        return None
    try:
        return [[list(w) for w in dim] for dim in pool_windows(step.layer, step.input_shape)]
    except ShapeError:  # dilated max pool: not contiguous
        return None


def solve_report(layers: Sequence[Layer], input_shape: Sequence[int]) -> dict[str, Any]:
    """The JSON form of DESIGN.md §5."""
    steps = trace(layers, input_shape)
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


def _fmt_windows(windows: list[list[int]], limit: int = 12) -> str:
    parts = [f"[{a},{b})" for a, b in windows[:limit]]
    if len(windows) > limit:
        parts.append(f"... ({len(windows)} windows)")
    return " ".join(parts)


def solve_text(layers: Sequence[Layer], input_shape: Sequence[int]) -> str:
    steps = trace(layers, input_shape)
    lines = [f"input  {'x'.join(map(str, input_shape))}"]
    for i, step in enumerate(steps, 1):
        shape = "x".join(map(str, step.output_shape))
        lines.append(f"{i}. {step.layer}  ->  {shape}")
        formulas = layer_formulas(step.layer, step.input_shape, step.output_shape)
        names = DIM_NAMES.get(step.layer.ndim, [step.layer.kind] * len(formulas))
        for name, formula in zip(names, formulas, strict=False):
            lines.append(f"     {name}: {formula}")
        windows = _windows(step)
        if windows:
            for name, dim in zip(names, windows, strict=False):
                lines.append(f"     {name} windows: {_fmt_windows(dim)}")
    final = steps[-1].output_shape if steps else tuple(input_shape)
    lines.append(f"output {'x'.join(map(str, final))}")
    return "\n".join(lines)
