"""The .apkg writer (cardgen.anki) and the hostile-file reader (cardgen.apkg)."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cardgen.anki import (
    FIELDS,
    MODEL_ID,
    EncodedNote,
    NoteData,
    build_timestamp,
    make_model,
    note_guid,
    stable_id,
    write_apkg,
)
from cardgen.apkg import ApkgError, read_notes

TS = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[1]
DECKS = ("Conv Arithmetic::Output size", "Conv Arithmetic::Pooling")
FRONT = '<div class="front">{{Front}}</div>\n{{type:Answer}}'
BACK = '{{FrontSide}}<hr id="answer">{{Answer}}<div class="worked">{{Worked}}</div>'
CSS = ".card { font-family: sans-serif; }"


# ---------------------------------------------------------------- fake notes


def _svg(rng: random.Random, cells: int) -> str:
    parts = []
    for _ in range(cells):
        x, y = round(rng.uniform(0, 170), 1), round(rng.uniform(0, 170), 1)
        fill = rng.choice(["#dbeafe", "#fde68a", "#ffffff", "#bbf7d0"])
        parts.append(
            f'<rect x="{x}" y="{y}" width="20" height="20" fill="{fill}" stroke="#334155"/>'
            f'<text x="{x + 10}" y="{y + 14}" text-anchor="middle">{rng.randint(0, 99)}</text>'
        )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 180 180" width="180">'
        + "".join(parts) + "</svg>"
    )


def _fake_notes(n: int = 30, seed: int = 0, svg_cells: int = 6,
                decks: tuple[str, ...] = DECKS, suffix: str = "") -> list[NoteData]:
    """n notes alternating over `decks`: HTML front, ASCII answer, SVG worked, JSON spec."""
    rng = random.Random(seed)
    notes = []
    for i in range(n):
        family = "conv.output" if i % 2 == 0 else "pool.windows"
        params = {"in": rng.randint(5, 64), "k": rng.randint(1, 7), "s": rng.randint(1, 3),
                  "p": rng.randint(0, 3), "i": i}
        answer = str(max(1, (params["in"] + 2 * params["p"] - params["k"]) // params["s"] + 1))
        front = (f'<div class="q">Conv1d, input <b>{params["in"]}</b>, kernel {params["k"]}, '
                 f'stride {params["s"]}, padding {params["p"]}: output length?{suffix}</div>')
        worked = (f"<p>out = floor(({params['in']} + 2&middot;{params['p']} - {params['k']})"
                  f" / {params['s']}) + 1 = {answer}</p>" + _svg(rng, svg_cells))
        spec = json.dumps({"v": 1, "family": family, "level": 1, "params": params,
                           "answer": answer, "claims": []}, sort_keys=True)
        notes.append(NoteData(
            fields=(front, answer, worked, spec),
            tags=(family.replace(".", "::"), f"level{1 + i % 3}"),
            guid=note_guid(family, params),
            deck=decks[i % len(decks)],
        ))
    return notes


def _model(front: str = FRONT):
    return make_model(front, BACK, CSS)


def _write(path: str | Path, timestamp: float = TS) -> int:
    """The reference build, also run in subprocesses (keep it a pure function of args)."""
    return write_apkg(path, _fake_notes(), _model(), timestamp=timestamp,
                      deck_descriptions={"Conv Arithmetic": "Drills"})


def _collection_bytes(apkg: Path) -> bytes:
    with zipfile.ZipFile(apkg) as zf:
        return zf.read("collection.anki2")


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------- identity


def test_stable_id_is_fixed_31_bit_and_positive():
    assert stable_id("cardgen note type v1") == MODEL_ID == 1960276709
    for name in ("a", "Conv Arithmetic", "Conv Arithmetic::Pooling", ""):
        assert 0 < stable_id(name) < 2**31
    assert stable_id("a") != stable_id("b")


def test_note_guid_is_stable_and_depends_only_on_family_and_params():
    guid = note_guid("conv.output", {"in": 7, "k": 3})
    assert guid == note_guid("conv.output", {"k": 3, "in": 7})  # key order is irrelevant
    assert guid == "o&/_H}t`5V"  # fixed forever: changing it duplicates users' notes
    assert note_guid("conv.output", {"in": 7, "k": 4}) != guid
    assert note_guid("pool.windows", {"in": 7, "k": 3}) != guid


def test_guid_survives_rewording(tmp_path):
    a, b = tmp_path / "a.apkg", tmp_path / "b.apkg"
    write_apkg(a, _fake_notes(), _model(), timestamp=TS)
    write_apkg(b, _fake_notes(suffix=" (reworded)"), _model("{{Front}}?"), timestamp=TS + 60)
    read_a, read_b = read_notes(a), read_notes(b)
    assert [n.guid for n in read_a] == [n.guid for n in read_b]
    assert [n.fields["Front"] for n in read_a] != [n.fields["Front"] for n in read_b]


def test_make_model_has_fixed_id_fields_and_one_template():
    model = _model()
    assert model.model_id == MODEL_ID
    assert [f["name"] for f in model.fields] == FIELDS == ["Front", "Answer", "Worked", "Spec"]
    assert [t["name"] for t in model.templates] == ["Card 1"]
    assert model.templates[0]["qfmt"] == FRONT and model.templates[0]["afmt"] == BACK
    assert model.sort_field_index == 0 and model.css == CSS


# ---------------------------------------------------------------- determinism


def test_same_inputs_give_identical_bytes(tmp_path):
    a, b = tmp_path / "a.apkg", tmp_path / "b.apkg"
    size = _write(a)
    assert size == a.stat().st_size
    _write(b)
    assert a.read_bytes() == b.read_bytes()


def test_encoded_notes_give_the_same_deck_as_notes_of_text(tmp_path):
    """A build worker sends its notes with fields already UTF-8: the writer stores those
    bytes as the TEXT the fields are, in the same rows (non-ASCII text, and a sort field
    that reads as a number, which the sfld column's integer affinity turns into one)."""
    notes = _fake_notes(suffix=" × ≤ é ⟨x⟩")
    notes[3] = NoteData(("12", *notes[3].fields[1:]), notes[3].tags, notes[3].guid,
                        notes[3].deck)
    encoded = [EncodedNote.of(note) for note in notes]
    assert [note.decoded() for note in encoded] == notes
    assert all(type(field) is bytes for note in encoded for field in note.fields)
    write_apkg(tmp_path / "text.apkg", notes, _model(), timestamp=TS)
    write_apkg(tmp_path / "encoded.apkg", encoded, _model(), timestamp=TS)
    write_apkg(tmp_path / "mixed.apkg", [n if i % 2 else e for i, (n, e) in
                                         enumerate(zip(notes, encoded, strict=True))],
               _model(), timestamp=TS)
    text = (tmp_path / "text.apkg").read_bytes()
    assert (tmp_path / "encoded.apkg").read_bytes() == text
    assert (tmp_path / "mixed.apkg").read_bytes() == text
    db = tmp_path / "c.anki2"
    db.write_bytes(_collection_bytes(tmp_path / "encoded.apkg"))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT typeof(flds), typeof(sfld), flds, sfld FROM notes "
                            "ORDER BY id").fetchall()
    assert {(r[0], r[1]) for r in rows} == {("text", "text"), ("text", "integer")}
    assert rows[3][1:] == ("integer", "\x1f".join(notes[3].fields), 12)
    assert [r[2] for r in rows] == ["\x1f".join(n.fields) for n in notes]


