"""Note type, stable ids and GUIDs, and the deterministic .apkg writer (DESIGN.md §3-4).

The collection is genanki's (its schema, first row, deck and note-type JSON, GUIDs and
card rules, kept as data in `cardgen.genanki_format` and tested against genanki's live
values), written with a few bulk statements instead of genanki's per-note loop into a
scratch SQLite file beside the deck, then deflated into a zip with fixed metadata. The
output depends only on the arguments: same notes + same timestamp -> same bytes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cardgen.digest import sha256
from cardgen.genanki_format import APKG_COL, APKG_SCHEMA, FRONT_BACK, NoteType, deck_json, guid_for
from cardgen.output import OutputError, Staged, check_target, scratch, stage

# The writer's own modules (sqlite3, zipfile, mmap, datetime, cardgen.zipout) are
# imported where they are used: a build starts its workers before it opens the
# collection, and they never need them (a forked worker inherits every module its parent
# imported before the fork; what the parent imports after it is its alone).
if TYPE_CHECKING:
    import mmap
    import sqlite3
    import zipfile

__all__ = [
    "FIELDS",
    "FIELD_IDS",
    "MODEL_ID",
    "TEMPLATE_IDS",
    "NoteData",
    "build_timestamp",
    "guid_from_key",
    "make_model",
    "note_guid",
    "stable_id",
    "write_apkg",
]


def stable_id(name: str) -> int:
    """A positive 31-bit id from sha256(name): the same in every process and release."""
    digest = sha256(name.encode("utf-8")).digest()
    # 31 bits keeps the id a positive int32 for every Anki client; `or 1` avoids id 0,
    # which Anki treats as "unsaved".
    return (int.from_bytes(digest[:4], "big") & 0x7FFFFFFF) or 1


# Changing this name creates a new note type in users' collections: don't.
MODEL_ID = stable_id("cardgen note type v1")

FIELDS = ["Front", "Answer", "Worked", "Spec"]

# Anki >= 2.1.67 matches an imported note type's fields and templates to the collection's
# by these ids (by name when either side has none), so a renamed field or template
# updates the note type instead of forking it. Keyed by role, never by display name.
FIELD_IDS = [stable_id(f"cardgen note type v1 field {role}")
             for role in ("front", "answer", "worked", "spec")]
TEMPLATE_IDS = [stable_id("cardgen note type v1 template card")]


def note_guid(family: str, params: dict) -> str:
    """Anki GUID from the problem's identity only, so rewording a card never duplicates it."""
    canon = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return guid_from_key(family, canon)


def guid_from_key(family: str, canonical_params: str) -> str:
    """`note_guid` given the params' canonical JSON (sorted keys, compact, ASCII)."""
    return guid_for(family, canonical_params)


def make_model(front: str, back: str, css: str, name: str = "cardgen") -> NoteType:
    """The single cardgen note type; its id is fixed so rebuilt decks update it in place."""
    return NoteType(
        MODEL_ID,
        name,
        fields=[{"name": field, "id": field_id}
                for field, field_id in zip(FIELDS, FIELD_IDS, strict=True)],
        templates=[{"name": "Card 1", "qfmt": front, "afmt": back, "id": TEMPLATE_IDS[0]}],
        css=css,
        sort_field_index=0,
    )


@dataclass(frozen=True)
class NoteData:
    """One note, ready to package. `deck` is the full name, subdecks joined by '::'."""

    fields: tuple[str, str, str, str]
    tags: tuple[str, ...]
    guid: str
    deck: str


class EncodedNote(NamedTuple):
    """A NoteData whose fields are already UTF-8, the bytes SQLite stores. A build worker
    makes it, and the writer stores the bytes as they are (as TEXT, the same row): a str
    sent over a pipe is encoded by pickle, decoded by the parent and encoded again by
    SQLite, and the last two were about a tenth of the writing process's work. (A named
    tuple: made, pickled and read back for every note, cheaper than a dataclass.)"""

    fields: tuple[bytes, ...]
    tags: tuple[str, ...]
    guid: str
    deck: str

    @classmethod
    def of(cls, note: NoteData) -> EncodedNote:
        return cls(tuple(map(str.encode, note.fields)), note.tags, note.guid, note.deck)

    def decoded(self) -> NoteData:
        return NoteData(tuple(map(bytes.decode, self.fields)),  # type: ignore[arg-type]
                        self.tags, self.guid, self.deck)


