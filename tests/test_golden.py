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
from cardgen.layers import LAYER_TYPES, POOL_KINDS, RESAMPLE_KINDS, Layer
from cardgen.solver import fixed_layer_for, forward, output_shape, pool_windows, to_nested
from cardgen.solver.params import mac_count, param_count

GOLDEN = Path(__file__).parent / "golden"
FILES = (
    "shapes", "windows", "values", "equivalence", "params", "unbatched", "dialect",
    "receptive", "transpose_rules", "pool_options", "resample", "thumb",
)
POOL_TYPES = sorted(t for t, (kind, _) in LAYER_TYPES.items() if kind in POOL_KINDS)
FIXED_POOLS = [t for t in POOL_TYPES if not t.startswith("Adaptive")]
ADAPTIVE = [t for t in POOL_TYPES if t.startswith("Adaptive")]
RESAMPLE_TYPES = sorted(t for t, (kind, _) in LAYER_TYPES.items() if kind in RESAMPLE_KINDS)

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
    "unbatched": {**{f"{k}{n}d": 190 for k in ("Conv", "ConvTranspose", "MaxPool", "AvgPool",
                                                "AdaptiveAvgPool", "AdaptiveMaxPool")
                     for n in (1, 2, 3)}, "Flatten": 390, "Linear": 290, "stack": 480},
    "dialect": {"Conv1d": 550, "Conv2d": 280, "Conv3d": 50},
    "receptive": {"stack": 900, "Conv1d": 170, "MaxPool1d": 110, "AvgPool1d": 85,
                  "Conv2d": 85, "AvgPool2d": 50, "MaxPool2d": 45},
    "transpose_rules": {"ConvTranspose1d": 1800, "ConvTranspose2d": 1200,
                        "ConvTranspose3d": 1100},
    # "stack": a MaxPool(return_indices=True) and the MaxUnpool its indices feed
    "pool_options": {"AvgPool1d": 900, "AvgPool2d": 800, "AvgPool3d": 300, "stack": 3500},
    "resample": {**{t: 400 for t in RESAMPLE_TYPES}, "stack": 800},
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
    seen = {v["layers"][0]["type"] for name in ("shapes", "resample")
            for v in load(name)["vectors"]}
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


# ------------------------------------------------------------------ unbatched inputs

@pytest.mark.parametrize("key", sorted(MIN_COUNTS["unbatched"]))
def test_unbatched_shapes(key):
    check_all(vectors("unbatched", key), _check_shape)


def test_unbatched_covers_every_layout_both_ways():
    """Each layout of one sample (channels-first, channels-last, no channel dim, batched,
    one dim too many) appears, and torch both accepts and refuses unbatched and
    channels-last inputs and Flatten-ended stacks."""
    outcomes = Counter((v["source"], v["kind"]) for v in load("unbatched")["vectors"])
    for source in ("unbatched", "channels_last", "batched", "flatten", "linear", "stack"):
        assert outcomes[(source, "shape")] >= 50 and outcomes[(source, "error")] >= 50, \
            (source, outcomes)
    assert outcomes[("no_channels", "error")] >= 500 and outcomes[("extra_dim", "error")] >= 500
# ------------------------------------------------------------------ framework SAME dialects

@pytest.mark.parametrize("key", sorted(MIN_COUNTS["dialect"]))
def test_framework_same_pads_sizes_and_symmetric_padding(key):
    """ONNX Runtime's SAME_UPPER/SAME_LOWER Conv, measured (pads, output shape, whether a
    torch Conv with a symmetric padding computes it): the solver's rule gives each."""
    from cardgen.claims import check_claim

    def check(v: dict[str, Any]) -> str | None:
        result = check_claim(v, "solver")
        return None if result.ok else result.detail

    check_all(vectors("dialect", key), check)


def test_framework_same_vectors_cover_both_dialects_and_answers():
    data = load("dialect")
    assert data["onnxruntime"]
    seen = Counter((v["dialect"], v["equal"]) for v in data["vectors"])
    assert all(seen[(d, e)] >= 50 for d in ("SAME_UPPER", "SAME_LOWER") for e in (True, False))


