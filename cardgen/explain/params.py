"""Writers for parameter and multiply-add counts (cardgen.solver.params facts).

Each writer takes the numbers of one count and the result the solver computed, works
the count again, and raises ValueError when the two disagree. A refused layer is
explained in our words (the rule), never as a quote of PyTorch's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from cardgen.explain.tex import display_rows

_DIMS = {1: ["k"], 2: ["kH", "kW"], 3: ["kD", "kH", "kW"]}


def _disagree(what: str, mine: object, solver: object) -> ValueError:
    return ValueError(f"{what}: the count gives {mine}, the solver {solver}")


def _dot(factors: Sequence[int]) -> str:
    return " \\cdot ".join(map(str, factors))


def weight_shape_text(kind: str, cin: int, cout: int, groups: int, kernel: Sequence[int],
                      shape: Sequence[int]) -> str:
    """The weight tensor's shape, named dim by dim (kind: conv, conv_transpose, linear)."""
    if kind == "linear":
        mine: tuple[int, ...] = (cout, cin)
        text = (f"A Linear layer's weight is out_features x in_features = "
                f"`{cout}x{cin}`: every output feature reads every input feature.")
    else:
        ks = " x ".join(_DIMS[len(kernel)])
        if kind == "conv":
            mine, names = (cout, cin // groups, *kernel), f"out x in/groups x {ks}"
        else:
            mine, names = (cin, cout // groups, *kernel), f"in x out/groups x {ks}"
        text = (f"The weight tensor is {names} = `{'x'.join(map(str, mine))}`.")
    if tuple(mine) != tuple(shape):
        raise _disagree("weight shape", mine, tuple(shape))
    return text


def groups_text(cin: int, cout: int, groups: int) -> str:
    """What groups does to the channels each output channel reads."""
    if groups == 1:
        raise ValueError("groups=1 needs no sentence")
    if cin % groups or cout % groups:
        raise ValueError(f"groups={groups} does not divide {cin} and {cout}")
    if groups == cin:
        return (f"groups = in_channels = {cin} (depthwise): each output channel reads one "
                f"input channel; {cout} output channels make {cout // groups} per input "
                "channel.")
    return (f"groups={groups} splits the {cin} input channels into {groups} groups of "
            f"{cin // groups} and the {cout} output channels into {groups} groups of "
            f"{cout // groups}: each output channel reads only its group's "
            f"{cin // groups} input channels.")


def params_tex(reads: int, kernel: Sequence[int], cout: int, bias: bool, weights: int,
               biases: int) -> str:
    """Weights per output channel (`reads` input channels times the kernel), one bias
    each when `bias`, times the output channels (or features)."""
    per = reads * prod(kernel)
    if per * cout != weights or (cout if bias else 0) != biases:
        raise _disagree("parameters", (per * cout, cout if bias else 0), (weights, biases))
    unit = "channel" if kernel else "feature"  # a Linear has no kernel
    factors = [reads, *kernel]
    rows: list[tuple[str | None, str]] = []
    if len(factors) > 1:
        rows.append(("\\text{per output}", f"{_dot(factors)} = {per}"))
    else:
        rows.append(("\\text{per output}", str(per)))
    if bias:
        rows.append(("\\text{params}", f"{cout} \\cdot ({per} + 1)"))
        rows.append(("", str(weights + biases)))
        tail = (f" Each output {unit} has its {per} weights and one bias: {weights} "
                f"weights and {biases} biases.")
    else:
        rows.append(("\\text{params}", f"{cout} \\cdot {per} = {weights}"))
        tail = " bias=False: no biases, the weights are all the parameters."
    return display_rows(rows) + tail


def groups_refused_text(cin: int, cout: int, groups: int) -> str:
    """Why a layer whose channels groups does not divide cannot be built."""
    for name, count in (("in_channels", cin), ("out_channels", cout)):
        if count % groups:
            return (f"groups={groups} must split {name} = {count} into {groups} equal "
                    f"groups, but {count} is not divisible by {groups}, so PyTorch refuses "
                    "to build the layer (it raises an error).")
    raise ValueError(f"groups={groups} divides {cin} and {cout}: the layer builds")


def outputs_tex(shape: Sequence[int], outputs: int) -> str:
    """The output's element count: the product of its dims."""
    if prod(shape) != outputs:
        raise _disagree("output elements", prod(shape), outputs)
    factors = [d for d in shape if d != 1] or [1]
    return display_rows([("\\text{outputs}", f"{_dot(factors)} = {outputs}")])


def macs_tex(outputs: int, reads: int, kernel: Sequence[int], macs: int) -> str:
    """MACs: every output element reads `reads` input channels through the kernel."""
    per = reads * prod(kernel)
    if outputs * per != macs:
        raise _disagree("multiply-adds", outputs * per, macs)
    factors = [reads, *kernel]
    rows: list[tuple[str | None, str]] = []
    rows.append(("\\text{per output}", f"{_dot(factors)} = {per}" if len(factors) > 1
                 else str(per)))
    rows.append(("\\text{MACs}", f"{outputs} \\cdot {per}"))
    rows.append(("", str(macs)))
    return display_rows(rows)
