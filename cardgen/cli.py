"""The command line: parse arguments, call the library, print. Heavy imports stay local."""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from cardgen import __version__, codecache
from cardgen.collector import RARE_THRESHOLDS, rare_collections
from cardgen.errors import CardgenError

EPILOG_SOLVE = """examples:
  cardgen solve "Conv2d(3, 64, 7, stride=2, padding=3)" "MaxPool2d(3, 2, 1)" --input 1,3,224,224
  cardgen solve "nn.AdaptiveAvgPool1d(3)" --input 1,1,7 --json"""


def _cmd_solve(args: argparse.Namespace) -> int:
    from cardgen.layers import parse_layer, parse_shape
    from cardgen.solve_report import solve_report, solve_text

    shape = parse_shape(args.input)
    layers = [parse_layer(text) for text in args.layers]
    if args.json:
        print(json.dumps(solve_report(layers, shape)))
    else:
        print(solve_text(layers, shape))
    return 0


PROGRESS_EVERY = 10.0  # seconds between progress lines when stderr is not a terminal


def _progress(label: str):
    """Progress on stderr once work takes more than a moment: a live counter on a
    terminal; in a log, one line every PROGRESS_EVERY seconds and one at the end."""
    import time

    from cardgen.terminal import terminal_safe

    label = terminal_safe(label)
    start = time.monotonic()
    tty = sys.stderr.isatty()
    shown = {"last": start, "any": False}

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - start < 0.5:
            return
        if tty:
            end = "\n" if done == total else ""
            print(f"\r{label}: {done}/{total} notes", end=end, file=sys.stderr, flush=True)
            return
        if now - shown["last"] >= PROGRESS_EVERY or (done == total and shown["any"]):
            shown["last"], shown["any"] = now, True
            print(f"{label}: {done}/{total} notes ({now - start:.0f} s)", file=sys.stderr,
                  flush=True)

    return report


def _recipes(paths: Sequence[str], seed: int | None) -> list:
    from pathlib import Path

    from cardgen.recipes import default_recipe, discover_recipes, load_recipe, with_seed

    if paths:
        recipes = [load_recipe(p) for p in paths]
    else:
        found = discover_recipes(Path.cwd())
        recipes = [load_recipe(p) for p in found] if found else [default_recipe()]
    return [with_seed(r, seed) for r in recipes] if seed is not None else recipes


def _other_recipes(given: Sequence) -> list:
    """The recipes a plain `cardgen build` here would build, other than `given`: their
    decks are the ones a given recipe must not overwrite. Unreadable ones are skipped."""
    from pathlib import Path

    from cardgen.recipes import discover_recipes, load_recipe
    from cardgen.resources import default_recipe_path

    found = discover_recipes(Path.cwd())
    if not found:
        try:
            found = [default_recipe_path()]
        except FileNotFoundError:
            return []
    mine = set()
    for recipe in given:
        try:
            mine.add(Path(recipe.path).read_bytes())  # a copy of a recipe is that recipe
        except OSError:
            pass
    others = []
    for path in found:
        try:
            if path.read_bytes() not in mine:
                others.append(load_recipe(path))
        except (OSError, CardgenError):
            continue
    return others


def _check_deck_files(recipes: Sequence, explicit: bool) -> None:
    """A deck file is written by one recipe only: two recipes of this run, or a recipe
    named here and one a plain `cardgen build` here would build, are refused by name."""
    from cardgen.build import deck_filename
    from cardgen.terminal import terminal_safe

    owners: dict[str, Any] = {}
    for recipe in recipes:
        name = deck_filename(recipe)
        if name in owners:
            raise CardgenError(f"{terminal_safe(owners[name].path)} and "
                               f"{terminal_safe(recipe.path)} would both write {name}; give "
                               f"one of them another [deck] name")
        owners[name] = recipe
    if not explicit:
        return
    for other in _other_recipes(recipes):
        recipe = owners.get(deck_filename(other))
        if recipe is not None:
            raise CardgenError(
                f"{terminal_safe(recipe.path)} would overwrite the deck of "
                f"{terminal_safe(other.path)} ({deck_filename(other)}): give it another "
                f"[deck] name")


