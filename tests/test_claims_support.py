"""`support` claims: the input box one output unit of a stack depends on. torch finds it
by gradient support (weights 1, input 1, backward from the unit; a max pool checked by
the avg pool of its geometry); the solver by composing windows. Tampered and malformed
claims fail with either backend; fuzzed claims never raise."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardgen.claims import ClaimCheck, check_claim, support_claim
from cardgen.errors import ShapeError
from cardgen.layers import Layer, parse_layer
from cardgen.solver.receptive import dim_sizes


def random_stacks(seed: int, n: int) -> list[tuple[list[Layer], list[int], list[int]]]:
    """1-D and 2-D stacks of convs (stride, padding, dilation) and max/avg pools (ceil
    mode too), on inputs they run on, with a random output unit."""
    rng = random.Random(seed)
    out: list[tuple[list[Layer], list[int], list[int]]] = []
    while len(out) < n:
        nd = rng.choice([1, 1, 2])
        layers = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.6:
                k = rng.randint(1, 5)
                layers.append(Layer.make(f"Conv{nd}d", in_channels=2, out_channels=2,
                                         kernel_size=k, stride=rng.choice([1, 1, 2, 3]),
                                         padding=rng.choice([0, 0, 1, 2, k]),
                                         dilation=rng.choice([1, 1, 2, 3])))
            else:
                k = rng.randint(1, 4)
                kind = rng.choice(["MaxPool", "AvgPool"])
                layers.append(Layer.make(f"{kind}{nd}d", kernel_size=k,
                                         stride=rng.choice([None, 1, 2, 3]),
                                         padding=rng.randint(0, k // 2),
                                         ceil_mode=rng.random() < 0.3))
        shape = [1, 2] + [rng.randint(6, 30) for _ in range(nd)]
        try:
            sizes = dim_sizes(layers, shape)[-1]
        except ShapeError:
            continue
        if min(sizes) < 1:
            continue
        out.append((layers, shape, [rng.randrange(s) for s in sizes]))
    return out


CASES = random_stacks(14, 60)


def _backends() -> list[str]:
    from cardgen.claims import torch_available

    return ["solver", "torch"] if torch_available() else ["solver"]


@pytest.mark.parametrize(("layers", "shape", "index"), CASES,
                         ids=[f"case{i}" for i in range(len(CASES))])
def test_support_claims_hold_and_tampered_ones_fail(layers: list[Layer], shape: list[int],
                                                    index: list[int]) -> None:
    claim = support_claim(layers, shape, index)
    for b in _backends():
        result = check_claim(claim, b)
        assert result.ok, (b, result.detail)
    for d, box in enumerate(claim["support"]):
        for tampered_box in ([box[0] + 1, box[1]], [box[0], box[1] - 1],
                             [box[0] - 1, box[1]], [box[0], box[1] + 1], None) \
                if box is not None else ([0, 1],):
            tampered = copy.deepcopy(claim)
            tampered["support"][d] = tampered_box
            for b in _backends():
                assert not check_claim(tampered, b).ok, (b, tampered)


def test_a_max_pool_is_checked_by_its_whole_window() -> None:
    """torch's max pool sends gradient to one cell per window; the claim is about every
    cell the unit depends on, which torch sees through the avg pool of the same geometry."""
    layers = [parse_layer("MaxPool1d(3, stride=2, padding=1)"),
              parse_layer("Conv1d(1, 1, 3, padding=1)")]
    claim = support_claim(layers, [1, 1, 16], [4])
    assert claim["support"] == [[5, 12]]  # units 3..5 of the pool read 5..11
    for b in _backends():
        assert check_claim(claim, b).ok


def test_padding_of_a_middle_layer_depends_on_nothing() -> None:
    """Cells are clipped layer by layer: a unit past the end of a middle tensor is padding
    and reads nothing, although its window would reach real input cells."""
    layers = [parse_layer("Conv1d(1, 1, 3, stride=4, padding=1)"),
              parse_layer("Conv1d(1, 1, 3, padding=1)")]
    claim = support_claim(layers, [1, 1, 12], [2])  # the first layer has 3 units: 0..2
    assert claim["support"] == [[3, 10]]  # never cell 11, which a 4th unit would read
    for b in _backends():
        assert check_claim(claim, b).ok


GOOD = support_claim([parse_layer("Conv1d(1, 2, 3, stride=2)"), parse_layer("MaxPool1d(2)")],
                     [1, 1, 20], [1])


@pytest.mark.parametrize(("over", "why"), [
    ({"layers": [{"type": "Linear", "args": {"in_features": 2, "out_features": 2}}]},
     "Conv, MaxPool and AvgPool"),
    ({"layers": [{"type": "MaxPool1d", "args": {"kernel_size": 2, "dilation": 2}}]},
     "dilation 1"),
    ({"input_shape": [1, 20]}, "batched"),
    ({"output_index": [40]}, "outside"),
    ({"output_index": [-1]}, "non-negative"),
    ({"support": [[1, 2], [1, 2]]}, "one per spatial dim"),
    ({"support": [[1.5, 2]]}, "[start, stop]"),
    ({"input_shape": [1, 1, 10**7]}, "too large"),
    ({"extra": 1}, "unknown keys"),
])
def test_malformed_claims_fail(over: dict[str, Any], why: str) -> None:
    claim = {**copy.deepcopy(GOOD), **over}
    for b in _backends():
        assert check_claim(GOOD, b).ok
        result = check_claim(claim, b)
        assert not result.ok and why in result.detail, (b, result.detail)


def test_the_builder_refuses_what_verify_refuses() -> None:
    with pytest.raises(ValueError, match="cannot build"):
        support_claim([parse_layer("Conv1d(1, 1, 3)")], [1, 1, 10], [8])
    with pytest.raises(ValueError, match="cannot build"):
        support_claim([parse_layer("Linear(4, 2)")], [1, 1, 4], [0])


_SCALARS = st.one_of(st.integers(-3, 12), st.sampled_from([None, True, "same", 2.5, 10**12]))
_LAYER = st.fixed_dictionaries({
    "type": st.sampled_from(["Conv1d", "Conv2d", "MaxPool1d", "AvgPool2d", "Linear",
                             "AdaptiveAvgPool1d", "Sequential"]),
    "args": st.dictionaries(st.sampled_from(["in_channels", "out_channels", "kernel_size",
                                             "stride", "padding", "dilation", "ceil_mode",
                                             "bogus"]),
                            st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3)), max_size=5)})
_CLAIM = st.fixed_dictionaries({
    "kind": st.just("support"), "layers": st.lists(_LAYER, max_size=3),
    "input_shape": st.lists(st.integers(-1, 12), max_size=5),
    "output_index": st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3)),
    "support": st.one_of(_SCALARS, st.lists(st.one_of(
        st.none(), st.lists(st.integers(-2, 12), max_size=3)), max_size=3))})


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(claim=_CLAIM)
def test_fuzzed_support_claims_never_raise(backend: str, claim: Any) -> None:
    result = check_claim(claim, backend)
    assert isinstance(result, ClaimCheck) and isinstance(result.detail, str)
