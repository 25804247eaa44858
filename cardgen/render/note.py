"""Problem + Solution -> the four note fields (DESIGN.md §3)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape

from cardgen.families.base import Diagram, Solution
from cardgen.generate import Problem, compact_json
from cardgen.render.diagrams import DIAGRAMS
from cardgen.render.env import render_worked

_CODE = re.compile(r"`([^`]+)`")


def _code_tag(match: re.Match[str]) -> str:
    return f"<code>{match.group(1)}</code>"


@lru_cache(maxsize=4096)  # forms, captions and fixed steps repeat across a deck
def inline_html(text: str) -> Markup:
    """Escape text, then turn `code` spans into <code>; MathJax \\( \\) passes through."""
    html = str(escape(text))
    return Markup(_CODE.sub(_code_tag, html) if "`" in html else html)


_DRAWN: dict[tuple[str, str], str] = {}
# Started afresh when full: 10,000 notes over every family draw about 4,500 distinct
# diagrams (1-3 KB each), and a smaller memo was cleared mid-build and drew repeats again.
_DRAWN_MAX = 8192


def draw(diagram: Diagram) -> str:
    """Diagrams are pure functions of their arguments, and decks repeat them: cache.
    The key is the repr of the arguments (ints, strings and lists of them), which is
    exact and cheaper than canonical JSON."""
    key = (diagram.kind, repr(sorted(diagram.args.items())))
    svg = _DRAWN.get(key)
    if svg is None:
        svg = DIAGRAMS[diagram.kind](**diagram.args)
        if len(_DRAWN) >= _DRAWN_MAX:
            _DRAWN.clear()
        _DRAWN[key] = svg
    return svg


def front_html(solution: Solution) -> str:
    parts = [f'<div class="cg-q">{inline_html(solution.question)}</div>']
    if solution.table and len(solution.table) == 1:  # a sequence: wraps on a phone
        cells = "".join(f"<span>{int(v)}</span>" for v in solution.table[0])
        parts.append(f'<div class="cg-numbers cg-seq">{cells}</div>')
    elif solution.table:
        rows = "".join("<tr>" + "".join(f"<td>{int(v)}</td>" for v in row) + "</tr>"
                       for row in solution.table)
        parts.append(f'<table class="cg-numbers">{rows}</table>')
    parts.append(f'<div class="cg-form">Type {inline_html(solution.form)}.</div>')
    return "".join(parts)


def worked_html(solution: Solution) -> str:
    return render_worked([inline_html(s) for s in solution.steps],
                         [(Markup(draw(d)), inline_html(d.caption)) for d in solution.diagrams])


_SPEC_JSON = compact_json(sort_keys=False)


def spec_json(problem: Problem, solution: Solution) -> str:
    spec: dict[str, Any] = {"v": 2, "family": problem.family, "level": problem.level,
                            "params": problem.params, "answer": solution.answer,
                            "claims": solution.claims}
    return _SPEC_JSON(spec)  # json.dumps(spec, separators=(",", ":"))


def note_fields(problem: Problem, solution: Solution) -> tuple[str, str, str, str]:
    """Front, Answer, Worked, Spec."""
    return (front_html(solution), solution.answer, worked_html(solution),
            spec_json(problem, solution))
