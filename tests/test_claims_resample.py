"""`shape` and `error` claims on the resamplers (resample.shape): Upsample, PixelShuffle/
PixelUnshuffle, Unfold/Fold and the padding modules. Expected shapes come from the
solver and are re-checked by torch; tampered claims fail with both backends."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from cardgen.claims import check_claim, error_claim, shape_claim, torch_available
from cardgen.cli import main
from cardgen.errors import LayerSyntaxError, ShapeError
from cardgen.families import get_family
from cardgen.layers import parse_layer
from cardgen.solver import output_shape


def backends() -> list[str]:
    return ["solver", "torch"] if torch_available() else ["solver"]


RUNS = [
    (["Upsample(scale_factor=1.5)"], [1, 3, 7, 8]),
    (["Upsample(scale_factor=(2, 0.75), mode='bilinear', align_corners=True)"], [2, 1, 5, 9]),
    (["Upsample(size=5, mode='linear')"], [1, 2, 3]),
    (["Upsample(scale_factor=2, mode='trilinear')"], [1, 1, 2, 3, 4]),
    (["PixelShuffle(3)"], [2, 18, 4, 5]),
    (["PixelShuffle(2)"], [8, 3, 3]),
    (["PixelUnshuffle(2)"], [1, 3, 4, 6]),
    (["Unfold((2, 3), stride=2, padding=1, dilation=(1, 2))"], [2, 3, 9, 10]),
    (["Unfold(3)"], [3, 5, 6]),
    (["Fold((4, 5), 2)"], [1, 12, 12]),
    (["ZeroPad2d((1, 2, 3, 4))"], [1, 1, 5, 5]),
    (["ConstantPad3d((1, 0, 2, 0, 0, 3), 0.5)"], [1, 2, 3, 3, 3]),
    (["ReflectionPad2d((4, 0, 1, 2))"], [1, 1, 5, 5]),
    (["ReplicationPad1d((9, 0))"], [2, 1]),
    (["Unfold(2, stride=2)", "Fold((6, 8), 2, stride=2)"], [1, 3, 7, 9]),
    (["ReflectionPad2d((1, 2, 0, 1))", "Conv2d(3, 4, 3, stride=2)"], [1, 3, 6, 7]),
]

REFUSED = [
    (["Upsample(scale_factor=0.25)"], [1, 1, 3, 8]),            # floor(3 * 0.25) = 0
    (["Upsample(scale_factor=(2, 2))"], [1, 1, 4]),             # 2 scales, 1 spatial dim
    (["Upsample(scale_factor=2, mode='bilinear')"], [1, 1, 4]),  # bilinear needs 4-D
    (["PixelShuffle(2)"], [1, 6, 3, 3]),                        # 6 % 4
    (["PixelUnshuffle(2)"], [1, 1, 4, 5]),                      # 5 % 2
    (["Unfold(4)"], [1, 1, 3, 8]),                              # no block fits
    (["Fold((4, 5), 2)"], [1, 12, 11]),                         # L = 12 blocks, not 11
    (["Fold((4, 5), 2)"], [1, 10, 12]),                         # 10 % (2 * 2)
    (["ReflectionPad2d((5, 0, 0, 0))"], [1, 1, 5, 5]),          # 5 is not < 5
    (["ReflectionPad1d(1)"], [1, 1, 1, 4]),                     # 4-D: not 2-D or 3-D
    (["ZeroPad3d(1)"], [4, 4]),                                 # 3 padded dims, 2-D
    (["Unfold(2, stride=2)", "Fold((8, 9), 2, stride=2)"], [1, 3, 6, 9]),
]


def _layers(texts: list[str]) -> list[Any]:
    return [parse_layer(t) for t in texts]


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize(("texts", "shape"), RUNS)
def test_shape_claims_hold_and_tampered_ones_fail(backend: str, texts: list[str],
                                                  shape: list[int]) -> None:
    claim = shape_claim(_layers(texts), shape)
    assert check_claim(claim, backend).ok, check_claim(claim, backend).detail
    for i in range(len(claim["output_shape"])):
        bad = copy.deepcopy(claim)
        bad["output_shape"][i] += 1
        assert not check_claim(bad, backend).ok


# refused when built (torch raises in forward on any input): claimed as JSON
REFUSED_BUILT = [
    {"type": "Upsample", "args": {"scale_factor": 2, "align_corners": False}},
    {"type": "Upsample", "args": {"size": 3, "scale_factor": 2}},
    {"type": "Upsample", "args": {}},
    {"type": "PixelShuffle", "args": {"upscale_factor": 0}},
    {"type": "Unfold", "args": {"kernel_size": 2, "stride": 0}},
]


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize(("texts", "shape"), REFUSED)
def test_error_claims_hold_where_torch_refuses(backend: str, texts: list[str],
                                               shape: list[int]) -> None:
    layers = _layers(texts)
    with pytest.raises(ShapeError):
        output_shape(layers, shape)
    result = check_claim(error_claim(layers, shape), backend)
    assert result.ok, result.detail
    with pytest.raises(ShapeError):  # a shape claim cannot be built on it
        shape_claim(layers, shape)


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("layer", REFUSED_BUILT)
def test_error_claims_on_layers_refused_when_built(backend: str, layer: Any) -> None:
    claim = {"kind": "error", "layers": [layer], "input_shape": [1, 1, 4, 4]}
    result = check_claim(claim, backend)
    assert result.ok, result.detail
    shaped = {**claim, "kind": "shape", "output_shape": [1, 1, 8, 8]}
    assert not check_claim(shaped, backend).ok


@pytest.mark.parametrize("backend", backends())
def test_an_error_claim_on_a_stack_that_runs_fails(backend: str) -> None:
    for texts, shape in RUNS:
        claim = {"kind": "error", "layers": [layer.to_json() for layer in _layers(texts)],
                 "input_shape": shape}
        assert not check_claim(claim, backend).ok, texts
    with pytest.raises(ValueError, match="not an error"):
        error_claim(_layers(RUNS[0][0]), RUNS[0][1])


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("layer", [
    {"type": "ZeroPad2d", "args": {"padding": [-1, 0, 0, 0]}},     # a crop: not supported
    {"type": "ZeroPad2d", "args": {"padding": [1, 2]}},            # 2 entries for 2 dims
    {"type": "ZeroPad3d", "args": {"padding": [1, 2, 3, 4, 5, 6, 7]}},
    {"type": "Upsample", "args": {"scale_factor": 2, "mode": "area"}},
    {"type": "Upsample", "args": {"scale_factor": 2, "recompute_scale_factor": True}},
    {"type": "Upsample", "args": {"scale_factor": 5000}},
    {"type": "Upsample", "args": {"scale_factor": True}},
    {"type": "ConstantPad1d", "args": {"padding": 1, "value": "x"}},
    {"type": "PixelShuffle", "args": {"upscale_factor": 2.0}},
])
def test_unsupported_arguments_fail_with_both_backends(backend: str, layer: Any) -> None:
    for kind in ("shape", "error"):
        claim: dict[str, Any] = {"kind": kind, "layers": [layer], "input_shape": [1, 1, 4, 4]}
        if kind == "shape":
            claim["output_shape"] = [1, 1, 8, 8]
        assert not check_claim(claim, backend).ok


@pytest.mark.parametrize("backend", backends())
def test_oversized_resamples_are_refused_before_torch_runs(backend: str) -> None:
    claim = {"kind": "shape", "layers": [{"type": "Upsample", "args": {"scale_factor": 1000}}],
             "input_shape": [1, 1, 100, 100], "output_shape": [1, 1, 100000, 100000]}
    result = check_claim(claim, backend)
    assert not result.ok and "too large" in result.detail


def test_the_torch_bound_holds_without_the_solver() -> None:
    """The torch backend's a-priori bound on the new layers is an upper bound of what
    torch allocates, on every golden-like case here (it does not trust the solver)."""
    from cardgen.claims.check_torch import _loose_bound

    for texts, shape in RUNS:
        current = tuple(shape)
        for layer in _layers(texts):
            bound = _loose_bound(layer, current)
            out = output_shape([layer], current)
            assert bound is not None and bound[0] >= __import__("math").prod(out), layer
            current = out


def test_parser_takes_floats_only_where_torch_takes_them() -> None:
    assert parse_layer("nn.Upsample(scale_factor=0.5)").get("scale_factor") == 0.5
    assert parse_layer("ConstantPad2d(1, -1.5)").get("value") == -1.5
    for text in ("PixelShuffle(1.5)", "Unfold(2.0)", "ZeroPad2d(1.0)", "Fold(4.0, 2)"):
        with pytest.raises(LayerSyntaxError):
            parse_layer(text)


def test_cli_solve_shows_each_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "ZeroPad2d((1, 2, 3, 4))", "Unfold(3, stride=2)",
                 "--input", "1,3,8,9"]) == 0
    out = capsys.readouterr().out
    assert "H: 8 + 3 + 4 = 15" in out and "W: 9 + 1 + 2 = 12" in out
    final = output_shape(_layers(["ZeroPad2d((1, 2, 3, 4))", "Unfold(3, stride=2)"]),
                         [1, 3, 8, 9])
    assert "C*kH*kW: 3 * 3 * 3 = 27" in out and f"output {'x'.join(map(str, final))}" in out
    assert main(["solve", "PixelShuffle(2)", "--input", "1,6,3,3"]) == 2
    assert "not divisible by upscale_factor^2 = 4" in capsys.readouterr().err


def test_family_claims_hold_with_both_backends() -> None:
    family = get_family("resample.shape")
    rng = random.Random(5)
    for level in family.LEVELS:
        for _ in range(15):
            sol = family.solve(family.generate(rng, level))
            for claim in sol.claims:
                for backend in backends():
                    assert check_claim(claim, backend).ok, (backend, claim)
