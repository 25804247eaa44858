"""The text of the templates' macros, without jinja when it can be: the build's path.

The diagram and Worked templates hold their markup as jinja macros, and the build fills
them in Python (:func:`macro_pieces`: the text around each argument). That text is a
pure function of the templates, this module and jinja, so it is kept on disk beside the
compiled templates (``templates/__pycache__``, as Python keeps ``.pyc`` files) and a
build whose templates have not changed reads it there instead of importing jinja, which
cost a default-deck build about a tenth of its time.

Never stale: the file names a digest of this module's source, jinja's own source file
and every template's source, and a file of any other digest is not read. A folder that
cannot be written is no error (the text is made with jinja each time), and nothing is
written when Python writes no bytecode (``PYTHONDONTWRITEBYTECODE``).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from cardgen.digest import sha256
from cardgen.output import write_atomic
from cardgen.resources import templates_dir

_SLOT = "\x00"  # marks an argument in a macro's text (no template writes it)


def _digest(folder: Path) -> str:
    spec = importlib.util.find_spec("jinja2")
    parts = [Path(__file__).read_bytes(),
             Path(spec.origin).read_bytes() if spec and spec.origin else b""]
    for path in sorted(folder.rglob("*.j2")):
        parts += [path.relative_to(folder).as_posix().encode(), path.read_bytes()]
    return sha256(b"\x1f".join(parts)).hexdigest()[:16]


@lru_cache(maxsize=1)
def _store() -> tuple[Path, dict[str, Any]]:
    """Where the macros' text is kept, and what is kept there."""
    folder = templates_dir()
    path = folder / "__pycache__" / f"macros-{_digest(folder)}.json"
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    return path, kept if isinstance(kept, dict) else {}


def _keep(path: Path, kept: dict[str, Any]) -> None:
    if sys.dont_write_bytecode:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(kept, sort_keys=True).encode())  # never half a file
    except OSError:
        pass  # read-only install: made with jinja each time


def _made(name: str) -> dict[str, Any]:
    """Every macro of template ``name``, made with jinja: its argument names, and its text
    around them (None where a macro does not write each argument once, in order)."""
    from cardgen.render.jinja import template  # jinja: only when the text is not kept

    module = template(name).module
    made: dict[str, Any] = {}
    for macro in dir(module):
        function = getattr(module, macro)
        arguments = getattr(function, "arguments", None)
        if macro.startswith("_") or arguments is None:
            continue
        slots = [f"{_SLOT}{i}{_SLOT}" for i in range(len(arguments))]
        parts = str(function(*slots)).split(_SLOT)
        pieces = parts[0::2] if parts[1::2] == [str(i) for i in range(len(slots))] else None
        made[macro] = {"arguments": list(arguments), "pieces": pieces}
    return made


def _macro(name: str, macro: str) -> dict[str, Any] | None:
    path, kept = _store()
    if name not in kept:
        kept[name] = _made(name)
        _keep(path, kept)
    return kept[name].get(macro)


@cache
def macro_pieces(name: str, macro: str) -> tuple[str, ...]:
    """The text of ``macro`` in template ``name`` around its arguments: literal pieces,
    one more than the arguments, each argument once and in order. Joining the pieces
    with the argument values is the macro's output for values that are markup (jinja
    writes Markup as it is), without a jinja call: diagrams and Worked fields are
    filled by the thousand, and a render cost more than the Python that fills them."""
    found = _macro(name, macro)
    if found is None:
        raise ValueError(f"{name}: no macro {macro}")
    if found["pieces"] is None:
        raise ValueError(f"{name}: macro {macro} must write each argument once, in order")
    return tuple(found["pieces"])


@cache
def macro_arguments(name: str, macro: str) -> tuple[str, ...]:
    """The argument names of ``macro`` in template ``name`` (none if it has no such macro)."""
    found = _macro(name, macro)
    return tuple(found["arguments"]) if found is not None else ()
