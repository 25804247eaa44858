"""The solver against live PyTorch on random configurations (hypothesis).

Skipped without torch, except under CARDGEN_REQUIRE_ALL=1 where that fails.
For every configuration: torch's output shape or error must equal the solver's;
for pools also the windows (dilation 1, from one-hot inputs) and the values on
small random integer tensors. At least 2,000 distinct configurations per layer
kind, across 1d/2d/3d. Excluded by design (the solver refuses on purpose):
adaptive output_size 0, zero-size inputs, padding_mode, return_indices.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import require
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cardgen.errors import CardgenError
from cardgen.layers import Layer
from cardgen.solver import forward, output_shape, pool_windows, to_nested

torch: Any = None  # set by the _torch fixture: a missing torch skips (or, in CI, fails) each test

DISTINCT = 2000  # configurations per layer kind, at least
EXAMPLES = 2600  # hypothesis repeats some draws
MAX_VALUE_CELLS = 1000  # values are compared on outputs up to this size (exact solver is slow)


Json = dict[str, Any]

pytestmark = pytest.mark.filterwarnings("ignore")  # torch's UserWarnings on odd configs


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True, scope="module")
def _torch():
    global torch
    torch = require("torch", reason="the live cross-check of the solver against PyTorch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only cost
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ torch side

def _module(layer: Json) -> Any:
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in layer["args"].items()}
    return getattr(torch.nn, layer["type"])(**args)


def torch_run(layers: list[Json], x: Any) -> Any:
    """torch's output tensor, or None when torch refuses (building or running)."""
    try:
        with torch.no_grad():
            for layer in layers:
                x = _module(layer).to(x.dtype)(x)
        return x
    except (RuntimeError, ValueError, TypeError, IndexError):
        return None


def torch_shape(layer: Json, shape: list[int]) -> list[int] | None:
    x = torch.zeros(shape)
    y = torch_run([layer], x)
    if layer["type"].startswith("Conv"):
        # The reference is torch's native kernels: they (and the meta device) refuse a
        # ConvTranspose output size of 0, where oneDNN returns an empty batched tensor.
        with torch.backends.mkldnn.flags(enabled=False):
            native = torch_run([layer], x)
        if (y is None) != (native is None):
            assert native is None and y.numel() == 0, (layer, shape)
        y = native
    return None if y is None else list(y.shape)


def torch_windows(layer: Json, shape: list[int]) -> list[list[list[int]]]:
    """Per dim, [start, stop) of what each output index reads: one-hot inputs in the batch."""
    nd = int(layer["type"][-2])
    spatial = shape[-nd:]
    result = []
    for d, size in enumerate(spatial):
        x = torch.zeros([size, 1] + spatial, dtype=torch.float64)
        for j in range(size):
            index: list[Any] = [j, 0] + [slice(None)] * nd
            index[2 + d] = j
            x[tuple(index)] = 1.0
        y = torch_run([layer], x)
        assert y is not None
        others = [0] * nd
        dim = []
        for i in range(y.shape[2 + d]):
            others[d] = i
            column = y[(slice(None), 0) + tuple(others)].tolist()
            cells = [j for j, v in enumerate(column) if v > 0]
            assert cells == list(range(cells[0], cells[-1] + 1)), (layer, shape, cells)
            dim.append([cells[0], cells[-1] + 1])
        result.append(dim)
    return result


# ------------------------------------------------------------------ the comparison

def solver_shape(layer: Json, shape: list[int]) -> list[int] | None:
    try:
        return list(output_shape(Layer.from_json(layer), shape))
    except CardgenError:
        return None


