"""The solver against golden vectors recorded from PyTorch (tools/record_golden.py).

Always runs; needs no torch. Each file holds DESIGN.md §3 claims (plus
``equivalence_search`` records); the counts per layer type below are floors so
the golden set cannot silently shrink.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cardgen.errors import CardgenError
from cardgen.layers import LAYER_TYPES, POOL_KINDS, Layer
from cardgen.solver import fixed_layer_for, forward, output_shape, pool_windows, to_nested
from cardgen.solver.params import mac_count, param_count

GOLDEN = Path(__file__).parent / "golden"
FILES = ("shapes", "windows", "values", "equivalence", "params", "thumb")
POOL_TYPES = sorted(t for t, (kind, _) in LAYER_TYPES.items() if kind in POOL_KINDS)
FIXED_POOLS = [t for t in POOL_TYPES if not t.startswith("Adaptive")]
ADAPTIVE = [t for t in POOL_TYPES if t.startswith("Adaptive")]

# Floors per (file, group); group = layer type, or "stack" for several layers.
MIN_COUNTS: dict[str, dict[str, int]] = {
    "shapes": {
        "Conv1d": 3000, "Conv2d": 1100, "Conv3d": 830,
        "ConvTranspose1d": 4950, "ConvTranspose2d": 1200, "ConvTranspose3d": 1000,
        "MaxPool1d": 5150, "MaxPool2d": 1500, "MaxPool3d": 1300,
        "AvgPool1d": 3550, "AvgPool2d": 2650, "AvgPool3d": 2300,
        "AdaptiveAvgPool1d": 850, "AdaptiveAvgPool2d": 2150, "AdaptiveAvgPool3d": 900,
        "AdaptiveMaxPool1d": 850, "AdaptiveMaxPool2d": 2150, "AdaptiveMaxPool3d": 900,
        "Flatten": 1300, "Linear": 370, "stack": 600,
    },
    "windows": {"MaxPool1d": 1200, "AvgPool1d": 1200, "AdaptiveAvgPool1d": 320,
                "AdaptiveMaxPool1d": 320, **{t: 150 for t in POOL_TYPES if t[-2] != "1"}},
    "values": {**{t: 140 for t in POOL_TYPES}, "stack": 300},
    "equivalence": {"AdaptiveAvgPool1d": 300, "AdaptiveMaxPool1d": 300,
                    "AdaptiveAvgPool2d": 340, "AdaptiveMaxPool2d": 420,
                    "AdaptiveAvgPool3d": 200, "AdaptiveMaxPool3d": 210},
    "params": {"Conv1d": 500, "Conv2d": 450, "Conv3d": 450, "ConvTranspose1d": 280,
               "ConvTranspose2d": 280, "ConvTranspose3d": 280, "Linear": 580},
    "thumb": {"Conv1d": 99, "Conv2d": 343, "MaxPool1d": 700, "AvgPool1d": 700,
              "AdaptiveAvgPool1d": 400, "AdaptiveMaxPool1d": 400},
}
MIN_REFUSED_PARAMS = 100  # params vectors of layers torch refuses to build (groups)
MIN_ERRORS = {"shapes": 10_000}
MIN_TOTAL = 20_000
MAX_BYTES = 3_000_000


@cache
def load(name: str) -> dict[str, Any]:
    with gzip.open(GOLDEN / f"{name}.json.gz", "rt") as f:
        return json.load(f)


def group(vector: dict[str, Any]) -> str:
    layers = vector.get("layers") or [vector["layer"]]
    return layers[0]["type"] if len(layers) == 1 else "stack"


def vectors(name: str, key: str) -> list[dict[str, Any]]:
    return [v for v in load(name)["vectors"] if group(v) == key]


def layers_of(vector: dict[str, Any], field: str = "layers") -> list[Layer]:
    return [Layer.from_json(layer) for layer in vector[field]]


def check_all(items: list[dict[str, Any]], check: Any) -> None:
    """Run ``check`` on every vector; report the first failures together."""
    assert items
    failures = []
    for v in items:
        problem = check(v)
        if problem:
            failures.append(f"{problem}\n    vector: {json.dumps(v)[:400]}")
    assert not failures, f"{len(failures)} of {len(items)} vectors disagree with torch:\n" + \
        "\n".join(failures[:10])


# ------------------------------------------------------------------ the set itself

def test_golden_files_are_from_torch_and_modest():
    total = 0
    size = 0
    for name in FILES:
        data = load(name)
        assert data["torch"].startswith("2."), data["torch"]
        assert data["generator"] == "tools/record_golden.py"
        assert data["count"] == len(data["vectors"])
        total += len(data["vectors"])
        size += (GOLDEN / f"{name}.json.gz").stat().st_size
    assert total >= MIN_TOTAL
    assert size <= MAX_BYTES


@pytest.mark.parametrize("name", FILES)
def test_counts_per_kind(name):
    counts = Counter(group(v) for v in load(name)["vectors"])
    short = {key: (counts[key], floor) for key, floor in MIN_COUNTS[name].items()
             if counts[key] < floor}
    assert not short, f"{name}: (count, floor) per kind: {short}"
    if name in MIN_ERRORS:
        errors = sum(v["kind"] == "error" for v in load(name)["vectors"])
        assert errors >= MIN_ERRORS[name]


@pytest.mark.parametrize("name", FILES)
def test_every_vector_is_checked(name):
    """Each vector's group is one the tests below run, so none is skipped silently."""
    groups = {group(v) for v in load(name)["vectors"]}
    assert groups <= set(MIN_COUNTS[name]), groups - set(MIN_COUNTS[name])


