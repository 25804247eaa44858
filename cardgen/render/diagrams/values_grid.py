"""Input values with one output's window shaded (``templates/diagrams/values_grid.svg.j2``)."""

from __future__ import annotations

from itertools import chain, repeat

from cardgen.render.diagrams.geometry import (
    CHAR,
    WIDTH,
    grid_lines,
    n,
    rect_path,
    render_svg,
    text_elements,
)
from cardgen.render.env import escape_text


def _cell_text(v: object) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def values_grid(grid: list[list[int]], window: tuple[tuple[int, int], tuple[int, int]],
                result: str) -> str:
    """The input numbers with one output's window ``((r0, r1), (c0, c1))`` (half-open)
    shaded, and that output's value ``result`` beside it. A 1-row grid is a 1-D input."""
    rows = len(grid)
    cols = len(grid[0]) if rows else 0
    if not rows or not cols or any(len(row) != cols for row in grid):
        raise ValueError("grid must be a non-empty rectangle of numbers")
    (r0, r1), (c0, c1) = window
    r0, r1, c0, c1 = max(r0, 0), min(r1, rows), max(c0, 0), min(c1, cols)
    if r0 >= r1 or c0 >= c1:
        raise ValueError(f"window {window} does not meet the grid")
    types = set(map(type, chain.from_iterable(grid)))
    if types == {int}:  # the usual grid
        texts = [[str(v) for v in row] for row in grid]
    else:
        texts = [[_cell_text(v) for v in row] for row in grid]
    longest = max(map(len, chain.from_iterable(texts)))
    rw = max(30.0, CHAR * len(result) + 14)
    arrow = 30.0
    cw = max(20.0, CHAR * longest + 8)
    cw = min(cw, (WIDTH - 4 - arrow - rw) / cols)
    ch = 20.0
    x0, y0 = 2.0, 2.0
    ym = y0 + (r0 + r1) / 2 * ch
    rx = x0 + cols * cw + arrow
    ax0, ax1 = x0 + cols * cw + 5, x0 + cols * cw + arrow - 5
    result_box = rect_path(rx, ym - ch / 2, rw, ch)
    # bottom to top: the grid; the window and the result box shaded; the grid lines and
    # the result box's outline; the arrow
    window_box = rect_path(x0 + c0 * cw, y0 + r0 * ch, (c1 - c0) * cw, (r1 - r0) * ch)
    paths = [("cg-cell", rect_path(x0, y0, cols * cw, rows * ch)),
             ("cg-sel", window_box + result_box),
             ("cg-grid", grid_lines(x0, y0, cw, ch, rows, cols) + result_box),
             ("cg-arrow", f"M{n(ax0)} {n(ym)}H{n(ax1)}m-5 -4l5 4l-5 4")]
    if cw <= 0:  # a result so long it leaves the grid no room: no grid or window box
        paths[:2] = [("cg-sel", result_box)]
    # cell texts centred in their cells, small when the cells are narrow
    if not types <= {int, float}:  # the template writes cell texts as they are
        texts = [[escape_text(t) for t in row] for row in texts]
    col_x = [n(x0 + (c + 0.5) * cw) for c in range(cols)]
    cells: list[tuple[str, str, str]] = []
    for r, row in enumerate(texts):
        cells.extend(zip(col_x, repeat(n(y0 + (r + 0.5) * ch)), row))
    small = cw < CHAR * longest + 2
    height = max(y0 + rows * ch, ym + ch / 2) + 2
    label = (f"Input values; the window rows [{r0},{r1}) and columns [{c0},{c1}) is shaded; "
             f"its output is {result}") if rows > 1 else (
        f"Input values; the window [{c0},{c1}) is shaded; its output is {result}")
    return render_svg("values_grid", width=rx + rw + 2, height=height, label=label,
                      paths=paths, text_class="cg-ts" if small else "cg-t",
                      cells=text_elements(cells),
                      result=escape_text(result), result_x=n(rx + rw / 2), result_y=n(ym))
