"""families.base.layer_from_text: the generators' layer texts bound without Python's
parser give parse_layer's Layer, or its error, for every text."""

from __future__ import annotations

import random

import pytest

from cardgen.families import network_stack, network_trace
from cardgen.families.base import layer_from_text
from cardgen.layers import parse_layer

EDGES = [
    "Conv2d(3, 6, 5)", "nn.Conv2d(3, 6, 5)", " Conv2d(3, 6, 5)", "Conv2d(3, 6, 05)",
    "Conv2d(3,6,5)", "Conv2d(3, 6, 5, stride=2, stride=3)", "Conv2d(stride=2, 3, 6, 5)",
    "Conv2d(3, 6, 5,)", "Conv2d(3, 6, 0)", "Conv2d(3, 6, -1)", "Flatten(start_dim=1, end_dim=-1)",
    "Flatten(0, -0)", "MaxPool2d(2, ceil_mode=True)", "MaxPool2d(2, 2, 0, 1, False, True)",
    "Foo(1)", "Linear(1_000, 3)", "Conv2d(3, 6, 5, bias=False)", "Conv2d(3, 6, 5, foo=1)",
    "Conv2d(3, 6)", "Conv2d(3, 6, 5, 1, 2, 3, 4, 5, 6, 7, 8)", "Linear(True, 2)", "Flatten()",
    "Conv2d()", "Conv2d(3, 6, 5, groups=4)", "Conv2d(4, 6, 3, groups=4)", "Conv2d(a__b=1)",
    "Conv2d(3, 6, 5, in_channels=3)", "Conv2d(3, 6, 5, padding='same')", "Conv2d(3, 6, (3, 5))",
    "Conv2d(3, 6, 5, lambda=1)", "Conv2d(3, 6, 5, match=1)", "Conv2d(3, 6, 5))",
    "Conv2d(3, (6), 5)", "Conv2d(3, 6, 5)\n", "Conv2d(3, 6, 5,  stride=2)",
]


def _outcome(parse, text: str) -> tuple[str, object]:
    try:
        layer = parse(text)
    except Exception as exc:  # noqa: BLE001 (the error itself is compared)
        return type(exc).__name__, str(exc)
    return "ok", (layer, layer.args, str(layer))


def _generated() -> set[str]:
    texts = {t for _, layers, _ in network_stack.EXAMPLES.values() for t in layers}
    rng = random.Random(3)
    for blocks in network_trace.BLOCKS.values():
        for block in blocks:
            for _ in range(40):
                texts.update(block(rng)[0])
    return texts


@pytest.mark.parametrize("text", EDGES + sorted(_generated()))
def test_layer_from_text_is_parse_layer(text: str) -> None:
    assert _outcome(layer_from_text, text) == _outcome(parse_layer, text)
