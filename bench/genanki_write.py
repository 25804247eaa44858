"""Baseline for bench.py: write the very same notes with plain genanki, as one process.

Usage: python bench/genanki_write.py NOTES.json OUT.apkg
"""

from __future__ import annotations

import json
import sys
from typing import Any


def write(data: dict[str, Any], out: str) -> None:
    """genanki's own way: Model, Deck, Note objects, then Package.write_to_file."""
    import genanki

    model = genanki.Model(data["model_id"], data["model_name"],
                          fields=[{"name": n} for n in data["fields"]],
                          templates=[{"name": "Card 1", "qfmt": data["qfmt"],
                                      "afmt": data["afmt"]}],
                          css=data["css"])
    decks: dict[str, genanki.Deck] = {}
    for note in data["notes"]:
        deck = decks.get(note["deck"])
        if deck is None:
            deck = decks[note["deck"]] = genanki.Deck(data["deck_ids"][note["deck"]],
                                                      note["deck"])
        deck.add_note(genanki.Note(model=model, fields=note["fields"], tags=note["tags"],
                                   guid=note["guid"]))
    genanki.Package(list(decks.values())).write_to_file(out)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    write(data, sys.argv[2])


if __name__ == "__main__":
    main()
