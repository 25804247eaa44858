"""`padding` claims: the zeros a conv pads before and after each dim (padding='same' with
an even kernel splits unevenly), checked by torch against an unpadded conv with the same
weights on the explicitly padded input."""

from __future__ import annotations

from typing import Any

import pytest

from cardgen.claims import check_claim, padding_claim, torch_available
from cardgen.layers import Layer

CASES = [
    ("Conv1d", {"kernel_size": 4, "dilation": 3, "padding": "same"}, (14,)),
    ("Conv1d", {"kernel_size": 2, "padding": "same"}, (5,)),
    ("Conv2d", {"kernel_size": (3, 4), "padding": "same"}, (7, 9)),
    ("Conv2d", {"kernel_size": 6, "dilation": (1, 2), "padding": "same"}, (12, 12)),
    ("Conv3d", {"kernel_size": (1, 2, 5), "padding": "same"}, (3, 4, 6)),
    ("Conv1d", {"kernel_size": 3, "padding": 2}, (8,)),
    ("Conv2d", {"kernel_size": 5, "padding": "valid"}, (9, 9)),
]


def backends() -> list[str]:
    return ["solver", "torch"] if torch_available() else ["solver"]


def claim_for(type_: str, kw: dict[str, Any], sizes: tuple[int, ...]) -> dict[str, Any]:
    layer = Layer.make(type_, in_channels=2, out_channels=3, **kw)
    return padding_claim(layer, (1, 2, *sizes))


@pytest.mark.parametrize(("type_", "kw", "sizes"), CASES)
def test_the_rule_holds_and_every_other_split_fails(type_: str, kw: dict[str, Any],
                                                    sizes: tuple[int, ...]) -> None:
    claim = claim_for(type_, kw, sizes)
    for b in backends():
        assert check_claim(claim, b).ok, (b, check_claim(claim, b))
    for dim in range(len(sizes)):
        for shift in (-1, 1):
            left = [v + (shift if i == dim else 0) for i, v in enumerate(claim["left"])]
            right = [v - (shift if i == dim else 0) for i, v in enumerate(claim["right"])]
            if min(left + right) < 0:
                continue
            moved = {**claim, "left": left, "right": right}
            assert not any(check_claim(moved, b).ok for b in backends()), moved


def test_even_kernel_same_puts_the_odd_zero_after() -> None:
    claim = claim_for("Conv1d", {"kernel_size": 4, "dilation": 3, "padding": "same"}, (14,))
    assert (claim["left"], claim["right"]) == ([4], [5])  # d(k-1) = 9: floor half first


@pytest.mark.parametrize(("over", "why"), [
    ({"layer": {"type": "MaxPool1d", "args": {"kernel_size": 2}}}, "Conv layers"),
    ({"left": [1, 2]}, "one per spatial dim"),
    ({"right": [-1]}, "between 0"),
    ({"input_shape": [1, 3, 6]}, "raises"),
])
def test_malformed_padding_claims_fail(over: dict[str, Any], why: str) -> None:
    claim = {**claim_for("Conv1d", {"kernel_size": 4, "padding": "same"}, (6,)), **over}
    for b in backends():
        result = check_claim(claim, b)
        assert not result.ok and why in result.detail, result.detail
