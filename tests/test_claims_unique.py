"""`unique` claims: the answer is the only one in the stated space, every candidate
re-checked by the solver and by torch; a wrong uniqueness claim fails, also in `verify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import genanki
import pytest

from cardgen.claims import (
    check_claim,
    equivalent_claim,
    error_claim,
    shape_claim,
    torch_available,
    unique_claim,
)
from cardgen.layers import Layer
from cardgen.solver import fixed_equivalent, output_shape
from cardgen.verify import verify_deck

PAD = ("layers", 0, "args", "padding")


def conv(**kw: Any) -> Layer:
    return Layer.make("Conv2d", in_channels=3, out_channels=4, **kw)


def backends() -> list[str]:
    return ["solver", "torch"] if torch_available() else ["solver"]


def holds(claim: dict[str, Any]) -> dict[str, bool]:
    return {b: check_claim(claim, b).ok for b in backends()}


def paddings_giving(size: int, k: int, s: int, target: int, top: int) -> list[int]:
    """Brute force with the solver: every padding in 0..top giving `target`."""
    found = []
    for p in range(top + 1):
        try:
            if output_shape(conv(kernel_size=k, stride=s, padding=p), (1, 3, size, size))[2] \
                    == target:
                found.append(p)
        except Exception:
            pass
    return found


@pytest.mark.parametrize(("size", "k", "s", "p"), [(16, 5, 2, 2), (28, 3, 1, 1),
                                                     (224, 7, 2, 3), (13, 3, 2, 0)])
def test_padding_only_answer(size: int, k: int, s: int, p: int) -> None:
    claim = shape_claim([conv(kernel_size=k, stride=s, padding=p)], (1, 3, size, size))
    target = claim["output_shape"][2]
    found = paddings_giving(size, k, s, target, 8)
    u = unique_claim(claim, {"p": PAD}, {"p": (0, 8)})
    assert u["answer"] == {"p": p}
    assert u["claim"]["layers"][0]["args"]["padding"] == {"var": "p"}
    verdict = holds(u)
    assert all(verdict.values()) == (found == [p]), (found, verdict)
    if found == [p]:  # every other candidate is a wrong "only" answer
        for other in (0, 8):
            if other != p:
                bad = {**u, "answer": {"p": other}}
                assert holds(bad) == {b: False for b in backends()}


def test_several_answers_fail_only_but_not_smallest() -> None:
    # stride 4: 2p moves the numerator by 2 per unit, so two paddings give the same size
    claim = shape_claim([conv(kernel_size=3, stride=4, padding=0)], (1, 3, 32, 32))
    found = paddings_giving(32, 3, 4, claim["output_shape"][2], 6)
    assert len(found) > 1 and found[0] == 0
    only = unique_claim(claim, {"p": PAD}, {"p": (0, 6)})
    assert holds(only) == {b: False for b in backends()}
    smallest = unique_claim(claim, {"p": PAD}, {"p": (0, 6)}, pick="smallest")
    assert all(holds(smallest).values())
    later = shape_claim([conv(kernel_size=3, stride=4, padding=found[1])], (1, 3, 32, 32))
    assert not any(holds(unique_claim(later, {"p": PAD}, {"p": (0, 6)},
                                      pick="smallest")).values())


def _equiv(size: int, out: int, k: int, s: int, kind: str = "Avg") -> dict[str, Any]:
    ada = Layer.make(f"Adaptive{kind}Pool1d", output_size=out)
    fixed = Layer.make(f"{kind}Pool1d", kernel_size=k, stride=s)
    return {**equivalent_claim([ada], [fixed], (1, 1, size)), "equal": True}


KS = {"k": ("other", 0, "args", "kernel_size"), "s": ("other", 0, "args", "stride")}


@pytest.mark.parametrize(("size", "out"), [(7, 3), (16, 4), (10, 4), (9, 2), (6, 4),
                                           (13, 5)])
@pytest.mark.parametrize("kind", ["Avg", "Max"])
def test_equivalence_kernel_and_stride(size: int, out: int, kind: str) -> None:
    pair = fixed_equivalent(size, out)
    if pair is None:
        u = unique_claim(_equiv(size, out, 1, 1, kind), KS, {"k": (1, size), "s": (1, size)},
                         holds=False)
        assert u["answer"] is None
    else:
        u = unique_claim(_equiv(size, out, *pair, kind), KS, {"k": (1, size), "s": (1, size)})
        assert u["answer"] == {"k": pair[0], "s": pair[1]}
    assert all(holds(u).values())
    flipped = {**u, "answer": None} if pair else {**u, "answer": {"k": 2, "s": 2}}
    assert not any(holds(flipped).values())


def test_output_size_one_has_every_stride() -> None:
    """One window: any stride gives it, so "the only stride" is false."""
    u = unique_claim(_equiv(6, 1, 6, 1), KS, {"k": (1, 6), "s": (1, 6)})
    results = {b: check_claim(u, b) for b in backends()}
    assert not any(r.ok for r in results.values())
    assert all("k=6, s=1 and k=6, s=2" in r.detail for r in results.values())


def test_output_padding_only_answer() -> None:
    t = Layer.make("ConvTranspose1d", in_channels=2, out_channels=2, kernel_size=3, stride=3,
                   output_padding=1)
    claim = shape_claim([t], (1, 2, 5))
    u = unique_claim(claim, {"op": ("layers", 0, "args", "output_padding")}, {"op": (0, 4)})
    # 3 and 4 are refused (output_padding must be smaller than stride): torch must agree
    assert all(holds(u).values())


def test_error_template() -> None:
    """The only kernel size in 1..6 that torch refuses on 5 cells is 6."""
    claim = error_claim([Layer.make("MaxPool1d", kernel_size=6)], (1, 1, 5))
    u = unique_claim(claim, {"k": ("layers", 0, "args", "kernel_size")}, {"k": (1, 6)})
    assert all(holds(u).values())


def test_candidates_refused_at_construction_do_not_hold() -> None:
    """MaxPool1d(3, padding=p) is refused for p > 1; those candidates hold nowhere."""
    claim = shape_claim([Layer.make("MaxPool1d", kernel_size=3, padding=1)], (1, 1, 8))
    u = unique_claim(claim, {"p": PAD}, {"p": (0, 3)})
    assert all(holds(u).values())


def raw_unique(**over: Any) -> dict[str, Any]:
    claim = shape_claim([conv(kernel_size=3, padding=1)], (1, 3, 8, 8))
    return {**unique_claim(claim, {"p": PAD}, {"p": (0, 4)}), **over}


@pytest.mark.parametrize(("claim", "why"), [
    (raw_unique(space={"p": [0, 70000]}), "space p must be"),
    (raw_unique(space={"p": [0, 1000], "q": [0, 1000]}), "too large"),
    (raw_unique(space={"p": [0, 4], "q": [0, 4]}), "placeholders"),
    (raw_unique(pick="largest"), "pick"),
    (raw_unique(answer={"p": 9}), "not in the space"),
    (raw_unique(answer={"q": 1}), "every variable"),
    (raw_unique(answer=None, pick="smallest"), "needs an answer"),
    (raw_unique(claim={"kind": "unique"}), "shape, error or equivalent"),
    (raw_unique(claim={**raw_unique()["claim"], "input_shape": [1, {"var": "p"}, 8, 8]}),
     "only in layer arguments"),
    (raw_unique(claim={**raw_unique()["claim"], "extra": 1}), "unknown keys"),
])
def test_malformed_unique_claims_fail(claim: dict[str, Any], why: str) -> None:
    for b in backends():
        result = check_claim(claim, b)
        assert not result.ok and why in result.detail, result.detail


def test_a_malformed_template_cannot_prove_that_nothing_works() -> None:
    """`answer: null` must not hold vacuously because no candidate even parses."""
    broken = raw_unique(answer=None)
    broken["claim"] = {**broken["claim"], "output_shape": "x"}
    for b in backends():
        assert not check_claim(broken, b).ok
    # a layer refused for every candidate is a true "none": torch refuses it as well
    refused = raw_unique(answer=None)
    refused["claim"]["layers"][0]["args"]["stride"] = 0
    assert all(holds(refused).values())


def test_the_space_product_is_bounded() -> None:
    claim = _equiv(7, 3, 3, 2)
    u = unique_claim(claim, KS, {"k": (1, 7), "s": (1, 7)})
    u["space"] = {"k": [1, 1024], "s": [1, 1024]}
    result = check_claim(u, "solver")
    assert not result.ok and "too large" in result.detail


MODEL = genanki.Model(
    1607392319, "cardgen test",
    fields=[{"name": "Front"}, {"name": "Answer"}, {"name": "Worked"}, {"name": "Spec"}],
    templates=[{"name": "Card 1", "qfmt": "{{Front}}", "afmt": "{{Answer}}"}])


def test_verify_fails_a_deck_that_claims_uniqueness_wrongly(tmp_path: Path) -> None:
    claim = shape_claim([conv(kernel_size=3, stride=4, padding=0)], (1, 3, 32, 32))
    honest = unique_claim(claim, {"p": PAD}, {"p": (0, 6)}, pick="smallest")
    wrong = {**honest, "pick": "only"}  # two paddings give this size
    deck = genanki.Deck(2059400111, "unique test")
    for guid, u in (("honest", honest), ("wrong", wrong)):
        spec = {"v": 1, "family": "conv.inverse", "level": 1, "params": {}, "answer": "0",
                "claims": [claim, u]}
        deck.add_note(genanki.Note(model=MODEL, guid=guid,
                                   fields=["q", "0", "w", json.dumps(spec)]))
    path = tmp_path / "u.apkg"
    genanki.Package(deck).write_to_file(str(path))
    for b in backends():
        report = verify_deck(path, b)
        assert [f.guid for f in report.failures] == ["wrong"], report.failures
        assert "unique" in report.failures[0].reason
