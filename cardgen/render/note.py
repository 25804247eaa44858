"""Problem + Solution -> the four note fields (DESIGN.md §3)."""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from functools import cache, lru_cache
from inspect import signature
from json import encoder as json_encoder
from typing import Any

from cardgen.families.base import Diagram, Solution
from cardgen.generate import Problem, compact_json
from cardgen.mistakes import Mistake, mistakes
from cardgen.render.diagrams import DIAGRAMS
from cardgen.render.env import escape_text as _attr
from cardgen.render.env import worked_text


def _code_spans(html: str) -> str:
    """Each `x` span (x holds no backtick and is not empty) as <code>x</code>, scanned left
    to right as ``re.sub(r"`([^`]+)`", r"<code>\\1</code>", html)`` does: on the pieces
    between backticks, without a Python call per span (re calls one per match)."""
    parts = html.split("`")
    if len(parts) == 3 and parts[1]:  # one span (the most common text)
        return f"{parts[0]}<code>{parts[1]}</code>{parts[2]}"
    out = [parts[0]]
    k, last = 1, len(parts) - 1
    while k <= last:
        if k < last and parts[k]:  # a backtick, text, a backtick: a span
            out += ("<code>", parts[k], "</code>", parts[k + 1])
            k += 2
        else:  # a backtick that opens nothing stays as it is
            out += ("`", parts[k])
            k += 1
    return "".join(out)


def inline_html(text: str) -> str:
    """Escape text (as markupsafe's escape), then turn `code` spans into <code>; MathJax
    \\( \\) passes through. A plain str: every caller puts it in a field's markup, and
    a Markup made (escape's, then one of our own) cost more than the escaping itself."""
    # _attr's replacements inline (a call per text cost more): most text has none to make
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "'" in text:
        text = text.replace("'", "&#39;")
    if '"' in text:
        text = text.replace('"', "&#34;")
    return _code_spans(text) if "`" in text else text


@lru_cache(maxsize=256)
def _form_html(form: str) -> str:
    """The answer form's line of the Front field. Forms are few (10,000 notes of every family
    have 36) and every note writes one; questions, steps, captions and mistakes'
    lines are mostly new text, and a cache of them cost more than it saved."""
    return f'<div class="cg-form">Type {inline_html(form)}.</div>'


_DRAWN: dict[tuple[str, bytes | str], str] = {}
# Started afresh when full: 10,000 notes over every family draw about 4,500 distinct
# diagrams (1-3 KB each), and a smaller memo was cleared mid-build and drew repeats again.
_DRAWN_MAX = 8192


@cache
def _defaults(kind: str) -> dict[str, Any]:
    """The keyword defaults of a diagram kind's function, in its signature's order."""
    parameters = signature(DIAGRAMS[kind]).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not p.empty}


def draw(diagram: Diagram) -> str:
    """Diagrams are pure functions of their arguments, and decks repeat them: cache.
    The key is the arguments' marshal (version 2: by value, no references to objects
    seen before), which is exact (marshal reads back the same values, of the same types)
    and cheaper than their repr or canonical JSON; an argument marshal refuses is keyed by
    the repr of them all. The families write them in one order, and the same arguments in
    another would only be drawn again. Defaults are filled in first: families that leave
    one out (a pooling strip's dilation, a conv strip's ceil_mode) draw the same strips as
    those that write it."""
    defaults = _defaults(diagram.kind)
    args = {**defaults, **diagram.args} if defaults else diagram.args
    try:
        key = (diagram.kind, marshal.dumps(args, 2))  # args in another order: a miss
    except ValueError:  # not ints, strs, bools, None, floats and lists or dicts of them
        key = (diagram.kind, repr(args))
    svg = _DRAWN.get(key)
    if svg is None:
        svg = DIAGRAMS[diagram.kind](**diagram.args)
        if len(_DRAWN) >= _DRAWN_MAX:
            _DRAWN.clear()
        _DRAWN[key] = svg
    return svg


def front_html(solution: Solution) -> str:
    table = solution.table
    if not table:  # most notes: the question and the answer's form only
        numbers = ""
    elif len(table) == 1:  # a sequence: wraps on a phone
        cells = "".join([f"<span>{int(v)}</span>" for v in table[0]])
        numbers = f'<div class="cg-numbers cg-seq">{cells}</div>'
    else:
        rows = "".join(["<tr>" + "".join([f"<td>{int(v)}</td>" for v in row]) + "</tr>"
                        for row in table])
        numbers = f'<table class="cg-numbers">{rows}</table>'
    return (f'<div class="cg-q">{inline_html(solution.question)}</div>{numbers}'
            f'{_form_html(solution.form)}')


def worked_html(solution: Solution) -> str:
    diagrams = solution.diagrams  # none on 2 notes in 5: then no comprehension
    return worked_text([inline_html(s) for s in solution.steps],
                       [(draw(d), inline_html(d.caption)) for d in diagrams]
                       if diagrams else [])


_SPEC_JSON = compact_json(sort_keys=False)
_STRING = json_encoder.encode_basestring_ascii  # a str as _SPEC_JSON writes it
SPEC_VERSION = 3  # v3: variants and mistakes; the top level is variant 0, as in v2


def _scalar(value: Any) -> str:
    kind = type(value)
    return _STRING(value) if kind is str else str(value) if kind is int else _SPEC_JSON(value)


