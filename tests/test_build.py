"""End to end: `cardgen build`, Anki imports and updates, reproducibility, verify, bad recipes."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from cardgen.anki import MODEL_ID
from cardgen.build import build_recipe, deck_cards
from cardgen.recipes import default_recipe, parse_recipe

EPOCH = 1_750_000_000
DIAGRAM_FAMILIES = {"conv.output_size", "conv_transpose.output_size", "pool.output_size",
                    "adaptive.windows", "adaptive.equivalence", "adaptive.values",
                    "adaptive.output_shape", "conv.same_padding"}


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH), **(env or {})}
    return subprocess.run([sys.executable, "-m", "cardgen", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def default_deck(tmp_path_factory) -> Path:
    """`cardgen build` in an empty folder: the built-in default recipe."""
    folder = tmp_path_factory.mktemp("build")
    result = run_cli("build", cwd=folder)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    path = folder / line.split()[0]
    assert path.parent == folder / "dist" and path.suffix == ".apkg"
    assert f"{default_recipe().total} notes" in line and f"{path.stat().st_size} bytes" in line
    return path


def _import(col, path: Path):
    from anki.collection import ImportAnkiPackageRequest

    options = col._backend.get_import_anki_package_presets()  # what Anki desktop offers
    return col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path),
                                                            options=options)).log


@pytest.fixture
def collection(tmp_path, require):
    require("anki")
    from anki.collection import Collection

    col = Collection(str(tmp_path / "collection.anki2"))
    yield col
    col.close()


def test_default_build_imports_and_every_card_renders(default_deck, collection):
    col = collection
    log = _import(col, default_deck)
    recipe = default_recipe()
    assert len(log.new) == recipe.total == col.note_count() == col.card_count()
    families_seen = set()
    for cid in col.find_cards(""):
        card = col.get_card(cid)
        note = card.note()
        spec = json.loads(note["Spec"])
        families_seen.add(spec["family"])
        question, answer = card.question(), card.answer()
        assert note["Front"] in question and "[[type:Answer]]" in question
        assert note["Answer"] == spec["answer"] and note["Answer"] in answer
        assert note["Worked"] in answer and note["Spec"] not in answer
        # a layer PyTorch refuses never runs: it has no windows to draw
        if spec["family"] in DIAGRAM_FAMILIES and spec["answer"] not in ("error", "no"):
            assert "<svg" in answer, (spec["family"], spec["answer"])
        assert f"cardgen::{spec['family']}" in note.tags and f"level::{spec['level']}" in note.tags
        assert col.decks.name(card.did).startswith(recipe.name + "::")
    assert families_seen == {f.name for f in recipe.families}


def test_rebuild_with_new_wording_updates_in_place_and_keeps_history(tmp_path, collection,
                                                                     monkeypatch):
    from anki.cards import Card
    from anki.scheduler.v3 import CardAnswer

    import cardgen.build as build

    col = collection
    recipe = parse_recipe(
        '[deck]\nname = "Update Test"\nseed = 5\n'
        '[families."conv.output_size"]\ncount = 12\n'
        '[families."adaptive.windows"]\ncount = 12\n', "update.toml")
    first = build_recipe(recipe, tmp_path / "v1", EPOCH)
    _import(col, first.path)
    col.decks.select(col.decks.id_for_name("Update Test"))
    queued = col.sched.get_queued_cards().cards[0]
    card = Card(col, backend_card=queued.card)
    card.start_timer()
    col.sched.answer_card(col.sched.build_answer(card=card, states=queued.states,
                                                 rating=CardAnswer.GOOD))
    revlog = col.db.all("SELECT id, cid, ease FROM revlog")
    state = (col.get_card(card.id).type, col.get_card(card.id).due)
    guids_before = sorted(col.get_note(n).guid for n in col.find_notes(""))

    original = build.front_template
    monkeypatch.setattr(build, "front_template", lambda: "Reworded: " + original())
    second = build_recipe(recipe, tmp_path / "v2", EPOCH + 86400)
    log = _import(col, second.path)
    assert len(log.new) == 0 and len(log.updated) == 24
    assert sorted(col.get_note(n).guid for n in col.find_notes("")) == guids_before
    col.models._clear_cache()  # the Python-side cache predates the backend's import
    assert col.models.get(MODEL_ID)["tmpls"][0]["qfmt"].startswith("Reworded: ")
    assert "Reworded: " in col.get_card(card.id).question()
    assert col.db.all("SELECT id, cid, ease FROM revlog") == revlog
    assert (col.get_card(card.id).type, col.get_card(card.id).due) == state
    names = [d.name for d in col.decks.all_names_and_ids()]
    assert len(names) == len(set(names))
    assert [m.name for m in col.models.all_names_and_ids()].count("cardgen") == 1


def test_renamed_field_and_reworded_template_update_the_note_type(tmp_path, collection,
                                                                  monkeypatch):
    """Fields and templates carry stable ids, so Anki matches them by id, not by name: a
    later build that renames a field updates the note type instead of adding a second."""
    import cardgen.anki as anki
    import cardgen.build as build

    col = collection
    recipe = parse_recipe('[deck]\nname = "Rename Test"\nseed = 3\n'
                          '[families."conv.inverse"]\ncount = 9\n', "rename.toml")
    _import(col, build_recipe(recipe, tmp_path / "v1", EPOCH).path)
    renamed = ["Front", "Answer", "Solution", "Spec"]
    monkeypatch.setattr(anki, "FIELDS", renamed)
    original = build.back_template
    monkeypatch.setattr(build, "back_template",
                        lambda: "<!-- v2 -->" + original().replace("{{Worked}}", "{{Solution}}"))
    log = _import(col, build_recipe(recipe, tmp_path / "v2", EPOCH + 86400).path)
    assert len(log.new) == 0 and len(log.updated) == 9
    col.models._clear_cache()
    assert [m.name for m in col.models.all_names_and_ids()
            if m.name.startswith("cardgen")] == ["cardgen"]
    model = col.models.get(MODEL_ID)
    assert [f["name"] for f in model["flds"]] == renamed
    assert [f["id"] for f in model["flds"]] == anki.FIELD_IDS
    assert model["tmpls"][0]["afmt"].startswith("<!-- v2 -->")
    for note_id in col.find_notes(""):  # each note kept its worked solution, now "Solution"
        kept = col.get_note(note_id)["Solution"]
        assert kept.startswith('<div class="cg-variant-worked" data-cg-variant="0">')
        assert '<ol class="cg-steps">' in kept


def test_guids_do_not_depend_on_templates(monkeypatch):
    import cardgen.render.note as note

    recipe = parse_recipe('[deck]\nname = "G"\nseed = 1\n[families."pool.output_size"]\n'
                          'count = 15\n', "g.toml")
    before = [c.note.guid for c in deck_cards(recipe)]
    monkeypatch.setattr(note, "front_html", lambda solution: "<p>reworded</p>")
    after = deck_cards(recipe)
    assert [c.note.guid for c in after] == before
    # every variant's front is the reworded one
    assert all(c.note.fields[0].count("<p>reworded</p>") == 1 + len(c.problem.variants)
               and "cg-q" not in c.note.fields[0] for c in after)


def test_worker_processes_build_the_same_bytes_as_one_process(tmp_path, monkeypatch):
    import cardgen.build as build

    if not hasattr(os, "fork"):
        pytest.skip("worker processes are forked (not on this platform)")
    recipe = default_recipe()
    monkeypatch.setattr(build, "_workers", lambda total: 1)
    serial = build_recipe(recipe, tmp_path / "serial", EPOCH)
    # Many small chunks across 2 workers: the writer sees the cards arrive in pieces.
    monkeypatch.setattr(build, "_workers", lambda total: 2)
    monkeypatch.setattr(build, "CHUNK", 37)
    parallel = build_recipe(recipe, tmp_path / "parallel", EPOCH)
    assert parallel.notes == serial.notes == recipe.total
    assert parallel.path.read_bytes() == serial.path.read_bytes()


def test_cards_made_on_workers_carry_notes_of_text_unless_the_writer_asks(monkeypatch):
    """Workers send their notes UTF-8 encoded; deck_cards still gives NoteData, the
    same as one process makes, and only the writer gets them encoded."""
    import cardgen.build as build
    from cardgen.anki import EncodedNote, NoteData

    if not hasattr(os, "fork"):
        pytest.skip("worker processes are forked (not on this platform)")
    recipe = replace(default_recipe(), variants=1)
    monkeypatch.setattr(build, "_workers", lambda total: 1)
    serial = [card.note for card in deck_cards(recipe)]
    monkeypatch.setattr(build, "_workers", lambda total: 2)
    parallel = [card.note for card in deck_cards(recipe)]
    encoded = [card.note for card in build.iter_cards(recipe, encoded=True)]
    assert all(type(note) is NoteData for note in serial + parallel)
    assert parallel == serial
    assert all(type(note) is EncodedNote for note in encoded)
    assert [note.decoded() for note in encoded] == serial


def _count_forks(monkeypatch) -> list[int]:
    """The pids of the workers forked from now on."""
    import cardgen.workers as workers

    if not hasattr(os, "fork"):
        pytest.skip("worker processes are forked (not on this platform)")
    forked: list[int] = []
    real = workers.os.fork

    def fork() -> int:
        pid = real()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(workers.os, "fork", fork)
    return forked


def _reaped(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue  # reaped already
        return False
    return True


def test_the_workers_start_at_the_call_and_end_when_the_cards_are_closed(monkeypatch):
    """iter_cards forks a large deck's workers before the first card is asked for (the
    writer sets itself up meanwhile); closing the iterator early ends them."""
    import cardgen.build as build

    forked = _count_forks(monkeypatch)
    monkeypatch.setattr(build, "_workers", lambda total: 2)
    cards = build.iter_cards(replace(default_recipe(), variants=1))
    assert len(forked) == 2  # before any card
    assert next(cards).problem.index == 0
    cards.close()
    assert _reaped(forked)


def test_a_bad_output_folder_fails_as_before_and_leaves_no_worker(tmp_path, monkeypatch):
    """The workers start before the writer makes its folder: a folder that cannot be
    made still fails with the writer's error, and the workers are gone."""
    import cardgen.build as build
    from cardgen.output import OutputError

    forked = _count_forks(monkeypatch)
    monkeypatch.setattr(build, "_workers", lambda total: 2)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError):
        build.stage_recipe(replace(default_recipe(), variants=1), blocker / "out", EPOCH)
    assert len(forked) == 2 and _reaped(forked)


