"""Untrusted JSON to checked values: the pieces every claim kind's parser is made of.

Everything here is strict and bounded: layer types go through the allow-list of
``Layer.from_json``, nothing is evaluated, and sizes are refused before anything is
materialised (:mod:`cardgen.claims.limits`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.claims.limits import (
    MAX_LAYERS,
    MAX_RANK,
    MAX_TENSOR_ELEMENTS,
    MAX_VALUE_DEPTH,
    Failed,
    TooLarge,
    is_int,
    one_line,
)
from cardgen.errors import LayerSyntaxError, ShapeError
from cardgen.layers import LAYER_TYPES, MAX_INT, POOL_KINDS, Layer

_MAX_ARGS = 12
_MAX_STR = 16


@dataclass(frozen=True)
class Refused:
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


Item = Layer | Refused


def check_keys(claim: Mapping[str, Any], kind: str, expected: frozenset[str]) -> None:
    keys = set(claim)
    if keys != expected:
        extra, missing = sorted(map(str, keys - expected)), sorted(expected - keys)
        parts = ([f"unknown keys {', '.join(extra)}"] if extra else []) + \
                ([f"missing keys {', '.join(missing)}"] if missing else [])
        raise Failed(f"{kind} claim: {'; '.join(parts)}")

def _check_scalar(v: Any, where: str) -> None:
    if type(v) is int:  # the common case, as is_int's branch below takes it
        if abs(v) > MAX_INT:
            raise Failed(f"{where}: integer {v} out of range")
        return
    if v is None or isinstance(v, bool):
        return
    if is_int(v):
        if abs(v) > MAX_INT:
            raise Failed(f"{where}: integer {v} out of range")
        return
    if isinstance(v, float):
        if not math.isfinite(v):
            raise Failed(f"{where}: {v!r} is not a finite number")
        return
    if isinstance(v, str):
        if len(v) > _MAX_STR:
            raise Failed(f"{where}: string too long")
        return
    raise Failed(f"{where}: {type(v).__name__} is not an allowed value")


def _mapping(value: Any) -> bool:
    """isinstance(value, Mapping), a dict (JSON's objects) told on its type first: an ABC's
    check costs more, and parsing runs on every layer of every claim."""
    return type(value) is dict or isinstance(value, Mapping)


def parse_item(data: Any, where: str, allow_refused: bool) -> Item:
    # (a dict's two keys told without making sets: what the test after `or` says of it)
    if not (type(data) is dict and len(data) == 2 and "type" in data and "args" in data) \
            and (not _mapping(data) or set(data) != {"type", "args"}):
        raise Failed(f'{where}: a layer must be {{"type": ..., "args": {{...}}}}')
    type_, args = data["type"], data["args"]
    if not isinstance(type_, str) or type_ not in LAYER_TYPES:
        shown = one_line(repr(type_), 60)
        raise Failed(f"{where}: unknown layer type {shown} (not in the allow-list)")
    if not _mapping(args) or len(args) > _MAX_ARGS:
        raise Failed(f"{where}: {type_} args must be an object of at most {_MAX_ARGS} keys")
    for key, value in args.items():
        if not isinstance(key, str) or len(key) > 40:
            raise Failed(f"{where}: {type_} has a bad argument name")
        # plain ints in range (most values) pass _check_scalar: told before its message,
        # formatted only for a value that needs the call
        if type(value) is int and -MAX_INT <= value <= MAX_INT:
            continue
        if isinstance(value, (list, tuple)):
            # a padding module's tuple has two entries per padded dim (up to 6)
            most = 6 if key == "padding" and type_.endswith("Pad3d") else \
                4 if key == "padding" and type_.endswith("Pad2d") else 3
            if not 1 <= len(value) <= most:
                raise Failed(f"{where}: {type_} {key} must have 1 to {most} entries")
            for v in value:
                if type(v) is int and -MAX_INT <= v <= MAX_INT:
                    continue
                if isinstance(v, (list, tuple, str)):
                    raise Failed(f"{where}: {type_} {key} must be a flat list of numbers")
                _check_scalar(v, f"{where}: {type_} {key}")
        else:
            _check_scalar(value, f"{where}: {type_} {key}")
    try:
        # (a dict is read, never kept, by from_json: no copy of it needed)
        return Layer.from_json({"type": type_, "args": args if type(args) is dict
                                else dict(args)})
    except LayerSyntaxError as exc:
        raise Failed(f"{where}: {one_line(exc)}") from None
    except ShapeError as exc:
        if not allow_refused:
            raise Failed(f"{where}: {one_line(exc)}") from None
        raw = {k: tuple(v) if isinstance(v, list | tuple) else v for k, v in args.items()}
        return Refused(type_, raw, one_line(exc))


def check_stack_size(data: Sequence[Any], where: str = "layers") -> None:
    if not data:
        raise Failed(f"{where} must be a non-empty list of layers")
    if len(data) > MAX_LAYERS:
        raise TooLarge(f"too large: {len(data)} layers (limit {MAX_LAYERS})")


def parse_items(data: Any, where: str, allow_refused: bool = False) -> list[Item]:
    if not isinstance(data, list):
        raise Failed(f"{where} must be a non-empty list of layers")
    check_stack_size(data, where)
    return [parse_item(d, f"{where}[{i}]", allow_refused) for i, d in enumerate(data)]


def parse_input_shape(data: Any, where: str) -> tuple[int, ...]:
    if not isinstance(data, list) or not data:
        raise Failed(f"{where} must be a non-empty list of sizes")
    if len(data) > MAX_RANK:
        raise TooLarge(f"too large: {where} has {len(data)} dims (limit {MAX_RANK})")
    for v in data:
        if type(v) is int and 1 <= v <= MAX_INT:  # the common case, as the test below
            continue
        if not is_int(v) or not 1 <= v <= MAX_INT:
            raise Failed(f"{where} must hold integers between 1 and {MAX_INT}, got "
                         f"{one_line(repr(v), 40)}")
    return tuple(data)


def parse_output_shape(data: Any, where: str) -> tuple[int, ...]:
    if not isinstance(data, list) or len(data) > MAX_RANK + 1:
        raise Failed(f"{where} must be a list of at most {MAX_RANK + 1} sizes")
    if any(not is_int(v) or v < 0 for v in data):
        raise Failed(f"{where} must hold non-negative integers")
    return tuple(data)


_NUMBER = (int, float)


def parse_nested(data: Any, where: str, limit: int,
                 max_abs: float | None) -> tuple[tuple[int, ...], list[Any]]:
    """(dims, flat cells) of a rectangular nested list of finite numbers; iterative."""
    dims: list[int] = []
    level = [data]
    while True:
        lists = sum([isinstance(x, list) for x in level])
        if lists == 0:
            break
        if lists != len(level):
            raise Failed(f"{where} is not a rectangular nested list")
        if len(dims) == MAX_VALUE_DEPTH:
            raise TooLarge(f"too large: {where} is nested deeper than {MAX_VALUE_DEPTH}")
        sizes = {len(x) for x in level}
        if len(sizes) != 1:
            raise Failed(f"{where} is not a rectangular nested list")
        size = sizes.pop()
        if size == 0:
            raise Failed(f"{where} has an empty dimension")
        if len(level) * size > limit:
            raise TooLarge(f"too large: {where} has more than {limit} cells")
        dims.append(size)
        level = [y for x in level for y in x]
    if not dims:
        raise Failed(f"{where} must be a nested list (a tensor), not a scalar")
    bound = MAX_INT + 1 if max_abs is None else max_abs  # (any int passes `None`)
    for v in level:
        if type(v) is int and -bound <= v <= bound:
            continue  # the common case (no bool), as the checks below pass it
        if isinstance(v, bool) or not isinstance(v, _NUMBER):
            raise Failed(f"{where} must hold numbers, got {one_line(repr(v), 40)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise Failed(f"{where} must hold finite numbers")
        if max_abs is not None and abs(v) > max_abs:
            raise Failed(f"{where}: |{v}| is larger than {max_abs}")
    return tuple(dims), level


def parse_windows(data: Any, ndim: int) -> list[list[tuple[int, int]]]:
    if not isinstance(data, list) or len(data) != ndim:
        raise Failed(f"windows must be a list of {ndim} lists (one per spatial dim)")
    result = []
    for dim in data:
        if not isinstance(dim, list) or len(dim) > MAX_TENSOR_ELEMENTS:
            raise Failed("windows: each spatial dim must be a list of [start, stop]")
        pairs = []
        for w in dim:
            if (not isinstance(w, list) or len(w) != 2
                    or not (is_int(w[0]) and is_int(w[1]))):
                raise Failed("windows: each window must be [start, stop] (integers)")
            pairs.append((w[0], w[1]))
        result.append(pairs)
    return result



def exact_layers(layers: list[Item], where: str) -> list[Item]:
    for i, layer in enumerate(layers):
        if layer.kind not in POOL_KINDS + ("flatten",):
            raise Failed(f"{where}[{i}]: {layer.type} has random weights; values and "
                         "equivalence claims take pooling and Flatten layers only")
    return layers

