"""Your own network: a recipe's [stacks.NAME] tables build cards, and bad ones stop the
build with one line naming the file, the stack and the layer, writing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cardgen.apkg import read_notes
from cardgen.families.network_stack import NAME, solve
from cardgen.generate import stack_problems
from cardgen.recipes import RecipeError, parse_recipe

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
[deck]
name = "My nets"
seed = 1

[stacks.my_cnn]
input = [2, 3, 16, 16]
layers = ["Conv2d(3, 8, 3)", "nn.MaxPool2d(2)", "Conv2d(8, 16, 3, stride=2, padding=1)",
          "AvgPool2d(2, ceil_mode=True)", "Flatten()", "Linear(64, 10)"]

[stacks.signal]
input = [1, 1, 40]
layers = ["Conv1d(1, 4, 5, stride=2)", "MaxPool1d(3, stride=2)", "Conv1d(4, 6, 3)"]
asks = ["shape"]
"""


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOURCE_DATE_EPOCH": "1750000000"}
    return subprocess.run([sys.executable, "-m", "cardgen", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _problems(text: str):
    recipe = parse_recipe(text, "mine.toml")
    return recipe, [p for s in recipe.stacks for p in stack_problems(s)]


def test_a_stack_makes_cards_about_each_of_its_layers():
    recipe, problems = _problems(GOOD)
    assert recipe.families == () and recipe.total == len(problems) > 0
    asked = {(p.params["network"], len(p.params["layers"]), p.params["ask"]) for p in problems}
    # the signal stack asks shapes only, of each of its layers
    assert {a for a in asked if a[0] == "signal"} == {("signal", i, "shape") for i in (1, 2, 3)}
    mine = {a[1:] for a in asked if a[0] == "my_cnn"}
    assert {ask for _, ask in mine} == {"shape", "params", "macs", "field"}
    assert (6, "shape") not in mine  # Linear(64, 10) gives batch x 10: read off the question
    for p in problems:
        assert p.family == NAME
        solution = solve(p.params)
        assert p.params["ask"] in ("shape", "params", "macs", "field") and solution.claims


def test_a_card_keeps_its_guid_when_later_layers_change():
    _, before = _problems(GOOD)
    _, after = _problems(GOOD.replace('"Linear(64, 10)"', '"Linear(64, 5)"'))
    key = {(p.params["network"], len(p.params["layers"]), p.params["ask"]): p.key
           for p in after}
    for p in before:
        if len(p.params["layers"]) < 6:
            assert key[p.params["network"], len(p.params["layers"]), p.params["ask"]] == p.key


def test_a_stack_deck_builds_imports_into_anki_and_verifies(tmp_path, require):
    (tmp_path / "mine.toml").write_text(GOOD)
    result = run_cli("build", "mine.toml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [deck] = (tmp_path / "out").glob("*.apkg")
    _, problems = _problems(GOOD)
    notes = read_notes(deck)
    assert len(notes) == len(problems)
    assert {json.loads(n.fields["Spec"])["family"] for n in notes} == {NAME}
    require("torch")
    checked = run_cli("verify", str(deck), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "torch" in checked.stdout + checked.stderr
    require("anki")
    from anki.collection import Collection, ImportAnkiPackageRequest

    col = Collection(str(tmp_path / "c.anki2"))
    try:
        options = col._backend.get_import_anki_package_presets()
        log = col.import_anki_package(ImportAnkiPackageRequest(package_path=str(deck),
                                                               options=options)).log
        assert len(log.new) == len(problems) == col.card_count()
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            question = card.question()
            assert "<code>my_cnn</code>" in question or "<code>signal</code>" in question
    finally:
        col.close()


def test_stacks_sit_beside_families(tmp_path):
    text = GOOD + '\n[families."conv.output_size"]\ncount = 3\n'
    recipe, problems = _problems(text)
    assert recipe.total == 3 + len(problems)


BAD = [
    # (layers or table body, the key named, words in the reason)
    ('input = [1, 3, 32, 32]\nlayers = ["Conv2d(3, 8, 3)", '
     '"__import__(\'os\').system(\'touch pwned\')"]',
     "stacks.evil.layers[1]", "dunder names are not allowed"),
    ('input = [1, 3, 32, 32]\nlayers = ["Conv2d(3, 8, 3)", "Conv2d(16, 8, 3)"]',
     "stacks.evil.layers[1]", "expects 16 input channels"),
    ('input = [1, 3, 32, 32]\nlayers = ["Conv2d(3, 8, 3)", "os.system(1)"]',
     "stacks.evil.layers[1]", "prefixes nn. and torch.nn."),
    ('input = [1, 3, 32, 32]\nlayers = ["Conv2d(3, 8, 3)", "Dropout(0.5)"]',
     "stacks.evil.layers[1]", "unknown layer"),
    ('input = [1, 3, 4, 4]\nlayers = ["MaxPool2d(2)", "Conv2d(3, 8, 5)"]',
     "stacks.evil.layers[1]", "kernel"),
    ('input = [64, 3, 1024, 1024]\nlayers = ["Conv2d(3, 64, 7)"]',
     "stacks.evil.layers[0]", "too large for cardgen verify"),
    ('input = [1, 3, 32, 32]\nlayers = ["Conv2d(3, 8, 3)", 5]',
     "stacks.evil.layers[1]", "must be a layer text"),
    ('input = "1x3x32x32"\nlayers = ["Conv2d(3, 8, 3)"]', "stacks.evil.input",
     "2 to 5 whole numbers"),
    ('layers = ["Conv2d(3, 8, 3)"]', "stacks.evil.input", "required"),
    ('input = [1, 3, 32, 32]', "stacks.evil.layers", "required"),
    ('input = [1, 3, 32, 32]\nlayers = []', "stacks.evil.layers", "1 to 64"),
    ('input = [1, 3, 32, 32]\nlayers = ["Conv2d(3, 8, 3)"]\nasks = ["weights"]',
     "stacks.evil.asks", "params, shape, macs, field"),
    ('input = [1, 3, 32, 32]\nlayer = ["Conv2d(3, 8, 3)"]', "", "unknown key 'layer'"),
]


@pytest.mark.parametrize(("body", "key", "reason"), BAD)
def test_a_bad_stack_is_one_line_naming_file_stack_and_layer(body, key, reason):
    with pytest.raises(RecipeError) as info:
        parse_recipe(f'[deck]\nname = "x"\nseed = 1\n[stacks.evil]\n{body}\n', "bad.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"bad.toml: {key}")
    assert reason in message


def test_a_malicious_layer_exits_2_and_writes_nothing(tmp_path):
    (tmp_path / "evil.toml").write_text(
        '[deck]\nname = "Evil"\nseed = 1\n[stacks.evil]\ninput = [1, 3, 32, 32]\n'
        'layers = ["Conv2d(3, 8, 3)", "__import__(\'os\').system(\'touch pwned\')"]\n')
    (tmp_path / "good.toml").write_text(GOOD)
    result = run_cli("build", "good.toml", "evil.toml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert "evil.toml: stacks.evil.layers[1]" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "pwned").exists()


def test_a_stack_name_is_checked():
    with pytest.raises(RecipeError, match="a stack's name is a letter"):
        parse_recipe('[deck]\nname = "x"\nseed = 1\n[stacks."my net!"]\n'
                     'input = [1, 3, 8, 8]\nlayers = ["Conv2d(3, 4, 3)"]\n', "bad.toml")


def test_a_stack_named_like_a_built_in_example_is_not_described_as_it():
    """A recipe's stack called cifar_tutorial is the user's network: its cards must not say
    it is PyTorch's tutorial classifier; the example itself is still described."""
    text = GOOD.replace("[stacks.my_cnn]", "[stacks.cifar_tutorial]")
    _, problems = _problems(text)
    mine = [p for p in problems if p.params["network"] == "cifar_tutorial"]
    assert mine and not any("tutorial" in solve(p.params).question.replace(
        "`cifar_tutorial`", "") for p in mine)
    tutorial = GOOD.replace("[stacks.my_cnn]", "[stacks.cifar_tutorial]").replace(
        '''input = [2, 3, 16, 16]
layers = ["Conv2d(3, 8, 3)", "nn.MaxPool2d(2)", "Conv2d(8, 16, 3, stride=2, padding=1)",
          "AvgPool2d(2, ceil_mode=True)", "Flatten()", "Linear(64, 10)"]''',
        '''input = [4, 3, 32, 32]
layers = ["Conv2d(3, 6, 5)", "MaxPool2d(2, 2)", "Conv2d(6, 16, 5)", "MaxPool2d(2, 2)",
          "Flatten()", "Linear(400, 120)", "Linear(120, 84)", "Linear(84, 10)"]''')
    _, problems = _problems(tutorial)
    assert any("Training a classifier" in solve(p.params).question for p in problems
               if p.params["network"] == "cifar_tutorial")