def _cmd_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cardgen.anki import build_timestamp
    from cardgen.build import stage_recipe
    from cardgen.output import OutputError, make_folder
    from cardgen.terminal import terminal_safe

    try:
        timestamp = build_timestamp()
    except ValueError as exc:
        raise CardgenError(str(exc)) from None
    recipes = _recipes(args.recipes, args.seed)
    _check_deck_files(recipes, bool(args.recipes))
    out = Path(args.out)
    make_folder(out)
    staged = []
    try:
        # Every deck is written before any is renamed into place: a failing recipe
        # leaves every old deck as it was.
        for recipe in recipes:
            try:
                staged.append(stage_recipe(recipe, out, timestamp, _progress(recipe.name)))
            except OutputError:
                raise
            except CardgenError as exc:
                where = terminal_safe(recipe.path)
                text = str(exc)
                raise CardgenError(text if text.startswith(where) else f"{where}: {text}"
                                   ) from None
        for deck in staged:
            deck.commit()
    finally:
        for deck in staged:
            deck.discard()  # nothing left once committed
    for deck in staged:
        print(f"{deck.target}  {deck.notes} notes  {deck.size} bytes")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from cardgen.terminal import terminal_safe
    from cardgen.verify import format_report, verify_deck

    failed = False
    for path in args.decks:
        report = verify_deck(path, args.backend, progress=_progress(path),
                             budget=args.budget)
        print(terminal_safe(path))
        print(format_report(report))
        failed = failed or bool(report.failures)
    return 1 if failed else 0


