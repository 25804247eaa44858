"""The jinja2 environment and the Anki-facing template text (DESIGN.md §1: render).

Every template is autoescaped: values reach markup only through ``{{ ... }}``, so
recipe text can never inject tags. The diagram templates are the one exception: drawn
once per note, they turn autoescape off around numbers and path data that
:mod:`cardgen.render.diagrams` makes, and escape their text (labels, results) with ``|e``.
Their SVG is then the one trusted input here, wrapped in ``Markup``.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import jinja2
from markupsafe import Markup

from cardgen.resources import templates_dir


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment: loader on the shipped ``templates/``, autoescape on for all."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # shipped files: no stat() per render
    )


@cache
def template(name: str) -> jinja2.Template:
    return environment().get_template(name)


def render(name: str, values: dict[str, Any]) -> str:
    """``Template.render`` less copying the environment's globals into every context
    (a few us of a ~10 us render, once per note): cardgen's templates use none."""
    tmpl = template(name)
    context = tmpl.new_context(values, shared=True)
    try:
        return "".join(tmpl.root_render_func(context))
    except Exception:
        tmpl.environment.handle_exception()  # re-raises with template line numbers
        raise


def render_worked(steps: list[str], diagrams: list[tuple[str, str]]) -> str:
    """The ``Worked`` field: numbered steps, then each diagram with its caption.

    ``steps`` are plain text that may hold MathJax ``\\( ... \\)``; they are HTML-escaped
    (MathJax reads the decoded text, so ``\\(a < b\\)`` still typesets; ``\\lt`` also works).
    ``diagrams`` are ``(svg, caption)`` pairs: the SVG comes from our own diagram
    functions and is inserted as markup; the caption is escaped text.
    """
    figures = [{"svg": Markup(svg), "caption": caption} for svg, caption in diagrams]
    return render("worked/steps.html.j2", {"steps": steps, "diagrams": figures}).strip()


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
