"""`padding`: how many zeros a convolution pads before and after each spatial dim.

``{"kind": "padding", "layer": L, "input_shape": [...], "left": [...], "right": [...]}``
says that the conv `layer` on `input_shape` equals the same conv with padding 0 run on the
input zero-padded by ``left[i]`` cells before and ``right[i]`` after spatial dim i. It is
what pins an asymmetric split such as ``padding='same'`` with an even kernel, which no
shape claim can: nn.Conv's own `padding` is symmetric.

torch checks it with real modules: the padded conv's weights are copied into a padding-0
conv, both run on seeded random inputs, and the outputs must agree (a split moved by one
cell shifts the output, which random weights and inputs reveal). The solver applies
PyTorch's rule: an integer padding is symmetric; 'same' puts d(k-1)//2 before and the
rest after; 'valid' is none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import parsed_or_refused, shape_list
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import (
    MAX_GEOMETRY,
    MAX_INPUT_ELEMENTS,
    MAX_TENSOR_ELEMENTS,
    Failed,
    is_int,
)
from cardgen.claims.parse import parse_input_shape, parse_item
from cardgen.layers import Layer
from cardgen.solver.arith import same_padding

SEED = 20261202
TRIALS = 2
REL, ABS = 1e-9, 1e-9  # float64 throughout


@dataclass(frozen=True)
class Padding:
    layer: Layer
    input_shape: tuple[int, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]


def _sides(data: Any, n: int, where: str) -> tuple[int, ...]:
    if (not isinstance(data, list) or len(data) != n
            or not all(is_int(v) and 0 <= v <= MAX_GEOMETRY for v in data)):
        raise Failed(f"{where} must list {n} paddings between 0 and {MAX_GEOMETRY}, one per "
                     "spatial dim")
    return tuple(data)


def parse(claim: Mapping[str, Any]) -> Padding:
    layer = parse_item(claim["layer"], "layer", allow_refused=False)
    assert isinstance(layer, Layer)
    if layer.kind != "conv":
        raise Failed(f"padding claims are for Conv layers, not {layer.type}")
    shape = parse_input_shape(claim["input_shape"], "input_shape")
    return Padding(layer, shape, _sides(claim["left"], layer.ndim, "left"),
                   _sides(claim["right"], layer.ndim, "right"))


def _unpadded(layer: Layer) -> Layer:
    return Layer.make(layer.type, **{**layer.kwargs, "padding": 0})


def _budget(c: Padding) -> tuple[int, ...]:
    """The padded input's shape, with the padded and unpadded runs within the limits."""
    n = c.layer.ndim
    padded = c.input_shape[:-n] + tuple(
        s + a + b for s, a, b in zip(c.input_shape[-n:], c.left, c.right, strict=True))
    for layer, shape in ((c.layer, c.input_shape), (_unpadded(c.layer), padded)):
        _, err, _ = plan([layer], shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
        if err:
            raise Failed(f"solver: {layer} raises on {list(shape)}: {err}")
    return padded


def rule(layer: Layer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(left, right) per spatial dim, by PyTorch's documented rule."""
    padding = layer.get("padding")
    if padding == "valid":
        return (0,) * layer.ndim, (0,) * layer.ndim
    if padding == "same":
        pairs = [same_padding(k, d) for k, d in zip(layer.tup("kernel_size"),
                                                    layer.tup("dilation"), strict=True)]
        return tuple(a for a, _ in pairs), tuple(b for _, b in pairs)
    return layer.tup("padding"), layer.tup("padding")


def check_solver(c: Padding) -> str:
    _budget(c)
    left, right = rule(c.layer)
    if (left, right) != (c.left, c.right):
        raise Failed(f"solver: pads {list(left)} before and {list(right)} after, claimed "
                     f"{list(c.left)} and {list(c.right)}")
    return f"pads {list(left)} before and {list(right)} after"


def check_torch(c: Padding) -> str:
    import torch
    import torch.nn.functional as F  # noqa: N812

    _budget(c)
    pads: list[int] = []
    for a, b in zip(reversed(c.left), reversed(c.right), strict=True):
        pads += [a, b]  # F.pad lists the last dim first
    bare = _unpadded(c.layer)
    with quiet():
        try:
            torch.manual_seed(SEED)
            module = torch_module(c.layer).double()
            plain = torch_module(bare).double()
            plain.load_state_dict(module.state_dict())
            for _ in range(TRIALS):
                x = torch.randn(c.input_shape, dtype=torch.float64)
                y = torch_run([c.layer], [module], x)
                y0 = torch_run([bare], [plain], F.pad(x, pads))
                if y.shape != y0.shape or not torch.allclose(y, y0, rtol=REL, atol=ABS):
                    raise Failed(f"torch: {c.layer} is not the unpadded conv on the input "
                                 f"padded by {list(c.left)} before and {list(c.right)} after")
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
    return f"pads {list(c.left)} before and {list(c.right)} after"


KIND = ClaimKind("padding", frozenset({"kind", "layer", "input_shape", "left", "right"}),
                 parse, check_solver, check_torch)


# Not kept per configuration (once_per_configuration): a deck's padding claims seldom
# repeat (every10k: none of 87 calls), and keeping each claim's form cost more than
# the builds it saved
def padding_claim(layer: Layer, input_shape: Sequence[int]) -> dict[str, Any]:
    """The zeros `layer` pads before and after each spatial dim, by PyTorch's rule.
    ValueError if the layer is not a conv that runs on `input_shape` within the limits."""
    left, right = rule(layer)
    claim = {"kind": "padding", "layer": layer.to_json(),
             "input_shape": shape_list(input_shape), "left": list(left),
             "right": list(right)}
    parsed_or_refused(claim, parse, _budget)
    return claim