def _variant_json(params: Any, solution: Solution, found: list[Mistake]) -> str:
    """One variant's "params", "answer", "claims" and "mistakes" members, as _SPEC_JSON
    writes them. The fixed text around the values is written here, not encoded: json's
    encoder costs about as much per key or short string as per number."""
    wrong = ",".join([f'{{"rule":{_STRING(m.rule)},"answer":{_STRING(m.answer)}}}'
                      for m in found]) if found else ""  # none on 1 variant in 3
    return (f'"params":{_SPEC_JSON(params)},"answer":{_scalar(solution.answer)},'
            f'"claims":{_SPEC_JSON(solution.claims)},"mistakes":[{wrong}]')


@lru_cache(maxsize=None, typed=True)  # typed: a level True would not be written 1
def _spec_head(family: str, level: int) -> str:
    """The spec's text before variant 0's members: one per family and level."""
    return f'{{"v":{SPEC_VERSION},"family":{_scalar(family)},"level":{_scalar(level)},'


def spec_json(problem: Problem, solutions: Sequence[Solution],
              found: Sequence[list[Mistake]]) -> str:
    """``json.dumps(spec, separators=(",", ":"))`` of {"v", "family", "level", then variant
    0's members, then "variants": the others' members} (the last only with variants)."""
    head = _spec_head(problem.family, problem.level)
    first = _variant_json(problem.params, solutions[0], found[0])
    if len(solutions) == 1:
        return f"{head}{first}}}"
    others = ",".join([f"{{{_variant_json(params, sol, wrong)}}}"
                       for params, sol, wrong in zip(problem.variants, solutions[1:],
                                                     found[1:], strict=True)])
    return f'{head}{first},"variants":[{others}]}}'


class _RuleAttrs(dict[str, str]):
    """A rule's name as an attribute value (escaped), by name: mistakes name a few dozen
    rules, and a dict hit costs less than escaping the name again (a call per mistake)."""

    def __missing__(self, rule: str) -> str:
        self[rule] = text = _attr(rule)
        return text


_rule_attr = _RuleAttrs().__getitem__


def _mistakes_html(found: list[Mistake]) -> str:
    if not found:
        return ""
    lines = "".join([f'<p class="cg-mistake" data-cg-rule="{_rule_attr(m.rule)}" '
                     f'data-cg-answer="{_attr(m.answer)}">{inline_html(m.line)}</p>'
                     for m in found])
    return f'<div class="cg-mistakes" hidden>{lines}</div>'


def variant_fronts(guid: str, solutions: Sequence[Solution]) -> str:
    """The Front field: variant 0 shown, the others in inert <template>s that the card's
    script may swap in (without JavaScript the card is variant 0)."""
    first = solutions[0]
    head = (f'<div class="cg-variants" data-cg-note="{_attr(guid)}" '
            f'data-cg-count="{len(solutions)}">'
            f'<div class="cg-variant" data-cg-variant="0" data-cg-answer="{_attr(first.answer)}">'
            f'{front_html(first)}</div>')
    if len(solutions) == 1:  # most notes have no variants: one string, no list
        return head + "</div>"
    others = "".join([f'<template class="cg-alt" data-cg-variant="{i}" '
                      f'data-cg-answer="{_attr(sol.answer)}">{front_html(sol)}</template>'
                      for i, sol in enumerate(solutions[1:], 1)])
    return f"{head}{others}</div>"


def variant_worked(solutions: Sequence[Solution], found: Sequence[list[Mistake]]) -> str:
    """The Worked field: variant 0's steps (and its mistakes, hidden), then the others'."""
    first = (f'<div class="cg-variant-worked" data-cg-variant="0">{_mistakes_html(found[0])}'
             f'{worked_html(solutions[0])}</div>')
    if len(solutions) == 1:  # most notes have no variants
        return first
    return first + "".join([
        f'<template class="cg-alt-worked" data-cg-variant="{i}">{_mistakes_html(wrong)}'
        f'{worked_html(sol)}</template>'
        for i, (sol, wrong) in enumerate(zip(solutions[1:], found[1:], strict=True), 1)])


def preview_variants(problem: Problem, solutions: Sequence[Solution]
                     ) -> list[tuple[str, str, str]]:
    """(front, answer, worked) of each variant as the card shows it, for ``cardgen
    preview``; the wrong answers the card can name are listed, shown, above the steps.
    ``solutions`` as note_fields takes them."""
    params = (problem.params, *problem.variants)
    out = []
    for p, sol in zip(params, solutions, strict=True):
        found = mistakes(problem.family, p, sol, json_data=True)
        named = "".join(f'<p class="cg-mistake">Typing <code>{_attr(m.answer)}</code>: '
                        f'{inline_html(m.line)}</p>' for m in found)
        worked = (f'<div class="cg-mistakes">{named}</div>' if named else "") + worked_html(sol)
        out.append((front_html(sol), sol.answer, worked))
    return out


def note_fields(problem: Problem, solutions: Sequence[Solution], guid: str
                ) -> tuple[str, str, str, str]:
    """Front, Answer, Worked, Spec. ``solutions`` holds variant 0 (``problem.params``)
    and then one per ``problem.variants``: the family's solve() of each. Params and
    claims are the family's, JSON values already (mistakes need not look them over)."""
    if not problem.variants and len(solutions) == 1:  # most notes: no tuple, zip or loop
        found = [mistakes(problem.family, problem.params, solutions[0], json_data=True)]
    else:
        params = (problem.params, *problem.variants)
        found = [mistakes(problem.family, p, sol, json_data=True)
                 for p, sol in zip(params, solutions, strict=True)]
    return (variant_fronts(guid, solutions), solutions[0].answer,
            variant_worked(solutions, found), spec_json(problem, solutions, found))
