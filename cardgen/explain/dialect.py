"""Writers for the framework SAME dialects (cardgen.solver.dialect facts).

Each writer takes the numbers of one fact and the result the solver computed, works it
again, and raises ValueError when the two disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from cardgen.explain import count_of
from cardgen.explain.tex import display_rows
from cardgen.solver.dialect import SAME_UPPER, same_out, same_pads, same_total

SIDES = {SAME_UPPER: ("after", "right/bottom"), "SAME_LOWER": ("before", "left/top")}


def _disagree(what: str, mine: object, solver: object) -> ValueError:
    return ValueError(f"{what}: the rule gives {mine}, the solver {solver}")


def same_size_rule_text() -> str:
    return ("With SAME the output size is \\( \\lceil in/s \\rceil \\) along every spatial "
            "dim, whatever the kernel: the framework pads as many zeros as that size needs.")


def same_size_text(names: Sequence[str], size: int, s: int, out: int) -> str:
    """ceil(in/s) along the dims `names` (one computation for dims of one size)."""
    if same_out(size, s) != out:
        raise _disagree("ceil(in/s)", same_out(size, s), out)
    where = " and ".join(names) + ": " if names else ""
    if s == 1:
        return f"{where}stride 1 keeps the size, {out}."
    exact = f" ({size} is a multiple of {s})" if size % s == 0 else ""
    return f"{where}\\( \\lceil {size}/{s} \\rceil = {out} \\){exact}."


def same_total_text(size: int, k: int, s: int, out: int, total: int) -> str:
    """The zeros SAME adds along one dim: the padded input must hold `out` windows."""
    if same_total(size, k, s) != total or same_out(size, s) != out:
        raise _disagree("total padding", same_total(size, k, s), total)
    return ("The padded input must hold the last window: zeros "
            "\\( = (out-1)s + k - in \\)"
            + display_rows([("", f"({out}-1)\\cdot {s} + {k} - {size}"), ("", str(total))]))


def same_split_text(dialect: str, total: int, before: int, after: int) -> str:
    """How the dialect splits `total` zeros, and which side gets the odd one."""
    if (before + after, (before, after)) != (total, _split(dialect, total)):
        raise _disagree(f"{dialect} split", _split(dialect, total), (before, after))
    if total % 2 == 0:
        return (f"{total} is even: {before} before and {after} after, in either "
                "dialect.")
    side, where = SIDES[dialect]
    return (f"{total} is odd: {dialect} puts the extra zero {side} ({where}): "
            f"{before} before, {after} after.")


def _split(dialect: str, total: int) -> tuple[int, int]:
    small = total // 2
    return (small, total - small) if dialect == SAME_UPPER else (total - small, small)


def first_window_text(before: int) -> str:
    return (f"PyTorch's `padding=p` adds p zeros on each side, and its first window starts "
            f"p cells before the input; the SAME layer's starts {before} before, so only "
            f"p = {before} can give the same values.")


def symmetric_outcome_text(size: int, k: int, s: int, dialect: str, out: int,
                           torch_out: int, answer: int | None) -> str:
    """Whether padding=before gives the SAME layer's output (the solver's verdict)."""
    before, after = same_pads(size, k, s, dialect)
    mine = (size + 2 * before - k) // s + 1
    if torch_out != mine or same_out(size, s) != out:
        raise _disagree("padding=before size", mine, torch_out)
    works = torch_out == out
    if (before if works else None) != answer:
        raise _disagree("symmetric padding", before if works else None, answer)
    size_part = (f"With padding={before} PyTorch gives \\( \\lfloor ({size} + 2\\cdot {before}"
                 f" - {k})/{s} \\rfloor + 1 = {torch_out} \\)")
    if not works:
        return (f"{size_part}, not {out}: it is {count_of(out - torch_out, 'window')} "
                f"short, since it pads {before} after where the SAME layer pads {after}. "
                "No padding p computes this layer.")
    if before == after:
        return (f"{size_part}, the SAME layer's size, with {count_of(before, 'zero')} on "
                "each side as the SAME layer pads.")
    return (f"{size_part}, the SAME layer's size too: the one more zero PyTorch adds after "
            f"the input ({before} instead of {after}) is read by no window.")


def fpad_text(nd: int, before: int, after: int) -> str:
    """The explicit padding that always reproduces it: F.pad, then a padding-0 conv."""
    pads = ", ".join([str(before), str(after)] * nd)
    return (f"What always works: `F.pad(x, ({pads}))` (last dim first), then the conv with "
            "`padding=0`.")