def test_identical_bytes_across_processes_with_different_hash_seeds(tmp_path):
    here = tmp_path / "here.apkg"
    _write(here)
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]); "
        "import test_anki_writer as t; t._write(sys.argv[1])"
    )
    for seed in ("0", "1", "12345"):
        out = tmp_path / f"seed{seed}.apkg"
        env = dict(os.environ, PYTHONHASHSEED=seed,
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        subprocess.run([sys.executable, "-c", script, str(out), str(Path(__file__).parent)],
                       env=env, check=True, cwd=tmp_path)
        assert out.read_bytes() == here.read_bytes(), f"PYTHONHASHSEED={seed}"


def test_timestamp_changes_bytes_and_every_time_in_the_collection(tmp_path):
    a, b = tmp_path / "a.apkg", tmp_path / "b.apkg"
    _write(a, TS)
    _write(b, TS + 1)
    assert a.read_bytes() != b.read_bytes()
    # Every timestamp-like value is derived from `timestamp`, nothing from the clock.
    conn = sqlite3.connect(":memory:")
    conn.deserialize(_collection_bytes(a))
    assert {r[0] for r in conn.execute("SELECT mod FROM notes UNION SELECT mod FROM cards")} \
        == {int(TS)}
    ids = [r[0] for r in conn.execute("SELECT id FROM notes UNION ALL SELECT id FROM cards")]
    assert min(ids) == int(TS * 1000) and max(ids) == int(TS * 1000) + 59
    (models,) = conn.execute("SELECT models FROM col").fetchone()
    assert json.loads(models)[str(MODEL_ID)]["mod"] == int(TS)
    # No free pages: the file holds no stale bytes from earlier states of the collection.
    assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)


