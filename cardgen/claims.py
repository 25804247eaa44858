"""Audit claims (DESIGN.md §3): build them with the solver, check untrusted ones.

Builders (``shape_claim`` ...) are used by the problem families; each computes its result
with cardgen's solver and returns a JSON-ready dict.

``check_claim(claim, backend)`` re-checks a claim that may come from a hostile deck, with
PyTorch (``"torch"``) or with cardgen's solver (``"solver"``). The claim is data: its
structure is validated strictly, layer types go through the allow-list of
``Layer.from_json``, nothing is evaluated, and every tensor that would be materialised is
bounded first (the limits below), so a claim can make a check fail but never exhaust
memory or CPU. The limits are the same for both backends, so a deck gets the same verdict
whichever one checks it.

torch is imported only inside the torch backend: ``import cardgen.claims`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import prod
from typing import Any

import numpy as np

from cardgen.errors import CardgenError, LayerSyntaxError, ShapeError
from cardgen.layers import LAYER_TYPES, MAX_INT, POOL_KINDS, Layer
from cardgen.solver import forward, layer_step, pool_windows

__all__ = [
    "BACKENDS", "ClaimCheck", "LIMITS", "check_claim", "equivalent_claim", "error_claim",
    "shape_claim", "torch_available", "torch_version", "values_claim", "windows_claim",
]

BACKENDS = ("torch", "solver")

# ---------------------------------------------------------------------------------------
# Limits. A claim beyond one of them fails as "too large" (with either backend).
MAX_LAYERS = 16                    # layers in one stack
MAX_RANK = 8                       # dims of an input shape
MAX_INPUT_ELEMENTS = 2_000_000     # input of a shape/error/windows claim
MAX_TENSOR_ELEMENTS = 8_000_000    # any intermediate or output tensor of such a claim
MAX_MACS = 4_000_000_000           # multiply-accumulates (or cells read) of one claim
MAX_WEIGHTS = 5_000_000            # in * out * prod(kernel) of a Conv, in * out of a Linear
MAX_TOTAL_WEIGHTS = 20_000_000     # all layers of a claim together
MAX_GEOMETRY = 1024                # kernel_size, stride, padding, dilation, output_padding
MAX_COLUMNS = 32_000_000           # a Conv's unfolded input: in * prod(kernel) * out cells
MAX_VALUE_CELLS = 100_000          # `values` input/output and every tensor they pass through
MAX_VALUE_DEPTH = 6                # nesting depth of `values` input/output
MAX_EQUIV_CELLS = 10_000           # input of an `equivalent` claim
MAX_ABS_VALUE = 2**53              # |x| of a `values` input cell (exact in float64)
MAX_EXACT_WORK = 20_000_000        # `values`/`equivalent`: cells read + OUTPUT_COST per output
OUTPUT_COST = 20                   # (all probe runs of an equivalence together)
SAFETY_FACTOR = 2                  # torch: a-priori bound per layer, independent of solver

LIMITS = {
    "layers": MAX_LAYERS, "rank": MAX_RANK, "input_elements": MAX_INPUT_ELEMENTS,
    "tensor_elements": MAX_TENSOR_ELEMENTS, "macs": MAX_MACS, "weights": MAX_WEIGHTS,
    "total_weights": MAX_TOTAL_WEIGHTS, "columns": MAX_COLUMNS, "geometry": MAX_GEOMETRY,
    "value_cells": MAX_VALUE_CELLS, "value_depth": MAX_VALUE_DEPTH,
    "equivalent_cells": MAX_EQUIV_CELLS, "exact_work": MAX_EXACT_WORK,
}

# Tolerances: `values` claims (rounded floats in JSON) and equivalence runs (exact inputs).
VALUES_REL, VALUES_ABS = 1e-6, 1e-6
EQUIV_REL, EQUIV_ABS = 1e-12, 1e-9

# Equivalence inputs: seeded random integers, plus "spike" probes (one cell raised far
# above the rest) at up to SPIKE_CELLS cells. Spikes make max-pool stacks with different
# receptive fields differ for sure; random integers separate different averages.
EQUIV_SEED = 20240611
EQUIV_RANDOM_TRIALS = 3
EQUIV_HIGH = 1000
EQUIV_SPIKE = 10_000
SPIKE_CELLS = 512

_KEYS = {
    "shape": {"kind", "layers", "input_shape", "output_shape"},
    "error": {"kind", "layers", "input_shape"},
    "values": {"kind", "layers", "input", "output"},
    "windows": {"kind", "layer", "input_shape", "windows"},
    "equivalent": {"kind", "layers", "other", "input_shape", "equal"},
}
_MAX_ARGS = 12
_MAX_STR = 16
_MAX_DETAIL = 240


@dataclass(frozen=True)
class ClaimCheck:
    ok: bool
    detail: str


class _Failed(Exception):
    """The claim does not hold, or cannot be checked; the message says why."""


class _TooLarge(_Failed):
    pass


@dataclass(frozen=True)
class _Refused:
    """A well-formed layer (allow-listed type, known keywords, plain values) whose
    configuration cardgen's Layer refuses: only meaningful in an `error` claim."""

    type: str
    args: dict[str, Any]
    reason: str

    @property
    def kind(self) -> str:
        return LAYER_TYPES[self.type][0]

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.type}({inner})"


Item = Layer | _Refused


@dataclass
class _Claim:
    kind: str
    layers: list[Item]
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()
    other: list[Item] | None = None
    layer: Layer | None = None
    windows: list[list[tuple[int, int]]] | None = None
    equal: bool = False
    input: Any = None
    input_dims: tuple[int, ...] = ()
    output_dims: tuple[int, ...] = ()
    output_flat: list[float] | None = None


def _one_line(text: Any, limit: int = _MAX_DETAIL) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