def build_timestamp() -> float:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else the current time."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None:
        return time.time()
    text = raw.strip()
    if not text.isdigit():  # isdigit rejects '-', '.', '' and '1e9'
        raise ValueError(
            f"SOURCE_DATE_EPOCH must be a non-negative integer (seconds since 1970-01-01 UTC), "
            f"got {raw!r}"
        )
    return float(int(text))


def _zip_date_time(timestamp: float) -> tuple[int, int, int, int, int, int]:
    # Zip entry times are local-time-free DOS dates in [1980, 2107]; UTC keeps them
    # independent of the build machine's timezone.
    from datetime import UTC, datetime

    dt = datetime.fromtimestamp(timestamp, UTC)
    if dt.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    if dt.year > 2107:
        return (2107, 12, 31, 23, 59, 58)
    return (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


def _deck_chain(name: str) -> list[str]:
    """'A::B::C' -> ['A', 'A::B', 'A::B::C'], rejecting empty components."""
    parts = name.split("::")
    if not name or any(not part.strip() for part in parts):
        raise ValueError(f"invalid deck name {name!r}: empty component")
    return ["::".join(parts[: i + 1]) for i in range(len(parts))]


def _add_decks(decks: dict[str, dict], name: str, descriptions: dict[str, str]) -> None:
    # Parents are created explicitly so they can carry a description and a stable id;
    # order is first appearance, parents first, so the JSON is a function of the notes.
    for chain_name in _deck_chain(name):
        if chain_name not in decks:
            decks[chain_name] = deck_json(stable_id(chain_name), chain_name,
                                          descriptions.get(chain_name, ""))


_PAGE_SIZE = 65536
_INDEXES = [line for line in APKG_SCHEMA.splitlines() if line.startswith("CREATE INDEX ")]
_TABLES = APKG_SCHEMA.replace("\n".join(_INDEXES) + "\n", "")


# Notes go into SQLite in batches as they arrive, so a build can insert while the notes
# still to come are being rendered; the batch size shapes the file, so it is fixed.
_BATCH = 500
# The database header's file change counter, and its version-valid-for number and
# SQLITE_VERSION_NUMBER (offsets 24 and 92; sqlite.org/fileformat.html#the_database_header)
_HISTORY = ((24, 4), (92, 8))


def _inserts(model_id: int, stamp: int) -> tuple[str, str]:
    """The statements that insert a note row (id, guid, tags, fields, sort field) and a card
    row (id, note, deck, ord, due): the columns every row of a deck shares are literals,
    not parameters bound row by row (the same values, stored the same way)."""
    # (CAST: an EncodedNote's fields come as bytes, stored as the TEXT they encode)
    notes = (f"INSERT INTO notes VALUES (?,?,{int(model_id)},{int(stamp)},-1,?,"
             "CAST(? AS TEXT),CAST(? AS TEXT),0,0,'')")
    cards = f"INSERT INTO cards VALUES (?,?,?,?,{int(stamp)},-1,0,0,?,0,0,0,0,0,0,0,0,'')"
    return notes, cards


def _insert(conn: sqlite3.Connection, statements: tuple[str, str], note_rows: list[tuple],
            card_rows: list[tuple]) -> None:
    """Insert a batch's notes and cards (the cards too, so that only the last batch's are
    left for after the last note)."""
    conn.executemany(statements[0], note_rows)
    conn.executemany(statements[1], card_rows)
    note_rows.clear()
    card_rows.clear()


def _fill_collection(
    db: str, notes: Iterable[NoteData | EncodedNote], model: NoteType, timestamp: float,
    descriptions: dict[str, str],
) -> None:
    """Write the SQLite file (genanki schema 11) at `db`, a new empty file; every time
    value comes from `timestamp`."""
    if model.model_type != FRONT_BACK:
        raise ValueError("only front/back note types are supported")
    # per template: its ord, whether it needs all of its fields or any one, and them
    import sqlite3

    requirements = [(o, mode == "all", tuple(req)) for o, mode, req in model.req]
    n_fields = len(model.fields)
    tag_text: dict[tuple[str, ...], str] = {}  # a deck's notes share a few tag sets
    stamp = int(timestamp)
    # genanki's scheme: note and card ids count up from the timestamp in ms, in write order.
    ids = itertools.count(max(int(timestamp * 1000), 1))
    decks: dict[str, dict] = {}
    note_rows: list[tuple] = []
    card_rows: list[tuple] = []
    seen: set[str] = set()
    first_deck = None
    statements = _inserts(model.model_id, stamp)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        # Fixed page size: the default differs between SQLite builds, the bytes must not.
        # SQLite's largest: a note's fields (~4 KB, more with variants) fit in one page
        # instead of an overflow chain, which makes the image smaller and quicker to fill
        # and deflate. The file is only carried to Anki's importer, which copies the rows.
        conn.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
        # A scratch file written once, by this process only: no journal, no syncs, no
        # locks taken per statement.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.executescript(_TABLES + APKG_COL)
        conn.execute("BEGIN")
        # a note type with one template that needs one field (genanki's front/back):
        # that field's ord and index, checked per note without the general walk below
        only = (requirements[0][0], requirements[0][2][0]) if len(requirements) == 1 and \
            len(requirements[0][2]) == 1 else None
        sort_index = model.sort_field_index
        deck_name, deck_id = None, 0  # the last note's deck (a deck's notes come together)
        for position, data in enumerate(notes, start=1):
            guid, fields, deck = data.guid, data.fields, data.deck
            # Anki matches notes by GUID: a repeat would silently drop or overwrite a note.
            if guid in seen:
                raise ValueError(f"duplicate note GUID {guid!r} (same family and params)")
            seen.add(guid)
            if len(fields) != n_fields:
                raise ValueError(
                    f"note {guid!r} has {len(fields)} fields, note type has {n_fields}")
            if not (isinstance(guid, str) and guid):
                # genanki would fall back to a GUID hashed from the field text.
                raise ValueError(f"note {position} has no GUID")
            if deck != deck_name:
                if deck not in decks:
                    _add_decks(decks, deck, descriptions)
                if first_deck is None:
                    first_deck = decks[deck]
                deck_name, deck_id = deck, decks[deck]["id"]
            tag_set = tuple(data.tags)  # (the same tuple, when it is one)
            tags = tag_text.get(tag_set)
            if tags is None:
                bad_tags = [t for t in tag_set if " " in t or not t]
                if bad_tags:
                    raise ValueError(f"note {guid!r}: tag {bad_tags[0]!r} is empty or "
                                     "has a space")
                tags = tag_text[tag_set] = f" {' '.join(tag_set)} "
            # Cards as genanki's Note computes them (its template analysis, `model.req`),
            # done here per row: a Note object per note costs more than the rest of the row.
            # `due` is a new card's position, which Anki keeps on import: genanki leaves it
            # 0 for every card (ties that Anki breaks as it likes), we number the notes in
            # the given order. Anki shows new cards by position within a deck (and across
            # subdecks with the "ascending position" gather order; its default "deck" order
            # visits subdecks by name).
            if only is not None:
                ords: Sequence[int] = (only[0],) if fields[only[1]] else ()
            else:
                ords = [o for o, need_all, req in requirements
                        if (fields[req[0]] if len(req) == 1 else
                            (all if need_all else any)(fields[i] for i in req))]
            if not ords:
                raise ValueError(f"note {guid!r} makes no card (empty {FIELDS[0]} "
                                 "field?)")
            note_id = next(ids)
            note_rows.append((
                note_id, guid, tags,
                (b"\x1f" if type(data) is EncodedNote else "\x1f").join(fields),
                fields[sort_index],
            ))
            for card_ord in ords:
                card_rows.append((next(ids), note_id, deck_id, card_ord, position))
            if len(note_rows) == _BATCH:
                _insert(conn, statements, note_rows, card_rows)
        _insert(conn, statements, note_rows, card_rows)
        for index in _INDEXES:  # each built once from the rows, not kept up row by row
            conn.execute(index)
        unknown = sorted(set(descriptions) - set(decks))
        if unknown:
            raise ValueError(f"deck_descriptions names decks without notes: "
                             f"{', '.join(unknown)}")
        (decks_json,) = conn.execute("SELECT decks FROM col").fetchone()
        all_decks = json.loads(decks_json)
        for deck in decks.values():
            all_decks[str(deck["id"])] = deck
        first_deck_id = first_deck["id"] if first_deck else 1
        models = {str(model.model_id): model.to_json(timestamp, first_deck_id)}
        # genanki's col row has fixed crt/mod/scm; only decks and models change here.
        conn.execute(
            "UPDATE col SET decks = ?, models = ?",
            (json.dumps(all_decks, sort_keys=True), json.dumps(models, sort_keys=True)),
        )
        conn.execute("COMMIT")
        # No VACUUM: rows are only appended and the col update rewrites one small row in
        # place, so there are no free pages (stale bytes) to drop, and VACUUM would cost
        # as much as all the inserts (checked by the tests via freelist_count).
    finally:
        conn.close()


# SQLite's result codes (low byte) for a file that cannot be written: read-only, I/O
# error, disk full, cannot open.
_WRITE_ERRORS = {8, 10, 13, 14}


@contextlib.contextmanager
def _collection_image(
    notes: Iterable[NoteData | EncodedNote], model: NoteType, timestamp: float,
    descriptions: dict[str, str], path: Path,
) -> Iterator[mmap.mmap | bytes]:
    """The collection's bytes, mapped from a scratch file beside `path` that is removed
    on the way out. SQLite keeps a small page cache and writes the rest to the file. An
    in-memory database held the whole image (40 MB for 10,000 notes) and then copied it
    twice to hand it over (serialize, then bytes), and on these machines touching fresh
    memory costs more than the copies: most of what was left to do after the last note."""
    import mmap
    import sqlite3

    with scratch(path, ".collection.tmp") as db:
        try:
            _fill_collection(db, notes, model, timestamp, descriptions)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _WRITE_ERRORS:
                raise
            raise OutputError(f"{path}: cannot write: {exc}") from None
        with open(db, "r+b") as fh:
            # The header's history of the file (a change counter, the number of the
            # SQLite release that last wrote it) as an in-memory database leaves it: 0.
            # The bytes then hold only what the rows and the schema make.
            for offset, size in _HISTORY:
                fh.seek(offset)
                fh.write(bytes(size))
            fh.flush()
            try:
                image = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # a file system that cannot map files
                fh.seek(0)
                yield fh.read()
            else:
                try:
                    yield image
                finally:
                    # views of the map that an exception's traceback still holds keep it
                    # open (freed with them): the exception, not BufferError, goes on
                    with contextlib.suppress(BufferError):
                        image.close()


def _zip_entry(name: str, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    import zipfile

    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix; the default depends on the building OS
    info.external_attr = 0o644 << 16
    return info


# Level 1 is ~3x faster than zlib's default 6 and still ~7x smaller than genanki's stored
# zip (~700 vs ~525 B/note on 3.5 KB SVG notes); the build must not be slower than genanki.
# The bytes depend on zlib's version, as the SQLite image depends on SQLite's.
_DEFLATE_LEVEL = 1


def write_apkg(
    path: str | Path,
    notes: Iterable[NoteData | EncodedNote],
    model: NoteType,
    *,
    timestamp: float,
    deck_descriptions: dict[str, str] | None = None,
) -> int:
    """Write `notes` (in new-card order; any iterable, consumed as it comes) to `path`
    atomically; return the bytes written."""
    staged = stage_apkg(path, notes, model, timestamp=timestamp,
                        deck_descriptions=deck_descriptions)
    staged.commit()
    return staged.size


def stage_apkg(
    path: str | Path,
    notes: Iterable[NoteData | EncodedNote],
    model: NoteType,
    *,
    timestamp: float,
    deck_descriptions: dict[str, str] | None = None,
) -> Staged:
    """Write the deck beside `path` under a unique temporary name, not yet in place:
    `commit()` renames it, `discard()` removes it (several decks can be written first and
    renamed together). Refuses (OutputError) when `path` exists and is not a regular file."""
    if not (math.isfinite(timestamp) and timestamp >= 0):
        raise ValueError(f"timestamp must be a finite, non-negative number, got {timestamp!r}")
    check_target(path)
    # Everything that can fail on bad input happens before the deck's file is made: the
    # notes first fill a scratch collection, which every way out removes.
    from cardgen.zipout import write_zip

    date_time = _zip_date_time(timestamp)
    with _collection_image(notes, model, timestamp, deck_descriptions or {},
                           Path(path)) as image, stage(path) as (fh, staged):
        write_zip(fh, [(_zip_entry("collection.anki2", date_time), image),
                       (_zip_entry("media", date_time), b"{}")],  # no media files
                  _DEFLATE_LEVEL)
    return staged[0]
