"""The receptive-field writers refuse facts that disagree with their own working."""

from __future__ import annotations

import pytest

from cardgen.explain.receptive import jump_tex, size_step_tex, walk_step_tex
from cardgen.solver.receptive import Row, Tap, field_rows


def test_size_step_writes_the_recurrence_and_refuses_a_wrong_row() -> None:
    t = Tap(kernel=3, stride=2, left=0, dilation=2)
    before = Row(5, 4)
    after = field_rows([Tap(5, 4, 0, 1), t])[-1]
    text = size_step_tex(2, t, before, after)
    assert f"= {after.size}" in text and f"= {after.jump}" in text
    with pytest.raises(ValueError):
        size_step_tex(2, t, before, Row(after.size + 1, after.jump))
    with pytest.raises(ValueError):
        size_step_tex(2, t, before, Row(after.size, after.jump * 2))


def test_jump_is_the_product_of_the_strides() -> None:
    assert "= 12" in jump_tex([2, 1, 3, 2], 12)
    with pytest.raises(ValueError):
        jump_tex([2, 1, 3, 2], 6)


def test_walk_step_clips_at_the_edges_and_refuses_another_range() -> None:
    t = Tap(kernel=3, stride=2, left=1, dilation=1)
    text = walk_step_tex(t, 10, (0, 5), (0, 10))  # units 0..4 read -1..9: -1 is padding
    assert "\\max" in text and "\\min" not in text
    with pytest.raises(ValueError):
        walk_step_tex(t, 10, (0, 5), (1, 10))
    # unit 0 with no padding starts at cell 0: one value, not "0 = 0"
    assert "= 0 = 0" not in walk_step_tex(Tap(3, 1, 0, 1), 10, (0, 1), (0, 3))
    with pytest.raises(ValueError):  # a dilated window skips cells: not this walk
        walk_step_tex(Tap(3, 1, 1, 2), 10, (0, 2), (0, 5))
