"""Variants of a note (issue 12): more problems of the same form, so a review shows new
numbers and the learner practises the procedure instead of remembering one answer.

A note's form is its family, its level and the *shape* of its skill signature
(``difficulty.Features.signature``): the same question form, the same layer types and
arguments, the same cases (floor or exact, a dropped ceil window, stride 1 or more), with
the numbers themselves left out. Two problems of one form drill one skill; their numbers
differ.

Variants come from a stream of their own per family and level, seeded from the recipe
seed, so they never shift the deck's problems (variant 0 of each note is the problem the
deck would hold without variants, and its GUID). Candidates are dealt, in stream order, to
the notes of their form in turn; a candidate that is already a problem of the deck
(any note's variant, by the family's identity) is skipped, so no problem appears twice in
a deck. A form drawn rarely may leave a note with fewer variants than asked: the stream is
cut after ``DRAWS_PER_VARIANT`` draws per missing variant, and the note keeps what it got.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from cardgen.difficulty import features
from cardgen.families import get_family
from cardgen.generate import Problem, canonical_params, family_rng

# Draws per variant asked at a level, at most: a form that takes more draws than this is
# rare enough that its notes keep fewer variants (and the build stays fast).
DRAWS_PER_VARIANT = 3
MIN_DRAWS = 200  # per level: a small deck still finds variants for most of its notes


def _shape(value: Any) -> Hashable:
    """A signature with its numbers reduced to 0, 1 or many (-1 for negatives): stride 1
    and stride 2 are different skills, stride 2 and stride 3 the same one."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return -1 if value < 0 else min(value, 2)
    if isinstance(value, float):
        return "float"
    if isinstance(value, (tuple, list)):
        return tuple(_shape(v) for v in value)
    return repr(type(value))


def form_of(family: str, level: int, params: dict[str, Any]) -> Hashable:
    """The skill a problem drills, as a hashable key (see the module doc)."""
    solution = get_family(family).solve(params)
    return _shape(features(family, level, solution, params).signature)


def _identity(family: str) -> Callable[[dict[str, Any]], str]:
    module = get_family(family)
    same = getattr(module, "identity", None)
    if same is None:
        return canonical_params
    return lambda params: canonical_params(same(params))


def family_variants(problems: Sequence[Problem], seed: int, k: int) -> list[tuple[dict, ...]]:
    """For each problem (all of one family, as ``generate_family`` drew them), up to
    ``k - 1`` more params of its form; ``[()] * n`` when ``k`` is 1."""
    found: list[list[dict[str, Any]]] = [[] for _ in problems]
    if k <= 1 or not problems:
        return [() for _ in problems]
    family = problems[0].family
    module = get_family(family)
    identity = _identity(family)
    taken = {identity(p.params) for p in problems}
    by_level: dict[int, list[int]] = {}
    for i, p in enumerate(problems):
        by_level.setdefault(p.level, []).append(i)
    for level, members in sorted(by_level.items()):
        # the notes of each form still missing variants, in deck order
        waiting: dict[Hashable, list[int]] = {}
        for i in members:
            waiting.setdefault(form_of(family, level, problems[i].params), []).append(i)
        missing = len(members) * (k - 1)
        rng = family_rng(seed, f"variants/{family}/L{level}")
        for _ in range(max(MIN_DRAWS, DRAWS_PER_VARIANT * missing)):
            if not missing:
                break
            params = module.generate(rng, level)
            same = identity(params)
            if same in taken:
                continue
            queue = waiting.get(form_of(family, level, params))
            if not queue:
                continue
            taken.add(same)
            note = queue.pop(0)  # round robin: every note of the form gets some first
            found[note].append(params)
            missing -= 1
            if len(found[note]) < k - 1:
                queue.append(note)
    return [tuple(v) for v in found]