def test_every_layer_type_is_covered():
    seen = {v["layers"][0]["type"] for v in load("shapes")["vectors"]}
    assert seen == set(LAYER_TYPES)


# ------------------------------------------------------------------ shapes and errors

def solver_shape(layers: list[dict[str, Any]], shape: list[int]) -> list[int] | None:
    """The solver's output shape, or None where it says torch refuses."""
    try:
        return list(output_shape([Layer.from_json(layer) for layer in layers], shape))
    except CardgenError:
        return None


def _check_shape(v: dict[str, Any]) -> str | None:
    got = solver_shape(v["layers"], v["input_shape"])
    want = v.get("output_shape") if v["kind"] == "shape" else None
    if got != want:
        return f"solver {got or 'error'}, torch {want or 'error'}"
    return None


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["shapes"]))
def test_shapes(key):
    check_all(vectors("shapes", key), _check_shape)


# ------------------------------------------------------------------ windows

def _check_windows(v: dict[str, Any]) -> str | None:
    try:
        got = pool_windows(Layer.from_json(v["layer"]), v["input_shape"])
    except CardgenError as exc:
        return f"solver refused: {exc}"
    got = [[list(w) for w in dim] for dim in got]
    return None if got == v["windows"] else f"solver {got}"


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["windows"]))
def test_windows(key):
    check_all(vectors("windows", key), _check_windows)


# ------------------------------------------------------------------ values

def _check_values(v: dict[str, Any]) -> str | None:
    try:
        got = to_nested(forward(layers_of(v), v["input"]))
    except CardgenError as exc:
        return f"solver refused: {exc}"
    got_a, want_a = np.array(got, dtype=float), np.array(v["output"], dtype=float)
    if got_a.shape != want_a.shape:
        return f"solver shape {got_a.shape}, torch {want_a.shape}"
    if not np.allclose(got_a, want_a, rtol=1e-5, atol=1e-6):
        return f"solver {got}"
    return None


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["values"]))
def test_values(key):
    check_all(vectors("values", key), _check_values)


# ------------------------------------------------------------------ equivalence

def _windows_or_none(layer: Layer, shape: list[int]) -> Any:
    try:
        return output_shape(layer, shape), pool_windows(layer, shape)
    except CardgenError:
        return None


def _check_equivalent(v: dict[str, Any]) -> str | None:
    """fixed_layer_for decides: torch's ``equal`` holds iff the other stack has its windows."""
    if v["kind"] == "equivalence_search":
        return _check_search(v)
    (adaptive,), (other,) = layers_of(v), layers_of(v, "other")
    shape = v["input_shape"]
    fixed = fixed_layer_for(adaptive, shape)
    if v["equal"]:
        if fixed is None:
            return "torch: equal, but fixed_layer_for found no fixed pool"
        if _windows_or_none(fixed, shape) != _windows_or_none(adaptive, shape):
            return f"fixed_layer_for gave {fixed}, whose windows differ from the adaptive pool's"
    solver_equal = fixed is not None and \
        _windows_or_none(other, shape) == _windows_or_none(fixed, shape)
    if solver_equal != v["equal"]:
        return f"solver says equal={solver_equal} (fixed_layer_for: {fixed})"
    return None


def _check_search(v: dict[str, Any]) -> str | None:
    """Every (kernel, stride) torch found equal, and only those, match the solver's windows."""
    adaptive = Layer.from_json(v["layer"])
    shape = v["input_shape"]
    n = shape[-1]
    want = {tuple(pair) for pair in v["equal"]}
    target = _windows_or_none(adaptive, shape)
    fixed_type = adaptive.type.replace("Adaptive", "")
    got = {(k, s) for k in range(1, n + 1) for s in range(1, n + 2)
           if _windows_or_none(Layer.make(fixed_type, kernel_size=k, stride=s), shape) == target}
    if got != want:
        return f"solver equal set {sorted(got)}, torch {sorted(want)}"
    fixed = fixed_layer_for(adaptive, shape)
    if fixed is None:
        return "fixed_layer_for: None, torch found equal fixed pools" if want else None
    pair = (fixed.get("kernel_size"), fixed.get("stride"))
    return None if pair in want else f"fixed_layer_for gave {fixed}, torch's equal set {want}"


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["equivalence"]))
def test_equivalence(key):
    check_all(vectors("equivalence", key), _check_equivalent)


