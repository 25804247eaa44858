"""The exact budget of a claim: the shapes a stack goes through, as the solver sees them,
checked against every limit before any tensor exists."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from math import prod
from typing import Any

from cardgen.claims.limits import (
    MAX_COLUMNS,
    MAX_GEOMETRY,
    MAX_MACS,
    MAX_TOTAL_WEIGHTS,
    MAX_WEIGHTS,
    OUTPUT_COST,
    TooLarge,
    is_int,
    one_line,
)
from cardgen.claims.parse import Item, Refused
from cardgen.layers import LAYER_TYPES, Layer
from cardgen.solver.shapes import step_or_reason


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
            if value is None or (type(value) is int and -MAX_GEOMETRY <= value <= MAX_GEOMETRY):
                continue  # the common cases, as the test below passes them
            values = value if isinstance(value, tuple) else (value,)
            if any(is_int(v) and abs(v) > MAX_GEOMETRY for v in values):
                raise TooLarge(f"too large: {item} has {name} above {MAX_GEOMETRY}")


@lru_cache(maxsize=4096)
def _layer_weights(layer: Layer) -> int:
    """`_check_geometry` and `_weights` of one Layer: once per distinct layer (a build
    checks the same layers for many candidates and claims)."""
    _check_geometry([layer])
    return _weights(layer)


def _item_weights(item: Item) -> int:
    if isinstance(item, Layer):
        return _layer_weights(item)
    _check_geometry([item])
    return _weights(item)


def _check_weights(items: Sequence[Item]) -> None:
    # every item's geometry first, in order, then the weights: the first limit broken is
    # the one reported
    weights = [_layer_weights(item) if type(item) is Layer else _item_weights(item)
               for item in items]
    total = 0
    for item, w in zip(items, weights, strict=True):
        if w > MAX_WEIGHTS:
            raise TooLarge(f"too large: {item} has {w} weights (limit {MAX_WEIGHTS})")
        total += w
    if total > MAX_TOTAL_WEIGHTS:
        raise TooLarge(f"too large: {total} weights in all (limit {MAX_TOTAL_WEIGHTS})")


def _columns(kind: str, cin: int, cout: int, kernel: int, in_spatial: int,
             out_spatial: int) -> int:
    """Size of the unfolded (im2col) buffer a CPU convolution may allocate per sample."""
    if kind == "conv":
        return cin * kernel * out_spatial
    if kind == "conv_transpose":
        return cout * kernel * in_spatial
    return 0


def multiply_adds(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> int:
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


def plan(items: Sequence[Item], shape: tuple[int, ...], input_limit: int,
         tensor_limit: int, work_limit: int | None = None
          ) -> tuple[list[tuple[int, ...]], str | None, int]:
    """(shapes after each layer as the solver sees them, the solver's refusal or None,
    exact-evaluation work). Enforces the limits on every tensor that will exist; stops at
    the first layer the solver refuses. `work_limit` bounds the work of an exact forward
    pass (cells read plus a per-output overhead), for `values` and `equivalent` claims.
    """
    shapes, err, work, _ = plan_macs(items, shape, input_limit, tensor_limit, work_limit)
    return shapes, err, work


def plan_macs(items: Sequence[Item], shape: tuple[int, ...], input_limit: int,
              tensor_limit: int, work_limit: int | None = None
              ) -> tuple[list[tuple[int, ...]], str | None, int, int]:
    """`plan`, and the multiply-adds of the layers it went through (what a shape claim
    costs: `claim_work` reads it here instead of working it out again)."""
    _check_weights(items)
    if prod(shape) > input_limit:
        raise TooLarge(f"too large: input of {prod(shape)} elements (limit {input_limit})")
    shapes = [shape]
    current = tuple(shape)  # the step cache's key, as layer_step makes it
    macs = work = 0
    for i, item in enumerate(items):
        if isinstance(item, Refused):
            return shapes, f"{_where(items, i)}: {item.reason}", work, macs
        # the step cache read directly: a refusal is its reason (layer_step's ShapeError)
        out = step_or_reason(item, current)
        if type(out) is str:
            return shapes, f"{_where(items, i)}: {one_line(out)}", work, macs
        out = out.output_shape
        elements, kind = prod(out), item.kind
        if elements > tensor_limit:
            raise TooLarge(f"too large: {_where(items, i)} gives {elements} elements "
                           f"(limit {tensor_limit})")
        if kind in ("conv", "conv_transpose"):
            n = item.ndim
            cols = _columns(kind, item.get("in_channels"), item.get("out_channels"),
                            prod(item.tup("kernel_size")), prod(current[-n:]),
                            prod(out[-n:]))
            if cols > MAX_COLUMNS:
                raise TooLarge(f"too large: {_where(items, i)} unfolds to {cols} elements "
                               f"(limit {MAX_COLUMNS})")
        layer_macs = multiply_adds(item, current, out)
        macs += layer_macs
        if macs > MAX_MACS:
            raise TooLarge(f"too large: more than {MAX_MACS} multiply-adds")
        work += layer_macs + OUTPUT_COST * elements
        if kind in ("adaptive_avg", "adaptive_max"):
            # an allowance for window bookkeeping; the solver is now O(1) per output, but the
            # bound stays as it was so a deck's verdict does not depend on cardgen's version
            work += sum(o * o for o in out[-item.ndim:])
        if work_limit is not None and work > work_limit:
            raise TooLarge(f"too large: exact evaluation needs more than {work_limit} steps")
        shapes.append(out)
        current = out
    return shapes, None, work, macs