# ---------------------------------------------------------------------------------------
# Parsing untrusted claims


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_scalar(v: Any, where: str) -> None:
    if v is None or isinstance(v, bool):
        return
    if _is_int(v):
        if abs(v) > MAX_INT:
            raise _Failed(f"{where}: integer {v} out of range")
        return
    if isinstance(v, float):
        if not math.isfinite(v):
            raise _Failed(f"{where}: {v!r} is not a finite number")
        return
    if isinstance(v, str):
        if len(v) > _MAX_STR:
            raise _Failed(f"{where}: string too long")
        return
    raise _Failed(f"{where}: {type(v).__name__} is not an allowed value")


def _parse_layer(data: Any, where: str, allow_refused: bool) -> Item:
    if not isinstance(data, Mapping) or set(data) != {"type", "args"}:
        raise _Failed(f'{where}: a layer must be {{"type": ..., "args": {{...}}}}')
    type_, args = data["type"], data["args"]
    if not isinstance(type_, str) or type_ not in LAYER_TYPES:
        shown = _one_line(repr(type_), 60)
        raise _Failed(f"{where}: unknown layer type {shown} (not in the allow-list)")
    if not isinstance(args, Mapping) or len(args) > _MAX_ARGS:
        raise _Failed(f"{where}: {type_} args must be an object of at most {_MAX_ARGS} keys")
    for key, value in args.items():
        if not isinstance(key, str) or len(key) > 40:
            raise _Failed(f"{where}: {type_} has a bad argument name")
        if isinstance(value, list | tuple):
            if not 1 <= len(value) <= 3:
                raise _Failed(f"{where}: {type_} {key} must have 1 to 3 entries")
            for v in value:
                if isinstance(v, list | tuple | str):
                    raise _Failed(f"{where}: {type_} {key} must be a flat list of numbers")
                _check_scalar(v, f"{where}: {type_} {key}")
        else:
            _check_scalar(value, f"{where}: {type_} {key}")
    try:
        return Layer.from_json({"type": type_, "args": dict(args)})
    except LayerSyntaxError as exc:
        raise _Failed(f"{where}: {_one_line(exc)}") from None
    except ShapeError as exc:
        if not allow_refused:
            raise _Failed(f"{where}: {_one_line(exc)}") from None
        raw = {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in args.items()}
        return _Refused(type_, raw, _one_line(exc))


def _check_stack_size(data: Sequence[Any], where: str = "layers") -> None:
    if not data:
        raise _Failed(f"{where} must be a non-empty list of layers")
    if len(data) > MAX_LAYERS:
        raise _TooLarge(f"too large: {len(data)} layers (limit {MAX_LAYERS})")


def _parse_layers(data: Any, where: str, allow_refused: bool = False) -> list[Item]:
    if not isinstance(data, list):
        raise _Failed(f"{where} must be a non-empty list of layers")
    _check_stack_size(data, where)
    return [_parse_layer(d, f"{where}[{i}]", allow_refused) for i, d in enumerate(data)]


def _parse_shape(data: Any, where: str) -> tuple[int, ...]:
    if not isinstance(data, list) or not data:
        raise _Failed(f"{where} must be a non-empty list of sizes")
    if len(data) > MAX_RANK:
        raise _TooLarge(f"too large: {where} has {len(data)} dims (limit {MAX_RANK})")
    for v in data:
        if not _is_int(v) or not 1 <= v <= MAX_INT:
            raise _Failed(f"{where} must hold integers between 1 and {MAX_INT}, got "
                          f"{_one_line(repr(v), 40)}")
    return tuple(data)


def _parse_output_shape(data: Any, where: str) -> tuple[int, ...]:
    if not isinstance(data, list) or len(data) > MAX_RANK + 1:
        raise _Failed(f"{where} must be a list of at most {MAX_RANK + 1} sizes")
    if any(not _is_int(v) or v < 0 for v in data):
        raise _Failed(f"{where} must hold non-negative integers")
    return tuple(data)


