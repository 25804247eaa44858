"""Read rendered cards back as a learner would, and pull out what they state.

Used by test_cards_read_back.py. Nothing here imports the code that wrote the cards
(families, solver, render): the statements are parsed from the HTML of the fields, so
the checks stay independent of how a family words or draws things today.

- `Card`: one note read back from an .apkg, its text split into steps (HTML stripped,
  `<code>` kept as backticks, math kept as TeX) and its inline SVG diagrams.
- `chains(tex)` / `prose_chains(text)`: the arithmetic (in)equalities a step states,
  as lists of sides and relations; `evaluate(side)` gives an exact Fraction, or None
  when the side has letters (a formula, not a number).
- small parsers for shapes `1x3x8x8`, half-open windows `[a,b)`, layer constructors.
"""

from __future__ import annotations

import ast
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any

# ---------------------------------------------------------------- the card as text


@dataclass
class Svg:
    aria: str                       # the aria-label (the diagram's one-line summary)
    caption: str                    # the <figcaption> after it, plain text
    texts: list[tuple[str, float, float, str]]  # (group class, x, y, text) of each <text>


@dataclass
class Card:
    guid: str
    family: str
    level: int
    seed: int
    fields: dict[str, str]
    spec: dict[str, Any]
    front: str                      # plain text, code as `...`
    steps: list[str]                # each <li> of Worked, plain text with TeX kept
    captions: list[str]
    svgs: list[Svg] = field(default_factory=list)
    variant: int = 0                # which of the note's variants (issue 12)

    @property
    def label(self) -> str:
        return (f"{self.family} L{self.level} seed {self.seed} guid {self.guid[:6]!r} "
                f"variant {self.variant}")


_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_FIG = re.compile(r"<figure\b.*?</figure>", re.S)


def plain(fragment: str) -> str:
    """HTML -> one line of text: <code> as backticks, tags dropped, entities decoded."""
    text = re.sub(r"</?code[^>]*>", "`", fragment)
    text = re.sub(r"<(td|span)\b[^>]*>", " ", text)
    text = re.sub(r"<[^>]+>", "", text)
    return " ".join(html.unescape(text).split())


def _svg(block: str) -> tuple[Svg, ...]:
    out = []
    for svg in _SVG.findall(block):
        aria = re.search(r'aria-label="([^"]*)"', svg)
        texts = []
        for group in re.finditer(r'<g class="([^"]*)">(.*?)</g>', svg, re.S):
            for t in re.finditer(r'<text x="([-\d.]+)" y="([-\d.]+)"[^>]*>(.*?)</text>',
                                 group.group(2), re.S):
                texts.append((group.group(1), float(t.group(1)), float(t.group(2)),
                              html.unescape(t.group(3))))
        cap = re.search(r"<figcaption>(.*?)</figcaption>", block[block.index(svg):], re.S)
        out.append(Svg(html.unescape(aria.group(1)) if aria else "",
                       plain(cap.group(1)) if cap else "", texts))
    return tuple(out)


_FRONT_VARIANT = re.compile(
    r'<(div|template) class="cg-(?:variant|alt)" data-cg-variant="(\d+)" '
    r'data-cg-answer="([^"]*)">(.*?)</\1>(?=<template|</div>$)', re.S)
_WORKED_VARIANT = re.compile(
    r'<(div|template) class="cg-(?:variant-worked|alt-worked)" data-cg-variant="(\d+)">'
    r'(.*?)</\1>(?=<template|$)', re.S)
_MISTAKES = re.compile(r'<div class="cg-mistakes" hidden>(.*?)</div>', re.S)


def split_variants(fields: dict[str, str]) -> list[dict[str, str]]:
    """A note's fields -> one set of plain fields per variant (Front, Answer, Worked and
    a Spec of that variant alone, with its mistakes). Fields without variants (cards
    made before issue 12, or by a test) come back as they are."""
    front, worked = fields["Front"], fields["Worked"]
    if not front.startswith('<div class="cg-variants"'):
        return [fields]
    spec = json.loads(fields["Spec"])
    specs = [spec, *spec.get("variants", [])]
    fronts = _FRONT_VARIANT.findall(front[front.index(">") + 1:])
    works = _WORKED_VARIANT.findall(worked)
    assert [int(f[1]) for f in fronts] == list(range(len(specs))), "variants out of order"
    assert [int(w[1]) for w in works] == list(range(len(specs))), "worked out of order"
    out = []
    for (_, _, answer, text), (_, _, body), one in zip(fronts, works, specs, strict=True):
        whole = {k: spec[k] for k in ("v", "family", "level")}
        whole.update({k: one.get(k) for k in ("params", "answer", "claims", "mistakes")})
        out.append({"Front": text, "Answer": html.unescape(answer),
                    "Worked": _MISTAKES.sub("", body), "Spec": json.dumps(whole),
                    "Mistakes": "".join(_MISTAKES.findall(body))})
    return out


