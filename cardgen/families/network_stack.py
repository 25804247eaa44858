"""network.stack: a named network, layer by layer: the shape a layer outputs, and the
parameters and multiply-adds of its Conv and Linear layers.

The same cards are made for the built-in example networks (when the family is drawn
like any other) and for the stacks a recipe lists (`[stacks.NAME]`, see
``cardgen.stacks``): a card's params hold the network's name, its input shape and its
layers up to the one asked about, so a card keeps its GUID when later layers change.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from functools import cache, lru_cache
from math import prod
from typing import Any

from cardgen.claims import shape_claim
from cardgen.errors import CardgenError, ShapeError
from cardgen.explain.layers import layer_steps
from cardgen.families import conv_params
from cardgen.families.base import (
    MAX_DRAWS,
    Solution,
    exhausted,
    layer_code,
    layer_from_text,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.solver import trace

NAME = "network.stack"
TITLE = ("A named network layer by layer: a layer's parameters, output shape and "
         "multiply-adds (your own stacks from a recipe, or built-in examples)")
TOPIC = "Networks"
LEVELS = (1, 2, 3)

# What each level asks about one layer, as (level, ask): level 1 a layer's parameters,
# level 2 the shape it outputs, level 3 its multiply-adds or the input range one of its
# output units reads (the receptive field, through every layer before it).
ASKS = ((1, "params"), (2, "shape"), (3, "macs"), (3, "field"))
# A field card's diagram keeps every input cell visible at 360 px up to this many a dim,
# and a range wider than FIELD_MAX is no mental walk.
FIELD_INPUT = 80
FIELD_MAX = 64

# Built-in examples: name, what it is, layers, the input shapes drawn (batch and sizes
# vary where the network allows). ReLU, dropout and batch norm keep the shape and are
# left out; the cards say so.
EXAMPLES: dict[str, tuple[str, tuple[str, ...], tuple[tuple[int, ...], ...]]] = {
    "cifar_tutorial": (
        "the CIFAR-10 classifier of PyTorch's 'Training a classifier' tutorial",
        ("Conv2d(3, 6, 5)", "MaxPool2d(2, 2)", "Conv2d(6, 16, 5)", "MaxPool2d(2, 2)",
         "Flatten()", "Linear(400, 120)", "Linear(120, 84)", "Linear(84, 10)"),
        ((4, 3, 32, 32), (1, 3, 32, 32), (8, 3, 32, 32), (16, 3, 32, 32))),
    "mnist_example": (
        "the MNIST network of PyTorch's examples repository (examples/mnist)",
        ("Conv2d(1, 32, 3, 1)", "Conv2d(32, 64, 3, 1)", "MaxPool2d(2)", "Flatten()",
         "Linear(9216, 128)", "Linear(128, 10)"),
        ((64, 1, 28, 28), (1, 1, 28, 28), (32, 1, 28, 28), (16, 1, 28, 28))),
    "small_vgg": (
        "a small VGG-style network with a global average pool",
        ("Conv2d(3, 16, 3, padding=1)", "Conv2d(16, 16, 3, padding=1)", "MaxPool2d(2)",
         "Conv2d(16, 32, 3, stride=2, padding=1)", "MaxPool2d(3, stride=2, ceil_mode=True)",
         "AdaptiveAvgPool2d(1)", "Flatten()", "Linear(32, 10)"),
        tuple((b, 3, s, s) for b in (1, 8) for s in (32, 48, 57, 64, 100))),
    "small_1d": (
        "a small 1-D network for signals",
        ("Conv1d(1, 16, 9, stride=4)", "MaxPool1d(4)", "Conv1d(16, 32, 3, padding=1)",
         "MaxPool1d(2, ceil_mode=True)", "AdaptiveAvgPool1d(1)", "Flatten()", "Linear(32, 5)"),
        tuple((b, 1, n) for b in (1, 16) for n in (400, 500, 1000, 1601, 2001))),
}


_parse = lru_cache(maxsize=1024)(layer_from_text)  # (parse_layer of these texts)
# The tiny networks' layers, by their keyword arguments (typed: 1 and True differ): the
# draws make the same few hundred again and again, and a hit costs a third of
# Layer.make's (its key is the arguments' repr)
_made = lru_cache(maxsize=4096, typed=True)(Layer.make)


@cache  # two entries: 1-d and 2-d
def _pools(nd: int) -> tuple[Layer, ...]:
    dim = f"{nd}d"
    return (Layer.make(f"MaxPool{dim}", kernel_size=2), Layer.make(f"AvgPool{dim}", kernel_size=2),
            Layer.make(f"MaxPool{dim}", kernel_size=2, ceil_mode=True),
            Layer.make(f"MaxPool{dim}", kernel_size=3, stride=2))


def _tiny(rng: Any) -> tuple[str, tuple[Layer, ...], tuple[int, ...]]:
    """A small random network, like the ones learners write for 8x8 to 16x16 images or
    short signals: sizes small enough that every count stays mental. Its Layers are made
    from keywords, not parsed from text (the same Layers, a tenth of the cost)."""
    nd = pick(rng, (1, 2, 2))
    dim = f"{nd}d"
    c0, c1, c2 = pick(rng, (1, 3)), pick(rng, (2, 4, 6, 8)), pick(rng, (4, 8, 12, 16))
    k1, k2 = pick(rng, (3, 5) if nd == 2 else (3, 5, 7)), pick(rng, (1, 3))
    s1 = pick(rng, (1, 1, 2))
    p1 = pick(rng, (0, k1 // 2))
    pool = pick(rng, _pools(nd))
    size = rng.randrange(8, 17) if nd == 2 else rng.randrange(16, 41)
    first: dict[str, Any] = {"in_channels": c0, "out_channels": c1, "kernel_size": k1}
    if s1 > 1:
        first["stride"] = s1
    if p1:
        first["padding"] = p1
    body = (_made(f"Conv{dim}", **first), pool,
            _made(f"Conv{dim}", in_channels=c1, out_channels=c2, kernel_size=k2))
    shape = (pick(rng, (1, 2, 4)), c0) + (size,) * nd
    classes = pick(rng, (2, 3, 5, 10))
    name = f"tiny_{'cnn' if nd == 2 else 'signal'}"
    if rng.random() < 0.5:  # global pool, or flatten the feature map as it is
        return name, body + (_made(f"AdaptiveAvgPool{dim}", output_size=1),
                             _made("Flatten"),
                             _made("Linear", in_features=c2, out_features=classes)), shape
    try:
        features = prod(trace(body, shape)[-1].output_shape[1:])
    except ShapeError:  # the input is too small for the body: no head fits
        features = c2
    return name, body + (_made("Flatten"),
                         _made("Linear", in_features=features, out_features=classes)), shape


def card_params(network: str, input_shape: Sequence[int], layers: Sequence[Layer],
                at: int, ask: str) -> dict[str, Any]:
    """One card's params: the layers up to the asked one, so later layers do not count.
    A field card asks about the output unit in the middle of every spatial dim."""
    params: dict[str, Any] = {"network": network, "input_shape": list(input_shape),
                              "layers": [layer.to_json() for layer in layers[:at + 1]],
                              "ask": ask}
    if ask == "field":
        out = trace(layers[:at + 1], input_shape)[-1].output_shape
        params["index"] = [size // 2 for size in out[2:]]
    return params


_FIELD_KINDS = ("conv", "maxpool", "avgpool")


def _applies_to(layers: Sequence[Layer], at: int, input_shape: Sequence[int],
                ask: str) -> bool:
    if ask != "field":
        return _applies(layers[at], ask)
    # a field runs through convs and fixed pools only (a Flatten or an adaptive pool
    # reads everything), dilated max pools aside (the support claim checks them by the
    # average pool of the same geometry), on an input small enough to draw
    return at > 0 and len(input_shape) in (3, 4) and max(input_shape[2:]) <= FIELD_INPUT \
        and all(x.kind in _FIELD_KINDS and not (x.kind == "maxpool" and max(
            x.tup("dilation")) > 1) for x in layers[:at + 1])


def _applies(layer: Layer, ask: str) -> bool:
    if ask == "shape":  # a ConvTranspose's size rule is drilled, and worded, by its family;
        # a Linear's or an adaptive pool's output is written in the layer (a giveaway)
        return layer.kind not in ("conv_transpose", "linear", "adaptive_avg", "adaptive_max")
    if ask == "macs":  # a Linear's MACs are its weights times the batch: no harder
        return layer.kind == "conv"
    return layer.kind in ("conv", "conv_transpose", "linear")


def _fit(level: int, params: dict[str, Any], layers: Sequence[Layer],
         key: bytes | str | None = None) -> bool:
    """Whether the card makes a drill: it solves within verify's limits, needs no
    calculator and gives nothing away. `layers` are the Layers of its params' JSON (the
    caller has them: not built again from it); `key`: the params' _params_key, when the
    caller has it."""
    from cardgen.difficulty import calculator_reasons, features  # only for networks

    try:
        solution = _solve(params, layers)
    except (CardgenError, ValueError):  # refused, or over verify's limits
        return False
    if params["ask"] == "field":
        from cardgen.solver.receptive import fields

        found = fields(layers, params["input_shape"], params["index"])
        # a walk to the whole input, or wider than a mental walk, makes no drill
        if any(f.support is None or f.support == (0, n) or f.support[1] - f.support[0]
               > FIELD_MAX for f, n in zip(found, params["input_shape"][2:], strict=True)):
            return False
    f = features(NAME, level, solution, params)
    if f.giveaway or calculator_reasons(f):
        return False
    _keep_fitted(params, solution, key)
    return True


# The solutions _fit made for the cards it accepted, by their params: the build solves
# each card again after generating it, and a card is a pure function of its params (the
# solution is handed out once, then made afresh if asked again).
_FITTED: dict[bytes | str, Solution] = {}
_FITTED_MAX = 4096


def _params_key(params: dict[str, Any]) -> bytes | str:
    # marshal's version 2 form (each value written with its type, nothing shared): equal
    # forms are equal params (True and 1, 1.0 and 1 differ), at about a fifth of their
    # repr's cost (every candidate and every solve asks); equal params in another key
    # order only miss, and are solved afresh. Params marshal refuses (a subclass of a
    # JSON type) are keyed by their repr, a str, never equal to a form.
    try:
        return marshal.dumps(params, 2)
    except ValueError:
        return repr(params)


def _keep_fitted(params: dict[str, Any], solution: Solution,
                 key: bytes | str | None = None) -> None:
    if len(_FITTED) >= _FITTED_MAX:
        _FITTED.clear()
    _FITTED[_params_key(params) if key is None else key] = solution


# The params _fit turned away, by _params_key: draws repeat earlier candidates (in a
# 10,000-note deck about 1 in 12 of those that reach _fit), and its verdict is a pure
# function of the params (their level is their ask's). A repeat of an accepted card is
# still in _FITTED until the build solves it: both are answered without solving again.
_UNFIT: set[bytes | str] = set()


def cards_of(network: str, input_shape: Sequence[int],
             layers: Sequence[Layer]) -> list[tuple[int, dict[str, Any]]]:
    """Every card a network makes, as (level, params), in layer order: the asks that apply
    to each layer, kept when they make a drill (see _fit)."""
    out: list[tuple[int, dict[str, Any]]] = []
    for at in range(len(layers)):
        for level, ask in ASKS:
            if _applies_to(layers, at, input_shape, ask):
                params = card_params(network, input_shape, layers, at, ask)
                if _fit(level, params, layers[:at + 1]):
                    out.append((level, params))
    return out


def generate(rng: Any, level: int) -> dict[str, Any]:
    asks = [ask for lv, ask in ASKS if lv == level]
    for _ in range(MAX_DRAWS):
        ask = pick(rng, asks)
        # a known network, at one of its input shapes (their MACs all need a calculator)
        if level < 3 and rng.random() < 0.3:
            name = pick(rng, sorted(EXAMPLES))
            shape = pick(rng, EXAMPLES[name][2])
            layers: Sequence[Layer] = [_parse(t) for t in EXAMPLES[name][1]]
        else:
            name, layers, shape = _tiny(rng)
        at = pick(rng, range(len(layers)))
        if not _applies_to(layers, at, shape, ask):
            continue
        try:
            params = card_params(name, shape, layers, at, ask)
        except ShapeError:  # a drawn network too small for its input
            continue
        key = _params_key(params)
        if key in _FITTED:  # accepted before (a repeat: the caller refuses it as one)
            return params
        if key in _UNFIT:
            continue
        if _fit(level, params, layers[:at + 1], key):
            return params
        if len(_UNFIT) >= _FITTED_MAX:
            _UNFIT.clear()
        _UNFIT.add(key)
    raise exhausted(NAME, MAX_DRAWS)


def _where(params: dict[str, Any], layers: list[Layer], entering: tuple[int, ...]) -> str:
    name = params["network"]
    about = _about(params)
    intro = f"The network `{name}`" + (f", {about} without the layers that keep the shape "
                                       "(ReLU, dropout)," if about else "")
    return (f"{intro} takes an input of shape `{shape_text(params['input_shape'])}`. Its "
            f"layer {len(layers)} is {layer_code(layers[-1])}"
            + (f", and it receives an input of shape `{shape_text(entering)}`"
               if len(layers) > 1 and params["ask"] != "params" else ""))


def _about(params: dict[str, Any]) -> str | None:
    """What a built-in example is, said only of that example: a recipe's stack may share
    its name, not its description."""
    example = EXAMPLES.get(params["network"])
    if example is None or tuple(params["input_shape"]) not in example[2]:
        return None
    layers = params["layers"]
    own = [_parse(t).to_json() for t in example[1][:len(layers)]]
    return example[0] if own == layers else None


def _field(params: dict[str, Any]) -> Solution:
    """The receptive-field family's range card, on this network's first layers."""
    from cardgen.families import network_receptive_field as rf

    inner = rf.solve({"q": "range", "layers": params["layers"],
                      "input_shape": params["input_shape"], "index": params["index"]})
    name = params["network"]
    about = _about(params)
    intro = f"The network `{name}`" + (f", {about}," if about else "")
    return Solution(question=f"{intro} up to its layer {len(params['layers'])}: "
                             + inner.question[0].lower() + inner.question[1:],
                    answer=inner.answer, form=inner.form, steps=inner.steps,
                    claims=inner.claims, diagrams=inner.diagrams)


def solve(params: dict[str, Any]) -> Solution:
    if _FITTED:
        fitted = _FITTED.pop(_params_key(params), None)
        if fitted is not None:
            return fitted
    return _solve(params)


def _solve(params: dict[str, Any], made: Sequence[Layer] | None = None) -> Solution:
    """The card's solution; `made`: the Layers of its params' JSON, when the caller has them."""
    if params["ask"] == "field":
        return _field(params)
    layers = [Layer.from_json(j) for j in params["layers"]] if made is None else list(made)
    shape = tuple(params["input_shape"])
    steps_in = trace(layers, shape)
    entering = steps_in[-2].output_shape if len(layers) > 1 else shape
    out = steps_in[-1].output_shape
    where = _where(params, layers, entering)
    context: list[str] = []
    claims: list[dict[str, Any]] = []
    if len(layers) > 1:
        before = "Layer 1 takes" if len(layers) == 2 else f"Layers 1 to {len(layers) - 1} take"
        context.append(f"{before} `{shape_text(shape)}` to `{shape_text(entering)}`.")
        claims.append(shape_claim(layers[:-1], shape))
    ask = params["ask"]
    if ask == "shape":
        head = f"`{shape_text(entering)}` \u2192 `{shape_text(out)}`"
        return Solution(
            question=f"{where}. What shape does it output?",
            answer=shape_text(out),
            form="the shape with x between dims, written like the input's",
            steps=context + layer_steps(layers[-1], entering, out, head),
            claims=[*claims, shape_claim(layers[-1:], entering)])
    inner = conv_params.solve({"q": ask, "layer": params["layers"][-1],
                               **({"input_shape": list(entering)} if ask == "macs" else {})})
    if ask == "macs":
        question = (f"{where}. How many multiply-adds does it do? "
                    f"{conv_params.MACS_DEFINITION[layers[-1].kind]}")
    else:
        question = (f"{where}. How many parameters (weights and biases together) does layer "
                    f"{len(layers)} have?")
        context = []  # the parameters do not depend on the input
        claims = []
    return Solution(question=question, answer=inner.answer, form=inner.form,
                    steps=context + inner.steps, claims=[*claims, *inner.claims])