def _parse_nested(data: Any, where: str, limit: int,
                  max_abs: float | None) -> tuple[tuple[int, ...], list[Any]]:
    """(dims, flat cells) of a rectangular nested list of finite numbers; iterative."""
    dims: list[int] = []
    level = [data]
    while True:
        lists = sum(isinstance(x, list) for x in level)
        if lists == 0:
            break
        if lists != len(level):
            raise _Failed(f"{where} is not a rectangular nested list")
        if len(dims) == MAX_VALUE_DEPTH:
            raise _TooLarge(f"too large: {where} is nested deeper than {MAX_VALUE_DEPTH}")
        sizes = {len(x) for x in level}
        if len(sizes) != 1:
            raise _Failed(f"{where} is not a rectangular nested list")
        size = sizes.pop()
        if size == 0:
            raise _Failed(f"{where} has an empty dimension")
        if len(level) * size > limit:
            raise _TooLarge(f"too large: {where} has more than {limit} cells")
        dims.append(size)
        level = [y for x in level for y in x]
    if not dims:
        raise _Failed(f"{where} must be a nested list (a tensor), not a scalar")
    for v in level:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _Failed(f"{where} must hold numbers, got {_one_line(repr(v), 40)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise _Failed(f"{where} must hold finite numbers")
        if max_abs is not None and abs(v) > max_abs:
            raise _Failed(f"{where}: |{v}| is larger than {max_abs}")
    return tuple(dims), level


def _parse_windows(data: Any, ndim: int) -> list[list[tuple[int, int]]]:
    if not isinstance(data, list) or len(data) != ndim:
        raise _Failed(f"windows must be a list of {ndim} lists (one per spatial dim)")
    result = []
    for dim in data:
        if not isinstance(dim, list) or len(dim) > MAX_TENSOR_ELEMENTS:
            raise _Failed("windows: each spatial dim must be a list of [start, stop]")
        pairs = []
        for w in dim:
            if (not isinstance(w, list) or len(w) != 2 or not all(_is_int(v) for v in w)):
                raise _Failed("windows: each window must be [start, stop] (integers)")
            pairs.append((w[0], w[1]))
        result.append(pairs)
    return result


def _parse_claim(claim: Any) -> _Claim:
    if not isinstance(claim, Mapping):
        raise _Failed("a claim must be a JSON object")
    kind = claim.get("kind")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise _Failed(f"unknown claim kind {_one_line(repr(kind), 40)}; expected one of "
                      + ", ".join(_KEYS))
    keys = set(claim)
    if keys != _KEYS[kind]:
        extra, missing = sorted(map(str, keys - _KEYS[kind])), sorted(_KEYS[kind] - keys)
        parts = ([f"unknown keys {', '.join(extra)}"] if extra else []) + \
                ([f"missing keys {', '.join(missing)}"] if missing else [])
        raise _Failed(f"{kind} claim: {'; '.join(parts)}")
    if kind == "shape":
        return _Claim(kind, _parse_layers(claim["layers"], "layers"),
                      input_shape=_parse_shape(claim["input_shape"], "input_shape"),
                      output_shape=_parse_output_shape(claim["output_shape"], "output_shape"))
    if kind == "error":
        return _Claim(kind, _parse_layers(claim["layers"], "layers", allow_refused=True),
                      input_shape=_parse_shape(claim["input_shape"], "input_shape"))
    if kind == "windows":
        layer = _parse_layer(claim["layer"], "layer", allow_refused=False)
        assert isinstance(layer, Layer)
        if layer.kind not in POOL_KINDS:
            raise _Failed(f"windows claims are for pooling layers, not {layer.type}")
        if layer.kind == "maxpool" and any(d != 1 for d in layer.tup("dilation")):
            raise _Failed(f"windows claims need dilation 1 ({layer})")
        return _Claim(kind, [layer], layer=layer,
                      input_shape=_parse_shape(claim["input_shape"], "input_shape"),
                      windows=_parse_windows(claim["windows"], layer.ndim))
    if kind == "values":
        layers = _exact_layers(_parse_layers(claim["layers"], "layers"), "layers")
        dims, _ = _parse_nested(claim["input"], "input", MAX_VALUE_CELLS, MAX_ABS_VALUE)
        out_dims, out_flat = _parse_nested(claim["output"], "output", MAX_VALUE_CELLS, None)
        return _Claim(kind, layers, input=claim["input"], input_dims=dims, input_shape=dims,
                      output_dims=out_dims, output_flat=[float(v) for v in out_flat])
    # equivalent
    if not isinstance(claim["equal"], bool):
        raise _Failed("equal must be true or false")
    shape = _parse_shape(claim["input_shape"], "input_shape")
    if prod(shape) > MAX_EQUIV_CELLS:
        raise _TooLarge(f"too large: equivalence input of {prod(shape)} cells "
                        f"(limit {MAX_EQUIV_CELLS})")
    return _Claim(kind, _exact_layers(_parse_layers(claim["layers"], "layers"), "layers"),
                  other=_exact_layers(_parse_layers(claim["other"], "other"), "other"),
                  input_shape=shape, equal=claim["equal"])


def _exact_layers(layers: list[Item], where: str) -> list[Item]:
    for i, layer in enumerate(layers):
        if layer.kind not in POOL_KINDS + ("flatten",):
            raise _Failed(f"{where}[{i}]: {layer.type} has random weights; values and "
                          "equivalence claims take pooling and Flatten layers only")
    return layers


# ---------------------------------------------------------------------------------------
# Budgets (exact, from the solver's shapes)


def _num(v: Any) -> int:
    """A magnitude for a possibly-garbage argument (used only for upper bounds)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return abs(v)
    if isinstance(v, float):
        return math.ceil(abs(v))
    if isinstance(v, tuple):
        return prod(_num(x) for x in v) if v else 1
    return 1


def _args(item: Item) -> Mapping[str, Any]:
    return item._given if isinstance(item, Layer) else item.args  # type: ignore[attr-defined]


def _weights(item: Item) -> int:
    kind = item.kind
    args = _args(item)
    if kind in ("conv", "conv_transpose"):
        n = LAYER_TYPES[item.type][1]
        k = args.get("kernel_size", 1)
        kernel = _num(k) if isinstance(k, tuple) else _num(k) ** n
        return _num(args.get("in_channels", 1)) * _num(args.get("out_channels", 1)) * kernel
    if kind == "linear":
        return _num(args.get("in_features", 1)) * _num(args.get("out_features", 1))
    return 0


_GEOMETRY = ("kernel_size", "stride", "padding", "dilation", "output_padding")


def _check_geometry(items: Sequence[Item]) -> None:
    """Kernel/stride/padding/dilation beyond MAX_GEOMETRY: no card needs them, and
    torch 2.13's oneDNN ConvTranspose crashes (SIGSEGV) on some large strides."""
    for item in items:
        args = _args(item)
        for name in _GEOMETRY:
            value = args.get(name)
            values = value if isinstance(value, tuple) else (value,)
            if any(_is_int(v) and abs(v) > MAX_GEOMETRY for v in values):
                raise _TooLarge(f"too large: {item} has {name} above {MAX_GEOMETRY}")


def _check_weights(items: Sequence[Item]) -> None:
    _check_geometry(items)
    total = 0
    for item in items:
        w = _weights(item)
        if w > MAX_WEIGHTS:
            raise _TooLarge(f"too large: {item} has {w} weights (limit {MAX_WEIGHTS})")
        total += w
    if total > MAX_TOTAL_WEIGHTS:
        raise _TooLarge(f"too large: {total} weights in all (limit {MAX_TOTAL_WEIGHTS})")


def _columns(kind: str, cin: int, cout: int, kernel: int, in_spatial: int,
             out_spatial: int) -> int:
    """Size of the unfolded (im2col) buffer a CPU convolution may allocate per sample."""
    if kind == "conv":
        return cin * kernel * out_spatial
    if kind == "conv_transpose":
        return cout * kernel * in_spatial
    return 0


def _macs(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> int:
    kind = layer.kind
    if kind == "conv":
        return prod(out) * (layer.get("in_channels") // layer.get("groups")) \
            * prod(layer.tup("kernel_size"))
    if kind == "conv_transpose":
        return prod(shape) * (layer.get("out_channels") // layer.get("groups")) \
            * prod(layer.tup("kernel_size"))
    if kind in ("maxpool", "avgpool"):
        return prod(out) * prod(layer.tup("kernel_size"))
    if kind in ("adaptive_avg", "adaptive_max"):
        n = layer.ndim
        per = prod(-(-i // max(o, 1)) + 1 for i, o in zip(shape[-n:], out[-n:], strict=True))
        return prod(out) * per
    if kind == "linear":
        return prod(out) * layer.get("in_features")
    return 0


def _where(items: Sequence[Item], i: int) -> str:
    """Names layer i for a message; only on failure (formatting costs more than checking)."""
    return f"layer {i + 1} {items[i]}" if len(items) > 1 else str(items[i])


def _plan(items: Sequence[Item], shape: tuple[int, ...], input_limit: int,
          tensor_limit: int, work_limit: int | None = None
          ) -> tuple[list[tuple[int, ...]], str | None, int]:
    """(shapes after each layer as the solver sees them, the solver's refusal or None,
    exact-evaluation work). Enforces the limits on every tensor that will exist; stops at
    the first layer the solver refuses. `work_limit` bounds the work of an exact forward
    pass (cells read plus a per-output overhead), for `values` and `equivalent` claims.
    """
    _check_weights(items)
    if prod(shape) > input_limit:
        raise _TooLarge(f"too large: input of {prod(shape)} elements (limit {input_limit})")
    shapes = [shape]
    macs = work = 0
    for i, item in enumerate(items):
        if isinstance(item, _Refused):
            return shapes, f"{_where(items, i)}: {item.reason}", work
        try:
            out = layer_step(item, shapes[-1]).output_shape
        except ShapeError as exc:
            return shapes, f"{_where(items, i)}: {_one_line(exc)}", work
        if prod(out) > tensor_limit:
            raise _TooLarge(f"too large: {_where(items, i)} gives {prod(out)} elements "
                            f"(limit {tensor_limit})")
        if item.kind in ("conv", "conv_transpose"):
            n = item.ndim
            cols = _columns(item.kind, item.get("in_channels"), item.get("out_channels"),
                            prod(item.tup("kernel_size")), prod(shapes[-1][-n:]),
                            prod(out[-n:]))
            if cols > MAX_COLUMNS:
                raise _TooLarge(f"too large: {_where(items, i)} unfolds to {cols} elements "
                                f"(limit {MAX_COLUMNS})")
        layer_macs = _macs(item, shapes[-1], out)
        macs += layer_macs
        if macs > MAX_MACS:
            raise _TooLarge(f"too large: more than {MAX_MACS} multiply-adds")
        work += layer_macs + OUTPUT_COST * prod(out)
        if item.kind in ("adaptive_avg", "adaptive_max"):
            # an allowance for window bookkeeping; the solver is now O(1) per output, but the
            # bound stays as it was so a deck's verdict does not depend on cardgen's version
            work += sum(o * o for o in out[-item.ndim:])
        if work_limit is not None and work > work_limit:
            raise _TooLarge(f"too large: exact evaluation needs more than {work_limit} steps")
        shapes.append(out)
    return shapes, None, work


# ---------------------------------------------------------------------------------------
# Builders (trusted input from the families; results from the solver)


def _validated(claim: dict[str, Any]) -> dict[str, Any]:
    """Refuse to build a claim that `check_claim` would reject as malformed or too large."""
    try:
        parsed = _parse_claim(claim)
        if parsed.kind == "windows":
            _windows_budget(parsed)
        elif parsed.kind in ("shape", "error"):
            _plan(parsed.layers, parsed.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
        elif parsed.kind == "values":
            _plan(parsed.layers, parsed.input_dims, MAX_VALUE_CELLS, MAX_VALUE_CELLS,
                  MAX_EXACT_WORK)
    except _Failed as exc:
        raise ValueError(f"cannot build this {claim['kind']} claim: {exc}") from None
    return claim


def _shape_list(shape: Sequence[int]) -> list[int]:
    return [int(s) for s in shape]


# Generators test a config (families.base.fits_claim) and then solve it: plan once.
@lru_cache(maxsize=1024)
def _trusted_plan(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> tuple[
        tuple[tuple[int, ...], ...], str | None]:
    """`_plan` for a stack the families built from validated Layers: the same limits that
    `check_claim` applies, without re-parsing the stack from JSON (hot in large builds)."""
    try:
        _check_stack_size(layers)
        _parse_shape(list(shape), "input_shape")
        shapes, err, _ = _plan(layers, shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    except _Failed as exc:
        raise ValueError(f"cannot build a claim on this stack: {exc}") from None
    return tuple(shapes), err  # cached: immutable


@lru_cache(maxsize=1024)
def _checked_output(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    current = shape
    for layer in layers:
        current = layer_step(layer, current).output_shape  # ShapeError, as torch raises
    _trusted_plan(layers, shape)
    return current


def shape_claim(layers: Sequence[Layer], input_shape: Sequence[int]) -> dict[str, Any]:
    """`output_shape` of the stack on `input_shape`; ShapeError if the solver says it raises."""
    out = _checked_output(tuple(layers), tuple(input_shape))
    return {"kind": "shape", "layers": [layer.to_json() for layer in layers],
            "input_shape": _shape_list(input_shape), "output_shape": list(out)}


def claim_work(layers: Sequence[Layer], input_shape: Sequence[int]) -> int:
    """Multiply-adds of a shape claim on this stack (0 when the solver says it raises,
    which makes an error claim); ValueError when verify would refuse the claim as too large."""
    layers, shape = tuple(layers), tuple(input_shape)
    shapes, err = _trusted_plan(layers, shape)
    if err is not None:
        return 0
    return sum(_macs(layer, a, b) for layer, a, b in zip(layers, shapes, shapes[1:], strict=False))


def _solver_error(items: Sequence[Item], shape: tuple[int, ...]) -> str | None:
    current = shape
    for i, item in enumerate(items):
        if isinstance(item, _Refused):
            return f"layer {i + 1}: {item.reason}"
        try:
            current = layer_step(item, current).output_shape
        except ShapeError as exc:
            return f"layer {i + 1}: {_one_line(exc)}"
    return None


def error_claim(layers: Sequence[Layer], input_shape: Sequence[int]) -> dict[str, Any]:
    """PyTorch raises on this stack and shape. ValueError if the solver says it runs.

    A Layer made directly (bypassing validation, e.g. padding='same' with stride 2) is
    fine: its refusal at construction counts as the error.
    """
    claim = {"kind": "error", "layers": [layer.to_json() for layer in layers],
             "input_shape": _shape_list(input_shape)}
    try:
        parsed = _parse_claim(claim)
    except _Failed as exc:
        raise ValueError(f"cannot build this error claim: {exc}") from None
    if _solver_error(parsed.layers, parsed.input_shape) is None:
        raise ValueError(f"{' -> '.join(map(str, layers))} runs on {list(input_shape)}: "
                         "not an error")
    return _validated(claim)


def windows_claim(layer: Layer, input_shape: Sequence[int]) -> dict[str, Any]:
    """The [start, stop) input cells each output index reads, per spatial dim."""
    _validated({"kind": "windows", "layer": layer.to_json(),  # limits before the work
                "input_shape": _shape_list(input_shape), "windows": [[]] * layer.ndim})
    windows = pool_windows(layer, tuple(input_shape))
    return _validated({"kind": "windows", "layer": layer.to_json(),
                       "input_shape": _shape_list(input_shape),
                       "windows": [[[int(a), int(b)] for a, b in dim] for dim in windows]})


def values_claim(layers: Sequence[Layer], input_nested: Any,
                 solved: np.ndarray | None = None) -> dict[str, Any]:
    """The exact output of a pooling stack on `input_nested`, as floats. `solved` is
    `solver.forward(layers, input_nested)` when the caller has already run it."""
    if isinstance(input_nested, np.ndarray):
        input_nested = input_nested.tolist()
    try:  # the limits check_claim applies, before the work
        _check_stack_size(layers)
        _exact_layers(list(layers), "layers")
        dims, _ = _parse_nested(input_nested, "input", MAX_VALUE_CELLS, MAX_ABS_VALUE)
        _plan(layers, dims, MAX_VALUE_CELLS, MAX_VALUE_CELLS, MAX_EXACT_WORK)
    except _Failed as exc:
        raise ValueError(f"cannot build this values claim: {exc}") from None
    y = forward(layers, input_nested) if solved is None else solved
    output = np.array([float(v) for v in y.ravel().tolist()], dtype=float).reshape(y.shape)
    return {"kind": "values", "layers": [layer.to_json() for layer in layers],
            "input": input_nested, "output": output.tolist()}


def equivalent_claim(layers: Sequence[Layer], other: Sequence[Layer],
                     input_shape: Sequence[int]) -> dict[str, Any]:
    """Whether two pooling stacks give the same shape and values on `input_shape`.

    Decided with the solver on deterministic inputs (see `_equivalence_inputs`);
    ValueError if either stack raises on that shape.
    """
    claim = {"kind": "equivalent", "layers": [layer.to_json() for layer in layers],
             "other": [layer.to_json() for layer in other],
             "input_shape": _shape_list(input_shape), "equal": False}
    try:
        parsed = _parse_claim(claim)
        assert parsed.other is not None
        equal, _ = _solver_equivalent(parsed.layers, parsed.other, parsed.input_shape)
    except _Failed as exc:
        raise ValueError(f"cannot build this equivalent claim: {exc}") from None
    claim["equal"] = equal
    return claim


# ---------------------------------------------------------------------------------------
# Shared helpers for checking


def _close(a: float, b: float, rel: float, abs_: float) -> bool:
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def _compare_values(source: str, dims: tuple[int, ...], flat: list[float],
                    claim: _Claim) -> str:
    if dims != claim.output_dims:
        raise _Failed(f"{source} gives an output of shape {list(dims)}, claimed "
                      f"{list(claim.output_dims)}")
    assert claim.output_flat is not None
    for i, (got, want) in enumerate(zip(flat, claim.output_flat, strict=True)):
        if not _close(got, want, VALUES_REL, VALUES_ABS):
            index = list(np.unravel_index(i, dims)) if dims else []
            raise _Failed(f"{source} gives {got!r} at {[int(j) for j in index]}, "
                          f"claimed {want!r}")
    return f"{len(flat)} values match"


def _compare_windows(source: str, got: list[list[tuple[int, int]]], claim: _Claim) -> str:
    assert claim.windows is not None
    for d, (g, w) in enumerate(zip(got, claim.windows, strict=True)):
        if len(g) != len(w):
            raise _Failed(f"{source} has {len(g)} windows along spatial dim {d}, "
                          f"claimed {len(w)}")
        for i, (a, b) in enumerate(zip(g, w, strict=True)):
            if a != b:
                raise _Failed(f"{source}: output {i} of spatial dim {d} reads "
                              f"[{a[0]}, {a[1]}), claimed [{b[0]}, {b[1]})")
    return "windows match"


def _equivalence_inputs(shape: tuple[int, ...], spikes: int) -> Iterator[np.ndarray]:
    """Deterministic int64 inputs: random integers, then `spikes` probes that each raise
    one cell far above a random background (every cell when `spikes` covers them all)."""
    rng = np.random.default_rng(EQUIV_SEED)
    for _ in range(EQUIV_RANDOM_TRIALS):
        yield rng.integers(0, EQUIV_HIGH, size=shape, dtype=np.int64)
    cells = prod(shape)
    background = rng.integers(0, EQUIV_HIGH, size=shape, dtype=np.int64)
    if cells <= spikes:
        spots: Sequence[int] = range(cells)
    else:
        spots = sorted(rng.choice(cells, size=spikes, replace=False).tolist())
    for spot in spots:
        x = background.copy()
        x.flat[spot] = EQUIV_SPIKE
        yield x


def _equiv_plan(a: list[Item], b: list[Item], shape: tuple[int, ...],
                strict: bool = True) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """(output shape of each stack, number of spike probes within the work budget).
    With `strict`, a stack the solver refuses fails the claim."""
    sa, err_a, work_a = _plan(a, shape, MAX_EQUIV_CELLS, MAX_VALUE_CELLS, MAX_EXACT_WORK)
    sb, err_b, work_b = _plan(b, shape, MAX_EQUIV_CELLS, MAX_VALUE_CELLS, MAX_EXACT_WORK)
    for name, err in (("layers", err_a), ("other", err_b)):
        if err and strict:
            raise _Failed(f"solver: {name} raise on {list(shape)}: {err}")
    runs = MAX_EXACT_WORK // max(work_a + work_b, 1)
    if runs < EQUIV_RANDOM_TRIALS:
        raise _TooLarge(f"too large: comparing the stacks needs more than {MAX_EXACT_WORK} "
                        "steps")
    return sa[-1], sb[-1], min(SPIKE_CELLS, runs - EQUIV_RANDOM_TRIALS)


def _solver_equivalent(a: list[Item], b: list[Item], shape: tuple[int, ...]
                       ) -> tuple[bool, str]:
    out_a, out_b, spikes = _equiv_plan(a, b, shape)
    if out_a != out_b:
        return False, f"shapes differ: {list(out_a)} vs {list(out_b)}"
    la = [x for x in a if isinstance(x, Layer)]
    lb = [x for x in b if isinstance(x, Layer)]
    for n, x in enumerate(_equivalence_inputs(shape, spikes)):
        nested = x.tolist()
        ya, yb = forward(la, nested), forward(lb, nested)
        diff = np.flatnonzero(ya.ravel() != yb.ravel())
        if diff.size:
            i = int(diff[0])
            return False, (f"values differ on probe input {n} at flat index {i}: "
                           f"{_fmt_num(ya.ravel()[i])} vs {_fmt_num(yb.ravel()[i])}")
    return True, f"same shape {list(out_a)} and values on every probe input"


def _fmt_num(v: Any) -> str:
    return str(v) if isinstance(v, int | Fraction) else repr(float(v))


# ---------------------------------------------------------------------------------------
# Solver backend


def _solver_shape(c: _Claim) -> str:
    shapes, err, _ = _plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    if err:
        raise _Failed(f"solver: raises on {list(c.input_shape)}: {err}")
    if shapes[-1] != c.output_shape:
        raise _Failed(f"solver gives output shape {list(shapes[-1])}, claimed "
                      f"{list(c.output_shape)}")
    return f"output shape {list(shapes[-1])}"


def _solver_error_check(c: _Claim) -> str:
    shapes, err, _ = _plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    if err is None:
        raise _Failed(f"solver: runs without error, output shape {list(shapes[-1])}")
    return f"raises: {err}"


def _solver_windows(c: _Claim) -> str:
    assert c.layer is not None
    _windows_budget(c)
    try:
        got = pool_windows(c.layer, c.input_shape)
    except ShapeError as exc:
        raise _Failed(f"solver: raises: {_one_line(exc)}") from None
    return _compare_windows("solver", got, c)


def _windows_budget(c: _Claim) -> None:
    assert c.layer is not None
    spatial = c.input_shape[-c.layer.ndim:]
    if prod(spatial) > MAX_INPUT_ELEMENTS:
        raise _TooLarge(f"too large: spatial input of {prod(spatial)} cells "
                        f"(limit {MAX_INPUT_ELEMENTS})")
    _plan([c.layer], c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)


def _solver_values(c: _Claim) -> str:
    shapes, err, _ = _plan(c.layers, c.input_dims, MAX_VALUE_CELLS, MAX_VALUE_CELLS,
                           MAX_EXACT_WORK)
    if err:
        raise _Failed(f"solver: raises on input of shape {list(c.input_dims)}: {err}")
    y = forward([x for x in c.layers if isinstance(x, Layer)], c.input)
    return _compare_values("solver", tuple(y.shape),
                           [float(v) for v in y.ravel().tolist()], c)


def _solver_equivalent_check(c: _Claim) -> str:
    assert c.other is not None
    equal, why = _solver_equivalent(c.layers, c.other, c.input_shape)
    if equal != c.equal:
        raise _Failed(f"solver: equal is {str(equal).lower()} ({why}), claimed "
                      f"{str(c.equal).lower()}")
    return f"equal={str(equal).lower()}: {why}"


_SOLVER = {"shape": _solver_shape, "error": _solver_error_check, "windows": _solver_windows,
           "values": _solver_values, "equivalent": _solver_equivalent_check}


# ---------------------------------------------------------------------------------------
# Torch backend


@functools.cache
def torch_available() -> bool:
    """True when torch can be imported (the import happens here, once)."""
    if importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch  # noqa: F401
    except Exception:  # a broken install counts as absent
        return False
    return True


def torch_version() -> str | None:
    if not torch_available():
        return None
    import torch

    return str(torch.__version__)


def _ints(v: Any, n: int) -> tuple[int, ...] | None:
    if isinstance(v, tuple):
        if len(v) != n or not all(_is_int(x) for x in v):
            return None
        return v
    return (v,) * n if _is_int(v) else None


def _loose_bound(item: Item, shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    """A-priori (output elements, work, unfolded columns) of one layer, from its arguments.

    An upper bound that does not trust the solver's validity rules: it guards torch's
    allocation even if the solver were wrong. None when the arguments are too odd to bound.
    """
    kind, n = LAYER_TYPES[item.type]
    args = item.kwargs if isinstance(item, Layer) else item.args
    cells = prod(shape)
    if kind == "flatten":
        return cells, cells, 0
    if kind == "linear":
        fin, fout = args.get("in_features"), args.get("out_features")
        if not (_is_int(fin) and _is_int(fout)):
            return None
        out = cells // max(shape[-1], 1) * abs(fout)
        return out, out * abs(fin), 0
    if len(shape) < n + 1:
        return cells, cells, 0  # torch refuses the rank before allocating anything
    lead, spatial = shape[:-n], shape[-n:]
    if kind in ("adaptive_avg", "adaptive_max"):
        size = args.get("output_size")
        if isinstance(size, tuple) and len(size) == n:
            outs = tuple(s if o is None else o for o, s in zip(size, spatial, strict=True))
        else:
            outs = (size,) * n
        if not all(_is_int(o) for o in outs):
            return None
        outs = tuple(abs(o) for o in outs)
        per = prod(-(-s // max(o, 1)) + 1 for s, o in zip(spatial, outs, strict=True))
        return prod(lead) * prod(outs), prod(lead) * prod(outs) * per, 0
    kernel = _ints(args.get("kernel_size"), n)
    stride_arg = args.get("stride", None if kind in ("maxpool", "avgpool") else 1)
    stride = kernel if stride_arg is None else _ints(stride_arg, n)
    if kernel is None or stride is None:
        return None
    kernel = tuple(abs(k) for k in kernel)
    stride = tuple(max(abs(s), 1) for s in stride)
    dilation = _ints(args.get("dilation", 1), n)
    if dilation is None:
        return None
    dilation = tuple(abs(d) for d in dilation)
    padding_arg = args.get("padding", 0)
    if padding_arg in ("same", "valid"):
        padding = tuple((d * max(k - 1, 0) + 1) // 2 + 1 for k, d in
                        zip(kernel, dilation, strict=True))
    else:
        padding = _ints(padding_arg, n)
        if padding is None:
            return None
        padding = tuple(abs(p) for p in padding)
    if kind == "conv_transpose":
        out_pad = _ints(args.get("output_padding", 0), n)
        cout, cin = args.get("out_channels"), args.get("in_channels")
        if out_pad is None or not (_is_int(cout) and _is_int(cin)):
            return None
        outs = tuple((s - 1) * st + d * k + abs(op) + 1 for s, st, d, k, op in
                     zip(spatial, stride, dilation, kernel, out_pad, strict=True))
        out = prod(lead[:-1]) * abs(cout) * prod(outs)
        return (out, cells * abs(cout) * max(prod(kernel), 1),
                abs(cout) * prod(kernel) * prod(spatial))
    # PyTorch's own size formula, without its validity checks; ceil mode's extra window.
    outs = tuple(max(s + 2 * p - d * max(k - 1, 0) - 1 + st - 1, 0) // st + 1
                 for s, p, st, d, k in zip(spatial, padding, stride, dilation, kernel,
                                           strict=True))
    if kind == "conv":
        cout, cin = args.get("out_channels"), args.get("in_channels")
        if not (_is_int(cout) and _is_int(cin)):
            return None
        out = prod(lead[:-1]) * abs(cout) * prod(outs)
        return (out, out * abs(cin) * max(prod(kernel), 1),
                abs(cin) * prod(kernel) * prod(outs))
    out = prod(lead) * prod(outs)  # a pool's window is clipped to the input
    window = prod(min(k, s) for k, s in zip(kernel, spatial, strict=True))
    return out, out * max(window, 1), 0


def _torch_module(item: Item) -> Any:
    import torch

    cls = getattr(torch.nn, item.type)  # item.type is in the allow-list (LAYER_TYPES)
    kwargs = item.kwargs if isinstance(item, Layer) else dict(item.args)
    return cls(**kwargs)


def _guard(item: Item, shape: tuple[int, ...], where: str) -> None:
    bound = _loose_bound(item, shape)
    if bound is None:
        raise _TooLarge(f"too large: cannot bound the output of {where} {item}")
    elements, work, columns = bound
    if (elements > SAFETY_FACTOR * MAX_TENSOR_ELEMENTS or work > SAFETY_FACTOR * MAX_MACS
            or columns > SAFETY_FACTOR * MAX_COLUMNS):
        raise _TooLarge(f"too large: {where} {item} could give {elements} elements")


def _torch_run(items: Sequence[Item], modules: Sequence[Any], x: Any) -> Any:
    """Run layer by layer; torch's exceptions propagate, _TooLarge stops before a layer."""
    for i, (item, module) in enumerate(zip(items, modules, strict=True)):
        _guard(item, tuple(x.shape), f"layer {i + 1}")
        x = module(x)
    return x


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch.no_grad() and no warnings (e.g. 'same' padding with an even kernel)."""
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _torch_raised(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_one_line(exc, 160)}"


def _torch_shape(c: _Claim) -> str:
    import torch

    _plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    with _quiet():
        try:
            modules = [_torch_module(item) for item in c.layers]
            y = _torch_run(c.layers, modules, torch.zeros(c.input_shape))
        except _Failed:
            raise
        except Exception as exc:
            raise _Failed(f"torch raises: {_torch_raised(exc)}") from None
    got = tuple(y.shape)
    if got != c.output_shape:
        raise _Failed(f"torch gives output shape {list(got)}, claimed {list(c.output_shape)}")
    return f"output shape {list(got)}"


def _torch_error(c: _Claim) -> str:
    import torch

    _plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    with _quiet():
        try:
            modules = [_torch_module(item) for item in c.layers]
        except Exception as exc:
            return f"torch raises building the layers: {_torch_raised(exc)}"
        try:
            y = _torch_run(c.layers, modules, torch.zeros(c.input_shape))
        except _Failed:
            raise
        except Exception as exc:
            return f"torch raises: {_torch_raised(exc)}"
    raise _Failed(f"torch runs without error, output shape {list(y.shape)}")


def _torch_windows(c: _Claim) -> str:
    import torch

    layer = c.layer
    assert layer is not None
    _windows_budget(c)
    n = layer.ndim
    shape = c.input_shape
    if len(shape) not in (n + 1, n + 2):
        raise _Failed(f"torch: {layer.type} takes a {n + 1}-D or {n + 2}-D input, got "
                      f"{list(shape)}")
    base = (1,) * (len(shape) - n)
    spatial = shape[-n:]
    kind = layer.kind
    with _quiet():
        try:
            real = _torch_module(layer)
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
                    raise _Failed(f"torch: the window probe gives shape {list(last.shape)}, "
                                  f"the layer {list(out_shape)}")
                axis = len(base) + d
                rows = [t.movedim(axis, -1).reshape(-1, out_shape[axis])
                        for t in (first, last, avg)]
                if not all(torch.isfinite(r).all() and (r == r[0]).all() for r in rows):
                    raise _Failed(f"torch: windows along spatial dim {d} are not a product "
                                  "of intervals")
                lo, hi, mid = (r[0].tolist() for r in rows)
                if any(abs((a + b) / 2 - m) > 1e-9 for a, b, m in zip(lo, hi, mid,
                                                                        strict=True)):
                    raise _Failed(f"torch: cells read along spatial dim {d} are not "
                                  "contiguous")
                got.append([(int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True)])
        except _Failed:
            raise
        except Exception as exc:
            raise _Failed(f"torch raises: {_torch_raised(exc)}") from None
    return _compare_windows("torch", got, c)


def _torch_values(c: _Claim) -> str:
    import torch

    _plan(c.layers, c.input_dims, MAX_VALUE_CELLS, MAX_VALUE_CELLS, MAX_EXACT_WORK)
    with _quiet():
        try:
            modules = [_torch_module(item) for item in c.layers]
            x = torch.tensor(c.input, dtype=torch.float64)
            y = _torch_run(c.layers, modules, x)
        except _Failed:
            raise
        except Exception as exc:
            raise _Failed(f"torch raises: {_torch_raised(exc)}") from None
    return _compare_values("torch", tuple(y.shape), y.reshape(-1).tolist(), c)


def _torch_equivalent(c: _Claim) -> str:
    import torch

    assert c.other is not None
    # The budget and the probe inputs; torch alone judges errors and results.
    _, _, spikes = _equiv_plan(c.layers, c.other, c.input_shape, strict=False)
    with _quiet():
        try:
            ma = [_torch_module(item) for item in c.layers]
            mb = [_torch_module(item) for item in c.other]
            equal, why = True, ""
            for n, x in enumerate(_equivalence_inputs(c.input_shape, spikes)):
                t = torch.from_numpy(x.astype(np.float64))
                ya, yb = _torch_run(c.layers, ma, t), _torch_run(c.other, mb, t)
                if ya.shape != yb.shape:
                    equal, why = False, f"shapes differ: {list(ya.shape)} vs {list(yb.shape)}"
                    break
                if not torch.allclose(ya, yb, rtol=EQUIV_REL, atol=EQUIV_ABS):
                    equal, why = False, f"values differ on probe input {n}"
                    break
            else:
                why = f"same shape {list(ya.shape)} and values on every probe input"
        except _Failed:
            raise
        except Exception as exc:
            raise _Failed(f"torch raises: {_torch_raised(exc)}") from None
    if equal != c.equal:
        raise _Failed(f"torch: equal is {str(equal).lower()} ({why}), claimed "
                      f"{str(c.equal).lower()}")
    return f"equal={str(equal).lower()}: {why}"


_TORCH = {"shape": _torch_shape, "error": _torch_error, "windows": _torch_windows,
          "values": _torch_values, "equivalent": _torch_equivalent}


# ---------------------------------------------------------------------------------------


def check_claim(claim: Any, backend: str) -> ClaimCheck:
    """Re-check one untrusted claim with "torch" or "solver".

    Malformed, unknown, oversized or false claims give ``ok=False`` with the reason in
    ``detail``; only misuse (an unknown backend, torch missing for "torch") raises.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch" and not torch_available():
        raise CardgenError("torch is not installed: use the solver backend")
    try:
        parsed = _parse_claim(claim)
        checker = (_TORCH if backend == "torch" else _SOLVER)[parsed.kind]
        return ClaimCheck(True, checker(parsed))
    except _Failed as exc:
        return ClaimCheck(False, str(exc))
