"""cardgen's speed and size, measured in one run.

    python bench/bench.py [--runs N] [--skip-50k]

Prints, each against plain genanki writing the very same notes (same fields, tags,
GUIDs, note type) where there is a baseline:
1. the default deck (the one `cardgen build` makes, 8 variants a note), and the same
   recipe with `variants = 1`, whole processes: medians, and the median ratio of runs
   made in pairs (cardgen, then genanki);
2. 10,000 notes over every family and level (`variants = 1`), whole processes, the same
   way. A family whose problem space cannot hold its share gets what it holds (printed);
3. per family, in one process: generate + solve + claims + render (no write), ms per
   note of one problem (= ms per variant), and the draws that find a note's variants
   (cardgen.variants), ms per variant found;
4. bytes per note of the .apkg for the default deck and the 10,000-note deck;
5. `cardgen --help` vs `python -c pass` (start-up);
6. scaling on the four families whose spaces hold 50,000 notes: 1k, 10k and 50k builds,
   and the 50k/10k time ratio;
7. where the time goes: cardgen's writer vs genanki's on the same rendered notes (in
   process), and the big-family 10,000-note build in one process vs on every core.
Timings are medians of several runs (standard library only). Like an installed package,
the code runs from compiled bytecode: the bench compiles it first, builds the default deck
once untimed (which keeps the compiled templates and the macros' text in
templates/__pycache__, as a first build does), and does not pass PYTHONDONTWRITEBYTECODE
on to the processes it times.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # genanki_write, beside this file
EPOCH = "1750000000"
# The families (and levels) whose problem spaces hold 50,000 distinct notes.
BIG_FAMILIES = {"conv.output_size": [1, 2, 3], "pool.output_size": [2, 3],
                "adaptive.output_shape": [1, 2, 3], "adaptive.values": [1, 2, 3]}


def recipe_text(total: int) -> str:
    each = total // len(BIG_FAMILIES)
    parts = ['[deck]\nname = "Bench"\nseed = 7\nvariants = 1\n']
    for name, levels in BIG_FAMILIES.items():
        parts.append(f'[families."{name}"]\ncount = {each}\nlevels = {levels}\n')
    return "\n".join(parts)


def capacity(name: str, limit: int) -> int:
    """The most distinct problems (up to `limit`) the family yields at seed 7, every level."""
    from cardgen.errors import CardgenError
    from cardgen.families import FAMILIES
    from cardgen.generate import generate_family

    levels = FAMILIES[name].LEVELS
    lo, hi = 0, limit
    while lo < hi:  # the largest count that generates
        mid = (lo + hi + 1) // 2
        try:
            generate_family(name, 7, mid, levels)
            lo = mid
        except CardgenError:
            hi = mid - 1
    return lo


def every_family_recipe(total: int) -> tuple[str, dict[str, int], set[str]]:
    """A recipe of `total` notes over every family and level: equal shares, except that a
    family whose space is smaller gets what it holds (the set returned) and the others
    share the rest."""
    from cardgen.families import FAMILIES

    counts: dict[str, int] = {}
    open_names = list(FAMILIES)
    left = total
    while open_names:
        share = left // len(open_names)
        small = {n: c for n in open_names if (c := capacity(n, share)) < share}
        if not small:
            for i, name in enumerate(open_names):
                counts[name] = share + (1 if i < left - share * len(open_names) else 0)
            break
        for name, c in small.items():
            counts[name] = c
            left -= c
            open_names.remove(name)
    parts = ['[deck]\nname = "Bench all"\nseed = 7\nvariants = 1\n']
    parts += [f'[families."{n}"]\ncount = {c}\n' for n, c in counts.items()]
    return "\n".join(parts), counts, set(counts) - set(open_names)


def per_family_ms(counts: dict[str, int]) -> dict[str, tuple[float, float]]:
    """(CPU ms per note of one problem: generate + solve + claims + render, ms per
    variant found by cardgen.variants' draws), one process, warm."""
    from cardgen.collector import rare_collections
    from cardgen.families import FAMILIES
    from cardgen.generate import generate_family
    from cardgen.render.note import note_fields
    from cardgen.variants import family_variants

    result = {}
    with rare_collections():  # the collector as a build has it
        for name, count in counts.items():
            result[name] = _family_ms(name, count, FAMILIES[name], generate_family,
                                      note_fields, family_variants)
    return result


def _family_ms(name: str, count: int, module: Any, generate_family: Any, note_fields: Any,
               family_variants: Any) -> tuple[float, float]:
    for p in generate_family(name, 1, 3, module.LEVELS):  # imports, first templates
        note_fields(p, [module.solve(p.params)], "guid")
    # a full collection now, not amid this family's figures (the earlier families' caches
    # make the heap it goes through)
    gc.collect()
    start = time.process_time()  # CPU time: steadier than wall time on a busy machine
    problems = generate_family(name, 7, count, module.LEVELS)
    for p in problems:
        note_fields(p, [module.solve(p.params)], "guid")
    one = (time.process_time() - start) / count * 1000
    few = problems[:max(30, count // 20)]  # variant draws for a default-deck share
    start = time.process_time()
    found = sum(len(v.params) for v in family_variants(few, 7, 8))
    return one, (time.process_time() - start) / max(found, 1) * 1000


def run_once(cmd: list[str], env: dict[str, str] | None = None,
             cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def timed(cmd: list[str], runs: int, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> float:
    return statistics.median(run_once(cmd, env, cwd) for _ in range(runs))


def dump_notes(recipe_path: Path, out: Path) -> None:
    """The notes cardgen builds for a recipe, as JSON for the genanki baseline."""
    from cardgen.anki import MODEL_ID, stable_id
    from cardgen.build import deck_cards
    from cardgen.recipes import load_recipe
    from cardgen.render.env import back_template, card_css, front_template

    cards = deck_cards(load_recipe(recipe_path))
    decks = sorted({c.note.deck for c in cards})
    out.write_text(json.dumps({
        "model_id": MODEL_ID, "model_name": "cardgen", "fields": ["Front", "Answer", "Worked",
                                                                  "Spec"],
        "qfmt": front_template(), "afmt": back_template(), "css": card_css(),
        "deck_ids": {d: stable_id(d) for d in decks},
        "notes": [{"fields": list(c.note.fields), "tags": list(c.note.tags),
                   "guid": c.note.guid, "deck": c.note.deck} for c in cards],
    }), encoding="utf-8")


_ONE_PROCESS = """
import resource, sys, time
start = time.perf_counter()
import cardgen.build as build
from pathlib import Path
from cardgen.recipes import load_recipe
if sys.argv[1] == "one":
    build.PARALLEL_FROM = float("inf")
build.build_recipe(load_recipe(Path(sys.argv[2])), Path(sys.argv[3]), 1750000000)
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
print(time.perf_counter() - start, cpu)
"""


def where_time_goes(recipe: Path, notes_json: Path, tmp: Path, runs: int,
                    env: dict[str, str]) -> None:
    import genanki_write

    from cardgen.anki import NoteData, make_model, write_apkg
    from cardgen.render.env import back_template, card_css, front_template

    data = json.loads(notes_json.read_text(encoding="utf-8"))
    notes = [NoteData(tuple(n["fields"]), tuple(n["tags"]), n["guid"], n["deck"])
             for n in data["notes"]]
    model = make_model(front_template(), back_template(), card_css())

    def median_of(fn) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    ours = median_of(lambda: write_apkg(tmp / "w.apkg", notes, model, timestamp=1.75e9))
    theirs = median_of(lambda: genanki_write.write(data, str(tmp / "g.apkg")))
    print("7. where the time goes (10,000 notes of the big families)")
    print(f"   writer alone, same rendered notes, in process: cardgen {ours:5.2f} s  "
          f"genanki {theirs:5.2f} s  ratio {ours / theirs:.2f}")
    for mode in ("one", "all"):
        results = [subprocess.run([sys.executable, "-c", _ONE_PROCESS, mode, str(recipe),
                                   str(tmp / f"where-{mode}")], check=True, env=env,
                                  capture_output=True, text=True).stdout.split()
                   for _ in range(runs)]
        wall, cpu = (statistics.median(float(r[i]) for r in results) for i in (0, 1))
        name = "one process" if mode == "one" else f"{os.cpu_count()} cores"
        print(f"   build on {name:12s} {wall:5.2f} s wall  {cpu:5.2f} s CPU (all processes)")


@dataclass
class Versus:
    """cardgen against genanki on the same notes: medians of each, and the median of the
    ratios of runs made one right after the other (this machine's speed drifts by up to
    2x over minutes, which a ratio of two separate series takes for either side's)."""
    ours: float
    theirs: float
    ratio: float
    ours_apkg: Path
    theirs_apkg: Path
    notes: int

    def line(self) -> str:
        return (f"cardgen build {self.ours:6.2f} s   genanki (same notes) {self.theirs:6.2f} s"
                f"   ratio {self.ratio:.2f}")


def versus_genanki(label: str, recipe: Path | None, tmp: Path, runs: int,
                   env: dict[str, str]) -> Versus:
    """cardgen and genanki on one recipe (None: the default deck, built in an empty
    folder), each run of one followed by a run of the other."""
    from cardgen.recipes import load_recipe
    from cardgen.resources import default_recipe_path

    py = sys.executable
    out = tmp / f"{label}-cardgen"
    args = [py, "-m", "cardgen", "build", "--out", str(out)]
    if recipe is not None:
        args.insert(4, str(recipe))
    empty = tmp / f"{label}-cwd"
    empty.mkdir()
    notes_json = tmp / f"{label}.json"
    source = recipe or default_recipe_path()
    dump_notes(source, notes_json)
    theirs_apkg = tmp / f"{label}-genanki.apkg"
    theirs_cmd = [py, str(HERE / "genanki_write.py"), str(notes_json), str(theirs_apkg)]
    ours, theirs = [], []
    for _ in range(runs):
        ours.append(run_once(args, env, cwd=empty))
        theirs.append(run_once(theirs_cmd, env))
    [apkg] = out.glob("*.apkg")
    return Versus(statistics.median(ours), statistics.median(theirs),
                  statistics.median(a / b for a, b in zip(ours, theirs, strict=True)),
                  apkg, theirs_apkg, load_recipe(source).total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-50k", action="store_true")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "cardgen")],
                   check=True, stdout=subprocess.DEVNULL)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["SOURCE_DATE_EPOCH"] = EPOCH
    with tempfile.TemporaryDirectory() as warm:  # compiled templates, kept as .pyc are
        subprocess.run([sys.executable, "-m", "cardgen", "build", "--out", warm], check=True,
                       env=env, cwd=warm, stdout=subprocess.DEVNULL)
    py = sys.executable
    cardgen = [py, "-m", "cardgen"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
              f"median of {args.runs} runs\n")

        # 1. the default deck
        default = versus_genanki("default", None, tmp, args.runs, env)
        from cardgen.resources import default_recipe_path

        single = tmp / "single.toml"
        # another name: a recipe may not replace the default deck's file in its folder
        single.write_text(default_recipe_path().read_text(encoding="utf-8").replace(
            '[deck]\nname = "Conv Arithmetic"\n',
            '[deck]\nname = "Conv Arithmetic single"\nvariants = 1\n', 1))
        single_deck = versus_genanki("single", single, tmp, args.runs, env)
        print(f"1. the default deck ({default.notes} notes), whole process")
        print(f"   as shipped, 8 variants a note: {default.line()}")
        print(f"   variants = 1:                  {single_deck.line()}   (target <= 1.5)\n")

        # 2. every family and level
        text, counts, capped = every_family_recipe(10_000)
        every = tmp / "every.toml"
        every.write_text(text)
        every_deck = versus_genanki("every", every, tmp, args.runs, env)
        print(f"2. {every_deck.notes:,} notes over every family and level, whole process")
        for name in sorted(capped):
            print(f"   {name} holds {counts[name]} distinct problems at seed 7: given "
                  f"{counts[name]}")
        print(f"   {every_deck.line()}   (target <= 2.0)\n")

        # 3. per family
        print("3. per family, one process: generate + solve + claims + render (no write) of "
              "one problem, and the draws that find its variants")
        for name, (ms, draw) in per_family_ms(counts).items():
            print(f"   {name:28s} {ms:6.3f} ms/note (= per variant)   draws {draw:6.3f} ms "
                  f"per variant   ({counts[name]} notes)")
        print("   (target: none above 0.5 ms/note)\n")

        # 4. size
        print("4. bytes per note")
        per_note = default.notes
        print(f"   default deck, 8 variants: cardgen "
              f"{default.ours_apkg.stat().st_size / per_note:7.0f}  genanki (same notes) "
              f"{default.theirs_apkg.stat().st_size / per_note:7.0f}   (issue 12: under "
              "genanki's size for the single-variant notes, below)")
        print(f"   default deck, variants = 1: cardgen "
              f"{single_deck.ours_apkg.stat().st_size / per_note:7.0f}  genanki (same notes) "
              f"{single_deck.theirs_apkg.stat().st_size / per_note:7.0f}   (target <= 1500)")
        print(f"   every family ({every_deck.notes:,} notes): cardgen "
              f"{every_deck.ours_apkg.stat().st_size / every_deck.notes:7.0f}\n")

        # 5. start-up
        runs = max(args.runs, 10)
        help_time = timed([*cardgen, "--help"], runs, env)
        bare = timed([py, "-c", "pass"], runs, env)
        print("5. start-up")
        print(f"   cardgen --help {help_time * 1000:6.0f} ms   python -c pass "
              f"{bare * 1000:6.0f} ms   ratio {help_time / bare:.2f}   (target <= 3)\n")

        # 6. scaling on the big families
        recipes = {}
        for total in (1_000, 10_000, 50_000):
            recipes[total] = tmp / f"bench{total}.toml"
            recipes[total].write_text(recipe_text(total))
        print("6. scaling on the four big families (cardgen build, whole process)")
        sizes = (1_000, 10_000) if args.skip_50k else (1_000, 10_000, 50_000)
        results = {}
        for total in sizes:
            results[total] = timed(
                [*cardgen, "build", str(recipes[total]), "--out", str(tmp / f"o{total}")],
                args.runs if total < 50_000 else 1, env)
            print(f"   {total:6d} notes {results[total]:7.2f} s  "
                  f"({results[total] / total * 1e6:5.0f} us/note)")
        if 50_000 in results:
            print(f"   50k/10k time ratio: {results[50_000] / results[10_000]:.2f}   "
                  "(target <= 5.5)")
        print()
        notes_json = tmp / "notes10k.json"
        dump_notes(recipes[10_000], notes_json)
        where_time_goes(recipes[10_000], notes_json, tmp, args.runs, env)


if __name__ == "__main__":
    main()
