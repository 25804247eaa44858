"""`shape`: the stack runs on `input_shape` and gives `output_shape`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import shape_list, trusted_plan
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS, Failed
from cardgen.claims.parse import Item, parse_input_shape, parse_items, parse_output_shape
from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver import layer_step


@dataclass(frozen=True)
class Shape:
    layers: list[Item]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


def parse(claim: Mapping[str, Any]) -> Shape:
    return Shape(parse_items(claim["layers"], "layers"),
                 parse_input_shape(claim["input_shape"], "input_shape"),
                 parse_output_shape(claim["output_shape"], "output_shape"))


def check_solver(c: Shape) -> str:
    shapes, err, _ = plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    if err:
        raise Failed(f"solver: raises on {list(c.input_shape)}: {err}")
    if shapes[-1] != c.output_shape:
        raise Failed(f"solver gives output shape {list(shapes[-1])}, claimed "
                     f"{list(c.output_shape)}")
    return f"output shape {list(shapes[-1])}"


def check_torch(c: Shape) -> str:
    import torch

    plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    with quiet():
        try:
            modules = [torch_module(item) for item in c.layers]
            y = torch_run(c.layers, modules, torch.zeros(c.input_shape))
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
    got = tuple(y.shape)
    if got != c.output_shape:
        raise Failed(f"torch gives output shape {list(got)}, claimed {list(c.output_shape)}")
    return f"output shape {list(got)}"


KIND = ClaimKind("shape", frozenset({"kind", "layers", "input_shape", "output_shape"}),
                 parse, check_solver, check_torch)


def _checked_output(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    # the plan walks the same (cached) steps: its last shape is the output, unless a layer
    # raises, which the walk below reports as torch does (ShapeError, before any limit).
    # Not cached here: trusted_plan is, and a deck's shape claims seldom repeat (an own
    # cache of every2k's 1,240 hit 57 times, and hashed each stack once more per call)
    try:
        shapes, err = trusted_plan(layers, shape)
    except ValueError:
        _raise_step_error(layers, shape)
        raise
    if err is not None:
        _raise_step_error(layers, shape)
        raise ShapeError(err)  # (the walk raises first: the plan stopped where a step did)
    return shapes[-1]


def _raise_step_error(layers: tuple[Layer, ...], shape: tuple[int, ...]) -> None:
    current = shape
    for layer in layers:
        current = layer_step(layer, current).output_shape  # ShapeError, as torch raises


def shape_claim(layers: Sequence[Layer], input_shape: Sequence[int]) -> dict[str, Any]:
    """`output_shape` of the stack on `input_shape`; ShapeError if the solver says it raises."""
    out = _checked_output(tuple(layers), tuple(input_shape))
    return {"kind": "shape", "layers": [layer.to_json() for layer in layers],
            "input_shape": shape_list(input_shape), "output_shape": list(out)}
