"""`macs`: how many multiply-adds a Conv or Linear layer does on an input shape.

``{"kind": "macs", "layer": L, "input_shape": [1, 8, 6, 6], "macs": 2592}``: every output
element reads ``in_channels/groups x prod(kernel_size)`` inputs (a Linear:
``in_features``), padded zeros included; bias additions are not counted.

torch runs the real layer on zeros under ``torch.utils.flop_counter.FlopCounterMode``,
which counts 2 FLOPs per multiply-add from the shapes its convolution and matmul kernels
see, and cross-checks that count with the output's ``numel`` times the size of one output
unit's weights. The solver derives the output shape and the per-output count itself.
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
    MAX_INPUT_ELEMENTS,
    MAX_MACS,
    MAX_TENSOR_ELEMENTS,
    Failed,
    TooLarge,
    is_int,
)
from cardgen.claims.parse import parse_input_shape, parse_item
from cardgen.layers import Layer
from cardgen.solver.params import MAC_KINDS, mac_count


@dataclass(frozen=True)
class MacsClaim:
    layer: Layer
    input_shape: tuple[int, ...]
    macs: int


def parse(claim: Mapping[str, Any]) -> MacsClaim:
    layer = parse_item(claim["layer"], "layer", allow_refused=False)
    assert isinstance(layer, Layer)
    if layer.kind not in MAC_KINDS:
        raise Failed(f"macs claims are for Conv and Linear layers, not {layer.type}")
    shape = parse_input_shape(claim["input_shape"], "input_shape")
    macs = claim["macs"]
    if not is_int(macs) or macs < 0:
        raise Failed("macs must be a non-negative integer")
    return MacsClaim(layer, shape, macs)


def _budget(c: MacsClaim) -> None:
    _, err, _ = plan([c.layer], c.input_shape, MAX_INPUT_ELEMENTS, MAX_TENSOR_ELEMENTS)
    if err:
        raise Failed(f"solver: {c.layer} raises on {list(c.input_shape)}: {err}")
    if c.macs > MAX_MACS:
        raise TooLarge(f"too large: {c.macs} multiply-adds (limit {MAX_MACS})")


def check_solver(c: MacsClaim) -> str:
    _budget(c)
    got = mac_count(c.layer, c.input_shape).macs
    if got != c.macs:
        raise Failed(f"solver: {got} multiply-adds, claimed {c.macs}")
    return f"{got} multiply-adds"


def check_torch(c: MacsClaim) -> str:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    _budget(c)
    with quiet():
        try:
            module = torch_module(c.layer)
            with FlopCounterMode(display=False) as counter:
                y = torch_run([c.layer], [module], torch.zeros(c.input_shape))
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
    flops = counter.get_total_flops()
    per_unit = y.numel() * module.weight[0].numel()  # one output unit's weights, each once
    if flops != 2 * per_unit:
        raise Failed(f"torch: the flop counter says {flops} FLOPs, the output reads "
                     f"{per_unit} inputs")
    if flops // 2 != c.macs:
        raise Failed(f"torch: {flops // 2} multiply-adds, claimed {c.macs}")
    return f"{c.macs} multiply-adds"


KIND = ClaimKind("macs", frozenset({"kind", "layer", "input_shape", "macs"}), parse,
                 check_solver, check_torch)


def macs_claim(layer: Layer, input_shape: Sequence[int]) -> dict[str, Any]:
    """Multiply-adds of `layer` on `input_shape`, by the solver. ValueError if it raises
    there or the claim is beyond verify's limits."""
    claim = {"kind": "macs", "layer": layer.to_json(), "input_shape": shape_list(input_shape),
             "macs": 0}
    parsed_or_refused(claim, parse, _budget)
    claim["macs"] = mac_count(layer, input_shape).macs
    return claim
