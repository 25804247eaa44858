"""What the trusted builders share: the families build claims from validated Layers, and
every claim they build must pass the limits ``check_claim`` applies to an untrusted one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from cardgen.claims.budget import multiply_adds, plan
from cardgen.claims.limits import MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS, Failed
from cardgen.claims.parse import check_stack_size, parse_input_shape
from cardgen.layers import Layer

T = TypeVar("T")


def shape_list(shape: Sequence[int]) -> list[int]:
    return [int(s) for s in shape]


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


# Generators test a config (families.base.fits_claim) and then solve it: plan once.
@lru_cache(maxsize=1024)
def trusted_plan(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> tuple[
        tuple[tuple[int, ...], ...], str | None]:
    """`plan` for a stack the families built from validated Layers: the same limits that
    `check_claim` applies, without re-parsing the stack from JSON (hot in large builds)."""
    try:
        check_stack_size(layers)
        parse_input_shape(list(shape), "input_shape")
        shapes, err, _ = plan(layers, shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    except Failed as exc:
        raise ValueError(f"cannot build a claim on this stack: {exc}") from None
    return tuple(shapes), err  # cached: immutable


def claim_work(layers: Sequence[Layer], input_shape: Sequence[int]) -> int:
    """Multiply-adds of a shape claim on this stack (0 when the solver says it raises,
    which makes an error claim); ValueError when verify would refuse the claim as too large."""
    layers, shape = tuple(layers), tuple(input_shape)
    shapes, err = trusted_plan(layers, shape)
    if err is not None:
        return 0
    return sum(multiply_adds(layer, a, b)
               for layer, a, b in zip(layers, shapes, shapes[1:], strict=False))
