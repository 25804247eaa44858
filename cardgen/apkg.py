"""Read the notes of an .apkg that may be hostile (used by `cardgen verify`).

Nothing in the file is trusted: the zip may be malformed or a bomb, the collection may
be corrupt or not SQLite at all, the JSON may be anything. Every such problem becomes
one ApkgError with a one-line message; temp files are always removed.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_COLLECTION_BYTES", "ApkgError", "ReadNote", "read_notes"]

# Larger than any deck cardgen writes by two orders of magnitude, small enough that a
# zip bomb cannot fill the disk.
MAX_COLLECTION_BYTES = 512 * 1024 * 1024
_CHUNK = 1024 * 1024

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


def _one_line(exc: BaseException) -> str:
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
    names = dict(conn.execute("SELECT id, name FROM notetypes"))
    for ntid, name in names.items():
        fields = conn.execute(
            "SELECT name FROM fields WHERE ntid = ? ORDER BY ord", (ntid,)
        ).fetchall()
        result[int(ntid)] = (str(name), [str(f) for (f,) in fields])
    return result


def _read_db(db: Path, path: Path) -> list[ReadNote]:
    uri = f"{db.resolve().as_uri()}?mode=ro&immutable=1"  # never writes a journal/WAL beside it
    conn = sqlite3.connect(uri, uri=True)
    try:
        conn.execute("PRAGMA trusted_schema = OFF")  # no functions run from hostile views
        models = _field_names(conn)
        notes = []
        for note_id, guid, mid, tags, flds in conn.execute(
            "SELECT id, guid, mid, tags, flds FROM notes ORDER BY id"
        ):
            if not all(isinstance(v, str) for v in (guid, tags, flds)):
                raise ApkgError(f"{path}: note {note_id!r} has non-text columns")
            if mid not in models:
                raise ApkgError(f"{path}: note {note_id} uses unknown note type {mid}")
            model_name, names = models[mid]
            values = flds.split("\x1f")
            if len(values) != len(names):
                raise ApkgError(
                    f"{path}: note {note_id} has {len(values)} fields, "
                    f"note type {model_name!r} has {len(names)}"
                )
            notes.append(ReadNote(int(note_id), guid, dict(zip(names, values, strict=True)),
                                  tags.split(), model_name))
        return notes
    finally:
        conn.close()


def read_notes(path: str | Path, *, max_bytes: int = MAX_COLLECTION_BYTES) -> list[ReadNote]:
    """All notes of the package at `path`, in note id order (cardgen's new-card order)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="cardgen-apkg-") as tmp:
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
            return _read_db(db, path)
        except ApkgError:
            raise
        except (sqlite3.Error, ValueError, KeyError, TypeError, AttributeError,
                RecursionError) as exc:
            # json.JSONDecodeError is a ValueError; Key/Type/AttributeError: JSON of the
            # wrong shape.
            raise ApkgError(f"{path}: corrupt collection: {_one_line(exc)}") from None
