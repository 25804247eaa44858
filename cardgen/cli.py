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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardgen",
        description="Anki decks for the arithmetic of convolution and pooling layers, "
                    "with every answer checked against PyTorch's rules.")
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