def _cmd_preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cardgen.build import note_tags, problem_solutions, recipe_problems
    from cardgen.output import check_target, write_atomic
    from cardgen.render.env import card_css
    from cardgen.render.note import preview_variants
    from cardgen.render.preview import preview_html

    target = Path(args.out)
    check_target(target)  # before the work, not after
    if not target.parent.is_dir():
        raise CardgenError(f"{args.out}: the folder {target.parent} does not exist")
    recipes = _recipes(args.recipes, args.seed)
    cards = []
    for recipe in recipes:
        # the problems, not the built notes: the preview renders each variant itself
        problems, report = recipe_problems(recipe), _progress(recipe.name)
        for done, problem in enumerate(problems, 1):
            shown = preview_variants(problem, problem_solutions(problem))
            for i, (front, answer, worked) in enumerate(shown[:None if args.all_variants
                                                             else 1]):
                tags = list(note_tags(problem))
                if len(shown) > 1:
                    tags.append(f"variant {i} of {len(shown)}")
                cards.append({"front": front, "answer": answer, "worked": worked,
                              "tags": tags})
            report(done, len(problems))
    title = recipes[0].name if len(recipes) == 1 else "cardgen preview"
    description = recipes[0].description if len(recipes) == 1 else ""
    html = preview_html(cards, card_css(), title, description)
    size = write_atomic(target, html.encode("utf-8"))
    print(f"{target}  {len(cards)} cards  {size} bytes")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from cardgen.families import FAMILIES

    width = max(len(n) for n in FAMILIES)
    for name, module in FAMILIES.items():
        levels = ",".join(map(str, module.LEVELS))
        print(f"{name:<{width}}  levels {levels}  {module.TITLE}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardgen",
        description="Anki decks for the arithmetic of convolution and pooling layers, "
                    "with every answer checked against PyTorch's rules.",
        epilog="start with `cardgen build` (the default deck, in dist/), `cardgen list` "
               "(the problem families), or `cardgen solve --help` (the calculator). "
               "Bad input exits with status 2 and one line on stderr.")
    parser.add_argument("--version", action="version", version=f"cardgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    solve = sub.add_parser(
        "solve", help="calculator: output shapes, formulas and windows of a stack of layers",
        description="Trace a stack of torch.nn layers on an input shape. Each LAYER is a "
                    "PyTorch constructor with literal arguments; it is parsed, never run.",
        epilog=EPILOG_SOLVE, formatter_class=argparse.RawDescriptionHelpFormatter)
    solve.add_argument("layers", nargs="+", metavar="LAYER",
                       help='e.g. "Conv2d(3, 64, 7, stride=2, padding=3)"')
    solve.add_argument("--input", required=True, metavar="N,C,H,W",
                       help="input shape, comma-separated, e.g. 1,3,224,224")
    solve.add_argument("--json", action="store_true", help="print machine-readable JSON")
    solve.set_defaults(func=_cmd_solve)

    build = sub.add_parser(
        "build", help="write Anki decks (.apkg) from recipes",
        description="Build one .apkg per recipe. Without RECIPE, builds every decks/*.toml "
                    "under the current folder, or the built-in default deck if there is "
                    "none. Timestamps come from SOURCE_DATE_EPOCH when set, so a build is "
                    "reproducible byte for byte.")
    build.add_argument("recipes", nargs="*", metavar="RECIPE.toml")
    build.add_argument("--out", default="dist", metavar="DIR", help="output folder (dist)")
    build.add_argument("--seed", type=int, help="override the recipes' seed")
    build.set_defaults(func=_cmd_build)

    verify = sub.add_parser(
        "verify", help="re-check every claim in decks (with torch when installed)",
        description="Read each deck (treated as untrusted), re-check every note's Spec "
                    "claims with PyTorch when it is importable, else with cardgen's solver, "
                    "and check each Answer. Exit 0 when all hold, 1 when some fail.")
    verify.add_argument("decks", nargs="+", metavar="DECK.apkg")
    verify.add_argument("--backend", choices=("torch", "solver"),
                        help="check with torch or with cardgen's solver (default: torch when "
                             "importable)")
    verify.add_argument("--budget", type=float, metavar="SECONDS",
                        help="most seconds of checking per deck (default: 60 + 0.05 a note; "
                             "a genuine deck needs a fraction of that)")
    verify.set_defaults(func=_cmd_verify)

    preview = sub.add_parser(
        "preview", help="one HTML page with every card, light and dark",
        description="Render every card's front and back into one self-contained HTML page.")
    preview.add_argument("recipes", nargs="*", metavar="RECIPE.toml")
    preview.add_argument("--out", default="preview.html", metavar="FILE.html")
    preview.add_argument("--seed", type=int, help="override the recipes' seed")
    preview.add_argument("--all-variants", action="store_true",
                         help="show every variant of each note (default: variant 0, the "
                              "card without JavaScript), each with the wrong answers it names")
    preview.set_defaults(func=_cmd_preview)

    lister = sub.add_parser("list", help="the problem families and their levels")
    lister.set_defaults(func=_cmd_list)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `finally` removes its temp files."""


def _on_term(signum: int, frame: object) -> None:
    raise _Terminated


def _signals() -> dict[int, object]:
    """SIGTERM ends the run through the same clean-up as Ctrl-C; a file size limit
    (RLIMIT_FSIZE) becomes an error on the write instead of killing the process."""
    import signal

    wanted = {signal.SIGTERM: _on_term}
    if hasattr(signal, "SIGXFSZ"):
        wanted[signal.SIGXFSZ] = signal.SIG_IGN
    old = {}
    for sig, handler in wanted.items():
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread (main() called from a library)
            pass
    return old


def _restore(old: dict[int, object]) -> None:
    import signal

    for sig, handler in old.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]


def _os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    return f"{where}: {reason}" if where else reason


def run() -> None:
    """The `cardgen` command: `main`, then exit the process with its status."""
    # The command's thresholds (rare_collections) from the start, for the process: when
    # main restored the defaults, the next allocation collected the tens of thousands of
    # objects made since the last collection (~3 ms of a default deck's build), just
    # before the exit.
    gc.set_threshold(*RARE_THRESHOLDS)
    status = main()
    # On exit Python collects every object once more, and a build leaves no cycle worth
    # the time (~6 ms of a default deck's build): what is left stays to the end.
    gc.freeze()
    threading = sys.modules.get("threading")  # not imported: no threads started
    if threading is None or threading.active_count() == 1:
        # Then tearing the interpreter down (every module and object freed, one by one)
        # is all that is left, ~2 ms of a default deck's build: run the exit handlers
        # and flush the streams as any exit does, and end the process.
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)
    raise SystemExit(status)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    old = _signals()
    command = args.command
    codecache.install()  # before the command imports the modules it needs
    try:
        try:
            with rare_collections():  # through the command's imports too
                status = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not at exit
            return status
        finally:
            _restore(old)
    except CardgenError as exc:
        _say(f"cardgen {command}: error: {_safe(exc)}")
        return 2
    except BrokenPipeError:
        _drop_stdout()
        _say(f"cardgen {command}: error: standard output: the reader closed the pipe")
        return 2
    except OSError as exc:
        _say(f"cardgen {command}: error: {_safe(_os_error(exc))}")
        return 2
    except KeyboardInterrupt as exc:
        _say("cardgen: terminated" if isinstance(exc, _Terminated) else "cardgen: interrupted")
        return 143 if isinstance(exc, _Terminated) else 130


def _safe(text: object) -> str:
    from cardgen.terminal import terminal_safe

    return terminal_safe(text, backslash=False)  # messages quote data with repr already


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:
        pass


def _drop_stdout() -> None:
    """After EPIPE: point stdout at /dev/null so the exit's flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
