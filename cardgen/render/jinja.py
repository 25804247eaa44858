"""The jinja2 environment on the shipped templates (DESIGN.md §1: render).

Every template is autoescaped: values reach markup only through ``{{ ... }}``, so
recipe text can never inject tags. A build needs jinja only when the macros' text
it fills is not kept yet (:mod:`cardgen.render.macros`); ``cardgen preview`` renders
its page here.
"""

from __future__ import annotations

import hashlib
import sys
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket

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
