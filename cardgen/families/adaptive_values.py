"""adaptive.values: output values of AdaptiveAvgPool/AdaptiveMaxPool on a small integer grid."""

from __future__ import annotations

from typing import Any

from cardgen.claims import values_claim
from cardgen.families.base import (
    MAX_DRAWS,
    Diagram,
    Solution,
    display_rows,
    exhausted,
    frac_tex,
    frac_text,
    layer_code,
    pick,
    term,
    wrapped,
)
from cardgen.layers import Layer
from cardgen.solver import adaptive_windows, forward

NAME = "adaptive.values"
TITLE = "Output values of AdaptiveAvgPool/AdaptiveMaxPool on a small grid (exact fractions)"
TOPIC = "Adaptive pooling"
LEVELS = (1, 2, 3)


# (rows, cols, out rows, out cols): at most 4 outputs, windows of at most 4 cells, so every
# output is a mean or max of at most 4 small integers, worked without a calculator.
EVEN = ((4, 4, 2, 2), (2, 4, 1, 2), (4, 2, 2, 1), (2, 6, 1, 3), (6, 2, 3, 1), (2, 8, 1, 4),
        (8, 2, 4, 1), (2, 4, 2, 2), (4, 2, 2, 2), (4, 4, 4, 1), (4, 4, 1, 4), (3, 3, 3, 1),
        (3, 3, 1, 3))  # no (2, 2, 1, 1): one max or mean of 4 numbers is below level 1
# uneven (overlapping) windows, and more outputs than input cells along a dim
UNEVEN = ((3, 3, 2, 2), (3, 4, 2, 2), (4, 3, 2, 2), (2, 3, 2, 2), (3, 2, 2, 2), (2, 5, 2, 2),
          (5, 2, 2, 2), (2, 2, 3, 1), (2, 2, 1, 3), (2, 2, 4, 1), (2, 2, 1, 4), (2, 3, 4, 1),
          (3, 2, 1, 4), (2, 4, 4, 1), (4, 2, 1, 4), (2, 6, 1, 4), (6, 2, 4, 1))


