"""The layer parser: PyTorch constructor text -> Layer, literals only; and `cardgen solve`.

Expected shapes come from torch when it is importable, else from the golden
vectors recorded from torch (tests/golden/shapes.json.gz, source "example").
"""

from __future__ import annotations

import ast
import builtins
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import require

from cardgen.errors import LayerSyntaxError
from cardgen.layers import MAX_TEXT, Layer, parse_layer

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_SHAPES = Path(__file__).parent / "golden" / "shapes.json.gz"


def _torch_or_none() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch

# text -> the keyword arguments torch's constructor binds (positionals named)
FORMS: dict[str, tuple[str, dict[str, Any]]] = {
    "Conv2d(3, 64, 7, stride=2, padding=3)":
        ("Conv2d", {"in_channels": 3, "out_channels": 64, "kernel_size": 7, "stride": 2,
                    "padding": 3}),
    "nn.AdaptiveAvgPool2d((5, 7))": ("AdaptiveAvgPool2d", {"output_size": (5, 7)}),
    "nn.AdaptiveAvgPool2d((None, 7))": ("AdaptiveAvgPool2d", {"output_size": (None, 7)}),
    "torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)":
        ("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    "nn.Flatten()": ("Flatten", {}),
    "nn.Linear(512, 10)": ("Linear", {"in_features": 512, "out_features": 10}),
    "  nn.Conv1d(1, 2, (3,), padding='same', bias=False)  ":
        ("Conv1d", {"in_channels": 1, "out_channels": 2, "kernel_size": (3,),
                    "padding": "same", "bias": False}),
    "ConvTranspose3d(4, 2, [3, 3, 1], stride=(2, 2, 1), output_padding=1)":
        ("ConvTranspose3d", {"in_channels": 4, "out_channels": 2, "kernel_size": (3, 3, 1),
                             "stride": (2, 2, 1), "output_padding": 1}),
    "AvgPool2d(2, count_include_pad=False, divisor_override=3)":
        ("AvgPool2d", {"kernel_size": 2, "count_include_pad": False, "divisor_override": 3}),
    "nn.Flatten(0, -1)": ("Flatten", {"start_dim": 0, "end_dim": -1}),
}


@pytest.mark.parametrize("text", FORMS)
def test_parse_binds_arguments_like_torch(text):
    layer = parse_layer(text)
    type_, args = FORMS[text]
    assert layer.type == type_
    assert layer.kwargs == args


@pytest.mark.parametrize("text", FORMS)
def test_round_trip_json_and_str(text):
    layer = parse_layer(text)
    data = json.loads(json.dumps(layer.to_json()))
    assert Layer.from_json(data) == layer
    assert parse_layer(str(layer)) == layer
    assert parse_layer(f"nn.{layer}") == layer
    assert str(Layer.from_json(data)) == str(layer)


def _old_text(layer: Layer) -> str:
    """Layer.__str__ as it was written before: _fmt for tuples, repr for the rest."""
    from cardgen.layers import _SHOWN, _fmt

    parts = []
    for name, required in _SHOWN[layer.type]:
        if name in layer.kwargs:
            value = layer.kwargs[name]
            value = _fmt(value) if isinstance(value, tuple) else repr(value)
            parts.append(value if required else f"{name}={value}")
    return f"{layer.type}({', '.join(parts)})"


@pytest.mark.parametrize("text", [*FORMS, "Upsample(scale_factor=(2.0, 1.5))",
                                  "ZeroPad2d((1, 0, 2, 3))", "Upsample(size=(4,))",
                                  "ConstantPad1d(2, -0.5)"])
def test_str_is_the_text_fmt_gives(text):
    layer = parse_layer(text)
    assert str(layer) == _old_text(layer)
    # a Layer made directly, arguments out of torch's order, keeps torch's order
    direct = Layer(layer.type, tuple(reversed(layer.args)))
    assert str(direct) == _old_text(layer)


def test_to_json_spells_tuples_as_lists():
    assert parse_layer("nn.AdaptiveAvgPool2d((None, 7))").to_json() == \
        {"type": "AdaptiveAvgPool2d", "args": {"output_size": [None, 7]}}


@pytest.mark.parametrize("text", FORMS)
def test_torch_builds_the_same_layer(text):
    """torch, given the same (trusted, literal) text, stores the same arguments."""
    torch = require("torch", reason="compare parsed arguments with torch's own constructor")
    layer = parse_layer(text)
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.to_json()["args"].items()}
    module = getattr(torch.nn, layer.type)(**args)
    for name, value in layer.kwargs.items():
        stored = getattr(module, name)
        if name == "bias":
            assert (stored is not None) == value
        elif name in PER_DIM and not isinstance(value, str):
            # torch keeps an int for pools and a tuple for convs; compare per dim
            expand = (stored,) * layer.ndim if isinstance(stored, int) else tuple(stored)
            assert expand == layer.tup(name), name
        else:
            assert stored == value, name


