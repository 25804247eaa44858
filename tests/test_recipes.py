"""Deck recipes (cardgen.recipes): the shipped default, round trips, and every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardgen.errors import CardgenError
from cardgen.families import FAMILIES
from cardgen.recipes import (
    FamilySpec,
    Recipe,
    RecipeError,
    default_recipe,
    discover_recipes,
    load_recipe,
    parse_recipe,
    with_seed,
)
from cardgen.resources import default_recipe_path

DECK = '[deck]\nname = "Test"\nseed = 7\n'
GOOD = DECK + '\n[families."conv.output_size"]\ncount = 5\n'


def dump(recipe: Recipe) -> str:
    """A Recipe as recipe TOML (json.dumps strings are valid TOML basic strings)."""
    lines = ["[deck]", f"name = {json.dumps(recipe.name)}",
             f"description = {json.dumps(recipe.description)}", f"seed = {recipe.seed}"]
    for spec in recipe.families:
        lines += ["", f"[families.{json.dumps(spec.name)}]", f"count = {spec.count}",
                  f"levels = {list(spec.levels)}"]
    return "\n".join(lines) + "\n"


def error_for(text: str, name: str = "decks/x.toml") -> str:
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, name)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"{name}: "), message
    return message


# ---------------------------------------------------------------- the default recipe


def test_default_recipe_covers_every_family_in_learning_order() -> None:
    """Every family whose cards verify without an optional extra, once each, in learning
    order: conv output sizes first, the adaptive pools together, whole networks after
    them, and the rules of thumb, which draw on every topic, last."""
    recipe = default_recipe()
    names = [spec.name for spec in recipe.families]
    assert sorted(names) == sorted(n for n, m in FAMILIES.items() if not getattr(m, "EXTRA", None))
    assert len(names) == len(set(names))
    assert names[0] == "conv.output_size" and names[-1] == "rules.of_thumb"
    adaptive = [i for i, n in enumerate(names) if n.startswith("adaptive.")]
    assert adaptive == list(range(adaptive[0], adaptive[-1] + 1))
    networks = [i for i, n in enumerate(names) if n.startswith("network.")]
    assert min(networks) > max(adaptive) and max(networks) == len(names) - 2
    assert all(spec.count > 0 and spec.count % 3 == 0 for spec in recipe.families)
    assert 400 <= recipe.total <= 600  # a deck a learner can finish: 30 days at 20 a day


def test_default_recipe_deck_fields_and_levels() -> None:
    recipe = default_recipe()
    assert recipe.name == "Conv Arithmetic"
    assert recipe.seed == 2024
    assert recipe.description and len(recipe.description.splitlines()) == 1
    assert "<" not in recipe.description
    assert recipe.path == str(default_recipe_path())
    for spec in recipe.families:
        assert spec.levels == tuple(sorted(FAMILIES[spec.name].LEVELS))


def test_default_recipe_file_is_in_decks_folder() -> None:
    path = default_recipe_path()
    assert path.name == "default.toml" and path.parent.name == "decks"
    assert load_recipe(path) == default_recipe()


# ---------------------------------------------------------------- round trips


def test_load_matches_parse(tmp_path: Path) -> None:
    path = tmp_path / "deck.toml"
    path.write_text(GOOD, encoding="utf-8")
    recipe = load_recipe(path)
    assert recipe == parse_recipe(GOOD, str(path))
    assert recipe.path == str(path)
    assert recipe.families == (FamilySpec("conv.output_size", 5,
                                          tuple(FAMILIES["conv.output_size"].LEVELS)),)
    assert recipe.description == ""
    assert recipe.total == 5


def test_dump_and_parse_round_trip(tmp_path: Path) -> None:
    original = default_recipe()
    path = tmp_path / "copy.toml"
    path.write_text(dump(original), encoding="utf-8")
    again = load_recipe(path)
    assert again == Recipe(str(path), original.name, original.description, original.seed,
                           original.families)
    assert parse_recipe(dump(again), again.path) == again


def test_families_keep_file_order_and_levels_are_normalized() -> None:
    text = DECK + (
        '[families."pool.output_size"]\ncount = 3\nlevels = [3, 1]\n'
        '[families."conv.output_size"]\ncount = 0\n'
        '[families."network.trace"]\ncount = 2\nlevels = [2]\n'
    )
    recipe = parse_recipe(text, "r.toml")
    assert [s.name for s in recipe.families] == ["pool.output_size", "conv.output_size",
                                                 "network.trace"]
    assert recipe.families[0].levels == (1, 3)
    assert recipe.families[2].levels == (2,)
    assert recipe.total == 5


def test_nested_deck_names_are_trimmed_like_anki() -> None:
    text = GOOD.replace('name = "Test"', 'name = " ML :: Conv Arithmetic "')
    assert parse_recipe(text, "r.toml").name == "ML::Conv Arithmetic"


def test_utf8_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "win.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    assert load_recipe(path).total == 5


def test_with_seed() -> None:
    recipe = parse_recipe(GOOD, "r.toml")
    other = with_seed(recipe, 2**63 - 1)
    assert other.seed == 2**63 - 1
    assert (other.name, other.families, other.path) == (recipe.name, recipe.families, recipe.path)
    assert recipe.seed == 7
    for bad in (-1, 2**63, True, 1.0):
        with pytest.raises(RecipeError, match="seed"):
            with_seed(recipe, bad)  # type: ignore[arg-type]


def test_recipes_are_frozen() -> None:
    recipe = parse_recipe(GOOD, "r.toml")
    with pytest.raises(AttributeError):
        recipe.seed = 1  # type: ignore[misc]


# ---------------------------------------------------------------- bad recipes

FAM = '[families."conv.output_size"]\n'
K = 'families."conv.output_size"'

BAD = [
    # (id, text, the key the message must name)
    ("syntax", '[deck]\nname = "x"\nseed = \n', "line 3: TOML syntax error"),
    ("syntax-eof", '[deck]\nname = "x', "TOML syntax error"),
    ("duplicate-table", GOOD + FAM + "count = 1\n", "TOML syntax error"),
    ("unknown-family", DECK + '[families."conv.nope"]\ncount = 1\n', 'families."conv.nope"'),
    ("unquoted-family", DECK + "[families.conv.output_size]\ncount = 1\n", "families.conv"),
    ("family-not-table", DECK + '[families]\n"conv.output_size" = 3\n', K),
    ("negative-count", DECK + FAM + "count = -1\n", K + ".count"),
    ("bool-count", DECK + FAM + "count = true\n", K + ".count"),
    ("float-count", DECK + FAM + "count = 4.0\n", K + ".count"),
    ("string-count", DECK + FAM + 'count = "4"\n', K + ".count"),
    ("huge-count", DECK + FAM + "count = 100001\n", K + ".count"),
    ("missing-count", DECK + FAM + "levels = [1]\n", K + ".count"),
    ("levels-not-list", DECK + FAM + "count = 1\nlevels = 2\n", K + ".levels"),
    ("levels-empty", DECK + FAM + "count = 1\nlevels = []\n", K + ".levels"),
    ("level-string", DECK + FAM + 'count = 1\nlevels = ["1"]\n', K + ".levels[0]"),
    ("level-bool", DECK + FAM + "count = 1\nlevels = [1, true]\n", K + ".levels[1]"),
    ("level-unknown", DECK + FAM + "count = 1\nlevels = [1, 99]\n", K + ".levels[1]"),
    ("level-zero", DECK + FAM + "count = 1\nlevels = [0]\n", K + ".levels[0]"),
    ("level-duplicate", DECK + FAM + "count = 1\nlevels = [2, 1, 2]\n", K + ".levels[2]"),
    ("unknown-top-key", "colour = 1\n" + GOOD, "'colour' at top level"),
    ("unknown-top-table", GOOD + "[extras]\nx = 1\n", "'extras' at top level"),
    ("unknown-deck-key", DECK + 'colour = "red"\n' + FAM + "count = 1\n", "'colour' in [deck]"),
    ("unknown-family-key", DECK + FAM + "count = 1\ncout = 2\n",
     """'cout' in [families."conv.output_size"]"""),
    ("missing-deck", FAM + "count = 1\n", "deck"),
    ("deck-not-table", 'deck = "x"\n' + FAM + "count = 1\n", "deck"),
    ("missing-name", '[deck]\nseed = 1\n' + FAM + "count = 1\n", "deck.name"),
    ("empty-name", '[deck]\nname = " "\nseed = 1\n' + FAM + "count = 1\n", "deck.name"),
    ("name-not-string", '[deck]\nname = 3\nseed = 1\n' + FAM + "count = 1\n", "deck.name"),
    ("name-empty-part", '[deck]\nname = "A::::B"\nseed = 1\n' + FAM + "count = 1\n", "deck.name"),
    ("name-trailing-sep", '[deck]\nname = "A::"\nseed = 1\n' + FAM + "count = 1\n", "deck.name"),
    ("name-newline", '[deck]\nname = "A\\nB"\nseed = 1\n' + FAM + "count = 1\n", "deck.name"),
    ("description-not-string", '[deck]\nname = "A"\ndescription = 1\nseed = 1\n' + FAM
     + "count = 1\n", "deck.description"),
    ("missing-seed", '[deck]\nname = "A"\n' + FAM + "count = 1\n", "deck.seed"),
    ("negative-seed", '[deck]\nname = "A"\nseed = -1\n' + FAM + "count = 1\n", "deck.seed"),
    ("huge-seed", '[deck]\nname = "A"\nseed = 9223372036854775808\n' + FAM + "count = 1\n",
     "deck.seed"),
    ("bool-seed", '[deck]\nname = "A"\nseed = false\n' + FAM + "count = 1\n", "deck.seed"),
    ("float-seed", '[deck]\nname = "A"\nseed = 1.5\n' + FAM + "count = 1\n", "deck.seed"),
    ("no-families", DECK, "families"),
    ("empty-families", DECK + "[families]\n", "families"),
    ("families-array", DECK + '[[families]]\nname = "conv.output_size"\n', "families"),
    ("total-zero", DECK + FAM + "count = 0\n", "families"),
]


@pytest.mark.parametrize(("text", "key"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_recipe_names_file_and_key(text: str, key: str) -> None:
    assert key in error_for(text)


def test_bad_recipe_from_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "decks" / "broken.toml"
    path.parent.mkdir()
    path.write_text(DECK + FAM + "count = -1\n", encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert message == f'{path}: families."conv.output_size".count: must be an integer >= 0, got -1'


def test_syntax_error_gives_line() -> None:
    message = error_for('[deck]\nname = "x"\nseed = \n')
    assert message.startswith("decks/x.toml: line 3: TOML syntax error: ")


def test_unknown_family_lists_known_and_suggests() -> None:
    message = error_for(DECK + '[families."conv.output_sise"]\ncount = 1\n')
    assert "unknown family" in message and "'conv.output_size'" in message
    assert all(name in message for name in FAMILIES)


def test_unquoted_dotted_family_name_gets_a_hint() -> None:
    message = error_for(DECK + "[families.conv.output_size]\ncount = 1\n")
    assert '[families."conv.output_size"]' in message


def test_values_in_messages_stay_on_one_line() -> None:
    message = error_for(DECK + '[families."a\\nb\\u2028c"]\ncount = 1\n')
    assert "\\u000A" in message and "\\u2028" in message  # escaped, not real line breaks


def test_recipe_error_is_a_cardgen_error() -> None:
    assert issubclass(RecipeError, CardgenError)


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "deck.toml"
    folder.mkdir()
    with pytest.raises(RecipeError) as info:
        load_recipe(folder)
    assert str(info.value).startswith(f"{folder}: not a file")
    assert len(str(info.value).splitlines()) == 1


def test_missing_path_is_not_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(RecipeError) as info:
        load_recipe(str(missing))
    assert str(info.value).startswith(f"{missing}: not a file")
    assert len(str(info.value).splitlines()) == 1


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace("Test", "Caf\xe9").encode("latin-1"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value).startswith(f"{path}: line 2: not UTF-8")


# ---------------------------------------------------------------- discovery


def test_discover_recipes_sorted(tmp_path: Path) -> None:
    decks = tmp_path / "decks"
    decks.mkdir()
    for name in ("b.toml", "a.toml", "notes.txt", ".hidden.toml"):
        (decks / name).write_text(GOOD, encoding="utf-8")
    (decks / "dir.toml").mkdir()
    (decks / "sub").mkdir()
    (decks / "sub" / "c.toml").write_text(GOOD, encoding="utf-8")
    assert discover_recipes(tmp_path) == [decks / "a.toml", decks / "b.toml"]


def test_discover_recipes_none(tmp_path: Path) -> None:
    assert discover_recipes(tmp_path) == []
    (tmp_path / "decks").mkdir()
    assert discover_recipes(tmp_path) == []
