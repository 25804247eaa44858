"""The Anki-facing template text and the Worked field (DESIGN.md §1: render).

The diagram and Worked templates hold their markup as jinja macros, drawn once per note
or more: their text is filled in Python (:func:`macro_pieces`, kept on disk so that a
build need not import jinja) with values that are markup already. The diagrams' numbers
and path data are made in :mod:`cardgen.render.diagrams`, which escapes their text (aria
labels, results); the SVG is then the one trusted input here. :func:`render_worked`
escapes the steps and captions (any that is not ``Markup`` already); :func:`worked_text`
takes them escaped by its caller (the build's is ``note.inline_html``), so no text
reaches the Worked field unescaped.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup, escape

from cardgen.render.macros import macro_arguments, macro_pieces
from cardgen.resources import templates_dir

__all__ = ["back_template", "card_css", "escape_text", "front_template", "macro_arguments",
           "macro_pieces", "render_worked", "worked_text"]

_WORKED = "worked/steps.html.j2"


def escape_text(value: str) -> str:
    """``str(escape(value))``: markupsafe's five replacements, ``&`` first, made with
    str.replace (no Markup made and turned back into a str). Most text holds none of the
    five characters, and five scans for them cost less than escaping it."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "'" in value:
        value = value.replace("'", "&#39;")
    if '"' in value:
        value = value.replace('"', "&#34;")
    return value


def render_worked(steps: list[str], diagrams: list[tuple[str, str]]) -> str:
    """The ``Worked`` field: numbered steps, then each diagram with its caption.

    ``steps`` are plain text that may hold MathJax ``\\( ... \\)``; they are HTML-escaped
    (MathJax reads the decoded text, so ``\\(a < b\\)`` still typesets; ``\\lt`` also works).
    ``diagrams`` are ``(svg, caption)`` pairs: the SVG comes from our own diagram
    functions and is inserted as markup; the caption is escaped text.
    A step or caption that is Markup already is not escaped again.
    """
    return worked_text([_markup(s) for s in steps],
                       [(svg, _markup(text) if text else "") for svg, text in diagrams])


@cache
def _worked_pieces() -> tuple[str, str, str, str, str, str, str, str]:
    """The Worked template's text around the steps and figures, joined once: the steps
    block's start with the first step's, a step's end with the next's start, the last
    step's end with the block's end; then a figure's and a caption's pieces."""
    begin, end = macro_pieces(_WORKED, "steps")
    open_, close = macro_pieces(_WORKED, "step")
    f0, f1, f2 = macro_pieces(_WORKED, "figure")
    c0, c1 = macro_pieces(_WORKED, "caption")
    return begin + open_, close + open_, close + end, f0, f1, f2, c0, c1


def worked_text(steps: list[str], figures: list[tuple[str, str]]) -> str:
    """The ``Worked`` field from markup: ``steps`` and the figures' captions are HTML
    already (escaped by the caller; a caption may be empty: none is written), each SVG
    is our own. The template's macros hold the markup, filled as pieces
    (:func:`macro_pieces`), so no text is escaped here."""
    head, between, tail, f0, f1, f2, c0, c1 = _worked_pieces()
    # one join: the pieces between two steps are the step's end and the next's start
    blocks = [head + between.join(steps) + tail] if steps else []
    if figures:
        blocks += [f"{f0}{svg}{f1}{c0}{caption}{c1}{f2}" if caption else f"{f0}{svg}{f1}{f2}"
                   for svg, caption in figures]
    return "\n".join(blocks)  # the template's blocks, one a line


def _markup(text: str) -> Markup:
    """Text as markup: escaped unless it is Markup already (as jinja's autoescape does)."""
    return text if type(text) is Markup else escape(text)


def _read(name: str) -> str:
    return (templates_dir() / name).read_text(encoding="utf-8")


def card_css() -> str:
    """The note type's CSS (light and Anki night mode)."""
    return _read("card.css")


def front_template() -> str:
    """Anki's question template (plain Anki template syntax, not jinja)."""
    return _read("front.html.j2").strip()


def back_template() -> str:
    """Anki's answer template (plain Anki template syntax, not jinja)."""
    return _read("back.html.j2").strip()