def _whole_means(grid: list[list[int]], out: list[int]) -> list[list[int]]:
    """An even split (every side a multiple of its output size) has disjoint windows of one
    size, and a fraction there teaches nothing: nudge one cell of each window (by less
    than the window size, staying in the grid's range) so that its mean is whole."""
    h, w = len(grid), len(grid[0])
    sides = [w] if len(out) == 1 else [h, w]
    if any(side % o for side, o in zip(sides, out, strict=True)):
        return grid
    kh, kw = (1, w // out[0]) if len(out) == 1 else (h // out[0], w // out[1])
    grid = [row[:] for row in grid]
    for r0 in range(0, h, kh):
        for c0 in range(0, w, kw):
            total = sum(grid[r][c] for r in range(r0, r0 + kh) for c in range(c0, c0 + kw))
            last = grid[r0 + kh - 1][c0 + kw - 1] - total % (kh * kw)
            if last < -4 or (len(out) == 1 and last < 0):
                last += kh * kw
            grid[r0 + kh - 1][c0 + kw - 1] = last
    return grid


def _accepted(params: dict[str, Any]) -> bool:
    """Not a max pool whose outputs are all one number (the grid's max sits in every
    window): that answer is read off the grid without working a single window."""
    grid, out = params["grid"], params["out"]
    if params["kind"] == "Avg":
        return True
    rows = adaptive_windows(len(grid), out[0]) if len(out) == 2 else [(0, 1)]
    cols = adaptive_windows(len(grid[0]), out[-1])
    maxima = {max(grid[r][c] for r in range(ra, rb) for c in range(ca, cb))
              for ra, rb in rows for ca, cb in cols}
    return len(maxima) > 1


def generate(rng: Any, level: int) -> dict[str, Any]:
    for _ in range(MAX_DRAWS):  # a max pool's draw that one number answers is drawn again
        params = _draw(rng, level)
        if _accepted(params):
            return params
    raise exhausted(NAME, MAX_DRAWS)


def _draw(rng: Any, level: int) -> dict[str, Any]:
    kind = pick(rng, ("Avg", "Max"))
    if level == 1:
        size = rng.randrange(4, 9)
        out = [rng.randrange(2, 4)]
        grid = [[rng.randrange(0, 10) for _ in range(size)]]
    else:
        h, w, oh, ow = pick(rng, EVEN if level == 2 else UNEVEN)
        out = [oh, ow]
        grid = [[rng.randrange(-4, 10) for _ in range(w)] for _ in range(h)]
    if kind == "Avg":
        grid = _whole_means(grid, out)
    return {"kind": kind, "nd": 1 if level == 1 else 2, "grid": grid, "out": out}


def solve(params: dict[str, Any]) -> Solution:
    kind, nd, grid, out = params["kind"], params["nd"], params["grid"], params["out"]
    layer = Layer.make(f"Adaptive{kind}Pool{nd}d", output_size=out[0] if nd == 1 else out)
    x = [[grid[0]]] if nd == 1 else [[grid]]
    y = forward([layer], x)
    plane = y.tolist()[0][0]
    rows = [plane] if nd == 1 else plane
    answer = ";".join(",".join(frac_text(v) for v in row) for row in rows)
    h, w = len(grid), len(grid[0])
    win_r = adaptive_windows(h, out[0]) if nd == 2 else [(0, 1)]
    win_c = adaptive_windows(w, out[-1])
    steps = [f"{'Column windows' if nd == 2 else 'Windows'} ({w} \u2192 {out[-1]}): "
             + ", ".join(f"[{a},{b})" for a, b in win_c) + "."]
    if nd == 2:
        steps.insert(0, f"Row windows ({h} \u2192 {out[0]}): "
                     + ", ".join(f"[{a},{b})" for a, b in win_r) + ".")
    op = "max" if kind == "Max" else "mean"
    for i, (ra, rb) in enumerate(win_r):
        for j, (ca, cb) in enumerate(win_c):
            cells = [grid[r][c] for r in range(ra, rb) for c in range(ca, cb)]
            value = rows[i][j]
            where = f"({i},{j})" if nd == 2 else f"{j}"
            if kind == "Max":
                lines = wrapped([str(c) for c in cells], ",")
                lines[0] = f"\\max({lines[0]}"
                lines[-1] += ")"
            else:
                lines = wrapped([term(c) for c in cells], "+")
                lines[0] = f"\\tfrac{{1}}{{{len(cells)}}}({lines[0]}"
                lines[-1] += ")"
            steps.append(f"Output {where}: " + display_rows(
                [("y", lines[0]), *((None, r) for r in lines[1:]), ("", frac_tex(value))]))
    last = (len(win_r) - 1, len(win_c) - 1)
    where = f"({last[0]},{last[1]})" if nd == 2 else f"{last[1]}"
    diagram = Diagram("values_grid", {"grid": grid, "window": (win_r[last[0]], win_c[last[1]]),
                                      "result": frac_text(rows[last[0]][last[1]])},
                      f"The window of the last output, {where}, and its {op}.")
    shape_desc = f"{h}x{w} grid" if nd == 2 else f"sequence of {w} numbers"
    return Solution(
        question=f"{layer_code(layer)} runs on this {shape_desc} (one batch, one channel). "
                 "What are the output values?",
        table=grid,
        answer=answer,
        # 12 is above any input (at most 9), so the example is never an answer
        form=("values separated by commas, rows separated by ; (fractions as 9/2), e.g. "
              "12,9/2;-4/3,0" if nd == 2 else
              "values separated by commas (fractions as 9/2), e.g. 12,9/2,-4/3"),
        steps=steps,
        claims=[values_claim([layer], x, solved=y)],
        diagrams=[diagram],
    )
