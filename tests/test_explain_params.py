"""The parameter and MAC writers: each works its count again from the facts it is given
and refuses facts that disagree with the solver's result."""

from __future__ import annotations

import pytest

from cardgen.explain.params import (
    groups_refused_text,
    groups_text,
    macs_tex,
    outputs_tex,
    params_tex,
    weight_shape_text,
)
from cardgen.layers import parse_layer
from cardgen.solver.params import mac_count, param_count


def test_weight_shape_follows_the_layer_kind() -> None:
    for text, kind in (("Conv2d(16, 32, 3, groups=4)", "conv"),
                       ("ConvTranspose2d(16, 32, 3, groups=4)", "conv_transpose")):
        layer = parse_layer(text)
        shape = param_count(layer).weight_shape
        said = weight_shape_text(kind, 16, 32, 4, (3, 3), shape)
        assert "x".join(map(str, shape)) in said
        with pytest.raises(ValueError):
            weight_shape_text(kind, 16, 32, 4, (3, 3), shape[::-1])


def test_params_tex_refuses_a_wrong_count() -> None:
    count = param_count(parse_layer("Conv2d(16, 32, 3, groups=4)"))
    text = params_tex(4, (3, 3), 32, True, count.weights, count.biases)
    assert str(count.total) in text and f"{count.biases} biases" in text
    with pytest.raises(ValueError):
        params_tex(4, (3, 3), 32, True, count.weights + 1, count.biases)
    with pytest.raises(ValueError):
        params_tex(4, (3, 3), 32, False, count.weights, count.biases)


def test_macs_writers_refuse_a_wrong_count() -> None:
    layer = parse_layer("Conv2d(8, 8, 3, padding=1, groups=8)")
    count = mac_count(layer, (1, 8, 6, 6))
    assert str(count.outputs) in outputs_tex(count.output_shape, count.outputs)
    assert str(count.macs) in macs_tex(count.outputs, 1, (3, 3), count.macs)
    with pytest.raises(ValueError):
        outputs_tex(count.output_shape, count.outputs + 1)
    with pytest.raises(ValueError):
        macs_tex(count.outputs, 1, (3, 3), count.macs - 1)


def test_groups_sentences_need_facts_that_hold() -> None:
    assert "depthwise" in groups_text(16, 32, 16)
    assert "groups of 4" in groups_text(16, 32, 4)
    with pytest.raises(ValueError):
        groups_text(16, 32, 1)
    with pytest.raises(ValueError):
        groups_text(64, 96, 5)
    assert "in_channels = 64" in groups_refused_text(64, 96, 5)
    assert "out_channels = 96" in groups_refused_text(64, 96, 64)
    with pytest.raises(ValueError):
        groups_refused_text(64, 96, 4)
