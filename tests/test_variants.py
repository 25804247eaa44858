"""How variants are drawn (cardgen.variants, issue 12): one form per note, new numbers,
mixed answers, no problem twice in a deck, and variant 0 untouched."""

from __future__ import annotations

from collections import Counter

import pytest

from cardgen.build import recipe_problems
from cardgen.families import FAMILIES, get_family
from cardgen.generate import canonical_params
from cardgen.recipes import parse_recipe
from cardgen.variants import _CHANNELS_WORK, MAX_SAME_ANSWER, _numbers, form_of


def _recipe(seed: int, variants: int = 8, count: int = 6):
    tables = "".join(f'[families."{name}"]\ncount = {count}\n' for name in FAMILIES)
    return parse_recipe(f'[deck]\nname = "V"\nseed = {seed}\nvariants = {variants}\n{tables}',
                        "v.toml")


@pytest.fixture(scope="module", params=[3, 11])
def problems(request):
    return recipe_problems(_recipe(request.param))


def _identity(family: str, params: dict) -> str:
    same = getattr(get_family(family), "identity", None)
    return canonical_params(same(params) if same else params)


def test_every_variant_has_its_notes_form_and_new_numbers(problems) -> None:
    held = 0
    for p in problems:
        assert len(p.variants) <= 7
        forms = {form_of(v, p.family) for v in (p.params, *p.variants)}
        assert forms == {form_of(p.params, p.family)}, p.family
        copied = p.family not in _CHANNELS_WORK
        numbers = [tuple(_numbers(v, copied)) for v in (p.params, *p.variants)]
        assert len(set(numbers)) == len(numbers), p.family
        held += len(p.variants)
    assert held > 4 * len(problems)


def test_no_answer_on_more_than_half_a_notes_problems(problems) -> None:
    for p in problems:
        if not p.variants:
            continue
        module = get_family(p.family)
        answers = Counter(module.solve(v).answer for v in (p.params, *p.variants))
        assert len(answers) > 1, (p.family, answers)
        assert max(answers.values()) <= max(1, int(8 * MAX_SAME_ANSWER)), (p.family, answers)


def test_the_solutions_carried_are_the_solvers(problems) -> None:
    for p in problems[::7]:
        module = get_family(p.family)
        assert [s.answer for s in p.solutions] == \
            [module.solve(v).answer for v in (p.params, *p.variants)]


def test_no_problem_twice_in_a_deck(problems) -> None:
    seen = Counter((p.family, _identity(p.family, v))
                   for p in problems for v in (p.params, *p.variants))
    assert max(seen.values()) == 1


def test_variant_zero_is_the_problem_without_variants() -> None:
    with_ = recipe_problems(_recipe(5))
    without = recipe_problems(_recipe(5, variants=1))
    assert [(p.family, p.key) for p in with_] == [(p.family, p.key) for p in without]
    assert all(not p.variants for p in without)


def test_variants_are_deterministic() -> None:
    first = recipe_problems(_recipe(9, count=3))
    again = recipe_problems(_recipe(9, count=3))
    assert [p.variants for p in first] == [p.variants for p in again]


def test_family_forms_keep_what_the_question_shows() -> None:
    """A pool whose stride is its kernel (not shown) and one whose stride is shown, or a
    validity check on sizes and one on channels, are different forms; an inverse
    problem's asked value is not part of its form."""
    pool = {"kind": "Max", "nd": 2, "batch": 1, "channels": 3, "kernel": 3, "stride": 3,
            "padding": 0, "ceil_mode": False, "sizes": [9, 9]}
    assert form_of(pool, "pool.output_size") != \
        form_of({**pool, "stride": 2}, "pool.output_size")
    valid = {"nd": 2, "size": 11, "kernel": 3, "padding": 1, "dilation": 1, "in_channels": 3,
             "x_channels": 3, "stride": 1}
    assert form_of(valid, "conv.validity") != \
        form_of({**valid, "x_channels": 4}, "conv.validity")
    inverse = {"size": 32, "kernel": 3, "stride": 1, "padding": 0, "dilation": 1,
               "unknown": "padding", "target": 30}
    assert form_of(inverse, "conv.inverse") == \
        form_of({**inverse, "padding": 1, "target": 32}, "conv.inverse")