PER_DIM = {"kernel_size", "stride", "padding", "dilation", "output_padding"}


# ------------------------------------------------------------------ rejection

def _payloads(sentinel: Path) -> list[str]:
    s = str(sentinel)
    return [
        "__import__('os').system('true')",
        f"__import__('os').system('touch {s}')",
        f"Conv2d(__import__('os').system('touch {s}'), 1, 1)",
        f"Conv2d(open({s!r}, 'w').write('x'), 1, 1)",
        "os.system('true')",                      # a call, not a layer
        "Conv2d(x, 1, 1)",                        # a name
        "Conv2d(3, 1, kernel)",
        "Conv2d(3, 1, 1, padding=same)",
        "Conv2d(int('3'), 1, 1)",                 # a call inside the arguments
        f"Conv2d(3, 1, len(open({s!r}, 'w').name))",
        "np.Conv2d(1, 1, 1)",                     # attribute chains other than nn./torch.nn.
        "torch.Conv2d(1, 1, 1)",
        "nn.modules.Conv2d(1, 1, 1)",
        "torch.nn.functional.Conv2d(1, 1, 1)",
        "os.path.Conv2d(1, 1, 1)",
        "nn.Conv2d.mro(1, 1, 1)",
        "Conv2d(1, 1, 1).weight",
        "(lambda: 0)()",                          # lambda
        "Conv2d(lambda: 3, 1, 1)",
        "Conv2d(3, 1, 1, padding=f'same')",       # f-strings
        "Conv2d(3, 1, 1, padding=f'{3}')",
        f"Conv2d(3, 1, 1, padding=f'{{open({s!r}, \"w\")}}')",
        "Conv2d(3, 1, [k for k in (1, 2)])",      # comprehensions
        "AdaptiveAvgPool2d(tuple(i for i in (1, 2)))",
        "Conv2d(3, 1, {k for k in (1,)})",
        "Conv2d(3, 1, 1, padding={k: k for k in (1,)})",
        "Conv2d(3, 1, (1, 2)[0])",                # subscripts
        "Conv2d(3, 1, [3][0])",
        "Conv2d(3, 1, 1 + 2)",                    # binary ops
        "Conv2d(3, 64, 9 ** 9 ** 9)",             # would not finish if evaluated
        "Conv2d(3, 1, -(-2))",
        "Conv2d(3, 1, not 1)",
        "Conv2d(3, 1, 1 if 1 else 2)",
        "Conv2d(3, 1, (k := 2))",
        "Conv2d(*[3, 1, 1])",                     # starred args
        "Conv2d(3, 1, *(1,))",
        "Conv2d(3, 1, 1, **{'stride': 2})",       # **kwargs
        "Conv2d(3, 1, 1, stride=2, **{})",
        "Conv2d(3, 1, b'1')",                     # literals of other types
        "Conv2d(3, 1, 1.5)",
        "Conv2d(3, 1, 1j)",
        "Conv2d(3, 1, ...)",
        "Conv2d(3, 1, True)",
        "Conv2d(3, 1, {1: 2})",
        "Conv2d(3, 1, 10000000000000000000000)",
        "Conv2d(3, 1, 1); import os",             # statements
        "import os",
        "Conv2d",
        "Conv2d(3, 1, 1).__class__",
        "Conv2d(3, 1, 1) + Conv2d(3, 1, 1)",
        "Conv2d(3, 1, " + "(" * 300 + "1" + ")" * 300 + ")",
        "Conv2d(3, 1, " + "[" * 150 + "1" + "]" * 150 + ")",
        "Conv2d(3, 1, 1" + ", 1" * 400 + ")",
        "Conv2d(" + "1" * (MAX_TEXT + 10) + ", 1, 1)",  # huge text
        "Conv2d(3, 1, 1)" + " " * 10**6,
        "Conv2d(3, 1, 1" + "\x00" + ")",
        "Unknown2d(1, 1, 1)",
        "eval('1')",
        "exec('import os')",
        "",
    ]