def check(layer: Json, shape: list[int], seed: int = 0, small: bool = True) -> None:
    want = torch_shape(layer, shape)
    assert solver_shape(layer, shape) == want, f"torch gives {want or 'an error'}"
    if want is None or not small or "Pool" not in layer["type"]:
        return
    solver_layer = Layer.from_json(layer)
    dilation = layer["args"].get("dilation", 1)
    if set(dilation if isinstance(dilation, list) else [dilation]) == {1}:
        got = [[list(w) for w in dim] for dim in pool_windows(solver_layer, shape)]
        assert got == torch_windows(layer, shape), "windows differ"
    if math.prod(want) > MAX_VALUE_CELLS:
        return
    x = torch.randint(-9, 10, shape, generator=torch.Generator().manual_seed(seed))
    expected = torch_run([layer], x.to(torch.float64))
    got_values = np.array(to_nested(forward([solver_layer], x.tolist())), dtype=float)
    assert np.allclose(got_values, expected.numpy(), rtol=1e-5, atol=1e-6), "values differ"


def run_property(strategy: st.SearchStrategy, examples: int = EXAMPLES,
                 checker: Callable[..., None] = check) -> None:
    """Run ``checker`` on ``examples`` draws and assert >= DISTINCT distinct configurations."""
    seen: set[str] = set()

    @_settings(examples)
    @given(strategy)
    def prop(example: tuple[Any, ...]) -> None:
        seen.add(json.dumps(example[:2], sort_keys=True))
        checker(*example)

    prop()
    assert len(seen) >= DISTINCT, f"only {len(seen)} distinct configurations"


# ------------------------------------------------------------------ strategies

def per_dim(draw: Any, nd: int, lo: int, hi: int) -> Any:
    """An int, or a list of one per dim (as Layer JSON spells tuples)."""
    if nd > 1 and draw(st.booleans()):
        return draw(st.lists(st.integers(lo, hi), min_size=nd, max_size=nd))
    return draw(st.integers(lo, hi))


@st.composite
def spatial_input(draw: Any, nd: int, channels: int, big_ok: bool = True
                  ) -> tuple[list[int], bool, list[int]]:
    """(input shape, small, spatial sizes): sizes 1..14 (3d: 1..6), sometimes one dim up to
    10^5; now and then a wrong channel count or rank."""
    hi = {1: 14, 2: 10, 3: 6}[nd]
    spatial = draw(st.lists(st.integers(1, hi), min_size=nd, max_size=nd))
    big = big_ok and draw(st.integers(0, 9)) == 0
    if big:
        spatial = [1] * nd
        spatial[draw(st.integers(0, nd - 1))] = draw(st.integers(100, 100_000))
        channels = draw(st.sampled_from([channels, 1]))
    if not big and draw(st.integers(0, 24)) == 0:
        channels += 1  # wrong channel count
    lead = draw(st.sampled_from([[1, channels], [2, channels], [channels]]))
    shape = lead + spatial
    if draw(st.integers(0, 15)) == 0:  # another rank: too few dims, or extra leading ones
        cut = draw(st.integers(1, len(shape)))
        shape = shape[cut:] if draw(st.booleans()) else [1] * cut + shape
    return shape, not big, spatial


@st.composite
def conv_configs(draw: Any, transpose: bool) -> tuple[Json, list[int], int, bool]:
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    args: Json = {"in_channels": cin, "out_channels": cout,
                  "kernel_size": per_dim(draw, nd, 1, 6), "stride": per_dim(draw, nd, 1, 4),
                  "dilation": per_dim(draw, nd, 1, 3)}
    if groups > 1:
        args["groups"] = groups
    if transpose:
        args["padding"] = per_dim(draw, nd, 0, 4)
        args["output_padding"] = per_dim(draw, nd, 0, 3)
    else:
        if draw(st.integers(0, 3)):
            args["padding"] = per_dim(draw, nd, 0, 4)
        else:
            args["padding"] = draw(st.sampled_from(["same", "valid"]))
        if args["padding"] == "same" and draw(st.integers(0, 4)):
            args["stride"] = 1
    if draw(st.booleans()):
        args["bias"] = False
    shape, small, _ = draw(spatial_input(nd, cin))
    type_ = f"{'ConvTranspose' if transpose else 'Conv'}{nd}d"
    return {"type": type_, "args": args}, shape, 0, small


