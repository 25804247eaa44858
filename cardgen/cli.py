"""The command line: parse arguments, call the library, print. Heavy imports stay local."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

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


def _progress(label: str):
    """Progress on stderr once work takes more than a moment: a live counter on a
    terminal, a few plain lines in a log."""
    import time

    start = time.monotonic()
    tty = sys.stderr.isatty()
    shown = {"quarter": 0, "live": False}

    def report(done: int, total: int) -> None:
        if time.monotonic() - start < 0.5:
            return
        if tty:
            shown["live"] = True
            end = "\n" if done == total else ""
            print(f"\r{label}: {done}/{total} notes", end=end, file=sys.stderr, flush=True)
            return
        quarter = done * 4 // total
        if quarter > shown["quarter"]:
            shown["quarter"] = quarter
            print(f"{label}: {done}/{total} notes", file=sys.stderr, flush=True)

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


def _cmd_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cardgen.anki import build_timestamp
    from cardgen.build import build_recipe, deck_filename

    try:
        timestamp = build_timestamp()
    except ValueError as exc:
        raise CardgenError(str(exc)) from None
    recipes = _recipes(args.recipes, args.seed)
    names = [deck_filename(r) for r in recipes]
    if len(set(names)) != len(names):
        raise CardgenError("two recipes would write the same file: " + ", ".join(names))
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CardgenError(f"--out {args.out}: not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for recipe in recipes:
        built = build_recipe(recipe, out, timestamp, _progress(recipe.name))
        print(f"{built.path}  {built.notes} notes  {built.bytes} bytes")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from cardgen.verify import format_report, verify_deck

    failed = False
    for path in args.decks:
        report = verify_deck(path, progress=_progress(path))
        print(f"{path}")
        print(format_report(report))
        failed = failed or bool(report.failures)
    return 1 if failed else 0


def _cmd_preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cardgen.build import deck_cards
    from cardgen.render.env import card_css
    from cardgen.render.preview import preview_html

    recipes = _recipes(args.recipes, args.seed)
    cards = []
    for recipe in recipes:
        for card in deck_cards(recipe, _progress(recipe.name)):
            front, answer, worked, _spec = card.note.fields
            cards.append({"front": front, "answer": answer, "worked": worked,
                          "tags": list(card.note.tags)})
    title = recipes[0].name if len(recipes) == 1 else "cardgen preview"
    description = recipes[0].description if len(recipes) == 1 else ""
    html = preview_html(cards, card_css(), title, description)
    target = Path(args.out)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    print(f"{target}  {len(cards)} cards  {target.stat().st_size} bytes")
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
    verify.set_defaults(func=_cmd_verify)

    preview = sub.add_parser(
        "preview", help="one HTML page with every card, light and dark",
        description="Render every card's front and back into one self-contained HTML page.")
    preview.add_argument("recipes", nargs="*", metavar="RECIPE.toml")
    preview.add_argument("--out", default="preview.html", metavar="FILE.html")
    preview.add_argument("--seed", type=int, help="override the recipes' seed")
    preview.set_defaults(func=_cmd_preview)

    lister = sub.add_parser("list", help="the problem families and their levels")
    lister.set_defaults(func=_cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except CardgenError as exc:
        print(f"cardgen {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cardgen: interrupted", file=sys.stderr)
        return 130
