"""`cardgen verify`: re-check every claim of a deck (DESIGN.md §3, §5).

The deck is untrusted: each note's Spec is parsed as JSON data and its claims checked
with PyTorch when importable, else with cardgen's solver. A note fails when its Spec is
unusable, its Answer field differs from the Spec's answer, or a claim does not hold.
"""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cardgen.apkg import ApkgError, open_notes
from cardgen.claims import BACKENDS, ClaimCheck, check_claim
from cardgen.entail import NotEntailed, check_entailed
from cardgen.errors import CardgenError
from cardgen.mistakes import check_mistakes
from cardgen.terminal import terminal_safe
from cardgen.torchvision_models import INSTALL as MODELS_INSTALL

__all__ = ["BUDGET_BASE", "BUDGET_PER_NOTE", "DeckError", "Failure", "FamilyCount",
           "MAX_CLAIMS", "VerifyReport", "deck_budget", "format_report", "verify_deck"]

# v2: unique and padding claims; v3: variants and mistakes (the top level is variant 0);
# v1 and v2 decks are read the same way
SPEC_VERSIONS = (1, 2, 3)
MAX_VARIANTS = 64         # variants in one note's Spec
MAX_CLAIMS = 64          # claims in one note's Spec
MAX_SPEC_CHARS = 4_000_000
CLAIM_TIMEOUT = 120.0    # seconds for one claim in the torch worker
STARTUP_TIMEOUT = 120.0  # seconds for the worker to import torch
UNKNOWN_FAMILY = "(unknown)"
# torch's caches grow in a long run (about 600 MB after 100,000 notes): a checker process
# past this resident size is replaced (looked at every _RSS_EVERY claims), so that memory
# stays bounded whatever the deck's size.
WORKER_RSS_LIMIT = 450 * 1024 * 1024
_RSS_EVERY = 256
_FRONT_CHARS = 60
_SCAN_CHARS = 8192
# The work budget of one deck, in seconds of checking: a genuine note (or variant of a
# note) takes about 10 ms on a slow shared machine (either backend), so this is several
# times what any genuine deck needs, and bounds a hostile one (5,000 notes x 64 claims at
# the per-claim limits would be hours). A note with variants counts once per variant:
# the budget follows the mean number of variants of the notes read so far.
BUDGET_BASE = 60.0
BUDGET_PER_NOTE = 0.05
_PROJECT_AFTER = 10.0    # seconds before the projected total can end a run early
MAX_LISTED = 1000        # failures kept and printed; the rest are counted
MAX_FAMILIES = 100       # distinct family names in the table; the rest count as "(other)"
OTHER_FAMILY = "(other)"


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
    failures: list[Failure] = field(default_factory=list)   # the first MAX_LISTED
    unlisted: int = 0                 # failures past MAX_LISTED, counted only

    @property
    def notes(self) -> int:
        return sum(c.notes for c in self.families.values())

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.families.values())

    @property
    def ok(self) -> bool:
        return self.failed == 0


_BLOCK_TAGS = frozenset(("p", "div", "br", "li", "ul", "ol", "table", "tr", "td", "th",
                         "h1", "h2", "h3", "h4", "h5", "h6"))
_HIDDEN_TAGS = frozenset(("style", "script", "svg"))
_TAG_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9]*)")