def test_collection_has_genankis_schema_and_is_sound(tmp_path):
    # The indexes are built after the rows and the pages are large: the schema must still
    # be genanki's, every index complete.
    from genanki.apkg_schema import APKG_SCHEMA

    path = tmp_path / "a.apkg"
    _write(path)
    conn = sqlite3.connect(":memory:")
    conn.deserialize(_collection_bytes(path))
    expected = sqlite3.connect(":memory:")
    expected.executescript(APKG_SCHEMA)
    master = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    assert conn.execute(master).fetchall() == expected.execute(master).fetchall()
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA page_size").fetchone() == (65536,)
    # the header's record of the file's history (change counter, version-valid-for, the
    # SQLite release that wrote it) is zero, as an in-memory image has it: the bytes
    # hold what the rows make, not which SQLite filled the scratch file
    header = _collection_bytes(path)[:100]
    assert (header[24:28], header[92:100]) == (bytes(4), bytes(8))
    # an index holds every row: a lookup through it finds each note and card
    for table, column in (("notes", "csum"), ("cards", "nid")):
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT count(*) FROM {table} "
                            f"WHERE {column} > -1").fetchall()
        assert "INDEX" in str(plan)
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE {column} > -1"
                            ).fetchone()[0] == count > 0


def test_zip_layout_is_fixed_and_deflated(tmp_path):
    path = tmp_path / "a.apkg"
    _write(path)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["collection.anki2", "media"]
        stamp = datetime.fromtimestamp(TS, UTC).timetuple()[:6]
        for info in infos:
            assert info.date_time == stamp
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.create_system == 3 and info.external_attr == 0o644 << 16
        assert zf.read("media") == b"{}"
        assert infos[0].compress_size < infos[0].file_size / 4


def test_size_per_note_with_3kb_svg_is_small(tmp_path):
    notes = _fake_notes(300, svg_cells=28)
    assert 2800 < sum(len(n.fields[2]) for n in notes) / len(notes) < 4500
    size = write_apkg(tmp_path / "big.apkg", notes, _model(), timestamp=TS)
    assert size / len(notes) <= 1500


def test_new_card_position_follows_given_order_across_decks(tmp_path):
    notes = _fake_notes(12)
    notes = notes[5:] + notes[:5]  # an order that is neither by deck nor by guid
    write_apkg(tmp_path / "a.apkg", notes, _model(), timestamp=TS)
    conn = sqlite3.connect(":memory:")
    conn.deserialize(_collection_bytes(tmp_path / "a.apkg"))
    rows = conn.execute(
        "SELECT n.guid, c.due FROM cards c JOIN notes n ON n.id = c.nid ORDER BY c.due"
    ).fetchall()
    assert [g for g, _ in rows] == [n.guid for n in notes]
    assert [d for _, d in rows] == list(range(1, 13))  # distinct: no ties for Anki to break


def test_deck_descriptions_and_parent_decks(tmp_path):
    path = tmp_path / "a.apkg"
    _write(path)
    conn = sqlite3.connect(":memory:")
    conn.deserialize(_collection_bytes(path))
    decks = json.loads(conn.execute("SELECT decks FROM col").fetchone()[0])
    by_name = {d["name"]: d for d in decks.values()}
    assert set(by_name) == {"Default", "Conv Arithmetic", *DECKS}
    assert by_name["Conv Arithmetic"]["desc"] == "Drills"
    for name in ("Conv Arithmetic", *DECKS):
        assert by_name[name]["id"] == stable_id(name)
    with pytest.raises(ValueError, match="Typo"):
        write_apkg(tmp_path / "b.apkg", _fake_notes(), _model(), timestamp=TS,
                   deck_descriptions={"Typo": "x"})
    assert not (tmp_path / "b.apkg").exists()


# ---------------------------------------------------------------- atomic writes


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_missing_target_folder_raises_and_creates_nothing(tmp_path):
    from cardgen.output import OutputError

    with pytest.raises(OutputError, match="nope"):
        _write(tmp_path / "nope" / "a.apkg")
    assert _listing(tmp_path) == []


