"""`cardgen verify`: re-check every claim of a deck (DESIGN.md §3, §5).

The deck is untrusted: each note's Spec is parsed as JSON data and its claims checked
with PyTorch when importable, else with cardgen's solver. A note fails when its Spec is
unusable, its Answer field differs from the Spec's answer, or a claim does not hold.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cardgen.apkg import ApkgError, read_notes
from cardgen.claims import BACKENDS, check_claim, torch_available, torch_version
from cardgen.errors import CardgenError

__all__ = ["DeckError", "Failure", "FamilyCount", "MAX_CLAIMS", "VerifyReport",
           "format_report", "verify_deck"]

MAX_CLAIMS = 64          # claims in one note's Spec
MAX_SPEC_CHARS = 4_000_000
UNKNOWN_FAMILY = "(unknown)"
_FRONT_CHARS = 60


class DeckError(CardgenError):
    """The deck file cannot be read as an Anki package; the message is one line."""


@dataclass(frozen=True)
class Failure:
    guid: str
    family: str
    note: str       # the note's Front as plain text, shortened
    reason: str


@dataclass
class FamilyCount:
    notes: int = 0
    failed: int = 0

    @property
    def ok(self) -> int:
        return self.notes - self.failed


@dataclass
class VerifyReport:
    path: str
    backend: str                      # "torch" or "solver"
    backend_label: str                # e.g. "checked with torch 2.13.0"
    families: dict[str, FamilyCount] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    @property
    def notes(self) -> int:
        return sum(c.notes for c in self.families.values())

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.families.values())

    @property
    def ok(self) -> bool:
        return self.failed == 0


_BLOCK = re.compile(r"</?(p|div|br|li|ul|ol|table|tr|td|th|h[1-6])\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_HIDDEN = re.compile(r"<(style|script|svg)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def front_text(front: str, limit: int = _FRONT_CHARS) -> str:
    """The Front field as one line of plain text, at most `limit` characters."""
    text = _TAG.sub("", _BLOCK.sub(" ", _HIDDEN.sub(" ", front)))
    text = html.unescape(text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _spec(raw: str) -> tuple[dict[str, Any] | None, str]:
    """(spec, "") or (None or the parsed object, reason)."""
    if len(raw) > MAX_SPEC_CHARS:
        return None, f"Spec is longer than {MAX_SPEC_CHARS} characters"
    text = raw.strip()
    try:
        spec = json.loads(text)
    except (ValueError, RecursionError):
        try:  # an editor may have HTML-escaped the field
            spec = json.loads(html.unescape(text))
        except (ValueError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
            return None, f"Spec is not valid JSON ({msg})"
    if not isinstance(spec, dict):
        return None, "Spec is not a JSON object"
    version = spec.get("v")
    if type(version) is not int or version != 1:
        return spec, f"Spec version {_short(repr(version))} is not supported (expected 1)"
    claims = spec.get("claims")
    if not isinstance(claims, list):
        return spec, "Spec has no claims list"
    if not claims:
        return spec, "Spec has no claims"
    if len(claims) > MAX_CLAIMS:
        return spec, f"Spec has {len(claims)} claims (limit {MAX_CLAIMS})"
    if not isinstance(spec.get("answer"), str):
        return spec, "Spec has no answer string"
    return spec, ""


def _note_reasons(fields: dict[str, str], backend: str) -> tuple[str, list[str]]:
    """(family, reasons the note fails); no reasons when every check holds."""
    if "Spec" not in fields:
        return UNKNOWN_FAMILY, ["note has no Spec field"]
    spec, why = _spec(fields["Spec"])
    family = spec.get("family") if spec is not None else None
    family = family if isinstance(family, str) and 0 < len(family) <= 80 else UNKNOWN_FAMILY
    if spec is None or why:
        return family, [why]
    reasons = []
    answer = fields.get("Answer")
    if answer is None:
        reasons.append("note has no Answer field")
    elif answer != spec["answer"]:
        reasons.append(f"Answer field {_short(answer)} differs from the Spec's answer "
                       f"{_short(spec['answer'])}")
    claims = spec["claims"]
    for i, claim in enumerate(claims):
        try:
            check = check_claim(claim, backend)
        except RecursionError:
            reasons.append(f"claim {i + 1}: nested too deeply")
            continue
        except CardgenError:
            raise
        except Exception as exc:  # a checker bug must not hide the rest of the deck
            reasons.append(f"claim {i + 1}: internal error, please report: "
                           f"{type(exc).__name__}: {_short(str(exc), 80)}")
            continue
        if not check.ok:
            kind = claim.get("kind") if isinstance(claim, dict) else None
            label = f"{kind} claim" if isinstance(kind, str) and len(kind) < 20 else "claim"
            reasons.append(f"{label} {i + 1}/{len(claims)}: {check.detail}")
    return family, reasons


def _short(text: str, limit: int = 40) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[:limit - 4] + "...'"


def backend_label(backend: str) -> str:
    if backend == "torch":
        return f"checked with torch {torch_version()}"
    if torch_available():
        return "checked with cardgen's solver"
    return "checked with cardgen's solver (torch not installed)"


def verify_deck(path: str | Path, backend: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> VerifyReport:
    """Check every note of the deck at `path`. Raises DeckError when it cannot be read.

    `backend` is "torch", "solver" or None (torch when importable, else the solver);
    `progress(done, total)` is called after each note.
    """
    if backend is None:
        backend = "torch" if torch_available() else "solver"
    if backend not in BACKENDS:
        raise CardgenError(f"unknown backend {backend!r}; expected one of "
                           + ", ".join(BACKENDS))
    if backend == "torch" and not torch_available():
        raise CardgenError("torch is not installed; use the solver backend")
    try:
        notes = read_notes(path)
    except ApkgError as exc:
        raise DeckError(str(exc)) from None
    report = VerifyReport(str(path), backend, backend_label(backend))
    for done, note in enumerate(notes, 1):
        family, reasons = _note_reasons(note.fields, backend)
        count = report.families.setdefault(family, FamilyCount())
        count.notes += 1
        if reasons:
            count.failed += 1
            text = front_text(note.fields.get("Front", ""))
            report.failures.extend(Failure(note.guid, family, text, r) for r in reasons)
        if progress is not None:
            progress(done, len(notes))
    return report


def format_report(report: VerifyReport) -> str:
    """Human summary: backend, a table per family, then each failure naming its note."""
    lines = [report.backend_label]
    width = max([len("family"), len("total")] + [len(f) for f in report.families])
    lines.append(f"{'family':<{width}}  {'notes':>6}  {'ok':>6}  {'failed':>6}")
    for name in sorted(report.families):
        c = report.families[name]
        lines.append(f"{name:<{width}}  {c.notes:>6}  {c.ok:>6}  {c.failed:>6}")
    lines.append(f"{'total':<{width}}  {report.notes:>6}  {report.notes - report.failed:>6}  "
                 f"{report.failed:>6}")
    for f in report.failures:
        lines.append(f'FAILED {f.family} note {f.guid} "{f.note}": {f.reason}')
    return "\n".join(lines)
