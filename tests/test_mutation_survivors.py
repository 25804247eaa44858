"""Tests written for mutants that survived `python tools/mutation.py` (README, Development).

Each one pins a behaviour a user can see that no other test checked: the formula text
`cardgen solve` prints, torch's defaults in the solver's size functions, error messages,
exact Fractions, the writer's rows. Expected numbers come from the golden vectors
recorded from torch (tests/golden/) or from an independent definition, never typed in.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import sqlite3
import zipfile
from datetime import UTC, datetime
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cardgen.anki import NoteData, build_timestamp, stable_id, write_apkg
from cardgen.errors import CardgenError, LayerSyntaxError, ShapeError
from cardgen.explain.sizes import conv_size_text, layer_formulas
from cardgen.explain.windows import adaptive_size_text
from cardgen.layers import LAYER_TYPES, MAX_INT, MAX_TEXT, Layer, parse_layer, parse_shape
from cardgen.solver import (
    arith,
    fixed_layer_for,
    forward,
    layer_step,
    output_shape,
    pool_windows,
    read_counts,
    recipe_guess,
    to_nested,
    trace,
    values,
    windows_overlap,
)
from cardgen.solver.equivalence import fixed_equivalent

GOLDEN = Path(__file__).parent / "golden"


@cache
def golden(name: str) -> list[dict[str, Any]]:
    with gzip.open(GOLDEN / f"{name}.json.gz", "rt") as f:
        return json.load(f)["vectors"]


def single_layer_shapes(*types: str, errors: bool = False,
                        every: int = 1) -> list[tuple[Layer, list, Any]]:
    """(layer, input shape, torch's output shape or None) of one-layer shape vectors
    (every `every`-th one: the formula tests run once per mutant)."""
    out = []
    for v in golden("shapes")[::every]:
        if len(v["layers"]) != 1 or v["layers"][0]["type"] not in types:
            continue
        if (v["kind"] == "error") != errors:
            continue
        try:
            layer = Layer.from_json(v["layers"][0])
        except CardgenError:  # refused at construction: no layer to run
            continue
        out.append((layer, v["input_shape"], v.get("output_shape")))
    assert out, types
    return out


CONVS = ("Conv1d", "Conv2d", "Conv3d")
CONVTS = ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
POOLS = ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d")
ADAPTIVE = tuple(f"Adaptive{k}Pool{n}d" for k in ("Avg", "Max") for n in (1, 2, 3))


# ------------------------------------------------------------------ formulas (`cardgen solve`)

def _formulas(layer: Layer, shape: Any) -> tuple[str, ...]:
    step = layer_step(layer, shape)
    return layer_formulas(step.layer, step.input_shape, step.output_shape)


def _evaluate(expression: str) -> int:
    """The value of a formula's left side: integers, + - * /, floor() and ceil()."""
    if not re.fullmatch(r"[\d\s()+\-*/]|floor|ceil", expression) and \
            not re.fullmatch(r"(?:[\d\s()+\-*/]|floor|ceil)+", expression):
        raise AssertionError(f"not a formula: {expression!r}")
    expression = re.sub(r"(\d+)", r"Fraction(\1)", expression)
    return eval(expression, {"__builtins__": {}, "Fraction": Fraction,  # noqa: S307
                             "floor": math.floor, "ceil": math.ceil})


def _check_formula(formula: str, want: int) -> None:
    left, _, right = formula.partition(" (the last window would start at or after ")
    if right:  # ceil mode dropped a window: the bound named is input + left padding
        bound = re.fullmatch(r"input \+ left padding = (\d+)\) = (-?\d+)", right)
        assert bound, formula
        size_pad = re.match(r"ceil\(\((\d+) \+ 2\*(\d+)", left)
        assert size_pad, formula
        assert int(bound[1]) == int(size_pad[1]) + int(size_pad[2]), formula
        right = bound[2]
    else:
        left, _, right = formula.rpartition(" = ")
    assert int(right) == want, formula
    assert _evaluate(left) == want, formula


CONV_TEXT = re.compile(r"floor\(\((\d+) \+ (?:2\*(\d+)|(\d+) \+ (\d+)) - (\d+)\*\((\d+)-1\) - 1\)"
                       r" / (\d+)\) \+ 1 = (\d+)")


def test_conv_formulas_substitute_the_layers_numbers_and_give_the_golden_size():
    for layer, shape, want in single_layer_shapes(*CONVS, every=3):
        formulas = _formulas(layer, shape)
        n = layer.ndim
        assert len(formulas) == n
        for d, formula in enumerate(formulas):
            _check_formula(formula, want[-n + d])
            m = CONV_TEXT.fullmatch(formula)
            assert m, formula
            size, sym, left, right, dil, kernel, stride, _ = m.groups()
            assert int(size) == shape[-n + d]
            assert int(kernel) == layer.tup("kernel_size")[d]
            assert int(dil) == layer.tup("dilation")[d]
            assert int(stride) == layer.tup("stride")[d]
            if layer.get("padding") == "same":
                total = layer.tup("dilation")[d] * (layer.tup("kernel_size")[d] - 1)
                assert sym is None or 2 * int(sym) == total
            elif layer.get("padding") != "valid":
                assert sym is not None and int(sym) == layer.tup("padding")[d], formula
            if sym is None:  # the asymmetric form only when the two sides differ
                assert left != right, formula


CONVT_TEXT = re.compile(r"\((\d+)-1\)\*(\d+) - 2\*(\d+) \+ (\d+)\*\((\d+)-1\) \+ (\d+) \+ 1"
                        r" = (\d+)")


def test_conv_transpose_formulas_substitute_the_layers_numbers_and_give_the_golden_size():
    for layer, shape, want in single_layer_shapes(*CONVTS, every=3):
        n = layer.ndim
        for d, formula in enumerate(_formulas(layer, shape)):
            _check_formula(formula, want[-n + d])
            m = CONVT_TEXT.fullmatch(formula)
            assert m, formula
            got = tuple(int(g) for g in m.groups()[:6])
            assert got == (shape[-n + d], layer.tup("stride")[d], layer.tup("padding")[d],
                           layer.tup("dilation")[d], layer.tup("kernel_size")[d],
                           layer.tup("output_padding")[d])


POOL_TEXT = re.compile(r"(floor|ceil)\(\((\d+) \+ 2\*(\d+) - (\d+)\*\((\d+)-1\) - 1\) / (\d+)\)"
                       r" \+ 1( - 1 \(the last window would start at or after"
                       r" input \+ left padding = \d+\))? = (\d+)")


def test_pool_formulas_substitute_the_layers_numbers_and_give_the_golden_size():
    dropped = 0
    for layer, shape, want in single_layer_shapes(*POOLS, every=3):
        n = layer.ndim
        stride = layer.tup("stride") if layer.get("stride") is not None \
            else layer.tup("kernel_size")
        for d, formula in enumerate(_formulas(layer, shape)):
            _check_formula(formula, want[-n + d])
            m = POOL_TEXT.fullmatch(formula)
            assert m, formula
            rounding, size, pad, dil, kernel, st, minus_one, _ = m.groups()
            assert rounding == ("ceil" if layer.get("ceil_mode") else "floor")
            want_dil = layer.tup("dilation")[d] if layer.kind == "maxpool" else 1
            assert (int(size), int(pad), int(dil), int(kernel), int(st)) == \
                (shape[-n + d], layer.tup("padding")[d], want_dil,
                 layer.tup("kernel_size")[d], stride[d])
            dropped += bool(minus_one)
    assert dropped >= 10  # the golden set has ceil-mode windows that torch drops


def test_ceil_dropped_is_when_the_ceil_formula_overshoots_the_golden_size():
    """Independent definition: ceil((size + 2p - d(k-1) - 1) / s) + 1 exceeds torch's size."""
    seen = set()
    for layer, shape, want in single_layer_shapes(*POOLS):
        if not layer.get("ceil_mode"):
            continue
        n = layer.ndim
        dil = layer.tup("dilation") if layer.kind == "maxpool" else (1,) * n
        stride = layer.tup("stride") if layer.get("stride") is not None \
            else layer.tup("kernel_size")
        for d in range(n):
            size, k, s, p = shape[-n + d], layer.tup("kernel_size")[d], stride[d], \
                layer.tup("padding")[d]
            ceil_formula = -(-(size + 2 * p - dil[d] * (k - 1) - 1) // s) + 1
            got = arith.ceil_dropped(size, k, s, p, dil[d])
            assert got == (ceil_formula == want[-n + d] + 1), (layer, shape)
            if dil[d] == 1:
                assert arith.ceil_dropped(size, k, s, p) == got  # dilation defaults to 1
            if dil[d] == 1 and p == 0:
                assert arith.ceil_dropped(size, k, s) == got  # and padding to 0
            seen.add(got)
    assert seen == {True, False}


def test_a_step_keeps_its_layer_and_input_shape():
    for layer, shape, want in single_layer_shapes(*CONVS, *POOLS, *ADAPTIVE, "Flatten",
                                                  "Linear", every=5):
        step = layer_step(layer, shape)
        assert (step.layer, step.input_shape, step.output_shape) == \
            (layer, tuple(shape), tuple(want))
    for layer, shape, _ in single_layer_shapes(*CONVS, every=5):
        for d, k in enumerate(layer.tup("kernel_size")):
            if isinstance(layer.get("padding"), str):
                continue
            args = (shape[-layer.ndim + d], k, layer.tup("stride")[d], layer.tup("padding")[d],
                    layer.tup("dilation")[d])
            out = arith.conv_out(*args)
            assert conv_size_text(*args, out) == conv_size_text(*args, out, args[3])


def test_adaptive_and_flatten_formulas_name_the_golden_sizes():
    for layer, shape, want in single_layer_shapes(*ADAPTIVE):
        n = layer.ndim
        formulas = _formulas(layer, shape)
        assert len(formulas) == n
        for d, formula in enumerate(formulas):
            size, out = shape[-n + d], want[-n + d]
            assert formula == adaptive_size_text(size, out), formula
            assert formula.startswith(f"output_size {out} (input {size}); window i = ")
    for layer, shape, want in single_layer_shapes("Flatten"):
        (formula,) = _formulas(layer, shape)
        left, _, right = formula.rpartition(" = ")
        factors = [int(f) for f in left.split(" * ")] if left else []
        merged = len(shape) - len(want) + 1 if shape else 1
        start = layer.get("start_dim") % max(len(shape), 1)
        assert factors == list(shape[start:start + merged]) or not shape, (layer, shape)
        if shape:
            assert int(right) == want[start] == math.prod(factors)
    for layer, shape, _ in single_layer_shapes("Linear"):
        assert _formulas(layer, shape) == ()


# ------------------------------------------------------------------ torch's defaults

def _at_defaults(layer: Layer, *names: str) -> bool:
    """Every named argument equals torch's default (given or not)."""
    defaults = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0}
    return all(isinstance(layer.get(n), int | tuple) and
               set(layer.tup(n)) == {defaults[n]} for n in names)


def test_size_functions_default_to_the_reference_defaults():
    """arith's defaults are torch's: stride 1, padding 0, dilation 1, no ceil mode."""
    checked = 0
    for layer, shape, want in single_layer_shapes(*CONVS):
        if _at_defaults(layer, "stride", "padding", "dilation"):
            for d, k in enumerate(layer.tup("kernel_size")):
                assert arith.conv_out(shape[-layer.ndim + d], k) == want[-layer.ndim + d]
                checked += 1
    for layer, shape, want in single_layer_shapes(*CONVTS):
        if _at_defaults(layer, "stride", "padding", "dilation", "output_padding"):
            for d, k in enumerate(layer.tup("kernel_size")):
                got = arith.conv_transpose_out(shape[-layer.ndim + d], k)
                assert got == want[-layer.ndim + d]
                checked += 1
    for layer, shape, want in single_layer_shapes(*POOLS):
        if _at_defaults(layer, "padding") and not layer.get("ceil_mode") and \
                (layer.kind == "avgpool" or _at_defaults(layer, "dilation")):
            stride = layer.tup("stride") if layer.get("stride") is not None \
                else layer.tup("kernel_size")
            for d, k in enumerate(layer.tup("kernel_size")):
                size = shape[-layer.ndim + d]
                assert arith.pool_out(size, k, stride[d]) == want[-layer.ndim + d]
                assert arith.pool_out_raw(size, k, stride[d]) == want[-layer.ndim + d]
                checked += 1
    assert checked >= 300
    for layer, shape, want in single_layer_shapes(*CONVS):
        if layer.get("padding") == "same" and _at_defaults(layer, "dilation"):
            for d, k in enumerate(layer.tup("kernel_size")):
                assert sum(arith.same_padding(k)) == k - 1
                assert want[-layer.ndim + d] == shape[-layer.ndim + d]


def test_same_padding_halves_are_ints():
    for layer, _shape, _ in single_layer_shapes(*CONVS):
        if layer.get("padding") == "same":
            for k, d in zip(layer.tup("kernel_size"), layer.tup("dilation"), strict=True):
                left, right = arith.same_padding(k, d)
                assert type(left) is int and type(right) is int
                assert left + right == d * (k - 1) and right - left in (0, 1)


# ------------------------------------------------------------------ error messages

def _error(layers: list[Layer], shape: list[int]) -> str:
    with pytest.raises(ShapeError) as info:
        trace(layers, shape)
    return str(info.value)


def test_conv_too_small_message_names_both_sizes():
    for layer, shape, _ in single_layer_shapes("Conv1d", errors=True):
        if len(shape) != 3 or shape[1] != layer.get("in_channels") or \
                not isinstance(layer.get("padding"), int | tuple):
            continue
        size, (k,), (p,), (d,) = shape[-1], *(layer.tup(n) for n in
                                              ("kernel_size", "padding", "dilation"))
        padded, span = size + 2 * p, d * (k - 1) + 1
        if padded < span:
            assert _error([layer], shape) == (
                f"{layer}: padded input size {padded} is smaller than the dilated kernel size "
                f"{span}: kernel size can't be greater than actual input size")


def test_conv_transpose_and_pool_messages_say_why():
    seen = set()
    for layer, shape, _ in single_layer_shapes(*CONVTS, *POOLS, errors=True):
        try:
            layer_step(layer, shape)
        except ShapeError as exc:
            message = str(exc)
        assert message.strip() and message != "None"
        for phrase in ("output padding must be smaller than either stride or dilation",
                       "calculated output size", "pad should be at most half of kernel size",
                       "does not fit in the padded input"):
            if phrase in message:
                seen.add(phrase)
        m = re.search(r"\(kernel (\d+), dilation (\d+)\) does not fit in the padded input (\d+)",
                      message)
        if m and layer.ndim == 1:
            assert int(m.group(3)) == shape[-1] + 2 * layer.tup("padding")[0]
        m = re.search(r"got padding=(\d+) and kernel_size=(\d+)", message)
        if m and layer.ndim == 1:
            assert (int(m.group(1)), int(m.group(2))) == \
                (layer.tup("padding")[0], layer.tup("kernel_size")[0])
    assert len(seen) == 4, seen


def test_pool_padding_limit_is_half_the_kernel_rounded_down():
    """torch: pad <= kernel_size // 2 (so kernel 3 takes padding 1, not 1.5 -> 2 ... )."""
    for k in range(1, 8):
        arith.pool_out(10, k, 1, k // 2)
        with pytest.raises(ShapeError, match="pad should be at most half of kernel size"):
            arith.pool_out(10, k, 1, k // 2 + 1)


def test_trace_names_the_failing_layer():
    good, bad = parse_layer("MaxPool1d(2)"), parse_layer("Conv1d(1, 1, 9)")
    inner = _error([bad], [1, 1, 2])
    assert inner.startswith(f"{bad}: ")
    assert _error([good, bad], [1, 1, 4]).startswith(f"layer 2 {bad}: padded input size 2 ")
    assert _error([bad, good], [1, 1, 4]).startswith(f"layer 1 {bad}: ")
    assert output_shape([], [1, 2, 3]) == (1, 2, 3)


# ------------------------------------------------------------------ windows and equivalence

def test_windows_refuse_dilated_max_pools():
    with pytest.raises(ShapeError, match="windows are contiguous only with dilation 1"):
        pool_windows(parse_layer("MaxPool1d(2, dilation=2)"), [1, 1, 8])
    with pytest.raises(ShapeError, match="is not a pooling layer: it has no windows"):
        pool_windows(parse_layer("Conv1d(1, 1, 2)"), [1, 1, 8])


def test_read_counts_and_overlap_from_the_golden_windows():
    """Independent definitions: a cell's count is the windows containing it; windows overlap
    when two consecutive ones share a cell."""
    seen = set()
    for v in golden("windows"):
        size = v["input_shape"][-len(v["windows"])]
        wins = [tuple(w) for w in v["windows"][0]]
        counts = [sum(a <= c < b for a, b in wins) for c in range(size)]
        assert read_counts(wins, size) == counts
        shared = any(set(range(*a)) & set(range(*b)) for a, b in zip(wins, wins[1:], strict=False))
        assert windows_overlap(wins) == shared
        seen.add(shared)
    assert seen == {True, False}
    assert read_counts([(-1, 2), (1, 9)], 3) == [sum(a <= c < b for a, b in [(-1, 2), (1, 9)])
                                                for c in range(3)]


def test_recipe_guess_is_the_popular_recipe():
    """stride = in // out, kernel = in - (out-1)*stride: always out windows; torch finds it
    equal whenever out divides in."""
    for v in golden("equivalence"):
        if v["kind"] != "equivalence_search":
            continue
        size, layer = v["input_shape"][-1], Layer.from_json(v["layer"])
        out = layer.get("output_size")
        out = size if out is None else out
        if out > size:
            continue
        k, s = recipe_guess(size, out)
        assert s == size // out and arith.pool_out(size, k, s) == out
        if size % out == 0:
            assert [k, s] in v["equal"]


def test_fixed_layer_for_keeps_max_or_avg_and_the_golden_values():
    """The fixed pool computes the same values as the adaptive one (torch's outputs)."""
    checked = 0
    for v in golden("values"):
        if len(v["layers"]) != 1 or not v["layers"][0]["type"].startswith("Adaptive"):
            continue
        (layer,) = [Layer.from_json(x) for x in v["layers"]]
        shape = list(np.array(v["input"]).shape)
        try:
            fixed = fixed_layer_for(layer, shape)
        except CardgenError:
            continue
        if fixed is None:
            continue
        assert fixed.type == layer.type.replace("Adaptive", "")
        got = np.array(to_nested(forward([fixed], v["input"])), dtype=float)
        assert np.allclose(got, np.array(v["output"], dtype=float)), (layer, fixed)
        checked += 1
    assert checked >= 50
    for size in range(1, 12):
        for out in range(1, size + 1):
            pair = fixed_equivalent(size, out)
            if pair:
                assert pair[0] >= 1 and pair[1] >= 1


# ------------------------------------------------------------------ exact values

def _avg_vectors() -> list[dict[str, Any]]:
    return [v for v in golden("values") if len(v["layers"]) == 1 and
            "Avg" in v["layers"][0]["type"]]


def test_averages_are_exact_fractions_and_floats_only_when_asked():
    for v in _avg_vectors()[:200]:
        layers = [Layer.from_json(x) for x in v["layers"]]
        y = forward(layers, v["input"])
        flat = y.flat
        assert all(type(x) is Fraction for x in flat), layers
        exact = to_nested(y, exact=True)
        assert np.array(exact, dtype=object).ravel().tolist() == flat
        floats = to_nested(y)
        assert all(type(x) is float for x in np.array(floats, dtype=object).ravel().tolist())
        assert np.allclose(np.array(floats, dtype=float), np.array(v["output"], dtype=float))


def test_float_inputs_scale_the_outputs():
    """Pooling is positively homogeneous: halving the input halves the output."""
    for v in _avg_vectors()[:100]:
        layers = [Layer.from_json(x) for x in v["layers"]]
        halves = (np.array(v["input"], dtype=object) * 0.5).tolist()
        got = np.array(to_nested(forward(layers, halves)), dtype=float)
        assert np.allclose(got, 0.5 * np.array(v["output"], dtype=float))


def test_mixed_ints_and_floats_keep_their_values():
    identity = [parse_layer("MaxPool1d(1)")]
    row = [[1, 2.5, -3, 0.25]]
    got = to_nested(forward(identity, row))
    assert got == row and [type(v) for v in got[0]] == [type(v) for v in row[0]]


@pytest.mark.parametrize("bad", [[[True, 1]], [["1", 2]], [[1, [2]]], [[None, 1]]])
def test_values_must_be_numbers(bad):
    with pytest.raises(ShapeError, match="^values must be a rectangular nested list of numbers$"):
        forward([parse_layer("MaxPool1d(1)")], bad)


def test_the_cell_limit_is_inclusive():
    assert len(values._exact([0] * values.MAX_CELLS).flat) == values.MAX_CELLS
    with pytest.raises(ShapeError, match=f"tensor larger than the limit of {values.MAX_CELLS} "
                                         "cells"):
        values._exact([0] * (values.MAX_CELLS + 1))


def test_layers_with_weights_have_no_exact_values():
    with pytest.raises(ShapeError, match="^Conv1d: values depend on random weights; only "
                                         "pooling and Flatten layers have exact values$"):
        forward([parse_layer("Conv1d(1, 1, 1)")], [[[1, 2]]])





def _expected_message(layer: Layer, shape: list[int]) -> tuple[str, str] | None:
    """(category, the message cardgen gives) for refusals whose wording is fixed."""
    n, t = layer.ndim, layer.type
    if layer.kind == "flatten":
        rank = max(len(shape), 1)
        for name in ("start_dim", "end_dim"):
            v = layer.get(name)
            if not -rank <= v < rank:
                return "flatten range", (f"Flatten: {name}={v} is out of range for a "
                                         f"{len(shape)}-D input (expected [{-rank}, {rank - 1}])")
        return "flatten order", "Flatten: start_dim cannot come after end_dim"
    if layer.kind == "linear":
        last = shape[-1] if shape else None
        return "linear", (f"Linear expects the last dim to be in_features="
                          f"{layer.get('in_features')}, got {last} (shape {list(shape)})")
    if layer.kind == "adaptive_avg" and n > 1 and all(o == 1 for o in layer.tup("output_size")):
        return None  # torch's mean path
    if len(shape) not in (n + 1, n + 2):
        return "rank", (f"{t} expects a {n + 1}-D (unbatched) or {n + 2}-D (batched) input, "
                        f"got shape {list(shape)}")
    if layer.kind in ("conv", "conv_transpose") and shape[-n - 1] != layer.get("in_channels"):
        return "channels", (f"{t} expects {layer.get('in_channels')} input channels, got "
                            f"{shape[-n - 1]} (shape {list(shape)})")
    if t == "AvgPool3d":
        for size, k, p in zip(shape[-3:], layer.tup("kernel_size"), layer.tup("padding"),
                              strict=True):
            if size < k:
                return "avgpool3d", (f"input size {size} is smaller than kernel size {k}: "
                                     "AvgPool3d needs the unpadded input to hold the kernel")
            if p > k // 2:
                return None  # the earlier dim fails for its padding
    return None


def test_refusals_say_why_in_one_fixed_line():
    """Where torch refuses (golden error vectors), cardgen's one line names the numbers."""
    seen = set()
    for layer, shape, _ in single_layer_shapes(*CONVS, *CONVTS, *POOLS, *ADAPTIVE, "Flatten",
                                               "Linear", errors=True):
        expected = _expected_message(layer, shape)
        if expected is None:
            continue
        category, text = expected
        with pytest.raises(ShapeError) as info:
            layer_step(layer, shape)
        assert str(info.value) == text, (layer, shape)
        seen.add(category)
    assert seen == {"flatten range", "flatten order", "linear", "rank", "channels",
                    "avgpool3d"}, seen


# ------------------------------------------------------------------ the layer parser

@pytest.mark.parametrize("text", ["1,3,224,224", "1x3x224x224", " 2 , 3 x 4 ", "7"])
def test_parse_shape_reads_every_size(text):
    assert parse_shape(text) == tuple(int(d) for d in re.findall(r"\d+", text))


@pytest.mark.parametrize("text", ["", "1,,2", "a", "-1", "1.5", "1;2", "1," * 100 + "1"])
def test_parse_shape_refuses_other_text(text):
    with pytest.raises(LayerSyntaxError) as info:
        parse_shape(text)
    assert str(info.value) == f"--input {text!r}: expected sizes such as 1,3,224,224"


def test_parse_shape_limits():
    longest = "1," * 99 + "11"
    assert len(longest) == 200 and len(parse_shape(longest)) == 100
    for text in ("0", "1,0", str(MAX_INT + 1)):
        with pytest.raises(LayerSyntaxError) as info:
            parse_shape(text)
        assert str(info.value) == \
            f"--input {text!r}: every size must be between 1 and {MAX_INT}"
    assert parse_shape(f"1,{MAX_INT}") == (1, MAX_INT)


REFUSED = [  # (text, the message after the quoted text)
    ("Conv2d(3, 64, x)", "only literal arguments are allowed (found Name)"),
    ("Conv2d(3, 64, -x)", "only literal arguments are allowed"),
    ("Conv2d(3, 64, 1.5)", "1.5 is not an allowed literal"),
    ("Conv2d(3, 64, 3, __x=1)", "dunder names are not allowed"),
    ("Conv2d(", "not a layer expression (SyntaxError)"),
    ("3", "expected a call such as Conv2d(3, 64, 3)"),
    ("f()(1)", "expected a layer name such as nn.Conv2d"),
    ("torch.Conv2d(1, 1, 1)", "only the prefixes nn. and torch.nn. are allowed"),
    ("Foo(1)", "unknown layer 'Foo'; allowed: " + ", ".join(sorted(LAYER_TYPES))),
    ("Conv2d(*a)", "*args are not allowed"),
    ("Conv2d(**a)", "**kwargs are not allowed"),
    ("Conv2d(1, 1, 1, stride=x)", "only literal arguments are allowed (found Name)"),
]


@pytest.mark.parametrize("text, why", REFUSED, ids=[f"refusal{i}" for i in range(len(REFUSED))])
def test_parser_refusals_quote_the_text(text, why):
    with pytest.raises(LayerSyntaxError) as info:
        parse_layer(text)
    assert str(info.value) == f"{text!r}: {why}"


def test_parser_limits_and_prefixes():
    fits = "Conv2d(1, 1, 1" + " " * (MAX_TEXT - 15) + ")"
    assert len(fits) == MAX_TEXT and parse_layer(fits) == parse_layer("Conv2d(1, 1, 1)")
    with pytest.raises(LayerSyntaxError, match=f"^layer text longer than {MAX_TEXT} characters$"):
        parse_layer(fits + " ")
    assert parse_layer("torch.nn.Conv2d(1, 1, 1)") == parse_layer("nn.Conv2d(1, 1, 1)")
    with pytest.raises(LayerSyntaxError, match="not a literal"):
        parse_layer("Conv2d(1, 1, -'a')")
    with pytest.raises(ShapeError) as info:
        parse_layer("Conv2d(3, 64, 0)")
    assert str(info.value) == "Conv2d(3, 64, 0): Conv2d: kernel_size must be at least 1, got 0"


def test_argument_checks_name_the_layer_and_argument():
    cases = [
        (dict(in_channels=1.5, out_channels=1, kernel_size=1), LayerSyntaxError,
         "Conv2d: in_channels must be an integer, got 1.5"),
        (dict(in_channels=MAX_INT + 1, out_channels=1, kernel_size=1), LayerSyntaxError,
         f"Conv2d: in_channels={MAX_INT + 1} is too large"),
        (dict(in_channels=1, out_channels=1, kernel_size=(1, 2, 3)), LayerSyntaxError,
         "Conv2d: kernel_size must be an int or a tuple of 2 ints, got (1, 2, 3)"),
        (dict(in_channels=1, out_channels=1, kernel_size=(1, 0)), ShapeError,
         "Conv2d: kernel_size must be at least 1, got 0"),
        (dict(in_channels=1, out_channels=1, kernel_size=1, bias=1), LayerSyntaxError,
         "Conv2d: bias must be True or False, got 1"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error) as info:
            Layer.make("Conv2d", **kwargs)
        assert str(info.value) == message
    assert Layer.make("Linear", in_features=MAX_INT, out_features=1).get("in_features") == MAX_INT
    with pytest.raises(LayerSyntaxError, match="^MaxPool2d: kernel_size must be an integer, "
                                               "got None$"):
        Layer.make("MaxPool2d", kernel_size=(None, 2))
    with pytest.raises(ShapeError, match="output_size must be at least 1, got 0"):
        Layer.make("AdaptiveAvgPool2d", output_size=(None, 0))


def test_avgpool1d_has_no_divisor_override():
    """torch.nn.AvgPool1d takes five arguments; AvgPool2d/3d add divisor_override."""
    with pytest.raises(LayerSyntaxError, match="unexpected keyword argument 'divisor_override'"):
        parse_layer("AvgPool1d(2, divisor_override=1)")
    with pytest.raises(LayerSyntaxError, match="takes at most 5 positional arguments, got 6"):
        parse_layer("AvgPool1d(2, 2, 0, False, True, 1)")
    assert parse_layer("AvgPool2d(2, 2, 0, False, True, 1)").get("divisor_override") == 1


def test_layer_text_is_the_canonical_constructor():
    """str(layer): required arguments positional, others by name, 1-tuples with a comma;
    it parses back to the same layer (checked on every golden layer)."""
    for text in ("Conv2d(1, 1, (3, 4), stride=2)", "Conv1d(1, 1, (3,))",
                 "MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", "Linear(4, 2)",
                 "AdaptiveAvgPool2d((None, 7))", "Flatten(start_dim=0)"):
        assert str(parse_layer(text)) == text
    for v in golden("shapes")[::7]:
        for data in v["layers"]:
            try:
                layer = Layer.from_json(data)
            except CardgenError:
                continue
            assert parse_layer(str(layer)) == layer


# ------------------------------------------------------------------ the .apkg writer

def _rows(apkg: Path) -> dict[str, Any]:
    conn = sqlite3.connect(":memory:")
    with zipfile.ZipFile(apkg) as zf:
        conn.deserialize(zf.read("collection.anki2"))
    rows = {table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("notes", "cards")}
    decks, models = conn.execute("SELECT decks, models FROM col").fetchone()
    rows["decks"], rows["models"] = json.loads(decks), json.loads(models)
    return rows


def test_writer_rows_equal_genankis_own(tmp_path):
    """genanki, writing the same notes note by note (due = position), gives the same notes,
    cards, deck and note type: ids, times, tags, fields, every column. Over 500 notes, so
    the writer's batches are crossed."""
    import genanki
    from test_anki_format import genanki_model
    from test_anki_writer import TS, _fake_notes, _model

    notes = _fake_notes(1103, decks=("Drills",))
    model = _model()
    ours = tmp_path / "ours.apkg"
    write_apkg(ours, notes, model, timestamp=TS, deck_descriptions={"Drills": "All of it"})
    deck = genanki.Deck(stable_id("Drills"), "Drills", "All of it")
    # genanki's own Model, schema and writer: what cardgen.genanki_format must reproduce
    theirs_model = genanki_model(model)
    for position, n in enumerate(notes, start=1):
        deck.add_note(genanki.Note(model=theirs_model, fields=list(n.fields),
                                   tags=list(n.tags), guid=n.guid, due=position))
    theirs = tmp_path / "theirs.apkg"
    genanki.Package(deck).write_to_file(theirs, timestamp=TS)
    assert _rows(ours) == _rows(theirs)
    # and a deck without a description, as genanki writes it
    write_apkg(ours, notes[:3], model, timestamp=TS)
    deck = genanki.Deck(stable_id("Drills"), "Drills")
    for position, n in enumerate(notes[:3], start=1):
        deck.add_note(genanki.Note(model=theirs_model, fields=list(n.fields),
                                   tags=list(n.tags), guid=n.guid, due=position))
    genanki.Package(deck).write_to_file(theirs, timestamp=TS)
    assert _rows(ours) == _rows(theirs)


def test_ids_start_at_the_timestamp_in_ms_and_never_at_zero(tmp_path):
    from test_anki_writer import _fake_notes, _model

    for ts, first in ((0.0, 1), (0.0005, 1), (12.5, 12_500)):
        write_apkg(tmp_path / "a.apkg", _fake_notes(2), _model(), timestamp=ts)
        rows = _rows(tmp_path / "a.apkg")
        assert rows["notes"][0][0] == first
        assert sorted(r[0] for r in rows["notes"] + rows["cards"]) == \
            list(range(first, first + 4))


def test_an_empty_deck_keeps_the_note_type_in_the_default_deck(tmp_path):
    from test_anki_writer import _model

    write_apkg(tmp_path / "a.apkg", [], _model(), timestamp=0.0)
    rows = _rows(tmp_path / "a.apkg")
    assert rows["notes"] == [] and rows["cards"] == []
    (model,) = rows["models"].values()
    assert str(model["did"]) in rows["decks"] and rows["decks"][str(model["did"])]["name"] == \
        "Default"


def test_the_temp_file_is_hidden_beside_the_target(tmp_path, monkeypatch):
    """The atomic write renames a hidden '.NAME.*.tmp' in the target's own folder (same
    file system, so the rename is atomic)."""
    from test_anki_writer import _fake_notes, _model

    import cardgen.anki

    moves = []
    real = os.replace
    monkeypatch.setattr(cardgen.anki.os, "replace",
                        lambda src, dst: (moves.append((Path(src), Path(dst))), real(src, dst)))
    target = tmp_path / "deck.apkg"
    write_apkg(target, _fake_notes(2), _model(), timestamp=0.0)
    ((src, dst),) = moves
    assert dst == target and src.parent == tmp_path
    assert src.name.startswith(".deck.apkg.") and src.name.endswith(".tmp")


def test_the_collection_is_deflated_at_level_1(tmp_path, monkeypatch):
    """Level 1 (README, Performance): the stored stream is zlib's level-1 raw deflate
    (in one part here: an entry of one part is exactly zlib's stream)."""
    import zlib

    from test_anki_writer import _fake_notes, _model

    import cardgen.zipout

    monkeypatch.setattr(cardgen.zipout, "PART", 1 << 30)
    path = tmp_path / "a.apkg"
    write_apkg(path, _fake_notes(40), _model(), timestamp=0.0)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("collection.anki2")
        image = zf.read(info)
    fast = zlib.compressobj(1, zlib.DEFLATED, -15)
    assert info.compress_size == len(fast.compress(image) + fast.flush())


def test_zip_times_do_not_depend_on_the_time_zone(tmp_path, monkeypatch):
    import time

    from test_anki_writer import _fake_notes, _model

    ts = 1_234_567_890.0
    when = datetime.fromtimestamp(ts, UTC).timetuple()[:6]
    for zone in ("America/New_York", "Asia/Tokyo"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        try:
            write_apkg(tmp_path / "a.apkg", _fake_notes(2), _model(), timestamp=ts)
        finally:
            monkeypatch.delenv("TZ")
            time.tzset()
        with zipfile.ZipFile(tmp_path / "a.apkg") as zf:
            assert {i.date_time for i in zf.infolist()} == {when}, zone


def test_guid_canonical_json_is_ascii():
    """note_guid hashes the params' canonical JSON: sorted keys, compact, ASCII escapes."""
    from cardgen.anki import guid_from_key, note_guid

    params = {"b": "caf\u00e9", "a": [1, 2]}
    assert note_guid("f", params) == guid_from_key("f", '{"a":[1,2],"b":"caf\\u00e9"}')


def test_zip_times_are_utc_and_clamped_to_dos_dates(tmp_path):
    from test_anki_writer import _fake_notes, _model

    first = datetime(1980, 1, 1, tzinfo=UTC).timestamp()
    last = datetime(2107, 12, 31, 23, 59, 58, tzinfo=UTC).timestamp()
    day = 86_400
    for ts in (0.0, first - 1, first, first + 40 * day, 1_234_567_890.0, last - 40 * day, last,
               last + 2, last + 10 ** 9):
        path = tmp_path / f"{int(ts)}.apkg"
        write_apkg(path, _fake_notes(2), _model(), timestamp=ts)
        when = datetime.fromtimestamp(min(max(ts, first), last), UTC).timetuple()[:6]
        with zipfile.ZipFile(path) as zf:
            assert {i.date_time for i in zf.infolist()} == {when}, ts


def test_written_deck_has_ordinary_file_permissions(tmp_path):
    from test_anki_writer import _fake_notes, _model

    path = tmp_path / "a.apkg"
    write_apkg(path, _fake_notes(2), _model(), timestamp=0.0)
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_writer_refusals_say_which_note_and_why(tmp_path):
    from test_anki_writer import _fake_notes, _model

    good = _fake_notes(3)
    n = good[0]
    cases = [
        ([NoteData(n.fields[:3], n.tags, n.guid, n.deck)],
         f"note {n.guid!r} has 3 fields, note type has 4"),
        ([NoteData(n.fields, n.tags, "", n.deck)], "note 1 has no GUID"),
        ([good[1], NoteData(n.fields, ("ok", "two words"), n.guid, n.deck)],
         f"note {n.guid!r}: tag 'two words' is empty or has a space"),
        ([NoteData(n.fields, ("",), n.guid, n.deck)], f"note {n.guid!r}: tag '' is empty or has a "
                                                      "space"),
        ([NoteData(n.fields, n.tags, n.guid, "A::::B")],
         "invalid deck name 'A::::B': empty component"),
        ([NoteData(n.fields, n.tags, n.guid, "A:: ")], "invalid deck name 'A:: ': empty component"),
        ([NoteData(n.fields, n.tags, n.guid, "")], "invalid deck name '': empty component"),
        ([NoteData(("", *n.fields[1:]), n.tags, n.guid, n.deck)],
         f"note {n.guid!r} makes no card (empty Front field?)"),
    ]
    for notes, message in cases:
        with pytest.raises(ValueError) as info:
            write_apkg(tmp_path / "a.apkg", notes, _model(), timestamp=0.0)
        assert str(info.value) == message
    with pytest.raises(ValueError) as info:
        write_apkg(tmp_path / "a.apkg", good, _model(), timestamp=0.0,
                   deck_descriptions={"Typo": "x", "Also": "y"})
    assert str(info.value) == "deck_descriptions names decks without notes: Also, Typo"
    with pytest.raises(ValueError) as info:
        write_apkg(tmp_path / "a.apkg", good, _model(), timestamp=-1.0)
    assert str(info.value) == "timestamp must be a finite, non-negative number, got -1.0"
    assert not any(tmp_path.iterdir())


def test_only_front_back_note_types(tmp_path):
    import genanki
    from test_anki_writer import _fake_notes, _model

    model = _model()
    model.model_type = genanki.Model.CLOZE
    with pytest.raises(ValueError, match="^only front/back note types are supported$"):
        write_apkg(tmp_path / "a.apkg", _fake_notes(2), model, timestamp=0.0)


def test_build_timestamp_strips_and_explains(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", " 1700000000\n")
    assert build_timestamp() == 1_700_000_000.0
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "-5")
    with pytest.raises(ValueError) as info:
        build_timestamp()
    assert str(info.value) == ("SOURCE_DATE_EPOCH must be a non-negative integer (seconds since "
                               "1970-01-01 UTC), got '-5'")


CONV = {"in_channels": 4, "out_channels": 4, "kernel_size": 3}
INVALID = [  # (type, arguments, error, message): each argument check names layer and argument
    ("MaxPool2d", {"kernel_size": 2, "ceil_mode": 1}, LayerSyntaxError,
     "MaxPool2d: ceil_mode must be True or False, got 1"),
    ("AvgPool2d", {"kernel_size": 2, "count_include_pad": 0}, LayerSyntaxError,
     "AvgPool2d: count_include_pad must be True or False, got 0"),
    ("MaxPool2d", {"kernel_size": 2, "return_indices": "yes"}, LayerSyntaxError,
     "MaxPool2d: return_indices must be True or False, got 'yes'"),
    ("MaxPool2d", {"kernel_size": 2, "return_indices": True}, LayerSyntaxError,
     "MaxPool2d: return_indices=True returns a tuple; not supported"),
    ("Conv2d", {**CONV, "out_channels": 0}, ShapeError,
     "Conv2d: out_channels must be at least 1, got 0"),
    ("Conv2d", {**CONV, "stride": 0}, ShapeError, "Conv2d: stride must be at least 1, got 0"),
    ("Conv2d", {**CONV, "dilation": (1, 0)}, ShapeError,
     "Conv2d: dilation must be at least 1, got 0"),
    ("Conv2d", {**CONV, "groups": 0}, ShapeError, "Conv2d: groups must be at least 1, got 0"),
    ("Conv2d", {**CONV, "groups": 3}, ShapeError,
     "Conv2d: in_channels must be divisible by groups"),
    ("Conv2d", {**CONV, "in_channels": 6, "groups": 3}, ShapeError,
     "Conv2d: out_channels must be divisible by groups"),
    ("Conv2d", {**CONV, "padding_mode": "reflect"}, LayerSyntaxError,
     "Conv2d: only padding_mode='zeros' is supported"),
    ("Conv2d", {**CONV, "padding": "full"}, ShapeError,
     "Conv2d: invalid padding string 'full', should be one of {'valid', 'same'}"),
    ("Conv2d", {**CONV, "padding": "same", "stride": (1, 2)}, ShapeError,
     "Conv2d: padding='same' is not supported for strided convolutions"),
    ("Conv2d", {**CONV, "padding": -1}, ShapeError, "Conv2d: padding must be at least 0, got -1"),
    ("ConvTranspose2d", {**CONV, "output_padding": (0, -1)}, ShapeError,
     "ConvTranspose2d: output_padding must be at least 0, got -1"),
    ("ConvTranspose2d", {**CONV, "padding": "same"}, LayerSyntaxError,
     "ConvTranspose2d: padding must be an integer, got 'same'"),
    ("MaxPool2d", {"kernel_size": 2, "stride": 0}, ShapeError,
     "MaxPool2d: stride must be at least 1, got 0"),
    ("MaxPool2d", {"kernel_size": 2, "dilation": 0}, ShapeError,
     "MaxPool2d: dilation must be at least 1, got 0"),
    ("AvgPool2d", {"kernel_size": 2, "padding": -1}, ShapeError,
     "AvgPool2d: padding must be at least 0, got -1"),
    ("AvgPool2d", {"kernel_size": 2, "divisor_override": 0}, ShapeError,
     "AvgPool2d: divisor_override must be at least 1, got 0"),
    ("AdaptiveMaxPool1d", {"output_size": None}, LayerSyntaxError,
     "AdaptiveMaxPool1d: output_size must be an integer, got None"),
    ("Flatten", {"start_dim": "a"}, LayerSyntaxError,
     "Flatten: start_dim must be an integer, got 'a'"),
    ("Flatten", {"end_dim": 1.0}, LayerSyntaxError, "Flatten: end_dim must be an integer, got 1.0"),
    ("Linear", {"in_features": 0, "out_features": 1}, ShapeError,
     "Linear: in_features must be at least 1, got 0"),
    ("Linear", {"in_features": 1, "out_features": -1}, ShapeError,
     "Linear: out_features must be at least 0, got -1"),
]


@pytest.mark.parametrize("type_, kwargs, error, message", INVALID,
                         ids=[f"invalid{i}" for i in range(len(INVALID))])
def test_each_argument_check_names_the_layer_and_the_argument(type_, kwargs, error, message):
    with pytest.raises(error) as info:
        Layer.make(type_, **kwargs)
    assert type(info.value) is error and str(info.value) == message


def test_the_largest_int_is_accepted():
    """parse_layer builds afresh (Layer.make may answer from its cache)."""
    assert parse_layer(f"Linear({MAX_INT}, 1)").get("in_features") == MAX_INT
    with pytest.raises(LayerSyntaxError, match=f"^Linear: in_features={MAX_INT + 1} is too large"):
        parse_layer(f"Linear({MAX_INT + 1}, 1)")


def test_layer_json_and_binding_refusals_say_why():
    allowed = ", ".join(sorted(LAYER_TYPES))
    cases = [
        (["Conv2d"], 'a layer must be {"type": ..., "args": {...}}'),
        ({"type": "Conv2d", "args": [1]}, "'Conv2d': args must be an object"),
        ({"type": "Foo", "args": {}}, f"unknown layer type 'Foo'; allowed: {allowed}"),
        ({"type": 5, "args": {}}, f"unknown layer type 5; allowed: {allowed}"),
    ]
    for data, message in cases:
        with pytest.raises(LayerSyntaxError) as info:
            Layer.from_json(data)
        assert str(info.value) == message
    for text, message in (("Conv2d(1, 1, 1, in_channels=1)",
                           "Conv2d() got multiple values for argument 'in_channels'"),
                          ("Conv2d(1)", "Conv2d() missing required argument 'out_channels'"),
                          ("Conv2d(1, 1)", "Conv2d() missing required argument 'kernel_size'")):
        with pytest.raises(LayerSyntaxError) as info:
            parse_layer(text)
        assert str(info.value) == message


def test_arguments_are_kept_in_the_constructors_order():
    """Layer.args (and so its JSON in a note's Spec) follow torch's positional order."""
    layer = parse_layer("Conv2d(1, 1, 3, padding=1, dilation=2, stride=2)")
    assert [name for name, _ in layer.args] == ["in_channels", "out_channels", "kernel_size",
                                                "stride", "padding", "dilation"]
    assert list(layer.to_json()["args"]) == [name for name, _ in layer.args]


def test_exact_inputs_from_numpy_lists_and_tuples_agree():
    for v in _avg_vectors()[:50]:
        layers = [Layer.from_json(x) for x in v["layers"]]
        want = forward(layers, v["input"]).flat
        assert forward(layers, np.array(v["input"], dtype=object)).flat == want


@pytest.mark.parametrize("bad", [[[1, 2], [3]], [[1], 5], [[1, 2], [True, 3]], [["1"]]])
def test_ragged_or_non_numeric_inputs_are_refused_by_name(bad):
    with pytest.raises(ShapeError, match="^values must be a rectangular nested list of "
                                         "numbers$"):
        values._exact(bad)


def test_empty_and_scalar_tensors_keep_their_shape():
    assert values._exact([[]]).shape == (1, 0) and values._exact([[]]).tolist() == [[]]
    assert values.Exact((), [5]).tolist() == 5
    assert values.Exact((2, 3), list(range(6))).tolist() == [[0, 1, 2], [3, 4, 5]]
