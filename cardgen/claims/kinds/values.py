"""`values`: a pooling stack's exact output on a given input (full tensors, batch and
channel dims included), compared with a small tolerance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import MAX_ABS_VALUE, MAX_EXACT_WORK, MAX_VALUE_CELLS, Failed
from cardgen.claims.parse import Item, check_stack_size, exact_layers, parse_items, parse_nested
from cardgen.layers import Layer
from cardgen.solver import Exact, forward

# JSON holds the output as rounded floats
VALUES_REL, VALUES_ABS = 1e-6, 1e-6


@dataclass(frozen=True)
class Values:
    layers: list[Item]
    input: Any
    input_dims: tuple[int, ...]
    output_dims: tuple[int, ...]
    output_flat: list[float]


def parse(claim: Mapping[str, Any]) -> Values:
    layers = exact_layers(parse_items(claim["layers"], "layers"), "layers")
    dims, _ = parse_nested(claim["input"], "input", MAX_VALUE_CELLS, MAX_ABS_VALUE)
    out_dims, out_flat = parse_nested(claim["output"], "output", MAX_VALUE_CELLS, None)
    return Values(layers, claim["input"], dims, out_dims, [float(v) for v in out_flat])


def _budget(layers: Sequence[Item], dims: tuple[int, ...]
            ) -> tuple[list[tuple[int, ...]], str | None, int]:
    return plan(layers, dims, MAX_VALUE_CELLS, MAX_VALUE_CELLS, MAX_EXACT_WORK)


def _close(a: float, b: float, rel: float, abs_: float) -> bool:
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


def _unravel(i: int, dims: tuple[int, ...]) -> list[int]:
    """The index of flat position ``i`` in C order."""
    index = []
    for size in reversed(dims):
        i, r = divmod(i, size)
        index.append(r)
    return index[::-1]


def _compare(source: str, dims: tuple[int, ...], flat: list[float], claim: Values) -> str:
    if dims != claim.output_dims:
        raise Failed(f"{source} gives an output of shape {list(dims)}, claimed "
                     f"{list(claim.output_dims)}")
    for i, (got, want) in enumerate(zip(flat, claim.output_flat, strict=True)):
        if not _close(got, want, VALUES_REL, VALUES_ABS):
            raise Failed(f"{source} gives {got!r} at {_unravel(i, dims)}, "
                         f"claimed {want!r}")
    return f"{len(flat)} values match"


def check_solver(c: Values) -> str:
    shapes, err, _ = _budget(c.layers, c.input_dims)
    if err:
        raise Failed(f"solver: raises on input of shape {list(c.input_dims)}: {err}")
    y = forward([x for x in c.layers if isinstance(x, Layer)], c.input)
    return _compare("solver", y.shape, [float(v) for v in y.flat], c)


def check_torch(c: Values) -> str:
    import torch

    _budget(c.layers, c.input_dims)
    with quiet():
        try:
            modules = [torch_module(item) for item in c.layers]
            x = torch.tensor(c.input, dtype=torch.float64)
            y = torch_run(c.layers, modules, x)
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
    return _compare("torch", tuple(y.shape), y.reshape(-1).tolist(), c)


KIND = ClaimKind("values", frozenset({"kind", "layers", "input", "output"}), parse,
                 check_solver, check_torch)


def values_claim(layers: Sequence[Layer], input_nested: Any,
                 solved: Exact | None = None) -> dict[str, Any]:
    """The exact output of a pooling stack on `input_nested`, as floats. `solved` is
    `solver.forward(layers, input_nested)` when the caller has already run it."""
    if hasattr(input_nested, "tolist"):  # a numpy array
        input_nested = input_nested.tolist()
    try:  # the limits check_claim applies, before the work
        check_stack_size(layers)
        exact_layers(list(layers), "layers")
        dims, _ = parse_nested(input_nested, "input", MAX_VALUE_CELLS, MAX_ABS_VALUE)
        _budget(layers, dims)
    except Failed as exc:
        raise ValueError(f"cannot build this values claim: {exc}") from None
    y = forward(layers, input_nested) if solved is None else solved
    output = Exact(y.shape, [float(v) for v in y.flat])
    return {"kind": "values", "layers": [layer.to_json() for layer in layers],
            "input": input_nested, "output": output.tolist()}
