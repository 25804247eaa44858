"""Writers for pooling windows: ceil mode's last window, adaptive window bounds, how often
cells are read, cells never read, and why PyTorch refuses a pooling layer.

One writer per fact kind. Each takes the numbers the solver works with, recomputes the
solver's verdict from :mod:`cardgen.solver` (never its own arithmetic), and raises
ValueError when the facts it is given disagree with the solver's.
"""

from __future__ import annotations

from collections.abc import Sequence

from cardgen.errors import ShapeError
from cardgen.explain import count_of
from cardgen.solver import arith

_TIMES = {1: "once", 2: "twice"}


def times(count: int) -> str:
    """'once', 'twice', '3 times'."""
    return _TIMES.get(count, f"{count} times")


def _cells(first: int, last: int) -> str:
    """'cell 4' or 'cells 4..6' (inclusive)."""
    return f"cell {first}" if first == last else f"cells {first}..{last}"


def ceil_last_window(size: int, kernel: int, stride: int, padding: int, dilation: int,
                     out: int) -> str:
    """Ceil mode along one dim, in PyTorch's terms and in padded coordinates throughout
    (padded cell 0 is the first left-padding cell; input cell c is padded cell c + p).

    `out` is the solver's size after the rule. The sentence says whether ceil mode adds a
    window, and if so whether PyTorch keeps it: the last window is dropped when it would
    start at or after input + left padding, i.e. after the last input cell."""
    floor_out = arith.pool_out_raw(size, kernel, stride, padding, dilation)
    ceil_out = arith.pool_out_raw(size, kernel, stride, padding, dilation, True)
    if ceil_out != out:
        raise ValueError(f"ceil mode gives {ceil_out} windows, not {out}")
    num = size + 2 * padding - dilation * (kernel - 1) - 1
    if num % stride == 0:
        if ceil_out != floor_out:
            raise ValueError("a whole quotient cannot add a window")
        return (f"\\( {num}/{stride} \\) is a whole number, so rounding up changes nothing: "
                f"ceil mode adds no window, {out}.")
    extra = num // stride + 1  # the index of the window that rounding up adds
    start, limit = extra * stride, size + padding
    dropped = arith.ceil_dropped(size, kernel, stride, padding, dilation)
    if dropped != (start >= limit) or out != extra + (0 if dropped else 1):
        raise ValueError("the solver's last-window verdict disagrees with its start")
    where = ("padded cell" if padding else "cell")
    rule = (f"PyTorch keeps the last window only if it starts before input + left padding "
            f"\\( = {size} + {padding} = {limit} \\)")
    if dropped:
        return (f"Rounding up adds window {extra}, which would start at {where} "
                f"\\( {extra}\\cdot{stride} = {start} \\). {rule}; \\( {start} \\ge {limit} "
                f"\\): it would start after the last input cell, so PyTorch drops it: "
                f"{out}.")
    return (f"Rounding up adds window {extra}, which starts at {where} "
            f"\\( {extra}\\cdot{stride} = {start} \\). {rule}; \\( {start} < {limit} \\): "
            f"it starts {'on an input cell' if start >= padding else 'in the left padding'}, "
            f"so PyTorch keeps it: {out}.")


def ceil_label(size: int, kernel: int, stride: int, padding: int, dilation: int) -> str:
    """A diagram's short words for ceil mode's extra window ('' when there is none)."""
    num = size + 2 * padding - dilation * (kernel - 1) - 1
    if num < 0 or num % stride == 0:
        return ""
    extra = num // stride + 1
    start, limit = extra * stride, size + padding
    if arith.ceil_dropped(size, kernel, stride, padding, dilation):
        return (f"ceil mode's extra window {extra} would start at padded cell {start}, at or "
                f"after input + left padding = {limit}, so PyTorch drops it")
    return (f"ceil mode keeps one more window, window {extra}: it starts at padded cell "
            f"{start}, before input + left padding = {limit}")


def adaptive_rule(size: int, out: int) -> str:
    """The general bounds of an adaptive pool's window i, numbers substituted."""
    return (f"Window i is \\( [\\lfloor i\\cdot {size}/{out} \\rfloor, "
            f"\\lceil (i+1)\\cdot {size}/{out} \\rceil) \\).")