# ------------------------------------------------------------------ receptive fields

def _check_receptive(v: dict[str, Any]) -> str | None:
    from math import prod

    from cardgen.solver.receptive import box_of, fields

    try:
        found = fields(layers_of(v), v["input_shape"], v["output_index"])
    except CardgenError as exc:
        return f"solver raises where torch ran: {exc}"
    box = [None if r is None else list(r) for r in box_of(found)]
    if box != v["support"]:
        return f"solver box {box}, torch {v['support']}"
    cells = 0 if None in box else prod(f.cells for f in found)
    return None if cells == v["cells"] else f"solver {cells} cells, torch {v['cells']}"


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["receptive"]))
def test_receptive_fields(key):
    check_all(vectors("receptive", key), _check_receptive)


def test_receptive_fields_cover_dilation_padding_and_empty_fields():
    data = load("receptive")["vectors"]
    args = [a for v in data for layer in v["layers"] for a in [layer["args"]]]
    assert sum(a.get("dilation", 1) != 1 for a in args) >= 300
    assert sum(a.get("padding", 0) != 0 for a in args) >= 300
    assert sum(None in v["support"] for v in data) >= 50
    assert sum(v["cells"] < prod_box(v["support"]) for v in data) >= 100  # skipped cells


def prod_box(box: list[Any]) -> int:
    out = 1
    for r in box:
        out *= 0 if r is None else r[1] - r[0]
    return out


# ------------------------------------------------------------------ transposed conv rules

def _check_transpose_rules(v: dict[str, Any]) -> str | None:
    """An explicit output_padding (shape/error, as any shape vector), or a call with
    output_size= (the solver's rule: each size in lo..lo+stride-1)."""
    from cardgen.solver.transpose import picked

    if v["kind"] != "output_size":
        layers = layers_of(v)
        try:
            got: list[int] | None = list(output_shape(layers, v["input_shape"]))
        except CardgenError:
            got = None
        want = v.get("output_shape")
        return None if got == want else f"solver {got}, torch {want}"
    try:
        out = picked(Layer.from_json(v["layer"]), v["input_shape"], v["output_size"])
        got = None if out.output_shape is None else list(out.output_shape)
    except CardgenError:
        got = None
    want = v["output_shape"]
    return None if got == want else f"solver {got}, torch {want} for output_size " \
        f"{v['output_size']}"


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["transpose_rules"]))
def test_transpose_rules(key):
    check_all(vectors("transpose_rules", key), _check_transpose_rules)


def test_transpose_rules_cover_both_outcomes():
    """Calls that run and calls that raise, explicit paddings over and under the limit,
    and sizes past lowest + stride - 1 but under lowest + dilation - 1 (the rule's trap)."""
    data = load("transpose_rules")["vectors"]
    outcomes = Counter((v["kind"], v.get("output_shape") is None) for v in data)
    assert all(outcomes[k] >= 200 for k in (("output_size", True), ("output_size", False),
                                             ("shape", False), ("error", True))), outcomes
    trap = 0
    for v in data:
        args = v["layer"]["args"] if "layer" in v else {}
        if v["kind"] == "output_size" and v["output_shape"] is None and \
                isinstance(args.get("dilation"), int) and isinstance(args.get("stride"), int):
            s, d = args["stride"], args["dilation"]
            low = [o for w in data if w.get("layer") == v["layer"] and
                   w["input_shape"] == v["input_shape"] and w["output_shape"] is not None
                   for o in w["output_size"]] if d > s else []
            trap += bool(low) and len(v["output_size"]) == 1 and \
                min(low) + s <= v["output_size"][0] < min(low) + d
    assert trap >= 50, trap


# ------------------------------------------------------------------ pooling options

