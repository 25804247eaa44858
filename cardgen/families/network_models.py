"""network.models: named modules of real torchvision models (resnet18, vgg11, alexnet,
mobilenet_v2): the shape a module outputs.

Built from ``cardgen/architectures.json``, which ``tools/record_models.py`` records from
torchvision's own definitions (no weights), so a build needs no torchvision; the cards'
``module`` claims name the model and the module, and ``cardgen verify`` re-runs
torchvision's definition to check them (the `models` extra).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cardgen.claims import module_claim
from cardgen.claims.limits import MAX_LAYERS
from cardgen.explain.layers import layer_steps
from cardgen.families.base import (
    MAX_CARD_MACS,
    MAX_DRAWS,
    Solution,
    exhausted,
    layer_code,
    pick,
    shape_text,
)
from cardgen.layers import Layer
from cardgen.resources import package_file
from cardgen.solver import trace

NAME = "network.models"
TITLE = ("Named modules of torchvision's resnet18, vgg11, alexnet and mobilenet_v2: the "
         "shape a module outputs")
TOPIC = "Networks"
LEVELS = (1, 2, 3)
EXTRA = "models"  # `cardgen verify` checks these cards with torchvision

# Level 2 asks about a block of 2-4 layers; level 3 starts at the image and runs at most
# this many layers (the learner works each one).
BLOCK = (2, 4)
MAX_FROM_INPUT = 5


@lru_cache(maxsize=1)
def architectures() -> dict[str, Any]:
    return json.loads(package_file("architectures.json").read_text())


@lru_cache(maxsize=1)
def _main_layers() -> dict[str, list[tuple[str, Layer]]]:
    return {name: [(p, Layer.from_json(j)) for p, j in m["main"]]
            for name, m in architectures()["models"].items()}


@lru_cache(maxsize=4096)  # the steps and listings name the same modules again and again
def dotted(model: str, path: str) -> str:
    """`resnet18.layer3[0].downsample[0]`: the module as Python reaches it."""
    parts = [f"[{p}]" if p.isdigit() else f".{p}" for p in path.split(".")]
    return model + "".join(parts)


@lru_cache(maxsize=8)
def _points(model: str) -> dict[str, dict[str, Any]]:
    return {p["path"]: p for p in architectures()["models"][model]["points"]}


def _point(model: str, path: str) -> dict[str, Any]:
    return _points(model)[path]


@lru_cache(maxsize=4096)
def _shapes(model: str, path: str, size: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(what the module receives, what it outputs) on a 1x3xSxS image, by the solver."""
    point = _point(model, path)
    before = [layer for _, layer in _before(model, point)]
    shape = (1, 3, size, size)
    enters = trace(before, shape)[-1].output_shape if before else shape
    return enters, trace([x for _, x in _inside(model, point)], enters)[-1].output_shape


def _before(model: str, point: dict[str, Any]) -> list[tuple[str, Layer]]:
    """The main path's layers that run before the module's input (path, layer)."""
    return _main_layers()[model][:point["source"]]


def _inside(model: str, point: dict[str, Any]) -> list[tuple[str, Layer]]:
    return list(_inside_of(model, point["path"]))


@lru_cache(maxsize=1024)  # a model has a few dozen points: each read once
def _inside_of(model: str, path: str) -> tuple[tuple[str, Layer], ...]:
    point = _point(model, path)
    if isinstance(point["inside"], dict):  # a shortcut conv: its own layer
        return ((point["path"], Layer.from_json(point["inside"])),)
    main = _main_layers()[model]
    return tuple(main[k] for k in point["inside"])


def _levels(model: str, point: dict[str, Any]) -> set[int]:
    n = len(_inside(model, point))
    levels: set[int] = set()
    if point["source"] > MAX_LAYERS:  # its claim would be over verify's limit
        return levels
    if n == 1:
        levels.add(1)
    if BLOCK[0] <= n <= BLOCK[1]:
        levels.add(2)
    if 2 <= point["source"] + n <= MAX_FROM_INPUT and not isinstance(point["inside"], dict):
        levels.add(3)
    return levels


@lru_cache(maxsize=64)
def _eligible(model: str, level: int) -> list[dict[str, Any]]:
    return [p for p in architectures()["models"][model]["points"] if level in _levels(model, p)]


