"""Variants of a note (issue 12): more problems of the same form, so a review shows new
numbers and the learner practises the procedure instead of remembering one answer.

A note's form is its family, its level and the *structure of its question*: the family's
params with every number reduced to 0, 1 or many (stride 1 and stride 2 are different
skills, stride 2 and stride 3 the same one), the words kept (layer types, Max or Avg, the
question asked, the framework, the model and module), and what is only copied left out
(channels, features, the batch, the input's sizes, a grid's values). The structure, not
the outcome: a "does it run?" note mixes yes and no, a shape note may hold an `error`
variant, so a learner cannot answer from memory. Within a note:

- no two problems have the same numbers (a Max and an Avg pool on the same sizes, or two
  names of one module, would be one problem twice), channels and batch left out where
  the learner only copies them;
- no answer is given by more than half of the note's problems (``MAX_SAME_ANSWER`` of
  K), and the first variant's answer differs from variant 0's.

Variants come from a stream of their own per family and level, seeded from the recipe
seed, so they never shift the deck's problems (variant 0 of each note is the problem the
deck would hold without variants, and its GUID). Candidates are dealt, in stream order, to
the notes of their form in turn; a candidate that is already a problem of the deck (any
note's variant, by the family's identity) is skipped, so no problem appears twice in a
deck. A form drawn rarely may leave a note with fewer variants than asked: the stream is
cut after ``DRAWS_PER_VARIANT`` draws per missing variant (``MIN_DRAWS`` at least), and
the note keeps what it got.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.families import get_family
from cardgen.families.base import Solution
from cardgen.generate import Problem, canonical_params, family_rng, identity_key

# Draws per variant asked at a level, at most: a form that takes more draws than this is
# rare enough that its notes keep fewer variants (and the build stays fast).
DRAWS_PER_VARIANT = 4
MIN_DRAWS = 200  # per level: a small deck still finds variants for most of its notes
MAX_SAME_ANSWER = 0.5  # share of a note's problems one answer may have (at least 1)

# Params that only say what is copied through (or drawn as data), not what is worked out.
_COPIED = frozenset(("in_channels", "out_channels", "in_features", "out_features", "bias",
                     "batch", "channels", "x_channels", "grid", "input_shape", "size",
                     "sizes", "target", "targets", "value"))


def _reduced(value: Any) -> Hashable:
    # told by exact type first: params are JSON values, and a draw that no note waits for
    # costs its generation and this (bool is no int here, as below); the scalars inside a
    # dict or list are reduced in place, not by a call each (most values are scalars)
    t = type(value)
    if t is dict:
        out = []
        for k in sorted(value):  # the keys differ: the (key, value) pairs sort as their keys
            v = value[k]
            if k in _COPIED:  # (a copied int is "n", and most copied values are ints)
                out.append((k, "n" if type(v) is int else _copied(v)))
            elif type(v) is int:
                out.append((k, -1 if v < 0 else v if v < 2 else 2))
            elif type(v) is str:
                out.append((k, v))
            else:
                out.append((k, _reduced(v)))
        return tuple(out)
    if t is list or t is tuple:
        return tuple([(-1 if v < 0 else v if v < 2 else 2) if type(v) is int else _reduced(v)
                      for v in value])
    if t is int:
        return -1 if value < 0 else value if value < 2 else 2
    if t is str or t is bool or value is None:
        return value
    if t is float:
        return "float"
    return _reduced_any(value)


def _reduced_any(value: Any) -> Hashable:
    """`_reduced` of any value, subclasses of the JSON types too."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return -1 if value < 0 else min(value, 2)
    if isinstance(value, float):
        return "float"
    if isinstance(value, (tuple, list)):
        return tuple(_reduced(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _copied(v) if k in _COPIED else _reduced(v))
                            for k, v in value.items()))
    return repr(type(value))


def _copied(value: Any) -> Hashable:
    """A copied value keeps only its layout: a shape's rank, a grid's dims (a 3x4 and a
    4x4 grid ask the same)."""
    if isinstance(value, list):  # a grid: its depth; a shape: its rank
        # (a shape's first entry tells it from a grid without a generator)
        if value and isinstance(value[0], list) and all(isinstance(v, list) for v in value):
            inner = _copied(value[0])
            return ("grid", inner[1] + 1 if inner[0] == "grid" else 2)
        return ("list", len(value))
    return "n" if isinstance(value, (int, float)) else _reduced(value)


def form_of(params: dict[str, Any], family: str | None = None) -> Hashable:
    """The structure of a problem's question, as a hashable key (see the module doc). A
    family may say what its params hide or hold that the structure must keep or leave
    out (``variant_form(params)``, e.g. the asked value of an inverse problem)."""
    return _form_of(family)(params)


def _form_of(family: str | None) -> Callable[[dict[str, Any]], Hashable]:
    """``form_of`` for one family, its hook looked up once (the draws ask it per candidate)."""
    hook = getattr(get_family(family), "variant_form", None) if family else None
    if hook is None:
        return _reduced
    return lambda params: _reduced(hook(params))


# Params a learner only copies into the answer; two problems that differ only in them
# are one problem twice. Not so where channels enter the work (a parameter count, a
# Flatten, PixelShuffle, an unbatched input's rank).
_CHANNELS = frozenset(("in_channels", "out_channels", "in_features", "out_features",
                       "batch", "channels", "x_channels"))
