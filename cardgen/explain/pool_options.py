"""Writers for pooling options (cardgen.solver.pool_options facts): AvgPool's window and
divisor, and MaxUnpool's output size.

Each writer takes the solver's facts, works the numbers again from the layer's
arguments, and raises ValueError when the two disagree. Positions are padded cells,
counted from 0 at the first left-padding cell, as the window diagrams draw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from math import prod

from cardgen.explain import count_of
from cardgen.explain.tex import display_rows
from cardgen.solver.pool_options import AvgDivisor, AvgWindow, Unpool


def _disagree(what: str, mine: object, solver: object) -> ValueError:
    return ValueError(f"{what}: the rule gives {mine}, the solver {solver}")


def _frac_tex(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\tfrac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def window_text(w: AvgWindow, index: int, kernel: int, stride: int, axis: str = "") -> str:
    """Where output ``index``'s window lies along one dim, and what it holds."""
    a = index * stride
    if a - w.pad != w.start or w.stop - w.start != kernel:
        raise _disagree("window", (a - w.pad, a - w.pad + kernel), (w.start, w.stop))
    where = f"Along {axis}, output" if axis else "Output"
    text = (f"{where} {index} reads padded cells \\( {index}\\cdot{stride} = {a} \\) to "
            f"\\( {a} + {kernel} - 1 = {a + kernel - 1} \\); the input fills padded cells "
            f"{w.pad} to {w.pad + w.size - 1}")
    if w.pad:
        text += f", with {count_of(w.pad, 'padding cell')} on each side"
    parts = [count_of(w.cells, "input cell")]
    if w.left_pad:
        parts.append(f"{w.left_pad} of left padding")
    if w.right_pad:
        parts.append(f"{w.right_pad} of right padding")
    if w.beyond:
        parts.append(f"{w.beyond} past the end of the padded input (ceil mode's last "
                     "window hangs off it)")
    if w.cells + w.left_pad + w.right_pad + w.beyond != kernel:
        raise _disagree("window cells", kernel,
                        w.cells + w.left_pad + w.right_pad + w.beyond)
    return text + ". It holds " + ", ".join(parts) + "."


def divisor_text(d: AvgDivisor, kernel: Sequence[int], stride: Sequence[int],
                 index: Sequence[int], axes: Sequence[str] = ()) -> str:
    """The divisor rule that applies (override, padding counted or not), worked."""
    if d.override is not None:
        return (f"divisor_override={d.override}: the divisor is {d.override}, whatever the "
                "window holds.")
    counts = []
    for n, (w, k, s, i) in enumerate(zip(d.windows, kernel, stride, index, strict=True)):
        a = i * s
        if d.include_pad:
            mine = min(a + k, w.size + 2 * w.pad) - a
            if mine != w.padded:
                raise _disagree("padded count", mine, w.padded)
            work = (f"\\( \\min({a} + {k},\\ {w.size} + 2\\cdot{w.pad}) - {a} = {mine} \\)")
        else:
            mine = min(a + k, w.size + w.pad) - max(a, w.pad)
            if mine != w.cells:
                raise _disagree("input cells", mine, w.cells)
            work = f"{mine}"
        counts.append((axes[n] if axes else "", mine, work))
    total = prod(c for _, c, _ in counts)
    if total != d.divisor:
        raise _disagree("divisor", total, d.divisor)
    if d.include_pad:
        rule = ("count_include_pad=True (the default): the divisor counts the padding cells "
                "in the window, but not cells past the end of the padded input")
    else:
        rule = "count_include_pad=False: the divisor counts input cells only"
    if len(counts) == 1:
        return f"{rule}: {counts[0][2]}."
    per = "; ".join(f"along {axis}, {work}" for axis, _, work in counts)
    factors = "\\cdot".join(str(c) for _, c, _ in counts)
    return f"{rule}, per dim: {per}. Divisor \\( {factors} = {total} \\)."