LAZY_STDLIB_IMPORTS = {"collections"}  # ast.walk does `from collections import deque`


def parse_watched(monkeypatch: pytest.MonkeyPatch, texts: list[str]
                  ) -> tuple[dict[str, Any], list[str]]:
    """parse_layer on each text while imports, shells, eval/exec/open are watched.

    ``compile`` stays available only to build an AST (ast.parse uses it), never bytecode.
    """
    calls: list[str] = []
    real_import, real_compile = builtins.__import__, builtins.compile

    def spy(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"{name} called while parsing layer text")
        return record

    def watched_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name not in LAZY_STDLIB_IMPORTS:
            calls.append(f"import {name}")
        return real_import(name, *args, **kwargs)

    def ast_only_compile(source: Any, filename: Any, mode: str, flags: int = 0,
                         *args: Any, **kwargs: Any) -> Any:
        if not flags & ast.PyCF_ONLY_AST:
            calls.append(f"compile({mode!r}) to bytecode")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    outcomes: dict[str, Any] = {}
    with monkeypatch.context() as m:
        for module, attr in ((os, "system"), (os, "popen"), (subprocess, "Popen"),
                             (builtins, "eval"), (builtins, "exec"), (builtins, "open")):
            m.setattr(module, attr, spy(attr))
        m.setattr(builtins, "compile", ast_only_compile)
        m.setattr(builtins, "__import__", watched_import)
        for text in texts:
            try:
                outcomes[text] = parse_layer(text)
            except Exception as exc:  # noqa: BLE001 - judged below, outside the watch
                outcomes[text] = exc
    return outcomes, calls


def test_rejects_anything_but_literals(tmp_path, monkeypatch):
    sentinel = tmp_path / "sentinel"
    outcomes, calls = parse_watched(monkeypatch, _payloads(sentinel))
    wrong = {text[:80]: repr(result)[:120] for text, result in outcomes.items()
             if not isinstance(result, LayerSyntaxError)}
    assert not wrong, wrong
    assert not calls, f"parsing ran code: {calls}"
    assert not sentinel.exists()
    for exc in outcomes.values():
        message = str(exc)
        assert "\n" not in message and len(message) < 3 * MAX_TEXT


@pytest.mark.parametrize("text", ["Conv2d(x)", "Conv2d(x, 1, 1)", "Conv2d(3, 1, kernel)",
                                  "Conv2d(3, 1, 1, padding=same)", "nn.Conv2d(3, 1, (3, k))"])
def test_a_bare_name_is_refused_as_not_a_literal(text):
    """A name is refused by the literal check itself (not by some later, accidental error)."""
    with pytest.raises(LayerSyntaxError,
                       match=r"only literal arguments are allowed \(found Name\)"):
        parse_layer(text)


