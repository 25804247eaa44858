"""What the trusted builders share: the families build claims from validated Layers, and
every claim they build must pass the limits ``check_claim`` applies to an untrusted one."""

from __future__ import annotations

import marshal
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache, wraps
from typing import Any, TypeVar

from cardgen.claims.budget import plan_macs
from cardgen.claims.limits import MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS, Failed
from cardgen.claims.parse import Item, check_stack_size, parse_input_shape, parse_item
from cardgen.layers import Layer

T = TypeVar("T")


def shape_list(shape: Sequence[int]) -> list[int]:
    return list(map(int, shape))  # (int of each, without a comprehension's frame)


def parsed_or_refused(claim: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], T],
                      budget: Callable[[T], object] | None = None) -> T:
    """Parse a claim we are building (and check its budget): ValueError where
    `check_claim` would reject it as malformed or too large."""
    try:
        parsed = parse(claim)
        if budget is not None:
            budget(parsed)
    except Failed as exc:
        raise ValueError(f"cannot build this {claim['kind']} claim: {exc}") from None
    return parsed


def trusted_layer(layer: Layer, where: str) -> Layer:
    """`parse_item` of the layer's JSON, as `check_claim` parses it (its limits on every
    value), once per Layer object: a builder then uses the Layer it has instead of parsing
    the same JSON again. ValueError where the parser would refuse it. A Layer that parsed
    back to itself is marked so, as `trusted_items` marks it, and not parsed again under
    any name (`where` only names it in a refusal)."""
    if layer.__dict__.get("_parses_back"):
        return layer
    try:
        parsed = parse_item(layer.to_json(), where, allow_refused=False)
    except Failed as exc:
        raise ValueError(f"cannot build a claim on {layer}: {exc}") from None
    if parsed != layer:  # the JSON round trip is exact (tests/test_layers.py)
        raise ValueError(f"{layer} does not survive its JSON: {parsed}")
    object.__setattr__(layer, "_parses_back", True)
    return layer


def trusted_items(layers: Sequence[Layer], where: str, allow_refused: bool = False
                  ) -> list[Item]:
    """`parse_items` of these Layers' JSON, as `check_claim` parses a claim's stack (Failed
    where it would refuse it). A Layer whose JSON parses back to an equal Layer is marked
    so, on the object (immutable, so its JSON and that verdict never change), and is not
    parsed again: it stands for its own parse."""
    check_stack_size(layers, where)
    items: list[Item] = []
    for i, layer in enumerate(layers):
        if layer.__dict__.get("_parses_back"):
            items.append(layer)
            continue
        item = parse_item(layer.to_json(), f"{where}[{i}]", allow_refused)
        if type(item) is Layer and item == layer:
            object.__setattr__(layer, "_parses_back", True)
        items.append(item)
    return items


def once_per_configuration(builder: Callable[..., dict[str, Any]]
                           ) -> Callable[..., dict[str, Any]]:
    """A trusted builder whose claim is a pure function of its arguments (Layers, shapes,
    lists of them): built, and checked against verify's limits, once per configuration in
    a process; each call gets its own copy (a caller may change its claims). Equal Layers
    have equal JSON (flags are bools, sizes ints that are not bools), so the copy is the
    claim the builder would have built.

    Only the claim's serialised form is kept: a miss (most calls in a deck, whose
    configurations differ) hands out the builder's own dict, which nothing else holds (the
    builders make their claims of fresh JSON values: lists, dicts, ints, floats, bools,
    strings, None), and a hit a copy read from that form. The form is marshal's version 2,
    which writes each of those values as it is and shares no object between two places
    (version 3 would), so a copy is what json would read back, made several times
    faster."""
    built: dict[tuple[Any, ...], bytes] = {}

    @wraps(builder)
    def fresh(*args: Any) -> dict[str, Any]:
        key = args  # lists (unhashable) as tuples; most calls pass none, and copy nothing
        for a in args:
            if isinstance(a, list):
                key = tuple([tuple(a) if isinstance(a, list) else a for a in args])
                break
        data = built.get(key)
        if data is not None:
            return marshal.loads(data)  # type: ignore[no-any-return]
        claim = builder(*key)
        if len(built) >= _CONFIGURATIONS:  # bounded: a new round after so many
            built.clear()
        built[key] = marshal.dumps(claim, _UNSHARED)
        return claim

    return fresh


_CONFIGURATIONS = 4096
_UNSHARED = 2  # marshal's last version without references between objects


# Generators test a config (families.base.fits_claim) and then solve it: plan once. A
# build generates every family before it solves any, so the cache holds a large deck's
# candidates (10,000 notes over every family test about 6,000; 1,024 kept none to solve).
@lru_cache(maxsize=16384)
def _trusted(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> tuple[
        tuple[tuple[int, ...], ...], str | None, int]:
    try:
        check_stack_size(layers)
        parse_input_shape(list(shape), "input_shape")
        shapes, err, _, macs = plan_macs(layers, shape, MAX_INPUT_ELEMENTS,
                                         MAX_TENSOR_ELEMENTS)
    except Failed as exc:
        raise ValueError(f"cannot build a claim on this stack: {exc}") from None
    return tuple(shapes), err, macs  # cached: immutable


def trusted_plan(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> tuple[
        tuple[tuple[int, ...], ...], str | None]:
    """`plan` for a stack the families built from validated Layers: the same limits that
    `check_claim` applies, without re-parsing the stack from JSON (hot in large builds)."""
    shapes, err, _ = _trusted(layers, shape)
    return shapes, err


def claim_work(layers: Sequence[Layer], input_shape: Sequence[int]) -> int:
    """Multiply-adds of a shape claim on this stack (0 when the solver says it raises,
    which makes an error claim); ValueError when verify would refuse the claim as too large."""
    _, err, macs = _trusted(tuple(layers), tuple(input_shape))
    return 0 if err is not None else macs
