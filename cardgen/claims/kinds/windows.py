"""`windows`: per spatial dim, the half-open range of input cells each output index of a
pooling layer reads (input coordinates, padding excluded)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import once_per_configuration, shape_list, trusted_layer
from cardgen.claims.check_torch import quiet, torch_module, torch_raised
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import (
    MAX_INPUT_ELEMENTS,
    MAX_TENSOR_ELEMENTS,
    Failed,
    TooLarge,
    one_line,
)
from cardgen.claims.parse import parse_input_shape, parse_item, parse_windows
from cardgen.errors import ShapeError
from cardgen.layers import POOL_KINDS, Layer
from cardgen.solver import pool_windows


@dataclass(frozen=True)
class Windows:
    layer: Layer
    input_shape: tuple[int, ...]
    windows: list[list[tuple[int, int]]]


def parse(claim: Mapping[str, Any]) -> Windows:
    layer = parse_item(claim["layer"], "layer", allow_refused=False)
    assert isinstance(layer, Layer)
    _check_layer(layer)
    return Windows(layer, parse_input_shape(claim["input_shape"], "input_shape"),
                   parse_windows(claim["windows"], layer.ndim))


def _check_layer(layer: Layer) -> None:
    if layer.kind not in POOL_KINDS:
        raise Failed(f"windows claims are for pooling layers, not {layer.type}")
    if layer.kind == "maxpool" and any(d != 1 for d in layer.tup("dilation")):
        raise Failed(f"windows claims need dilation 1 ({layer})")


def _budget(c: Windows) -> None:
    spatial = c.input_shape[-c.layer.ndim:]
    if prod(spatial) > MAX_INPUT_ELEMENTS:
        raise TooLarge(f"too large: spatial input of {prod(spatial)} cells "
                       f"(limit {MAX_INPUT_ELEMENTS})")
    plan([c.layer], c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)


def _compare(source: str, got: list[list[tuple[int, int]]], claim: Windows) -> str:
    for d, (g, w) in enumerate(zip(got, claim.windows, strict=True)):
        if len(g) != len(w):
            raise Failed(f"{source} has {len(g)} windows along spatial dim {d}, "
                         f"claimed {len(w)}")
        for i, (a, b) in enumerate(zip(g, w, strict=True)):
            if a != b:
                raise Failed(f"{source}: output {i} of spatial dim {d} reads "
                             f"[{a[0]}, {a[1]}), claimed [{b[0]}, {b[1]})")
    return "windows match"


def check_solver(c: Windows) -> str:
    _budget(c)
    try:
        got = pool_windows(c.layer, c.input_shape)
    except ShapeError as exc:
        raise Failed(f"solver: raises: {one_line(exc)}") from None
    return _compare("solver", got, c)


def check_torch(c: Windows) -> str:
    import torch

    layer = c.layer
    _budget(c)
    n = layer.ndim
    shape = c.input_shape
    if len(shape) not in (n + 1, n + 2):
        raise Failed(f"torch: {layer.type} takes a {n + 1}-D or {n + 2}-D input, got "
                     f"{list(shape)}")
    base = (1,) * (len(shape) - n)
    spatial = shape[-n:]
    kind = layer.kind
    with quiet():
        try:
            real = torch_module(layer)
            out_shape = tuple(real(torch.zeros(base + spatial, dtype=torch.float64)).shape)
            # Max pools read their windows directly: the max of the coordinate is the last
            # cell read, the min (max of -coordinate) the first. An avg pool reads the
            # windows of the max pool with the same geometry; its own mean over the real
            # cells (count_include_pad=False) must then be (first + last) / 2.
            mean = None
            if kind == "adaptive_max" or kind == "maxpool":
                probe = real
            elif kind == "adaptive_avg":
                probe = getattr(torch.nn, f"AdaptiveMaxPool{n}d")(layer.get("output_size"))
                mean = real
            else:
                geometry = {"kernel_size": layer.get("kernel_size"),
                            "stride": layer.get("stride"), "padding": layer.get("padding"),
                            "ceil_mode": layer.get("ceil_mode")}
                probe = getattr(torch.nn, f"MaxPool{n}d")(**geometry)
                mean = getattr(torch.nn, f"AvgPool{n}d")(**geometry, count_include_pad=False)
            got = []
            for d in range(n):
                view = [1] * n
                view[d] = spatial[d]
                coord = torch.arange(spatial[d], dtype=torch.float64).reshape(base + tuple(view))
                coord = coord.expand(base + spatial).contiguous()
                last = probe(coord)
                first = -probe(-coord)
                avg = mean(coord) if mean is not None else (first + last) / 2
                if tuple(last.shape) != out_shape:
                    raise Failed(f"torch: the window probe gives shape {list(last.shape)}, "
                                 f"the layer {list(out_shape)}")
                axis = len(base) + d
                rows = [t.movedim(axis, -1).reshape(-1, out_shape[axis])
                        for t in (first, last, avg)]
                if not all(torch.isfinite(r).all() and (r == r[0]).all() for r in rows):
                    raise Failed(f"torch: windows along spatial dim {d} are not a product "
                                 "of intervals")
                lo, hi, mid = (r[0].tolist() for r in rows)
                if any(abs((a + b) / 2 - m) > 1e-9 for a, b, m in zip(lo, hi, mid,
                                                                      strict=True)):
                    raise Failed(f"torch: cells read along spatial dim {d} are not "
                                 "contiguous")
                got.append([(int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True)])
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
    return _compare("torch", got, c)


KIND = ClaimKind("windows", frozenset({"kind", "layer", "input_shape", "windows"}), parse,
                 check_solver, check_torch)


@once_per_configuration
def windows_claim(layer: Layer, input_shape: Sequence[int]) -> dict[str, Any]:
    """The [start, stop) input cells each output index reads, per spatial dim.

    Checked as `parse` and `check_solver` check it, less parsing our own JSON back: the
    layer's values once per layer (`trusted_layer`), the shape, the budget before the
    work, the windows' form after it."""
    shape = shape_list(input_shape)
    try:
        _check_layer(trusted_layer(layer, "layer"))
        c = Windows(layer, parse_input_shape(shape, "input_shape"), [])
        _budget(c)  # limits before the work
        windows = pool_windows(layer, c.input_shape)
        claim = {"kind": "windows", "layer": layer.to_json(), "input_shape": shape,
                 "windows": [[[int(a), int(b)] for a, b in dim] for dim in windows]}
        parse_windows(claim["windows"], layer.ndim)
    except Failed as exc:
        raise ValueError(f"cannot build this windows claim: {exc}") from None
    return claim
