"""input.unbatched: (C, H, W) inputs without a batch dim, the ranks PyTorch refuses,
channels-last mix-ups, and Flatten's start_dim=1 on an unbatched input."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from math import prod
from typing import Any

from cardgen.claims import error_claim, shape_claim
from cardgen.errors import ShapeError
from cardgen.explain import count_of
from cardgen.explain.sizes import channels_out_text, channels_text, same_dim_text, size_tex
from cardgen.explain.unbatched import (
    flatten_caption,
    flatten_pitfall_text,
    flatten_text,
    linear_batched_features_text,
    linear_last_dim_text,
    position_text,
    rank_text,
    roles_caption,
    spatial_read_text,
)
from cardgen.explain.windows import linear_refused
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    exhausted,
    fits_claim,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver import layer_step, trace
from cardgen.solver.ranks import SPATIAL_NAMES, dim_roles, flatten_span
from cardgen.solver.shapes import conv_padding, pool_stride

NAME = "input.unbatched"
TITLE = "Unbatched (C, H, W) inputs: conv/pool/Flatten shapes, and the ranks PyTorch refuses"
TOPIC = "Unbatched inputs"
LEVELS = (1, 2, 3)

# Per level: level 1 is one Conv or pool on an unbatched (C, *spatial) input (square, small
# strides): the output has no batch dim either. Level 2 asks "shape or error": unbatched
# inputs with more arithmetic (non-square, strides, padding), inputs without a channel dim
# and with extra dims (refused), channels-last images and sequences (a Conv refuses C = H,
# a pool runs over the wrong dims). Level 3 traces a 2-4 layer stack ending in Flatten (and
# Linear) on an unbatched image: Flatten()'s start_dim=1 keeps the channels apart, so a
# Linear sized for C*H*W refuses it.
CASES = {1: (("unbatched", 1.0),),
         2: (("unbatched", 0.46), ("missing_channels", 0.13), ("extra_dims", 0.09),
             ("channels_last", 0.32)),
         3: (("flatten", 0.45), ("flatten_linear", 0.3), ("flatten0", 0.1),
             ("linear_flatten", 0.15))}
NOUN = {1: "sequence", 2: "image", 3: "volume"}
# Level 1 asks a shape; levels 2 and 3 a shape or error, on every card alike (a form that
# offered `error` only where it is the answer would give it away).
FORM = {"shape": "the shape with x between dims, written like the input's",
        "check": "the shape with x between dims, written like the input's, or error if "
                 "PyTorch refuses"}


# Draws repeat a few hundred layers many times: build (and validate) each one once.
@lru_cache(maxsize=4096)
def _made(type_: str, args: tuple[tuple[str, Any], ...]) -> Layer:
    return Layer.make(type_, **dict(args))


def _json(type_: str, **args: Any) -> dict[str, Any]:
    return _made(type_, tuple(args.items())).to_json()


def _layer(data: dict[str, Any]) -> Layer:
    """A params layer as a Layer (the JSON of a Layer: lists only for tuples)."""
    args = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in data["args"].items())
    return _made(data["type"], args)


def _case(rng: Any, level: int) -> str:
    r, acc = rng.random(), 0.0
    for name, share in CASES[level]:
        acc += share
        if r < acc:
            return name
    return CASES[level][-1][0]


def _spatial_layer(rng: Any, nd: int, cin: int, level: int, kinds: tuple[str, ...]
                   ) -> dict[str, Any]:
    """One Conv or fixed pool with `nd` spatial dims (harder arguments from level 2)."""
    kind = pick(rng, kinds)
    if kind == "Conv":
        k = pick(rng, (2, 3, 3, 5) if level == 1 else (3, 3, 4, 5, 7))
        s = pick(rng, (1, 1, 1, 2) if level == 1 else (2, 2, 3))
        p = pick(rng, (0, 0, 1) if level == 1 else (1, 1, 2))
        cout = pick(rng, [c for c in (4, 8, 16, 32) if c != cin])
        args: dict[str, Any] = {"in_channels": cin, "out_channels": cout, "kernel_size": k}
        if s != 1:
            args["stride"] = s
        if p:
            args["padding"] = min(p, k - 1)
        return _json(f"Conv{nd}d", **args)
    k = pick(rng, (2, 3))
    args = {"kernel_size": k}
    if level > 1 and rng.random() < 0.5:
        args["stride"] = pick(rng, [s for s in (1, 2, 3) if s != k])
    if level > 1 and rng.random() < 0.5:
        args["padding"] = 1
    return _json(f"{kind}{nd}d", **args)


def _sizes(rng: Any, nd: int, level: int) -> list[int]:
    """Square at level 1; at level 2 every size of its own (each one worked)."""
    lo, hi = {1: (8, 41), 2: (5, 33), 3: (4, 11)}[nd]
    if level > 1:
        return [rng.randrange(lo, hi) for _ in range(nd)]
    return [rng.randrange(lo, hi)] * nd


def _draw(rng: Any, level: int) -> dict[str, Any]:
    case = _case(rng, level)
    params = _stack(rng, case) if level == 3 else _single(rng, level, case)
    return {"q": "shape" if level == 1 else "check", **params}


def _single(rng: Any, level: int, case: str) -> dict[str, Any]:
    cin = pick(rng, (1, 3, 3, 4, 8))
    if case == "unbatched":
        nd = pick(rng, (1, 2, 2, 2, 3) if level == 1 else (1, 2, 2, 2))
        kinds = ("Conv", "Conv", "MaxPool", "AvgPool")
        layer = _spatial_layer(rng, nd, cin, level, kinds)
        return {"case": case, "layers": [layer], "input_shape": [cin, *_sizes(rng, nd, level)],
                "layout": ["C", *SPATIAL_NAMES[nd]]}
    if case == "missing_channels":  # one (H, W) image into a 2-d layer, (L) into a 1-d one
        nd = pick(rng, (1, 2, 2, 3))
        kinds = ("Conv", "Conv", "MaxPool", "AvgPool")
        layer = _spatial_layer(rng, nd, 1, level, kinds)
        return {"case": case, "layers": [layer], "input_shape": _sizes(rng, nd, level),
                "layout": list(SPATIAL_NAMES[nd])}
    if case == "extra_dims":  # a batch of (N, C, H, W) images into a 1-d layer, ...
        nd = pick(rng, (1, 2))
        layer = _spatial_layer(rng, nd, cin, level, ("Conv", "MaxPool", "AvgPool"))
        return {"case": case, "layers": [layer],
                "input_shape": [pick(rng, (2, 4, 8)), cin, *_sizes(rng, nd + 1, level)],
                "layout": ["N", "C", *SPATIAL_NAMES[nd + 1]]}
    # channels-last: (H, W, C) into a 2-d layer, (L, C) into a 1-d one
    nd = pick(rng, (1, 2, 2))
    cin = pick(rng, (3, 3, 4, 6))
    layer = _spatial_layer(rng, nd, cin, level, ("Conv", "MaxPool", "AvgPool"))
    return {"case": case, "layers": [layer], "input_shape": [*_sizes(rng, nd, level), cin],
            "layout": [*SPATIAL_NAMES[nd], "C"]}


def _stack(rng: Any, case: str) -> dict[str, Any]:
    """A small image model on one unbatched image: conv, then pools or a strided conv,
    then Flatten (and a Linear)."""
    # 3-4 layers in all: a Conv, one or two more, Flatten (and a Linear); a non-square
    # image (every size worked twice) only with one layer between (at most 30 steps)
    extra = {"flatten": rng.randrange(1, 3), "flatten0": rng.randrange(1, 3),
             "flatten_linear": 1, "linear_flatten": rng.randrange(0, 2)}[case]
    cin = pick(rng, (1, 3))
    size = rng.randrange(8, 33)
    shape = [cin, size, size if extra > 1 or rng.random() < 0.6 else rng.randrange(8, 33)]
    c1 = pick(rng, (4, 6, 8, 16))
    k = pick(rng, (3, 3, 5))
    first: dict[str, Any] = {"in_channels": cin, "out_channels": c1, "kernel_size": k}
    if rng.random() < 0.5:
        first["padding"] = k // 2
    layers = [_json("Conv2d", **first)]
    for _ in range(extra):
        if rng.random() < 0.7:
            layers.append(_json(pick(rng, ("MaxPool2d", "AvgPool2d")), kernel_size=2))
        else:
            c2 = pick(rng, (8, 16)) if c1 < 8 else c1
            layers.append(_json("Conv2d", in_channels=c1, out_channels=c2, kernel_size=3,
                                stride=2, padding=1))
            c1 = c2
    if case == "linear_flatten":
        out = _output(tuple(map(_layer, layers)), tuple(shape))
        if out is None:
            return {"case": case, "layers": layers, "input_shape": shape}
        layers += [_json("Linear", in_features=out[-1], out_features=pick(rng, (2, 3, 4, 5))),
                   _json("Flatten")]
    elif case == "flatten0":
        layers.append(_json("Flatten", start_dim=0))
    else:
        layers.append(_json("Flatten"))
        if case == "flatten_linear":
            out = _output(tuple(map(_layer, layers[:-1])), tuple(shape))
            features = 1 if out is None else out[0] * out[1] * out[2]
            layers.append(_json("Linear", in_features=features,
                                out_features=pick(rng, (10, 10, 2, 5))))
    return {"case": case, "layers": layers, "input_shape": shape,
            "layout": ["C", "H", "W"]}


@lru_cache(maxsize=4096)
def _output(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return trace(layers, shape)[-1].output_shape
    except ShapeError:
        return None


def _literals(params: dict[str, Any]) -> set[int]:
    numbers = set(params["input_shape"])
    for data in params["layers"]:
        for value in data["args"].values():
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, int) and not isinstance(v, bool):
                    numbers.add(v)
    return numbers


# What each case must give: a shape, an error, or either (level 2's channels-last, whose
# answer depends on the layer: a Conv refuses C = H, a pool runs).
_WANT = {"unbatched": "shape", "missing_channels": "error", "extra_dims": "error",
         "flatten": "shape", "flatten_linear": "error", "flatten0": "shape",
         "linear_flatten": "shape"}


def _accepted(params: dict[str, Any]) -> bool:
    """Whether a draw makes a problem: verify re-checks it quickly; it gives what its case
    teaches; a shape answer is never a copy of the question's numbers; sums stay mental."""
    layers = tuple(_layer(j) for j in params["layers"])
    shape = tuple(params["input_shape"])
    out = _output(layers, shape)
    case = params["case"]
    want = _WANT.get(case)
    if case == "channels_last":
        conv = layers[0].kind == "conv"
        if conv and shape[0] == layers[0].get("in_channels"):
            return False  # H = C: the Conv would run on a misread image
        want = "error" if conv else "shape"
    if (out is None) != (want == "error"):
        return False
    if out is not None and (set(out) <= _literals(params) or max(out) > 1024):
        return False
    if any(la.kind == "flatten" for la in layers):
        flat = _flatten_input(layers, shape)
        # Flatten's product stays mental: H*W (or C*H*W for start_dim=0) up to 1024
        if flat is None or flat[1] * flat[2] > 1024 or (case == "flatten0"
                                                        and prod(flat) > 1024):
            return False
    return fits_claim(layers, shape)  # last: the costliest check


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        params = _draw(rng, level)
        if "layout" in params and _accepted(params):
            return params
    raise exhausted(NAME, MAX_DRAWS)


