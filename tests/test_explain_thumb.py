"""The rules-of-thumb writers word the solver's facts and refuse facts that disagree."""

from __future__ import annotations

import pytest

from cardgen.explain import thumb
from cardgen.solver import recipe_guess
from cardgen.solver.arith import pool_out
from cardgen.solver.thumb import (
    ceil_docs_out,
    groups_build,
    keeps_size_padding,
    multiple_rule_builds,
    same_pad_rule,
)


def test_writers_refuse_facts_that_disagree() -> None:
    with pytest.raises(ValueError):
        thumb.same_pad_rule_text(4, same_pad_rule(4) + 1)
    with pytest.raises(ValueError):
        thumb.keeps_size_text(4, 1, 2)  # 2p = 3 has no whole p
    with pytest.raises(ValueError):
        thumb.rule_size_text("L", 16, 4, 1, 1, 16)
    with pytest.raises(ValueError):
        thumb.ceil_docs_rule_text("L", 10, 1, 2, 0, 1, ceil_docs_out(10, 1, 2) - 1)
    k, s = recipe_guess(10, 4)
    with pytest.raises(ValueError):
        thumb.recipe_text(10, 4, k + 1, s)
    with pytest.raises(ValueError):
        thumb.recipe_match_text(10, 4, k, s + 1)


def test_writers_word_the_solver_facts() -> None:
    assert "none" in thumb.keeps_size_text(4, 1, keeps_size_padding(4, 1))
    assert f"= {keeps_size_padding(3, 2)}" in thumb.keeps_size_text(3, 2, 2)
    # the docs' ceil formula and PyTorch's size differ on pytorch issue #148123's case
    docs, torch_size = ceil_docs_out(10, 1, 2), pool_out(10, 1, 2, ceil_mode=True)
    assert "false" in thumb.verdict_text(docs, torch_size, str(docs), f"gives {torch_size}")
    assert "true" in thumb.verdict_text(3, 3, "3", "gives 3")
    k, s = recipe_guess(7, 3)
    assert thumb.recipe_match_text(7, 3, k, s).endswith("its pool matches.")
    k, s = recipe_guess(10, 4)
    assert "cannot either" in thumb.recipe_match_text(10, 4, k, s)
    assert "builds" in thumb.multiple_rule_text(8, 4)
    assert "refuses" in thumb.groups_check_text(6, 4, 4)
    assert thumb.recipe_match_text(7, 3, *recipe_guess(7, 3))[0].isupper()
    assert thumb.recipe_match_text(10, 4, *recipe_guess(10, 4))[0].isupper()
    assert thumb.recipe_match_text(10, 4, *recipe_guess(10, 4), "W").startswith("W: No ")


@pytest.mark.parametrize(("cin", "cout", "groups"), [(4, 3, 4), (12, 4, 2), (6, 4, 4),
                                                     (4, 8, 4), (8, 4, 3)])
def test_multiple_verdict_says_when_agreement_is_coincidence(cin: int, cout: int,
                                                             groups: int) -> None:
    text = thumb.multiple_verdict_text(cin, cout, groups)
    agree = multiple_rule_builds(cin, cout) == groups_build(cin, cout, groups)
    assert (f"the rule is {'true' if agree else 'false'} here") in text
    # the two conditions are one only when groups = C_out; else agreement is chance
    assert ("only by coincidence" in text) == (agree and groups != cout)
    if agree:
        assert "groups divides both in_channels and out_channels" in text
