"""`error`: PyTorch raises when the layers are built or run on `input_shape`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import (
    parsed_or_refused,
    shape_list,
    trusted_items,
)
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS, Failed, one_line
from cardgen.claims.parse import Item, Refused, parse_input_shape, parse_items
from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver import layer_step


@dataclass(frozen=True)
class Error:
    layers: list[Item]
    input_shape: tuple[int, ...]


def parse(claim: Mapping[str, Any]) -> Error:
    return Error(parse_items(claim["layers"], "layers", allow_refused=True),
                 parse_input_shape(claim["input_shape"], "input_shape"))


def _budget(c: Error) -> None:
    plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)


def check_solver(c: Error) -> str:
    shapes, err, _ = plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    if err is None:
        raise Failed(f"solver: runs without error, output shape {list(shapes[-1])}")
    return f"raises: {err}"


def check_torch(c: Error) -> str:
    import torch

    _budget(c)
    with quiet():
        try:
            modules = [torch_module(item) for item in c.layers]
        except Exception as exc:
            return f"torch raises building the layers: {torch_raised(exc)}"
        try:
            y = torch_run(c.layers, modules, torch.zeros(c.input_shape))
        except Failed:
            raise
        except Exception as exc:
            return f"torch raises: {torch_raised(exc)}"
    raise Failed(f"torch runs without error, output shape {list(y.shape)}")


KIND = ClaimKind("error", frozenset({"kind", "layers", "input_shape"}), parse, check_solver,
                 check_torch)


def _solver_error(items: Sequence[Item], shape: tuple[int, ...]) -> str | None:
    current = shape
    for i, item in enumerate(items):
        if isinstance(item, Refused):
            return f"layer {i + 1}: {item.reason}"
        try:
            current = layer_step(item, current).output_shape
        except ShapeError as exc:
            return f"layer {i + 1}: {one_line(exc)}"
    return None


# Not kept per configuration (once_per_configuration): a deck's error claims seldom
# repeat (every10k: 5 of 875 calls), and keeping each claim's form cost more than the
# builds it saved
def error_claim(layers: Sequence[Layer], input_shape: Sequence[int]) -> dict[str, Any]:
    """PyTorch raises on this stack and shape. ValueError if the solver says it runs.

    A Layer made directly (bypassing validation, e.g. padding='same' with stride 2) is
    fine: its refusal at construction counts as the error.
    """
    claim = {"kind": "error", "layers": [layer.to_json() for layer in layers],
             "input_shape": shape_list(input_shape)}
    # `parse`, less parsing back the JSON of Layers that parsed back before
    parsed = parsed_or_refused(claim, lambda c: Error(
        trusted_items(layers, "layers", allow_refused=True),
        parse_input_shape(c["input_shape"], "input_shape")))
    if _solver_error(parsed.layers, parsed.input_shape) is None:
        raise ValueError(f"{' -> '.join(map(str, layers))} runs on {list(input_shape)}: "
                         "not an error")
    try:
        _budget(parsed)
    except Failed as exc:
        raise ValueError(f"cannot build this error claim: {exc}") from None
    return claim
