"""Writers for receptive fields (cardgen.solver.receptive facts): the size and jump
recurrences, and the walk back from one output unit through a padded stack.

Each writer takes the numbers of one step and the result the solver computed, works the
step again, and raises ValueError when the two disagree: a card never shows a step that
does not give its answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cardgen.explain.tex import display_rows
from cardgen.solver.receptive import Range, Row, Tap


def _disagree(what: str, mine: object, solver: object) -> ValueError:
    return ValueError(f"{what}: the step gives {mine}, the solver {solver}")


def _dot(factors: Iterable[str]) -> str:
    return " \\cdot ".join(factors)


def field_rule_text() -> str:
    """The two recurrences, in words, once per card."""
    return ("Work down the stack with two numbers, both 1 before the first layer: the "
            "field size \\(r\\) and the jump \\(J\\) (how many input cells apart the "
            "fields of two neighbouring units start). A layer with kernel \\(k\\), "
            "dilation \\(d\\) and stride \\(s\\) adds \\(d(k-1)\\) of its input units, "
            "each \\(J\\) input cells apart, to the field: "
            "\\(r \\mathrel{+}= d(k-1)\\cdot J\\), then \\(J \\mathrel{*}= s\\).")


def size_step_tex(n: int, t: Tap, before: Row, after: Row, with_jump: bool = True) -> str:
    """Layer `n` of the recurrence: the field grows by d(k-1)J, the jump by the stride."""
    size = before.size + t.dilation * (t.kernel - 1) * before.jump
    jump = before.jump * t.stride
    if (size, jump) != (after.size, after.jump):
        raise _disagree(f"layer {n}", (size, jump), (after.size, after.jump))
    factors = [f"({t.kernel}-1)"]
    if t.dilation > 1:
        factors.insert(0, str(t.dilation))
    if before.jump > 1:
        factors.append(str(before.jump))
    rows: list[tuple[str | None, str]] = []
    if t.kernel > 1:
        rows.append((f"r_{n}", f"{before.size} + {_dot(factors)} = {size}"))
    else:
        rows.append((f"r_{n}", f"{size}"))
    if with_jump:
        rows.append((f"J_{n}", f"{before.jump} \\cdot {t.stride} = {jump}"
                     if t.stride > 1 else f"{jump}"))
    return display_rows(rows)


def jump_tex(strides: Sequence[int], jump: int) -> str:
    """The jump: the product of the strides; kernels and dilations do not move it."""
    mine = 1
    for s in strides:
        mine *= s
    if mine != jump:
        raise _disagree("jump", mine, jump)
    return ("Kernels and dilations widen every field alike and padding shifts every field "
            "alike: only strides change how far apart neighbouring fields start. The jump "
            "is the product of the strides: "
            + display_rows([("J", f"{_dot(map(str, strides))} = {jump}")]))


def walk_rule_text() -> str:
    """How one unit's cells are found, in words, once per card."""
    return ("Walk back from the output unit, one layer at a time. Unit \\(u\\) of a layer "
            "with kernel \\(k\\), stride \\(s\\) and padding \\(p\\) reads cells \\(us-p\\) "
            "to \\(us-p+k-1\\) of that layer's input; cells below 0 or past the input's "
            "last cell are padding, which depends on no input, so they are dropped: where "
            "a range reaches from or to a padding cell, its first or last cell is the "
            "input's edge. A range of units \\(a\\) to \\(b\\) reads from the first "
            "cell of \\(a\\) to the last cell of \\(b\\).")


def walk_step_tex(t: Tap, size: int, units: Range, got: Range) -> str:
    """One layer walked back: units [a, b) of its output read input cells `got` (the
    solver's [start, stop) in an input of `size` cells)."""
    if t.dilation != 1:
        raise ValueError("the walk is written for dilation 1: a dilated window skips cells")
    a, last_unit = units[0], units[1] - 1
    first_raw = a * t.stride - t.left
    last_raw = last_unit * t.stride - t.left + t.kernel - 1
    first, last = max(first_raw, 0), min(last_raw, size - 1)
    if (first, last + 1) != tuple(got):
        raise _disagree("walk", (first, last + 1), tuple(got))

    def lin(u: int) -> str:
        text = f"{u}\\cdot {t.stride}" if t.stride > 1 else str(u)
        return text + (f" - {t.left}" if t.left else "")

    def worked(expr: str, value: int) -> str:
        # a bound with no arithmetic (unit 0, no padding) is shown once, not as "0 = 0"
        return expr if expr == str(value) else f"{expr} = {value}"

    lo = f"{lin(a)}" if a * t.stride or t.left else "0"
    hi = f"{lin(last_unit)} + {t.kernel - 1}" if t.kernel > 1 else lin(last_unit)
    # a clipped bound gets a row of its own: one row with both would not fit a phone
    rows: list[tuple[str | None, str]] = []
    if first_raw < 0:
        rows += [("\\text{from}", f"{lo} = {first_raw}"),
                 ("\\text{first}", f"\\max({first_raw},\\ 0) = {first}")]
    else:
        rows.append(("\\text{first}", worked(lo, first)))
    if last_raw >= size:
        rows += [("\\text{to}", f"{hi} = {last_raw}"),
                 ("\\text{last}", f"\\min({last_raw},\\ {size - 1}) = {last}")]
    else:
        rows.append(("\\text{last}", worked(hi, last)))
    return display_rows(rows)


def range_answer_text(start: int, last: int) -> str:
    """The answer as a slice: one past the last cell."""
    return (f"The input cells it depends on run from {start} to {last}: as start:stop, "
            f"`{start}:{last + 1}`.")
