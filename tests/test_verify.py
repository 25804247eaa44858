"""`verify_deck`: every claim of a deck re-checked; failures name their note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import genanki
import pytest

from cardgen.claims import (
    equivalent_claim,
    error_claim,
    shape_claim,
    torch_available,
    unique_claim,
    values_claim,
    windows_claim,
)
from cardgen.errors import CardgenError
from cardgen.layers import parse_layer
from cardgen.verify import DeckError, VerifyReport, format_report, front_text, verify_deck

MODEL = genanki.Model(
    1607392319, "cardgen test",
    fields=[{"name": "Front"}, {"name": "Answer"}, {"name": "Worked"}, {"name": "Spec"}],
    templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{Answer}}"}])


def spec(family: str, answer: str, claims: list[Any],
         params: dict[str, Any] | None = None) -> str:
    return json.dumps({"v": 2, "family": family, "level": 1,
                       "params": params if params is not None else {"answer": answer},
                       "answer": answer, "claims": claims}, separators=(",", ":"))


KS = {"k": ("other", 0, "args", "kernel_size"), "s": ("other", 0, "args", "stride")}


def _only_pair(size: int, k: int, s: int, holds: bool = True) -> dict[str, Any]:
    """AdaptiveAvgPool1d(3) on `size` equals AvgPool1d(k, s) for exactly that pair (or none)."""
    claim = {**equivalent_claim([parse_layer("AdaptiveAvgPool1d(3)")],
                                [parse_layer(f"AvgPool1d({k}, {s})")], [1, 1, size]),
             "equal": True}
    return unique_claim(claim, KS, {"k": (1, size), "s": (1, size)}, holds=holds)


def good_notes() -> list[tuple[str, str, str, str]]:
    """(guid, Front, Answer, Spec) for one note of each claim kind; each answer is the one
    its claims entail."""
    conv = parse_layer("Conv2d(3, 16, 3, stride=2, padding=1)")
    ada = parse_layer("AdaptiveAvgPool1d(3)")
    return [
        ("g-shape", "<p>Output of <code>Conv2d(3, 16, 3, stride=2, padding=1)</code> on "
                    "<code>1x3x32x32</code>?</p>", "1x16x16x16",
         spec("conv.output_size", "1x16x16x16", [shape_claim([conv], [1, 3, 32, 32])])),
        ("g-error", "Output of <code>MaxPool1d(5)</code> on <code>1x1x3</code>?", "error",
         spec("pool.output_size", "error",
              [error_claim([parse_layer("MaxPool1d(5)")], [1, 1, 3])])),
        ("g-windows", "Window lengths of <code>AdaptiveAvgPool1d(3)</code> on 7 cells?",
         "3,3,3", spec("adaptive.windows", "3,3,3", [windows_claim(ada, [1, 1, 7])],
                       {"q": "lengths", "size": 7, "out": 3})),
        ("g-values", "AdaptiveAvgPool1d(3) of 1..7?", "2,4,6",
         spec("adaptive.values", "2,4,6", [values_claim([ada], [[[1, 2, 3, 4, 5, 6, 7]]])])),
        ("g-equiv", "Is <b>AdaptiveAvgPool1d(3)</b> on 7 a fixed pool?", "yes k=3 s=2",
         spec("adaptive.equivalence", "yes k=3 s=2",
              [windows_claim(ada, [1, 1, 7]), _only_pair(7, 3, 2),
               equivalent_claim([ada], [parse_layer("AvgPool1d(3, 2)")], [1, 1, 7])],
              {"q": "fixed"})),
        ("g-equiv5", "Is AdaptiveAvgPool1d(3) on 5 a fixed pool?", "no",
         spec("adaptive.equivalence", "no", [_only_pair(5, 3, 1, holds=False)],
              {"q": "fixed"})),
    ]


def write_deck(path: Path, notes: list[tuple[str, str, str, str]]) -> Path:
    deck = genanki.Deck(2059400110, "cardgen test")
    for guid, front, answer, spec_text in notes:
        deck.add_note(genanki.Note(model=MODEL, fields=[front, answer, "worked", spec_text],
                                   guid=guid))
    genanki.Package(deck).write_to_file(str(path))
    return path


def failures_of(report: VerifyReport) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for f in report.failures:
        result.setdefault(f.guid, []).append(f.reason)
    return result


def test_a_good_deck_verifies(tmp_path: Path, backend: str) -> None:
    path = write_deck(tmp_path / "good.apkg", good_notes())
    seen: list[tuple[int, int]] = []
    report = verify_deck(path, backend, progress=lambda done, total: seen.append((done, total)))
    assert report.ok, format_report(report)
    assert report.backend == backend
    assert report.notes == 6 and report.failed == 0
    assert report.families["adaptive.equivalence"].notes == 2
    assert seen == [(i, 6) for i in range(1, 7)]
    text = format_report(report)
    first = text.splitlines()[0]
    if backend == "torch":
        import torch

        assert first == f"checked with torch {torch.__version__}"
    else:
        assert first.startswith("checked with cardgen's solver")
    assert "FAILED" not in text
    assert any(line.split()[:4] == ["adaptive.equivalence", "2", "2", "0"]
               for line in text.splitlines())


def test_default_backend(tmp_path: Path) -> None:
    path = write_deck(tmp_path / "good.apkg", good_notes()[:1])
    report = verify_deck(path)
    assert report.backend == ("torch" if torch_available() else "solver")
    if report.backend == "solver":
        assert report.backend_label == "checked with cardgen's solver (torch not installed)"


def test_an_altered_answer_fails_naming_its_note(tmp_path: Path, backend: str) -> None:
    notes = good_notes()
    guid, front, _, spec_text = notes[0]
    notes[0] = (guid, front, "1x16x15x15", spec_text)
    report = verify_deck(write_deck(tmp_path / "altered.apkg", notes), backend)
    assert not report.ok
    assert report.failed == 1 and report.families["conv.output_size"].failed == 1
    (failure,) = report.failures
    assert failure.guid == "g-shape" and failure.family == "conv.output_size"
    assert "'1x16x15x15'" in failure.reason and "'1x16x16x16'" in failure.reason
    assert failure.note.startswith("Output of Conv2d(3, 16, 3, stride=2, padding=1) on")
    assert "<" not in failure.note and len(failure.note) <= 60
    text = format_report(report)
    failed_lines = [line for line in text.splitlines() if line.startswith("FAILED")]
    assert len(failed_lines) == 1
    assert "g-shape" in failed_lines[0] and "Output of Conv2d" in failed_lines[0]


def test_false_claims_fail(tmp_path: Path, backend: str) -> None:
    conv = parse_layer("Conv2d(3, 16, 3, stride=2, padding=1)")
    wrong_shape = shape_claim([conv], [1, 3, 32, 32])
    wrong_shape["output_shape"] = [1, 16, 15, 15]
    flipped = equivalent_claim([parse_layer("AdaptiveAvgPool1d(3)")],
                               [parse_layer("AvgPool1d(3, 1)")], [1, 1, 5])
    flipped["equal"] = True
    hostile = {"kind": "shape", "layers": [{"type": "os.system", "args": {"command": "ls"}}],
               "input_shape": [1], "output_shape": [1]}
    notes = [("bad-shape", "shape?", "15x15", spec("conv.output_size", "15x15", [wrong_shape])),
             ("bad-equal", "equal?", "yes", spec("adaptive.equivalence", "yes", [flipped])),
             ("bad-type", "type?", "1", spec("conv.output_size", "1", [hostile])),
             good_notes()[0]]
    report = verify_deck(write_deck(tmp_path / "false.apkg", notes), backend)
    failed = failures_of(report)
    assert set(failed) == {"bad-shape", "bad-equal", "bad-type"}
    assert any("claimed [1, 16, 15, 15]" in r for r in failed["bad-shape"])
    assert any("allow-list" in r for r in failed["bad-type"])
    assert report.families["conv.output_size"].notes == 3
    assert report.families["conv.output_size"].failed == 2


@pytest.mark.parametrize("spec_text,why", [
    ("not json {", "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"v": 4, "family": "f", "answer": "a", "claims": [{}]}', "version"),
    ('{"v": true, "family": "f", "answer": "a", "claims": [{}]}', "version"),
    ('{"v": 1, "family": "f", "answer": "a"}', "no claims"),
    ('{"v": 1, "family": "f", "answer": "a", "claims": []}', "no claims"),
    ('{"v": 1, "family": "f", "answer": 3, "claims": [{}]}', "answer"),
    ('{"v": 1, "family": "f", "answer": "a", "claims": [{"kind": "nope"}]}', "unknown claim"),
    ('{"v": 1, "family": "f", "answer": "a", "claims": [7]}', "object"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ('{"v": 1, "family": "f", "answer": "a", "claims": [' + ",".join(["{}"] * 65) + "]}",
     "limit"),
])
def test_bad_specs_fail_the_note(tmp_path: Path, spec_text: str, why: str) -> None:
    notes = [("bad", "<div>bad &amp; spec</div>", "a", spec_text), good_notes()[0]]
    report = verify_deck(write_deck(tmp_path / "bad.apkg", notes), "solver")
    assert report.failed == 1
    assert {f.guid for f in report.failures} == {"bad"}
    failure = report.failures[-1]  # a claim's reason comes after entailment's
    assert failure.note == "bad & spec"
    assert why.lower() in failure.reason.lower(), failure.reason


def test_html_escaped_spec_is_read(tmp_path: Path) -> None:
    guid, front, answer, spec_text = good_notes()[0]
    escaped = spec_text.replace('"', "&quot;")
    report = verify_deck(write_deck(tmp_path / "esc.apkg", [(guid, front, answer, escaped)]),
                         "solver")
    assert report.ok, report.failures


def test_note_without_spec_field(tmp_path: Path) -> None:
    model = genanki.Model(1607392320, "basic", fields=[{"name": "Front"}, {"name": "Back"}],
                          templates=[{"name": "c", "qfmt": "{{Front}}", "afmt": "{{Back}}"}])
    deck = genanki.Deck(2059400111, "other")
    deck.add_note(genanki.Note(model=model, fields=["hello", "world"], guid="plain"))
    path = tmp_path / "plain.apkg"
    genanki.Package(deck).write_to_file(str(path))
    report = verify_deck(path, "solver")
    assert not report.ok and "no Spec field" in report.failures[0].reason


def test_corrupt_file_raises_one_line(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.apkg"
    path.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(CardgenError) as info:
        verify_deck(path, "solver")
    assert isinstance(info.value, DeckError)
    assert "\n" not in str(info.value) and "corrupt.apkg" in str(info.value)
    with pytest.raises(DeckError):
        verify_deck(tmp_path / "missing.apkg", "solver")


def test_truncated_deck_raises(tmp_path: Path) -> None:
    path = write_deck(tmp_path / "good.apkg", good_notes())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DeckError):
        verify_deck(path, "solver")


def test_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(CardgenError):
        verify_deck(tmp_path / "x.apkg", "numpy")


@pytest.mark.parametrize("html,text", [
    ("<p>What is <code>1x3</code>?</p><p>Type N.</p>", "What is 1x3? Type N."),
    ("<style>.x{}</style><div>A&nbsp;&lt;b&gt;</div><svg><text>9</text></svg>", "A <b>"),
    ("word " * 30, ("word " * 12).strip()[:57].rstrip() + "..."),
])
def test_front_text(html: str, text: str) -> None:
    assert front_text(html) == text
    assert len(front_text(html)) <= 60


# --- the checker process ----------------------------------------------------------------------


def test_worker_survives_a_crash() -> None:
    import os
    import signal

    from cardgen.verify import _Worker

    claim = shape_claim([parse_layer("MaxPool1d(2)")], [1, 1, 8])
    worker = _Worker("solver")
    worker.start()
    try:
        assert worker.check(claim).ok
        assert worker.proc is not None
        os.kill(worker.proc.pid, signal.SIGKILL)
        crashed = worker.check(claim)
        assert not crashed.ok and "crashed" in crashed.detail and "SIGKILL" in crashed.detail
        again = worker.check(claim)  # a fresh child takes over
        assert again.ok, again.detail
    finally:
        worker.close()


def test_worker_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import cardgen.verify as verify

    slow = equivalent_claim([parse_layer("AdaptiveMaxPool2d(5)")],
                            [parse_layer("MaxPool2d(2)")], [1, 2, 10, 10])
    worker = verify._Worker("solver")
    worker.start()
    monkeypatch.setattr(verify, "CLAIM_TIMEOUT", 0.001)
    try:
        result = worker.check(slow)
        assert not result.ok and "did not finish" in result.detail
        monkeypatch.setattr(verify, "CLAIM_TIMEOUT", 60.0)
        assert worker.check(slow).ok
    finally:
        worker.close()


def test_worker_refuses_non_json_claims() -> None:
    from cardgen.verify import _Worker

    worker = _Worker("solver")
    try:
        result = worker.check({"kind": object()})
        assert not result.ok and "JSON" in result.detail
        assert worker.proc is None  # never started for it
    finally:
        worker.close()


def test_in_process_and_isolated_agree(tmp_path: Path, require: Any) -> None:
    require("torch")
    notes = good_notes()
    guid, front, _, spec_text = notes[1]
    notes[1] = (guid, front, "yes", spec_text)
    path = write_deck(tmp_path / "deck.apkg", notes)
    isolated = verify_deck(path, "torch")
    inline = verify_deck(path, "torch", isolate=False)
    assert isolated.failures == inline.failures and len(inline.failures) == 1
    assert isolated.backend_label == inline.backend_label