_CHANNELS_WORK = frozenset(("conv.params", "input.unbatched", "network.trace",
                            "network.stack", "resample.shape", "adaptive.output_shape",
                            "network.models"))


def _numbers(value: Any, copied: bool = False) -> tuple[int | float, ...]:
    """The numbers of params, in order (with ``copied``, less the channels and the
    batch, and an input shape's first two entries)."""
    found: list[int | float] = []
    _add_numbers(value, copied, found)
    return tuple(found)


def _add_numbers(value: Any, copied: bool, found: list[int | float]) -> None:
    # appended to one list (nested generators cost more than the numbers); the exact
    # JSON scalars told by type first, the rest (containers, subclasses) by isinstance;
    # a container's str values skipped in place, not by a call each
    t = type(value)
    if t is int or t is float:
        found.append(value)
    elif t is str or t is bool or value is None or isinstance(value, str):
        return
    elif isinstance(value, (int, float)):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            t = type(v)
            if t is int or t is float:
                found.append(v)
            elif t is not str:
                _add_numbers(v, copied, found)
    elif isinstance(value, dict):
        for k in sorted(value):
            if copied and k in _CHANNELS:
                continue
            v = value[k]
            t = type(v)
            if t is int or t is float:
                found.append(v)
            elif t is not str:
                if copied and k == "input_shape" and isinstance(v, list):
                    v = v[2:]
                _add_numbers(v, copied, found)


@dataclass(frozen=True)
class Found:
    """A note's variants (params), and the solutions of all its problems, variant 0
    first: the render stage takes them instead of solving again."""

    params: tuple[dict[str, Any], ...]
    solutions: tuple[Solution, ...]


# A note without variants: one Found for all of them (frozen, of empty tuples), not a new
# one per note (a frozen dataclass's __init__, ~6K instructions: a 10,000-note deck
# without variants made 10,000)
_NO_VARIANTS = Found((), ())


class _Note:
    """One note's problems while its variants are dealt."""

    def __init__(self, numbers: tuple[int | float, ...], solution: Solution, k: int) -> None:
        self.found: list[dict[str, Any]] = []
        self.solutions = [solution]
        self.numbers = {numbers}
        self.answers = {solution.answer: 1}
        self.most = max(1, int(k * MAX_SAME_ANSWER))

    def takes(self, numbers: tuple[int | float, ...], answer: str) -> bool:
        # the first variant's answer is a new one: a note's variants never all repeat it
        most = 1 if not self.found else self.most
        return numbers not in self.numbers and self.answers.get(answer, 0) < most

    def add(self, params: dict[str, Any], numbers: tuple[int | float, ...],
            solution: Solution) -> None:
        self.found.append(params)
        self.solutions.append(solution)
        self.numbers.add(numbers)
        self.answers[solution.answer] = self.answers.get(solution.answer, 0) + 1


def family_variants(problems: Sequence[Problem], seed: int, k: int) -> list[Found]:
    """For each problem (all of one family, as ``generate_family`` drew them), up to
    ``k - 1`` more params of its form (none when ``k`` is 1)."""
    if k <= 1 or not problems:
        return [_NO_VARIANTS] * len(problems)
    family = problems[0].family
    module = get_family(family)
    identity = identity_key(family)
    # a problem's key is its canonical params (generate_family encoded them): its
    # identity, unless the family has its own
    taken = {p.key for p in problems} if identity is canonical_params else \
        {identity(p.params) for p in problems}
    copied = family not in _CHANNELS_WORK
    form_of_params = _form_of(family)
    notes = [_Note(_numbers(p.params, copied), module.solve(p.params), k)
             for p in problems]
    by_level: dict[int, list[int]] = {}
    for i, p in enumerate(problems):
        by_level.setdefault(p.level, []).append(i)
    for level, members in sorted(by_level.items()):
        # the notes of each form still missing variants, in turn
        waiting: dict[Hashable, list[int]] = {}
        for i in members:
            waiting.setdefault(form_of_params(problems[i].params), []).append(i)
        missing = len(members) * (k - 1)
        rng = family_rng(seed, f"variants/{family}/L{level}")
        for _ in range(max(MIN_DRAWS, DRAWS_PER_VARIANT * missing)):
            if not missing:
                break
            params = module.generate(rng, level)
            form = form_of_params(params)
            queue = waiting.get(form)
            if not queue:
                continue
            same = identity(params)
            if same in taken:
                continue
            numbers = _numbers(params, copied)
            if all(numbers in notes[n].numbers for n in queue):
                continue  # no note takes it, whatever its answer: not solved
            solution = module.solve(params)
            # the first note in turn that takes it; it goes to the back of the queue
            pick = next((n for n in queue if notes[n].takes(numbers, solution.answer)),
                        None)
            if pick is None:
                continue
            taken.add(same)
            queue.remove(pick)
            notes[pick].add(params, numbers, solution)
            missing -= 1
            if len(notes[pick].found) < k - 1:
                queue.append(pick)
            elif not queue:
                del waiting[form]
    return [Found(tuple(n.found), tuple(n.solutions)) for n in notes]
