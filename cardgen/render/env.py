"""The Anki-facing template text and the Worked field (DESIGN.md §1: render).

The diagram and Worked templates hold their markup as jinja macros, drawn once per note
or more: their text is filled in Python (:func:`macro_pieces`, kept on disk so that a
build need not import jinja) with values that are markup already. The diagrams' numbers
and path data are made in :mod:`cardgen.render.diagrams`, which escapes their text (aria
labels, results); the SVG is then the one trusted input here. :func:`render_worked`
escapes the steps and captions (any that is not ``Markup`` already), so no text
reaches the Worked field unescaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from cardgen.render.macros import macro_arguments, macro_pieces
from cardgen.resources import templates_dir

__all__ = ["back_template", "card_css", "escape_text", "front_template", "macro_arguments",
           "macro_pieces", "render_worked"]

_WORKED = "worked/steps.html.j2"


def escape_text(value: str) -> str:
    """``str(escape(value))``. Most text holds none of the five characters escape replaces,
    and five scans for them cost less than escaping it (or a regex search)."""
    if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
        return str(escape(value))
    return value


def render_worked(steps: list[str], diagrams: list[tuple[str, str]]) -> str:
    """The ``Worked`` field: numbered steps, then each diagram with its caption.

    ``steps`` are plain text that may hold MathJax ``\\( ... \\)``; they are HTML-escaped
    (MathJax reads the decoded text, so ``\\(a < b\\)`` still typesets; ``\\lt`` also works).
    ``diagrams`` are ``(svg, caption)`` pairs: the SVG comes from our own diagram
    functions and is inserted as markup; the caption is escaped text.
    The template's macros hold the markup, filled here as pieces (:func:`macro_pieces`);
    a step that is Markup already (note.inline_html's) is not escaped again.
    """
    blocks = []
    if steps:
        begin, end = macro_pieces(_WORKED, "steps")
        open_, close = macro_pieces(_WORKED, "step")
        # one join: the pieces between two steps are the step's end and the next's start
        # _markup inline: a step is most often Markup already (a call per step cost more)
        items = open_ + (close + open_).join([s if type(s) is Markup else escape(s)
                                              for s in steps]) + close
        blocks.append(begin + items + end)
    if diagrams:
        f0, f1, f2 = macro_pieces(_WORKED, "figure")
        c0, c1 = macro_pieces(_WORKED, "caption")
        # f-strings, not +: Markup's + would escape the piece after it
        blocks += [f"{f0}{svg}{f1}{f'{c0}{_markup(text)}{c1}' if text else ''}{f2}"
                   for svg, text in diagrams]
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
