"""`unpool` claims: MaxPool(return_indices=True) then MaxUnpool, on every input of a
shape. torch runs a rising and a falling input; the solver works the default size, the
output_size range and the indices' range. Tampered and malformed claims fail with either
backend; fuzzed ones never raise."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardgen.claims import ClaimCheck, check_claim, torch_available, unpool_claim
from cardgen.errors import ShapeError
from cardgen.layers import Layer, unpool_layer


def backends() -> list[str]:
    return ["solver", "torch"] if torch_available() else ["solver"]


def _pool(nd: int, **args: Any) -> Layer:
    return Layer.make(f"MaxPool{nd}d", **args)


def _unpool(nd: int, **args: Any) -> Layer:
    return unpool_layer({"type": f"MaxUnpool{nd}d", "args": args})


def random_cases(seed: int, n: int) -> list[tuple[Layer, Layer, list[int], Any]]:
    """Pool and unpool 1-3d (own kernel, stride, padding; ceil mode), with and without
    output_size, kept where the outcome does not depend on the input."""
    rng = random.Random(seed)
    out: list[tuple[Layer, Layer, list[int], Any]] = []
    while len(out) < n:
        nd = rng.randint(1, 3)
        k = rng.randint(1, 3)
        pool = _pool(nd, kernel_size=k, stride=rng.randint(1, 3),
                     padding=rng.randint(0, k // 2), ceil_mode=rng.random() < 0.3)
        un = _unpool(nd, kernel_size=rng.randint(1, 3), stride=rng.randint(1, 3),
                     padding=rng.randint(0, 1))
        shape = [1, rng.randint(1, 2)] + [rng.randint(2, {1: 12, 2: 7, 3: 4}[nd])] * nd
        size = None if rng.random() < 0.4 else [rng.randint(1, 14) for _ in range(nd)]
        try:
            unpool_claim(pool, un, shape, size)
        except (ValueError, ShapeError):
            continue
        out.append((pool, un, shape, size))
    return out


@pytest.mark.parametrize("case", random_cases(3, 40), ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_unpool_claims_hold_and_tampered_ones_fail(case: Any) -> None:
    pool, un, shape, size = case
    claim = unpool_claim(pool, un, shape, size)
    for b in backends():
        assert check_claim(claim, b).ok, (b, check_claim(claim, b))
    out = claim["output_shape"]
    tampered = [{**claim, "output_shape": [1, 1, 3] if out is None else None}]
    if out is not None:
        tampered.append({**claim, "output_shape": out[:-1] + [out[-1] + 1]})
    for bad in tampered:
        for b in backends():
            assert not check_claim(bad, b).ok, (b, bad)


def test_the_documented_example_and_its_outcomes() -> None:
    """MaxPool1d(2) on length 7 gives 3, and MaxUnpool1d(2)'s default (3-1)*2 + 2 = 6:
    the input's 7 comes back only with output_size; 4 and 8 are outside (4, 8); 5 is
    inside, but a rising input's last window picks index 5, past 5 cells."""
    pool, un = _pool(1, kernel_size=2), _unpool(1, kernel_size=2)
    assert unpool_claim(pool, un, [1, 1, 7])["output_shape"] == [1, 1, 6]
    assert unpool_claim(pool, un, [1, 1, 7], [7])["output_shape"] == [1, 1, 7]
    for refused in ([4], [8]):
        assert unpool_claim(pool, un, [1, 1, 7], refused)["output_shape"] is None
    with pytest.raises(ValueError, match="some inputs only"):
        unpool_claim(pool, un, [1, 1, 7], [5])
    depends = {**unpool_claim(pool, un, [1, 1, 7], [6]), "output_size": [5]}
    for b in backends():
        assert not check_claim(depends, b).ok
        assert not check_claim({**depends, "output_shape": None}, b).ok


GOOD = unpool_claim(_pool(2, kernel_size=2), _unpool(2, kernel_size=2), [1, 3, 5, 5], [5, 5])


@pytest.mark.parametrize(("over", "why"), [
    ({"extra": 1}, "unknown keys"),
    ({"pool": {"type": "MaxPool2d", "args": {"kernel_size": 2}}}, "return_indices"),
    ({"pool": {"type": "AvgPool2d", "args": {"kernel_size": 2, "return_indices": True}}},
     "takes a MaxPool"),
    ({"pool": {"type": "MaxPool2d", "args": {"kernel_size": 2, "dilation": 2,
                                             "return_indices": True}}}, "dilation 1"),
    ({"unpool": {"type": "MaxUnpool1d", "args": {"kernel_size": 2}}}, "does not match"),
    ({"unpool": {"type": "MaxPool2d", "args": {"kernel_size": 2}}}, "unknown layer type"),
    ({"unpool": {"type": "MaxUnpool2d", "args": {"kernel_size": 2, "bogus": 1}}},
     "unexpected keyword"),
    ({"input_shape": [3, 5, 5]}, "batched"),
    ({"input_shape": [1, 1, 1000, 1000]}, "too large"),
    ({"output_size": [5]}, "output_size"),
    ({"output_size": [10**6, 10**6]}, "too large"),
    ({"unpool": {"type": "MaxUnpool2d", "args": {"kernel_size": 5000}}}, "too large"),
    ({"output_shape": [1, 3, 4, 4]}, "claimed"),
    # a pool cardgen refuses (torch too): the claim can only say the unpool raises
    ({"pool": {"type": "MaxPool2d", "args": {"kernel_size": 0, "return_indices": True}}},
     "claimed"),
    ({"pool": {"type": "MaxPool2d", "args": {"kernel_size": 2, "padding": 2,
                                             "return_indices": True}}}, "claimed"),
])
def test_malformed_claims_fail(over: dict[str, Any], why: str) -> None:
    claim = {**copy.deepcopy(GOOD), **over}
    for b in backends():
        assert check_claim(GOOD, b).ok
        result = check_claim(claim, b)
        assert not result.ok and why in result.detail, (b, result.detail)


