"""The resamplers' writers: each works its rule again and refuses facts that disagree,
so a card never shows a rule that does not give its answer."""

from __future__ import annotations

import pytest

from cardgen.explain.resample import (
    fold_steps,
    number,
    pad_steps,
    pixel_shuffle_tex,
    pixel_unshuffle_tex,
    reflect_fits_text,
    resample_formulas,
    shuffle_refused_text,
    unfold_steps,
    unshuffle_refused_text,
    upsample_refused_text,
    upsample_scale_tex,
)
from cardgen.layers import parse_layer
from cardgen.solver import output_shape


def test_upsample_floor_rows_and_refusal() -> None:
    out = output_shape(parse_layer("Upsample(scale_factor=0.75)"), [1, 1, 9, 8])
    text = upsample_scale_tex(["H", "W"], [9, 8], [0.75, 0.75], out[2:])
    assert "\\lfloor 6.75 \\rfloor = 6" in text and "rounds down" in text
    with pytest.raises(ValueError):
        upsample_scale_tex(["H"], [9], [0.75], [7])
    assert "raises an error" in upsample_refused_text("H", 3, 0.25)
    with pytest.raises(ValueError):
        upsample_refused_text("H", 4, 0.25)
    with pytest.raises(ValueError):
        number(1 / 3)  # no short exact decimal: never shown as if it were one


def test_shuffle_writers_check_the_shape_and_divisibility() -> None:
    out = output_shape(parse_layer("PixelShuffle(2)"), [1, 12, 3, 5])
    assert "12 / 4 = 3" in pixel_shuffle_tex(12, 3, 5, 2, out[1:])
    with pytest.raises(ValueError):
        pixel_shuffle_tex(12, 3, 5, 2, (3, 6, 11))
    back = output_shape(parse_layer("PixelUnshuffle(2)"), [1, 3, 6, 10])
    assert "10 / 2 = 5" in pixel_unshuffle_tex(3, 6, 10, 2, back[1:])
    with pytest.raises(ValueError):
        pixel_unshuffle_tex(3, 6, 9, 3, (27, 2, 4))
    with pytest.raises(ValueError):
        shuffle_refused_text(8, 2)
    with pytest.raises(ValueError):
        unshuffle_refused_text("W", 6, 2)


def test_unfold_and_fold_steps_count_blocks() -> None:
    layer = parse_layer("Unfold((2, 3), stride=2)")
    out = output_shape(layer, [1, 3, 7, 9])
    steps = unfold_steps(3, (7, 9), (2, 3), (2, 2), (0, 0), (1, 1), out[1], out[2])
    assert any(f"= {out[2]}" in s for s in steps)
    with pytest.raises(ValueError):
        unfold_steps(3, (7, 9), (2, 3), (2, 2), (0, 0), (1, 1), out[1], out[2] + 1)
    fold = output_shape(parse_layer("Fold((6, 9), (2, 3), stride=2)"), list(out))
    assert fold_steps(out[1], out[2], (6, 9), (2, 3), (2, 2), (0, 0), (1, 1), fold[1])
    refused = fold_steps(out[1], out[2] + 1, (6, 9), (2, 3), (2, 2), (0, 0), (1, 1), None)
    assert "raises an error" in refused[-1]
    with pytest.raises(ValueError):  # the solver says it runs, the rule says no
        fold_steps(out[1], out[2] + 1, (6, 9), (2, 3), (2, 2), (0, 0), (1, 1), 3)


def test_pad_steps_read_the_tuple_last_dim_first() -> None:
    layer = parse_layer("ZeroPad2d((1, 2, 3, 4))")
    out = output_shape(layer, [1, 1, 5, 6])
    steps = pad_steps(layer.type, (1, 2, 3, 4), ["H", "W"], [5, 6], out[2:])
    assert "W before, W after, H before, H after" in steps[0]
    assert "5 + 3 + 4" in steps[1] and "6 + 1 + 2" in steps[1]
    with pytest.raises(ValueError):  # read first dim first: the wrong sizes
        pad_steps(layer.type, (1, 2, 3, 4), ["H", "W"], [5, 6], (8, 13))
    assert "raises" in reflect_fits_text(["H", "W"], [5, 6], [(3, 4), (1, 6)])
    assert "it runs" in reflect_fits_text(["H", "W"], [5, 6], [(3, 4), (1, 2)])


def test_solve_formulas_refuse_another_shape() -> None:
    layer = parse_layer("ReplicationPad1d((2, 5))")
    assert resample_formulas(layer, (1, 1, 4), (1, 1, 11)) == ("L: 4 + 2 + 5 = 11",)
    with pytest.raises(ValueError):
        resample_formulas(layer, (1, 1, 4), (1, 1, 10))
