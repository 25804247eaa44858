"""Where the shipped templates and the default recipe live.

In a wheel they are inside the package (cardgen/templates, cardgen/decks); in a
source checkout or editable install they are at the repo root.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cardgen's {name}/ folder is missing from the installation")


def templates_dir() -> Path:
    return _find("templates")


def default_recipe_path() -> Path:
    return _find("decks") / "default.toml"


def package_file(name: str) -> Path:
    """A data file shipped inside the package (e.g. architectures.json)."""
    return _PKG / name
