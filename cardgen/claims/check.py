"""Re-checking one untrusted claim: find its kind, parse it strictly, run the backend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cardgen.claims.check_torch import torch_available
from cardgen.claims.kind import BACKENDS, ClaimKind
from cardgen.claims.kinds import KINDS
from cardgen.claims.limits import Failed, one_line
from cardgen.claims.parse import check_keys
from cardgen.errors import CardgenError


@dataclass(frozen=True)
class ClaimCheck:
    ok: bool
    detail: str


def parse_claim(claim: Any) -> tuple[ClaimKind, Any]:
    """(its kind, the parsed claim); Failed when malformed or too large."""
    if not isinstance(claim, Mapping):
        raise Failed("a claim must be a JSON object")
    name = claim.get("kind")
    if not isinstance(name, str) or name not in KINDS:
        raise Failed(f"unknown claim kind {one_line(repr(name), 40)}; expected one of "
                     + ", ".join(KINDS))
    kind = KINDS[name]
    check_keys(claim, name, kind.keys)
    return kind, kind.parse(claim)


def check_claim(claim: Any, backend: str) -> ClaimCheck:
    """Re-check one untrusted claim with "torch" or "solver".

    Malformed, unknown, oversized or false claims give ``ok=False`` with the reason in
    ``detail``; only misuse (an unknown backend, torch missing for "torch") raises.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch" and not torch_available():
        raise CardgenError("torch is not installed: use the solver backend")
    try:
        kind, parsed = parse_claim(claim)
        return ClaimCheck(True, kind.checker(backend)(parsed))
    except Failed as exc:
        return ClaimCheck(False, str(exc))