# ---------------------------------------------------------------- solving


def _layer_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    """A conv or pool worked: the channels, then the size formula per distinct dim (named
    as PyTorch reads them)."""
    nd = layer.ndim
    head = f"{layer_code(layer)}: `{shape_text(shape)}` \u2192 `{shape_text(out)}`"
    c_in, c_out = shape[-nd - 1], out[-nd - 1]
    if layer.kind == "conv":
        steps = [f"{head}: {channels_out_text(c_in, c_out)}."]
        stride = layer.tup("stride")
    else:
        steps = [f"{head}: a pool keeps the {count_of(c_in, 'channel')} and works on each "
                 "alone."]
        stride = pool_stride(layer)
    done: dict[tuple[int, ...], str] = {}
    for d, name in enumerate(SPATIAL_NAMES[nd]):
        size, new, k = shape[-nd + d], out[-nd + d], layer.tup("kernel_size")[d]
        pl, pr = conv_padding(layer, d) if layer.kind == "conv" else \
            (layer.tup("padding")[d],) * 2
        key = (size, k, stride[d], pl, pr)
        if key in done:
            steps.append(same_dim_text(name, size, new, done[key]))
            continue
        done[key] = name
        steps.append(size_tex(size, k, stride[d], pl, 1, new, pr if pr != pl else None,
                              name=f"{name}_{{out}}"))
    return steps