@st.composite
def pool_configs(draw: Any, kind: str) -> tuple[Json, list[int], int, bool]:
    nd = draw(st.integers(1, 3))
    args: Json = {"kernel_size": per_dim(draw, nd, 1, 5), "padding": per_dim(draw, nd, 0, 3)}
    if draw(st.integers(0, 4)):
        args["stride"] = per_dim(draw, nd, 1, 4)
    if draw(st.booleans()):
        args["ceil_mode"] = draw(st.booleans())
    if kind == "MaxPool" and draw(st.booleans()):
        args["dilation"] = per_dim(draw, nd, 1, 3)
    if kind == "AvgPool":
        if draw(st.booleans()):
            args["count_include_pad"] = draw(st.booleans())
        if nd > 1 and draw(st.integers(0, 3)) == 0:
            args["divisor_override"] = draw(st.integers(1, 7))
    shape, small, _ = draw(spatial_input(nd, draw(st.integers(1, 2))))
    return {"type": f"{kind}{nd}d", "args": args}, shape, draw(st.integers(0, 2**16)), small


@st.composite
def adaptive_configs(draw: Any, kind: str) -> tuple[Json, list[int], int, bool]:
    nd = draw(st.integers(1, 3))
    shape, small, spatial = draw(spatial_input(nd, draw(st.integers(1, 2))))
    sizes: list[Any] = [draw(st.one_of(st.integers(1, s + 4), st.sampled_from([1, s]),
                                       st.integers(1, 3 * s + 1)))
                        for s in spatial]
    if nd > 1:
        sizes = [None if draw(st.integers(0, 6)) == 0 else s for s in sizes]
    output_size: Any = sizes[0] if nd == 1 or len(set(sizes)) == 1 and sizes[0] is not None \
        and draw(st.booleans()) else sizes
    if draw(st.integers(0, 30)) == 0:  # None alone, or inside a 1d tuple: torch refuses
        output_size = draw(st.sampled_from([None, [None]] if nd == 1 else [None]))
    layer = {"type": f"{kind}{nd}d", "args": {"output_size": output_size}}
    return layer, shape, draw(st.integers(0, 2**16)), small


@st.composite
def flatten_configs(draw: Any) -> tuple[Json, list[int]]:
    shape = draw(st.lists(st.integers(1, 5), min_size=0, max_size=6))
    args = {}
    if draw(st.integers(0, 3)):
        args["start_dim"] = draw(st.integers(-7, 6))
    if draw(st.integers(0, 3)):
        args["end_dim"] = draw(st.integers(-7, 6))
    return {"type": "Flatten", "args": args}, shape


@st.composite
def linear_configs(draw: Any) -> tuple[Json, list[int]]:
    shape = draw(st.lists(st.integers(1, 9), min_size=0, max_size=5))
    features = shape[-1] if shape and draw(st.integers(0, 5)) else draw(st.integers(1, 9))
    args: Json = {"in_features": features, "out_features": draw(st.integers(0, 9))}
    if draw(st.booleans()):
        args["bias"] = False
    return {"type": "Linear", "args": args}, shape


# ------------------------------------------------------------------ one test per kind

def test_conv():
    run_property(conv_configs(transpose=False))


def test_conv_transpose():
    run_property(conv_configs(transpose=True))


def test_maxpool():
    run_property(pool_configs("MaxPool"))


def test_avgpool():
    run_property(pool_configs("AvgPool"))


def test_adaptive_avg():
    run_property(adaptive_configs("AdaptiveAvgPool"), examples=4000)


def test_adaptive_max():
    run_property(adaptive_configs("AdaptiveMaxPool"), examples=4000)


def test_flatten():
    run_property(flatten_configs())


def test_linear():
    run_property(linear_configs())
