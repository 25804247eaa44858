"""`transpose_output_size` claims: a ConvTranspose called with ``output_size=``. torch
calls the real module; the solver applies torch's rule (sizes lo..lo+stride-1 per dim).
Tampered and malformed claims fail with either backend; fuzzed ones never raise."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardgen.claims import ClaimCheck, check_claim, torch_available, transpose_output_size_claim
from cardgen.layers import Layer, parse_layer
from cardgen.solver.transpose import explicit_allowed, picked, size_range


def backends() -> list[str]:
    return ["solver", "torch"] if torch_available() else ["solver"]


def random_calls(seed: int, n: int) -> list[tuple[Layer, list[int], list[int]]]:
    """ConvTranspose 1d/2d with strides, paddings and dilations (often above the stride),
    sometimes a stray output_padding of its own, called with sizes around the range."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        nd = rng.randint(1, 2)
        k, s = rng.randint(1, 5), tuple(rng.randint(1, 4) for _ in range(nd))
        d = tuple(rng.randint(1, 4) for _ in range(nd))
        p = rng.randint(0, 2)
        kw: dict[str, Any] = {"stride": s, "dilation": d, "padding": p}
        if rng.random() < 0.2:  # ignored with output_size, even when it could not run
            kw["output_padding"] = tuple(rng.randint(0, 5) for _ in range(nd))
        layer = Layer.make(f"ConvTranspose{nd}d", in_channels=2, out_channels=3,
                           kernel_size=k, **kw)
        sizes = [rng.randint(1, 9) for _ in range(nd)]
        targets = []
        for i in range(nd):
            lo, hi = size_range(sizes[i], k, s[i], p, d[i])
            targets.append(max(0, rng.randint(lo - 2, hi + 2)))
        out.append((layer, [1, 2, *sizes], targets))
    return out


@pytest.mark.parametrize(("layer", "shape", "sizes"), random_calls(1, 60), ids=str)
def test_claims_hold_and_tampered_ones_fail(layer: Layer, shape: list[int],
                                            sizes: list[int]) -> None:
    claim = transpose_output_size_claim(layer, shape, sizes)
    for b in backends():
        assert check_claim(claim, b).ok, (b, check_claim(claim, b).detail)
    out = claim["output_shape"]
    tampered = [{**claim, "output_shape": [1, 3, *sizes] if out is None else None}]
    if out is not None:
        tampered.append({**claim, "output_shape": [*out[:-1], out[-1] + 1]})
    for bad in tampered:
        for b in backends():
            assert not check_claim(bad, b).ok, (b, bad)


def test_the_range_is_the_strides_even_when_the_dilation_is_larger() -> None:
    """Stride 1, dilation 3: an explicit output_padding of 1 or 2 runs (smaller than the
    dilation), but output_size= accepts the one size with output_padding 0."""
    layer = parse_layer("ConvTranspose1d(2, 3, 3, dilation=3)")
    lo, hi = size_range(5, 3, 1, 0, 3)
    assert lo == hi
    for op in (1, 2):
        assert explicit_allowed(op, 1, 3)
        explicit = transpose_output_size_claim(layer, [1, 2, 5], [lo + op])
        assert explicit["output_shape"] is None
        for b in backends():
            assert check_claim(explicit, b).ok, b
    assert not explicit_allowed(3, 1, 3)
    assert picked(layer, (1, 2, 5), (lo,)).output_padding == (0,)


def test_the_layers_own_output_padding_is_ignored() -> None:
    """output_padding=5 with stride 2 cannot run alone; with output_size= torch picks its
    own and runs."""
    layer = parse_layer("ConvTranspose1d(2, 3, 3, stride=2, output_padding=5)")
    claim = transpose_output_size_claim(layer, [1, 2, 4], [10])
    assert claim["output_shape"] == [1, 3, 10]
    for b in backends():
        assert check_claim(claim, b).ok, b


GOOD = {"kind": "transpose_output_size", "layer": {"type": "ConvTranspose1d", "args": {
    "in_channels": 2, "out_channels": 4, "kernel_size": 3, "stride": 2}},
    "input_shape": [1, 2, 5], "output_size": [12], "output_shape": [1, 4, 12]}


@pytest.mark.parametrize(("over", "why"), [
    ({"output_size": [12, 12]}, "list of 1 integers"),
    ({"output_size": 12}, "list of 1 integers"),
    ({"output_size": [-1]}, "between 0"),
    ({"output_size": [True]}, "integers"),
    ({"output_size": [10**6]}, "between 0"),
    ({"output_shape": [1, 4, 11]}, "claimed"),
    ({"output_shape": None}, "claimed raises"),
    ({"input_shape": [1, 3, 5]}, "raises"),
    ({"layer": {"type": "Conv1d", "args": {"in_channels": 2, "out_channels": 4,
                                           "kernel_size": 3}}}, "ConvTranspose"),
    ({"layer": {"type": "ConvTranspose1d", "args": {
        "in_channels": 2, "out_channels": 4, "kernel_size": 3, "stride": 5000}}},
     "too large"),
    ({"input_shape": [1, 2, 5], "output_size": [4000], "layer": {
        "type": "ConvTranspose1d", "args": {"in_channels": 2, "out_channels": 4000,
                                            "kernel_size": 3, "stride": 1000}}},
     "too large"),
    ({"extra": 1}, "unknown keys"),
])
def test_malformed_or_false_claims_fail(over: dict[str, Any], why: str) -> None:
    claim = {**copy.deepcopy(GOOD), **over}
    for b in backends():
        assert check_claim(GOOD, b).ok, check_claim(GOOD, b).detail
        result = check_claim(claim, b)
        assert not result.ok and why in result.detail, (b, result.detail)


_SCALARS = st.one_of(st.integers(-3, 12), st.sampled_from([None, True, 2.5, "same",
                                                          2**31 - 1, 10**12]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, min_size=0, max_size=4))
_LAYER = st.fixed_dictionaries({
    "type": st.sampled_from(["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                             "Conv1d", "MaxPool1d", "Sequential"]),
    "args": st.dictionaries(st.sampled_from(["in_channels", "out_channels", "kernel_size",
                                             "stride", "padding", "dilation",
                                             "output_padding", "groups", "bogus"]),
                            _VALUES, max_size=7)})
_CLAIM = st.fixed_dictionaries({
    "kind": st.just("transpose_output_size"), "layer": _LAYER,
    "input_shape": st.lists(st.integers(-1, 9), max_size=5),
    "output_size": st.one_of(_VALUES, st.lists(st.integers(-2, 40), max_size=4)),
    "output_shape": st.one_of(st.none(), st.lists(st.integers(-1, 40), max_size=5))})


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(claim=_CLAIM)
def test_fuzzed_claims_never_raise(backend: str, claim: Any) -> None:
    result = check_claim(claim, backend)
    assert isinstance(result, ClaimCheck) and isinstance(result.detail, str)
