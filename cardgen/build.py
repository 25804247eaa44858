"""The pipeline end to end: recipe -> problems -> solutions -> fields -> .apkg."""

from __future__ import annotations

import itertools
import operator
import os
import re
import unicodedata
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from markupsafe import escape

from cardgen.anki import EncodedNote, NoteData, guid_from_key, make_model, stage_apkg
from cardgen.collector import rare_collections
from cardgen.digest import sha256
from cardgen.families import get_family
from cardgen.families.base import Solution
from cardgen.generate import Problem, generate_family, stack_problems, study_order, study_ranks
from cardgen.output import Staged, make_folder
from cardgen.recipes import FamilySpec, Recipe
from cardgen.render.env import back_template, card_css, front_template
from cardgen.render.note import note_fields
from cardgen.variants import family_variants

Progress = Callable[[int, int], None]

# Below this many notes a worker pool costs more than it saves. Measured whole builds on
# 2 idle cores: a worker per core made a 480-note deck 9% faster, a 240-note one 4%,
# and a 120-note one 6% slower.
PARALLEL_FROM = 300
CHUNK = 500  # notes per render job at most
# A job holds at most 1/JOBS_PER_WORKER of a worker's share of the notes not yet sent
# (and MIN_CHUNK at least), so jobs shrink towards the end: the parent writes each
# job's notes while the workers render later ones, only the last small job's are left
# to write, and no worker renders a long last job while the others wait. (Two jobs of
# 260 notes, the default deck on 2 cores, left the parent idle while they rendered and
# the workers idle while it wrote them.)
JOBS_PER_WORKER = 4
MIN_CHUNK = 32
# notes the caller takes between looks for finished jobs
_POLL_EVERY = 16


