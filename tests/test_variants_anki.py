"""Variants with the real `anki` package and `cardgen verify` (issue 12): a deck built
before variants existed updates in place, and verify checks every variant and mistake."""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest

from cardgen.build import build_recipe
from cardgen.recipes import load_recipe
from tests.test_build import EPOCH, _import, rewrite_deck, run_cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PREVIOUS = FIXTURES / "previous_main.apkg"  # built by commit 15285cd, no variants
PREVIOUS_RECIPE = FIXTURES / "previous_main.toml"


@pytest.fixture(scope="module")
def new_deck(tmp_path_factory) -> Path:
    """Today's build of the recipe the previous main's deck was built from (8 variants)."""
    recipe = load_recipe(PREVIOUS_RECIPE)
    assert recipe.variants == 8
    return build_recipe(recipe, tmp_path_factory.mktemp("new"), EPOCH + 86400).path


def _notes(path: Path, folder: Path) -> list[tuple[int, str, list[str]]]:
    db = folder / "read.db"
    with zipfile.ZipFile(path) as z:
        db.write_bytes(z.read("collection.anki2"))
    con = sqlite3.connect(db)
    try:
        return [(nid, guid, flds.split("\x1f"))
                for nid, guid, flds in con.execute("SELECT id, guid, flds FROM notes ORDER BY id")]
    finally:
        con.close()


def test_the_previous_main_deck_updates_in_place_and_keeps_every_review(tmp_path, require,
                                                                        new_deck):
    require("anki")
    import anki.collection  # first: anki.cards alone is a circular import
    from anki.cards import Card
    from anki.scheduler.v3 import CardAnswer

    col = anki.collection.Collection(str(tmp_path / "collection.anki2"))
    try:
        first = _import(col, PREVIOUS)
        assert len(first.new) == 63
        col.decks.select(col.decks.id_for_name("Previous main"))
        for rating in (CardAnswer.GOOD, CardAnswer.AGAIN, CardAnswer.EASY) * 3:
            queued = col.sched.get_queued_cards().cards[0]
            card = Card(col, backend_card=queued.card)
            card.start_timer()
            col.sched.answer_card(col.sched.build_answer(card=card, states=queued.states,
                                                         rating=rating))
        revlog = col.db.all("SELECT id, cid, ease, ivl, type FROM revlog ORDER BY id")
        cards = col.db.all("SELECT id, nid, type, queue, due, ivl, reps, lapses FROM cards "
                           "ORDER BY id")
        guids = sorted(col.get_note(n).guid for n in col.find_notes(""))
        assert len(revlog) == 9

        log = _import(col, new_deck)
        assert len(log.new) == 0 and len(log.updated) == 63 and not log.duplicate
        assert sorted(col.get_note(n).guid for n in col.find_notes("")) == guids
        assert col.db.all("SELECT id, cid, ease, ivl, type FROM revlog ORDER BY id") == revlog
        assert col.db.all("SELECT id, nid, type, queue, due, ivl, reps, lapses FROM cards "
                          "ORDER BY id") == cards
        assert [m.name for m in col.models.all_names_and_ids()].count("cardgen") == 1
        names = [d.name for d in col.decks.all_names_and_ids()]
        assert len(names) == len(set(names))
        # the notes now hold their variants, and variant 0 is the problem they held before
        before = {guid: fields for _, guid, fields in _notes(PREVIOUS, tmp_path)}
        variants = 0
        for nid in col.find_notes(""):
            note = col.get_note(nid)
            spec = json.loads(note["Spec"])
            old = json.loads(before[note.guid][3])
            assert spec["v"] == 3 and (spec["params"], spec["answer"]) == \
                (old["params"], old["answer"])
            assert note["Answer"] == before[note.guid][1]
            variants += len(spec.get("variants", []))
        assert variants > 63 * 3  # most notes found several variants
    finally:
        col.close()


def test_verify_checks_every_variant_and_mistake(new_deck, tmp_path, require):
    require("torch")
    result = run_cli("verify", str(new_deck), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    notes = _notes(new_deck, tmp_path)
    specs = [json.loads(f[3]) for _, _, f in notes]
    assert sum(len(s.get("variants", [])) for s in specs) > 3 * len(specs)
    every = [v for s in specs for v in (s, *s.get("variants", []))]
    assert sum(bool(v["mistakes"]) for v in every) > len(every) // 2  # checked above, too


def _variant_answer(index: int):
    """Alter variant `index`'s answer in the Spec of the first note that has it."""
    def change(fields: list[str]) -> bool:
        spec = json.loads(fields[3])
        if len(spec.get("variants", [])) < index:
            return False
        spec["variants"][index - 1]["answer"] += "9"
        fields[3] = json.dumps(spec)
        return True
    return change


def _shown_answer(fields: list[str]) -> bool:
    """Alter the answer the card shows for variant 2, leaving the Spec alone."""
    marker = 'data-cg-variant="2" data-cg-answer="'
    if marker not in fields[0]:
        return False
    fields[0] = fields[0].replace(marker, marker + "9", 1)
    return True


def _mistake(fields: list[str]) -> bool:
    """Alter one recorded mistake's answer of a variant after the first."""
    spec = json.loads(fields[3])
    for variant in spec.get("variants", []):
        if variant["mistakes"]:
            variant["mistakes"][0]["answer"] += "9"
            fields[3] = json.dumps(spec)
            return True
    return False


@pytest.mark.parametrize(("change", "says"), [
    (_variant_answer(3), "variant 3: the claims do not entail the answer"),
    (_shown_answer, "variant 2: the card shows the answer"),
    (_mistake, ": mistakes: "),
])
def test_verify_names_the_note_and_the_variant_at_fault(new_deck, tmp_path, change, says):
    bad = tmp_path / "altered.apkg"
    guid = rewrite_deck(new_deck, bad, change)
    result = run_cli("verify", "--backend", "solver", str(bad), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert guid in result.stdout and says in result.stdout
    assert re.search(r"^total +\d+ +\d+ +1$", result.stdout, re.M), result.stdout