class _ExplodingNotes(list):
    """A note sequence that fails half way through being read."""

    def __iter__(self):
        for i, note in enumerate(list.__iter__(self)):
            if i == 15:
                raise RuntimeError("note 15 exploded")
            yield note


@pytest.mark.parametrize("failure", ["bad-note", "exploding-notes", "zip-write", "rename"])
def test_failed_build_leaves_existing_target_untouched_and_no_temp_file(
        tmp_path, monkeypatch, failure):
    target = tmp_path / "deck.apkg"
    target.write_bytes(b"previous build")
    notes = _fake_notes()
    if failure == "bad-note":
        notes[20] = NoteData(notes[20].fields[:3], (), "g", DECKS[0])  # 3 fields, type has 4
    elif failure == "exploding-notes":
        notes = _ExplodingNotes(notes)
    elif failure == "zip-write":
        from cardgen import zipout

        original = zipout.deflate_parts

        def deflate_parts(data, *args, **kwargs):
            if data == b"{}":  # the media entry: after the collection is written
                raise OSError("disk full")
            return original(data, *args, **kwargs)

        monkeypatch.setattr(zipout, "deflate_parts", deflate_parts)
    else:
        def replace(src, dst):
            assert Path(src).exists()  # the complete temp file was there
            raise OSError("rename failed")

        monkeypatch.setattr(os, "replace", replace)

    with pytest.raises((ValueError, RuntimeError, OSError)):
        write_apkg(target, notes, _model(), timestamp=TS)
    assert _listing(tmp_path) == ["deck.apkg"]
    assert target.read_bytes() == b"previous build"


def test_the_collection_is_filled_in_a_scratch_file_beside_the_deck(tmp_path):
    seen = []

    def notes():
        for i, note in enumerate(_fake_notes()):
            if i == 10:
                seen.append(_listing(tmp_path))
            yield note

    write_apkg(tmp_path / "deck.apkg", notes(), _model(), timestamp=TS)
    [[scratch]] = seen  # while the notes come: one hidden file, not the deck
    assert scratch.startswith(".deck.apkg.") and scratch.endswith(".collection.tmp")
    assert _listing(tmp_path) == ["deck.apkg"]


def test_ctrl_c_while_the_collection_deflates_is_a_ctrl_c_and_leaves_no_file(
        tmp_path, monkeypatch):
    from cardgen import zipout

    original, calls = zipout._part, []

    def part(*args, **kwargs):  # the second part: views of the mapped file are held
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(zipout, "_part", part)
    monkeypatch.setattr(zipout, "PART", 4096)  # several parts in a small collection
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path / "deck.apkg")
    assert len(calls) == 2
    assert _listing(tmp_path) == []


def test_a_folder_whose_files_cannot_be_mapped_gives_the_same_deck(tmp_path, monkeypatch):
    import mmap

    _write(tmp_path / "mapped.apkg")

    def refuse(*args, **kwargs):
        raise OSError(19, "No such device")  # what mmap says on a file system without it

    monkeypatch.setattr(mmap, "mmap", refuse)
    _write(tmp_path / "read.apkg")
    assert (tmp_path / "read.apkg").read_bytes() == (tmp_path / "mapped.apkg").read_bytes()
    assert _listing(tmp_path) == ["mapped.apkg", "read.apkg"]


def test_success_replaces_existing_target(tmp_path):
    target = tmp_path / "deck.apkg"
    target.write_bytes(b"previous build")
    _write(target)
    assert _listing(tmp_path) == ["deck.apkg"]
    assert zipfile.is_zipfile(target)
    assert target.stat().st_mode & 0o777 != 0o600  # not mkstemp's private mode


def test_rejects_duplicate_guids_and_notes_without_cards(tmp_path):
    notes = _fake_notes()
    with pytest.raises(ValueError, match="duplicate note GUID"):
        write_apkg(tmp_path / "a.apkg", [*notes, notes[3]], _model(), timestamp=TS)
    empty_front = NoteData(("", *notes[0].fields[1:]), (), notes[0].guid, DECKS[0])
    with pytest.raises(ValueError, match="no card"):
        write_apkg(tmp_path / "a.apkg", [empty_front], _model(), timestamp=TS)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_timestamp_must_be_finite_and_non_negative(tmp_path, bad):
    with pytest.raises(ValueError, match="timestamp"):
        write_apkg(tmp_path / "a.apkg", _fake_notes(), _model(), timestamp=bad)