def front_text(front: str, limit: int = _FRONT_CHARS) -> str:
    """The Front field as one line of plain text, at most `limit` characters.

    One pass over the field, each character looked at a bounded number of times, stopping
    once `limit` characters are found: a hostile field costs time in proportion to its
    length, never its square."""
    pieces: list[str] = []
    seen = 0       # characters in `pieces`, runs of white space counted as one
    hidden = ""    # the element (style, script, svg) whose content is not text
    i, n = 0, len(front)
    while i < n and seen <= limit:
        lt = front.find("<", i)
        end = n if lt < 0 else lt
        if not hidden and end > i:
            # Only a prefix can show: a field of a million entities costs no more.
            raw = html.unescape(front[i:min(end, i + _SCAN_CHARS)])
            piece = " ".join(raw.split())
            piece = (" " if raw[:1].isspace() else "") + piece + \
                (" " if raw[-1:].isspace() and piece else "")
            pieces.append(piece)
            seen += len(piece)
        if lt < 0:
            break
        gt = front.find(">", lt + 1)
        if gt < 0:
            break  # an unclosed tag: the rest is markup, not text
        match = _TAG_NAME.match(front, lt + 1, gt)
        if match:
            name = match[1].lower()
            closing = front[lt + 1] == "/"
            if hidden:
                if closing and name == hidden:
                    hidden = ""
            elif name in _HIDDEN_TAGS and not closing and front[gt - 1] != "/":
                hidden = name
            elif name in _BLOCK_TAGS:
                pieces.append(" ")  # tags that separate words in what the card shows
                seen += 1
        i = gt + 1
    text = " ".join("".join(pieces).split())
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
    if type(version) is not int or version not in SPEC_VERSIONS:
        return spec, (f"Spec version {_short(repr(version))} is not supported (expected "
                      f"{' or '.join(map(str, SPEC_VERSIONS))})")
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


def _note_reasons(fields: dict[str, str], check: Callable[[Any, float], ClaimCheck],
                  saw: Callable[[int], None] = lambda variants: None
                  ) -> tuple[str, list[str]]:
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
    variants = spec.get("variants", [])
    if not isinstance(variants, list) or len(variants) >= MAX_VARIANTS:
        return family, [*reasons, f"Spec's variants are not a list of at most "
                                  f"{MAX_VARIANTS - 1} objects"]
    shown = _shown_answers(fields.get("Front", ""))
    everyone = [spec, *variants]
    saw(len(everyone))
    for index, variant in enumerate(everyone):
        label = f"variant {index}: " if len(everyone) > 1 else ""
        reasons += [label + r for r in _variant_reasons(spec, variant, index, check,
                                                        (index, len(everyone)))]
        if shown and isinstance(variant, dict) and shown.get(index) != variant.get("answer"):
            reasons.append(f"{label}the card shows the answer {_short(str(shown.get(index)))}, "
                           f"the Spec says {_short(str(variant.get('answer')))}")
    if shown and len(shown) != len(everyone):
        reasons.append(f"the card holds {len(shown)} variants, the Spec {len(everyone)}")
    return family, reasons


# a variant's element in the Front field: <div|template ... data-cg-variant="i" data-cg-answer="a">
_SHOWN = re.compile(r'<(?:div|template) class="cg-(?:variant|alt)" data-cg-variant="(\d+)" '
                    r'data-cg-answer="([^"]*)">')


def _shown_answers(front: str) -> dict[int, str]:
    """The answer each variant of the card states, by index (empty for older cards)."""
    return {int(i): html.unescape(a) for i, a in _SHOWN.findall(front[:MAX_SPEC_CHARS])}


def _variant_reasons(spec: dict[str, Any], variant: Any, index: int,
                     check: Callable[[Any, float], ClaimCheck],
                     part: tuple[int, int]) -> list[str]:
    """Why one variant fails: its claims, that they entail its answer, its mistakes."""
    if not isinstance(variant, dict):
        return ["is not a JSON object"]
    claims, answer = variant.get("claims"), variant.get("answer")
    if not isinstance(claims, list) or not claims or len(claims) > MAX_CLAIMS:
        return [f"has no claims list of 1 to {MAX_CLAIMS} claims"]
    if not isinstance(answer, str):
        return ["has no answer string"]
    reasons = []
    whole = {"family": spec.get("family"), "level": spec.get("level"),
             "params": variant.get("params"), "answer": answer, "claims": claims}
    try:
        check_entailed(whole)
    except NotEntailed as exc:
        reasons.append(f"the claims do not entail the answer: {exc}")
    if spec.get("v") == 3 or "mistakes" in variant:
        params = variant.get("params") if isinstance(variant.get("params"), dict) else {}
        reasons += [f"mistakes: {r}" for r in check_mistakes(
            str(spec.get("family")), params, claims, answer, variant.get("mistakes"))]
    done, count = part
    for i, claim in enumerate(claims):
        result = check(claim, (done + i / len(claims)) / count)
        if not result.ok:
            kind = claim.get("kind") if isinstance(claim, dict) else None
            label = f"{kind} claim" if isinstance(kind, str) and len(kind) < 20 else "claim"
            reasons.append(f"{label} {i + 1}/{len(claims)}: {result.detail}")
    return reasons