def _chunk_size(left: int, workers: int) -> int:
    return max(MIN_CHUNK, min(CHUNK, -(-left // (workers * JOBS_PER_WORKER))))


@dataclass(frozen=True)
class Card:
    problem: Problem
    note: NoteData | EncodedNote  # encoded only where the caller asked (the writer)


@dataclass(frozen=True)
class BuiltDeck:
    path: Path
    notes: int
    bytes: int


def _generate(spec: FamilySpec, seed: int, variants: int = 1) -> list[Problem]:
    problems = generate_family(spec.name, seed, spec.count, spec.levels)
    more = family_variants(problems, seed, variants)
    # a problem the draws left as it was (variants = 1) is kept, not copied (~3 us each)
    return [replace(p, variants=v.params, solutions=v.solutions) if v.solutions else p
            for p, v in zip(problems, more, strict=True)]


# The problems a worker drew, by family position. Filled only in a worker, and read by
# the render jobs it runs: a job for problems it drew names them instead of carrying
# them (and their variants' solutions) from the worker to the parent and back.
_DRAWN: dict[int, list[Problem | None]] = {}


def _draw(position: int, spec: FamilySpec, seed: int, variants: int) -> list[Problem]:
    """A family's problems, drawn in a worker, which keeps them; the parent gets them
    without the variants' solutions (a worker that renders problems it did not draw
    solves them again)."""
    problems = _generate(spec, seed, variants)
    _DRAWN[position] = list(problems)
    return [replace(p, solutions=()) if p.solutions else p for p in problems]


def _render_drawn(deck_name: str, refs: list[tuple[int, int]]) -> list[EncodedNote]:
    """The notes of problems this worker drew: (family position, index) each. Each is
    rendered once, and then let go (a 50,000-note deck's variants would fill memory)."""
    notes = []
    for position, index in refs:
        drawn = _DRAWN[position]
        problem, drawn[index] = drawn[index], None
        assert problem is not None, "a drawn problem is rendered once"
        notes.append(EncodedNote.of(_card(deck_name, problem).note))
    return notes


def problem_solutions(problem: Problem) -> Sequence[Solution]:
    """The solutions of variant 0 and the variants: those the variant draws made, else
    solved here."""
    solve = get_family(problem.family).solve
    return problem.solutions or [solve(params) for params in (problem.params,
                                                              *problem.variants)]


def note_tags(problem: Problem) -> tuple[str, str]:
    return f"cardgen::{problem.family}", f"level::{problem.level}"


def _card(deck_name: str, problem: Problem) -> Card:
    guid = guid_from_key(problem.family, problem.key)
    fields = note_fields(problem, problem_solutions(problem), guid)
    topic = get_family(problem.family).TOPIC
    return Card(problem, NoteData(fields, note_tags(problem), guid, f"{deck_name}::{topic}"))


def _cards(deck_name: str, problems: Sequence[Problem]) -> list[Card]:
    return [_card(deck_name, p) for p in problems]


def _workers(total: int) -> int:
    if total < PARALLEL_FROM or not hasattr(os, "fork"):
        return 1
    return min(os.cpu_count() or 1, 8)


def recipe_problems(recipe: Recipe) -> list[Problem]:
    groups = [_generate(f, recipe.seed, recipe.variants) for f in recipe.families]
    return study_order(groups + [stack_problems(s) for s in recipe.stacks])


def iter_cards(recipe: Recipe, progress: Progress | None = None, *,
               encoded: bool = False) -> Generator[Card, None, None]:
    """Every card of the recipe, in study order, as they are made. Large decks use one
    process per core, and the caller can write cards while later ones are rendered; each
    stage is a pure function, so the cards are the same either way. With ``encoded``,
    notes made on workers come as anki.EncodedNote (for the writer, which stores the
    bytes as they are).

    The work starts at the call, not at the first card asked for: a large deck's workers
    are forked and drawing while the caller sets itself up (the writer imports its modules
    and opens its collection then). Close the iterator to stop them before the end."""
    cards = _started_cards(recipe, progress, encoded)
    next(cards)  # to the mark that the work has started
    return cards  # type: ignore[return-value]  # every later item is a Card


def _started_cards(recipe: Recipe, progress: Progress | None,
                   encoded: bool) -> Generator[Card | None, None, None]:
    """The cards after one None, yielded once the work has started."""
    with rare_collections():
        workers = _workers(recipe.total)
        if workers > 1:
            yield from _parallel_cards(recipe, workers, progress, encoded)
            return
        yield None
        problems = recipe_problems(recipe)
        for i, problem in enumerate(problems):
            yield _card(recipe.name, problem)
            if progress and ((i + 1) % 200 == 0 or i + 1 == len(problems)):
                progress(i + 1, len(problems))


def _parallel_cards(recipe: Recipe, workers: int, progress: Progress | None,
                    encoded: bool) -> Iterator[Card | None]:
    """The cards on forked workers (cardgen.workers: they inherit the loaded modules and
    caches), after one None once the workers are drawing.

    A job per family draws its problems; a job per chunk renders notes. The notes go to
    the caller in study order as soon as they are rendered, so the deck is written while
    later ones render. Study order needs every family's problems, and the last family
    drawn can take long (a network family's draws): meanwhile a worker with no drawing
    left renders the earliest problems drawn so far instead of waiting. A problem renders
    in the worker that drew it where that keeps both busy: the caches its drawing filled
    (layers, steps, claims, the variants' solutions) serve its rendering too."""
    from cardgen.workers import ForkPool

    size = _chunk_size(recipe.total, workers)  # of the early jobs, and between progress
    groups: list[list[Problem]] = [[] for _ in recipe.families]
    drawing = len(groups)  # families still drawing
    early: list[tuple[tuple[int, int, int], Problem]] = []  # drawn, not yet sent
    drawer: dict[int, int] = {}  # id() of a drawn problem -> the worker that drew it
    family_of: dict[int, int] = {}  # id() of a drawn problem -> its family's position
    sent: set[int] = set()  # id() of the problems sent to render
    chunks: dict[int, list[Problem]] = {}  # render jobs in flight, by number
    numbers = itertools.count()
    notes: dict[int, EncodedNote] = {}  # id() of a problem -> its note

    with ForkPool(workers, ahead=1) as pool:
        def render(chunk: list[Problem], worker: int | None) -> None:
            number = next(numbers)
            chunks[number] = chunk
            sent.update(map(id, chunk))
            # Workers send back only the notes: unpickling the problems' params again
            # would cost the parent more than writing the notes does.
            elsewhere = (_render_chunk, ((recipe.name, chunk),))
            if worker is None or any(drawer.get(id(p)) != worker for p in chunk):
                # carries its problems: a recipe's stacks, or problems another drew
                pool.submit(number, _render_chunk, (recipe.name, chunk), prefer=worker)
            else:
                refs = [(family_of[id(p)], p.index) for p in chunk]
                pool.submit(number, _render_drawn, recipe.name, refs, prefer=worker,
                            elsewhere=elsewhere)

        def receive() -> None:
            nonlocal drawing
            tag, result, worker = pool.next_from()
            if isinstance(tag, tuple):  # ("drawn", the family's position)
                groups[tag[1]] = result
                drawing -= 1
                early.extend(zip(study_ranks(tag[1], result), result, strict=True))
                drawer.update((id(p), worker) for p in result)
                family_of.update((id(p), tag[1]) for p in result)
            else:
                notes.update(zip(map(id, chunks.pop(tag)), result, strict=True))

        for pos, spec in enumerate(recipe.families):
            pool.submit(("drawn", pos), _draw, pos, spec, recipe.seed, recipe.variants)
        yield None
        while drawing:
            receive()
            if drawing and early:
                early.sort(key=operator.itemgetter(0))  # runs already sorted: merged
                for worker in pool.idle:  # its own earliest problems, else anyone's
                    pick = [p for _, p in early if drawer[id(p)] == worker][:size] or \
                        [p for _, p in early[:size]]
                    render(pick, worker)
                    early[:] = [item for item in early if id(item[1]) not in sent]
                    if not early:
                        break
        problems = study_order(groups + [stack_problems(s) for s in recipe.stacks])
        rest = [p for p in problems if id(p) not in sent]
        start = 0
        while start < len(rest):
            # a stretch of study order, each worker's share of it to the worker that drew
            # it, in jobs of at most a chunk
            chunk = _chunk_size(len(rest) - start, workers)
            end = start + workers * chunk
            shares: dict[int | None, list[Problem]] = {}
            for p in rest[start:end]:
                shares.setdefault(drawer.get(id(p)), []).append(p)
            for worker, share in shares.items():
                for i in range(0, len(share), chunk):
                    render(share[i:i + chunk], worker)
            start = end
        pool.finish()  # every job is queued: workers exit after their last
        for done, problem in enumerate(problems, 1):
            while id(problem) not in notes:
                receive()
            if done % _POLL_EVERY == 0:
                while pool.ready():  # results read now are jobs started now
                    receive()
            note = notes.pop(id(problem))
            yield Card(problem, note if encoded else note.decoded())
            if progress and (done % size == 0 or done == len(problems)):
                progress(done, len(problems))


def deck_cards(recipe: Recipe, progress: Progress | None = None) -> list[Card]:
    """Every card of the recipe, in study order."""
    return list(iter_cards(recipe, progress))


def _render_chunk(job: tuple[str, list[Problem]]) -> list[EncodedNote]:
    return [EncodedNote.of(card.note) for card in _cards(*job)]


_SLUG_BYTES = 120  # file names are at most 255 bytes; leave room for temp-file affixes


def deck_filename(recipe: Recipe) -> str:
    """The deck's file name: its name's letters and digits (any script) in lower case,
    every other run of characters a "-". A long name is cut, with a hash of the whole
    name, so that two long names cannot share a file."""
    name = unicodedata.normalize("NFKC", recipe.name).casefold()
    slug = re.sub(r"[\W_]+", "-", name).strip("-") or "deck"
    if len(slug.encode("utf-8")) > _SLUG_BYTES:
        digest = sha256(recipe.name.encode("utf-8")).hexdigest()[:10]
        cut = slug.encode("utf-8")[:_SLUG_BYTES - 11].decode("utf-8", "ignore").rstrip("-")
        slug = f"{cut}-{digest}"
    return f"{slug}.apkg"


def build_recipe(recipe: Recipe, out_dir: Path, timestamp: float,
                 progress: Progress | None = None) -> BuiltDeck:
    """Build the recipe's deck into `out_dir`."""
    staged = stage_recipe(recipe, out_dir, timestamp, progress)
    staged.commit()
    return BuiltDeck(staged.target, staged.notes, staged.size)


@dataclass
class StagedDeck:
    """A deck written beside its target under a temporary name (see anki.stage_apkg)."""
    staged: Staged
    notes: int

    @property
    def target(self) -> Path:
        return self.staged.target

    @property
    def size(self) -> int:
        return self.staged.size

    def commit(self) -> None:
        self.staged.commit()

    def discard(self) -> None:
        self.staged.discard()


def stage_recipe(recipe: Recipe, out_dir: Path, timestamp: float,
                 progress: Progress | None = None) -> StagedDeck:
    """Write the recipe's deck beside its target, not yet in place: a run of several
    recipes renames them only once every deck is written."""
    cards = iter_cards(recipe, progress, encoded=True)  # a large deck's workers start now
    count = 0

    def notes() -> Iterator[NoteData | EncodedNote]:
        nonlocal count
        for card in cards:
            count += 1
            yield card.note

    try:
        model = make_model(front_template(), back_template(), card_css())
        make_folder(out_dir)
        path = Path(out_dir) / deck_filename(recipe)
        # Anki shows deck descriptions as HTML: recipe text must stay text.
        descriptions = ({recipe.name: str(escape(recipe.description))}
                        if recipe.description else None)
        staged = stage_apkg(path, notes(), model, timestamp=timestamp,
                            deck_descriptions=descriptions)
    finally:
        cards.close()  # on an error before the last card: the workers end at once
    return StagedDeck(staged, count)
