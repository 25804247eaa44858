"""`unpool`: MaxPool(return_indices=True) feeds its output and indices to a MaxUnpool.

``{"kind": "unpool", "pool": P, "unpool": U, "input_shape": [1, 1, 7],
"output_size": [7] | null, "output_shape": [1, 1, 7] | null}``: on EVERY input of that
shape, ``U(*P(x), output_size=output_size)`` has that output shape; ``"output_shape":
null`` says it raises on every input. ``P`` is a MaxPool (dilation 1) with
``"return_indices": true``; ``U`` a MaxUnpool of the same dims. A plain stack cannot say
this: the unpool needs the pool's indices as well as its output.

Whether an index fits the unpool's output depends on the input, but only through the
largest index the pool returns: a rising input (0, 1, 2, ... in C order) makes every
window pick its last cell, the largest index any input can give; a falling input makes
every window pick its first cell, the smallest largest index. torch runs both: a shape
that both give is the shape on every input; an error both raise is raised on every
input. The solver computes the same from the windows (``solver.pool_options.unpool``).
"""

from __future__ import annotations

import marshal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

from cardgen.claims.check_torch import quiet, torch_raised
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import (
    MAX_GEOMETRY,
    MAX_TENSOR_ELEMENTS,
    MAX_VALUE_CELLS,
    Failed,
    TooLarge,
    is_int,
    one_line,
)
from cardgen.claims.parse import (
    Item,
    Refused,
    parse_input_shape,
    parse_item,
    parse_output_shape,
)
from cardgen.errors import CardgenError
from cardgen.layers import LAYER_TYPES, MAX_INT, Layer, unpool_layer
from cardgen.solver.pool_options import unpool


@dataclass(frozen=True)
class UnpoolClaim:
    pool: Item
    unpool: Layer
    input_shape: tuple[int, ...]
    output_size: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None


def _ints(value: Any, n: int) -> tuple[int, ...]:
    return value if isinstance(value, tuple) else (value,) * n


def _geometry(item: Item, names: Sequence[str]) -> None:
    args = item.kwargs if isinstance(item, Layer) else item.args
    for name in names:
        value = args.get(name)
        for v in value if isinstance(value, tuple) else (value,):
            if is_int(v) and abs(v) > MAX_GEOMETRY:
                raise TooLarge(f"too large: {item.type} {name} above {MAX_GEOMETRY}")


def _parse_pool(data: Any) -> Item:
    if not isinstance(data, Mapping) or set(data) != {"type", "args"} \
            or not isinstance(data["args"], Mapping):
        raise Failed('pool: a layer must be {"type": ..., "args": {...}}')
    args = dict(data["args"])
    if args.pop("return_indices", None) is not True:
        raise Failed("pool: the MaxPool must have return_indices=true (the unpool needs them)")
    item = parse_item({"type": data["type"], "args": args}, "pool", allow_refused=True)
    if item.kind != "maxpool":
        raise Failed(f"pool: an unpool claim takes a MaxPool, not {item.type}")
    args = item.kwargs if isinstance(item, Layer) else item.args
    if any(d != 1 for d in _ints(args.get("dilation", 1), _ndim(item))):
        raise Failed("pool: an unpool claim takes a MaxPool with dilation 1")
    _geometry(item, ("kernel_size", "stride", "padding"))
    return item


def _ndim(item: Item) -> int:
    return LAYER_TYPES[item.type][1]


def _parse_size(data: Any, n: int) -> tuple[int, ...] | None:
    if data is None:
        return None
    if not isinstance(data, list) or len(data) not in (n, n + 2) \
            or not all(is_int(v) and abs(v) <= MAX_INT for v in data):
        raise Failed(f"output_size must be null or a list of {n} or {n + 2} integers")
    return tuple(data)


def _bound(c: UnpoolClaim) -> None:
    """Elements the unpool could allocate, from the arguments alone (not trusting the
    solver's rules): refused above the limit before torch runs."""
    n = c.unpool.ndim
    args = c.pool.kwargs if isinstance(c.pool, Layer) else c.pool.args
    k = [abs(v) for v in _ints(args.get("kernel_size"), n)]
    stride = args.get("stride")
    s = [max(abs(v), 1) for v in (k if stride is None else _ints(stride, n))]
    p = [abs(v) for v in _ints(args.get("padding", 0), n)]
    pooled = [max(size + 2 * pp - kk + ss - 1, 0) // ss + 1
              for size, kk, ss, pp in zip(c.input_shape[2:], k, s, p, strict=True)]
    uk = c.unpool.tup("kernel_size")
    us = uk if c.unpool.get("stride") is None else c.unpool.tup("stride")
    sizes = [(i - 1) * ss + kk + ss for i, kk, ss in zip(pooled, uk, us, strict=True)]
    if c.output_size is not None:
        sizes = [max(a, abs(b)) for a, b in zip(sizes, c.output_size[-n:], strict=True)]
    if prod(c.input_shape[:2]) * prod(sizes) > MAX_TENSOR_ELEMENTS:
        raise TooLarge(f"too large: the unpool could give more than {MAX_TENSOR_ELEMENTS} "
                       "elements")


# A note's unpool claim is parsed when its builder makes it and again when its mistakes
# are worked out. What a parse found of the claim's pool, unpool, input_shape and
# output_size (all of which passed, _bound included) is kept under their marshal form
# (version 2: each value as it is, with its type, so True is not 1; a value marshal
# refuses is parsed each time); output_shape, cheap, is parsed on every call.
_PARSED: dict[bytes, tuple[Item, Layer, tuple[int, ...], tuple[int, ...] | None]] = {}
_PARSED_MAX = 4096


