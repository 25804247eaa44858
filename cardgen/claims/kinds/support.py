"""`support`: the input cells one output unit of a stack depends on.

``{"kind": "support", "layers": [L, ...], "input_shape": [1, 1, 32],
"output_index": [5], "support": [[7, 22]]}``: along each spatial dim, output unit
``output_index`` (spatial coordinates; batch 0, channel 0) depends on input cells from
``start`` up to ``stop`` (exclusive): the first and one past the last cell whose value
changes it. Padding cells are not input cells. Cells inside the range that the unit
skips (dilation, or a stride longer than the window) still lie inside it: the range is
the smallest box holding every cell it depends on. ``null`` in every dim: it depends on
no input cell at all (the cells are a product over the dims: one empty dim empties all).

The layers are Conv, MaxPool and AvgPool layers with the same number of spatial dims,
on a batched input (N, C, spatial...).

- solver: exact composition of the windows, walking back from the unit one layer at a
  time and keeping only real cells (``cardgen.solver.receptive``).
- torch: every Conv weight 1 and bias 0, the input all ones, a backward pass from the
  one output unit; the input cells with a nonzero gradient must span exactly the claimed
  box. With all weights and inputs positive no two paths cancel, so a nonzero gradient
  is exactly "this cell reaches the unit". A MaxPool sends gradient only to the maximum
  of each window, which would hide the rest of its window, so torch checks a MaxPool by
  the AvgPool of the same kernel, stride, padding and ceil_mode: the same windows, and
  gradient to every real cell of them. AvgPool has no dilation, so a MaxPool here must
  have dilation 1 (both backends refuse others).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import shape_list, trusted_plan
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import (
    MAX_EXACT_WORK,
    MAX_INPUT_ELEMENTS,
    MAX_TENSOR_ELEMENTS,
    Failed,
    TooLarge,
    is_int,
)
from cardgen.claims.parse import check_stack_size, parse_input_shape, parse_items
from cardgen.errors import ShapeError
from cardgen.layers import Layer
from cardgen.solver.receptive import RF_KINDS, Range, support, tap

Box = list[Range | None]


@dataclass(frozen=True)
class Support:
    layers: list[Layer]
    input_shape: tuple[int, ...]
    output_index: tuple[int, ...]
    support: Box


def _check_layers(layers: Sequence[Layer]) -> int:
    """The stack's spatial dims; Failed for a layer this kind does not take."""
    nd = layers[0].ndim
    for i, layer in enumerate(layers):
        if layer.kind not in RF_KINDS:
            raise Failed(f"layers[{i}]: support claims take Conv, MaxPool and AvgPool "
                         f"layers, not {layer.type}")
        if layer.ndim != nd:
            raise Failed(f"layers[{i}]: every layer must have {nd} spatial dims")
        if layer.kind == "maxpool" and any(d != 1 for d in layer.tup("dilation")):
            # torch checks a max pool by the avg pool of its geometry, which has no dilation
            raise Failed(f"layers[{i}]: support claims take max pools of dilation 1")
    return nd


def _parse_box(data: Any, nd: int) -> Box:
    if not isinstance(data, list) or len(data) != nd:
        raise Failed(f"support must be a list of {nd} entries (one per spatial dim)")
    box: Box = []
    for entry in data:
        if entry is None:
            box.append(None)
            continue
        if not (isinstance(entry, list) and len(entry) == 2 and all(is_int(v) for v in entry)):
            raise Failed("support: each spatial dim must be [start, stop] (integers) or null")
        box.append((entry[0], entry[1]))
    return box


def parse(claim: Mapping[str, Any]) -> Support:
    items = parse_items(claim["layers"], "layers")
    layers = [item for item in items if isinstance(item, Layer)]
    nd = _check_layers(layers)
    shape = parse_input_shape(claim["input_shape"], "input_shape")
    if len(shape) != nd + 2:
        raise Failed(f"input_shape must be batched: {nd + 2} dims (N, C and {nd} spatial)")
    index = claim["output_index"]
    if not (isinstance(index, list) and len(index) == nd
            and all(is_int(v) and v >= 0 for v in index)):
        raise Failed(f"output_index must be {nd} non-negative integers (spatial coordinates)")
    return Support(layers, shape, tuple(index), _parse_box(claim["support"], nd))


