#!/usr/bin/env python
"""Print the difficulty features (cardgen.difficulty) per family and level, as markdown.

    python tools/difficulty_table.py [--draws N] [--seeds 1,2,3]

The first table is cardgen's default deck (the built-in recipe, solved in memory: no file
is written). With ``--draws N`` a second table averages N fresh draws per family and level
for each seed. Columns: cards; mean steps; mean and max largest operand; mean values typed; most
cells summed or compared for one output (values cards); giveaway, yes/no and calculator
shares; distinct skill signatures / cards; most cards of one
signature; mean score; then the rules that fail for the family (R1 rising score, R5 yes/no
above numbers).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's cardgen

from cardgen.difficulty import (  # noqa: E402
    Features,
    deck_features,
    draw_features,
    rising_scores,
    summary,
    yes_no_only_levels,
)
from cardgen.families import FAMILIES  # noqa: E402

HEADER = ("| level | cards | steps | largest (max) | typed | cells/output | giveaway | yes/no "
          "| calculator | signatures / cards | max per signature | score |")
RULE = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def _row(level: int, cards: Sequence[Features]) -> str:
    s = summary(cards)
    return (f"| L{level} | {s['cards']} | {s['steps']:.1f} | {s['largest']:.0f} "
            f"({s['max_largest']}) | {s['typed']:.1f} | {s['max_per_output'] or '-'} "
            f"| {s['giveaway']:.0%} "
            f"| {s['yes_no']:.0%} | {s['calculator']:.0%} | {s['signatures']} / {s['cards']} "
            f"| {s['max_per_signature']} | {s['score']:.1f} |")


def table(title: str, cards: Sequence[Features]) -> str:
    lines = [f"## {title}", ""]
    for family in FAMILIES:
        by_level: dict[int, list[Features]] = {}
        for f in cards:
            if f.family == family:
                by_level.setdefault(f.level, []).append(f)
        if not by_level:
            continue
        lines += [f"### {family}", "", HEADER, RULE]
        lines += [_row(level, by_level[level]) for level in sorted(by_level)]
        broken = rising_scores(by_level) + yes_no_only_levels(by_level)
        lines += ["", "Rules broken: " + ("; ".join(broken) if broken else "none"), ""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=0, help="draws per family, level, seed")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds for --draws")
    args = parser.parse_args(argv)
    print("# Difficulty features\n")
    print(table("Default deck (seed 2024)", deck_features()))
    if args.draws:
        seeds = [int(x) for x in args.seeds.split(",") if x]
        drawn = [f for family, module in FAMILIES.items() for level in module.LEVELS
                 for seed in seeds for f in draw_features(family, level, seed, args.draws)]
        print(table(f"{args.draws} draws per level x seeds {', '.join(map(str, seeds))}",
                    drawn))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
