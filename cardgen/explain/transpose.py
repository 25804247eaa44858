"""Writers for ConvTranspose's output_padding rules: the explicit argument's limit, and
the sizes ``forward(x, output_size=...)`` accepts (``cardgen.solver.transpose``).

Each writer takes the numbers of one rule and the result the solver computed, works the
rule again, and raises ValueError when the two disagree. Error reasons are our words for
the rule, never a quote of PyTorch's message.
"""

from __future__ import annotations

from cardgen.explain.sizes import _spread_rows
from cardgen.explain.tex import display_rows


def _lowest(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + 1


def _range(size: int, k: int, s: int, p: int, d: int, lo: int, hi: int) -> None:
    if (lo, hi) != (_lowest(size, k, s, p, d), _lowest(size, k, s, p, d) + s - 1):
        raise ValueError(f"output_size range: the rule gives {_lowest(size, k, s, p, d)}.."
                         f"{_lowest(size, k, s, p, d) + s - 1}, the solver {lo}..{hi}")


def explicit_rule_text(op: int, s: int, d: int, runs: bool) -> str:
    """Whether an explicit output_padding `op` is allowed (`runs`: the solver's verdict):
    it must be smaller than the stride or the dilation."""
    if (op < s or op < d) != runs:
        raise ValueError(f"output_padding {op} with stride {s}, dilation {d}: the rule and "
                         f"the solver disagree ({runs})")
    rule = "output_padding must be smaller than the stride or the dilation: "
    if op < s:
        return rule + f"\\( {op} < {s} \\), the stride, so the layer runs."
    if op < d:
        return (rule + f"\\( {op} \\ge {s} \\), the stride, but \\( {op} < {d} \\), the "
                "dilation, so the layer runs.")
    return (rule + f"\\( {op} \\ge {s} \\), the stride, and \\( {op} \\ge {d} \\), the "
            "dilation, so PyTorch refuses to run the layer (it raises an error).")


def lowest_size_text(size: int, k: int, s: int, p: int, d: int, lo: int,
                     name: str = "lo") -> str:
    """The smallest size output_size= accepts: the size rule with output_padding 0."""
    if lo != _lowest(size, k, s, p, d):
        raise ValueError(f"lowest size: the rule gives {_lowest(size, k, s, p, d)}, the "
                         f"solver {lo}")
    return ("The smallest size `output_size=` accepts is the size with output_padding 0: "
            + display_rows([(name, "(in-1)s - 2p"), (None, "+ d(k-1) + 1"),
                            *_spread_rows(size, k, s, p, None, d, lo)]))


def range_text(size: int, k: int, s: int, p: int, d: int, lo: int, hi: int) -> str:
    """output_size= adds an output_padding of 0 to s-1: the sizes lo to lo + s - 1."""
    _range(size, k, s, p, d, lo, hi)
    if s == 1:
        return (f"With stride 1 the output_padding it may add is only 0 (\\( s-1 = 0 \\)), "
                f"so it accepts the size {lo} alone; any other size raises an error.")
    return (f"PyTorch makes up the difference with an output_padding of 0 to "
            f"\\( s-1 = {s - 1} \\), so it accepts the sizes from {lo} to "
            f"\\( {lo} + {s - 1} = {hi} \\); any other size raises an error.")


def dilation_cap_text(s: int, d: int, hi: int, op: int | None = None) -> str:
    """Why a dilation larger than the stride does not widen output_size='s range; with
    `op`, the explicit output_padding that would run where output_size= cannot."""
    if d <= s or (op is not None and not s <= op < d):
        raise ValueError(f"dilation {d}, stride {s}, output_padding {op}: no dilation trap")
    if op is None:
        return (f"The dilation {d} does not widen this range: an explicit output_padding "
                f"may go up to {d - 1} (smaller than the dilation), but `output_size=` is "
                f"bounded by the stride alone, so {hi} is its largest size.")
    return (f"An explicit output_padding={op} would run (\\( {op} < {d} \\), the dilation), "
            f"but `output_size=` is bounded by the stride alone: its largest size here is "
            f"{hi}.")


def picked_text(name: str, target: int, lo: int, hi: int, op: int | None,
                call_raises: bool = False) -> str:
    """One dim of a call with output_size: the size `target` is in [lo, hi] and PyTorch
    uses output_padding `op` = target - lo; or (`op` None) it is out of range. With
    `call_raises`, another dim is out of range: this one would be fine on its own."""
    inside = lo <= target <= hi
    if inside != (op is not None) or (op is not None and op != target - lo):
        raise ValueError(f"{name}: size {target} in {lo}..{hi}, the solver says output_padding "
                         f"{op}")
    if op is not None and call_raises:
        return (f"{name}: {target} is between {lo} and {hi}: this dim alone would take "
                f"output_padding \\( {target} - {lo} = {op} \\).")
    if op is not None and lo == hi:
        return (f"{name}: {target} is the one size accepted, so PyTorch uses output_padding "
                f"\\( {target} - {lo} = {op} \\).")
    if op is not None:
        return (f"{name}: {target} is between {lo} and {hi}, so PyTorch uses output_padding "
                f"\\( {target} - {lo} = {op} \\).")
    side = f"\\( {target} < {lo} \\)" if target < lo else f"\\( {target} > {hi} \\)"
    return (f"{name}: {side}, outside {lo} to {hi}, so PyTorch raises an error (every "
            "size must be in its dim's range).")
