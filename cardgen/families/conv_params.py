"""conv.params: parameters (weights and biases) and multiply-adds, with groups."""

from __future__ import annotations

from math import prod
from typing import Any

from cardgen.claims import macs_claim, params_claim
from cardgen.claims.limits import one_line
from cardgen.claims.parse import Refused
from cardgen.errors import ShapeError
from cardgen.explain.params import (
    groups_refused_text,
    groups_text,
    macs_tex,
    outputs_tex,
    params_tex,
    weight_shape_text,
)
from cardgen.explain.sizes import same_dim_text, size_tex
from cardgen.families.base import MAX_DRAWS, Solution, exhausted, layer_code, pick, shape_text
from cardgen.layers import KIND_SIGNATURES, LAYER_TYPES, Layer
from cardgen.solver.params import mac_count, param_count
from cardgen.solver.shapes import conv_padding

NAME = "conv.params"
TITLE = "Parameters and multiply-adds of Conv/ConvTranspose/Linear layers, with groups"
TOPIC = "Parameters"
LEVELS = (1, 2, 3)

# Per level: level 1 counts the parameters of a plain Conv1d/Conv2d or Linear (groups 1,
# small channels); level 2 adds groups (depthwise and grouped), ConvTranspose's
# transposed weight, Conv3d, and layers whose groups do not divide the channels (an
# error); level 3 counts multiply-adds on an input shape, which needs the output size
# first. No card needs a calculator: every product is of numbers up to 1024.
CHANNELS_L2 = (4, 8, 12, 16, 24, 32, 48, 64)
ERROR_SHARE = 0.2
MAX_OPERAND = 1024  # difficulty.MAX_OPERAND: the largest number one mental step takes
MAX_ANSWER = {1: 1200, 2: 20_000, 3: 60_000}

MACS_DEFINITION = {
    "conv": "Count one multiply-add (MAC) per weight an output element reads: output "
            "elements x in_channels/groups x kernel elements, padded zeros included; the "
            "bias additions are not counted.",
    "linear": "Count one multiply-add (MAC) per weight an output element reads: output "
              "elements x in_features; the bias additions are not counted.",
}


def _json(type_: str, **args: Any) -> dict[str, Any]:
    """A layer as Layer.to_json spells it (signature order, defaults left out), also for
    a layer cardgen's Layer refuses (groups that do not divide the channels)."""
    defaults = dict(KIND_SIGNATURES[LAYER_TYPES[type_][0]])
    order = [n for n, _ in KIND_SIGNATURES[LAYER_TYPES[type_][0]]]
    kept = {k: v for k, v in args.items() if k not in defaults or defaults[k] != v}
    return {"type": type_, "args": {k: kept[k] for k in order if k in kept}}


def _literals(params: dict[str, Any]) -> set[int]:
    """Every number the question shows (layer arguments and input sizes)."""
    numbers = set(params.get("input_shape", []))
    for value in params["layer"]["args"].values():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, int) and not isinstance(v, bool):
                numbers.add(v)
    return numbers


def _conv_l1(rng: Any) -> dict[str, Any]:
    type_ = pick(rng, ("Conv1d", "Conv1d", "Conv2d", "Conv2d", "Conv2d", "Linear"))
    bias = rng.random() < 0.75
    if type_ == "Linear":
        return _json("Linear", in_features=pick(rng, (4, 8, 10, 16, 20, 32, 50, 64, 100, 128)),
                     out_features=pick(rng, (2, 3, 4, 5, 8, 10, 16)), bias=bias)
    k = pick(rng, (2, 3, 4, 5, 7)) if type_ == "Conv1d" else pick(rng, (1, 2, 3, 3, 5))
    return _json(type_, in_channels=pick(rng, (1, 2, 3, 4, 6, 8, 16)),
                 out_channels=pick(rng, (2, 4, 6, 8, 10, 12, 16, 32)), kernel_size=k,
                 bias=bias)


