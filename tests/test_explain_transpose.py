"""The output_padding writers word the solver's facts and refuse facts that disagree."""

from __future__ import annotations

import pytest

from cardgen.explain.transpose import (
    dilation_cap_text,
    explicit_rule_text,
    lowest_size_text,
    picked_text,
    range_text,
)
from cardgen.solver.transpose import explicit_allowed, size_range


@pytest.mark.parametrize(("op", "s", "d"), [(1, 2, 1), (2, 1, 3), (2, 2, 1), (3, 2, 3)])
def test_the_explicit_rule_follows_the_solver(op: int, s: int, d: int) -> None:
    runs = explicit_allowed(op, s, d)
    text = explicit_rule_text(op, s, d, runs)
    assert ("refuses" in text) != runs
    with pytest.raises(ValueError):
        explicit_rule_text(op, s, d, not runs)


def test_range_writers_refuse_another_range() -> None:
    lo, hi = size_range(7, 3, 2, 1, 1)
    assert f"from {lo} to" in range_text(7, 3, 2, 1, 1, lo, hi)
    assert f"= {lo}" in lowest_size_text(7, 3, 2, 1, 1, lo)
    with pytest.raises(ValueError):
        range_text(7, 3, 2, 1, 1, lo, hi + 1)
    with pytest.raises(ValueError):
        lowest_size_text(7, 3, 2, 1, 1, lo + 1)


def test_picked_and_dilation_writers_refuse_what_is_not_so() -> None:
    lo, hi = size_range(5, 3, 2, 0, 3)
    assert f"{hi + 1} - {lo}" not in picked_text("L", hi, lo, hi, hi - lo)
    assert "raises" in picked_text("L", hi + 1, lo, hi, None)
    with pytest.raises(ValueError):  # inside the range, yet no output_padding
        picked_text("L", lo, lo, hi, None)
    with pytest.raises(ValueError):  # the wrong output_padding
        picked_text("L", hi, lo, hi, 0)
    assert "stride alone" in dilation_cap_text(2, 3, hi, 2)
    with pytest.raises(ValueError):  # 1 is below the stride: output_size= reaches it
        dilation_cap_text(2, 3, hi, 1)
    with pytest.raises(ValueError):  # no trap when the dilation is not above the stride
        dilation_cap_text(2, 2, hi)
