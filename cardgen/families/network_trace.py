"""network.trace: the shape through a small stack taken from real architectures."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cardgen.claims import error_claim, shape_claim
from cardgen.errors import ShapeError
from cardgen.explain.sizes import layer_formulas
from cardgen.families.base import MAX_DRAWS, Solution, exhausted, fits_claim, pick, shape_text
from cardgen.layers import Layer, parse_layer
from cardgen.solver import trace

NAME = "network.trace"
TITLE = "Shape through a 2-5 layer stack from real networks (ResNet/VGG/AlexNet/LeNet)"
TOPIC = "Networks"
LEVELS = (1, 2, 3)


def _resnet_stem(rng: Any) -> tuple[list[str], list[int]]:
    size = pick(rng, (224, 192, 256, 160, 128, 299, 320))
    return ["Conv2d(3, 64, 7, stride=2, padding=3)", "MaxPool2d(3, stride=2, padding=1)"], \
        [pick(rng, (1, 8, 32)), 3, size, size]


def _vgg_block(rng: Any) -> tuple[list[str], list[int]]:
    c = pick(rng, (3, 64, 128, 256))
    c2 = 64 if c == 3 else min(c * 2, 512)
    size = pick(rng, (224, 112, 56, 28, 14, 32, 64))
    return [f"Conv2d({c}, {c2}, 3, padding=1)", f"Conv2d({c2}, {c2}, 3, padding=1)",
            "MaxPool2d(2)"], [pick(rng, (1, 16)), c, size, size]


def _alexnet(rng: Any) -> tuple[list[str], list[int]]:
    size = pick(rng, (224, 227, 256))
    return ["Conv2d(3, 64, 11, stride=4, padding=2)", "MaxPool2d(3, stride=2)",
            "Conv2d(64, 192, 5, padding=2)", "MaxPool2d(3, stride=2)"], [1, 3, size, size]


def _lenet(rng: Any) -> tuple[list[str], list[int]]:
    size = pick(rng, (28, 32, 36))
    return ["Conv2d(1, 6, 5)", "MaxPool2d(2)", "Conv2d(6, 16, 5)", "MaxPool2d(2)",
            "Flatten()"], [pick(rng, (1, 64)), 1, size, size]


def _head(rng: Any) -> tuple[list[str], list[int]]:
    c = pick(rng, (512, 2048, 1280, 768, 256))
    size = pick(rng, (7, 14, 4, 10))
    pool = pick(rng, ("AdaptiveAvgPool2d(1)", "AdaptiveAvgPool2d((1, 1))",
                      "AdaptiveMaxPool2d(1)"))
    return [pool, "Flatten()", f"Linear({c}, {pick(rng, (10, 100, 1000))})"], \
        [pick(rng, (1, 8, 32)), c, size, size]


def _downsample(rng: Any) -> tuple[list[str], list[int]]:
    c = pick(rng, (64, 128, 256))
    size = pick(rng, (56, 28, 14, 57, 29, 15))
    return [f"Conv2d({c}, {2 * c}, 3, stride=2, padding=1)",
            f"Conv2d({2 * c}, {2 * c}, 3, padding=1)", f"Conv2d({2 * c}, {4 * c}, 1)"], \
        [pick(rng, (1, 4)), c, size, size]


def _vgg_head(rng: Any) -> tuple[list[str], list[int]]:
    size = pick(rng, (7, 14, 5, 9, 3))
    classes = pick(rng, (10, 100, 37))
    return ["AdaptiveAvgPool2d((7, 7))", "Flatten()", f"Linear(25088, {classes})"], \
        [1, 512, size, size]


# The stacks are drawn from a few hundred texts, many times over: parse each text once.
_parse = lru_cache(maxsize=1024)(parse_layer)

BLOCKS = {1: (_resnet_stem, _head, _vgg_head), 2: (_vgg_block, _downsample, _alexnet, _head),
          3: (_lenet, _alexnet, _downsample, _vgg_block)}


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        layers, shape = pick(rng, BLOCKS[level])(rng)
        if level == 3:
            tweak = rng.randrange(4)
            if tweak == 0:  # odd sizes through ceil-mode pools
                layers = [t.replace("MaxPool2d(2)", "MaxPool2d(2, ceil_mode=True)")
                          .replace("stride=2)", "stride=2, ceil_mode=True)") for t in layers]
                shape[2] = shape[3] = pick(rng, (13, 15, 27, 29, 31, 55, 57, 225))
            elif tweak == 1:  # non-square input
                shape[3] = pick(rng, (shape[3] // 2, shape[3] * 2, shape[3] + 3, 37))
            elif tweak == 2 and layers[-1] == "Flatten()":  # does the classifier fit?
                layers.append(f"Linear({pick(rng, (400, 256, 576, 784))}, 120)")
        if not _accepted(tuple(layers), tuple(shape), level):
            continue
        return {"layers": [_parse(t).to_json() for t in layers], "input_shape": shape}
    raise exhausted(NAME, MAX_DRAWS)


# The space is small (a few hundred stacks), so most draws repeat one already judged.
@lru_cache(maxsize=4096)
def _accepted(texts: tuple[str, ...], shape: tuple[int, ...], level: int) -> bool:
    """Whether a drawn stack makes a problem: verify can re-check it quickly, and it runs
    (or, at level 3, fails only at a final Linear that does not fit)."""
    parsed = [_parse(t) for t in texts]
    if not fits_claim(parsed, shape):
        return False
    try:
        trace(parsed, shape)
    except ShapeError:
        return level == 3 and texts[-1].startswith("Linear")
    return True


def solve(params: dict[str, Any]) -> Solution:
    layers = [Layer.from_json(j) for j in params["layers"]]
    shape = tuple(params["input_shape"])
    listing = " → ".join(f"`nn.{layer}`" for layer in layers)
    question = (f"An input of shape `{shape_text(shape)}` goes through {listing}. What is the "
                "final output shape? (Answer `error` if PyTorch refuses.)")
    form = "the shape with x between dims, e.g. 8x128x28x28, or error"
    steps: list[str] = []
    current = shape
    for layer in layers:
        try:
            step = trace([layer], current)[0]
        except ShapeError as exc:
            steps.append(f"`{layer}` on `{shape_text(current)}`: PyTorch raises an error. "
                         f"Why: {exc}.")
            return Solution(question=question, answer="error", form=form, steps=steps,
                            claims=[error_claim(layers, shape)])
        detail = ""
        if layer.kind in ("conv", "maxpool", "avgpool"):
            formulas = layer_formulas(layer, step.input_shape, step.output_shape)
            detail = f" ({formulas[-1]})"
        steps.append(f"`{layer}`: `{shape_text(current)}` → "
                     f"`{shape_text(step.output_shape)}`{detail}")
        current = step.output_shape
    return Solution(question=question, answer=shape_text(current), form=form, steps=steps,
                    claims=[shape_claim(layers, shape)])