def test_build_timestamp(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build_timestamp() == 1_700_000_000.0
    for bad in ("", "abc", "1.5", "-5", "1e9"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", bad)
        with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
            build_timestamp()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    import time

    assert abs(build_timestamp() - time.time()) < 5


# ---------------------------------------------------------------- reading


def test_read_notes_round_trips(tmp_path):
    path = tmp_path / "a.apkg"
    notes = _fake_notes()
    write_apkg(path, notes, _model(), timestamp=TS)
    read = read_notes(path)
    assert [r.guid for r in read] == [n.guid for n in notes]
    for r, n in zip(read, notes, strict=True):
        assert r.fields == dict(zip(FIELDS, n.fields, strict=True))
        assert r.tags == list(n.tags)
        assert r.model_name == "cardgen"
    assert json.loads(read[0].fields["Spec"])["v"] == 1
    assert "<svg" in read[0].fields["Worked"]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Point tempfile at an empty folder, to check that the reader cleans up after itself."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    yield folder
    assert _listing(folder) == []


def _valid_db(tmp_path: Path) -> bytes:
    _write(tmp_path / "valid.apkg")
    return _collection_bytes(tmp_path / "valid.apkg")


def _bad_packages(tmp_path: Path) -> dict[str, bytes]:
    db = _valid_db(tmp_path)
    conn = sqlite3.connect(":memory:", isolation_level=None)  # autocommit: serialize sees it
    conn.deserialize(db)
    conn.execute("UPDATE col SET models = '{not json'")
    bad_json = conn.serialize()
    conn.execute("UPDATE col SET models = ?", (json.dumps({"1": {"name": "x"}}),))
    bad_shape = conn.serialize()
    conn.deserialize(db)
    conn.execute("UPDATE notes SET flds = 'one field' WHERE id = (SELECT min(id) FROM notes)")
    few_fields = conn.serialize()
    return {
        "garbage": os.urandom(2000),
        "empty": b"",
        "zip-without-collection": _zip_bytes({"media": b"{}"}),
        "collection-not-sqlite": _zip_bytes({"collection.anki2": b"SQLite format 3\0" * 50}),
        "truncated-sqlite": _zip_bytes({"collection.anki2": db[: len(db) // 3]}),
        "models-not-json": _zip_bytes({"collection.anki2": bad_json}),
        "models-wrong-shape": _zip_bytes({"collection.anki2": bad_shape}),
        "field-count-mismatch": _zip_bytes({"collection.anki2": few_fields}),
        "truncated-zip": (tmp_path / "valid.apkg").read_bytes()[:5000],
    }


def test_read_notes_rejects_hostile_files_with_apkg_error(tmp_path, private_tmp):
    for name, data in _bad_packages(tmp_path).items():
        path = tmp_path / f"{name}.apkg"
        path.write_bytes(data)
        with pytest.raises(ApkgError) as info:
            read_notes(path)
        assert "\n" not in str(info.value), name
        assert str(path) in str(info.value), name


def test_read_notes_missing_file(tmp_path, private_tmp):
    with pytest.raises(ApkgError, match="cannot read"):
        read_notes(tmp_path / "missing.apkg")


def test_read_notes_refuses_anki21b(tmp_path, private_tmp):
    stub = _valid_db(tmp_path)
    for entries in ({"collection.anki21b": b"\x28\xb5\x2f\xfd"},
                    {"collection.anki2": stub, "collection.anki21b": b"\x28\xb5\x2f\xfd"}):
        path = tmp_path / "new.apkg"
        path.write_bytes(_zip_bytes(entries))
        with pytest.raises(ApkgError, match="Support older Anki versions"):
            read_notes(path)


def test_read_notes_prefers_anki21_over_anki2(tmp_path, private_tmp):
    db = _valid_db(tmp_path)
    path = tmp_path / "both.apkg"
    path.write_bytes(_zip_bytes({"collection.anki2": b"stub, never read",
                                 "collection.anki21": db}))
    assert len(read_notes(path)) == 30


def test_read_notes_caps_inflated_size(tmp_path, private_tmp):
    path = tmp_path / "a.apkg"
    _write(path)
    with pytest.raises(ApkgError, match="limit"):
        read_notes(path, max_bytes=10_000)
    # A bomb that lies about its size: 20 MB of zeros declared as 100 bytes.
    bomb = bytearray(_zip_bytes({"collection.anki2": bytes(20 * 2**20)}))
    # Uncompressed size: offset 22 in the local header, 24 in the central directory entry.
    for marker, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = bomb.rindex(marker) + offset
        bomb[at:at + 4] = (100).to_bytes(4, "little")
    lying = tmp_path / "bomb.apkg"
    lying.write_bytes(bytes(bomb))
    # zipfile itself stops at the declared size and then fails the CRC check; cardgen's
    # own count of inflated bytes is the second line of defence.
    with pytest.raises(ApkgError, match=r"not a valid \.apkg \(zip\): Bad CRC-32"):
        read_notes(lying, max_bytes=10_000)


# ---------------------------------------------------------------- Anki itself


@pytest.fixture
def anki_col(tmp_path):
    pytest.importorskip("anki", reason="Anki's python package (pip install anki) runs these")
    from anki.collection import Collection

    col = Collection(str(tmp_path / "c.anki2"))
    try:
        yield col
    finally:
        if col.db is not None:  # a test may have closed it
            col.close()


def _import(col, path: Path):
    """Import as Anki desktop does by default: the presets are what its import dialog shows."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Cond

    options = ImportAnkiPackageOptions(
        update_notes=Cond.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        update_notetypes=Cond.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
        merge_notetypes=False,
        with_scheduling=False,
        with_deck_configs=False,
    )
    assert options == col._backend.get_import_anki_package_presets()
    return col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=options)
    ).log


def _cards_by_position(col):
    cards = [col.get_card(cid) for cid in col.find_cards("")]
    return sorted(cards, key=lambda c: (c.due, c.id))


def test_anki_imports_renders_and_keeps_order(tmp_path, anki_col):
    col = anki_col
    notes = _fake_notes()
    write_apkg(tmp_path / "a.apkg", notes, _model(), timestamp=TS)
    log = _import(col, tmp_path / "a.apkg")
    assert len(log.new) == 30 and not log.updated and not log.duplicate
    assert col.note_count() == 30 and col.card_count() == 30

    names = {d.name for d in col.decks.all_names_and_ids()}
    assert {"Conv Arithmetic", *DECKS} <= names
    cards = _cards_by_position(col)
    assert [c.note().guid for c in cards] == [n.guid for n in notes]
    assert all(c.type == 0 and c.queue == 0 for c in cards)  # new cards
    for card, note in zip(cards, notes, strict=True):
        assert col.decks.name(card.did) == note.deck
        assert note.fields[0] in card.question()
        assert "[[type:Answer]]" in card.question()  # the reviewer turns it into a text box
        assert note.fields[2] in card.answer()
    assert col.models.get(MODEL_ID)["name"] == "cardgen"

    # The study queue of each subdeck follows the given order. (Across subdecks Anki's
    # default "gather order: deck" visits subdecks in deck-tree order.)
    for deck in DECKS:
        col.decks.select(col.decks.id_for_name(deck))
        queued = col.sched.get_queued_cards(fetch_limit=50).cards
        assert [col.get_card(q.card.id).note().guid for q in queued] == \
            [n.guid for n in notes if n.deck == deck]


def test_anki_reimport_updates_notes_and_template_and_keeps_reviews(tmp_path, anki_col):
    from anki.cards import Card
    from anki.scheduler.v3 import CardAnswer

    col = anki_col
    write_apkg(tmp_path / "v1.apkg", _fake_notes(), _model(), timestamp=TS)
    _import(col, tmp_path / "v1.apkg")

    col.decks.select(col.decks.id_for_name(DECKS[0]))
    queued = col.sched.get_queued_cards().cards[0]
    card = Card(col, backend_card=queued.card)
    card.start_timer()
    col.sched.answer_card(
        col.sched.build_answer(card=card, states=queued.states, rating=CardAnswer.GOOD)
    )
    revlog = col.db.all("SELECT id, cid, ease FROM revlog")
    assert len(revlog) == 1 and revlog[0][1] == card.id
    answered_state = (col.get_card(card.id).type, col.get_card(card.id).due)

    # Rebuild: new template wording, new field text, later timestamp, same GUIDs.
    v2_front = '<div class="front v2">Question: {{Front}}</div>\n{{type:Answer}}'
    notes2 = _fake_notes(suffix=" (v2)")
    write_apkg(tmp_path / "v2.apkg", notes2, _model(v2_front), timestamp=TS + 3600)
    log = _import(col, tmp_path / "v2.apkg")
    assert len(log.new) == 0 and len(log.updated) == 30

    assert col.note_count() == 30 and col.card_count() == 30
    by_guid = {col.get_note(nid).guid: col.get_note(nid) for nid in col.find_notes("")}
    for note in notes2:
        assert list(by_guid[note.guid].values()) == list(note.fields)
    assert col.models.get(MODEL_ID)["tmpls"][0]["qfmt"] == v2_front
    assert "Question: " in col.get_card(card.id).question()
    assert col.db.all("SELECT id, cid, ease FROM revlog") == revlog
    assert (col.get_card(card.id).type, col.get_card(card.id).due) == answered_state

    deck_names = [d.name for d in col.decks.all_names_and_ids()]
    assert len(deck_names) == len(set(deck_names))
    assert [m.name for m in col.models.all_names_and_ids()].count("cardgen") == 1

    # Same timestamp again: Anki sees nothing newer and changes nothing.
    write_apkg(tmp_path / "v3.apkg", _fake_notes(suffix=" (v3)"), _model(), timestamp=TS + 3600)
    log = _import(col, tmp_path / "v3.apkg")
    assert len(log.new) == 0 and len(log.updated) == 0
    assert col.models.get(MODEL_ID)["tmpls"][0]["qfmt"] == v2_front


def test_read_notes_reads_ankis_legacy_export_and_refuses_the_new_one(tmp_path, anki_col):
    from anki.collection import DeckIdLimit, ExportAnkiPackageOptions

    col = anki_col
    notes = _fake_notes()
    write_apkg(tmp_path / "a.apkg", notes, _model(), timestamp=TS)
    _import(col, tmp_path / "a.apkg")
    limit = DeckIdLimit(col.decks.id_for_name("Conv Arithmetic"))
    for legacy in (True, False):
        out = tmp_path / f"export-{legacy}.apkg"
        col.export_anki_package(
            out_path=str(out), limit=limit,
            options=ExportAnkiPackageOptions(with_scheduling=False, with_deck_configs=False,
                                             with_media=False, legacy=legacy),
        )
        if legacy:
            read = read_notes(out)
            assert [r.guid for r in read] == [n.guid for n in notes]
            assert [r.fields["Worked"] for r in read] == [n.fields[2] for n in notes]
            assert {r.model_name for r in read} == {"cardgen"}
        else:
            with pytest.raises(ApkgError, match="Support older Anki versions"):
                read_notes(out)


def test_read_notes_reads_schema_18_note_types_from_tables(tmp_path, anki_col):
    # Anki's own collection file keeps note types in `notetypes`/`fields`, not col.models.
    col = anki_col
    notes = _fake_notes()
    write_apkg(tmp_path / "a.apkg", notes, _model(), timestamp=TS)
    _import(col, tmp_path / "a.apkg")
    col.close()
    path = tmp_path / "schema18.apkg"
    path.write_bytes(_zip_bytes({"collection.anki21": (tmp_path / "c.anki2").read_bytes()}))
    read = read_notes(path)
    assert [r.guid for r in read] == [n.guid for n in notes]
    assert read[0].fields == dict(zip(FIELDS, notes[0].fields, strict=True))


def test_anki_imports_two_decks_built_with_the_same_timestamp(tmp_path, anki_col):
    # One `cardgen build` stamps every deck alike, so their note and card ids coincide:
    # Anki matches notes by GUID and renumbers clashing ids.
    col = anki_col
    a = _fake_notes(10, seed=1, decks=("Deck A",))
    b = [NoteData(n.fields, n.tags, n.guid + "b", "Deck B") for n in _fake_notes(10, seed=2)]
    for name, notes in (("A", a), ("B", b)):
        write_apkg(tmp_path / f"{name}.apkg", notes, _model(), timestamp=TS)
        assert len(_import(col, tmp_path / f"{name}.apkg").new) == 10
    assert col.note_count() == 20 and col.card_count() == 20
    for deck, notes in (("Deck A", a), ("Deck B", b)):
        cards = [col.get_card(c) for c in col.find_cards(f'"deck:{deck}"')]
        cards.sort(key=lambda c: c.due)
        assert [c.note().guid for c in cards] == [n.guid for n in notes]
