"""Deck recipes: TOML files that say which problem families go into a deck, how many, and the seed.

```toml
[deck]
name = "Conv Arithmetic"          # required; Anki deck name, "::" nests subdecks
description = "..."               # optional plain text
seed = 2024                       # required, 0 <= seed < 2**63
variants = 8                      # optional, 1..16: problems per note, shown in turn; 1: off

[families."conv.output_size"]     # one table per family, kept in file order
count = 40                        # required, 0 <= count <= 100000
levels = [1, 2, 3]                # optional; default: all of the family's LEVELS
```

Every problem is reported as a `RecipeError`: one line naming the file and the key at fault,
e.g. ``decks/x.toml: families."conv.output_size".count: must be an integer >= 0, got -1``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path
from typing import Any

from cardgen.errors import CardgenError
from cardgen.families import FAMILIES
from cardgen.resources import default_recipe_path
from cardgen.stacks import ASK_NAMES, MAX_LAYERS, StackSpec, check_stack, stack_cards

MAX_COUNT = 100_000
# problems per note (cardgen.variants): the default; 16 keeps a note's fields small
DEFAULT_VARIANTS = 8
MAX_VARIANTS = 16
SEED_LIMIT = 2**63

_DECK_KEYS = ("name", "description", "seed", "variants")
_FAMILY_KEYS = ("count", "levels")
_TOP_KEYS = ("deck", "families", "stacks")
_STACK_KEYS = ("input", "layers", "asks")
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")


class RecipeError(CardgenError):
    """A recipe that cannot be read or is invalid. The message is one line: file, key, reason."""


@dataclass(frozen=True)
class FamilySpec:
    name: str
    count: int
    levels: tuple[int, ...]


@dataclass(frozen=True)
class Recipe:
    path: str
    name: str
    description: str
    seed: int
    families: tuple[FamilySpec, ...]
    stacks: tuple[StackSpec, ...] = ()
    variants: int = DEFAULT_VARIANTS  # problems per note (cardgen.variants); 1: no variants

    @property
    def total(self) -> int:
        return sum(spec.count for spec in self.families) + \
            sum(len(stack_cards(s)) for s in self.stacks)


# ---------------------------------------------------------------- public API


def load_recipe(path: str | PathLike[str]) -> Recipe:
    """Read and validate one recipe file."""
    where = str(path)
    p = Path(path)
    if p.is_dir():
        raise _error(where, "not a file (it is a directory)")
    if not p.exists():
        raise _error(where, "not a file (it does not exist)")
    if not p.is_file():
        raise _error(where, "not a file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise _error(where, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")  # TOML is UTF-8; tolerate the BOM some editors add
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _error(where, f"line {line}: not UTF-8 text (byte {exc.start})") from None
    return parse_recipe(text, where)


def parse_recipe(text: str, path: str) -> Recipe:
    """Validate recipe TOML `text`; `path` is only used to name the file in errors."""
    where = str(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(where, _syntax_message(str(exc), text)) from None
    return _Parser(where).recipe(doc)


def default_recipe() -> Recipe:
    """The recipe shipped with cardgen (decks/default.toml)."""
    try:
        path = default_recipe_path()
    except FileNotFoundError as exc:
        raise RecipeError(str(exc)) from None
    return load_recipe(path)


def with_seed(recipe: Recipe, seed: int) -> Recipe:
    """The same recipe with another seed (the CLI's --seed)."""
    if not _is_int(seed) or not 0 <= seed < SEED_LIMIT:
        raise RecipeError(f"--seed: must be an integer with 0 <= seed < 2**63, got {_show(seed)}")
    return replace(recipe, seed=seed)


def discover_recipes(folder: str | PathLike[str]) -> list[Path]:
    """The recipe files `folder/decks/*.toml`, sorted; hidden files and non-files are skipped."""
    decks = Path(folder) / "decks"
    if not decks.is_dir():
        return []
    return sorted(p for p in decks.glob("*.toml") if p.is_file() and not p.name.startswith("."))


# ---------------------------------------------------------------- validation


class _Parser:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str) -> RecipeError:
        return _error(self.where, f"{key}: {message}" if key else message)

    def recipe(self, doc: dict[str, Any]) -> Recipe:
        self.unknown_keys(doc, _TOP_KEYS, "at top level")
        deck = self.table(doc, "deck")
        self.unknown_keys(deck, _DECK_KEYS, "in [deck]")
        name = self.deck_name(deck)
        description = self.description(deck)
        seed = self.seed(deck)
        variants = self.variants(deck)
        stacks = self.stacks(doc)
        families = self.families(doc) if "families" in doc or not stacks else ()
        recipe = Recipe(self.where, name, description, seed, families, stacks, variants)
        if recipe.total == 0:
            if stacks:
                raise self.fail("stacks", "the stacks make no card a learner can do without "
                                "a calculator, and every family count is 0")
            raise self.fail("families", "every count is 0, so the deck would be empty")
        return recipe

    def table(self, doc: dict[str, Any], key: str) -> dict[str, Any]:
        if key not in doc:
            raise self.fail(key, f"required (add a [{key}] table)")
        value = doc[key]
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table [{key}], got {_show(value)}")
        return value

    def unknown_keys(self, table: dict[str, Any], allowed: Sequence[str], place: str) -> None:
        for key in table:
            if key not in allowed:
                hint = _did_you_mean(key, allowed)
                expected = ", ".join(allowed)
                raise self.fail("", f"unknown key {_show(key)} {place} "
                                f"({hint}expected: {expected})")

    def deck_name(self, deck: dict[str, Any]) -> str:
        key = "deck.name"
        if "name" not in deck:
            raise self.fail(key, "required")
        value = deck["name"]
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_show(value)}")
        if not value.strip():
            raise self.fail(key, "must not be empty")
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise self.fail(key, f"must not contain control characters, got {_show(value)}")
        # Anki trims each "::" part and NFC-normalizes; do the same so ids match what Anki shows.
        parts = [unicodedata.normalize("NFC", part).strip() for part in value.split("::")]
        if any(not part for part in parts):
            raise self.fail(key, f"has an empty part between '::' separators: {_show(value)}")
        return "::".join(parts)

    def description(self, deck: dict[str, Any]) -> str:
        value = deck.get("description", "")
        if not isinstance(value, str):
            raise self.fail("deck.description", f"must be a string, got {_show(value)}")
        return value.strip()

    def seed(self, deck: dict[str, Any]) -> int:
        key = "deck.seed"
        if "seed" not in deck:
            raise self.fail(key, "required (an integer, 0 <= seed < 2**63)")
        value = deck["seed"]
        if not _is_int(value) or not 0 <= value < SEED_LIMIT:
            raise self.fail(key, f"must be an integer with 0 <= seed < 2**63, got {_show(value)}")
        return value

    def variants(self, deck: dict[str, Any]) -> int:
        value = deck.get("variants", DEFAULT_VARIANTS)
        if not _is_int(value) or not 1 <= value <= MAX_VARIANTS:
            raise self.fail("deck.variants", f"must be an integer from 1 (no variants) to "
                            f"{MAX_VARIANTS}, got {_show(value)}")
        return value

    def families(self, doc: dict[str, Any]) -> tuple[FamilySpec, ...]:
        known = ", ".join(FAMILIES)
        if "families" not in doc:
            raise self.fail("families", f'required (add [families."NAME"] tables; known: {known})')
        table = doc["families"]
        if not isinstance(table, dict):
            raise self.fail("families", 'must be tables [families."NAME"], '
                            f"got {_show(table)}")
        if not table:
            raise self.fail("families",
                            f'no families (add [families."NAME"] tables; known: {known})')
        return tuple(self.family(name, spec) for name, spec in table.items())

    def family(self, name: str, spec: Any) -> FamilySpec:
        key = f"families.{_toml_key(name)}"
        module = FAMILIES.get(name)
        if module is None:
            raise self.fail(key, self.unknown_family_message(name, spec))
        if not isinstance(spec, dict):
            raise self.fail(key, f"must be a table [{key}] with a count, got {_show(spec)}")
        self.unknown_keys(spec, _FAMILY_KEYS, f"in [{key}]")
        if "count" not in spec:
            raise self.fail(f"{key}.count", f"required (an integer, 0 <= count <= {MAX_COUNT})")
        count = spec["count"]
        if not _is_int(count) or count < 0:
            raise self.fail(f"{key}.count", f"must be an integer >= 0, got {_show(count)}")
        if count > MAX_COUNT:
            raise self.fail(f"{key}.count", f"must be at most {MAX_COUNT}, got {count}")
        allowed = tuple(module.LEVELS)
        levels = self.levels(f"{key}.levels", name, spec.get("levels", list(allowed)), allowed)
        return FamilySpec(name, count, levels)

    def stacks(self, doc: dict[str, Any]) -> tuple[StackSpec, ...]:
        table = doc.get("stacks", {})
        if not isinstance(table, dict):
            raise self.fail("stacks", f"must be tables [stacks.NAME], got {_show(table)}")
        return tuple(self.stack(name, spec) for name, spec in table.items())

    def stack(self, name: str, spec: Any) -> StackSpec:
        key = f"stacks.{_toml_key(name)}"
        if not _STACK_NAME.fullmatch(name):
            raise self.fail(key, "a stack's name is a letter, then up to 39 letters, digits, "
                            "_ or - (it is shown on the cards)")
        if not isinstance(spec, dict):
            raise self.fail(key, f"must be a table [{key}] with input and layers, "
                            f"got {_show(spec)}")
        self.unknown_keys(spec, _STACK_KEYS, f"in [{key}]")
        shape = spec.get("input")
        if shape is None:
            raise self.fail(f"{key}.input", "required (the input shape, batch first, e.g. "
                            "[8, 3, 64, 64])")
        if not isinstance(shape, list) or not 2 <= len(shape) <= 5 or not all(
                _is_int(v) and 1 <= v <= 1_000_000 for v in shape):
            raise self.fail(f"{key}.input", "must be a list of 2 to 5 whole numbers from 1 to "
                            f"1000000, batch first, got {_show(shape)}")
        layers = spec.get("layers")
        if layers is None:
            raise self.fail(f"{key}.layers", 'required (a list of layers such as '
                            '"Conv2d(3, 16, 3, padding=1)")')
        if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
            raise self.fail(f"{key}.layers", f"must be a list of 1 to {MAX_LAYERS} layer "
                            f"texts, got {_show(layers)}")
        for i, text in enumerate(layers):
            if not isinstance(text, str):
                raise self.fail(f"{key}.layers[{i}]", "must be a layer text such as "
                                f'"MaxPool2d(2)", got {_show(text)}')
        asks = spec.get("asks", list(ASK_NAMES))
        if not isinstance(asks, list) or not asks or not all(a in ASK_NAMES for a in asks) \
                or len(set(asks)) != len(asks):
            raise self.fail(f"{key}.asks", f"must be a list of distinct asks from "
                            f"{', '.join(ASK_NAMES)}, got {_show(asks)}")
        stack = StackSpec(name, tuple(shape), tuple(layers), tuple(asks))
        failed = check_stack(stack)
        if failed is not None:
            i, reason = failed
            # the parser's reasons already quote the text
            shown = "" if reason.startswith(repr(layers[i])) else f"{_show(layers[i], 80)}: "
            raise self.fail(f"{key}.layers[{i}]", shown + reason)
        return stack

    def unknown_family_message(self, name: str, spec: Any) -> str:
        known = ", ".join(FAMILIES)
        # [families.conv.output_size] without quotes nests tables: families.conv.output_size.
        if isinstance(spec, dict):
            for sub in spec:
                dotted = f"{name}.{sub}"
                if dotted in FAMILIES:
                    return (f"unknown family; quote a dotted name: [families.{_toml_key(dotted)}]"
                            f" (known: {known})")
        hint = _did_you_mean(name, list(FAMILIES))
        return f"unknown family ({hint}known: {known})"

    def levels(
        self, key: str, family: str, value: Any, allowed: tuple[int, ...]
    ) -> tuple[int, ...]:
        choices = ", ".join(str(level) for level in allowed)
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of levels from {choices}, got {_show(value)}")
        if not value:
            raise self.fail(key, f"must not be empty (leave it out for all levels: {choices})")
        seen: set[int] = set()
        for i, level in enumerate(value):
            if not _is_int(level):
                raise self.fail(f"{key}[{i}]", f"must be an integer level, got {_show(level)}")
            if level not in allowed:
                raise self.fail(f"{key}[{i}]",
                                f"{family} has no level {level} (its levels: {choices})")
            if level in seen:
                raise self.fail(f"{key}[{i}]", f"level {level} is listed twice")
            seen.add(level)
        return tuple(sorted(seen))


