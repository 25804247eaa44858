"""What every problem family produces, and small helpers for writing them.

A family is a module with NAME, TITLE, TOPIC, LEVELS, ``generate(rng, level)``
returning canonical JSON params, and ``solve(params)`` returning a Solution.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from keyword import iskeyword
from random import Random
from typing import Any

from cardgen.claims.build import claim_work
from cardgen.errors import CardgenError, ShapeError
from cardgen.explain.sizes import size_tex as size_tex  # re-exported: moved to explain/
from cardgen.explain.tex import display_rows as display_rows  # re-exported: moved to explain/
from cardgen.layers import LAYER_TYPES, MAX_TEXT, Layer, build_layer, parse_layer


@dataclass(frozen=True, init=False)
class Diagram:
    """Data for one diagram; the render stage draws it (``kind`` is a key of
    ``cardgen.render.diagrams.DIAGRAMS``, ``args`` its function's keyword arguments)."""

    kind: str
    args: dict[str, Any]
    caption: str

    def __init__(self, kind: str, args: dict[str, Any], caption: str) -> None:
        # the dataclass's own __init__, less its object.__setattr__ call per field (the
        # frozen class's way past its __setattr__): the fields written straight into the
        # new instance's dict, as generate._new_problem writes a Problem's (a deck makes
        # a diagram for most notes)
        state = self.__dict__
        state["kind"] = kind
        state["args"] = args
        state["caption"] = caption


@dataclass
class Solution:
    """A solved problem: text with `code` spans, a typeable answer, worked steps, claims."""

    question: str
    answer: str
    form: str  # how to type the answer, shown under the question
    steps: list[str]
    claims: list[dict[str, Any]]
    diagrams: list[Diagram] = field(default_factory=list)
    table: list[list[int]] | None = None  # numbers the question shows as a grid


# Cards should be cheap to re-check with torch on a laptop: at most this many
# multiply-adds per claim (a ResNet stem on 1x3x224x224 is 118M).
MAX_CARD_MACS = 300_000_000


def fits_claim(layers: Sequence[Layer], shape: Sequence[int]) -> bool:
    """Whether anyone can re-check this stack on this shape quickly, within verify's limits."""
    try:
        return claim_work(layers, shape) <= MAX_CARD_MACS
    except ValueError:  # over verify's limits
        return False


# Candidate draws for one problem. Every level accepts a large share of its draws, so
# running out means the generator (or a check it relies on) is broken: fail, never hang.
MAX_DRAWS = 100_000


def exhausted(family: str, draws: int) -> CardgenError:
    return CardgenError(f"{family}: no valid problem in {draws} random draws; its "
                        "generator or a check it relies on is broken")


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def frac_text(value: Fraction | int) -> str:
    """Exact, typeable: 6, 9/2, -1/3."""
    # a plain int or Fraction is read as it is (Fraction() of one gives the same numerator
    # and denominator, the Fraction's through an ABC check): most values cards print
    if type(value) is not int and type(value) is not Fraction:
        value = Fraction(value)
    numerator, denominator = value.numerator, value.denominator
    return str(numerator) if denominator == 1 else f"{numerator}/{denominator}"


def frac_tex(value: Fraction | int) -> str:
    if type(value) is not int and type(value) is not Fraction:  # (as in frac_text)
        value = Fraction(value)
    numerator, denominator = value.numerator, value.denominator
    if denominator == 1:
        return str(numerator)
    sign = "-" if numerator < 0 else ""  # (a Fraction's denominator is positive)
    return f"{sign}\\tfrac{{{abs(numerator)}}}{{{denominator}}}"


def term(value: int) -> str:
    """A number inside a sum: negatives in parentheses."""
    return f"({value})" if value < 0 else str(value)


_CALL = re.compile(r"([A-Za-z][A-Za-z0-9]*)\((.*)\)")
# one argument: an optional keyword, then an int as Python writes one, or a bool
_ARG = re.compile(r"(?:([a-z][a-z0-9]*(?:_[a-z0-9]+)*)=)?(-?(?:0|[1-9][0-9]*)|True|False)")


def layer_from_text(text: str) -> Layer:
    """``parse_layer(text)``, the same Layer or error. The texts the generators write
    (``Conv2d(3, 16, 3, padding=1)``: a layer name, then ints and bools, positional ones
    first, each argument after ", ") are bound without Python's parser, which costs
    ~170K instructions a text; any other text is parse_layer's."""
    call = _CALL.fullmatch(text)
    if call is None or len(text) > MAX_TEXT or call[1] not in LAYER_TYPES:
        return parse_layer(text)
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for piece in call[2].split(", ") if call[2] else ():
        arg = _ARG.fullmatch(piece)
        if arg is None or (arg[1] is None and keywords) or arg[1] in keywords \
                or (arg[1] is not None and iskeyword(arg[1])):
            return parse_layer(text)  # (not this form, or a syntax error: parse_layer's)
        literal = arg[2]
        value = literal == "True" if literal in ("True", "False") else int(literal)
        if arg[1] is None:
            positional.append(value)
        else:
            keywords[arg[1]] = value
    try:
        return build_layer(call[1], positional, keywords)
    except ShapeError as exc:  # (as parse_layer words it)
        raise ShapeError(f"{text}: {exc}") from None


def layer_code(layer: Layer) -> str:
    # kept on a Layer (immutable), like its text: a card names a layer in its question
    # and steps (~3,000 asks over every2k's solutions)
    if type(layer) is not Layer:
        return f"`nn.{layer}`"
    state = layer.__dict__
    code = state.get("_code")
    if code is None:
        code = state["_code"] = f"`nn.{layer}`"
    return code  # type: ignore[no-any-return]


class Stream(Random):
    """A Random whose ``randrange`` on ints draws as Random's does (the same getrandbits
    calls, so the same numbers) without its argument checks and second call: generators
    call it about 40,000 times in a large build. Anything else goes to Random's."""

    def randrange(self, start: Any, stop: Any = None, step: Any = 1) -> int:
        n = start if stop is None else stop - start
        if type(n) is int and n > 0 and type(start) is int and step == 1:
            # Random._randbelow_with_getrandbits(n), written out (as in pick: a call
            # costs more than the loop); self.getrandbits called as a method, not bound
            # once (a bound method is an object made per draw, and most take one call)
            k = n.bit_length()
            r = self.getrandbits(k)
            while r >= n:
                r = self.getrandbits(k)
            return r if stop is None else start + r
        return super().randrange(start, stop, step)


def pick(rng: Any, items: Sequence[Any]) -> Any:
    n = len(items)
    if type(rng) is Stream and n:  # (the build's streams; any other rng by its randrange)
        # what randrange(n) draws for n > 0 (as Stream.randrange), without its checks and
        # two calls: generators pick about ten times a problem, the variant draws 120,000
        k = n.bit_length()
        r = rng.getrandbits(k)
        while r >= n:
            r = rng.getrandbits(k)
        return items[r]
    return items[rng.randrange(n)]


def wrapped(items: Sequence[str], sep: str, width: int = 14) -> list[str]:
    """Items joined by `sep`, cut into rows of at most `width` characters (spaces not
    counted; measured on phones: 21 overflow a 320 px card). An operator starts the
    next row ("+ 5 + 6"); a comma ends its row ("1, 2,")."""
    row: list[str] = []
    chunks = [row]
    length = 0  # len(sep.join(row)), kept as the row grows (not joined again per item)
    for item in items:
        if row and length + len(sep) + len(item) > width:
            row = []
            chunks.append(row)
        length = length + len(sep) + len(item) if row else len(item)
        row.append(item)
    if sep == ",":
        return [", ".join(c) + ("," if i < len(chunks) - 1 else "")
                for i, c in enumerate(chunks)]
    return [f" {sep} ".join(chunks[0])] + [f"{sep} " + f" {sep} ".join(c) for c in chunks[1:]]