def test_watch_would_see_code_running(tmp_path, monkeypatch):
    """The watch in parse_watched works: evaluating a payload is caught."""
    sentinel = tmp_path / "sentinel"
    with monkeypatch.context() as m:
        calls: list[str] = []
        m.setattr(os, "system", lambda cmd: calls.append(cmd) or 0)
        eval(f"__import__('os').system('touch {sentinel}')")  # noqa: S307 - the control
    assert calls and not sentinel.exists()
    outcomes, calls = parse_watched(monkeypatch, ["Conv1d(1, 2, 3)"])
    assert outcomes["Conv1d(1, 2, 3)"] == Layer.make("Conv1d", in_channels=1, out_channels=2,
                                                     kernel_size=3)
    assert calls == []


def test_rejects_non_strings_and_bad_json():
    for data in ({"type": "Conv2d"}, {"type": "Conv2d", "args": [1]}, ["Conv2d", {}],
                 {"type": "os.system", "args": {}}, {"type": "Conv2d", "args": {"x": 1}},
                 {"type": "Conv2d", "args": {"in_channels": "3", "out_channels": 1,
                                             "kernel_size": 1}}):
        with pytest.raises(LayerSyntaxError):
            Layer.from_json(data)


def test_made_layers_are_reused_only_for_exactly_the_same_arguments():
    # Layer construction is cached; True == 1 and 1.0 == 1 in Python, but torch (and the
    # validation) tell them apart, so a cached layer must never stand in for them.
    good = {"in_channels": 1, "out_channels": 2, "kernel_size": 3}
    first = Layer.from_json({"type": "Conv2d", "args": good})
    assert Layer.from_json({"type": "Conv2d", "args": dict(good)}) == first
    for name, twin in (("in_channels", True), ("kernel_size", 3.0)):
        with pytest.raises(LayerSyntaxError):
            Layer.from_json({"type": "Conv2d", "args": {**good, name: twin}})
    pair = {"in_channels": 1, "out_channels": 2, "kernel_size": [3, 1]}
    assert Layer.from_json({"type": "Conv2d", "args": pair}).get("kernel_size") == (3, 1)
    for twin in ([3, True], [3, 1.0], (3, True)):
        with pytest.raises(LayerSyntaxError):
            Layer.from_json({"type": "Conv2d", "args": {**pair, "kernel_size": twin}})
    assert Layer.make("Conv2d", **{**pair, "kernel_size": (3, 1)}) == \
        Layer.from_json({"type": "Conv2d", "args": pair})

    class Three(int):  # no JSON value (the key cannot be written): made, not kept
        pass

    assert Layer.make("Conv2d", in_channels=1, out_channels=2, kernel_size=Three(3)) == first
    with pytest.raises(LayerSyntaxError):
        Layer.from_json({"type": ["Conv2d"], "args": good})


def test_keyword_layers_are_build_layers():
    # made from keywords (kept bindings of their names, a cache of Layers) or by
    # build_layer: the same Layer, arguments in torch's order, the same refusals
    from cardgen.errors import ShapeError
    from cardgen.layers import _BUILT, build_layer

    cases = [("Conv2d", {"kernel_size": 3, "out_channels": 2, "in_channels": 1}),
             ("Conv2d", {"in_channels": 1, "out_channels": 2, "kernel_size": 3,
                         "bias": False}),
             ("Conv1d", {"bias": False, "in_channels": 4, "kernel_size": [3],
                         "out_channels": 2, "groups": 2}),
             ("Upsample", {"scale_factor": 2.0, "mode": "bilinear"}),
             ("ConstantPad1d", {"value": 0.5, "padding": 2}),
             ("MaxPool2d", {"stride": None, "kernel_size": 2}),
             ("Conv2d", {"in_channels": 1, "out_channels": 2}),
             ("Conv2d", {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "x": 1}),
             ("MaxUnpool2d", {"kernel_size": 2}), ("Conv9d", {}),
             ("Conv2d", {"in_channels": 3, "out_channels": 2, "kernel_size": 3,
                         "groups": 2})]
    for _ in range(2):  # made, then found kept
        for type_, args in cases:
            try:
                want = build_layer(type_, [], dict(args))
            except (LayerSyntaxError, ShapeError) as exc:
                with pytest.raises(type(exc), match=re.escape(str(exc))):
                    Layer.from_json({"type": type_, "args": args})
                continue
            got = Layer.from_json({"type": type_, "args": args})
            assert got == want and got.args == want.args and str(got) == str(want)
            assert got.to_json() == want.to_json()
    _BUILT.clear()


