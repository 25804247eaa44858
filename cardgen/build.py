"""The pipeline end to end: recipe -> problems -> solutions -> fields -> .apkg."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from markupsafe import escape

from cardgen.anki import NoteData, make_model, note_guid, write_apkg
from cardgen.families import get_family
from cardgen.generate import Problem, generate_family, study_order
from cardgen.recipes import Recipe
from cardgen.render.env import back_template, card_css, front_template
from cardgen.render.note import note_fields

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Card:
    problem: Problem
    note: NoteData


@dataclass(frozen=True)
class BuiltDeck:
    path: Path
    notes: int
    bytes: int


def recipe_problems(recipe: Recipe) -> list[Problem]:
    groups = [generate_family(f.name, recipe.seed, f.count, f.levels) for f in recipe.families]
    return study_order(groups)


def deck_cards(recipe: Recipe, progress: Progress | None = None) -> list[Card]:
    problems = recipe_problems(recipe)
    cards = []
    for i, problem in enumerate(problems):
        family = get_family(problem.family)
        fields = note_fields(problem, family.solve(problem.params))
        tags = (f"cardgen::{problem.family}", f"level::{problem.level}")
        deck = f"{recipe.name}::{family.TOPIC}"
        cards.append(Card(problem, NoteData(fields, tags,
                                            note_guid(problem.family, problem.params), deck)))
        if progress and ((i + 1) % 200 == 0 or i + 1 == len(problems)):
            progress(i + 1, len(problems))
    return cards


def deck_filename(recipe: Recipe) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", recipe.name.lower()).strip("-")
    return f"{slug or 'deck'}.apkg"


def build_recipe(recipe: Recipe, out_dir: Path, timestamp: float,
                 progress: Progress | None = None) -> BuiltDeck:
    cards = deck_cards(recipe, progress)
    model = make_model(front_template(), back_template(), card_css())
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    path = Path(out_dir) / deck_filename(recipe)
    # Anki shows deck descriptions as HTML: recipe text must stay text.
    descriptions = {recipe.name: str(escape(recipe.description))} if recipe.description else None
    size = write_apkg(path, [c.note for c in cards], model, timestamp=timestamp,
                      deck_descriptions=descriptions)
    return BuiltDeck(path, len(cards), size)
