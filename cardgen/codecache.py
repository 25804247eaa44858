"""The methods `dataclasses` writes for cardgen's classes, compiled once and kept.

For each class, `dataclasses` writes its methods (``__init__``, ``__eq__``, ``__hash__``,
``__repr__``, a frozen class's ``__setattr__``...) as source text and compiles that text
with ``exec`` while the module is imported. For cardgen's classes that compiling was
about a third of what importing the build costs (some 250 texts). Code is a pure
function of its text and of the Python that compiles it, so the code is kept on disk in
cardgen's ``__pycache__``, as Python keeps ``.pyc`` files: one file per Python (its
cache tag, bytecode magic number and optimization level), a dict from exact text to
code. A text that is not kept is compiled as before.

Only classes defined in cardgen's own modules go through the cache: `install` gives the
``dataclasses`` module its own ``exec`` (a module-level name shadows the builtin) that
hands anything else to the builtin unchanged. Nothing is written when Python writes no
bytecode, and a folder that cannot be written is no error.
"""

from __future__ import annotations

import atexit
import builtins
import marshal
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["install", "kept_path"]

_PACKAGE = __name__.rpartition(".")[0]  # "cardgen"
_MOST = 2000  # texts kept at most; past that the file starts again from this run's
_kept: dict[str, CodeType] | None = None  # read from disk on first use
_used: dict[str, CodeType] = {}
_new = False


def kept_path() -> Path | None:
    """The file for this Python, or None where bytecode goes elsewhere."""
    if sys.pycache_prefix is not None:
        return None
    optimize = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    name = f"dataclasses.{sys.implementation.cache_tag}{optimize}.marshal"
    return Path(__file__).parent / "__pycache__" / name


def _read() -> dict[str, CodeType]:
    path = kept_path()
    try:
        data = path.read_bytes() if path else b""
        if data[:len(MAGIC_NUMBER)] == MAGIC_NUMBER:
            kept = marshal.loads(data[len(MAGIC_NUMBER):])
            if isinstance(kept, dict) and all(
                    type(k) is str and type(v) is CodeType for k, v in kept.items()):
                return kept
    except (OSError, ValueError, EOFError, TypeError):
        pass  # unreadable or from another Python: compiled again
    return {}


def _exec(source: Any, globals: dict[str, Any] | None = None,  # noqa: A002
          locals: Any = None) -> None:  # noqa: A002
    global _kept, _new
    name = globals.get("__name__") if type(globals) is dict else None
    if type(source) is not str or type(name) is not str or \
            not (name == _PACKAGE or name.startswith(_PACKAGE + ".")):
        builtins.exec(source, globals, locals)
        return
    if _kept is None:
        _kept = _read()
    code = _used.get(source) or _kept.get(source)
    if code is None:
        # exec(source) would compile it with the flags of its caller, dataclasses,
        # which has no __future__ imports: none inherited here either
        code = compile(source, "<string>", "exec", dont_inherit=True)
        _new = True
    _used[source] = code
    builtins.exec(code, globals, locals)


def _save() -> None:
    path = kept_path()
    if not _new or sys.dont_write_bytecode or path is None:
        return
    kept = {**(_kept or {}), **_used}
    if len(kept) > _MOST:
        kept = dict(_used)
    from cardgen.output import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, MAGIC_NUMBER + marshal.dumps(kept))  # never half a file
    except OSError:
        pass  # read-only install: compiled each time


def install() -> None:
    """Route the compiling of cardgen's dataclasses through the cache (once)."""
    import dataclasses

    if getattr(dataclasses, "exec", None) is not _exec:
        dataclasses.exec = _exec  # type: ignore[attr-defined]
        atexit.register(_save)
