"""`equivalent`: whether two pooling stacks give the same shape and values on *every*
input of `input_shape`. Checked by probing with random integers and a spike at each cell:
max pools whose windows differ by one cell agree on most random inputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import prod
from typing import Any

from cardgen.claims.budget import plan
from cardgen.claims.build import shape_list, trusted_layer
from cardgen.claims.check_torch import quiet, torch_module, torch_raised, torch_run
from cardgen.claims.kind import ClaimKind
from cardgen.claims.limits import (
    MAX_EQUIV_CELLS,
    MAX_EXACT_WORK,
    MAX_VALUE_CELLS,
    Failed,
    TooLarge,
)
from cardgen.claims.parse import (
    Item,
    check_stack_size,
    exact_layers,
    parse_input_shape,
    parse_items,
)
from cardgen.layers import Layer
from cardgen.solver import forward, layer_step, pool_windows

# the probe inputs are exact integers
EQUIV_REL, EQUIV_ABS = 1e-12, 1e-9

# Equivalence inputs: seeded random integers, plus "spike" probes (one cell raised far
# above the rest) at up to SPIKE_CELLS cells. Spikes make max-pool stacks with different
# receptive fields differ for sure; random integers separate different averages.
EQUIV_SEED = 20240611
EQUIV_RANDOM_TRIALS = 3
EQUIV_HIGH = 1000
EQUIV_SPIKE = 10_000
SPIKE_CELLS = 512


@dataclass(frozen=True)
class Equivalent:
    layers: list[Item]
    other: list[Item]
    input_shape: tuple[int, ...]
    equal: bool


def parse(claim: Mapping[str, Any]) -> Equivalent:
    if not isinstance(claim["equal"], bool):
        raise Failed("equal must be true or false")
    shape = parse_input_shape(claim["input_shape"], "input_shape")
    if prod(shape) > MAX_EQUIV_CELLS:
        raise TooLarge(f"too large: equivalence input of {prod(shape)} cells "
                       f"(limit {MAX_EQUIV_CELLS})")
    return Equivalent(exact_layers(parse_items(claim["layers"], "layers"), "layers"),
                      exact_layers(parse_items(claim["other"], "other"), "other"),
                      shape, claim["equal"])


def _trusted(claim: dict[str, Any], layers: Sequence[Layer],
             other: Sequence[Layer]) -> Equivalent:
    """`parse` of a claim built here from these Layers, less parsing their JSON back (each
    layer's values are checked once per layer by `trusted_layer`)."""
    try:
        shape = parse_input_shape(claim["input_shape"], "input_shape")
        if prod(shape) > MAX_EQUIV_CELLS:
            raise TooLarge(f"too large: equivalence input of {prod(shape)} cells "
                           f"(limit {MAX_EQUIV_CELLS})")
        stacks = []
        for where, stack in (("layers", layers), ("other", other)):
            check_stack_size(stack, where)
            stacks.append(exact_layers([trusted_layer(layer, f"{where}[{i}]")
                                        for i, layer in enumerate(stack)], where))
    except Failed as exc:
        raise ValueError(f"cannot build this equivalent claim: {exc}") from None
    return Equivalent(stacks[0], stacks[1], shape, claim["equal"])


def _equivalence_inputs(shape: tuple[int, ...], spikes: int) -> Iterator[Any]:
    """Deterministic int64 arrays: random integers, then `spikes` probes that each raise
    one cell far above a random background (every cell when `spikes` covers them all).
    numpy's seeded generator fixes the probes for every version of cardgen."""
    import numpy as np  # only probing needs it; a build decides by windows

    rng = np.random.default_rng(EQUIV_SEED)
    for _ in range(EQUIV_RANDOM_TRIALS):
        yield rng.integers(0, EQUIV_HIGH, size=shape, dtype=np.int64)
    cells = prod(shape)
    background = rng.integers(0, EQUIV_HIGH, size=shape, dtype=np.int64)
    if cells <= spikes:
        spots: Sequence[int] = range(cells)
    else:
        spots = sorted(rng.choice(cells, size=spikes, replace=False).tolist())
    for spot in spots:
        x = background.copy()
        x.flat[spot] = EQUIV_SPIKE
        yield x


def _equiv_plan(a: list[Item], b: list[Item], shape: tuple[int, ...],
                strict: bool = True) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """(output shape of each stack, number of spike probes within the work budget).
    With `strict`, a stack the solver refuses fails the claim."""
    sa, err_a, work_a = plan(a, shape, MAX_EQUIV_CELLS, MAX_VALUE_CELLS, MAX_EXACT_WORK)
    sb, err_b, work_b = plan(b, shape, MAX_EQUIV_CELLS, MAX_VALUE_CELLS, MAX_EXACT_WORK)
    for name, err in (("layers", err_a), ("other", err_b)):
        if err and strict:
            raise Failed(f"solver: {name} raise on {list(shape)}: {err}")
    runs = MAX_EXACT_WORK // max(work_a + work_b, 1)
    if runs < EQUIV_RANDOM_TRIALS:
        raise TooLarge(f"too large: comparing the stacks needs more than {MAX_EXACT_WORK} "
                       "steps")
    return sa[-1], sb[-1], min(SPIKE_CELLS, runs - EQUIV_RANDOM_TRIALS)


def _solver_equivalent(a: list[Item], b: list[Item], shape: tuple[int, ...]
                       ) -> tuple[bool, str]:
    out_a, out_b, spikes = _equiv_plan(a, b, shape)
    if out_a != out_b:
        return False, f"shapes differ: {list(out_a)} vs {list(out_b)}"
    la = [x for x in a if isinstance(x, Layer)]
    lb = [x for x in b if isinstance(x, Layer)]
    for n, x in enumerate(_equivalence_inputs(shape, spikes)):
        nested = x.tolist()
        ya, yb = forward(la, nested), forward(lb, nested)
        diff = next((i for i, (p, q) in enumerate(zip(ya.flat, yb.flat, strict=True))
                     if p != q), None)
        if diff is not None:
            return False, (f"values differ on probe input {n} at flat index {diff}: "
                           f"{_fmt_num(ya.flat[diff])} vs {_fmt_num(yb.flat[diff])}")
    return True, f"same shape {list(out_a)} and values on every probe input"


def _fmt_num(v: Any) -> str:
    return str(v) if isinstance(v, int | Fraction) else repr(float(v))


def check_solver(c: Equivalent) -> str:
    equal, why = _solver_equivalent(c.layers, c.other, c.input_shape)
    if equal != c.equal:
        raise Failed(f"solver: equal is {str(equal).lower()} ({why}), claimed "
                     f"{str(c.equal).lower()}")
    return f"equal={str(equal).lower()}: {why}"


def check_torch(c: Equivalent) -> str:
    import torch

    # The budget and the probe inputs; torch alone judges errors and results.
    _, _, spikes = _equiv_plan(c.layers, c.other, c.input_shape, strict=False)
    with quiet():
        try:
            ma = [torch_module(item) for item in c.layers]
            mb = [torch_module(item) for item in c.other]
            equal, why = True, ""
            for n, x in enumerate(_equivalence_inputs(c.input_shape, spikes)):
                t = torch.from_numpy(x.astype("float64"))
                ya, yb = torch_run(c.layers, ma, t), torch_run(c.other, mb, t)
                if ya.shape != yb.shape:
                    equal, why = False, f"shapes differ: {list(ya.shape)} vs {list(yb.shape)}"
                    break
                if not torch.allclose(ya, yb, rtol=EQUIV_REL, atol=EQUIV_ABS):
                    equal, why = False, f"values differ on probe input {n}"
                    break
            else:
                why = f"same shape {list(ya.shape)} and values on every probe input"
        except Failed:
            raise
        except Exception as exc:
            raise Failed(f"torch raises: {torch_raised(exc)}") from None
    if equal != c.equal:
        raise Failed(f"torch: equal is {str(equal).lower()} ({why}), claimed "
                     f"{str(c.equal).lower()}")
    return f"equal={str(equal).lower()}: {why}"


KIND = ClaimKind("equivalent", frozenset({"kind", "layers", "other", "input_shape", "equal"}),
                 parse, check_solver, check_torch)


_REDUCTION = {"maxpool": "max", "adaptive_max": "max", "avgpool": "mean",
              "adaptive_avg": "mean"}


def _plain_window_reduction(layer: Layer) -> str | None:
    """"max" or "mean" when the layer's output i is exactly that reduction over the cells
    of its windows (`pool_windows`): no padding, no dilation, no divisor override."""
    reduction = _REDUCTION.get(layer.kind)
    if reduction is None or layer.kind.startswith("adaptive"):
        return reduction
    if any(layer.tup("padding")) or (layer.kind == "maxpool"
                                     and any(d != 1 for d in layer.tup("dilation"))):
        return None
    if layer.kind == "avgpool" and layer.kwargs.get("divisor_override") is not None:
        return None
    return reduction


def _equal_by_windows(a: list[Item], b: list[Item], shape: tuple[int, ...]) -> bool | None:
    """The exact verdict for two single pools that reduce the same way over plain windows:
    equal on every input exactly when their output shapes and windows are equal (where a
    window differs, a spike in a cell that only one of them reads tells them apart).
    None when that rule does not apply; then probing decides."""
    if len(a) != 1 or len(b) != 1:
        return None
    la, lb = a[0], b[0]
    if not (isinstance(la, Layer) and isinstance(lb, Layer)):
        return None
    reduction = _plain_window_reduction(la)
    if reduction is None or reduction != _plain_window_reduction(lb):
        return None
    if layer_step(la, shape).output_shape != layer_step(lb, shape).output_shape:
        return False
    return pool_windows(la, shape) == pool_windows(lb, shape)


def _limited(layers: Sequence[Layer], other: Sequence[Layer], input_shape: Sequence[int],
             equal: bool) -> tuple[dict[str, Any], Any]:
    """The claim's JSON and its parsed form, within verify's limits (ValueError if not)."""
    claim = {"kind": "equivalent", "layers": [layer.to_json() for layer in layers],
             "other": [layer.to_json() for layer in other],
             "input_shape": shape_list(input_shape), "equal": equal}
    parsed = _trusted(claim, layers, other)
    try:
        _equiv_plan(parsed.layers, parsed.other, parsed.input_shape)
    except Failed as exc:
        raise ValueError(f"cannot build this equivalent claim: {exc}") from None
    return claim, parsed


# Neither builder is kept per configuration (once_per_configuration): a deck's equivalent
# claims seldom repeat (every10k: 18 of 186 and 23 of 258 calls), and keeping each claim's
# form cost more than the builds it saved
def equivalent_template(layers: Sequence[Layer], other: Sequence[Layer],
                        input_shape: Sequence[int]) -> dict[str, Any]:
    """An equivalent claim that says ``equal: true`` without deciding it: the inner claim
    of a ``unique`` claim, whose candidates `cardgen verify` decides one by one. Checked
    against verify's limits like any claim built here (ValueError if refused)."""
    return _limited(layers, other, input_shape, True)[0]


def equivalent_claim(layers: Sequence[Layer], other: Sequence[Layer],
                     input_shape: Sequence[int]) -> dict[str, Any]:
    """Whether two pooling stacks give the same shape and values on `input_shape`.

    Two single pools that reduce the same way over plain windows are decided exactly by
    their windows; other stacks by the solver on the probe inputs (`_equivalence_inputs`).
    Either way `cardgen verify` and the tests re-prove the claim by probing, with torch
    where it is installed. ValueError if either stack raises on that shape, or if verify
    would refuse the claim as too large.
    """
    claim, parsed = _limited(layers, other, input_shape, False)
    try:
        equal = _equal_by_windows(parsed.layers, parsed.other, parsed.input_shape)
        if equal is None:
            equal, _ = _solver_equivalent(parsed.layers, parsed.other, parsed.input_shape)
    except Failed as exc:
        raise ValueError(f"cannot build this equivalent claim: {exc}") from None
    claim["equal"] = equal
    return claim