def _noun(layout: Sequence[str]) -> str:
    return NOUN[sum(1 for n in layout if n not in ("N", "C"))]


def _question(params: dict[str, Any], layers: list[Layer]) -> str:
    shape, layout = params["input_shape"], params["layout"]
    noun = _noun(layout)
    who = f"A batch of {noun}s" if "N" in layout else f"One {noun}"
    listing = " \u2192 ".join(layer_code(la) for la in layers)
    verb = "goes into" if len(layers) == 1 else "goes through"
    return (f"{who} of shape `{shape_text(shape)}`, laid out as ({', '.join(layout)}), "
            f"{verb} {listing}. What is the {'final ' if len(layers) > 1 else ''}output "
            "shape?")


def _first_layer_steps(layer: Layer, shape: tuple[int, ...], layout: list[str], noun: str
                       ) -> tuple[list[str], bool]:
    """The rank rule, what PyTorch reads each dim as, the channels: (steps, runs)."""
    roles = dim_roles(layer, len(shape))
    steps = [rank_text(layer.type, layer.ndim, shape, roles is not None)]
    if roles is None:
        return steps, False
    if tuple(layout) != roles:
        steps.append(position_text(layout, roles, shape))
        if layer.kind != "conv":
            steps.append(spatial_read_text(roles, layout, layer.ndim, noun))
    if layer.kind == "conv":
        got = shape[-layer.ndim - 1]
        steps.append(channels_text(layer.get("in_channels"), got))
        if got != layer.get("in_channels"):
            return steps, False
    return steps, True