def test_jobs_run_away_from_the_worker_that_drew_them_give_the_same_bytes(
        tmp_path, monkeypatch):
    """A render job that another worker takes carries its problems, without the solutions
    the drawing worker kept: the notes must not change."""
    import cardgen.build as build
    from cardgen.workers import ForkPool

    if not hasattr(os, "fork"):
        pytest.skip("worker processes are forked (not on this platform)")
    recipe = replace(default_recipe(), variants=3)
    monkeypatch.setattr(build, "_workers", lambda total: 1)
    serial = build_recipe(recipe, tmp_path / "serial", EPOCH)
    submit = ForkPool.submit
    away = []

    def never_preferred(self, tag, function, *args, prefer=None, elsewhere=None):
        if prefer is not None:
            away.append(tag)
            prefer = 99  # no such worker: every such job runs `elsewhere`
        submit(self, tag, function, *args, prefer=prefer, elsewhere=elsewhere)

    monkeypatch.setattr(ForkPool, "submit", never_preferred)
    monkeypatch.setattr(build, "_workers", lambda total: 2)
    parallel = build_recipe(recipe, tmp_path / "parallel", EPOCH)
    assert away  # the build did prefer workers
    assert parallel.path.read_bytes() == serial.path.read_bytes()


def test_a_worker_idle_while_another_draws_renders_the_others_problems(tmp_path,
                                                                      monkeypatch):
    """While one worker draws a slow family, the other renders everything drawn so far,
    its own problems first, then those the busy worker drew (carried to it); a recipe's
    stacks, drawn by no worker, are carried too."""
    import time

    import cardgen.build as build
    from cardgen.recipes import parse_recipe

    if not hasattr(os, "fork"):
        pytest.skip("worker processes are forked (not on this platform)")
    recipe = parse_recipe('[deck]\nname = "Idle"\nseed = 3\n'
                          '[families."conv.output_size"]\ncount = 150\n'
                          '[families."pool.output_size"]\ncount = 150\n'
                          '[families."conv.inverse"]\ncount = 60\n'
                          '[stacks.net]\ninput = [1, 3, 16, 16]\n'
                          'layers = ["Conv2d(3, 8, 3)", "MaxPool2d(2)"]\n', "idle.toml")
    monkeypatch.setattr(build, "_workers", lambda total: 1)
    serial = build_recipe(recipe, tmp_path / "serial", EPOCH)
    generate = build._generate

    def slow_last(spec, seed, variants=1):
        if spec.name == "conv.inverse":
            time.sleep(4)  # the forked workers inherit this; long enough for the other
            # worker to render its own problems on a busy machine
        return generate(spec, seed, variants)

    from cardgen.workers import ForkPool

    submit = ForkPool.submit
    carried = []  # jobs sent to a worker with problems it did not draw

    def recording(self, tag, function, *args, prefer=None, elsewhere=None):
        if function is build._render_chunk and prefer is not None:
            carried.append(tag)
        submit(self, tag, function, *args, prefer=prefer, elsewhere=elsewhere)

    monkeypatch.setattr(ForkPool, "submit", recording)
    monkeypatch.setattr(build, "_generate", slow_last)
    monkeypatch.setattr(build, "_workers", lambda total: 2)
    parallel = build_recipe(recipe, tmp_path / "parallel", EPOCH)
    assert carried
    assert parallel.path.read_bytes() == serial.path.read_bytes()


