"""`params` and `macs` claims: torch counts the real module's weights and biases (numel)
and its multiply-adds (torch's flop counter on a real forward); the solver derives both.
Tampered and malformed claims fail with either backend."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardgen.claims import ClaimCheck, check_claim, macs_claim, params_claim, torch_available
from cardgen.claims.parse import Refused
from cardgen.errors import ShapeError
from cardgen.layers import LAYER_TYPES, Layer, parse_layer
from cardgen.solver.params import mac_count, param_count


def backends() -> list[str]:
    return ["solver", "torch"] if torch_available() else ["solver"]


def random_layers(seed: int, n: int) -> list[Layer]:
    """Conv/ConvTranspose 1-3d with groups, per-dim kernels and bias=False, and Linear."""
    rng = random.Random(seed)
    out: list[Layer] = []
    while len(out) < n:
        kind = rng.choice(["Conv", "ConvTranspose", "Linear"])
        bias = rng.random() < 0.6
        if kind == "Linear":
            out.append(Layer.make("Linear", in_features=rng.randint(1, 40),
                                  out_features=rng.randint(1, 40), bias=bias))
            continue
        nd = rng.randint(1, 3)
        g = rng.choice([1, 1, 2, 3, 4])
        k = tuple(rng.randint(1, 4) for _ in range(nd))
        out.append(Layer.make(f"{kind}{nd}d", in_channels=g * rng.randint(1, 6),
                              out_channels=g * rng.randint(1, 6),
                              kernel_size=k if rng.random() < 0.5 else k[0], groups=g,
                              bias=bias))
    return out


@pytest.mark.parametrize("layer", random_layers(1, 40), ids=str)
def test_params_claims_hold_and_tampered_ones_fail(layer: Layer) -> None:
    claim = params_claim(layer)
    for b in backends():
        assert check_claim(claim, b).ok, (b, check_claim(claim, b))
    for key, delta in (("weights", 1), ("weights", -1), ("biases", 1)):
        tampered = {**claim, key: claim[key] + delta}
        for b in backends():
            assert not check_claim(tampered, b).ok, (b, tampered)
    said_refused = {**claim, "weights": None, "biases": None}
    for b in backends():
        assert not check_claim(said_refused, b).ok, b


@pytest.mark.skipif(not torch_available(), reason="needs torch (pip install torch==2.13.0)")
@pytest.mark.parametrize("layer", random_layers(2, 30), ids=str)
def test_solver_counts_match_torch_numel(layer: Layer) -> None:
    import torch

    module = getattr(torch.nn, layer.type)(**layer.kwargs)
    count = param_count(layer)
    assert tuple(module.weight.shape) == count.weight_shape
    assert (module.bias.numel() if module.bias is not None else 0) == count.biases
    assert sum(p.numel() for p in module.parameters()) == count.total


@pytest.mark.parametrize(("args", "why"), [
    ({"in_channels": 64, "out_channels": 96, "kernel_size": 3, "groups": 5}, "in_channels"),
    ({"in_channels": 64, "out_channels": 96, "kernel_size": 3, "groups": 64}, "out_channels"),
])
def test_a_layer_groups_do_not_divide_cannot_be_built(args: dict[str, Any], why: str) -> None:
    with pytest.raises(ShapeError, match=why):
        Layer.make("Conv2d", **args)
    claim = params_claim(Refused("Conv2d", args, why))
    assert claim["weights"] is None and claim["biases"] is None
    for b in backends():
        result = check_claim(claim, b)
        assert result.ok and why in result.detail, result.detail
    counted = {**claim, "weights": 0, "biases": 0}
    for b in backends():
        assert not check_claim(counted, b).ok, b


MACS = [("Conv2d(16, 32, 3, padding=1, groups=4)", [1, 16, 8, 8]),
        ("Conv1d(3, 6, 5, stride=2, groups=3)", [2, 3, 17]),
        ("Conv3d(2, 4, (1, 3, 3), bias=False)", [1, 2, 3, 6, 6]),
        ("Conv2d(8, 8, 3, stride=2, padding=1, groups=8)", [4, 8, 9, 9]),
        ("Linear(10, 5)", [2, 3, 10]),
        ("Linear(7, 4, bias=False)", [7])]


@pytest.mark.parametrize(("text", "shape"), MACS)
def test_macs_claims_hold_and_tampered_ones_fail(text: str, shape: list[int]) -> None:
    layer = parse_layer(text)
    claim = macs_claim(layer, shape)
    assert claim["macs"] == mac_count(layer, shape).macs > 0
    for b in backends():
        assert check_claim(claim, b).ok, (b, check_claim(claim, b))
    for delta in (1, -1):
        tampered = {**claim, "macs": claim["macs"] + delta}
        for b in backends():
            assert not check_claim(tampered, b).ok, b


@pytest.mark.skipif(not torch_available(), reason="needs torch (pip install torch==2.13.0)")
@pytest.mark.parametrize(("text", "shape"), MACS)
def test_macs_are_output_elements_times_one_output_units_weights(text: str,
                                                                 shape: list[int]) -> None:
    import torch

    layer = parse_layer(text)
    module = getattr(torch.nn, layer.type)(**layer.kwargs)
    with torch.no_grad():
        y = module(torch.zeros(shape))
    assert mac_count(layer, shape).macs == y.numel() * module.weight[0].numel()


def test_the_solver_vouches_only_for_refusals_torch_makes_when_building() -> None:
    """torch builds a Conv2d with kernel_size 0 (it fails only when run): a claim that it
    cannot be built fails with either backend."""
    claim = {"kind": "params", "layer": {"type": "Conv2d", "args": {
        "in_channels": 1, "out_channels": 1, "kernel_size": 0}}, "weights": None,
        "biases": None}
    for b in backends():
        assert not check_claim(claim, b).ok, b


GOOD_PARAMS = {"kind": "params", "layer": {"type": "Conv1d", "args": {
    "in_channels": 2, "out_channels": 4, "kernel_size": 3}}, "weights": 24, "biases": 4}
GOOD_MACS = {"kind": "macs", "layer": {"type": "Conv1d", "args": {
    "in_channels": 2, "out_channels": 4, "kernel_size": 3}}, "input_shape": [1, 2, 5],
    "macs": 72}


@pytest.mark.parametrize(("base", "over", "why"), [
    (GOOD_PARAMS, {"weights": None}, "both be null"),
    (GOOD_PARAMS, {"biases": -1}, "between 0"),
    (GOOD_PARAMS, {"weights": 1.5}, "integer"),
    (GOOD_PARAMS, {"weights": True}, "integer"),
    (GOOD_PARAMS, {"layer": {"type": "MaxPool1d", "args": {"kernel_size": 2}}},
     "Conv, ConvTranspose and Linear"),
    (GOOD_PARAMS, {"layer": {"type": "Conv2d", "args": {
        "in_channels": 100_000, "out_channels": 100_000, "kernel_size": 3}}}, "too large"),
    (GOOD_PARAMS, {"extra": 1}, "unknown keys"),
    (GOOD_MACS, {"macs": -1}, "non-negative"),
    (GOOD_MACS, {"input_shape": [1, 3, 5]}, "raises"),
    (GOOD_MACS, {"layer": {"type": "ConvTranspose1d", "args": {
        "in_channels": 2, "out_channels": 4, "kernel_size": 3}}}, "Conv and Linear"),
    (GOOD_MACS, {"input_shape": [1, 2, 10**7]}, "too large"),
])
def test_malformed_claims_fail(base: dict[str, Any], over: dict[str, Any], why: str) -> None:
    claim = {**copy.deepcopy(base), **over}
    for b in backends():
        result = check_claim(base, b)
        assert result.ok, result.detail
        result = check_claim(claim, b)
        assert not result.ok and why in result.detail, (b, result.detail)


_SCALARS = st.one_of(st.integers(-3, 9), st.sampled_from([None, True, False, "same", 2.5,
                                                         2**31 - 1, 10**12]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, min_size=0, max_size=4))
_LAYER = st.fixed_dictionaries({
    "type": st.sampled_from(sorted(LAYER_TYPES) + ["Sequential"]),
    "args": st.dictionaries(st.sampled_from(["in_channels", "out_channels", "kernel_size",
                                             "groups", "bias", "stride", "padding",
                                             "in_features", "out_features", "bogus"]),
                            _VALUES, max_size=6)})
_CLAIM = st.one_of(
    st.fixed_dictionaries({"kind": st.just("params"), "layer": _LAYER,
                           "weights": _SCALARS, "biases": _SCALARS}),
    st.fixed_dictionaries({"kind": st.just("macs"), "layer": _LAYER,
                           "input_shape": st.lists(st.integers(-1, 9), max_size=6),
                           "macs": _SCALARS}))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(claim=_CLAIM)
def test_fuzzed_params_and_macs_claims_never_raise(backend: str, claim: Any) -> None:
    result = check_claim(claim, backend)
    assert isinstance(result, ClaimCheck) and isinstance(result.detail, str)