def _conv_l2(rng: Any) -> dict[str, Any]:
    bias = rng.random() < 0.7
    if rng.random() < ERROR_SHARE:
        cin, cout = pick(rng, CHANNELS_L2), pick(rng, CHANNELS_L2)
        g = pick(rng, (3, 4, 5, 6, 8, 16))
        return _json(pick(rng, ("Conv2d", "Conv1d", "ConvTranspose2d")), in_channels=cin,
                     out_channels=cout, kernel_size=3, groups=g, bias=bias)
    type_ = pick(rng, ("Conv1d", "Conv2d", "Conv2d", "Conv3d", "ConvTranspose1d",
                       "ConvTranspose2d"))
    nd = LAYER_TYPES[type_][1]
    k: Any = pick(rng, {1: (3, 5, 7), 2: (1, 3, 3, 5, (1, 3), (3, 1)),
                        3: (2, 3, (1, 3, 3))}[nd])
    cin = pick(rng, CHANNELS_L2)
    if rng.random() < 0.4:  # depthwise: one filter (or a few) per input channel
        g, cout = cin, cin * pick(rng, (1, 2))
    else:  # groups that divide both channel counts: the refused layers are drawn above
        g = pick(rng, [g for g in ((2, 4, 8) if nd < 3 else (1, 2, 4)) if cin % g == 0])
        cout = pick(rng, [c for c in CHANNELS_L2 if c % g == 0])
    return _json(type_, in_channels=cin, out_channels=cout,
                 kernel_size=list(k) if isinstance(k, tuple) else k, groups=g, bias=bias)


def _macs_l3(rng: Any) -> tuple[dict[str, Any], list[int]]:
    type_ = pick(rng, ("Conv1d", "Conv2d", "Conv2d", "Conv2d", "Linear"))
    batch = pick(rng, (1, 1, 2, 4))
    if type_ == "Linear":
        fin, fout = pick(rng, (8, 16, 20, 32, 64)), pick(rng, (4, 8, 10, 16))
        shape = [batch, fin] if rng.random() < 0.5 else [batch, pick(rng, (3, 5, 7)), fin]
        return _json("Linear", in_features=fin, out_features=fout), shape
    cin = pick(rng, (2, 3, 4, 8, 16))
    g = pick(rng, (1, 1, 2, 4, cin))
    cout = pick(rng, (4, 8, 16, 32)) if g != cin else cin * pick(rng, (1, 2))
    k = pick(rng, (1, 3, 3, 5)) if type_ == "Conv2d" else pick(rng, (3, 5, 7))
    s, p = pick(rng, (1, 2)), pick(rng, (0, k // 2, k // 2))
    size = rng.randrange(4, 15) if type_ == "Conv2d" else rng.randrange(8, 33)
    shape = [batch, cin] + [size] * LAYER_TYPES[type_][1]
    return _json(type_, in_channels=cin, out_channels=cout, kernel_size=k, stride=s,
                 padding=p, groups=g), shape


def _layer(data: dict[str, Any]) -> Layer | Refused:
    try:
        return Layer.from_json(data)
    except ShapeError as exc:
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in data["args"].items()}
        return Refused(data["type"], args, one_line(exc))


def _shown(data: dict[str, Any]) -> Layer:
    """The layer as the question writes it, even one that cannot be built (a Layer made
    directly skips validation; it is only printed)."""
    args = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in data["args"].items())
    return Layer(data["type"], args)


def _counted(params: dict[str, Any], layer: Layer) -> tuple[int, list[int]]:
    """The answer, and the numbers the mental steps multiply: the weights one output
    reads (plus its bias) and the outputs (output channels, or output elements for
    MACs). ShapeError where the kernel does not fit the input."""
    per = _reads(layer) * prod(_kernel(layer))
    if params["q"] == "macs":
        count = mac_count(layer, params["input_shape"])
        return count.macs, [per, count.outputs]
    out = layer.get("out_features" if layer.kind == "linear" else "out_channels")
    return param_count(layer).total, [per + 1, out]


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        if level == 3:
            data, shape = _macs_l3(rng)
            params: dict[str, Any] = {"q": "macs", "layer": data, "input_shape": shape}
        else:
            params = {"q": "params", "layer": _conv_l1(rng) if level == 1 else _conv_l2(rng)}
        layer = _layer(params["layer"])  # built once: the answer and its operands read it
        if isinstance(layer, Refused):  # groups do not divide the channels: level 2's
            if params["q"] == "macs":  # error cards
                continue
            return params
        try:
            answer, operands = _counted(params, layer)
        except ShapeError:  # the kernel does not fit the input: no output to count
            continue
        if (answer in _literals(params) or min(operands) < 2 or answer > MAX_ANSWER[level]
                or max(operands) > MAX_OPERAND):
            continue
        return params
    raise exhausted(NAME, MAX_DRAWS)