def test_render_jobs_keep_to_the_chunk_limit_and_workers_let_go_of_rendered_problems(
        tmp_path, monkeypatch):
    import cardgen.build as build
    from cardgen.workers import ForkPool

    if not hasattr(os, "fork"):
        pytest.skip("worker processes are forked (not on this platform)")
    recipe = default_recipe()
    monkeypatch.setattr(build, "_workers", lambda total: 1)
    serial = build_recipe(recipe, tmp_path / "serial", EPOCH)
    submit = ForkPool.submit
    sizes = []

    def recording(self, tag, function, *args, prefer=None, elsewhere=None):
        if function in (build._render_drawn, build._render_chunk):
            sizes.append(len(args[1]) if function is build._render_drawn else len(args[0][1]))
        submit(self, tag, function, *args, prefer=prefer, elsewhere=elsewhere)

    monkeypatch.setattr(ForkPool, "submit", recording)
    monkeypatch.setattr(build, "_workers", lambda total: 2)
    monkeypatch.setattr(build, "CHUNK", 40)
    parallel = build_recipe(recipe, tmp_path / "parallel", EPOCH)
    assert sum(sizes) == recipe.total and max(sizes) <= 40
    assert parallel.path.read_bytes() == serial.path.read_bytes()
    # in a worker, a problem rendered is let go
    monkeypatch.setattr(build, "_DRAWN", {})
    spec = recipe.families[0]
    drawn = build._draw(0, spec, recipe.seed, 2)
    notes = build._render_drawn(recipe.name, [(0, 0), (0, 2)])
    assert [n.guid for n in notes] == [build._card(recipe.name, drawn[i]).note.guid
                                       for i in (0, 2)]
    assert build._DRAWN[0][0] is None and build._DRAWN[0][2] is None
    assert build._DRAWN[0][1] is not None