def adaptive_bounds(index: int, size: int, out: int) -> str:
    """Window `index`'s start and stop worked out: floor and ceil with the products."""
    a, b = arith.adaptive_bounds(index, size, out)
    lo, hi = index * size, (index + 1) * size
    return (f"\\( \\lfloor {index}\\cdot{size}/{out} \\rfloor = \\lfloor {lo}/{out} "
            f"\\rfloor = {a} \\), \\( \\lceil {index + 1}\\cdot{size}/{out} \\rceil = "
            f"\\lceil {hi}/{out} \\rceil = {b} \\): [{a},{b})")


def read_counts_caption(counts: Sequence[int]) -> str:
    """What the adaptive strip's shading means, from the solver's read counts: ''
    when no cell is read more than once."""
    shared = sorted({c for c in counts if c > 1})
    if not shared:
        return ""
    return f"shaded cells are read {' or '.join(times(c) for c in shared)}"


def cell_readers(cell: int, windows: Sequence[tuple[int, int]], counts: Sequence[int]) -> str:
    """Which outputs read input `cell`, and how many they are (the solver's count)."""
    readers = [i for i, (a, b) in enumerate(windows) if a <= cell < b]
    if len(readers) != counts[cell]:
        raise ValueError(f"cell {cell}: {len(readers)} windows hold it, counts say "
                         f"{counts[cell]}")
    if not readers:
        return f"No window holds cell {cell}: it is never read."
    # the indices only: the windows themselves are listed in full elsewhere on the card
    names = ", ".join(map(str, readers[:-1])) + (" and " if len(readers) > 1 else "") + \
        str(readers[-1])
    noun = "windows" if len(readers) > 1 else "window"
    return f"Cell {cell} lies in {noun} {names}: it is read {times(len(readers))}."


def condensed_note(cells: int) -> str:
    """A caption's note when a strip of `cells` cells is drawn condensed, else ''."""
    from cardgen.render.diagrams.geometry import CELLS_FULL  # the strip's own threshold

    if cells <= CELLS_FULL:
        return ""
    return f"the {cells}-cell strip is drawn condensed (\u2026 marks cells left out)"


def never_read(size: int, pad_left: int, pad_right: int, last_end: int) -> str:
    """The cells after the last window that fits (`last_end`, padded coordinates), told
    apart: input cells lost, or only padding ('' when every cell is read)."""
    total = pad_left + size + pad_right
    if not 0 <= last_end <= total:
        raise ValueError(f"the last window ends at {last_end}, outside the {total} cells")
    if last_end == total:
        return ""
    inputs = max(0, pad_left + size - max(last_end, pad_left))
    pads = total - last_end - inputs
    parts = []
    if inputs:
        first = max(last_end, pad_left) - pad_left
        parts.append(f"input {_cells(first, size - 1)}")
    if pads:
        parts.append(count_of(pads, "padding cell"))
    verb = "is" if inputs + pads == 1 else "are"
    text = " and ".join(parts) + f" after the last window {verb} never read"
    if not inputs:
        text += " (padding only)"
    return text


def gaps_skipped(size: int, kernel: int, stride: int, padding: int, dilation: int,
                 out: int) -> str:
    """Input cells inside the windows' reach that no tap reads ('' when there are none):
    a dilated kernel's gaps, or a stride longer than the kernel's span. The `out` windows
    start at stride*i (padded coordinates), with taps every `dilation` cells."""
    if out >= 1 and dilation == 1 and stride <= kernel:
        return ""  # windows of adjacent taps that overlap or touch: one run, no gap
    reach = (out - 1) * stride + dilation * (kernel - 1) + 1
    end = min(padding + size, reach)  # the input cells in reach, padded coordinates
    if end <= padding:
        return ""
    # the cells the taps read, marked a tap at a time (a slice each: a diagram's label
    # is made per note, and a set of every window's taps cost more than the drawing)
    read = bytearray(reach)
    for j in range(kernel if out > 0 else 0):
        read[j * dilation:j * dilation + (out - 1) * stride + 1:stride] = b"\x01" * out
    count = read.count(0, padding, end)
    if not count:
        return ""
    first: list[int] = []
    at = padding - 1
    while len(first) < 4 and (at := read.find(0, at + 1, end)) >= 0:
        first.append(at - padding)
    shown = ", ".join(map(str, first)) + (", ..." if count > 4 else "")
    why = "the dilation gaps" if dilation > 1 else f"stride {stride} > kernel {kernel}"
    noun = "cell" if count == 1 else "cells"
    return (f"{why} skip{'s' if dilation == 1 else ''} {count} input {noun} "
            f"({shown}): no window reads {'it' if count == 1 else 'them'}")


