"""The jinja2 environment and the Anki-facing template text (DESIGN.md §1: render).

Every template is autoescaped: values reach markup only through ``{{ ... }}``, so
recipe text can never inject tags. The diagram and Worked templates hold their markup
as macros, drawn once per note or more: their text is filled in Python
(:func:`macro_pieces`) with values that are markup already. The diagrams' numbers and
path data are made in :mod:`cardgen.render.diagrams`, which escapes their text (aria
labels, results); the SVG is then the one trusted input here. :func:`render_worked`
escapes the steps and captions (any that is not ``Markup`` already), so no text
reaches the Worked field unescaped.
"""

from __future__ import annotations

import hashlib
import sys
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

from cardgen.resources import templates_dir

# Everything besides a template's source that shapes the code jinja compiles from it.
_OPTIONS: dict[str, Any] = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": False,
}


class TemplateCodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept on disk, as Python keeps .pyc files: compiling the five
    templates costs more at every start than the rest of a small deck's rendering.

    Never stale: jinja checks each entry against the sha1 of the template's current
    source (and the Python version) and recompiles on any difference; the folder is
    named after jinja's version, the options and this module's own source (which sets
    the environment up: autoescape too shapes the code).
    A folder that cannot be written is no error (the templates are compiled in memory),
    and nothing is written when Python writes no bytecode (``PYTHONDONTWRITEBYTECODE``).
    """

    def __init__(self, directory: Path) -> None:
        setup = repr((jinja2.__version__, sorted(_OPTIONS.items()))).encode()
        tag = hashlib.sha256(setup + Path(__file__).read_bytes()).hexdigest()[:12]
        self.folder = Path(directory) / f"jinja-{tag}"
        super().__init__(str(self.folder))

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass  # unreadable: the bucket stays empty and the template is compiled

    def dump_bytecode(self, bucket: Bucket) -> None:
        if sys.dont_write_bytecode:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass  # read-only install: compile in memory each time, as before


def make_environment(templates: Path, code_cache: Path | None) -> jinja2.Environment:
    """An environment on `templates` (autoescape on for all), with compiled templates
    cached under `code_cache` (None: no cache)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # shipped files: no stat() per render
        bytecode_cache=TemplateCodeCache(code_cache) if code_cache is not None else None,
        **_OPTIONS,
    )


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment on the shipped ``templates/``; compiled templates are kept
    beside them in ``__pycache__``, like Python's own."""
    folder = templates_dir()
    return make_environment(folder, folder / "__pycache__")


@cache
def template(name: str) -> jinja2.Template:
    return environment().get_template(name)


_SLOT = "\x00"  # marks an argument in a macro's text (no template writes it)


@cache
def macro_pieces(name: str, macro: str) -> tuple[str, ...]:
    """The text of ``macro`` in template ``name`` around its arguments: literal pieces,
    one more than the arguments, each argument once and in order. Joining the pieces
    with the argument values is the macro's output for values that are markup (jinja
    writes Markup as it is), without a jinja call: diagrams and Worked fields are
    filled by the thousand, and a render cost more than the Python that fills them."""
    made = getattr(template(name).module, macro)
    slots = [f"{_SLOT}{i}{_SLOT}" for i in range(len(made.arguments))]
    parts = str(made(*slots)).split(_SLOT)
    if parts[1::2] != [str(i) for i in range(len(slots))]:
        raise ValueError(f"{name}: macro {macro} must write each argument once, in order")
    return tuple(parts[0::2])


@cache
def macro_arguments(name: str, macro: str) -> tuple[str, ...]:
    """The argument names of ``macro`` in template ``name`` (none if it has no such macro)."""
    made = getattr(template(name).module, macro, None)
    return tuple(made.arguments) if made is not None else ()


_WORKED = "worked/steps.html.j2"


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
        items = open_ + (close + open_).join([_markup(s) for s in steps]) + close
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
