"""`transpose_output_size`: a ConvTranspose layer called with ``output_size=``.

``{"kind": "transpose_output_size", "layer": L, "input_shape": [1, 8, 5],
"output_size": [11], "output_shape": [1, 4, 11]}``: ``layer(zeros(input_shape),
output_size=output_size)`` runs and gives ``output_shape``; with ``"output_shape": null``
it raises. ``output_size`` is a forward() argument, so no shape claim can say it; it
holds one size per spatial dim.

torch builds the module and calls it with ``output_size``; the solver applies torch's
rule (``cardgen.solver.transpose``): per dim, sizes from ``(in-1)s - 2p + d(k-1) + 1`` to
that plus ``s - 1`` are accepted, and the layer runs with the output_padding that makes
up the difference (the layer's own output_padding is ignored).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import prod
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import shape_list, trusted_layer, trusted_plan
from cardgen.claims.check_torch import quiet, torch_module, torch_raised
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import (
    MAX_GEOMETRY,
    MAX_INPUT_ELEMENTS,
    MAX_TENSOR_ELEMENTS,
    Failed,
    TooLarge,
    is_int,
)
from cardgen.claims.parse import parse_input_shape, parse_item, parse_output_shape
from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.transpose import picked

KEYS = frozenset({"kind", "layer", "input_shape", "output_size", "output_shape"})
MAX_SIZE = 4 * MAX_GEOMETRY  # a requested size per dim; cards ask for a few dozen


@dataclass(frozen=True)
class TransposeOutputSize:
    layer: Layer
    input_shape: tuple[int, ...]
    output_size: tuple[int, ...]
    output_shape: tuple[int, ...] | None


def parse(claim: Mapping[str, Any]) -> TransposeOutputSize:
    layer = parse_item(claim["layer"], "layer", allow_refused=False)
    assert isinstance(layer, Layer)
    if layer.kind != "conv_transpose":
        raise Failed(f"transpose_output_size claims are for ConvTranspose layers, not "
                     f"{layer.type}")
    shape = parse_input_shape(claim["input_shape"], "input_shape")
    sizes = claim["output_size"]
    if (not isinstance(sizes, list) or len(sizes) != layer.ndim
            or not all(is_int(v) and 0 <= v <= MAX_SIZE for v in sizes)):
        raise Failed(f"output_size must be a list of {layer.ndim} integers between 0 and "
                     f"{MAX_SIZE} (one per spatial dim)")
    out = claim["output_shape"]
    return TransposeOutputSize(layer, shape, tuple(sizes),
                               None if out is None else parse_output_shape(out, "output_shape"))


@lru_cache(maxsize=1024)
def _plain(layer: Layer) -> Layer:
    """The layer without output_padding: what its budget is planned on (a call with
    output_size= replaces its output_padding by one smaller than the stride)."""
    return Layer.make(layer.type, **{**layer.kwargs, "output_padding": 0})


def _check_elements(c: TransposeOutputSize) -> None:
    lead = c.input_shape[:-c.layer.ndim] if len(c.input_shape) > c.layer.ndim else ()
    elements = prod(lead[:-1]) * c.layer.get("out_channels") * prod(c.output_size)
    if elements > MAX_TENSOR_ELEMENTS:
        raise TooLarge(f"too large: the output could have {elements} elements (limit "
                       f"{MAX_TENSOR_ELEMENTS})")


def _budget(c: TransposeOutputSize) -> None:
    """The layer's own plan (geometry, weights, work) with no output_padding, and the
    requested output's elements: both bounded before torch allocates anything."""
    plan([_plain(c.layer)], c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    _check_elements(c)


def _said(shape: tuple[int, ...] | None) -> str:
    return "raises" if shape is None else f"gives output shape {list(shape)}"


def solver_output(c: TransposeOutputSize) -> tuple[int, ...] | None:
    try:
        return picked(c.layer, c.input_shape, c.output_size).output_shape
    except ShapeError:
        return None


def check_solver(c: TransposeOutputSize) -> str:
    _budget(c)
    got = solver_output(c)
    if got != c.output_shape:
        raise Failed(f"solver: with output_size={list(c.output_size)} it {_said(got)}, "
                     f"claimed {_said(c.output_shape)}")
    return f"output_size={list(c.output_size)}: {_said(got)}"


def check_torch(c: TransposeOutputSize) -> str:
    import torch

    _budget(c)
    with quiet():
        try:
            module = torch_module(c.layer)
            got: tuple[int, ...] | None = tuple(
                module(torch.zeros(c.input_shape), output_size=list(c.output_size)).shape)
            why = ""
        except Exception as exc:
            got, why = None, f" ({torch_raised(exc)})"
    if got != c.output_shape:
        raise Failed(f"torch: with output_size={list(c.output_size)} it {_said(got)}{why}, "
                     f"claimed {_said(c.output_shape)}")
    return f"output_size={list(c.output_size)}: {_said(got)}{why}"


KIND = ClaimKind("transpose_output_size", KEYS, parse, check_solver, check_torch)


def transpose_output_size_claim(layer: Layer, input_shape: Sequence[int],
                                output_size: Sequence[int]) -> dict[str, Any]:
    """What `layer` does on `input_shape` when called with `output_size`, by the solver:
    its output shape, or null when torch raises. ValueError where `check_claim` would
    refuse the claim (not a ConvTranspose, sizes out of bounds, beyond verify's limits)."""
    shape, sizes = tuple(input_shape), tuple(int(v) for v in output_size)
    if layer.kind != "conv_transpose" or len(sizes) != layer.ndim \
            or not all(0 <= v <= MAX_SIZE for v in sizes):
        raise ValueError(f"no output_size claim for {layer} with output_size {list(sizes)}")
    claim = TransposeOutputSize(trusted_layer(layer, "layer"), shape, sizes, None)
    trusted_plan((_plain(layer),), shape)  # the limits check_claim applies, once a layer
    try:
        _check_elements(claim)
    except Failed as exc:
        raise ValueError(f"cannot build this transpose_output_size claim: {exc}") from None
    out = solver_output(claim)
    return {"kind": "transpose_output_size", "layer": layer.to_json(),
            "input_shape": shape_list(shape), "output_size": list(sizes),
            "output_shape": None if out is None else list(out)}
