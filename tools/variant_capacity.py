"""How many variants each family's notes hold in a recipe (issue 12): for README's table.

    python tools/variant_capacity.py [RECIPE.toml] [--variants K]

Per family: notes, the mean and the least number of problems per note (variant 0 and
its variants), and the share of notes holding all K. Variants are drawn exactly as
`cardgen build` draws them (cardgen.variants), so the table is what the deck holds.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from cardgen.build import recipe_problems
from cardgen.recipes import default_recipe, load_recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", nargs="?", help="a recipe (default: the default deck)")
    parser.add_argument("--variants", type=int, help="K (default: the recipe's)")
    args = parser.parse_args()
    recipe = load_recipe(args.recipe) if args.recipe else default_recipe()
    if args.variants:
        recipe = replace(recipe, variants=args.variants)
    k = recipe.variants
    rows: dict[str, list[int]] = {}
    for p in recipe_problems(recipe):
        rows.setdefault(p.family, []).append(1 + len(p.variants))
    print(f"| family | notes | problems per note (mean) | least | notes with all {k} |")
    print("|---|---|---|---|---|")
    for family, counts in rows.items():
        full = sum(c == k for c in counts) / len(counts)
        print(f"| {family} | {len(counts)} | {sum(counts) / len(counts):.1f} | {min(counts)} "
              f"| {full:.0%} |")
    total = [c for counts in rows.values() for c in counts]
    print(f"| all | {len(total)} | {sum(total) / len(total):.1f} | {min(total)} | "
          f"{sum(c == k for c in total) / len(total):.0%} |")


if __name__ == "__main__":
    main()