def _safe_check(claim: Any, backend: str) -> ClaimCheck:
    """check_claim, with a checker bug reported as a failed claim instead of a crash."""
    try:
        return check_claim(claim, backend)
    except RecursionError:
        return ClaimCheck(False, "nested too deeply")
    except CardgenError:
        raise
    except Exception as exc:  # a checker bug must not hide the rest of the deck
        return ClaimCheck(False, f"internal error, please report: {type(exc).__name__}: "
                                 f"{_short(str(exc), 80)}")


_EOF = object()
_TIMEOUT = object()
_WORKER_CODE = "import sys; from cardgen.verify import _worker_main; _worker_main(sys.argv[1])"


def _worker_main(backend: str) -> None:
    """The child side of _Worker: one JSON claim per line in, one JSON result per line out."""
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the protocol channel
    from cardgen.claims import torch_version

    version = torch_version() if backend == "torch" else None
    if backend == "torch" and version is None:
        sys.exit(3)  # torch does not import here: the parent reports it
    if backend == "torch":
        import torch

        # a claim's tensors are tiny: waking a thread pool for each op costs more than
        # it saves (several times slower on a busy 2-core machine)
        torch.set_num_threads(1)
    out.write(json.dumps({"ready": True, "torch": version}) + "\n")
    out.flush()
    for line in sys.stdin:
        try:
            claim = json.loads(line)
        except (ValueError, RecursionError):
            result = ClaimCheck(False, "claim is not valid JSON")
        else:
            result = _safe_check(claim, backend)
        out.write(json.dumps({"ok": result.ok, "detail": result.detail}) + "\n")
        out.flush()


