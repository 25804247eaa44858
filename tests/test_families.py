"""The problem generator: claims hold, identity and randomness (DESIGN.md §4), variety."""

from __future__ import annotations

import collections
import json

import pytest

from cardgen.anki import note_guid
from cardgen.claims import check_claim
from cardgen.families import FAMILIES
from cardgen.generate import canonical_params, family_rng, generate_family, study_order

SEEDS = range(5)
DRAWS_PER_SEED = 100  # 500 draws per family level
CASES = [(name, level) for name, mod in FAMILIES.items() for level in mod.LEVELS]


def _draws(name: str, level: int) -> list[dict]:
    module = FAMILIES[name]
    out = []
    for seed in SEEDS:
        rng = family_rng(seed, name)
        out.extend(module.generate(rng, level) for _ in range(DRAWS_PER_SEED))
    return out


@pytest.fixture(scope="module")
def solved() -> dict[tuple[str, int], list]:
    result = {}
    for name, level in CASES:
        module = FAMILIES[name]
        result[name, level] = [(p, module.solve(p)) for p in _draws(name, level)]
    return result


@pytest.mark.parametrize(("name", "level"), CASES)
def test_claims_hold_with_solver(solved, name, level):
    for params, solution in solved[name, level]:
        assert solution.claims, (name, params)
        for claim in solution.claims:
            check = check_claim(json.loads(json.dumps(claim)), "solver")
            assert check.ok, (name, params, claim, check.detail)


# torch re-checks every candidate of a unique claim (tens to thousands of runs each):
# all draws' other claims, and the unique claims of this many draws per seed.
UNIQUE_PER_SEED = 4


@pytest.mark.parametrize(("name", "level"), CASES)
def test_claims_hold_with_torch(solved, name, level, require):
    require("torch")
    for i, (params, solution) in enumerate(solved[name, level]):
        sampled = i % DRAWS_PER_SEED < UNIQUE_PER_SEED
        for claim in solution.claims:
            if claim["kind"] == "unique" and not sampled:
                continue
            check = check_claim(json.loads(json.dumps(claim)), "torch")
            assert check.ok, (name, params, claim, check.detail)


@pytest.mark.parametrize(("name", "level"), CASES)
def test_variety(solved, name, level):
    items = solved[name, level]
    distinct = {canonical_params(p) for p, _ in items}
    assert len(distinct) >= 50
    answers = collections.Counter(s.answer for _, s in items)
    if set(answers) <= {"yes", "no"}:  # yes/no questions: each answer within 30-70%
        assert 0.3 <= answers["yes"] / len(items) <= 0.7, answers
    else:
        top, count = answers.most_common(1)[0]
        assert count <= len(items) / 2, (top, count)


@pytest.mark.parametrize(("name", "level"), CASES)
def test_answers_are_typeable_and_specs_json(solved, name, level):
    for params, solution in solved[name, level][:100]:
        assert solution.answer and solution.answer.isascii() and solution.answer.isprintable()
        # one space after a leading word: "yes k=3 s=2", and a verdict with its evidence
        assert " " not in solution.answer.strip() or solution.answer.startswith(
            ("yes ", "true ", "false "))
        assert json.loads(json.dumps(params)) == params  # canonical JSON values only


def _keys(problems):
    return [(p.family, p.level, canonical_params(p.params)) for p in problems]


def test_same_seed_same_problems():
    for name, module in FAMILIES.items():
        a = generate_family(name, 7, 30, module.LEVELS)
        b = generate_family(name, 7, 30, module.LEVELS)
        assert _keys(a) == _keys(b)
        assert _keys(a) != _keys(generate_family(name, 8, 30, module.LEVELS))


def test_prefix_stability_and_independence():
    names = list(FAMILIES)
    for name in names:
        levels = FAMILIES[name].LEVELS
        small = generate_family(name, 3, 12, levels)
        large = generate_family(name, 3, 40, levels)
        assert _keys(large[:12]) == _keys(small)
    # One family's stream does not depend on which other families are built, or how many.
    deck_a = study_order([generate_family(n, 3, 10, FAMILIES[n].LEVELS) for n in names[:3]])
    deck_b = study_order([generate_family(n, 3, 25 if n == names[0] else 10,
                                          FAMILIES[n].LEVELS) for n in names[:4]])
    for name in names[1:3]:
        assert _keys([p for p in deck_a if p.family == name]) == \
            _keys([p for p in deck_b if p.family == name])


def test_no_duplicate_params_in_a_family():
    for name, module in FAMILIES.items():
        problems = generate_family(name, 11, 60, module.LEVELS)
        keys = [canonical_params(p.params) for p in problems]
        assert len(keys) == len(set(keys)), name


def test_study_order_rises_in_level_and_interleaves():
    groups = [generate_family(n, 1, 9, FAMILIES[n].LEVELS) for n in list(FAMILIES)[:4]]
    order = study_order(groups)
    levels = [p.level for p in order]
    assert levels == sorted(levels)
    first_four = {p.family for p in order[:4]}
    assert len(first_four) == 4


