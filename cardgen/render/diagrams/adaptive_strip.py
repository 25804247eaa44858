"""Adaptive pooling along one dim (``templates/diagrams/adaptive_strip.svg.j2``)."""

from __future__ import annotations

from cardgen.render.diagrams.geometry import (
    CELL,
    CELL_H,
    CHAR_S,
    LABEL,
    LINKS_MAX,
    WIDTH,
    Layers,
    assign_lanes,
    cell_labels,
    index_labels,
    n,
    render_layers,
    sparse_indices,
    true_runs,
    window_list,
)
from cardgen.solver.windows import adaptive_windows, read_counts

_BANDS = ("cg-band cg-win0", "cg-band cg-win1", "cg-band cg-win2")  # window i: i % 3
_OUTS = ("cg-o cg-win0", "cg-o cg-win1", "cg-o cg-win2")  # output i, like its window


def adaptive_strip(size: int, out: int) -> str:
    """Adaptive pooling along one dim: the input strip, one band per output window
    ``[floor(i*size/out), ceil((i+1)*size/out))``, and the output cells linked to them."""
    if size < 1 or out < 1:
        raise ValueError(f"sizes must be positive, got size={size}, out={out}")
    wins = adaptive_windows(size, out)
    unit = min(CELL, (WIDTH - LABEL - 4) / max(size, out))
    indexed = unit * max(size, out) / size >= CHAR_S * len(str(size - 1)) + 1
    right = 4 if indexed else CHAR_S * len(str(size)) / 2 + 2  # room for the last bound
    unit = min(unit, (WIDTH - LABEL - right) / max(size, out))
    span_w = unit * max(size, out)
    cw, ow = span_w / size, span_w / out
    x0 = LABEL
    lay = Layers()
    y = 13.0 if not indexed else 3.0

    # the input strip, cells read by more than one window shaded
    lay.cells("cg-cell", x0, y, cw, size, CELL_H)
    for a, b in true_runs([k > 1 for k in read_counts(wins, size)]):
        lay.rect("cg-over", x0 + a * cw, y, (b - a) * cw, CELL_H)
    lay.text("cg-tl", x0 - 4, y + CELL_H / 2, "in")
    if indexed:
        cell_labels(lay, [x0 + (c + 0.5) * cw for c in range(size)], index_labels(size),
                    cw, y + CELL_H / 2)
    else:  # label the window bounds on the top edge instead of every cell
        bounds = sorted({v for w in wins for v in w})
        xs = [x0 + b * cw for b in bounds]
        shown = sparse_indices(xs, max(CHAR_S * len(str(size)) + 4, span_w / 12))
        lay.texts_at("cg-ts", y - 6, [(xs[k], str(bounds[k])) for k in shown])
        lay.ticks("cg-tick", [xs[k] for k in shown], y - 2, y)

    # one band per window, on as few lanes as keep overlapping windows apart
    lanes = assign_lanes(wins)
    yb = y + CELL_H + 5
    pitch, band_h = 15.0, 12.0
    centres = []
    tags = []
    paths = lay.paths
    nbh = n(band_h)
    for i, ((a, b), lane) in enumerate(zip(wins, lanes, strict=True)):
        bx, by, bw = x0 + a * cw + 1, yb + lane * pitch, (b - a) * cw - 2
        if bw > 0:  # Layers.rect's path, written here: a band per window
            paths[_BANDS[i % 3]].append(f"M{n(bx)} {n(by)}h{n(bw)}v{nbh}h{n(-bw)}z")
        centres.append((bx + bw / 2, by + band_h))
        tags.append((bx + bw / 2, by + band_h / 2, f"[{a},{b})", bw))
    if all(bw >= CHAR_S * len(t) + 3 for *_, t, bw in tags):  # all or none
        for x, yt, t, _ in tags:
            lay.text("cg-ts", x, yt, t)

    # the output cells, each linked to its window and coloured like it
    yo = yb + (max(lanes) + 1) * pitch + 12
    cell = f" {n(yo)}h{n(ow)}v{n(CELL_H)}h{n(-ow)}z"  # an output cell, after its x
    if out <= LINKS_MAX:  # beyond that the lines are a blur: colour links them
        lay.drops("cg-link", [(cx, cy, x0 + (i + 0.5) * ow)
                              for i, (cx, cy) in enumerate(centres)], yo)
    for i in range(len(centres)):
        paths[_OUTS[i % 3]].append(f"M{n(x0 + i * ow)}{cell}")
    if ow >= 8:
        lay.cells("cg-grid", x0, yo, ow, out, CELL_H)
    else:  # narrow cells in alternating colours need no separators
        lay.rect("cg-grid", x0, yo, span_w, CELL_H)
    lay.text("cg-tl", x0 - 4, yo + CELL_H / 2, "out")
    cell_labels(lay, [x0 + (i + 0.5) * ow for i in range(out)], index_labels(out), ow,
                yo + CELL_H / 2)

    label = (f"Adaptive pooling from {size} to {out}: output i reads input "
             f"[floor(i*{size}/{out}), ceil((i+1)*{size}/{out})): {window_list(wins)}")
    # the bands, then the output cells, come between (in first-use order)
    return render_layers("adaptive_strip", lay, width=x0 + span_w + right,
                         height=yo + CELL_H + 3, label=label,
                         bottom=("cg-cell", "cg-over", "cg-tick", "cg-link"), top=("cg-grid",))