def test_builds_are_byte_identical_across_processes_and_time_zones(tmp_path, default_deck):
    """A CI runner and a laptop in another time zone must agree byte for byte. POSIX TZ
    strings need no tz database: UTC, and Tokyo (UTC+9, another calendar day at times)."""
    outputs = []
    for hashseed, tz in (("1", "UTC0"), ("987", "JST-9")):
        out = tmp_path / hashseed
        result = run_cli("build", "--out", str(out), cwd=tmp_path,
                         env={"PYTHONHASHSEED": hashseed, "TZ": tz})
        assert result.returncode == 0, result.stderr
        outputs.append((out / default_deck.name).read_bytes())
    assert outputs[0] == outputs[1] == default_deck.read_bytes()
    later = run_cli("build", "--out", str(tmp_path / "later"), cwd=tmp_path,
                    env={"SOURCE_DATE_EPOCH": str(EPOCH + 1)})
    assert later.returncode == 0, later.stderr
    assert (tmp_path / "later" / default_deck.name).read_bytes() != outputs[0]


def test_verify_passes_on_the_default_build(default_deck, tmp_path, require):
    require("torch")
    result = run_cli("verify", str(default_deck), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "torch" in result.stdout


def rewrite_deck(src: Path, dst: Path, change) -> str:
    """Copy a deck with the first note whose fields `change(fields)` alters (it returns
    True) altered; returns that note's guid."""
    with zipfile.ZipFile(src) as zin:
        db_bytes, media = zin.read("collection.anki2"), zin.read("media")
    db_path = dst.with_suffix(".db")
    db_path.write_bytes(db_bytes)
    con = sqlite3.connect(db_path)
    rows = con.execute("SELECT id, guid, flds FROM notes ORDER BY id").fetchall()
    changed = [(nid, guid, fields) for nid, guid, flds in rows
               if change(fields := flds.split("\x1f"))]
    assert changed, "no note to change"
    nid, guid, fields = changed[0]
    con.execute("UPDATE notes SET flds = ? WHERE id = ?", ("\x1f".join(fields), nid))
    con.commit()
    con.close()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zout:
        zout.writestr("collection.anki2", db_path.read_bytes())
        zout.writestr("media", media)
    dst.write_bytes(buffer.getvalue())
    return guid


def _alter_answer(src: Path, dst: Path) -> str:
    """Copy a deck with one note's Answer changed (the eighth); returns its guid."""
    seen = []

    def change(fields: list[str]) -> bool:
        seen.append(1)
        if len(seen) != 8:
            return False
        fields[1] = fields[1] + "9"
        return True
    return rewrite_deck(src, dst, change)


def test_verify_fails_on_an_altered_answer_and_names_the_note(default_deck, tmp_path):
    bad = tmp_path / "altered.apkg"
    guid = _alter_answer(default_deck, bad)
    result = run_cli("verify", str(bad), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert guid in result.stdout


BAD_RECIPES = {
    "syntax": ('[deck\nname = "x"\n', "line"),
    "unknown_family": ('[deck]\nname = "x"\nseed = 1\n[families."conv.nope"]\ncount = 3\n',
                       "conv.nope"),
    "negative_count": ('[deck]\nname = "x"\nseed = 1\n[families."conv.validity"]\ncount = -3\n',
                       "count"),
    "bad_level": ('[deck]\nname = "x"\nseed = 1\n[families."conv.validity"]\ncount = 3\n'
                  'levels = [7]\n', "levels"),
    "unknown_key": ('[deck]\nname = "x"\nseed = 1\ncolour = "red"\n'
                    '[families."conv.validity"]\ncount = 3\n', "colour"),
    "variants_zero": ('[deck]\nname = "x"\nseed = 1\nvariants = 0\n'
                      '[families."conv.validity"]\ncount = 3\n', "deck.variants"),
    "variants_many": ('[deck]\nname = "x"\nseed = 1\nvariants = 17\n'
                      '[families."conv.validity"]\ncount = 3\n', "deck.variants"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECIPES))
def test_bad_recipes_exit_2_with_one_line_and_write_nothing(tmp_path, case):
    text, key = BAD_RECIPES[case]
    recipe = tmp_path / f"{case}.toml"
    recipe.write_text(text)
    result = run_cli("build", str(recipe), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and recipe.name in lines[0] and key in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_folder_is_not_a_recipe(tmp_path):
    (tmp_path / "folder.toml").mkdir()
    result = run_cli("build", "folder.toml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2 and "folder.toml" in result.stderr
    assert not (tmp_path / "out").exists()


def test_build_uses_the_recipes_in_decks_folder(tmp_path):
    (tmp_path / "decks").mkdir()
    (tmp_path / "decks" / "mine.toml").write_text(
        '[deck]\nname = "Mine"\nseed = 3\n[families."adaptive.values"]\ncount = 5\n')
    result = run_cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dist/mine.apkg  5 notes" in result.stdout


def test_recipe_text_is_never_markup(tmp_path):
    (tmp_path / "x.toml").write_text(
        '[deck]\nname = "<script>alert(1)</script>"\ndescription = "<script>bad()</script>"\n'
        'seed = 3\n[families."conv.validity"]\ncount = 4\n')
    result = run_cli("preview", "x.toml", "--out", "p.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "p.html").read_text()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_default_deck_worked_fields_are_compact(default_deck):
    from cardgen.apkg import read_notes

    notes = read_notes(default_deck)
    sizes = [len(n.fields["Worked"].encode()) for n in notes]
    variants = [1 + len(json.loads(n.fields["Spec"]).get("variants", [])) for n in notes]
    assert sum(sizes) / sum(variants) <= 4096  # per variant


def test_deck_description_reaches_anki_as_text(tmp_path, collection):
    recipe = parse_recipe('[deck]\nname = "Desc"\ndescription = "<script>x()</script> & co"\n'
                          'seed = 2\n[families."conv.validity"]\ncount = 3\n', "d.toml")
    built = build_recipe(recipe, tmp_path, EPOCH)
    _import(collection, built.path)
    deck = collection.decks.by_name("Desc")
    assert "<script" not in deck["desc"] and "&lt;script&gt;" in deck["desc"]


def test_seed_option_overrides_the_recipe(tmp_path):
    (tmp_path / "r.toml").write_text('[deck]\nname = "S"\nseed = 1\n'
                                     '[families."conv.output_size"]\ncount = 5\n')
    outputs = []
    for extra in ([], ["--seed", "1"], ["--seed", "2"]):
        out = tmp_path / f"out{len(outputs)}"
        result = run_cli("build", "r.toml", "--out", str(out), *extra, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs.append((out / "s.apkg").read_bytes())
    assert outputs[0] == outputs[1] != outputs[2]


_LOADED = """
import sys
from dataclasses import replace
from pathlib import Path
from cardgen.build import PARALLEL_FROM, build_recipe
from cardgen.recipes import parse_recipe
text = '[deck]\\nname = "Small"\\nseed = 1\\n[families."conv.output_size"]\\ncount = 20\\n'
recipe = parse_recipe(text, "small.toml")
assert recipe.total < PARALLEL_FROM
build_recipe(recipe, Path(sys.argv[1]), 1750000000)
print(" ".join(sorted(sys.modules)))
"""


def test_a_small_build_leaves_heavy_modules_unimported(tmp_path):
    """Start-up weighs on a small deck: genanki (asyncio, yaml) is replaced by its values
    (cardgen.genanki_format, tested against genanki), numpy is only for what needs it,
    and the worker pool is cardgen's own (cardgen.workers), not multiprocessing."""
    result = subprocess.run([sys.executable, "-c", _LOADED, str(tmp_path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "cardgen.anki" in loaded  # (jinja only where the macros' text is not kept yet:
    # tests/test_render_env.py)
    for heavy in ("genanki", "asyncio", "yaml", "multiprocessing", "numpy", "torch"):
        assert heavy not in loaded, heavy
    if "jinja2" not in loaded:  # (jinja imports hashlib itself)
        # OpenSSL's start-up: cardgen.digest is CPython's SHA-256
        assert "hashlib" not in loaded


_IMPORTED = """
import sys
import cardgen.build, cardgen.cli, cardgen.workers
print(" ".join(sorted(sys.modules)))
"""


def test_the_writers_modules_are_not_imported_before_the_workers_start(tmp_path):
    """A worker inherits what its parent imported before the fork, and never writes the
    collection: the writer imports SQLite, mmap and the zip writer when it opens the
    collection, once the workers are drawing."""
    result = subprocess.run([sys.executable, "-c", _IMPORTED], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert "cardgen.anki" in loaded
    for module in ("sqlite3", "_sqlite3", "mmap", "cardgen.zipout", "chevron", "hashlib"):
        assert module not in loaded, module


def test_digest_is_hashlibs_sha256():
    import hashlib

    from cardgen.digest import sha256

    for data in (b"", b"cardgen/7/conv.output_size", bytes(range(256)) * 9):
        assert sha256(data).digest() == hashlib.sha256(data).digest()
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()


def test_variants_one_turns_variants_off_and_keeps_every_problem():
    text = '[deck]\nname = "V"\nseed = 3\n{}[families."conv.validity"]\ncount = 9\n'
    off = deck_cards(parse_recipe(text.format("variants = 1\n"), "v.toml"))
    on = deck_cards(parse_recipe(text.format(""), "v.toml"))
    assert [c.note.guid for c in off] == [c.note.guid for c in on]  # variant 0 is the note
    for a, b in zip(off, on, strict=True):
        spec_off, spec_on = json.loads(a.note.fields[3]), json.loads(b.note.fields[3])
        assert "variants" not in spec_off and 'data-cg-count="1"' in a.note.fields[0]
        assert (spec_off["params"], spec_off["answer"]) == (spec_on["params"], spec_on["answer"])
        assert a.note.fields[1] == b.note.fields[1]
    assert sum(len(json.loads(c.note.fields[3]).get("variants", [])) for c in on) >= 9 * 5


def test_preview_shows_variant_zero_or_every_variant(tmp_path):
    (tmp_path / "x.toml").write_text(
        '[deck]\nname = "P"\nseed = 3\n[families."conv.output_size"]\ncount = 3\n'
        'levels = [1]\n')
    first = run_cli("preview", "x.toml", "--out", "one.html", cwd=tmp_path)
    every = run_cli("preview", "x.toml", "--all-variants", "--out", "all.html", cwd=tmp_path)
    assert first.returncode == 0 and every.returncode == 0, first.stderr + every.stderr
    problems = recipe_problems_of(tmp_path / "x.toml")
    shown = sum(1 + len(p.variants) for p in problems)
    assert "  3 cards  " in first.stdout and f"  {shown} cards  " in every.stdout
    one, all_ = ((tmp_path / n).read_text() for n in ("one.html", "all.html"))
    assert "variant 0 of 8" in one and "variant 1 of 8" not in one
    assert "variant 7 of 8" in all_ and "<template" not in all_ and "cg-mistake" in all_


def recipe_problems_of(path: Path):
    from cardgen.build import recipe_problems
    from cardgen.recipes import load_recipe

    return recipe_problems(load_recipe(path))


def test_the_command_keeps_rare_collections_to_its_exit(monkeypatch):
    """`cardgen` (cli.run) raises the collector's thresholds for the whole process, so
    that main, leaving its rare_collections, finds them raised: restoring the defaults
    there ran a collection of everything the build had made, just before the exit."""
    import gc

    from cardgen import cli
    from cardgen.collector import RARE_THRESHOLDS

    seen = []

    def main() -> int:
        with cli.rare_collections():
            pass
        seen.append(gc.get_threshold())
        return 3

    def leave(status: int) -> None:
        raise SystemExit(status)

    monkeypatch.setattr(cli, "main", main)
    monkeypatch.setattr(cli.os, "_exit", leave)
    monkeypatch.setattr(cli.atexit, "_run_exitfuncs", lambda: None)  # not pytest's own
    monkeypatch.setattr(cli.gc, "freeze", lambda: None)
    old = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.run()
    finally:
        gc.set_threshold(*old)
    assert exited.value.code == 3
    assert seen == [RARE_THRESHOLDS]