def test_study_ranks_order_as_level_then_position_then_family():
    """The packed ranks sort as the (level, position within the level, family) tuples
    they stand for, up to the largest counts a recipe allows."""
    from cardgen.generate import Problem, study_ranks
    from cardgen.recipes import MAX_COUNT

    def problems(levels):
        return [Problem("f", level, {}, i, "") for i, level in enumerate(levels)]

    cases = [(0, problems([1, 2, 1, 3, 2])), (1, problems([2, 1, 1])),
             (MAX_COUNT, problems([1] * 3 + [3])), (5, problems([3, 1]))]
    tuples, packed = [], []
    for pos, group in cases:
        seen: dict[int, int] = {}
        for p, rank in zip(group, study_ranks(pos, group), strict=True):
            tuples.append((p.level, seen.get(p.level, 0), pos))
            seen[p.level] = seen.get(p.level, 0) + 1
            packed.append(rank)
    assert sorted(range(len(packed)), key=packed.__getitem__) == \
        sorted(range(len(tuples)), key=tuples.__getitem__)
    largest = study_ranks(MAX_COUNT, problems([1] * MAX_COUNT + [2]))
    assert largest == sorted(largest) and largest[-2] < study_ranks(0, problems([2]))[0]


def test_guid_depends_only_on_family_and_params():
    problem = generate_family("conv.output_size", 1, 1, (1,))[0]
    guid = note_guid(problem.family, problem.params)
    reordered = json.loads(json.dumps(problem.params, sort_keys=False))
    assert note_guid(problem.family, dict(reversed(list(reordered.items())))) == guid
    assert note_guid("pool.output_size", problem.params) != guid


@pytest.mark.parametrize("name", sorted(n for n, m in FAMILIES.items() if hasattr(m, "MAX_DRAWS")))
def test_a_generator_that_finds_nothing_fails_instead_of_hanging(name, monkeypatch):
    from cardgen.errors import CardgenError

    module = FAMILIES[name]
    monkeypatch.setattr(module, "MAX_DRAWS", 3)
    # Every draw rejected: what a broken check (say, a budget that refuses all) looks like.
    for check in ("fits_claim", "_accepted", "_runs", "_fits", "_equivalent", "_shares",
                  "candidates"):
        if hasattr(module, check):
            monkeypatch.setattr(module, check, lambda *args: None)
    with pytest.raises(CardgenError, match=f"{name}: no valid problem in 3 random draws"):
        for level in module.LEVELS:
            generate_family(name, 1, 5, [level])


def test_touching_windows_do_not_overlap():
    from cardgen.solver import adaptive_windows, read_counts, windows_overlap

    assert not windows_overlap([(0, 2), (2, 4)])
    assert windows_overlap([(0, 3), (2, 4)])
    for size in range(1, 30):
        for out in range(1, 30):
            wins = adaptive_windows(size, out)
            assert windows_overlap(wins) == (max(read_counts(wins, size)) > 1), (size, out)


@pytest.mark.parametrize(("size", "out", "phrase"), [
    (8, 4, None), (12, 3, None),  # windows touch: nothing is read twice
    (7, 3, "read twice"), (10, 4, "read twice"),
    (5, 11, "read 3 times"), (5, 9, "read twice or 3 times"),
])
def test_adaptive_windows_caption_says_how_often_shaded_cells_are_read(size, out, phrase):
    from cardgen.solver import adaptive_windows, read_counts

    solution = FAMILIES["adaptive.windows"].solve(
        {"q": "window", "size": size, "out": out, "index": 0})
    [diagram] = solution.diagrams
    counts = read_counts(adaptive_windows(size, out), size)
    assert ("shaded" in diagram.caption) == (max(counts) > 1)
    if phrase is None:
        assert "read" not in diagram.caption
    else:
        assert f"shaded cells are {phrase})" in diagram.caption


@pytest.mark.parametrize(("name", "level"), CASES)
def test_the_answer_form_tells_nothing_about_the_answer(solved, name, level):
    """The line that says how to type the answer is the same whatever the answer: an
    example that equals the answer gives it away, and one switched away from the answer
    gives it away too (the reader learns that "e.g. 2" means 3). So the form may depend
    on the question's dims only, and an example may never be a possible answer."""
    import re

    example = re.compile(r"e\.g\. ([^\s,()]+(?:,[^\s()]+)*)")
    examples: dict[str, set[tuple[str, ...]]] = collections.defaultdict(set)
    for _, solution in solved[name, level]:
        found = example.findall(solution.form)
        assert len(found) == solution.form.count("e.g."), solution.form  # each one read
        for text in found:
            assert text.rstrip(".") != solution.answer, (solution.question, solution.form)
        examples[example.sub("e.g. X", solution.form)].add(tuple(found))
    switched = {form: found for form, found in examples.items() if len(found) > 1}
    assert not switched, switched


@pytest.mark.parametrize("name", list(FAMILIES))
def test_no_two_cards_of_a_family_ask_the_same(name):
    """Distinct params can make the same card when a question leaves a field unused (an
    adaptive.windows lengths question drew an index): the generator counts them as one."""
    module = FAMILIES[name]
    for seed in (2024, 7, 99):
        problems = generate_family(name, seed, 60, module.LEVELS)
        asked = collections.Counter(
            (s.question, json.dumps(s.table)) for s in (module.solve(p.params) for p in problems))
        repeated = {q: n for q, n in asked.items() if n > 1}
        assert not repeated, (seed, repeated)
