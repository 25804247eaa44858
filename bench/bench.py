"""cardgen's speed and size, measured in one run (issue: speed and size).

    python bench/bench.py [--runs N] [--skip-50k]

Prints four figures:
1. `cardgen build` of a 10,000-note recipe vs plain genanki writing the very same
   notes (same fields, tags, GUIDs, note type), each as a whole process: medians, ratio;
2. bytes per note of the .apkg for the default deck and the 10,000-note deck, vs
   genanki's default output for the same notes;
3. `cardgen --help` vs `python -c pass` (start-up);
4. scaling: builds of 1,000, 10,000 and 50,000 notes, and the 50k/10k time ratio;
5. where the time goes: cardgen's writer vs genanki's on the same rendered notes (in
   process), and the 10,000-note build in one process vs on every core (wall and CPU).
Timings are medians of several runs (standard library only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # genanki_write, beside this file
EPOCH = "1750000000"
# The families (and levels) whose problem spaces hold 50,000 distinct notes.
BIG_FAMILIES = {"conv.output_size": [1, 2, 3], "pool.output_size": [2, 3],
                "adaptive.output_shape": [1, 2, 3], "adaptive.values": [1, 2, 3]}


def recipe_text(total: int) -> str:
    each = total // len(BIG_FAMILIES)
    parts = ['[deck]\nname = "Bench"\nseed = 7\n']
    for name, levels in BIG_FAMILIES.items():
        parts.append(f'[families."{name}"]\ncount = {each}\nlevels = {levels}\n')
    return "\n".join(parts)


def timed(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def where_time_goes(recipe: Path, notes_json: Path, tmp: Path, runs: int) -> None:
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
    print("5. where the time goes (10,000 notes)")
    print(f"   writer alone, same rendered notes, in process: cardgen {ours:5.2f} s  "
          f"genanki {theirs:5.2f} s  ratio {ours / theirs:.2f}")
    for mode in ("one", "all"):
        results = [subprocess.run([sys.executable, "-c", _ONE_PROCESS, mode, str(recipe),
                                   str(tmp / f"where-{mode}")], check=True,
                                  capture_output=True, text=True).stdout.split()
                   for _ in range(runs)]
        wall, cpu = (statistics.median(float(r[i]) for r in results) for i in (0, 1))
        name = "one process" if mode == "one" else f"{os.cpu_count()} cores"
        print(f"   build on {name:12s} {wall:5.2f} s wall  {cpu:5.2f} s CPU (all processes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-50k", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    py = sys.executable
    cardgen = [py, "-m", "cardgen"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        recipes = {}
        for total in (1_000, 10_000, 50_000):
            recipes[total] = tmp / f"bench{total}.toml"
            recipes[total].write_text(recipe_text(total))

        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
              f"median of {args.runs} runs\n")
        # 1. build vs genanki on the same 10,000 notes
        ours = timed([*cardgen, "build", str(recipes[10_000]), "--out", str(tmp / "o10")],
                     args.runs, env)
        notes_json = tmp / "notes10k.json"
        dump_notes(recipes[10_000], notes_json)
        theirs = timed([py, str(HERE / "genanki_write.py"), str(notes_json),
                        str(tmp / "genanki10k.apkg")], args.runs, env)
        print("1. 10,000 notes, whole process")
        print(f"   cardgen build (generate+solve+render+write): {ours:6.2f} s")
        print(f"   genanki Package.write_to_file (same notes):  {theirs:6.2f} s")
        print(f"   ratio cardgen/genanki: {ours / theirs:.2f}   (target <= 1.0)\n")

        # 2. size
        ours10 = (tmp / "o10" / "bench.apkg").stat().st_size
        theirs10 = (tmp / "genanki10k.apkg").stat().st_size
        subprocess.run([*cardgen, "build", "--out", str(tmp / "default")], check=True, env=env,
                       cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        [default_apkg] = (tmp / "default").glob("*.apkg")
        from cardgen.recipes import default_recipe

        default_notes = default_recipe().total
        default_json = tmp / "default.json"
        from cardgen.resources import default_recipe_path

        dump_notes(default_recipe_path(), default_json)
        subprocess.run([py, str(HERE / "genanki_write.py"), str(default_json),
                        str(tmp / "genanki-default.apkg")], check=True, env=env)
        g_default = (tmp / "genanki-default.apkg").stat().st_size
        print("2. bytes per note")
        print(f"   default deck ({default_notes} notes): cardgen "
              f"{default_apkg.stat().st_size / default_notes:7.0f}  genanki "
              f"{g_default / default_notes:7.0f}   (target <= 1500)")
        print(f"   10,000-note deck:            cardgen {ours10 / 10_000:7.0f}  genanki "
              f"{theirs10 / 10_000:7.0f}\n")

        # 3. start-up
        runs = max(args.runs, 10)
        help_time = timed([*cardgen, "--help"], runs)
        bare = timed([py, "-c", "pass"], runs)
        print("3. start-up")
        print(f"   cardgen --help {help_time * 1000:6.0f} ms   python -c pass "
              f"{bare * 1000:6.0f} ms   ratio {help_time / bare:.2f}   (target <= 3)\n")

        # 4. scaling
        print("4. scaling (cardgen build, whole process)")
        sizes = (1_000, 10_000) if args.skip_50k else (1_000, 10_000, 50_000)
        results = {}
        for total in sizes:
            results[total] = ours if total == 10_000 else timed(
                [*cardgen, "build", str(recipes[total]), "--out", str(tmp / f"o{total}")],
                args.runs if total < 50_000 else 1, env)
            print(f"   {total:6d} notes {results[total]:7.2f} s  "
                  f"({results[total] / total * 1e6:5.0f} us/note)")
        if 50_000 in results:
            print(f"   50k/10k time ratio: {results[50_000] / results[10_000]:.2f}   "
                  "(target <= 5.5)")
        print()
        where_time_goes(recipes[10_000], notes_json, tmp, args.runs)


if __name__ == "__main__":
    main()
