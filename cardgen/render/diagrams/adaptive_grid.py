"""2-D adaptive pooling (``templates/diagrams/adaptive_grid.svg.j2``)."""

from __future__ import annotations

from cardgen.render.diagrams.geometry import (
    WIDTH,
    Layers,
    assign_lanes,
    grid_lines,
    render_layers,
)
from cardgen.solver.windows import adaptive_windows


def adaptive_grid(in_hw: tuple[int, int], out_hw: tuple[int, int],
                  highlight: tuple[int, int]) -> str:
    """2-D adaptive pooling: row windows on the left edge, column windows on the top
    edge, and the highlighted output cell's window drawn as their intersection."""
    (H, W), (oh, ow), (r, c) = in_hw, out_hw, highlight
    if min(H, W, oh, ow) < 1:
        raise ValueError(f"sizes must be positive, got in {in_hw}, out {out_hw}")
    if not (0 <= r < oh and 0 <= c < ow):
        raise ValueError(f"highlight {highlight} is outside the output {out_hw}")
    rwins, cwins = adaptive_windows(H, oh), adaptive_windows(W, ow)
    rl, cl = assign_lanes(rwins), assign_lanes(cwins)
    pitch, thick, num = 7.0, 5.0, 13.0
    gx = num + (max(rl) + 1) * pitch + 3
    gy = num + (max(cl) + 1) * pitch + 3
    gap = 24.0
    s = min(20.0, (WIDTH - gx - gap - 3) / (W + ow))
    lay = Layers()
    (rs, re_), (cs, ce) = rwins[r], cwins[c]

    lay.rect("cg-cell", gx, gy, W * s, H * s)
    lay.rect("cg-hlx", gx, gy + rs * s, W * s, (re_ - rs) * s)
    lay.rect("cg-hlx", gx + cs * s, gy, (ce - cs) * s, H * s)
    lay.rect("cg-hl", gx + cs * s, gy + rs * s, (ce - cs) * s, (re_ - rs) * s)
    lay.raw("cg-grid", grid_lines(gx, gy, s, s, H, W))

    for i, ((a, b), lane) in enumerate(zip(rwins, rl, strict=True)):
        cls = "cg-hl" if i == r else f"cg-band cg-win{i % 3}"
        lay.rect(cls, gx - 3 - (lane + 1) * pitch + 1, gy + a * s + 1, thick, (b - a) * s - 2)
    for j, ((a, b), lane) in enumerate(zip(cwins, cl, strict=True)):
        cls = "cg-hl" if j == c else f"cg-band cg-win{j % 3}"
        lay.rect(cls, gx + a * s + 1, gy - 3 - (lane + 1) * pitch + 1, (b - a) * s - 2, thick)
    # the highlighted window's bounds, on both edges
    for v in sorted({rs, re_}):
        lay.text("cg-ts", num / 2, gy + v * s, str(v))
    for v in sorted({cs, ce}):
        lay.text("cg-ts", gx + v * s, num / 2, str(v))

    ox = gx + W * s + gap
    lay.rect("cg-cell", ox, gy, ow * s, oh * s)
    lay.rect("cg-hl", ox + c * s, gy + r * s, s, s)
    lay.raw("cg-grid", grid_lines(ox, gy, s, s, oh, ow))
    lay.line("cg-link", gx + ce * s, gy + (rs + re_) * s / 2, ox + c * s, gy + (r + 0.5) * s)
    if s >= 13:
        lay.text("cg-ts", ox + (c + 0.5) * s, gy + (r + 0.5) * s, f"{r},{c}")

    label = (f"Adaptive pooling from {H}x{W} to {oh}x{ow}: output ({r}, {c}) reads rows "
             f"[{rs},{re_}) and columns [{cs},{ce})")
    # the bands come between
    return render_layers("adaptive_grid", lay, width=ox + ow * s + 3,
                         height=gy + max(H, oh) * s + 3, label=label,
                         bottom=("cg-cell", "cg-hlx"), top=("cg-hl", "cg-grid", "cg-link"))
