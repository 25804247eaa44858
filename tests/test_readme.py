"""The README is checked so that it cannot drift from the code."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from cardgen.families import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, title
    return match.group(1)


def test_quickstart_has_exactly_two_command_lines():
    block = re.search(r"```\n(.*?)```", _section("Quickstart"), re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 2
    assert "cardgen build" in lines[0] and "pytest" in lines[1] and "[test]" in lines[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "grep -m1" in ci  # CI runs the README's own test line


def test_every_family_is_documented():
    table = _section("Families")
    for name, module in FAMILIES.items():
        assert f"| `{name}` | {module.TITLE} |" in table


def test_solve_examples_match_the_cli():
    section = _section("The calculator: `cardgen solve`")
    for block in re.findall(r"```\n(\$ cardgen solve.*?)```", section, re.S):
        command, *expected = block.strip().splitlines()
        args = shlex.split(command[len("$ cardgen "):])
        result = subprocess.run([sys.executable, "-m", "cardgen", *args], capture_output=True,
                                text=True, cwd=ROOT)
        actual = (result.stdout + result.stderr).splitlines()
        shown = [line for line in expected if line.strip() != "..."]
        for line in shown:
            assert line in actual, (line, actual)


def test_how_it_works_names_real_places():
    section = _section("How it works")
    paths = re.findall(r"`((?:cardgen|templates|decks|tests|tools|bench)/[\w/.]*)`", section)
    assert len(paths) >= 15
    for path in paths:
        assert (ROOT / path).exists(), path


def test_every_kind_module_is_one_registry_line():
    """The README's promise: a claim kind or a diagram kind is one module plus one line."""
    from cardgen.claims.kinds import KINDS
    from cardgen.render.diagrams import DIAGRAMS

    kinds = {p.stem for p in (ROOT / "cardgen" / "claims" / "kinds").glob("*.py")}
    assert kinds - {"__init__"} == set(KINDS)
    diagrams = {p.stem for p in (ROOT / "cardgen" / "render" / "diagrams").glob("*.py")}
    assert diagrams - {"__init__", "geometry", "strip"} == set(DIAGRAMS)
    for name in DIAGRAMS:
        assert (ROOT / "templates" / "diagrams" / f"{name}.svg.j2").exists() \
            or name == "transposed_strip", name  # drawn with sliding_strip's template