def _pump(stream: IO[str], lines: queue.Queue[Any]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(_EOF)


class _Worker:
    """Checks claims in a child process, so that a crash or hang in torch's native code
    (a hostile deck can make oneDNN segfault) fails one claim instead of the whole run.
    A crashed or timed-out child is replaced for the next claim."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[Any] = queue.Queue()
        self.reader: threading.Thread | None = None
        self.version: str | None = None
        self.checked = 0
        self.restarts = 0

    def start(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE, self.backend], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, encoding="utf-8",
            env=env)
        self.lines = queue.Queue()
        assert self.proc.stdout is not None
        self.reader = threading.Thread(target=_pump, args=(self.proc.stdout, self.lines),
                                       daemon=True)
        self.reader.start()
        hello = self._reply(STARTUP_TIMEOUT)
        if not isinstance(hello, dict) or not hello.get("ready"):
            self.kill()
            raise CardgenError(f"cannot start the {self.backend} checker process "
                               f"(is {self.backend} importable?)")
        self.version = hello.get("torch")

    def _reply(self, timeout: float) -> Any:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return _TIMEOUT
        if line is _EOF:
            return _EOF
        try:
            return json.loads(line)
        except ValueError:
            return None

    def check(self, claim: Any, timeout: float | None = None) -> ClaimCheck:
        timeout = CLAIM_TIMEOUT if timeout is None else timeout
        try:
            line = json.dumps(claim)
        except (ValueError, TypeError, RecursionError):
            return ClaimCheck(False, "claim is not plain JSON data")
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # the child died; its exit status is reported below
        reply = self._reply(timeout)
        if isinstance(reply, dict) and isinstance(reply.get("ok"), bool):
            self.checked += 1
            if self.checked % _RSS_EVERY == 0 and _resident(self.proc.pid) > WORKER_RSS_LIMIT:
                self.close()  # the next claim starts a fresh one
                self.restarts += 1
            return ClaimCheck(reply["ok"], str(reply.get("detail", "")))
        if reply is _TIMEOUT:
            self.kill()
            return ClaimCheck(False, f"{self.backend} did not finish within {timeout:g} s")
        status = self.close()
        return ClaimCheck(False, f"{self.backend} crashed checking this claim "
                                 f"({_exit_text(status)})")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
        self.close()

    def close(self) -> int | None:
        """Stop the child; its exit status if it had already ended, else None."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # a healthy child ends its loop
        except OSError:
            pass
        try:
            status: int | None = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # busy (a hang): stop it
            proc.kill()
            proc.wait()
            status = None
        if self.reader is not None:
            self.reader.join(timeout=2)  # it ends at the child's EOF
            self.reader = None
        return status


def _resident(pid: int) -> int:
    """Resident bytes of process `pid` (0 where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _exit_text(status: int | None) -> str:
    if status is None:
        return "no reply"
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def _short(text: str, limit: int = 40) -> str:
    shown = repr(text[:limit])  # only a prefix can show: no copy of a 30 MB field
    return shown if len(shown) <= limit and len(text) <= limit else shown[:limit - 4] + "...'"


def _torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def backend_label(backend: str, version: str | None = None) -> str:
    if backend == "torch":
        if version is None:
            try:
                version = importlib.metadata.version("torch")
            except importlib.metadata.PackageNotFoundError:
                version = "(unknown version)"
        return f"checked with torch {version}"
    if _torch_installed():
        return "checked with cardgen's solver"
    return "checked with cardgen's solver (torch not installed)"


def deck_budget(notes: int) -> float:
    """The default work budget of a deck of `notes` notes, in seconds of checking."""
    return BUDGET_BASE + BUDGET_PER_NOTE * notes


class _Budget:
    """Seconds of checking left for the deck; ends the run with one line once spent, or
    early once the pace so far projects past it."""

    def __init__(self, path: str, notes: int, seconds: float | None) -> None:
        self.path, self.notes = path, notes
        self.fixed = seconds is not None
        self.seconds = deck_budget(notes) if seconds is None else seconds
        self.start = time.monotonic()
        self.read = self.variants = 0

    def saw(self, variants: int) -> None:
        """A note holding `variants` problems is being checked: the default budget counts
        each variant as a note (at most MAX_VARIANTS, as verify reads no more)."""
        self.read += 1
        self.variants += max(1, min(variants, MAX_VARIANTS))
        if not self.fixed:
            self.seconds = deck_budget(round(self.notes * self.variants / self.read))

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def check(self, done: float) -> None:
        """`done`: notes finished so far (fractions for a note part checked)."""
        elapsed = self.elapsed()
        if elapsed > self.seconds:
            self.fail(done, elapsed, "")
        if elapsed > _PROJECT_AFTER and done > 0:
            projected = elapsed * self.notes / done
            if projected > 2 * self.seconds:
                self.fail(done, elapsed, f", about {projected:,.0f} s at this pace")
        elif elapsed > _PROJECT_AFTER and elapsed > self.seconds / 2:
            self.fail(done, elapsed, ", not one note done")

    def fail(self, done: float, elapsed: float, pace: str) -> None:
        raise DeckError(
            f"{terminal_safe(self.path)}: checking exceeds the work budget of "
            f"{self.seconds:,.0f} s for {self.notes:,} notes ({int(done):,} checked in "
            f"{elapsed:,.0f} s{pace}); a genuine deck needs far less: use --budget SECONDS "
            f"to allow more")


def verify_deck(path: str | Path, backend: str | None = None,
                progress: Callable[[int, int], None] | None = None, *,
                isolate: bool = True, budget: float | None = None) -> VerifyReport:
    """Check every note of the deck at `path`. Raises DeckError when it cannot be read, or
    when checking it would exceed `budget` seconds (default: `deck_budget` of its notes).

    `backend` is "torch", "solver" or None (torch when installed, else the solver);
    `progress(done, total)` is called after each note. With torch, claims are checked in
    a child process unless `isolate` is False (a crash in torch then ends this process).
    Notes are streamed: memory stays flat whatever the size of the deck.
    """
    if backend is None:
        backend = "torch" if _torch_installed() else "solver"
    if backend not in BACKENDS:
        raise CardgenError(f"unknown backend {backend!r}; expected one of "
                           + ", ".join(BACKENDS))
    if backend == "torch" and not _torch_installed():
        raise CardgenError("torch is not installed; use the solver backend")
    if budget is not None and not budget > 0:
        raise CardgenError(f"--budget must be a positive number of seconds, got {budget!r}")
    worker = _Worker(backend) if backend == "torch" and isolate else None
    try:
        with open_notes(path) as notes:
            if worker is not None:
                worker.start()
            report = VerifyReport(str(path), backend,
                                  backend_label(backend, worker.version if worker else None))
            limit = _Budget(str(path), len(notes), budget)
            if worker is not None:
                def checked(claim: Any) -> ClaimCheck:
                    return worker.check(claim, max(1.0, min(CLAIM_TIMEOUT, limit.left() + 1)))
            else:
                def checked(claim: Any) -> ClaimCheck:
                    return _safe_check(claim, backend)

            def check(claim: Any) -> ClaimCheck:
                result = checked(claim)
                if not result.ok and MODELS_INSTALL in result.detail:
                    # every network.models card would fail alike: say it once, as an error
                    raise CardgenError(
                        f"{path}: its network.models cards name torchvision's models, and "
                        f"torchvision is missing: {MODELS_INSTALL} (or --backend solver, "
                        "which checks their arithmetic only)")
                return result
            _verify_notes(report, notes, check, progress, limit)
    except ApkgError as exc:
        raise DeckError(str(exc)) from None
    except BaseException:  # Ctrl-C, SIGTERM, a budget spent: do not wait for a busy child
        if worker is not None:
            worker.kill()
        raise
    finally:
        if worker is not None:
            worker.close()
    return report


def _verify_notes(report: VerifyReport, notes: Any, check: Callable[[Any], ClaimCheck],
                  progress: Callable[[int, int], None] | None, limit: _Budget) -> None:
    total = len(notes)
    done = 0

    def budgeted(claim: Any, part: float) -> ClaimCheck:
        limit.check(done + part)
        return check(claim)

    for note in notes:
        family, reasons = _note_reasons(note.fields, budgeted, limit.saw)
        if family not in report.families and len(report.families) >= MAX_FAMILIES:
            family = OTHER_FAMILY
        count = report.families.setdefault(family, FamilyCount())
        count.notes += 1
        done += 1
        if reasons:
            count.failed += 1
            room = MAX_LISTED - len(report.failures)
            if room > 0:
                text = front_text(note.fields.get("Front", ""))
                report.failures.extend(Failure(note.guid[:200], family, text, r)
                                       for r in reasons[:room])
            report.unlisted += max(0, len(reasons) - max(room, 0))
        limit.check(done)
        if progress is not None:
            progress(done, total)


def format_report(report: VerifyReport) -> str:
    """Human summary: backend, a table per family, then each failure naming its note.
    Everything that comes from the file is escaped: no control character reaches the
    terminal, and every failure is one line."""
    safe = terminal_safe
    families = {safe(name): c for name, c in report.families.items()}
    lines = [report.backend_label]
    width = max([len("family"), len("total")] + [len(f) for f in families])
    lines.append(f"{'family':<{width}}  {'notes':>6}  {'ok':>6}  {'failed':>6}")
    for name in sorted(families):
        c = families[name]
        lines.append(f"{name:<{width}}  {c.notes:>6}  {c.ok:>6}  {c.failed:>6}")
    lines.append(f"{'total':<{width}}  {report.notes:>6}  {report.notes - report.failed:>6}  "
                 f"{report.failed:>6}")
    for f in report.failures:
        lines.append(f'FAILED {safe(f.family)} note {safe(_clip(f.guid))} "{safe(f.note)}": '
                     f"{safe(f.reason)}")
    if report.unlisted:
        lines.append(f"... and {report.unlisted} more failures, not listed")
    return "\n".join(lines)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