def pool_padding_refused(kernel: int, padding: int) -> str:
    """Why PyTorch refuses a pool whose padding is over half its kernel: our words, not
    PyTorch's message."""
    half = kernel // 2
    if padding <= half:
        raise ValueError(f"padding {padding} is allowed with kernel {kernel}")
    try:
        arith.pool_out(1 + 2 * kernel, kernel, 1, padding)
    except ShapeError:
        pass
    else:
        raise ValueError("the solver accepts this padding")
    return (f"PyTorch allows a pooling padding of at most half the kernel, "
            f"\\( p \\le \\lfloor {kernel}/2 \\rfloor = {half} \\); here p = {padding}, so "
            "PyTorch raises an error when the layer is built or run.")


def linear_refused(in_features: int, got: int) -> str:
    """Why a Linear layer refuses its input: our words, not PyTorch's message."""
    if in_features == got:
        raise ValueError("the features match")
    return (f"`Linear` needs the last dim to be its in_features, {in_features}, but it is "
            f"{got}: each output is a weighted sum of exactly in_features inputs, so PyTorch "
            "raises an error.")


def window_list(windows: Sequence[tuple[int, int]]) -> str:
    """'[0,3), [2,5), [4,7)'."""
    return ", ".join(f"[{a},{b})" for a, b in windows)


def fixed_pool_match(size: int, out: int) -> str:
    """Whether adaptive pooling from `size` to `out` (out >= 2) is a fixed pool, and why
    its kernel and stride are the only ones: the solver's windows and verdict worded."""
    from cardgen.solver import adaptive_windows, fixed_equivalent

    if out < 2:
        raise ValueError("with one window any stride works: no single answer to word")
    wins = adaptive_windows(size, out)
    lengths = [b - a for a, b in wins]
    starts = [a for a, _ in wins]
    pair = fixed_equivalent(size, out)
    text = f"{size} \u2192 {out}: windows {window_list(wins)}"
    if pair is not None:
        k, s = pair
        if lengths != [k] * out or starts != [i * s for i in range(out)]:
            raise ValueError("the solver's kernel and stride do not give its windows")
        return (text + f"; every window has length {k} and window i starts at {s}\u00b7i: kernel "
                f"{k}, stride {s}. Nothing else fits: the kernel must be window 0's length, "
                f"{k}, and the stride window 1's start, {s}.")
    if len(set(lengths)) > 1:
        return text + f"; lengths {','.join(map(str, lengths))} differ: no fixed kernel fits."
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    if gaps and set(gaps) == {0}:
        return text + "; every window starts at 0, and a fixed pool's stride is at least 1."
    if len(set(gaps)) == 1:
        raise ValueError("equal lengths and even starts, yet the solver says no")
    return (text + f"; all of length {lengths[0]}, but the starts {','.join(map(str, starts))} "
            f"move by {','.join(map(str, gaps))}, not one fixed stride.")


def pool_size_text(size: int, kernel: int, stride: int, padding: int, dilation: int,
                   ceil_mode: bool) -> str:
    """One pooling dim's size formula with the numbers (plain text, for `cardgen solve`)."""
    out = arith.pool_out(size, kernel, stride, padding, dilation, ceil_mode)
    inner = f"{size} + 2*{padding} - {dilation}*({kernel}-1) - 1"
    if not ceil_mode:
        return f"floor(({inner}) / {stride}) + 1 = {out}"
    text = f"ceil(({inner}) / {stride}) + 1"
    if arith.ceil_dropped(size, kernel, stride, padding, dilation):
        return (f"{text} - 1 (the last window would start at or after input + left "
                f"padding = {size + padding}) = {out}")
    return f"{text} = {out}"


def adaptive_size_text(size: int, out: int) -> str:
    """One adaptive dim: its output size and window rule (plain text, for `cardgen solve`)."""
    return (f"output_size {out} (input {size}); window i = [floor(i*{size}/{out}), "
            f"ceil((i+1)*{size}/{out}))")
