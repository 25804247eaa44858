"""Shared test helpers: optional dependencies that skip, or fail under CI.

Tests that need torch, Anki's ``anki`` package or a browser call

    torch = require("torch")                 # the imported module
    chromium = require_executable("chromium", "chromium-browser")   # its path

at module level (skips the whole module) or inside a test (skips that test),
or take the ``require`` / ``require_executable`` fixtures, which are these same
functions. When the dependency is missing the test is skipped with a reason,
unless ``CARDGEN_REQUIRE_ALL=1`` (CI sets it): then it fails, so a broken CI
image cannot turn the cross-checks into silent skips.

Import them with ``from conftest import require`` (pytest puts this folder on
``sys.path``) or ``from tests.conftest import require`` when the repository
root is on ``sys.path`` (``python -m pytest``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import NoReturn

import pytest

REQUIRE_ALL_ENV = "CARDGEN_REQUIRE_ALL"


def require_all() -> bool:
    """True when missing optional dependencies must fail instead of skip."""
    return os.environ.get(REQUIRE_ALL_ENV, "").strip() == "1"


def _missing(what: str, reason: str | None, detail: str) -> NoReturn:
    message = f"{what} is not available ({detail})"
    if reason:
        message = f"{message}: {reason}"
    if require_all():
        pytest.fail(f"{message} [{REQUIRE_ALL_ENV}=1: it is required]", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require(module_name: str, reason: str | None = None) -> ModuleType:
    """Import and return ``module_name``; skip (or fail under CI) when it cannot be imported."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        _missing(f"Python module {module_name!r}", reason, f"{type(exc).__name__}: {exc}")


def require_executable(name: str, *alternatives: str, reason: str | None = None) -> str:
    """The path of the first of ``name, *alternatives`` on PATH; skip (or fail) if none is."""
    for candidate in (name, *alternatives):
        path = shutil.which(candidate)
        if path:
            return path
    names = " or ".join(repr(n) for n in (name, *alternatives))
    _missing(f"executable {names}", reason, "not found on PATH")


@pytest.fixture(name="require")
def _require_fixture() -> Callable[..., ModuleType]:
    return require


@pytest.fixture(name="require_executable")
def _require_executable_fixture() -> Callable[..., str]:
    return require_executable


@pytest.fixture(params=["solver", "torch"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test with both claim-checking backends; the torch one through `require`
    (skips, or fails under CARDGEN_REQUIRE_ALL=1, when torch is missing)."""
    if request.param == "torch":
        require("torch")
    return request.param


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The tests run thousands of tiny torch forwards, where a thread pool costs about ten
    times what it saves (measured on 2 busy cores); big tensors are not tested in-process."""
    if importlib.util.find_spec("torch") is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