# ------------------------------------------------------------------ the CLI

ACCEPTANCE = ["Conv2d(3, 64, 7, stride=2, padding=3)", "MaxPool2d(3, 2, 1)",
              "nn.AdaptiveAvgPool2d((None, 7))"]
ACCEPTANCE_INPUT = [1, 3, 224, 224]


def cardgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cardgen", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd or ROOT, env=env)


def expected_shapes(texts: list[str], input_shape: list[int]) -> list[list[int]]:
    """Each layer's output shape: from torch if importable, else from the golden vectors."""
    layers = [parse_layer(t).to_json() for t in texts]
    torch = _torch_or_none()
    if torch is not None:
        x = torch.zeros(input_shape)
        shapes = []
        with torch.no_grad():
            for data in layers:
                args = {k: tuple(v) if isinstance(v, list) else v
                        for k, v in data["args"].items()}
                x = getattr(torch.nn, data["type"])(**args)(x)
                shapes.append(list(x.shape))
        return shapes
    with gzip.open(GOLDEN_SHAPES, "rt") as f:
        vectors = json.load(f)["vectors"]
    found = {json.dumps(v["layers"]): v.get("output_shape") for v in vectors
             if v["input_shape"] == input_shape}
    return [found[json.dumps(layers[:n])] for n in range(1, len(layers) + 1)]


def test_cli_acceptance_json():
    result = cardgen("solve", *ACCEPTANCE, "--input", "1,3,224,224", "--json")
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip()
    assert out.endswith('"output_shape": [1, 64, 56, 7]}')  # the acceptance text
    report = json.loads(out)
    shapes = expected_shapes(ACCEPTANCE, ACCEPTANCE_INPUT)
    assert report["input_shape"] == ACCEPTANCE_INPUT
    assert [entry["output_shape"] for entry in report["layers"]] == shapes
    assert report["output_shape"] == shapes[-1]
    assert [entry["layer"] for entry in report["layers"]] == \
        [str(parse_layer(t)) for t in ACCEPTANCE]


def test_cli_human_output_names_each_shape():
    result = cardgen("solve", *ACCEPTANCE, "--input", "1,3,224,224")
    assert result.returncode == 0, result.stderr
    shapes = expected_shapes(ACCEPTANCE, ACCEPTANCE_INPUT)
    for shape in shapes:
        assert "x".join(map(str, shape)) in result.stdout


def _assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_code(tmp_path):
    result = cardgen("solve", "__import__('os').system('true')", "--input", "1,1,4")
    _assert_one_line_error(result)
    sentinel = tmp_path / "sentinel"
    for text in (f"__import__('os').system('touch {sentinel}')",
                 f"Conv1d(open({str(sentinel)!r}, 'w').write('x'), 1, 1)"):
        result = cardgen("solve", text, "--input", "1,1,4", cwd=tmp_path)
        _assert_one_line_error(result)
        assert text[:20] in result.stderr
    assert not sentinel.exists()


@pytest.mark.parametrize("args", [
    ["Conv1d(1, 1, 5)", "--input", "1,1,4"],          # torch refuses this shape
    ["Conv1d(1, 1, 3)", "--input", "1,x,4"],
    ["Conv1d(1, 1, 3)", "--input", "1,0,4"],
    ["Conv1d(1, 1, 3", "--input", "1,1,4"],
    ["Conv1d(1, 1, 3)" + " " * 5000, "--input", "1,1,4"],
    ["Conv2d(3, 1, 1)", "--input", "1,1,4"],
])
def test_cli_bad_input_is_one_line(args):
    _assert_one_line_error(cardgen("solve", *args))