def read_card(guid: str, fields: dict[str, str], seed: int, variant: int = 0) -> Card:
    """Variant `variant` of a note (the note itself when it holds no variants)."""
    fields = split_variants(fields)[variant]
    spec = json.loads(fields["Spec"])
    worked = fields["Worked"]
    svgs: list[Svg] = []
    for fig in _FIG.findall(worked):
        svgs.extend(_svg(fig))
    body = _FIG.sub(" ", worked)
    steps = [plain(li) for li in re.findall(r"<li>(.*?)</li>", body, re.S)]
    captions = [plain(c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", worked, re.S)]
    return Card(guid, spec["family"], spec["level"], seed, fields, spec,
                plain(fields["Front"]), steps, captions, svgs, variant)


def read_variants(guid: str, fields: dict[str, str], seed: int) -> list[Card]:
    """Every variant of a note, each read as a card of its own."""
    return [read_card(guid, fields, seed, i) for i in range(len(split_variants(fields)))]


# ---------------------------------------------------------------- small parsers

SHAPE = re.compile(r"`(\d+(?:x\d+)+)`")
WINDOW = re.compile(r"\[(\d+),\s*(\d+)\)")
CODE = re.compile(r"`([^`]*)`")


def shape_of(text: str) -> list[int]:
    return [int(v) for v in text.split("x")]


def windows_in(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in WINDOW.findall(text)]


def parse_layer_call(text: str) -> tuple[str, list[Any], dict[str, Any]] | None:
    """`nn.Conv2d(3, 8, 3, padding=1)` -> ("Conv2d", [3, 8, 3], {"padding": 1}); literals only."""
    text = text.strip()
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "nn":
        name = func.attr
    elif isinstance(func, ast.Name):
        name = func.id
    else:
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    except ValueError:
        return None
    return name, args, kwargs


def layers_in(text: str) -> list[tuple[str, list[Any], dict[str, Any]]]:
    return [p for c in CODE.findall(text) if (p := parse_layer_call(c)) is not None]


def numbers_in(text: str) -> set[int]:
    return {int(v) for v in re.findall(r"\d+", text)}


# ---------------------------------------------------------------- arithmetic

class Unparsed(Exception):
    """A side that is not plain arithmetic (has letters, lists, unbalanced brackets)."""


REL = {"=": lambda a, b: a == b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
       "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "!=": lambda a, b: a != b}

_TEX_WORDS = [(r"\\lfloor", " floor( "), (r"\\rfloor", " ) "), (r"\\lceil", " ceil( "),
              (r"\\rceil", " ) "), (r"\\cdot", " * "), (r"\\times", " * "),
              (r"\\max", " max "), (r"\\min", " min "), (r"\\geq?", " >= "),
              (r"\\leq?", " <= "), (r"\\neq?", " != "), (r"\\lt", " < "), (r"\\gt", " > "),
              (r"\\left", " "), (r"\\right", " "), (r"\\[,;!]", " "), (r"\\q?quad", " "),
              (r"\\displaystyle", " ")]


def _group_end(tex: str, start: int) -> int:
    """The index of the brace closing the one at `start`."""
    depth = 0
    for i in range(start, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        if depth == 0:
            return i
    raise Unparsed("unbalanced braces")


def _fracs(tex: str) -> str:
    """\\tfrac{a}{b} / \\frac / \\dfrac -> ((a)/(b)), outermost first."""
    while (m := re.search(r"\\[dt]?frac\s*\{", tex)):
        a_end = _group_end(tex, m.end() - 1)
        if a_end + 1 >= len(tex) or tex[a_end + 1] != "{":
            raise Unparsed("\\frac without a second group")
        b_end = _group_end(tex, a_end + 1)
        tex = (tex[:m.start()] + "((" + tex[m.end():a_end] + ")/(" + tex[a_end + 2:b_end]
               + "))" + tex[b_end + 1:])
    return tex


def tex_to_ascii(tex: str) -> str:
    tex = html.unescape(tex)
    try:
        tex = _fracs(tex)
    except Unparsed:
        return "\\unparsed"
    for pat, rep in _TEX_WORDS:
        tex = re.sub(pat + r"(?![a-zA-Z])", rep, tex)
    return tex.replace("{", "(").replace("}", ")")


_TOKEN = re.compile(r"\s*(\d+(?:\.\d+)?|//|<=|>=|!=|floor|ceil|max|min|[-+*/^(),=<>])")


def _tokens(text: str) -> list[str]:
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise Unparsed(f"cannot read {text[pos:pos + 12]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.t, self.i = tokens, 0

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (want is not None and tok != want):
            raise Unparsed(f"expected {want!r}, got {tok!r}")
        self.i += 1
        return tok

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> Fraction:
        value = self.unary()
        while True:
            tok = self.peek()
            if tok in ("*", "/", "//"):
                self.take()
                rhs = self.unary()
                if tok == "*":
                    value *= rhs
                elif rhs == 0:
                    raise Unparsed("division by zero")
                else:
                    value = value / rhs if tok == "/" else Fraction(value // rhs)
            elif tok is not None and (tok in ("(", "floor", "ceil", "max", "min")
                                      or tok[0].isdigit()):
                value *= self.unary()   # implicit product: 1(3-1), 2\cdot0 is explicit
            else:
                return value

    def unary(self) -> Fraction:
        if self.peek() in ("-", "+"):
            sign = -1 if self.take() == "-" else 1
            return sign * self.unary()
        base = self.atom()
        if self.peek() == "^":
            self.take()
            exp = self.unary()
            if exp.denominator != 1 or abs(exp) > 64:
                raise Unparsed("exponent")
            base = base ** int(exp)
        return base

    def atom(self) -> Fraction:
        tok = self.take()
        if tok[0].isdigit():
            return Fraction(tok)
        if tok == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok in ("floor", "ceil"):
            self.take("(")
            value = self.expr()
            self.take(")")
            return Fraction(value.__floor__() if tok == "floor" else value.__ceil__())
        if tok in ("max", "min"):
            self.take("(")
            values = [self.expr()]
            while self.peek() == ",":
                self.take()
                values.append(self.expr())
            self.take(")")
            return max(values) if tok == "max" else min(values)
        raise Unparsed(f"unexpected {tok!r}")


_LETTER = re.compile(r"(?<![A-Za-z_\\])([A-Za-z])(?![A-Za-z_])")


def evaluate(side: str, env: dict[str, Fraction] | None = None) -> Fraction | None:
    """The exact value of an arithmetic side, or None when it is not plain arithmetic.
    Single letters the card defined with a number (`env`) are substituted."""
    if env:
        side = _LETTER.sub(lambda m: f"({env[m.group(1)]})" if m.group(1) in env
                           else m.group(1), side)
    if re.search(r"[A-Za-z\\_|\[\]]", re.sub(r"\b(floor|ceil|max|min)\b", "", side)):
        return None
    try:
        tokens = _tokens(side)
        if not tokens:
            return None
        parser = _Parser(tokens)
        value = parser.expr()
        if parser.peek() is not None:
            return None
        return value
    except Unparsed:
        return None


def _split_relations(text: str) -> tuple[list[str], list[str]]:
    parts = re.split(r"(<=|>=|!=|=|<|>)", text)
    return parts[0::2], parts[1::2]


def _trim(side: str) -> str:
    """Drop the surplus outer brackets a chain split leaves: `(floor(x) + 1 ` / ` 64)`."""
    side = side.strip().strip(".").strip()
    while side.count("(") > side.count(")") and side.startswith("("):
        side = side[1:].strip()
    while side.count(")") > side.count("(") and side.endswith(")"):
        side = side[:-1].strip()
    return side


@dataclass
class Chain:
    source: str
    sides: list[str]
    relations: list[str]

    def values(self, env: dict[str, Fraction] | None = None) -> list[Fraction | None]:
        return [evaluate(_trim(s), env) for s in self.sides]

    def problems(self, env: dict[str, Fraction] | None = None) -> tuple[int, list[str]]:
        """(number of relations checked, the false ones as text); letters in `env` are
        substituted, and a lone letter equal to a number is added to `env`."""
        equalities = all(r == "=" for r in self.relations)
        # An inequality with a letter states a rule ("p <= 1, but p = 2"), not a fact:
        # substitute only into equalities.
        values = self.values(env if equalities else None)
        if env is not None and equalities:
            known = [v for v in values if v is not None]
            for s, v in zip(self.sides, values, strict=True):
                name = _trim(s)
                if v is None and known and re.fullmatch(r"[A-Za-z]", name):
                    env[name] = known[0]
        checked, bad = 0, []
        if all(r == "=" for r in self.relations):
            known = [(s, v) for s, v in zip(self.sides, values, strict=True) if v is not None]
            for (s0, v0), (s1, v1) in pairwise(known):
                checked += 1
                if v0 != v1:
                    bad.append(f"{_trim(s0)} = {_trim(s1)} is false: {_show(v0)} != {_show(v1)}")
            return checked, bad
        for i, rel in enumerate(self.relations):
            a, b = values[i], values[i + 1]
            if a is None or b is None:
                continue
            checked += 1
            if not REL[rel](a, b):
                bad.append(f"{_trim(self.sides[i])} {rel} {_trim(self.sides[i + 1])} is false: "
                           f"{_show(a)} vs {_show(b)}")
        return checked, bad


def _show(v: Fraction | None) -> str:
    return "?" if v is None else str(v)


def _aligned_rows(body: str) -> list[str]:
    """Rows of an aligned block as logical chains: `&= x` continues the previous chain,
    a row without a relation continues the previous row's last side."""
    chains: list[str] = []
    for row in re.split(r"\\\\", body):
        text = row.replace("&", " ")
        text = re.sub(r"\\q?quad(?![a-zA-Z])", " ", text).strip()
        if not text:
            continue
        ascii_row = tex_to_ascii(text).strip()
        if chains and (ascii_row[:1] in "=<>!" or not re.search(r"=|<|>", ascii_row)):
            chains[-1] += " " + text
        else:
            chains.append(text)
    return chains


MATH = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.S)


def math_chains(step: str) -> Iterator[Chain]:
    """Every relation chain in the TeX of one step."""
    for m in MATH.finditer(step):
        tex = html.unescape(m.group(1) if m.group(1) is not None else m.group(2))
        aligned = re.search(r"\\begin\{aligned\}(.*?)\\end\{aligned\}", tex, re.S)
        rows = _aligned_rows(aligned.group(1)) if aligned else [tex]
        for row in rows:
            sides, rels = _split_relations(tex_to_ascii(row))
            if rels:
                yield Chain(row.strip(), sides, rels)


# Arithmetic written in prose: digits, operators, floor/ceil/max/min and brackets.
_PROSE = re.compile(r"(?:floor|ceil|max|min|[0-9()+\-*/=<>≤≥ .])+")


def prose_chains(step: str) -> Iterator[Chain]:
    """Relation chains written in plain text (outside math and code), e.g.
    `(floor((128 + 2*3 - 1*(7-1) - 1) / 2) + 1 = 64)` or `stride = 27 // 8 = 3`."""
    text = MATH.sub(" ; ", step)
    text = CODE.sub(" ; ", text)
    text = text.replace("->", " ; ").replace("→", " ; ").replace("≤", "<=").replace("≥", ">=")
    for m in _PROSE.finditer(text):
        span = m.group(0)
        sides, rels = _split_relations(span)
        if rels and sum(bool(re.search(r"\d", s)) for s in sides) >= 2:
            yield Chain(span.strip(), sides, rels)


_DEFINE = re.compile(r"(?<![A-Za-z_\\{])([a-z])\s*=\s*(\d+)(?![\d.]*\s*[-+*/^(\\\d])")


def step_problems(step: str) -> tuple[int, list[str]]:
    """(relations checked, false ones) for one step: its TeX and its prose arithmetic.
    A single letter the step sets to a bare number (`p = 1`, `n &= ... = 55`) is
    substituted in the step's other formulas, so `\\lfloor n/2 \\rfloor = 27` is checked."""
    env: dict[str, Fraction] = {}
    defined: dict[str, set[str]] = {}
    for name, value in _DEFINE.findall(tex_to_ascii(step)):
        defined.setdefault(name, set()).add(value)
    env.update({k: Fraction(next(iter(v))) for k, v in defined.items() if len(v) == 1})
    checked, bad = 0, []
    for chain in [*math_chains(step), *prose_chains(step)]:
        k, b = chain.problems(env)
        checked += k
        bad.extend(f"{b_}  [in: {chain.source}]" for b_ in b)
    return checked, bad