def _check_avg_divisor(v: dict[str, Any]) -> str | None:
    """The solver's exact averages are torch's outputs, and every output times the
    solver's divisor is the sum of the window's input cells (the inputs are 1..9, so no
    divisor but the right one gives torch's number)."""
    from fractions import Fraction
    from itertools import product

    from cardgen.solver.pool_options import avg_divisor, avg_values

    (layer,) = layers_of(v)
    x, y = np.array(v["input"])[0, 0], np.array(v["output"])[0, 0]
    outs, values = avg_values(layer, x.shape, [int(c) for c in x.reshape(-1)])
    if outs != y.shape or not np.allclose([float(f) for f in values], y.reshape(-1),
                                          rtol=0, atol=1e-9):
        return f"avg_values: solver {outs} {values}, torch {y.tolist()}"
    for index in product(*(range(n) for n in y.shape)):
        try:
            d = avg_divisor(layer, x.shape, index)
        except CardgenError as exc:
            return f"solver refuses output {index}: {exc}"
        window = x[tuple(slice(w.first, w.last) for w in d.windows)]
        got = Fraction(int(window.sum()), d.divisor)
        if abs(float(got) - float(y[index])) > 1e-9:
            return f"output {index}: solver {got} (divisor {d.divisor}), torch {y[index]}"
    return None


def _check_unpool(v: dict[str, Any]) -> str | None:
    """The solver's unpool: one shape on every input (torch's on both inputs), an error
    on every input (both raise), or depends (the rising input raises, the falling not)."""
    from cardgen.layers import unpool_layer
    from cardgen.solver.pool_options import unpool

    pool_data, unpool_data = v["layers"]
    args = {k: a for k, a in pool_data["args"].items() if k != "return_indices"}
    try:
        pool = Layer.from_json({"type": pool_data["type"], "args": args})
        result = unpool(pool, unpool_layer(unpool_data), v["input_shape"], v["output_size"])
    except CardgenError:
        got: tuple[Any, Any] = (None, None)
    else:
        shape = result.output_shape
        got = (None, list(result.pooled[:2]) + list(result.out or ())) if result.depends \
            else (None if shape is None else list(shape),) * 2
    want = (v["rising"], v["falling"])
    return None if got == want else f"solver {got}, torch {want}"


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["pool_options"]))
def test_pool_options(key):
    check = _check_unpool if key == "stack" else _check_avg_divisor
    check_all(vectors("pool_options", key), check)


def test_pool_options_cover_every_outcome():
    """Divisors with padding counted and not, ceil mode and divisor_override; unpools
    that give a shape, raise, and raise on some inputs only."""
    data = load("pool_options")["vectors"]
    args = [v["layers"][0]["args"] for v in data if v["kind"] == "values"]
    assert sum(a["count_include_pad"] is False for a in args) >= 500
    assert sum("divisor_override" in a for a in args) >= 200
    assert sum(a["ceil_mode"] for a in args) >= 500
    unpools = Counter((v["rising"] is None, v["falling"] is None)
                      for v in data if v["kind"] == "unpool")
    assert unpools[(False, False)] >= 300 and unpools[(True, True)] >= 300
    assert unpools[(True, False)] >= 30
    assert sum(v["output_size"] is None for v in data if v["kind"] == "unpool") >= 500


# ------------------------------------------------------------------ resamplers

@pytest.mark.parametrize("key", sorted(MIN_COUNTS["resample"]))
def test_resample_shapes(key):
    """Upsample's floor(in * scale) in double, PixelShuffle's C / r^2, PixelUnshuffle's
    H / r, Unfold's (C*k*k, L), Fold's L check and the pads' last-dim-first tuples, with
    every refusal, as torch gives them."""
    check_all(vectors("resample", key), _check_shape)


@pytest.mark.parametrize("key", sorted(MIN_COUNTS["resample"]))
def test_resample_vectors_hold_both_answers(key):
    """Each resampler's vectors include runs and refusals (pads of the constant kind
    refuse only on a rank too small, so a few)."""
    kinds = Counter(v["kind"] for v in vectors("resample", key))
    assert kinds["shape"] >= 90, kinds
    if not key.startswith(("ZeroPad1d", "ConstantPad1d")):
        assert kinds["error"] >= 10, kinds


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
