"""`module`: a named module of a torchvision model receives one shape and outputs another.

``{"kind": "module", "model": "resnet18", "path": "layer2.0", "input_shape": [1, 3, 224,
224], "before": [L, ...], "inside": [L, ...], "enters": [1, 64, 56, 56], "output_shape":
[1, 128, 28, 28]}``: when ``torchvision.models.resnet18()`` runs on ``input_shape``, its
module ``layer2.0`` receives ``enters`` and outputs ``output_shape``; ``before`` are the
layers that change the shape on the way to that module (their output is ``enters``) and
``inside`` those it runs (their output is ``output_shape``; BatchNorm, ReLU and a residual
sum keep the shape).

The solver checks the arithmetic of ``before`` and ``inside``. torch checks the same
layers, and the model itself: torchvision's definition (no weights) runs on the meta
device, which computes shapes only, with a hook on the module. Without torchvision the
model cannot be consulted, and the torch check fails saying how to install it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cardgen.claims.build import trusted_items
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import Failed, one_line
from cardgen.claims.parse import Item, parse_input_shape, parse_items, parse_output_shape
from cardgen.errors import CardgenError
from cardgen.layers import Layer
from cardgen.solver import trace

# The models a claim may name: building one runs torchvision's own Python definition.
MODELS = ("resnet18", "vgg11", "alexnet", "mobilenet_v2")
# attribute names (no leading underscore, so no dunders) and indices, dotted
_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.(?:[A-Za-z][A-Za-z0-9_]*|\d+))*")
MAX_PATH = 120


@dataclass(frozen=True)
class ModuleClaim:
    model: str
    path: str
    input_shape: tuple[int, ...]
    before: list[Item]
    inside: list[Item]
    enters: tuple[int, ...]
    output_shape: tuple[int, ...]


def parse(claim: Mapping[str, Any]) -> ModuleClaim:
    return _parse(claim, parse_items)


def _parse(claim: Mapping[str, Any], items: Callable[[Any, str], list[Item]]) -> ModuleClaim:
    """`parse`, its stacks read by `items` (parse_items, or the builder's trusted_items)."""
    model, path = claim["model"], claim["path"]
    if model not in MODELS:
        raise Failed(f"model must be one of {', '.join(MODELS)}, got "
                     f"{one_line(repr(model), 40)}")
    if not isinstance(path, str) or len(path) > MAX_PATH or not _PATH.fullmatch(path):
        raise Failed(f"path must be a module path such as layer2.0.conv1, got "
                     f"{one_line(repr(path), 60)}")
    c = ModuleClaim(model, path, parse_input_shape(claim["input_shape"], "input_shape"),
                    # the module may be the model's first: nothing before it
                    [] if claim["before"] == [] else items(claim["before"], "before"),
                    items(claim["inside"], "inside"),
                    parse_output_shape(claim["enters"], "enters"),
                    parse_output_shape(claim["output_shape"], "output_shape"))
    if len(c.input_shape) != 4 or c.input_shape[1] != 3:
        raise Failed("input_shape must be an image batch, N x 3 x H x W")
    if not c.inside:
        raise Failed("inside must hold the module's layers")
    return c


def _plan(c: ModuleClaim) -> None:
    """The layers' shapes by the solver. No multiply-add budget: torch runs these claims
    on the meta device, which computes shapes only."""
    for layers, shape, what in ((c.before, c.input_shape, "before"),
                                (c.inside, c.enters, "inside")):
        try:
            steps = trace(layers, shape)
        except CardgenError as exc:
            raise Failed(f"solver: the layers {what} raise on {list(shape)}: "
                         f"{one_line(exc)}") from None
        got = steps[-1].output_shape if steps else shape
        want = c.enters if what == "before" else c.output_shape
        if got != want:
            raise Failed(f"solver: the layers {what} give {list(got)}, claimed {list(want)}")


def check_solver(c: ModuleClaim) -> str:
    _plan(c)
    return (f"{c.path} receives {list(c.enters)} and outputs {list(c.output_shape)} "
            "(the layers' arithmetic; the model itself is checked with torchvision)")


@lru_cache(maxsize=4)
def _model(name: str) -> Any:
    import torch

    from cardgen.torchvision_models import load

    with torch.device("meta"):
        return load(name)


@lru_cache(maxsize=32)
def _run(name: str, input_shape: tuple[int, ...]) -> dict[str, list[tuple[Any, Any]]]:
    """What every module of the model receives and outputs on `input_shape`: one meta-device
    run serves every claim about that model and shape. Failed if it raises."""
    import torch

    from cardgen.torchvision_models import ModelsUnavailable

    try:
        model = _model(name)
    except ModelsUnavailable as exc:
        raise Failed(str(exc)) from None
    seen: dict[str, list[tuple[Any, Any]]] = {}
    hooks = [module.register_forward_hook(
        lambda m, i, o, path=path: seen.setdefault(path, []).append(
            (tuple(i[0].shape), tuple(o.shape))))
        for path, module in model.named_modules() if path]
    try:
        with torch.no_grad():
            model(torch.empty(input_shape, device="meta"))
    except Exception as exc:
        raise Failed(f"torchvision's {name} raises on {list(input_shape)}: "
                     f"{torch_raised(exc)}") from None
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _seen(c: ModuleClaim) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """What the model's module receives and outputs, run on the meta device."""
    seen = _run(c.model, c.input_shape)
    if c.path not in dict(_model(c.model).named_modules()):
        raise Failed(f"torchvision's {c.model} has no module {c.path}")
    calls = seen.get(c.path, [])
    if len(calls) != 1:
        raise Failed(f"{c.path} runs {len(calls)} times in {c.model}, not once")
    return calls[0]


def check_torch(c: ModuleClaim) -> str:
    import torch

    _plan(c)  # the limits, before torch builds anything
    with quiet():
        for layers, shape, want in ((c.before, c.input_shape, c.enters),
                                    (c.inside, c.enters, c.output_shape)):
            try:
                x = torch.empty(shape, device="meta")
                y = torch_run(layers, [torch_module(i).to("meta") for i in layers], x) \
                    if layers else x
            except Failed:
                raise
            except Exception as exc:
                raise Failed(f"torch raises: {torch_raised(exc)}") from None
            if tuple(y.shape) != want:
                raise Failed(f"torch: the layers give {list(y.shape)}, claimed {list(want)}")
        enters, out = _seen(c)
    if (enters, out) != (c.enters, c.output_shape):
        raise Failed(f"torchvision's {c.model}: {c.path} receives {list(enters)} and "
                     f"outputs {list(out)}, claimed {list(c.enters)} and "
                     f"{list(c.output_shape)}")
    return f"{c.model}.{c.path} receives {list(enters)} and outputs {list(out)}"


KIND = ClaimKind("module", frozenset({"kind", "model", "path", "input_shape", "before",
                                      "inside", "enters", "output_shape"}),
                 parse, check_solver, check_torch)


def module_claim(model: str, path: str, input_shape: Sequence[int], before: Sequence[Any],
                 inside: Sequence[Any], enters: Sequence[int],
                 output_shape: Sequence[int]) -> dict[str, Any]:
    """A module claim from the recorded architecture (layers as Layers), checked against
    verify's limits and the solver's arithmetic; ValueError if it does not hold there."""
    claim = {"kind": "module", "model": model, "path": path,
             "input_shape": list(input_shape), "before": [x.to_json() for x in before],
             "inside": [x.to_json() for x in inside], "enters": list(enters),
             "output_shape": list(output_shape)}
    if all(type(x) is Layer for x in (*before, *inside)):
        # the Layers themselves stand for the parse of their JSON, as check_claim parses
        # it (trusted_items: parsed back once per Layer object, not once per claim)
        stacks = {"before": before, "inside": inside}

        def items(_: Any, where: str) -> list[Item]:
            return trusted_items(stacks[where], where)
    else:
        items = parse_items
    try:
        _plan(_parse(claim, items))
    except Failed as exc:
        raise ValueError(f"cannot build a module claim: {exc}") from None
    return claim
