"""Read the notes of an .apkg that may be hostile (used by `cardgen verify`).

Nothing in the file is trusted: the zip may be malformed or a bomb, the collection may
be corrupt or not SQLite at all, the JSON may be anything. Every such problem becomes
one ApkgError with a one-line message; temp files are always removed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MAX_COLLECTION_BYTES", "MAX_NOTES", "MAX_VALUE_BYTES", "ApkgError", "NoteStream",
           "ReadNote", "open_notes", "read_notes"]

# Larger than any deck cardgen writes by two orders of magnitude, small enough that a
# zip bomb cannot fill the disk.
MAX_COLLECTION_BYTES = 512 * 1024 * 1024
_CHUNK = 1024 * 1024
# A recipe holds at most 11 families x 100,000 notes; a deck's notes are counted first.
MAX_NOTES = 2_000_000
# Any one value SQLite hands over (a note's fields together, col.models): a cardgen note
# is a few KB, a Spec at most verify.MAX_SPEC_CHARS.
MAX_VALUE_BYTES = 32 * 1024 * 1024
MAX_NOTE_TYPES = 10_000
_STEP_UNIT = 100_000
_STEPS_BASE = 200_000_000
_STEPS_PER_BYTE = 200
_TABLES = ("col", "notes", "notetypes", "fields")
_REQUIRED = ("col", "notes")
# json.JSONDecodeError is a ValueError; Key/Type/AttributeError: JSON of the wrong shape.
_DB_ERRORS = (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError, RecursionError,
              OverflowError)

# Errors the zip and zlib modules raise on malformed input (not only BadZipFile).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
               RuntimeError, OverflowError, KeyError, UnicodeDecodeError)


class ApkgError(Exception):
    """The file is not a readable Anki package; the message is one line."""


@dataclass
class ReadNote:
    note_id: int
    guid: str
    fields: dict[str, str]
    tags: list[str]
    model_name: str


def _one_line(exc: object) -> str:
    # Messages may quote hostile data: one line, bounded length.
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _pick_entry(names: set[str], path: Path) -> str:
    # collection.anki21 is the legacy export of Anki >= 2.1; when a package holds
    # collection.anki21b (zstd, Anki >= 2.1.50), its collection.anki2 is only a stub
    # that tells old clients to upgrade, so reading it would silently give wrong notes.
    if "collection.anki21" in names:
        return "collection.anki21"
    if "collection.anki21b" in names:
        raise ApkgError(
            f"{path}: collection.anki21b (zstd) format is not supported; re-export the deck "
            f"with 'Support older Anki versions' checked"
        )
    if "collection.anki2" in names:
        return "collection.anki2"
    raise ApkgError(f"{path}: no collection.anki2 or collection.anki21 in the package")


def _extract(zf: zipfile.ZipFile, name: str, dest: Path, limit: int, path: Path) -> None:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise ApkgError(f"{path}: {name} declares {info.file_size} bytes, limit is {limit}")
    # The declared size can lie: count what is actually inflated.
    total = 0
    with zf.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                raise ApkgError(f"{path}: {name} inflates to more than {limit} bytes")
            out.write(chunk)


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Only real tables may be read: a view (a recursive CTE runs without end), a virtual
    table or a generated column would make a tiny file compute without bound."""
    kinds: dict[str, tuple[str, str]] = {}
    for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view')"):
        if isinstance(name, str):
            kinds[name.lower()] = (str(kind), sql if isinstance(sql, str) else "")
    for table in _TABLES:
        if table not in kinds:
            if table in _REQUIRED:
                raise ApkgError(f"{path}: corrupt collection: no {table} table")
            continue
        kind, sql = kinds[table]
        if kind != "table" or sql.lstrip()[:14].upper().startswith("CREATE VIRTUAL"):
            raise ApkgError(f"{path}: corrupt collection: {table} is a {kind}, "
                            f"not a plain table")
        for row in conn.execute(f"PRAGMA table_xinfo({table})"):
            if row[6] != 0:  # hidden: 2 and 3 are generated columns
                raise ApkgError(f"{path}: corrupt collection: {table}.{_one_line(row[1])} "
                                f"is a generated column")
    pk = [(row[1], str(row[2]).upper()) for row in conn.execute("PRAGMA table_info(notes)")
          if row[5]]
    if pk != [("id", "INTEGER")]:
        # Then notes are read in rowid order, with no sort into a temp file.
        raise ApkgError(f"{path}: corrupt collection: notes.id is not an integer primary key")


def _field_names(conn: sqlite3.Connection) -> dict[int, tuple[str, list[str]]]:
    """Note type id -> (name, field names in ord order)."""
    (models_json,) = conn.execute("SELECT models FROM col").fetchone() or ("",)
    result: dict[int, tuple[str, list[str]]] = {}
    if models_json:
        models = json.loads(models_json)
        if not isinstance(models, dict):
            raise ValueError("col.models is not a JSON object")
        for mid, model in models.items():
            flds = sorted(model["flds"], key=lambda f: int(f["ord"]))
            result[int(mid)] = (str(model["name"]), [str(f["name"]) for f in flds])
        return result
    # Schema 15+ (Anki >= 2.1.28) keeps note types in tables instead of col.models.
    names = dict(conn.execute("SELECT id, name FROM notetypes LIMIT ?", (MAX_NOTE_TYPES,)))
    for ntid, name in names.items():
        fields = conn.execute(
            "SELECT name FROM fields WHERE ntid = ? ORDER BY ord LIMIT ?",
            (ntid, MAX_NOTE_TYPES),
        ).fetchall()
        result[int(ntid)] = (str(name), [str(f) for (f,) in fields])
    return result


