"""`params`: how many weights and biases a Conv, ConvTranspose or Linear layer holds.

``{"kind": "params", "layer": L, "weights": 216, "biases": 8}``: the layer, built, has
a weight tensor of 216 elements and a bias of 8 (0 with ``bias=False``). With
``"weights": null, "biases": null`` it says that the layer cannot be built at all (torch
refuses it, e.g. in_channels not divisible by groups).

torch builds the real module (no forward pass, no download) and counts ``numel`` of its
``weight`` and ``bias``; the solver derives the weight tensor's shape from the arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from typing import Any

from cardgen.claims.build import parsed_or_refused
from cardgen.claims.check_torch import quiet, torch_module, torch_raised
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import MAX_GEOMETRY, MAX_WEIGHTS, Failed, TooLarge, is_int
from cardgen.claims.parse import Item, Refused, parse_item
from cardgen.layers import LAYER_TYPES, MAX_INT, Layer
from cardgen.solver.params import PARAM_KINDS, param_count


@dataclass(frozen=True)
class ParamsClaim:
    layer: Item
    weights: int | None
    biases: int | None


def _count(data: Any, where: str) -> int | None:
    if data is None:
        return None
    if not is_int(data) or not 0 <= data <= MAX_INT:
        raise Failed(f"{where} must be null or an integer between 0 and {MAX_INT}")
    return int(data)


def _bound(item: Item) -> None:
    """The weights an untrusted layer could allocate, from its arguments alone (groups
    only shrink it): refused above MAX_WEIGHTS before torch builds anything."""
    args = item.kwargs if isinstance(item, Layer) else item.args
    n = LAYER_TYPES[item.type][1]
    if item.kind == "linear":
        sizes: list[Any] = [args.get("in_features"), args.get("out_features")]
    else:
        kernel = args.get("kernel_size")
        kernel = kernel if isinstance(kernel, tuple) else (kernel,) * n
        if any(is_int(k) and abs(k) > MAX_GEOMETRY for k in kernel):
            raise TooLarge(f"too large: {item} has kernel_size above {MAX_GEOMETRY}")
        sizes = [args.get("in_channels"), args.get("out_channels"), *kernel]
    if not all(is_int(s) for s in sizes):
        raise Failed(f"{item}: sizes must be integers")
    weights = prod(abs(s) for s in sizes)
    if weights > MAX_WEIGHTS:
        raise TooLarge(f"too large: {item} could have {weights} weights (limit {MAX_WEIGHTS})")


def parse(claim: Mapping[str, Any]) -> ParamsClaim:
    item = parse_item(claim["layer"], "layer", allow_refused=True)
    if item.kind not in PARAM_KINDS:
        raise Failed(f"params claims are for Conv, ConvTranspose and Linear layers, not "
                     f"{item.type}")
    weights, biases = _count(claim["weights"], "weights"), _count(claim["biases"], "biases")
    if (weights is None) != (biases is None):
        raise Failed("weights and biases must both be null (the layer cannot be built) or "
                     "both be counts")
    _bound(item)
    return ParamsClaim(item, weights, biases)


def _said(c: ParamsClaim) -> str:
    return "cannot be built" if c.weights is None else \
        f"{c.weights} weights and {c.biases} biases"


def _groups_refused(item: Refused) -> bool:
    """torch's own construction check: groups must divide both channel counts."""
    if item.kind not in ("conv", "conv_transpose"):
        return False
    cin, cout, g = (item.args.get(n) for n in ("in_channels", "out_channels", "groups"))
    if not all(is_int(v) and v >= 1 for v in (cin, cout, g)):
        return False
    return bool(cin % g or cout % g)


def check_solver(c: ParamsClaim) -> str:
    if isinstance(c.layer, Refused):
        if c.weights is not None:
            raise Failed(f"solver: {c.layer} cannot be built ({c.layer.reason}), claimed "
                         f"{_said(c)}")
        if not _groups_refused(c.layer):
            # torch builds some layers cardgen refuses (kernel_size 0, stride 0) and
            # fails only when they run: vouch only for the refusal torch makes itself
            raise Failed(f"solver: cannot tell whether torch builds {c.layer} "
                         f"({c.layer.reason})")
        return f"cannot be built: {c.layer.reason}"
    got = param_count(c.layer)
    if (got.weights, got.biases) != (c.weights, c.biases):
        raise Failed(f"solver: {got.weights} weights and {got.biases} biases, claimed "
                     f"{_said(c)}")
    return _said(c)


def check_torch(c: ParamsClaim) -> str:
    with quiet():
        try:
            module = torch_module(c.layer)
        except Exception as exc:
            if c.weights is None:
                return f"torch refuses to build it: {torch_raised(exc)}"
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
    weights = module.weight.numel()
    biases = 0 if module.bias is None else module.bias.numel()
    if (weights, biases) != (c.weights, c.biases):
        raise Failed(f"torch: {weights} weights and {biases} biases, claimed {_said(c)}")
    return _said(c)


KIND = ClaimKind("params", frozenset({"kind", "layer", "weights", "biases"}), parse,
                 check_solver, check_torch)


def params_claim(layer: Layer | Refused) -> dict[str, Any]:
    """The weights and biases of `layer`, by the solver; a Refused layer (one cardgen's
    Layer refuses, as torch does) gives null counts. ValueError beyond verify's limits."""
    if isinstance(layer, Refused):
        data = {"type": layer.type, "args": {k: list(v) if isinstance(v, tuple) else v
                                             for k, v in layer.args.items()}}
        weights = biases = None
    else:
        data = layer.to_json()
        count = param_count(layer)
        weights, biases = count.weights, count.biases
    claim = {"kind": "params", "layer": data, "weights": weights, "biases": biases}
    parsed = parsed_or_refused(claim, parse)
    if isinstance(parsed.layer, Refused) != (weights is None):
        raise ValueError(f"{data['type']}: cardgen's Layer and the claim disagree on whether "
                         "it can be built")
    return claim
