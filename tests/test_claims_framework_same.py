"""`framework_same` claims: TensorFlow/Keras and ONNX `SAME` (pads, output shape) and whether
a PyTorch conv computes the same layer. The rule is checked against ONNX Runtime itself
(when installed; CI installs it), tampered claims fail with both backends, and fuzzed
claims never raise."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from conftest import require

from cardgen.claims import check_claim, framework_same_claim, unique_claim
from cardgen.claims.kinds import framework_same
from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.dialect import (
    DIALECTS,
    SAME_LOWER,
    SAME_UPPER,
    same_pads,
    same_total,
    symmetric_padding,
)


def conv(nd: int, k: Any, s: Any, padding: Any = 0, **kw: Any) -> Layer:
    return Layer.make(f"Conv{nd}d", in_channels=kw.pop("cin", 2), out_channels=kw.pop("cout", 3),
                      kernel_size=k, stride=s, padding=padding, **kw)


def random_config(rng: random.Random) -> tuple[Layer, tuple[int, ...], str]:
    nd = rng.choice((1, 2, 2, 3))
    s = [rng.randint(1, 3) for _ in range(nd)]
    k = [rng.randint(si, 6) for si in s]
    n = [rng.randint(1, 20 if nd < 3 else 7) for _ in range(nd)]
    groups = rng.choice((1, 1, 2))
    layer = conv(nd, k, s, rng.randint(0, 3), cin=2 * groups, cout=2 * groups, groups=groups,
                 bias=rng.random() < 0.5)
    return layer, (1, 2 * groups, *n), rng.choice(DIALECTS)


def test_the_rule_is_onnx_runtimes() -> None:
    """The solver's pads, output shape and verdict on a PyTorch conv, against ONNX Runtime's
    Conv with auto_pad on random inputs and weights (groups, bias, 1-3 spatial dims)."""
    require("torch")
    require("onnxruntime", "the rule is checked against ONNX Runtime")
    rng = random.Random(15)
    for _ in range(60):
        claim = framework_same_claim(*random_config(rng))
        result = check_claim(claim, "torch")
        assert result.ok and "not installed" not in result.detail, (claim, result.detail)


@pytest.mark.parametrize(("nd", "k", "s", "n", "dialect", "pads", "answer"), [
    (1, 3, 2, 8, SAME_UPPER, (0, 1), None),   # the odd zero after: p=0 is a window short
    (1, 3, 2, 9, SAME_UPPER, (1, 1), 1),
    (1, 4, 2, 15, SAME_LOWER, (2, 1), 2),     # the extra zero PyTorch adds after is unread
    (2, 4, 2, 16, SAME_LOWER, (1, 1), 1),
    (1, 2, 1, 7, SAME_UPPER, (0, 1), None),   # stride 1: PyTorch's 'same' does it
    (1, 2, 1, 7, SAME_LOWER, (1, 0), None),   # stride 1: p=1 gives one output too many
    (2, 6, 2, 9, SAME_LOWER, (3, 2), 3),      # the extra zero PyTorch adds after is unread
])
def test_which_symmetric_padding_computes_it(nd: int, k: int, s: int, n: int, dialect: str,
                                             pads: tuple[int, int], answer: int | None,
                                             backend: str) -> None:
    """The unique claim over PyTorch's padding p in 0..5, re-checked candidate by candidate
    (with torch: each candidate against the padded conv, and ONNX Runtime when installed)."""
    assert same_pads(n, k, s, dialect) == pads
    assert symmetric_padding(n, k, s, dialect) == answer
    shape = (1, 2, *[n] * nd)
    template = {**framework_same_claim(conv(nd, k, s, pads[0]), shape, dialect), "equal": True}
    claim = unique_claim(template, {"p": ("layers", 0, "args", "padding")}, {"p": (0, 5)},
                         holds=answer is not None)
    assert claim["answer"] == (None if answer is None else {"p": answer})
    result = check_claim(claim, backend)
    assert result.ok, result.detail
    wrong = {**claim, "answer": {"p": (answer or 0) + 1}}
    assert not check_claim(wrong, backend).ok


@pytest.mark.parametrize(("dialect", "equal"), [(SAME_UPPER, True), (SAME_LOWER, False)])
def test_pytorch_same_is_same_upper_at_stride_one(dialect: str, equal: bool,
                                                  backend: str) -> None:
    """padding='same' puts the odd zero after, as SAME_UPPER (TensorFlow's 'same') does."""
    claim = framework_same_claim(conv(2, 4, 1, "same"), (1, 2, 7, 7), dialect)
    assert claim["equal"] is equal
    assert check_claim(claim, backend).ok
    assert not check_claim({**claim, "equal": not equal}, backend).ok


def tampered(claim: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for dim in range(len(claim["pads"])):
        for db, da in ((1, -1), (-1, 1), (1, 0), (0, 1)):
            pads = copy.deepcopy(claim["pads"])
            pads[dim] = [pads[dim][0] + db, pads[dim][1] + da]
            if min(pads[dim]) >= 0:
                out.append({**claim, "pads": pads})
    shape = list(claim["output_shape"])
    shape[-1] += 1
    out.append({**claim, "output_shape": shape})
    out.append({**claim, "equal": not claim["equal"]})
    if any((b + a) % 2 for b, a in claim["pads"]):
        other = SAME_LOWER if claim["dialect"] == SAME_UPPER else SAME_UPPER
        out.append({**claim, "dialect": other})
    return out


@pytest.mark.parametrize(("nd", "k", "s", "n", "p", "dialect"), [
    (1, 3, 2, 8, 1, SAME_UPPER), (1, 4, 1, 9, 2, SAME_LOWER), (2, 5, 3, 13, 1, SAME_UPPER),
    (2, 6, 2, 9, 3, SAME_LOWER), (3, 3, 2, 6, 1, SAME_UPPER),
])
def test_tampered_claims_fail(nd: int, k: int, s: int, n: int, p: int, dialect: str,
                              backend: str) -> None:
    claim = framework_same_claim(conv(nd, k, s, p), (1, 2, *[n] * nd), dialect)
    assert check_claim(claim, backend).ok
    for bad in tampered(claim):
        result = check_claim(bad, backend)
        assert not result.ok, (bad, result.detail)


def test_without_onnxruntime_torch_checks_sizes_and_the_rule_the_split(
        monkeypatch: pytest.MonkeyPatch) -> None:
    require("torch")
    monkeypatch.setattr(framework_same, "onnxruntime_available", lambda: False)
    claim = framework_same_claim(conv(1, 4, 2, 1), (1, 2, 15), SAME_LOWER)
    result = check_claim(claim, "torch")
    assert result.ok and "onnxruntime not installed" in result.detail
    for bad in tampered(claim):
        assert not check_claim(bad, "torch").ok, bad


@pytest.mark.parametrize(("over", "why"), [
    ({"layers": [{"type": "MaxPool1d", "args": {"kernel_size": 2}}]}, "Conv layers"),
    ({"layers": [conv(1, 3, 1).to_json()] * 2}, "one layer"),
    ({"layers": [conv(1, 3, 2, dilation=2).to_json()]}, "dilation"),
    ({"layers": [conv(1, 1, 4).to_json()]}, "disagree"),  # (ceil(14/4)-1)*4 + 1 - 14 < 0
    ({"input_shape": [2, 6]}, "batched"),
    ({"dialect": "SAME"}, "dialect"),
    ({"equal": 1}, "true or false"),
    ({"pads": [[1]]}, "pairs"),
    ({"pads": [[-1, 2]]}, "pairs"),
    ({"unknown": 1}, "unknown keys"),
])
def test_malformed_claims_fail_with_a_reason(over: dict[str, Any], why: str,
                                             backend: str) -> None:
    claim = {**framework_same_claim(conv(1, 3, 2), (1, 2, 14), SAME_UPPER), **over}
    result = check_claim(claim, backend)
    assert not result.ok and why in result.detail, result.detail


def test_a_negative_total_is_refused_by_the_solver() -> None:
    with pytest.raises(ShapeError):
        same_total(14, 1, 4)
    with pytest.raises(ValueError):
        framework_same_claim(conv(1, 1, 4), (1, 2, 14), SAME_UPPER)


def _mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    junk = [None, True, -1, 0, 2**40, 1.5, "x", [], {}, [[0, 0]], "SAME_LOWER", [1, -1]]
    if rng.random() < 0.15 or depth > 4:
        return rng.choice(junk)
    if isinstance(value, dict):
        return {k: _mutate(rng, v, depth + 1) if rng.random() < 0.4 else v
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mutate(rng, v, depth + 1) if rng.random() < 0.4 else v for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return value + rng.choice((-2, -1, 1, 7))
    return value


def test_fuzzed_claims_never_raise(backend: str) -> None:
    rng = random.Random(7)
    base = [framework_same_claim(*random_config(rng)) for _ in range(8)]
    for i in range(150):
        claim = _mutate(rng, base[i % len(base)])
        if isinstance(claim, dict):
            claim["kind"] = "framework_same"
        result = check_claim(claim, backend)  # never raises: ok or a one-line reason
        assert isinstance(result.detail, str) and "\n" not in result.detail


@pytest.mark.parametrize(("layer", "shape"), [
    (conv(1, 3, 2, dilation=2), (1, 2, 14)),
    (conv(1, 1, 4), (1, 2, 14)),                    # the dialects disagree
    (Layer.make("MaxPool1d", kernel_size=2), (1, 2, 14)),
    (conv(1, 3, 2), (2, 14)),                       # unbatched
    (conv(1, 3, 2), (1, 2, 10**7)),                 # beyond verify's limits
])
def test_the_builder_refuses_what_verify_refuses(layer: Layer, shape: tuple[int, ...]) -> None:
    claim = {"kind": "framework_same", "layers": [layer.to_json()], "input_shape": list(shape),
             "dialect": SAME_UPPER, "pads": [[0, 0]], "output_shape": [1, 3, 7],
             "equal": False}
    assert not check_claim(claim, "solver").ok
    with pytest.raises(ValueError, match="cannot build"):
        framework_same_claim(layer, shape, SAME_UPPER)