class _Connection(sqlite3.Connection):
    out_of_steps = False


def _connect(db: Path, size: int) -> _Connection:
    uri = f"{db.resolve().as_uri()}?mode=ro&immutable=1"  # never writes a journal/WAL beside it
    conn = sqlite3.connect(uri, uri=True, factory=_Connection)
    conn.execute("PRAGMA trusted_schema = OFF")  # no functions run from hostile schema
    conn.execute("PRAGMA cell_size_check = ON")
    # No value larger than a field may be: a bigger one is an error, not a 1 GB string.
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100)
    conn.setlimit(sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 10)
    # A last guard: every statement together may run only so many virtual machine steps,
    # in proportion to the file (a plain scan needs a few per row).
    steps = {"left": _STEPS_BASE + _STEPS_PER_BYTE * size}

    def guard() -> int:
        steps["left"] -= _STEP_UNIT
        if steps["left"] >= 0:
            return 0
        conn.out_of_steps = True
        return 1

    conn.set_progress_handler(guard, _STEP_UNIT)
    return conn


class NoteStream:
    """The notes of an open collection, read one at a time (`count` of them)."""

    def __init__(self, conn: _Connection, path: Path, count: int,
                 models: dict[int, tuple[str, list[str]]]) -> None:
        self._conn, self.path, self.count, self._models = conn, path, count, models

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[ReadNote]:
        path = self.path
        try:
            rows = self._conn.execute(
                "SELECT id, guid, mid, tags, flds FROM notes ORDER BY id LIMIT ?",
                (self.count,))
            for note_id, guid, mid, tags, flds in rows:
                yield _note(path, self._models, note_id, guid, mid, tags, flds)
        except sqlite3.Error as exc:
            raise _db_error(self._conn, path, exc) from None


def _db_error(conn: _Connection | None, path: Path, exc: BaseException) -> ApkgError:
    if conn is not None and conn.out_of_steps:
        return ApkgError(f"{path}: reading the collection takes more work than a file of "
                         f"its size can need (a hostile schema?)")
    return ApkgError(f"{path}: corrupt collection: {_one_line(exc)}")


def _note(path: Path, models: dict[int, tuple[str, list[str]]], note_id: Any, guid: Any,
          mid: Any, tags: Any, flds: Any) -> ReadNote:
    if not all(isinstance(v, str) for v in (guid, tags, flds)):
        raise ApkgError(f"{path}: note {_one_line(repr(note_id))} has non-text columns")
    if mid not in models:
        raise ApkgError(f"{path}: note {note_id} uses unknown note type "
                        f"{_one_line(repr(mid))}")
    model_name, names = models[mid]
    values = flds.split("\x1f")
    if len(values) != len(names):
        raise ApkgError(
            f"{path}: note {note_id} has {len(values)} fields, "
            f"note type {_one_line(repr(model_name))} has {len(names)}"
        )
    return ReadNote(int(note_id), guid, dict(zip(names, values, strict=True)),
                    tags.split(), model_name)


def _open_db(db: Path, path: Path, max_notes: int) -> tuple[_Connection, NoteStream]:
    conn = _connect(db, db.stat().st_size)
    try:
        _check_schema(conn, path)
        models = _field_names(conn)
        (count,) = conn.execute("SELECT count(*) FROM notes").fetchone()
        if count > max_notes:
            raise ApkgError(f"{path}: {count} notes, more than verify reads "
                            f"(limit {max_notes})")
        return conn, NoteStream(conn, path, count, models)
    except _DB_ERRORS as exc:
        conn.close()
        raise _db_error(conn, path, exc) from None
    except BaseException:
        conn.close()
        raise


@contextlib.contextmanager
def open_notes(path: str | Path, *, max_bytes: int = MAX_COLLECTION_BYTES,
               max_notes: int = MAX_NOTES) -> Iterator[NoteStream]:
    """The notes of the package at `path`, streamed in note id order (cardgen's new-card
    order): memory stays flat whatever the deck's size. Every problem with the file,
    also while iterating, is an ApkgError."""
    path = Path(path)
    tmp = tempfile.mkdtemp(prefix="cardgen-apkg-")
    try:
        db = Path(tmp) / "collection.sqlite"
        try:
            with zipfile.ZipFile(path) as zf:
                entry = _pick_entry(set(zf.namelist()), path)
                _extract(zf, entry, db, max_bytes, path)
        except ApkgError:
            raise
        except OSError as exc:
            raise ApkgError(f"{path}: cannot read: {_one_line(exc)}") from None
        except _ZIP_ERRORS as exc:
            raise ApkgError(f"{path}: not a valid .apkg (zip): {_one_line(exc)}") from None
        try:
            conn, stream = _open_db(db, path, max_notes)
        except sqlite3.Error as exc:  # not even a database
            raise _db_error(None, path, exc) from None
        # SQLite holds the file open: remove it now, so that not even a killed process
        # leaves the copy behind.
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            yield stream
        finally:
            conn.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_notes(path: str | Path, *, max_bytes: int = MAX_COLLECTION_BYTES) -> list[ReadNote]:
    """All notes of the package at `path`, in note id order (cardgen's new-card order)."""
    with open_notes(path, max_bytes=max_bytes) as notes:
        return list(notes)