def _reads(layer: Layer) -> int:
    """Input channels (or features) one output element reads."""
    if layer.kind == "linear":
        return layer.get("in_features")
    return layer.get("in_channels") // layer.get("groups")


def _kernel(layer: Layer) -> tuple[int, ...]:
    return () if layer.kind == "linear" else tuple(layer.tup("kernel_size"))


def _param_steps(layer: Layer) -> list[str]:
    count = param_count(layer)
    if layer.kind == "linear":
        cin, cout, groups = layer.get("in_features"), layer.get("out_features"), 1
    else:
        cin, cout, groups = (layer.get("in_channels"), layer.get("out_channels"),
                             layer.get("groups"))
    steps = [weight_shape_text(layer.kind, cin, cout, groups, _kernel(layer),
                               count.weight_shape)]
    if groups > 1:
        steps.append(groups_text(cin, cout, groups))
    steps.append(params_tex(_reads(layer), _kernel(layer), cout, bool(layer.get("bias")),
                            count.weights, count.biases))
    return steps


def _size_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    if layer.kind == "linear":
        return [f"A Linear layer replaces the last dim, {shape[-1]} in_features, by "
                f"{out[-1]} out_features: output `{shape_text(out)}`."]
    names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[layer.ndim]
    steps = [f"Output shape `{shape_text(out)}`: batch {shape[0]}, out_channels "
             f"{out[1]}, and per spatial dim:"]
    done: dict[tuple[int, ...], str] = {}
    for d, name in enumerate(names):
        k, s = layer.tup("kernel_size")[d], layer.tup("stride")[d]
        dil = layer.tup("dilation")[d]
        pl, pr = conv_padding(layer, d)
        key = (shape[2 + d], k, s, pl, pr, dil)
        if key in done:  # say so, rather than leave the dim unworked and unnamed
            steps.append(same_dim_text(name, shape[2 + d], out[2 + d], done[key]))
            continue
        done[key] = name
        steps.append(size_tex(shape[2 + d], k, s, pl, dil, out[2 + d],
                              pr if pr != pl else None, name=f"{name}_{{out}}"))
    return steps


def solve(params: dict[str, Any]) -> Solution:
    layer = _layer(params["layer"])
    code = layer_code(_shown(params["layer"]))
    if params["q"] == "macs":
        assert isinstance(layer, Layer)
        shape = tuple(params["input_shape"])
        count = mac_count(layer, shape)
        steps = _size_steps(layer, shape, count.output_shape)
        steps.append(outputs_tex(count.output_shape, count.outputs))
        if layer.kind == "conv" and layer.get("groups") > 1:
            steps.append(groups_text(layer.get("in_channels"), layer.get("out_channels"),
                                     layer.get("groups")))
        steps.append(macs_tex(count.outputs, _reads(layer), _kernel(layer), count.macs))
        return Solution(
            question=f"{code} runs on an input of shape `{shape_text(shape)}`. How many "
                     f"multiply-adds does it do? {MACS_DEFINITION[layer.kind]}",
            answer=str(count.macs),
            form="a whole number, e.g. 1234",
            steps=steps,
            claims=[macs_claim(layer, shape)],
        )
    if isinstance(layer, Refused):
        args = layer.args
        steps = [groups_refused_text(args["in_channels"], args["out_channels"],
                                     args["groups"])]
        answer = "error"
    else:
        steps = _param_steps(layer)
        answer = str(param_count(layer).total)
    grouped = "groups" in params["layer"]["args"]
    return Solution(
        question=f"How many parameters (weights and biases together) does {code} have?",
        answer=answer,
        form="a whole number, e.g. 1234" + (", or error if PyTorch refuses to build the "
                                            "layer" if grouped else ""),
        steps=steps,
        claims=[params_claim(layer)],
    )


