"""The SAME-dialect writers: each works its fact again and refuses facts that disagree
with the solver's."""

from __future__ import annotations

import pytest

from cardgen.explain.dialect import (
    same_size_text,
    same_split_text,
    same_total_text,
    symmetric_outcome_text,
)
from cardgen.solver.arith import conv_out
from cardgen.solver.dialect import (
    SAME_LOWER,
    SAME_UPPER,
    same_out,
    same_pads,
    same_total,
    symmetric_padding,
)


def test_size_and_total_refuse_wrong_numbers() -> None:
    out, total = same_out(45, 2), same_total(45, 3, 2)
    assert f"= {out}" in same_size_text(["H"], 45, 2, out)
    with pytest.raises(ValueError):
        same_size_text(["H"], 45, 2, out - 1)
    assert str(total) in same_total_text(45, 3, 2, out, total)
    with pytest.raises(ValueError):
        same_total_text(45, 3, 2, out, total + 1)


@pytest.mark.parametrize("dialect", [SAME_UPPER, SAME_LOWER])
def test_split_names_the_side_of_the_odd_zero(dialect: str) -> None:
    before, after = same_pads(15, 4, 2, dialect)  # total 3
    text = same_split_text(dialect, 3, before, after)
    assert ("extra zero after" in text) == (dialect == SAME_UPPER)
    assert ("extra zero before" in text) == (dialect == SAME_LOWER)
    with pytest.raises(ValueError):
        same_split_text(dialect, 3, after, before)


@pytest.mark.parametrize(("n", "k", "s", "dialect"), [
    (8, 3, 2, SAME_UPPER), (9, 3, 2, SAME_UPPER), (15, 4, 2, SAME_LOWER), (7, 2, 1, SAME_LOWER),
])
def test_symmetric_outcome_follows_the_solver(n: int, k: int, s: int, dialect: str) -> None:
    answer = symmetric_padding(n, k, s, dialect)
    before = same_pads(n, k, s, dialect)[0]
    torch_out = conv_out(n, k, s, before)
    text = symmetric_outcome_text(n, k, s, dialect, same_out(n, s), torch_out, answer)
    assert ("No padding p" in text) == (answer is None)
    with pytest.raises(ValueError):
        symmetric_outcome_text(n, k, s, dialect, same_out(n, s), torch_out,
                               None if answer is not None else before)
    with pytest.raises(ValueError):
        symmetric_outcome_text(n, k, s, dialect, same_out(n, s), torch_out + 1, answer)
