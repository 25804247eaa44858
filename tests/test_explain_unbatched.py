"""The unbatched-input writers and the solver's rank facts: each writer works its rule
again from the facts it is given and refuses facts that disagree with the solver."""

from __future__ import annotations

import pytest

from cardgen.errors import ShapeError
from cardgen.explain.unbatched import (
    flatten_pitfall_text,
    flatten_text,
    linear_batched_features_text,
    linear_last_dim_text,
    position_text,
    rank_text,
    spatial_read_text,
)
from cardgen.layers import parse_layer
from cardgen.solver import layer_step, output_shape
from cardgen.solver.ranks import accepted_ranks, dim_roles, flatten_span, is_unbatched


def _runs(text: str, shape: tuple[int, ...]) -> bool:
    try:
        layer_step(parse_layer(text), shape)
    except ShapeError:
        return False
    return True


@pytest.mark.parametrize("text", ["Conv1d(1, 4, 3)", "Conv2d(1, 4, 3)", "Conv3d(1, 4, 1)",
                                  "MaxPool1d(2)", "AvgPool2d(2)", "AdaptiveMaxPool3d(2)",
                                  "ConvTranspose2d(1, 2, 3)"])
def test_ranks_and_roles_agree_with_the_solver(text: str) -> None:
    """The rank facts the writers use are the ranks the solver runs (channels 1, sizes 4)."""
    layer = parse_layer(text)
    n = layer.ndim
    for rank in range(1, n + 4):
        shape = (1,) * max(rank - n, 0) + (4,) * min(rank, n)
        roles = dim_roles(layer, rank)
        assert (roles is not None) == _runs(text, shape) == (rank in accepted_ranks(layer))
        if roles is not None:
            assert roles[-n - 1] == "C" and len(roles) == rank
            assert is_unbatched(layer, shape) == (roles[0] == "C")


def test_rank_text_refuses_the_wrong_verdict() -> None:
    assert "one sample without a batch dim" in rank_text("Conv2d", 2, (3, 32, 32), True)
    assert "a batch" in rank_text("Conv2d", 2, (1, 3, 32, 32), True)
    assert "fewer than either" in rank_text("Conv2d", 2, (32, 32), False)
    assert "more than either" in rank_text("MaxPool1d", 1, (2, 3, 8, 8), False)
    for shape, verdict in (((3, 32, 32), False), ((32, 32), True), ((1, 2, 3, 8, 8), True)):
        with pytest.raises(ValueError):
            rank_text("Conv2d", 2, shape, verdict)


def test_position_and_spatial_texts_need_a_misread() -> None:
    said = position_text(("H", "W", "C"), ("C", "H", "W"), (32, 24, 3))
    assert "the H dim (32) as C" in said and "the C dim (3) as W" in said
    with pytest.raises(ValueError):
        position_text(("C", "H", "W"), ("C", "H", "W"), (3, 32, 24))
    with pytest.raises(ValueError):
        position_text(("H", "W"), ("C", "H", "W"), (3, 32, 24))
    assert "over the image's W and C" in spatial_read_text(("C", "H", "W"), ("H", "W", "C"),
                                                             2, "image")
    with pytest.raises(ValueError):
        spatial_read_text(("C", "H", "W"), ("C", "H", "W"), 2, "image")


@pytest.mark.parametrize(("text", "shape"), [("Flatten()", (8, 16, 16)),
                                             ("Flatten(0)", (8, 16, 16)),
                                             ("Flatten(1, 2)", (2, 8, 4, 4)),
                                             ("Flatten(-2)", (8, 4, 4))])
def test_flatten_text_follows_the_solver(text: str, shape: tuple[int, ...]) -> None:
    layer = parse_layer(text)
    out = output_shape(layer, shape)
    start, end = flatten_span(layer, len(shape))
    said = flatten_text(shape, start, end, out, "start_dim" not in layer.kwargs)
    assert f"= {out[start]}" in said
    wrong = out[:start] + (out[start] + 1,) + out[start + 1:]
    with pytest.raises(ValueError):
        flatten_text(shape, start, end, wrong, "start_dim" not in layer.kwargs)


def test_flatten_pitfall_only_for_flatten_on_an_unbatched_input() -> None:
    shape = (8, 16, 16)
    out = output_shape(parse_layer("Flatten()"), shape)
    assert "`8x256`, not one vector of 2048 values" in flatten_pitfall_text(shape, out)
    with pytest.raises(ValueError):
        flatten_pitfall_text(shape, output_shape(parse_layer("Flatten(0)"), shape))


def test_linear_texts_refuse_what_the_solver_does_not_say() -> None:
    layer = parse_layer("Linear(16, 4)")
    out = output_shape(layer, (8, 16, 16))
    assert "(`8x16`)" in linear_last_dim_text(16, (8, 16, 16), out)
    with pytest.raises(ValueError):
        linear_last_dim_text(16, (8, 16, 12), out)
    assert "the last dim is 256" in linear_batched_features_text((8, 16, 16), 2048)
    with pytest.raises(ValueError):
        linear_batched_features_text((8, 16, 16), 256)