def generate(rng: Any, level: int) -> dict[str, Any]:
    data = architectures()
    for _ in range(MAX_DRAWS):
        model = pick(rng, sorted(data["models"]))
        points = _eligible(model, level)
        if not points:
            continue
        point = pick(rng, points)
        size = pick(rng, data["sizes"])
        enters, out = _shapes(model, point["path"], size)
        if level < 3 and (out[2:] == enters[2:] or "Adaptive" in point["type"]):
            continue  # the sizes stay, or are written in the layer: read off the question
        params = {"model": model, "path": point["path"], "input_shape": [1, 3, size, size],
                  "from_input": level == 3}
        if level == 3 and rng.random() < FIELD_SHARE:
            if not _field_fits(model, point, size, out):
                continue
            params.update(ask="field", index=[out[2] // 2, out[3] // 2])
        return params
    raise exhausted(NAME, MAX_DRAWS)


# Level 3 asks, this often, which input cells the middle output unit of the module reads
# (its receptive field), where the layers run one after the other: no residual sum, whose
# shortcut would widen nothing but is not a layer the walk can pass through.
FIELD_SHARE = 0.4
FIELD_MAX = 64  # cells per dim: a wider range is no mental walk


def _sequential(model: str, path: str) -> bool:
    if model in ("vgg11", "alexnet"):
        return path.startswith("features")
    if model == "resnet18":
        return path in ("conv1", "maxpool")
    parts = path.split(".")  # mobilenet_v2: no residual before features[3]
    return parts[0] == "features" and len(parts) > 1 and int(parts[1]) <= 2


def _field_fits(model: str, point: dict[str, Any], size: int, out: tuple[int, ...]) -> bool:
    from cardgen.claims.build import claim_work
    from cardgen.solver.receptive import fields

    if not _sequential(model, point["path"]) or isinstance(point["inside"], dict):
        return False
    chain = [layer for _, layer in (*_before(model, point), *_inside(model, point))]
    shape = [1, 3, size, size]
    try:
        if claim_work(chain, shape) > MAX_CARD_MACS:  # torch walks the gradient back
            return False
    except ValueError:
        return False
    found = fields(chain, shape, [out[2] // 2, out[3] // 2])
    return all(f.support is not None and f.support != (0, size)
               and f.support[1] - f.support[0] <= FIELD_MAX for f in found)


def _claim(model: str, path: str, size: int) -> dict[str, Any]:
    """The module claim, built on each call: a deck seldom asks for one module and size
    again (every10k: 16 of 181 calls), and keeping each claim's form
    (once_per_configuration) cost more than the builds it saved."""
    point = _point(model, path)
    before = [layer for _, layer in _before(model, point)]
    enters, out = _shapes(model, path, size)
    return module_claim(model, path, (1, 3, size, size), before,
                        [layer for _, layer in _inside(model, point)], enters, out)


# What sits between the conv and pool layers of each model and keeps the shape.
_BETWEEN = {"resnet18": "BatchNorm and ReLU layers", "mobilenet_v2": "BatchNorm and ReLU6 layers",
            "vgg11": "ReLU layers", "alexnet": "ReLU layers"}


def _listing(model: str, chain: list[tuple[str, Layer]]) -> str:
    return ", then ".join(f"`{dotted(model, p)}` = {layer_code(layer)}" for p, layer in chain)


def _field(params: dict[str, Any]) -> Solution:
    """The receptive-field family's range card on the module's layers from the image,
    with the module claim that ties them to torchvision's model."""
    from cardgen.families import network_receptive_field as rf

    model, path = params["model"], params["path"]
    point = _point(model, path)
    chain = [*_before(model, point), *_inside(model, point)]
    inner = rf.solve({"q": "range", "layers": [x.to_json() for _, x in chain],
                      "input_shape": params["input_shape"], "index": params["index"]})
    name = dotted(model, path)
    names = ", then ".join(f"`{dotted(model, p)}`" for p, _ in chain)
    question = (f"torchvision's `{model}` up to `{name}` ({names}; the "
                f"{_BETWEEN[model]} between them act cell by cell"
                + (", BatchNorm as in eval mode" if "BatchNorm" in _BETWEEN[model] else "")
                + "): "
                + inner.question[0].lower() + inner.question[1:])
    return Solution(question=question, answer=inner.answer, form=inner.form,
                    steps=inner.steps, claims=[*inner.claims,
                                               _claim(model, path, params["input_shape"][2])])


def solve(params: dict[str, Any]) -> Solution:
    if params.get("ask") == "field":
        return _field(params)
    model, path = params["model"], params["path"]
    shape = tuple(params["input_shape"])
    point = _point(model, path)
    inside = _inside(model, point)
    enters, out = _shapes(model, path, shape[2])  # the image is square, 1x3xSxS
    name = dotted(model, path)
    intro = f"torchvision's `{model}` runs on an input of shape `{shape_text(shape)}`"
    chain = [*_before(model, point), *inside] if params["from_input"] else inside
    kept = f"the {_BETWEEN[model]} between them keep the shape"
    if model == "resnet18" and any(p.startswith("layer") for p, _ in chain) \
            and not (len(inside) == 1 and not params["from_input"]):
        kept += ("; each block adds its shortcut (its input, or the strided 1x1 conv "
                 "`downsample` where the shape changes) to the output of its layers, and the "
                 "sum needs both in the same shape")
    if params["from_input"]:
        start = shape
        question = (f"{intro}. The conv and pool layers on the way to the output of "
                    f"`{name}` are {_listing(model, chain)} ({kept}). What shape does "
                    f"`{name}` output?")
    elif len(inside) == 1:
        start = enters
        code = layer_code(inside[0][1])
        what = code if point["type"] == inside[0][1].type else (
            f"a `{point['type']}` whose only layer that can change the shape is {code}")
        question = (f"{intro}, and its module `{name}`, {what}, receives "
                    f"`{shape_text(enters)}`. What shape does it output?")
    else:
        start = enters
        question = (f"{intro}, and its module `{name}` receives `{shape_text(enters)}`. The "
                    f"conv and pool layers on its main path are {_listing(model, chain)} "
                    f"({kept}). What shape does `{name}` output?")
    steps: list[str] = []
    current = start
    for p, layer in chain:
        new = trace([layer], current)[-1].output_shape
        head = f"`{dotted(model, p)}`: `{shape_text(current)}` \u2192 `{shape_text(new)}`"
        steps += layer_steps(layer, current, new, head)
        current = new
    claim = _claim(model, path, shape[2])
    return Solution(question=question, answer=shape_text(out),
                    form="the shape with x between dims, written like the input's",
                    steps=steps, claims=[claim])