# ---------------------------------------------------------------- helpers


def _error(where: str, message: str) -> RecipeError:
    return RecipeError(_one_line(f"{_printable(where)}: {message}"))


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _printable(text: str) -> str:
    return text if text.isprintable() else repr(text)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any, limit: int = 60) -> str:
    """A value as a short, single-line TOML-ish literal for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, date, time)):
        return f"{value.isoformat()} (a date/time)"
    text = repr(value)  # repr escapes newlines and other non-printables in strings
    if isinstance(value, list):
        text = "[" + ", ".join(_show(v, limit) for v in value) + "]"
    return text if len(text) <= limit else text[: limit - 3] + "..."


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(name: str) -> str:
    """A key as written in TOML: bare when possible, else a quoted basic string."""
    if _BARE_KEY.fullmatch(name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04X}" if ord(c) <= 0xFFFF
                      else f"\\U{ord(c):08X}" for c in escaped)
    return f'"{escaped}"'


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    import difflib  # only for a recipe's mistakes, not on every start

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.75)
    return f"did you mean {close[0]!r}? " if close else ""


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def _syntax_message(message: str, text: str) -> str:
    match = _POSITION.search(message)
    if match:
        reason = message[: match.start()]
        return f"line {match[1]}: TOML syntax error: {reason} (column {match[2]})"
    match = _AT_END.search(message)
    if match:
        line = max(len(text.splitlines()), 1)
        return f"line {line}: TOML syntax error: {message[: match.start()]} (at end of file)"
    return f"TOML syntax error: {message}"
