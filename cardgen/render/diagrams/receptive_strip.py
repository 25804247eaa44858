"""The nested ranges one output unit depends on, layer by layer, along one dim
(``templates/diagrams/receptive_strip.svg.j2``).

One strip per tensor, the output on top and the input at the bottom, each stretched to
the same width so that a cell sits roughly above the cells it reads. The cells the unit
depends on are coloured (dilation and long strides leave gaps); ticks mark each range's
[start, stop) and thin links join one range's ends to the next one down: the cone.
"""

from __future__ import annotations

from collections.abc import Sequence

from cardgen.render.diagrams.geometry import (
    CHAR_S,
    LABEL,
    WIDTH,
    Layers,
    render_layers,
)

STRIP_H = 14.0
PITCH = 36.0  # from one strip's top to the next one's
TOP = 12.0  # room for the first row's bound labels


def _row_label(row: int, rows: int) -> str:
    return "in" if row == 0 else "out" if row == rows - 1 else str(row)


def receptive_strip(sizes: Sequence[int], runs: Sequence[Sequence[Sequence[int]]],
                    ranges: Sequence[Sequence[int] | None]) -> str:
    """`sizes[l]` cells in the tensor entering layer l (the last: the output), `runs[l]`
    the [a, b) runs of its cells the unit depends on, `ranges[l]` their [start, stop)."""
    rows = len(sizes)
    if not (rows >= 2 and len(runs) == rows and len(ranges) == rows):
        raise ValueError("one size, run list and range per tensor, at least two tensors")
    right = CHAR_S * len(str(max(sizes))) / 2 + 3  # room for a bound label at the end
    span_w = WIDTH - LABEL - right
    x0 = LABEL
    lay = Layers()
    edges: list[tuple[float, float] | None] = []
    ys: list[float] = []
    for row in range(rows):
        size = sizes[row]
        cw = span_w / size
        y = TOP + (rows - 1 - row) * PITCH
        ys.append(y)
        if size <= 24:  # longer rows: separators closer than 12 px are noise
            lay.cells("cg-cell", x0, y, cw, size, STRIP_H)
        else:  # one outline
            lay.rect("cg-cell", x0, y, span_w, STRIP_H)
        for a, b in runs[row]:
            lay.rect("cg-band cg-win0", x0 + a * cw, y, (b - a) * cw, STRIP_H)
        lay.text("cg-tl", x0 - 4, y + STRIP_H / 2, _row_label(row, rows))
        rng = ranges[row]
        if rng is None:
            edges.append(None)
            continue
        xa, xb = x0 + rng[0] * cw, x0 + rng[1] * cw
        edges.append((xa, xb))
        lay.ticks("cg-tick", (xa, xb), y - 3, y + STRIP_H + 3)
        start, stop = str(rng[0]), str(rng[1])
        if xb - xa >= CHAR_S * (len(start) + len(stop)) / 2 + 4:
            lay.texts_at("cg-ts", y - 7, ((xa, start), (xb, stop)))
        else:  # too close for two labels: one, centred
            lay.text("cg-ts", (xa + xb) / 2, y - 7, f"{start}:{stop}")
    for row in range(rows - 1, 0, -1):  # from each range down to the one it reads
        upper, lower = edges[row], edges[row - 1]
        if upper is None or lower is None:
            continue
        top = ys[row] + STRIP_H + 3
        lay.drops("cg-link", [(xu, top, xl) for xu, xl in zip(upper, lower, strict=True)],
                  ys[row - 1] - 3)
    shown = ", ".join("none" if r is None else f"[{r[0]},{r[1]})" for r in ranges)
    label = (f"The cells one output unit depends on, from the input up to the output "
             f"(sizes {', '.join(map(str, sizes))}): {shown}")
    return render_layers("receptive_strip", lay, width=x0 + span_w + right,
                         height=TOP + (rows - 1) * PITCH + STRIP_H + 3, label=label,
                         bottom=("cg-cell", "cg-link"), top=("cg-tick",))