def _budget(c: Support, shapes: Sequence[tuple[int, ...]] | None = None) -> tuple[int, ...]:
    """The limits before any work; the output shape as the solver sees it. `shapes`: the
    plan a trusted builder already has (`trusted_plan`, the same limits)."""
    if shapes is None:
        shapes, err, _ = plan(c.layers, c.input_shape, MAX_INPUT_ELEMENTS,
                              MAX_TENSOR_ELEMENTS)
        if err:
            raise Failed(f"solver: the stack raises on {list(c.input_shape)}: {err}")
    nd = c.layers[0].ndim
    # the exact walk reads at most (units of a layer's output) x (its kernel) per dim
    work = sum(out[-nd:][d] * tap(layer, d).kernel for layer, out in
               zip(c.layers, shapes[1:], strict=True) for d in range(nd))
    if work > MAX_EXACT_WORK:
        raise TooLarge(f"too large: the windows' composition needs {work} steps "
                       f"(limit {MAX_EXACT_WORK})")
    out = shapes[-1]
    for d, i in enumerate(c.output_index):
        if i >= out[-nd:][d]:
            raise Failed(f"output_index {list(c.output_index)} is outside the output "
                         f"{list(out)}")
    return out


def _text(box: Box) -> str:
    return " x ".join("none" if r is None else f"[{r[0]}, {r[1]})" for r in box)


def _compare(source: str, got: Box, c: Support) -> str:
    if got != c.support:
        raise Failed(f"{source}: output unit {list(c.output_index)} depends on input "
                     f"{_text(got)}, claimed {_text(c.support)}")
    return f"output unit {list(c.output_index)} depends on input {_text(got)}"


def check_solver(c: Support) -> str:
    _budget(c)
    try:
        got: Box = support(c.layers, c.input_shape, c.output_index)
    except ShapeError as exc:  # _budget ran the same sizes: not expected
        raise Failed(f"solver: raises: {exc}") from None
    return _compare("solver", got, c)


def _probe_module(layer: Layer) -> Any:
    """The module whose gradient shows the layer's windows: a Conv with weights 1 and
    bias 0; a MaxPool as the AvgPool of the same geometry (see the module doc); an
    AvgPool itself."""
    import torch

    if layer.kind == "maxpool":
        cls = getattr(torch.nn, f"AvgPool{layer.ndim}d")
        return cls(kernel_size=layer.get("kernel_size"), stride=layer.get("stride"),
                   padding=layer.get("padding"), ceil_mode=layer.get("ceil_mode"))
    module = torch_module(layer)
    if layer.kind == "conv":
        with torch.no_grad():
            module.weight.fill_(1.0)
            if module.bias is not None:
                module.bias.zero_()
    return module


def check_torch(c: Support) -> str:
    import torch

    out = _budget(c)
    nd = c.layers[0].ndim
    with quiet(), torch.enable_grad():  # quiet's no_grad, lifted for the backward pass
        try:
            modules = [_probe_module(layer).double() for layer in c.layers]
            x = torch.ones(c.input_shape, dtype=torch.float64, requires_grad=True)
            y = torch_run(c.layers, modules, x)
            if tuple(y.shape) != tuple(out):
                raise Failed(f"torch gives output shape {list(y.shape)}, the solver "
                             f"{list(out)}")
            y[(0, 0, *c.output_index)].backward()
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
        assert x.grad is not None
        reached = x.grad[0].abs().sum(dim=0) > 0  # batch 0, any channel
        got: Box = []
        for d in range(nd):
            other = tuple(e for e in range(nd) if e != d)
            along = reached.any(dim=other) if other else reached
            cells = along.nonzero().flatten().tolist()
            got.append((cells[0], cells[-1] + 1) if cells else None)
    return _compare("torch", got, c)


KIND = ClaimKind("support", frozenset({"kind", "layers", "input_shape", "output_index",
                                       "support"}), parse, check_solver, check_torch)


def support_claim(layers: Sequence[Layer], input_shape: Sequence[int],
                  output_index: Sequence[int]) -> dict[str, Any]:
    """The input box output unit `output_index` of the stack depends on, by the solver;
    ValueError beyond verify's limits or for a stack this kind does not take."""
    layers, shape = list(layers), shape_list(input_shape)
    try:
        check_stack_size(layers)
        _check_layers(layers)
        shapes, err = trusted_plan(tuple(layers), tuple(shape))
        if err:
            raise Failed(f"the stack raises: {err}")
        c = Support(layers, tuple(shape), tuple(int(i) for i in output_index), [])
        if len(shape) != layers[0].ndim + 2:
            raise Failed("input_shape must be batched")
        _budget(c, shapes)
        box = support(layers, shape, c.output_index)
    except (Failed, ShapeError) as exc:
        raise ValueError(f"cannot build this support claim: {exc}") from None
    return {"kind": "support", "layers": [layer.to_json() for layer in layers],
            "input_shape": shape, "output_index": list(c.output_index),
            "support": [None if r is None else [r[0], r[1]] for r in box]}