def test_cli_error_agrees_with_torch_or_golden():
    """Conv1d(1, 1, 5) on 1,1,4: an error in torch, and exit 2 from the CLI."""
    texts, shape = ["Conv1d(1, 1, 5)"], [1, 1, 4]
    if _torch_or_none() is not None:
        with pytest.raises(RuntimeError):
            expected_shapes(texts, shape)
    else:
        assert expected_shapes(texts, shape) == [None]
    _assert_one_line_error(cardgen("solve", *texts, "--input", "1,1,4"))


def test_plain_int_layers_pass_every_check():
    """`_validate`'s fast path (`_plain_ints`) only passes arguments the full checks
    (`_check_args`) pass too, over every type and values at and around each bound."""
    import random

    from cardgen.errors import ShapeError
    from cardgen.layers import _REQ, _TYPES, MAX_INT, _check_args, _plain_ints, _signature

    ints = [-MAX_INT - 1, -MAX_INT, -3, -1, 0, 1, 2, 3, 4, 6, MAX_INT, MAX_INT + 1]
    others = [True, False, None, 1.0, "same", "zeros", (1, 2), (2,), (0, 0, 0)]
    rng = random.Random(5)
    for type_ in sorted(_TYPES):
        fast = 0
        for _ in range(4000):
            args = {}
            for name, default in _signature(type_):
                if rng.random() < (0.95 if default is _REQ else 0.4):
                    args[name] = rng.choice(ints if rng.random() < 0.92 else others)
            if not _plain_ints(type_, args):
                continue
            fast += 1
            try:
                _check_args(type_, args)
            except KeyError:
                continue  # a required argument not given (binding refuses it first)
            except (LayerSyntaxError, ShapeError) as exc:
                raise AssertionError(f"{type_} {args}: fast path passes, checks say {exc}") \
                    from None
        assert fast > 30 or type_ in ("Fold", "Unfold", "PixelShuffle", "PixelUnshuffle",
                                      "Upsample") or "Pad" in type_, type_


@pytest.mark.parametrize("text", FORMS)
def test_tup_expands_each_argument_per_spatial_dim(text):
    """A Layer's own tup (its first call sets it up) answers every name, asked in any
    order and again, as an int-or-tuple expanded per spatial dim; an unknown name is a
    KeyError each time."""
    layer = parse_layer(text)
    names = list(layer._params)
    for name in names + names[::-1]:
        value = layer.get(name)
        assert layer.tup(name) == (value if isinstance(value, tuple)
                                   else (value,) * layer.ndim)
    for _ in range(2):
        with pytest.raises(KeyError):
            layer.tup("no_such_argument")
    fresh = parse_layer(text)
    with pytest.raises(KeyError):  # as the first call, too
        fresh.tup("no_such_argument")
    assert fresh.tup(names[0]) == layer.tup(names[0])


def test_conv_padding_of_each_dim_is_conv_paddings():
    """conv_padding reads a conv's padding from the tails kept on the Layer: the pair
    conv_paddings resolves, for 'same', 'valid', ints and tuples, 1-D to 3-D."""
    from cardgen.solver.shapes import conv_padding, conv_paddings

    for nd in (1, 2, 3):
        for padding in ("same", "valid", 0, 2, tuple(range(nd))):
            for kernel, dilation in ((3, 1), (4, 1), (tuple(range(2, nd + 2)), 2)):
                layer = Layer.make(f"Conv{nd}d", in_channels=1, out_channels=1,
                                   kernel_size=kernel, padding=padding, dilation=dilation)
                pairs = conv_paddings(layer)
                assert [conv_padding(layer, d) for d in range(nd)] == pairs
                assert [conv_padding(layer, d) for d in range(nd)] == pairs  # kept
    transpose = Layer.make("ConvTranspose2d", in_channels=1, out_channels=1, kernel_size=3,
                           padding=(1, 2))
    assert conv_padding(transpose, 1) == conv_paddings(transpose)[1] == (2, 2)