def solve(params: dict[str, Any]) -> Solution:
    layers = [_layer(j) for j in params["layers"]]
    shape = tuple(params["input_shape"])
    question = _question(params, layers)
    form = FORM[params["q"]]
    steps, runs = _first_layer_steps(layers[0], shape, params["layout"],
                                     _noun(params["layout"]))
    diagrams = []
    roles = dim_roles(layers[0], len(shape))
    if roles is not None and tuple(roles) != tuple(params["layout"]):
        diagrams.append(Diagram("dims", {"sizes": list(shape), "names": params["layout"],
                                         "read": list(roles)},
                                roles_caption(params["layout"], roles)))
    if not runs:
        return Solution(question=question, answer="error", form=form, steps=steps,
                        claims=[error_claim(layers, shape)], diagrams=diagrams)
    current = shape
    for layer in layers:
        try:
            out = layer_step(layer, current).output_shape
        except ShapeError:
            if layer.kind != "linear":
                raise
            steps.append(f"{layer_code(layer)} on `{shape_text(current)}`: "
                         + linear_refused(layer.get("in_features"), current[-1]))
            flat = _flatten_input(layers, shape)
            if flat is not None and prod(flat) == layer.get("in_features"):
                steps.append(linear_batched_features_text(flat, layer.get("in_features")))
            return Solution(question=question, answer="error", form=form, steps=steps,
                            claims=[error_claim(layers, shape)], diagrams=diagrams)
        head = f"{layer_code(layer)}: `{shape_text(current)}` \u2192 `{shape_text(out)}`: "
        if layer.kind == "flatten":
            start, end = flatten_span(layer, len(current))
            steps.append(head + flatten_text(current, start, end, out,
                                             "start_dim" not in layer.kwargs))
            diagrams.append(Diagram("dims", {"sizes": list(current),
                                             "names": [str(i) for i in range(len(current))],
                                             "merge": [start, end]},
                                    flatten_caption(current, start, end, out)))
            if start == 1 and len(current) == 3 and "start_dim" not in layer.kwargs:
                steps.append(flatten_pitfall_text(current, out))
        elif layer.kind == "linear":
            steps.append(head + linear_last_dim_text(layer.get("in_features"), current, out))
        else:
            steps += _layer_steps(layer, current, out)
        current = out
    return Solution(question=question, answer=shape_text(current), form=form, steps=steps,
                    claims=[shape_claim(layers, shape)], diagrams=diagrams)


def _flatten_input(layers: Sequence[Layer], shape: tuple[int, ...]
                   ) -> tuple[int, ...] | None:
    """The shape the stack's Flatten receives (None: no Flatten, or a layer before it
    refuses)."""
    for i, layer in enumerate(layers):
        if layer.kind == "flatten":
            return _output(tuple(layers[:i]), shape) if i else shape
    return None
