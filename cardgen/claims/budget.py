"""The exact budget of a claim: the shapes a stack goes through, as the solver sees them,
checked against every limit before any tensor exists."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


def _check_geometry(item: Item, args: Mapping[str, Any]) -> None:
    """Kernel/stride/padding/dilation beyond MAX_GEOMETRY: no card needs them, and
    torch 2.13's oneDNN ConvTranspose crashes (SIGSEGV) on some large strides. `args`:
    the item's given arguments (`_args`)."""
    for name in _GEOMETRY:
        value = args.get(name)
        if value is None or (type(value) is int and -MAX_GEOMETRY <= value <= MAX_GEOMETRY):
            continue  # the common cases, as the test below passes them
        # (a loop, not any() of a generator: a 2-D or 3-D layer's tuples come here)
        for v in value if isinstance(value, tuple) else (value,):
            if (type(v) is int or is_int(v)) and not -MAX_GEOMETRY <= v <= MAX_GEOMETRY:
                raise TooLarge(f"too large: {item} has {name} above {MAX_GEOMETRY}")


def _facts(layer: Layer) -> tuple[int, int, int, int]:
    """(weights, kernel cells, channels one output reads, channels the unfolded buffer
    spans) of one Layer, after `_check_geometry`: worked out once per Layer object and kept
    on it like its text (every plan of every claim asks again). Each output of a Conv reads
    in_channels/groups channels over its kernel, of a ConvTranspose out_channels/groups, of
    a Linear in_features cells, of a pool its kernel; the other kinds multiply nothing."""
    state = layer.__dict__
    facts = state.get("_budget")
    if facts is None:
        given = state["_given"]
        _check_geometry(layer, given)  # TooLarge: never kept, so raised again on every ask
        kind, params = layer.kind, state["_params"]
        kernel = prod(layer.tup("kernel_size")) if kind in _KERNELED else 1
        weights = 0  # (what _weights gives the kinds without weights)
        if kind == "conv" or kind == "conv_transpose":
            ins, outs = params["in_channels"], params["out_channels"]
            both = ins if kind == "conv" else outs
            reads, unfolded = both // params["groups"], both
            # sizes as validation leaves them (ints, not bools, >= 0, given): _weights'
            # magnitudes are the sizes themselves (a product's abs is its factors' abs')
            if type(ins) is int and type(outs) is int and type(kernel) is int \
                    and ins >= 0 and outs >= 0 and kernel >= 0:
                weights = ins * outs * kernel
            else:
                weights = _weights(layer)
        elif kind == "linear":
            reads, unfolded = params["in_features"], 0
            outs = params["out_features"]
            weights = reads * outs if type(reads) is int and type(outs) is int \
                and reads >= 0 and outs >= 0 else _weights(layer)
        else:
            reads = 1 if kind in ("maxpool", "avgpool") else 0
            unfolded = 0
        facts = state["_budget"] = (weights, kernel, reads, unfolded)
    return facts  # type: ignore[no-any-return]


_KERNELED = ("conv", "conv_transpose", "maxpool", "avgpool")


def _item_weights(item: Item) -> int:
    if isinstance(item, Layer):
        return _facts(item)[0]
    _check_geometry(item, _args(item))
    return _weights(item)


assert MAX_TOTAL_WEIGHTS >= MAX_WEIGHTS  # _check_weights' shortcut reads it so


def _check_weights(items: Sequence[Item]) -> None:
    # every item's geometry first, in order, then the weights: the first limit broken is
    # the one reported
    total = 0
    for item in items:
        total += _facts(item)[0] if type(item) is Layer else _item_weights(item)
    if total <= MAX_WEIGHTS:  # (weights are >= 0: none is above it, nor the total above
        return                # MAX_TOTAL_WEIGHTS, which is larger)
    for item in items:  # (each weight again, only here: kept on a Layer, or cheap)
        w = _item_weights(item)
        if w > MAX_WEIGHTS:
            raise TooLarge(f"too large: {item} has {w} weights (limit {MAX_WEIGHTS})")
    if total > MAX_TOTAL_WEIGHTS:
        raise TooLarge(f"too large: {total} weights in all (limit {MAX_TOTAL_WEIGHTS})")


def multiply_adds(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...],
                  facts: tuple[int, int, int, int] | None = None) -> int:
    """A layer's multiply-adds from `shape` to `out`: each output cell reads its window's
    cells (a ConvTranspose: each input cell writes its kernel's). `facts`: the layer's
    `_facts`, when the caller has just read them (a plan does)."""
    if facts is None:
        facts = _facts(layer)
    _, kernel, reads, _ = facts
    kind = layer.kind
    if kind in ("adaptive_avg", "adaptive_max"):
        n = layer.ndim
        per = prod(-(-i // max(o, 1)) + 1 for i, o in zip(shape[-n:], out[-n:], strict=True))
        return prod(out) * per
    return prod(shape if kind == "conv_transpose" else out) * reads * kernel


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
        facts = _facts(item)
        _, kernel, _, unfolded = facts
        if unfolded:  # the im2col buffer a CPU (transposed) convolution may allocate per sample
            n = item.ndim
            cols = unfolded * kernel * prod((out if kind == "conv" else current)[-n:])
            if cols > MAX_COLUMNS:
                raise TooLarge(f"too large: {_where(items, i)} unfolds to {cols} elements "
                               f"(limit {MAX_COLUMNS})")
        layer_macs = multiply_adds(item, current, out, facts)
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
