"""network.trace: the shape through a small stack taken from real architectures."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cardgen.claims import error_claim, shape_claim
from cardgen.errors import ShapeError
from cardgen.explain.layers import layer_steps
from cardgen.explain.windows import linear_refused
from cardgen.families.base import (
    MAX_DRAWS,
    Solution,
    exhausted,
    fits_claim,
    layer_code,
    layer_from_text,
    pick,
    shape_text,
)
from cardgen.layers import Layer
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
    pad = pick(rng, (", padding=1", ", padding=1", ""))  # VGG pads; unpadded shrinks by 2
    pool = pick(rng, ("MaxPool2d(2)", "MaxPool2d(2)", "MaxPool2d(3, stride=2, padding=1)",
                      "AvgPool2d(2)"))
    return [f"Conv2d({c}, {c2}, 3{pad})", f"Conv2d({c2}, {c2}, 3{pad})", pool], \
        [pick(rng, (1, 16)), c, size, size]


def _alexnet(rng: Any) -> tuple[list[str], list[int]]:
    size = pick(rng, (224, 227, 256))
    return ["Conv2d(3, 64, 11, stride=4, padding=2)", "MaxPool2d(3, stride=2)",
            "Conv2d(64, 192, 5, padding=2)", "MaxPool2d(3, stride=2)"], [1, 3, size, size]


def _lenet(rng: Any) -> tuple[list[str], list[int]]:
    size = pick(rng, (28, 32, 36))
    return ["Conv2d(1, 6, 5)", "MaxPool2d(2)", "Conv2d(6, 16, 5)", "MaxPool2d(2)",
            "Flatten()"], [pick(rng, (1, 64)), 1, size, size]


def _pool_flatten(rng: Any) -> tuple[list[str], list[int]]:
    c = pick(rng, (4, 8, 16, 32))  # Flatten's product stays mental: 32 * 7 * 7
    size = pick(rng, (4, 6, 8, 10, 12, 14, 7, 9))
    return [f"{pick(rng, ('MaxPool2d', 'AvgPool2d'))}(2)", "Flatten()"], \
        [pick(rng, (1, 8, 32)), c, size, size]


def _adaptive_flatten(rng: Any) -> tuple[list[str], list[int]]:
    c = pick(rng, (16, 32, 64, 128, 256))  # c * k at most 1024
    k = pick(rng, (2, 3, 4))
    size = pick(rng, (7, 14, 4, 10))
    pool = pick(rng, (f"AdaptiveAvgPool2d({k})", f"AdaptiveAvgPool2d(({k}, {k}))",
                      f"AdaptiveMaxPool2d({k})"))
    return [pool, "Flatten()"], [pick(rng, (1, 8, 32)), c, size, size]


def _conv_head(rng: Any) -> tuple[list[str], list[int]]:
    c = pick(rng, (64, 128))  # 2c * k at most 768
    k = pick(rng, (2, 3))  # with 1 the answer, batch x 2c, could be read off the question
    size = pick(rng, (7, 14, 8, 10, 13))
    conv = pick(rng, ("3, stride=2, padding=1", "3, padding=1", "1", "3"))
    pool = pick(rng, ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"))
    return [f"Conv2d({c}, {2 * c}, {conv})", f"{pool}({k})", "Flatten()"], \
        [pick(rng, (1, 8, 32)), c, size, size]


def _lenet_front(rng: Any) -> tuple[list[str], list[int]]:
    size = pick(rng, (28, 32, 36))
    return ["Conv2d(1, 6, 5)", "MaxPool2d(2)"], [pick(rng, (1, 64)), 1, size, size]


def _downsample(rng: Any) -> tuple[list[str], list[int]]:
    c = pick(rng, (64, 128, 256))
    size = pick(rng, (56, 28, 14, 57, 29, 15))
    first = pick(rng, ("3, stride=2, padding=1", "3, stride=2, padding=1", "1, stride=2",
                       "3, stride=2"))  # ResNet's strided 3x3, its 1x1 shortcut, unpadded
    second = pick(rng, ("3, padding=1", "3, padding=1", "3", "1"))
    return [f"Conv2d({c}, {2 * c}, {first})", f"Conv2d({2 * c}, {2 * c}, {second})",
            f"Conv2d({2 * c}, {4 * c}, 1)"], [pick(rng, (1, 4)), c, size, size]


# The stacks are drawn from a few hundred texts, many times over: parse each text once.
_parse = lru_cache(maxsize=1024)(layer_from_text)  # (parse_layer of these texts)

# No level's answer can be read off the question: every stack changes a size by
# arithmetic (a classifier head ending in Linear would give away batch x out_features).
BLOCKS = {1: (_resnet_stem, _pool_flatten, _adaptive_flatten, _lenet_front),
          2: (_vgg_block, _downsample, _alexnet, _conv_head),
          3: (_lenet, _alexnet, _downsample, _vgg_block)}


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):
        layers, shape = pick(rng, BLOCKS[level])(rng)
        if level == 3:
            tweak = rng.randrange(4)
            if tweak == 0:  # odd sizes through ceil-mode pools
                layers = [t.replace("MaxPool2d(2)", "MaxPool2d(2, ceil_mode=True)")
                          .replace("stride=2)", "stride=2, ceil_mode=True)")
                          .replace("padding=1)", "padding=1, ceil_mode=True)")
                          if t.startswith("MaxPool") else t for t in layers]
                shape[2] = shape[3] = pick(rng, (13, 15, 27, 29, 31, 55, 57, 225))
            elif tweak == 1 and len(layers) <= 3:  # non-square input (short stacks)
                shape[3] = pick(rng, (shape[3] // 2, shape[3] * 2, shape[3] + 3, 37))
            elif tweak == 2 and layers[-1] == "Flatten()":  # does the classifier fit?
                # only a misfit: one that fits gives batch x 120, a copy of the question
                layers.append(f"Linear({pick(rng, (400, 256, 576, 784))}, 120)")
                if _fits_linear(tuple(layers), tuple(shape)):
                    continue
        if not _accepted(tuple(layers), tuple(shape), level):
            continue
        return {"layers": [_parse(t).to_json() for t in layers], "input_shape": shape}
    raise exhausted(NAME, MAX_DRAWS)


def _fits_linear(texts: tuple[str, ...], shape: tuple[int, ...]) -> bool:
    try:
        trace([_parse(t) for t in texts], shape)
    except ShapeError:
        return False
    return True


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


def _layer_steps(layer: Layer, shape: tuple[int, ...], out: tuple[int, ...]) -> list[str]:
    head = f"{layer_code(layer)}: `{shape_text(shape)}` \u2192 `{shape_text(out)}`"
    return layer_steps(layer, shape, out, head)


def solve(params: dict[str, Any]) -> Solution:
    layers = [Layer.from_json(j) for j in params["layers"]]
    shape = tuple(params["input_shape"])
    listing = " → ".join(f"`nn.{layer}`" for layer in layers)
    question = (f"An input of shape `{shape_text(shape)}` goes through {listing}. What is the "
                "final output shape? (Answer `error` if PyTorch refuses.)")
    form = "the shape with x between dims, written like the input's, or error"
    steps: list[str] = []
    current = shape
    for layer in layers:
        try:
            step = trace([layer], current)[0]
        except ShapeError:
            if layer.kind != "linear":
                raise
            steps.append(f"`{layer}` on `{shape_text(current)}`: "
                         + linear_refused(layer.get("in_features"), current[-1]))
            return Solution(question=question, answer="error", form=form, steps=steps,
                            claims=[error_claim(layers, shape)])
        steps += _layer_steps(layer, current, step.output_shape)
        current = step.output_shape
    return Solution(question=question, answer=shape_text(current), form=form, steps=steps,
                    claims=[shape_claim(layers, shape)])