def test_a_refused_pool_makes_an_error_claim_hold() -> None:
    for args in ({"kernel_size": 0}, {"kernel_size": 2, "padding": 2}):
        claim = {**copy.deepcopy(GOOD), "output_shape": None,
                 "pool": {"type": "MaxPool2d", "args": {**args, "return_indices": True}}}
        for b in backends():
            assert check_claim(claim, b).ok, (b, check_claim(claim, b))


def test_maxunpool_is_no_stack_layer() -> None:
    """A plain stack cannot feed MaxUnpool its indices: the layer parser refuses it."""
    from cardgen.errors import LayerSyntaxError
    from cardgen.layers import parse_layer

    with pytest.raises(LayerSyntaxError, match="unknown layer"):
        parse_layer("nn.MaxUnpool2d(2)")
    shape_claim = {"kind": "shape", "layers": [GOOD["unpool"]], "input_shape": [1, 1, 4, 4],
                   "output_shape": [1, 1, 8, 8]}
    for b in backends():
        assert not check_claim(shape_claim, b).ok


_SCALARS = st.one_of(st.integers(-3, 9), st.sampled_from([None, True, False, "x", 2.5,
                                                         2**31 - 1, 10**12]))
_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, min_size=0, max_size=4))
_ARGS = st.dictionaries(st.sampled_from(["kernel_size", "stride", "padding", "ceil_mode",
                                         "return_indices", "dilation", "bogus"]),
                        _VALUES, max_size=5)
_CLAIM = st.fixed_dictionaries({
    "kind": st.just("unpool"),
    "pool": st.fixed_dictionaries({"type": st.sampled_from(["MaxPool1d", "MaxPool2d",
                                                            "AvgPool1d", "Nope"]),
                                   "args": _ARGS}),
    "unpool": st.fixed_dictionaries({"type": st.sampled_from(["MaxUnpool1d", "MaxUnpool2d",
                                                              "MaxPool1d"]),
                                     "args": _ARGS}),
    "input_shape": st.lists(st.integers(-1, 9), max_size=5),
    "output_size": st.one_of(st.none(), st.lists(st.integers(-2, 20), max_size=4)),
    "output_shape": st.one_of(st.none(), st.lists(st.integers(-1, 20), max_size=5))})


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(claim=_CLAIM)
def test_fuzzed_unpool_claims_never_raise(backend: str, claim: Any) -> None:
    result = check_claim(claim, backend)
    assert isinstance(result, ClaimCheck) and isinstance(result.detail, str)


def test_the_builder_refuses_what_the_parser_refuses() -> None:
    """unpool_claim parses the claim it builds: a dilated pool, an input past the limits
    or an unbatched input is refused before any work."""
    un = _unpool(1, kernel_size=2)
    for pool, shape in ((_pool(1, kernel_size=2, dilation=2), [1, 1, 7]),
                        (_pool(1, kernel_size=2), [1, 1, 10**6]),
                        (_pool(1, kernel_size=2), [1, 7])):
        with pytest.raises(ValueError, match="cannot build"):
            unpool_claim(pool, un, shape)


_POOL_ARGS = st.builds(lambda a: {**a, "return_indices": True}, _ARGS)
_CLOSE_CLAIM = st.fixed_dictionaries({
    "kind": st.just("unpool"),
    "pool": st.fixed_dictionaries({"type": st.sampled_from(["MaxPool1d", "MaxPool2d"]),
                                   "args": _POOL_ARGS}),
    "unpool": st.fixed_dictionaries({"type": st.sampled_from(["MaxUnpool1d", "MaxUnpool2d"]),
                                     "args": _ARGS}),
    "input_shape": st.lists(st.integers(1, 9), min_size=3, max_size=4),
    "output_size": st.one_of(st.none(), st.lists(st.integers(-2, 20), max_size=4)),
    "output_shape": st.one_of(st.none(), st.lists(st.integers(0, 20), max_size=4))})


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(claim=_CLOSE_CLAIM)
def test_fuzzed_claims_near_valid_ones_never_raise(backend: str, claim: Any) -> None:
    """Pools that return their indices, with odd arguments: parsed and checked, never a
    crash."""
    result = check_claim(claim, backend)
    assert isinstance(result, ClaimCheck) and isinstance(result.detail, str)
