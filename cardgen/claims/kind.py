"""What a claim kind is: its keys, a strict parser of untrusted JSON, and one checker per
backend. Both backends answer the same question through the same signature, so
``check_claim`` needs to know nothing about any kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

BACKENDS = ("torch", "solver")

Checker = Callable[[Any], str]
"""A parsed claim -> a one-line account of what held; raises ``limits.Failed`` if not."""


@dataclass(frozen=True)
class ClaimKind:
    name: str
    keys: frozenset[str]
    parse: Callable[[Mapping[str, Any]], Any]  # keys already checked; raises Failed
    solver: Checker
    torch: Checker

    def checker(self, backend: str) -> Checker:
        return self.torch if backend == "torch" else self.solver