def parse(claim: Mapping[str, Any]) -> UnpoolClaim:
    try:
        key = marshal.dumps((claim["pool"], claim["unpool"], claim["input_shape"],
                             claim["output_size"]), 2)
    except (KeyError, TypeError, ValueError):  # the full parse says what is wrong
        return _parse(claim)
    kept = _PARSED.get(key)
    if kept is None:
        c = _parse(claim)
        if len(_PARSED) >= _PARSED_MAX:  # bounded: a new round after so many
            _PARSED.clear()
        _PARSED[key] = (c.pool, c.unpool, c.input_shape, c.output_size)
        return c
    # (the parse would raise nothing before output_shape's checks, nor after them)
    out = claim["output_shape"]
    return UnpoolClaim(*kept, None if out is None else parse_output_shape(out, "output_shape"))


def _parse(claim: Mapping[str, Any]) -> UnpoolClaim:
    pool = _parse_pool(claim["pool"])
    try:
        unp = unpool_layer(claim["unpool"])
    except CardgenError as exc:
        raise Failed(f"unpool: {one_line(exc)}") from None
    _geometry(unp, ("kernel_size", "stride", "padding"))
    n = unp.ndim
    if _ndim(pool) != n:
        raise Failed(f"unpool: {unp.type} does not match {pool.type}")
    shape = parse_input_shape(claim["input_shape"], "input_shape")
    if len(shape) != n + 2:
        raise Failed(f"input_shape must be batched: {n + 2} dims for {pool.type}")
    if prod(shape) > MAX_VALUE_CELLS:
        raise TooLarge(f"too large: input_shape has more than {MAX_VALUE_CELLS} cells")
    out = claim["output_shape"]
    c = UnpoolClaim(pool, unp, shape, _parse_size(claim["output_size"], n),
                    None if out is None else parse_output_shape(out, "output_shape"))
    _bound(c)
    return c


def _said(shape: tuple[int, ...] | None) -> str:
    return "raises" if shape is None else f"gives shape {list(shape)}"


def solver_shape(c: UnpoolClaim) -> tuple[int, ...] | None:
    if isinstance(c.pool, Refused):
        return None
    try:
        result = unpool(c.pool, c.unpool, c.input_shape, c.output_size)
    except CardgenError:
        return None
    if result.depends:
        raise Failed(f"solver: on input of shape {list(c.input_shape)} an index can pass "
                     f"the output plane of {result.out_plane} cells ({result.index_max} on "
                     "a rising input) but need not: it raises on some inputs only")
    return result.output_shape


def check_solver(c: UnpoolClaim) -> str:
    got = solver_shape(c)
    if got != c.output_shape:
        raise Failed(f"solver: the unpool {_said(got)}, claimed {_said(c.output_shape)}")
    return f"solver: the unpool {_said(got)} on every input"


def _torch_once(c: UnpoolClaim, sign: int) -> tuple[int, ...] | str:
    import torch

    args = dict(c.pool.kwargs if isinstance(c.pool, Layer) else c.pool.args)
    x = sign * torch.arange(prod(c.input_shape), dtype=torch.float64).reshape(c.input_shape)
    try:
        pool = getattr(torch.nn, c.pool.type)(**args, return_indices=True)
        unp = getattr(torch.nn, c.unpool.type)(**c.unpool.kwargs)
        y, indices = pool(x)
        size = None if c.output_size is None else list(c.output_size)
        return tuple(unp(y, indices, output_size=size).shape)
    except Exception as exc:
        return torch_raised(exc)


def check_torch(c: UnpoolClaim) -> str:
    with quiet():
        rising, falling = _torch_once(c, 1), _torch_once(c, -1)
    for name, got in (("rising", rising), ("falling", falling)):
        if c.output_shape is None and not isinstance(got, str):
            raise Failed(f"torch: on a {name} input the unpool gives shape {list(got)}, "
                         "claimed it raises")
        if c.output_shape is not None and got != c.output_shape:
            said = f"raises {got}" if isinstance(got, str) else f"gives shape {list(got)}"
            raise Failed(f"torch: on a {name} input the unpool {said}, claimed shape "
                         f"{list(c.output_shape)}")
    if c.output_shape is None:
        return f"torch: rising and falling inputs both raise ({one_line(rising, 120)})"
    return f"torch: rising and falling inputs both give shape {list(c.output_shape)}"


KIND = ClaimKind("unpool", frozenset({"kind", "pool", "unpool", "input_shape", "output_size",
                                      "output_shape"}), parse, check_solver, check_torch)


def pool_json(pool: Layer) -> dict[str, Any]:
    """The MaxPool as the claim (and the question) writes it: return_indices=True."""
    data = pool.to_json()
    return {"type": data["type"], "args": {**data["args"], "return_indices": True}}


def unpool_claim(pool: Layer, unpool_layer_: Layer, input_shape: Sequence[int],
                 output_size: Sequence[int] | None = None) -> dict[str, Any]:
    """The unpool's output shape on every input of ``input_shape`` (None: it raises on
    every input). ValueError when it raises on some inputs only, or is past the limits."""
    claim = {"kind": "unpool", "pool": pool_json(pool), "unpool": unpool_layer_.to_json(),
             "input_shape": list(input_shape),
             "output_size": None if output_size is None else list(output_size),
             "output_shape": None}
    try:
        parsed = parse(claim)
        shape = solver_shape(parsed)
    except Failed as exc:
        raise ValueError(f"cannot build this unpool claim: {exc}") from None
    claim["output_shape"] = None if shape is None else list(shape)
    return claim
