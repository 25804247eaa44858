#!/usr/bin/env python
"""Record the shape-changing structure of torchvision's model definitions into
``cardgen/architectures.json`` (the `network.models` family builds from it; no weights are
downloaded and a build needs no torchvision).

    python tools/record_models.py [--out cardgen/architectures.json]

For each model it runs ``torchvision.models.<name>()`` on the meta device at several input
sizes, with a forward hook on every module, and keeps:

- ``main``: the leaf layers that change a shape (Conv2d, MaxPool2d, AvgPool2d,
  AdaptiveAvgPool2d), in the order they run, leaving out residual shortcuts
  (``downsample``); the other leaves (BatchNorm, ReLU, Dropout) are checked to keep the
  shape;
- ``points``: named modules a card can ask about, each with ``source`` (how many main
  layers run before its input: its input is their output) and ``inside`` (the main
  layers it runs, or its own layer for a shortcut conv).

A point is kept only if, at every recorded size, cardgen's solver gives exactly the
shapes torchvision's module receives and outputs. The output is deterministic.

torchvision 0.28.0's PyPI wheel is built against CUDA, and its C++ ops fail to load next
to a CPU build of torch 2.13.0; the model definitions are plain Python and need none of
them, so ``cardgen.torchvision_models`` declares the two operator schemas that
torchvision's import registers fakes for, and then imports it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cardgen.layers import Layer  # noqa: E402
from cardgen.solver import trace  # noqa: E402

MODELS = ("resnet18", "vgg11", "alexnet", "mobilenet_v2")
SIZES = (224, 227, 200, 160, 128, 97)
SHAPE_KEEPING = {"BatchNorm2d", "ReLU", "ReLU6", "Dropout", "Identity"}


def _short(value: Any) -> Any:
    """(3, 3) as 3, as people write it; uneven pairs stay pairs."""
    if isinstance(value, tuple | list):
        value = tuple(value)
        return value[0] if len(set(value)) == 1 else value
    return value


_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True,
             "ceil_mode": False}


def _make(type_: str, **args: Any) -> Layer:
    """The layer as its definition writes it: pairs shortened, defaults left out."""
    kept = {k: _short(v) for k, v in args.items()
            if not (k in _DEFAULTS and _short(v) == _DEFAULTS[k])}
    return Layer.make(type_, **kept)


def to_layer(module: Any) -> Layer | None:
    """cardgen's Layer for a torch module that changes a shape (None for others)."""
    name = type(module).__name__
    if name == "Conv2d":
        return _make("Conv2d", in_channels=module.in_channels,
                     out_channels=module.out_channels, kernel_size=module.kernel_size,
                     stride=module.stride, padding=module.padding, dilation=module.dilation,
                     groups=module.groups, bias=module.bias is not None)
    if name == "MaxPool2d":
        return _make("MaxPool2d", kernel_size=module.kernel_size, stride=module.stride,
                     padding=module.padding, dilation=module.dilation,
                     ceil_mode=module.ceil_mode)
    if name == "AvgPool2d":
        return _make("AvgPool2d", kernel_size=module.kernel_size, stride=module.stride,
                     padding=module.padding, ceil_mode=module.ceil_mode)
    if name == "AdaptiveAvgPool2d":
        return _make("AdaptiveAvgPool2d", output_size=module.output_size)
    return None


def _calls(model: Any, size: int) -> list[tuple[str, Any, tuple[int, ...], tuple[int, ...]]]:
    import torch

    calls: list[tuple[str, Any, tuple[int, ...], tuple[int, ...]]] = []
    hooks = [module.register_forward_hook(
        lambda m, i, o, name=name: calls.append((name, m, tuple(i[0].shape), tuple(o.shape))))
        for name, module in model.named_modules() if name]
    with torch.no_grad():
        model(torch.empty(1, 3, size, size, device="meta"))
    for hook in hooks:
        hook.remove()
    return calls


def _out(layers: list[Layer], shape: tuple[int, ...]) -> tuple[int, ...]:
    return trace(layers, shape)[-1].output_shape if layers else shape


def record(name: str) -> dict[str, Any]:
    import torch

    from cardgen.torchvision_models import load

    with torch.device("meta"):
        model = load(name)
    runs = {size: _calls(model, size) for size in SIZES}
    first = runs[SIZES[0]]
    leaves = [c for c in first if not any(True for _ in c[1].children())]
    main: list[tuple[str, Layer]] = []
    for path, module, i, o in leaves:
        if i[1:] and len(i) != 4:
            break  # past the functional flatten: the classifier is not drawn
        layer = to_layer(module)
        if layer is None:
            assert type(module).__name__ in SHAPE_KEEPING and i == o, (name, path)
            continue
        if "downsample" not in path.split("."):
            main.append((path, layer))
    main_layers = [layer for _, layer in main]
    inputs = {size: (1, 3, size, size) for size in SIZES}
    points = []
    done: set[str] = set()
    for path, module, _, _ in first:
        done.add(path)
        shown = {size: [(i, o) for p, _, i, o in runs[size] if p == path] for size in SIZES}
        if any(len(v) != 1 or len(v[0][0]) != 4 or len(v[0][1]) != 4
               for v in shown.values()):
            continue  # runs more than once, or past the flatten
        own = [k for k, (p, _) in enumerate(main) if p == path or p.startswith(path + ".")]
        if own:
            if own != list(range(own[0], own[-1] + 1)):
                continue
            inside: Any = own
        else:
            layer = to_layer(module)
            if layer is None:
                continue
            inside = layer.to_json()
        chain = [main_layers[k] for k in own] if own else [to_layer(module)]
        # a shortcut conv reads what the main path had made before its block began: the
        # latest prefix, of the main layers already run, that fits every size
        ran = sum(1 for p, _ in main if p in done)
        candidates = [own[0]] if own else range(ran, -1, -1)
        source = next((k for k in candidates if all(
            _out(main_layers[:k], inputs[s]) == shown[s][0][0] for s in SIZES)), None)
        if source is None:
            continue
        if not all(_out(chain, shown[s][0][0]) == shown[s][0][1] for s in SIZES):
            continue
        points.append({"path": path, "type": type(module).__name__, "source": source,
                       "inside": inside})
    return {"main": [[p, layer.to_json()] for p, layer in main],
            "points": points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "cardgen" / "architectures.json"))
    args = parser.parse_args()
    import torch

    from cardgen.torchvision_models import torchvision_models

    torchvision_models()  # imports torchvision, declaring its operators if they do not load
    import torchvision

    data = {"torch": torch.__version__, "torchvision": torchvision.__version__,
            "sizes": list(SIZES), "models": {name: record(name) for name in MODELS}}
    Path(args.out).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    for name, model in data["models"].items():
        print(f"{name}: {len(model['main'])} main layers, {len(model['points'])} points")


if __name__ == "__main__":
    main()