def test_equivalence_has_both_answers():
    # "equal" is a bool for pairs, the list of equal (kernel, stride) for searches
    outcomes = Counter((v["kind"], bool(v["equal"])) for v in load("equivalence")["vectors"])
    assert all(outcomes[(kind, eq)] >= 100 for kind in ("equivalent", "equivalence_search")
               for eq in (True, False)), outcomes


# ------------------------------------------------------------------ parameters and MACs

def _check_params(v: dict[str, Any]) -> str | None:
    try:
        layer = Layer.from_json(v["layer"])
    except CardgenError:
        got = None
    else:
        if v["kind"] == "macs":
            try:
                macs = mac_count(layer, v["input_shape"]).macs
            except CardgenError as exc:
                return f"solver raises where torch counts {v['macs']} MACs: {exc}"
            return None if macs == v["macs"] else f"solver {macs} MACs, torch {v['macs']}"
        count = param_count(layer)
        got = (count.weights, count.biases)
    want = None if v.get("weights") is None else (v["weights"], v["biases"])
    if v["kind"] == "macs":
        return "solver refuses a layer torch ran"
    return None if got == want else f"solver {got}, torch {want}"


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["params"]))
def test_params_and_macs(key):
    check_all(vectors("params", key), _check_params)


def test_params_cover_refused_layers_and_macs():
    data = load("params")["vectors"]
    assert sum(v["kind"] == "params" and v["weights"] is None for v in data) \
        >= MIN_REFUSED_PARAMS
    assert {v["layer"]["type"] for v in data if v["kind"] == "macs"} == \
        {"Conv1d", "Conv2d", "Conv3d", "Linear"}


# ------------------------------------------------------------------ rules of thumb

def _check_thumb(v: dict[str, Any]) -> str | None:
    """The solver's side of each rule of thumb (what rules.of_thumb's cards take as
    PyTorch's truth) against torch's."""
    from cardgen.solver import fixed_equivalent, recipe_guess
    from cardgen.solver.arith import pool_out
    from cardgen.solver.thumb import groups_build, keeps_size_padding

    if v["kind"] == "same_pad":
        args = v["layer"]["args"]
        p = keeps_size_padding(args["kernel_size"], args.get("dilation", 1))
        return None if v["keeps"] == ([] if p is None else [p]) else \
            f"solver keeps the size with {p}, torch with {v['keeps']}"
    if v["kind"] == "multiple":
        args = v["layer"]["args"]
        got = groups_build(args["in_channels"], args["out_channels"], args["groups"])
        return None if got == v["builds"] else f"solver builds={got}, torch {v['builds']}"
    if v["kind"] == "ceil_docs":
        a = v["layer"]["args"]
        got = pool_out(v["input_shape"][-1], a["kernel_size"], a["stride"], a["padding"],
                       ceil_mode=True)
        return None if got == v["output"] else f"solver {got}, torch {v['output']}"
    n, out = v["input_shape"][-1], v["layers"][0]["args"]["output_size"]
    pair = fixed_equivalent(n, out)
    # the recipe's pool is right exactly when any fixed pool is (then it is that one)
    if (pair == recipe_guess(n, out)) != v["equal"] or (pair is not None) != v["equal"]:
        return f"solver's pool {pair}, recipe {recipe_guess(n, out)}, torch {v['equal']}"
    return None


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["thumb"]))
def test_rules_of_thumb_truth(key):
    check_all(vectors("thumb", key), _check_thumb)


def test_rules_of_thumb_vectors_hold_both_verdicts():
    """Each rule is true on some vectors and false on others, by torch's numbers."""
    from cardgen.solver.thumb import ceil_docs_out, multiple_rule_builds, same_pad_rule

    verdicts: Counter[tuple[str, bool]] = Counter()
    for v in load("thumb")["vectors"]:
        a = (v.get("layer") or v["layers"][0])["args"]
        if v["kind"] == "same_pad":
            holds = same_pad_rule(a["kernel_size"]) in v["keeps"]
        elif v["kind"] == "multiple":
            holds = multiple_rule_builds(a["in_channels"], a["out_channels"]) == v["builds"]
        elif v["kind"] == "ceil_docs":
            holds = ceil_docs_out(v["input_shape"][-1], a["kernel_size"], a["stride"],
                                  a["padding"]) == v["output"]
        else:
            holds = v["equal"]
        verdicts[v["kind"], holds] += 1
    assert all(verdicts[kind, h] >= 20 for kind in ("same_pad", "multiple", "ceil_docs",
                                                     "recipe") for h in (True, False)), verdicts
