"""The pooling-option writers work the numbers again and refuse solver facts that
disagree with them; what they write holds for torch's numbers (via the solver, which the
golden vectors check)."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from cardgen.explain import pool_options as ex
from cardgen.layers import parse_layer, unpool_layer
from cardgen.solver.pool_options import avg_divisor, unpool


def _last(layer_text: str, size: int) -> tuple[object, int]:
    layer = parse_layer(layer_text)
    from cardgen.solver import output_shape

    out = output_shape(layer, (1, 1, size))[2]
    return avg_divisor(layer, [size], [out - 1]), out - 1


def test_the_hanging_window_is_described_and_its_divisor_stops_at_the_padding() -> None:
    d, i = _last("AvgPool1d(3, stride=2, padding=1, ceil_mode=True)", 6)
    w = d.windows[0]
    text = ex.window_text(w, i, 3, 2)
    assert "1 of right padding" in text and "1 past the end of the padded input" in text
    said = ex.divisor_text(d, [3], [2], [i])
    assert f"= {d.divisor} " in said and "not cells past the end of the padded input" in said
    with pytest.raises(ValueError, match="window"):
        ex.window_text(dataclasses.replace(w, start=w.start + 1), i, 3, 2)
    with pytest.raises(ValueError, match="divisor|count"):
        ex.divisor_text(dataclasses.replace(d, windows=(dataclasses.replace(w, end=w.end + 1),)),
                     [3], [2], [i])


def test_value_and_override_writers_refuse_a_wrong_value() -> None:
    assert ex.value_tex("y_0", [4, 7], 3, Fraction(11, 3)).endswith(
        r"&= \tfrac{11}{3} \end{aligned} \]")
    with pytest.raises(ValueError, match="value"):
        ex.value_tex("y_0", [4, 7], 3, Fraction(11, 2))
    layer = parse_layer("AvgPool2d(3, padding=1, divisor_override=5)")
    d = avg_divisor(layer, [4, 4], [0, 0])
    assert "divisor is 5" in ex.divisor_text(d, [3, 3], [3, 3], [0, 0], ["H", "W"])


def test_unpool_writers_refuse_facts_that_disagree() -> None:
    pool = parse_layer("MaxPool1d(2)")
    un = unpool_layer({"type": "MaxUnpool1d", "args": {"kernel_size": 2}})
    u = unpool(pool, un, [1, 1, 7], [7])
    tex = ex.unpool_default_tex(u, [2], [2], [0], ["L"])
    assert "(3 - 1)\\cdot2 \\\\ &\\quad - 2\\cdot0 + 2 \\\\" in tex
    assert tex.endswith("&= 6 \\end{aligned} \\]")
    assert "accepts" in ex.unpool_range_text(u, [2], ["L"])
    assert "5 < 7" in ex.unpool_index_text(u, 7)  # cell 6 is in no window
    with pytest.raises(ValueError, match="default"):
        ex.unpool_default_tex(dataclasses.replace(u, default=(7,)), [2], [2], [0], ["L"])
    with pytest.raises(ValueError, match="accepted"):
        ex.unpool_range_text(dataclasses.replace(u, refused="range"), [2], ["L"])
    refused = unpool(pool, un, [1, 1, 7], [8])
    assert "raises ValueError" in ex.unpool_range_text(refused, [2], ["L"])
    with pytest.raises(ValueError):
        ex.unpool_index_text(refused, 7)
    with pytest.raises(ValueError, match="some inputs"):
        ex.unpool_index_text(unpool(pool, un, [1, 1, 7], [5]), 7)