def value_tex(name: str, cells: Sequence[int], divisor: int, value: Fraction) -> str:
    """The average: the window's input cells summed, over the divisor."""
    if not cells:
        raise ValueError("an average of no cells")
    if Fraction(sum(cells), divisor) != value:
        raise _disagree("value", Fraction(sum(cells), divisor), value)
    terms = " + ".join(f"({c})" if c < 0 else str(c) for c in cells)
    rows: list[tuple[str | None, str]] = [(name, f"\\tfrac{{1}}{{{divisor}}}({terms})")]
    unreduced = f"\\tfrac{{{sum(cells)}}}{{{divisor}}}"
    if len(cells) > 1 and unreduced != _frac_tex(value):
        rows.append(("", unreduced))  # the sum first, then the reduced fraction
    rows.append(("", _frac_tex(value)))
    return display_rows(rows)


def unpool_default_tex(u: Unpool, kernel: Sequence[int], stride: Sequence[int],
                       padding: Sequence[int], names: Sequence[str]) -> str:
    """MaxUnpool's default size per dim: (in - 1)s - 2p + k, in = the pooled size."""
    pooled = u.pooled[-len(u.default):]
    rows: list[tuple[str | None, str]] = []
    for name, i, k, s, p, want in zip(names, pooled, kernel, stride, padding, u.default,
                                      strict=True):
        mine = (i - 1) * s - 2 * p + k
        if mine != want:
            raise _disagree("default size", mine, want)
        # three rows: one is wider than a phone's card at 360 px
        rows += [(name, f"({i} - 1)\\cdot{s}"), (None, f"- 2\\cdot{p} + {k}"),
                 ("", f"{mine}")]
    return ("MaxUnpool's default output size per dim is \\( (in - 1)s - 2p + k \\), with "
            "in the pooled size and the unpool's own kernel, stride and padding: "
            + display_rows(rows))


def unpool_range_text(u: Unpool, stride: Sequence[int], names: Sequence[str]) -> str:
    """Whether output_size is accepted: strictly between default - s and default + s."""
    if u.size is None:
        raise ValueError("no output_size to check")
    parts, ok = [], True
    for name, size, default, s, lo, hi in zip(names, u.size, u.default, stride, u.low,
                                              u.high, strict=True):
        if (default - s, default + s) != (lo, hi):
            raise _disagree("output_size range", (default - s, default + s), (lo, hi))
        inside = lo < size < hi
        ok = ok and inside
        if inside:
            parts.append(f"{name}: \\( {default} - {s} = {lo} < {size} < {hi} = "
                         f"{default} + {s} \\)")
        else:
            side = (f"\\( {size} \\le {lo} = {default} - {s} \\)" if size <= lo else
                    f"\\( {size} \\ge {hi} = {default} + {s} \\)")
            parts.append(f"{name}: {side}, outside")
    if ok != (u.refused != "range"):
        raise _disagree("output_size accepted", ok, u.refused != "range")
    verdict = ("every dim is inside, so PyTorch accepts it." if ok else
               "PyTorch raises ValueError (invalid output_size).")
    return ("An output_size must lie strictly between default − stride and default + "
            f"stride in every dim. {'; '.join(parts)}: {verdict}")


def unpool_index_text(u: Unpool, plane: int) -> str:
    """Why every index the pool returns fits (or none can) in the output plane."""
    if u.out is None or u.refused in ("range", "length", "negative"):
        raise ValueError("no output plane to hold the indices")
    cells = prod(u.out)
    if cells != u.out_plane:
        raise _disagree("output plane", cells, u.out_plane)
    head = (f"The indices are flat positions in the pool's input plane of {plane} cells; "
            f"the largest any input can give is {u.index_max} (the last window's last "
            f"cell). The output plane holds {cells} cells")
    if u.refused == "index":
        if u.index_min < cells:
            raise _disagree("index past the output", u.index_min, cells)
        return (head + f", and even the last window's first cell, {u.index_min}, is past "
                "it: PyTorch raises RuntimeError (invalid max index).")
    if u.depends or u.index_max >= cells:
        raise ValueError("some inputs raise: no single answer to write")
    return head + f", so every index fits: \\( {u.index_max} < {cells} \\)."
