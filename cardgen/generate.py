"""Recipe -> problems: one random stream per family, prefix-stable, no duplicate params."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from json import encoder as json_encoder
from operator import itemgetter
from typing import Any

from cardgen.digest import sha256
from cardgen.errors import CardgenError
from cardgen.families import get_family
from cardgen.families.base import Stream
from cardgen.stacks import StackSpec

ATTEMPTS_PER_PROBLEM = 200


@dataclass(frozen=True)
class Problem:
    family: str
    level: int
    params: dict[str, Any]
    index: int  # position in its family's stream
    key: str  # canonical_params(params): identity for duplicates and the GUID
    # more params of the same form (cardgen.variants); variant 0 is ``params``
    variants: tuple[dict[str, Any], ...] = ()
    # the Solutions of variant 0 and the variants, when the variant draws made them
    solutions: tuple[Any, ...] = field(default=(), compare=False, repr=False)


def _new_problem(family: str, level: int, params: dict[str, Any], index: int,
                 key: str) -> Problem:
    """``Problem(family, level, params, index, key)``, its fields written straight into
    the new instance's dict instead of through the frozen dataclass's __init__ (a setattr
    call per field, twice the instructions): one per problem drawn."""
    problem = object.__new__(Problem)
    state = problem.__dict__  # (stored one by one: no keyword dict made for an update)
    state["family"] = family
    state["level"] = level
    state["params"] = params
    state["index"] = index
    state["key"] = key
    state["variants"] = ()
    state["solutions"] = ()
    return problem


def compact_json(sort_keys: bool) -> Callable[[Any], str]:
    """``json.dumps(value, sort_keys=sort_keys, separators=(",", ":"))``, the same text,
    with json's C encoder made once instead of a JSONEncoder (and its C encoder) per call:
    the two cost more than encoding a card's params, and a build encodes every candidate.
    Without the C encoder it is json's own ``encode``."""
    encoder = json.JSONEncoder(sort_keys=sort_keys, separators=(",", ":"))
    make = json_encoder.c_make_encoder
    if make is None:
        return encoder.encode
    # the arguments JSONEncoder.iterencode passes, less the circular-reference check
    # (markers): params and specs are trees built here
    iterencode = make(None, encoder.default, json_encoder.encode_basestring_ascii, None,
                      ":", ",", sort_keys, False, True)
    return lambda value: "".join(iterencode(value, 0))


_CANONICAL = compact_json(sort_keys=True)


def canonical_params(params: dict[str, Any]) -> str:
    """Sorted keys, no spaces, ASCII: json.dumps(params, sort_keys=True,
    separators=(",", ":"))."""
    return _CANONICAL(params)


def family_rng(seed: int, family: str) -> random.Random:
    """An independent stream per family: other families' counts never shift it (a
    Stream: random.Random's numbers, drawn faster)."""
    digest = sha256(f"cardgen/{seed}/{family}".encode()).digest()
    return Stream(int.from_bytes(digest[:16], "big"))


def identity_key(family: str) -> Callable[[dict[str, Any]], str]:
    """What makes two of the family's params one problem: their canonical JSON, or that
    of what the card depends on, for a family whose params hold a field some questions do
    not use (``identity(params)``; the GUID still hashes all params, so notes already in
    a collection keep theirs)."""
    identity = getattr(get_family(family), "identity", None)
    if identity is None:
        return canonical_params
    return lambda params: canonical_params(identity(params))


def generate_family(family: str, seed: int, count: int, levels: Sequence[int]) -> list[Problem]:
    """The first ``count`` distinct problems of the family's stream; problem i has level
    ``levels[i % len(levels)]``, so raising the count keeps every earlier problem."""
    module = get_family(family)
    same_as = identity_key(family)
    plain = same_as is canonical_params  # then the key is the identity: encode once
    encode = _CANONICAL  # canonical_params, without a call between (one per candidate)
    rng = family_rng(seed, family)
    seen: set[str] = set()
    problems: list[Problem] = []
    while len(problems) < count:
        level = levels[len(problems) % len(levels)]
        for _ in range(ATTEMPTS_PER_PROBLEM):
            params = module.generate(rng, level)
            same = encode(params) if plain else same_as(params)
            if same not in seen:
                break
        else:
            raise CardgenError(f"{family}: could not find {count} distinct problems at levels "
                               f"{list(levels)} (found {len(problems)})")
        seen.add(same)
        # the key of a family with its own identity: only for the candidate kept
        problems.append(_new_problem(family, level, params, len(problems),
                                     same if plain else encode(params)))
    return problems


def stack_problems(spec: StackSpec) -> list[Problem]:
    """A recipe stack's cards, in layer order (they are fixed by the stack, not drawn)."""
    from cardgen.families.network_stack import NAME
    from cardgen.stacks import stack_cards

    return [Problem(NAME, level, json.loads(key), i, key)
            for i, (level, key) in enumerate(stack_cards(spec))]


_RANK_BITS = 24  # a family's problems of one level, and families: fewer than 2**24 each


def study_ranks(family_pos: int, problems: Sequence[Problem]) -> list[int]:
    """Each problem's place in the study order, from its own family alone: (level, its
    position among the family's problems of that level, the family's position), packed
    in one int that orders as that tuple does (sorting compares ints, not tuples)."""
    per_level: dict[int, int] = {}
    ranks = []
    for p in problems:
        rank = per_level.get(p.level, 0)
        per_level[p.level] = rank + 1
        ranks.append((((p.level << _RANK_BITS) | rank) << _RANK_BITS) | family_pos)
    return ranks


def study_order(groups: Iterable[list[Problem]]) -> list[Problem]:
    """Interleave families and rise in level: by level, then position, then family order."""
    ranked = [(rank, p) for family_pos, problems in enumerate(groups)
              for rank, p in zip(study_ranks(family_pos, problems), problems, strict=True)]
    return [p for _, p in sorted(ranked, key=itemgetter(0))]  # (C: no Python call per item)
