"""Window diagrams as inline SVG (DESIGN.md §1: render).

Each public function is a pure function of primitive problem parameters that returns
one ``<svg>`` string: the geometry is computed here, then filled into a template in
``templates/diagrams/`` (in the spirit of conv_arithmetic's ``produce_figure``).

Conventions shared by every diagram:

- a ``viewBox`` and no width/height: CSS sizes it (``width:100%``), and an inline
  ``max-width`` keeps a small diagram from being blown up on a wide screen;
- colours only through ``cg-*`` classes styled in ``templates/card.css`` (light and
  Anki night mode); no ids, no script, no external references;
- cells of one kind are drawn as one ``<path>``; numbers are integers or one decimal;
- no prose inside: captions belong in the HTML beside the SVG.

The numbers come from :mod:`cardgen.solver`, never re-derived here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cardgen.render.env import environment
from cardgen.solver import arith
from cardgen.solver.windows import adaptive_windows

WIDTH = 320.0  # viewBox width budget: about 1:1 in a phone's 320-340 px card column
LABEL = 22.0  # left column for row labels ("in", placement indices)
CELL = 22.0  # widest cell
CELL_H = 18.0  # strip height
GAP_W = 14.0  # width of an elided stretch of cells ("…")
ZOOM = 1.6  # max-width = ZOOM x viewBox width, in CSS px
CHAR = 7.0  # width of one digit at the normal label size (11 px), with some air
CHAR_S = 5.7  # ... at the small label size (9 px)
ROWS_FULL = 6  # more placements than this: draw the first 2 and the last 2
CELLS_FULL = 26  # a strip longer than this is condensed around the drawn placements
LINKS_MAX = 16  # more adaptive windows than this: linked to their outputs by colour only


def _n(value: float) -> str:
    """A short number: an integer, or one decimal."""
    text = f"{round(value, 1):.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _Layers:
    """Path data and labels grouped by CSS class, in first-use order."""

    def __init__(self) -> None:
        self.paths: dict[str, list[str]] = {}
        self.texts: dict[str, list[tuple[str, str, str]]] = {}

    def rect(self, cls: str, x: float, y: float, w: float, h: float) -> None:
        if w <= 0 or h <= 0:
            return
        self.paths.setdefault(cls, []).append(f"M{_n(x)} {_n(y)}h{_n(w)}v{_n(h)}h{_n(-w)}z")

    def line(self, cls: str, x1: float, y1: float, x2: float, y2: float) -> None:
        if _n(x1) == _n(x2):
            seg = f"M{_n(x1)} {_n(y1)}V{_n(y2)}"
        elif _n(y1) == _n(y2):
            seg = f"M{_n(x1)} {_n(y1)}H{_n(x2)}"
        else:
            seg = f"M{_n(x1)} {_n(y1)}L{_n(x2)} {_n(y2)}"
        self.paths.setdefault(cls, []).append(seg)

    def raw(self, cls: str, d: str) -> None:
        self.paths.setdefault(cls, []).append(d)

    def strip(self, cls: str, x: float, y: float, widths: Sequence[float], h: float) -> None:
        """A run of adjacent cells: one outline plus the separators, in one subpath list."""
        total = sum(widths)
        if total <= 0:
            return
        parts = [f"M{_n(x)} {_n(y)}h{_n(total)}v{_n(h)}h{_n(-total)}z"]
        edge = x
        for w in widths[:-1]:
            edge += w
            parts.append(f"M{_n(edge)} {_n(y)}v{_n(h)}")
        self.paths.setdefault(cls, []).append("".join(parts))

    def text(self, cls: str, x: float, y: float, s: str) -> None:
        self.texts.setdefault(cls, []).append((_n(x), _n(y), s))

    def get(self, *classes: str) -> list[tuple[str, str]]:
        """(class, d) for the given classes that were used, in the order asked."""
        return [(c, "".join(self.paths[c])) for c in classes if self.paths.get(c)]

    def rest(self, skip: Iterable[str] = ()) -> list[tuple[str, str]]:
        skip = set(skip)
        return [(c, "".join(d)) for c, d in self.paths.items() if c not in skip and d]

    def labels(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        return [(c, items) for c, items in self.texts.items() if items]


def _render(template: str, *, kind: str, width: float, height: float, label: str,
            **parts: object) -> str:
    svg = environment().get_template(f"diagrams/{template}.svg.j2").render(
        kind=kind, w=_n(width), h=_n(height), maxw=round(width * ZOOM), label=label, **parts)
    return re.sub(r">\s+<", "><", svg.strip())


def _lanes(windows: Sequence[tuple[int, int]]) -> list[int]:
    """Greedy lane per window so that windows sharing a lane never overlap."""
    ends: list[int] = []
    lanes = []
    for start, end in windows:
        for lane, last in enumerate(ends):
            if last <= start:
                ends[lane] = end
                lanes.append(lane)
                break
        else:
            ends.append(end)
            lanes.append(len(ends) - 1)
    return lanes


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """Maximal [a, b) runs of True."""
    runs, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _sparse(positions: Sequence[float], min_gap: float) -> list[int]:
    """Indices of positions to label so that labels stay min_gap apart; keeps the last."""
    keep: list[int] = []
    for i, x in enumerate(positions):
        if not keep or x - positions[keep[-1]] >= min_gap:
            keep.append(i)
    if keep and keep[-1] != len(positions) - 1:
        last = len(positions) - 1
        while keep and positions[last] - positions[keep[-1]] < min_gap:
            keep.pop()
        keep.append(last)
    return keep


def _window_list(windows: Sequence[tuple[int, int]], limit: int = 6) -> str:
    text = [f"[{a},{b})" for a, b in windows]
    if len(text) > limit:
        text = [*text[:3], "…", *text[-2:]]
    return " ".join(text)


def _cell_labels(lay: _Layers, items: Sequence[tuple[float, str]], cw: float, y: float,
                 max_labels: int = 16) -> None:
    """Label cells centred at x: all at the normal size if they fit, else small ones,
    skipping any that would touch its left neighbour (the last one always kept), and
    spreading them out to about ``max_labels``."""
    if not items:
        return
    longest = max(len(t) for _, t in items)
    if cw >= CHAR * longest + 2:
        for x, t in items:
            lay.text("cg-t", x, y, t)
        return
    keep: list[int] = []
    spread = (items[-1][0] - items[0][0]) / max_labels

    def clear(a: int, b: int) -> bool:
        need = (len(items[a][1]) + len(items[b][1])) / 2 * CHAR_S + 3
        return items[b][0] - items[a][0] >= max(need, spread)

    for k in range(len(items)):
        if not keep or clear(keep[-1], k):
            keep.append(k)
    last = len(items) - 1
    if keep[-1] != last:
        while keep and not clear(keep[-1], last):
            keep.pop()
        keep.append(last)
    for k in keep:
        lay.text("cg-ts", items[k][0], y, items[k][1])


# --------------------------------------------------------------------------- adaptive


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
    lay = _Layers()
    y = 13.0 if not indexed else 3.0

    # the input strip, cells read by more than one window shaded
    cover = [0] * size
    for a, b in wins:
        for c in range(a, b):
            cover[c] += 1
    lay.strip("cg-cell", x0, y, [cw] * size, CELL_H)
    for a, b in _runs([k > 1 for k in cover]):
        lay.rect("cg-over", x0 + a * cw, y, (b - a) * cw, CELL_H)
    lay.text("cg-tl", x0 - 4, y + CELL_H / 2, "in")
    if indexed:
        _cell_labels(lay, [(x0 + (c + 0.5) * cw, str(c)) for c in range(size)], cw,
                     y + CELL_H / 2)
    else:  # label the window bounds on the top edge instead of every cell
        bounds = sorted({v for w in wins for v in w})
        xs = [x0 + b * cw for b in bounds]
        for k in _sparse(xs, max(CHAR_S * len(str(size)) + 4, span_w / 12)):
            lay.text("cg-ts", xs[k], y - 6, str(bounds[k]))
            lay.line("cg-tick", xs[k], y - 2, xs[k], y)

    # one band per window, on as few lanes as keep overlapping windows apart
    lanes = _lanes(wins)
    yb = y + CELL_H + 5
    pitch, band_h = 15.0, 12.0
    centres = []
    tags = []
    for i, ((a, b), lane) in enumerate(zip(wins, lanes, strict=True)):
        bx, by, bw = x0 + a * cw + 1, yb + lane * pitch, (b - a) * cw - 2
        lay.rect(f"cg-band cg-win{i % 3}", bx, by, bw, band_h)
        centres.append((bx + bw / 2, by + band_h))
        tags.append((bx + bw / 2, by + band_h / 2, f"[{a},{b})", bw))
    if all(bw >= CHAR_S * len(t) + 3 for *_, t, bw in tags):  # all or none
        for x, yt, t, _ in tags:
            lay.text("cg-ts", x, yt, t)

    # the output cells, each linked to its window and coloured like it
    yo = yb + (max(lanes) + 1) * pitch + 12
    for i, (cx, cy) in enumerate(centres):
        if out <= LINKS_MAX:  # beyond that the lines are a blur: colour links them
            lay.line("cg-link", cx, cy, x0 + (i + 0.5) * ow, yo)
        lay.rect(f"cg-o cg-win{i % 3}", x0 + i * ow, yo, ow, CELL_H)
    if ow >= 8:
        lay.strip("cg-grid", x0, yo, [ow] * out, CELL_H)
    else:  # narrow cells in alternating colours need no separators
        lay.rect("cg-grid", x0, yo, span_w, CELL_H)
    lay.text("cg-tl", x0 - 4, yo + CELL_H / 2, "out")
    _cell_labels(lay, [(x0 + (i + 0.5) * ow, str(i)) for i in range(out)], ow,
                 yo + CELL_H / 2)

    label = (f"Adaptive pooling from {size} to {out}: output i reads input "
             f"[floor(i*{size}/{out}), ceil((i+1)*{size}/{out})): {_window_list(wins)}")
    return _render("adaptive_strip", kind="adaptive", width=x0 + span_w + right,
                   height=yo + CELL_H + 3, label=label,
                   under=lay.get("cg-cell", "cg-over", "cg-tick", "cg-link"),
                   bands=[p for p in lay.rest() if p[0].startswith("cg-band")],
                   outputs=[p for p in lay.rest() if p[0].startswith("cg-o ")],
                   over=lay.get("cg-grid"), labels=lay.labels())


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
    rl, cl = _lanes(rwins), _lanes(cwins)
    pitch, thick, num = 7.0, 5.0, 13.0
    gx = num + (max(rl) + 1) * pitch + 3
    gy = num + (max(cl) + 1) * pitch + 3
    gap = 24.0
    s = min(20.0, (WIDTH - gx - gap - 3) / (W + ow))
    lay = _Layers()
    (rs, re_), (cs, ce) = rwins[r], cwins[c]

    lay.rect("cg-cell", gx, gy, W * s, H * s)
    lay.rect("cg-hlx", gx, gy + rs * s, W * s, (re_ - rs) * s)
    lay.rect("cg-hlx", gx + cs * s, gy, (ce - cs) * s, H * s)
    lay.rect("cg-hl", gx + cs * s, gy + rs * s, (ce - cs) * s, (re_ - rs) * s)
    grid = [f"M{_n(gx)} {_n(gy + k * s)}h{_n(W * s)}" for k in range(H + 1)]
    grid += [f"M{_n(gx + k * s)} {_n(gy)}v{_n(H * s)}" for k in range(W + 1)]
    lay.raw("cg-grid", "".join(grid))

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
    grid = [f"M{_n(ox)} {_n(gy + k * s)}h{_n(ow * s)}" for k in range(oh + 1)]
    grid += [f"M{_n(ox + k * s)} {_n(gy)}v{_n(oh * s)}" for k in range(ow + 1)]
    lay.raw("cg-grid", "".join(grid))
    lay.line("cg-link", gx + ce * s, gy + (rs + re_) * s / 2, ox + c * s, gy + (r + 0.5) * s)
    if s >= 13:
        lay.text("cg-ts", ox + (c + 0.5) * s, gy + (r + 0.5) * s, f"{r},{c}")

    label = (f"Adaptive pooling from {H}x{W} to {oh}x{ow}: output ({r}, {c}) reads rows "
             f"[{rs},{re_}) and columns [{cs},{ce})")
    return _render("adaptive_grid", kind="grid", width=ox + ow * s + 3,
                   height=gy + max(H, oh) * s + 3, label=label,
                   under=lay.get("cg-cell", "cg-hlx"),
                   bands=[p for p in lay.rest() if p[0].startswith("cg-band")],
                   over=lay.get("cg-hl", "cg-grid", "cg-link"), labels=lay.labels())


# --------------------------------------------------------------------------- sliding


@dataclass
class _Strip:
    """A strip of cells along one dim, and the kernel placements over it."""

    kinds: list[str]  # per cell: "in", "pad", "zero" (transposed) or "crop"
    labels: list[str]
    lo: int  # the kernel slides over [lo, hi)
    hi: int
    kernel: int
    dilation: int
    step: int
    count: int  # placements that fit (the floor)
    extra: bool = False  # ceil mode adds one more placement
    dropped: bool = False  # ... which PyTorch drops (starts in the right padding)
    outputs: bool = False  # draw the output strip (transposed)
    lay: _Layers = field(default_factory=_Layers)

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    def start(self, i: int) -> int:
        return self.lo + i * self.step

    def taps(self, i: int) -> list[int]:
        return [self.start(i) + t * self.dilation for t in range(self.kernel)]


def _rows(count: int) -> list[int | None]:
    """Placements drawn, one row each; None is the elision row."""
    if count <= ROWS_FULL:
        return list(range(count))
    return [0, 1, None, count - 2, count - 1]


def _shown_cells(st: _Strip, total: int) -> list[bool]:
    """Which cells to draw; the rest are elided ("…") in a long strip."""
    if total <= CELLS_FULL:
        return [True] * total
    keep = [False] * total

    def add(a: int, b: int, ends_only: bool = False) -> None:
        a, b = max(a, 0), min(b, total)
        if ends_only and b - a > 8:
            add(a, a + 3)
            add(b - 3, b)
            return
        for k in range(a, b):
            keep[k] = True

    first_in = st.kinds.index("in") if "in" in st.kinds else 0
    last_in = len(st.kinds) - 1 - st.kinds[::-1].index("in") if "in" in st.kinds else total - 1
    add(0, min(first_in + 1, 8))
    add(max(last_in, total - 8), total)
    for i in _rows(st.count):
        if i is not None:
            add(st.start(i), st.start(i) + st.span, ends_only=st.span > 12)
    last_end = st.start(st.count - 1) + st.span
    add(last_end, st.hi, ends_only=True)
    if st.extra:
        add(st.start(st.count), st.start(st.count) + st.span, ends_only=st.span > 12)
    # an elision must save room: fill short gaps back in
    for a, b in _runs([not k for k in keep]):
        if b - a <= 2:
            add(a, b)
    return keep


def _draw_sliding(st: _Strip) -> tuple[float, float, list[int | None]]:
    """Lay out the strip, the placement rows, and (transposed) the output strip."""
    lay = st.lay
    axis = len(st.kinds)
    extra_start = st.start(st.count) if st.extra else None
    ghost = max(0, extra_start + st.span - axis) if extra_start is not None else 0
    total = axis + ghost
    shown = _shown_cells(st, total)
    segments = _runs(shown)
    right = 14.0 if st.extra else 4.0
    n_shown = sum(shown)
    cw = min(CELL, (WIDTH - LABEL - right - GAP_W * (len(segments) - 1)) / n_shown)

    # x of each cell's left edge; elided cells sit in the middle of their gap
    xs: list[float] = [0.0] * (total + 1)
    x = LABEL
    for k, (a, b) in enumerate(segments):
        if k:
            gap_a = segments[k - 1][1]
            for c in range(gap_a, a):
                xs[c] = x + GAP_W / 2
            x += GAP_W
        for c in range(a, b):
            xs[c] = x
            x += cw
    xs[total] = x
    width = x + right

    def xl(c: int) -> float:
        return xs[c]

    def xr(c: int) -> float:
        return xs[c] + cw if shown[c] else xs[c]

    y = 3.0
    mid = y + CELL_H / 2
    cls_of = {"in": "cg-cell", "pad": "cg-pad", "zero": "cg-zero", "crop": "cg-crop"}
    for a, b in segments:
        c = a
        while c < b:
            kind = st.kinds[c] if c < axis else "ghost"
            d = c
            while d < b and (st.kinds[d] if d < axis else "ghost") == kind:
                d += 1
            lay.strip(cls_of.get(kind, "cg-ghost"), xl(c), y, [cw] * (d - c), CELL_H)
            c = d
    for k in range(1, len(segments)):
        lay.text("cg-tm", xs[segments[k - 1][1]], mid, "…")
    # the floor: cells after the last placement that fits are never read
    last_end = st.start(st.count - 1) + st.span
    for a, b in _runs([st.lo <= c < st.hi and c >= last_end for c in range(total)]):
        for sa, sb in _runs([shown[c] and a <= c < b for c in range(total)]):
            lay.rect("cg-left", xl(sa), y, xr(sb - 1) - xl(sa), CELL_H)
    lay.text("cg-tl", LABEL - 4, mid, "in")
    _cell_labels(lay, [(xl(c) + cw / 2, st.labels[c]) for c in range(axis)
                       if st.labels[c] and shown[c]], cw, mid)
    for c in range(axis):  # cropped cells are struck through
        if st.kinds[c] == "crop" and shown[c]:
            lay.line("cg-cropx", xl(c) + 2, y + CELL_H - 2, xl(c) + cw - 2, y + 2)

    # one row per placement drawn: the kernel's taps, dilation gaps left empty
    rows = _rows(st.count)
    if st.extra:
        rows.append(st.count)
    pitch, bar = 14.0, 10.0
    yr = y + CELL_H + 6
    for k, i in enumerate(rows):
        ry = yr + k * pitch
        if i is None:
            lay.text("cg-tm", LABEL - 8, ry + bar / 2, "⋮")
            continue
        if i == st.count:
            cls = "cg-drop" if st.dropped else "cg-keep"
        else:
            cls = f"cg-band cg-win{i % 3}"
        lay.text("cg-rl" if i < st.count else "cg-tl", LABEL - 4, ry + bar / 2, str(i))
        taps = st.taps(i)
        if st.dilation == 1:
            lay.rect(cls, xl(taps[0]) + 1, ry, xr(taps[-1]) - xl(taps[0]) - 2, bar)
        else:
            lay.line("cg-span", xl(taps[0]) + cw / 2, ry + bar / 2,
                     xr(taps[-1]) - cw / 2, ry + bar / 2)
            for t in taps:
                if shown[t]:
                    lay.rect(cls, xl(t) + 1, ry, cw - 2, bar)
        if i == st.count:
            lay.text("cg-bad" if st.dropped else "cg-ok", xr(taps[-1]) + 7, ry + bar / 2,
                     "✗" if st.dropped else "✓")
    bottom = yr + len(rows) * pitch - (pitch - bar)
    if last_end < st.hi:  # mark where the last placement that fits ends
        last_row = rows.index(st.count - 1)
        lay.line("cg-mark", xr(last_end - 1), y - 2, xr(last_end - 1),
                 yr + last_row * pitch + bar + 2)

    if st.outputs:  # output j is the placement starting at lo + j
        yo = bottom + 8
        n_out = st.count
        out_shown = [shown[st.lo + j] for j in range(n_out)]
        for a, b in _runs(out_shown):
            for j in range(a, b):
                lay.rect(f"cg-o cg-win{j % 3}", xl(st.lo + j), yo, cw, CELL_H)
            lay.strip("cg-grid", xl(st.lo + a), yo, [cw] * (b - a), CELL_H)
        out_runs = _runs(out_shown)
        for (_, b), (a, _) in zip(out_runs, out_runs[1:], strict=False):
            lay.text("cg-tm", (xr(st.lo + b - 1) + xl(st.lo + a)) / 2, yo + CELL_H / 2, "…")
        lay.text("cg-tl", LABEL - 4, yo + CELL_H / 2, "out")
        _cell_labels(lay, [(xl(st.lo + j) + cw / 2, str(j)) for j in range(n_out)
                           if out_shown[j]], cw, yo + CELL_H / 2)
        bottom = yo + CELL_H
    return width, bottom + 3, rows


def _render_sliding(st: _Strip, label: str) -> str:
    width, height, _ = _draw_sliding(st)
    lay = st.lay
    cells = ("cg-cell", "cg-pad", "cg-zero", "cg-crop", "cg-ghost", "cg-left")
    return _render("sliding_strip", kind="sliding", width=width, height=height, label=label,
                   cells=lay.get(*cells), marks=lay.get("cg-span", "cg-mark"),
                   bands=[p for p in lay.rest(cells) if p[0] not in ("cg-span", "cg-mark")],
                   labels=lay.labels())


def sliding_strip(size: int, kernel: int, stride: int, pad_left: int, pad_right: int,
                  dilation: int = 1, ceil_mode: bool = False, transposed: bool = False) -> str:
    """A kernel sliding along one padded dim, one row per placement.

    Conv/pool (``transposed=False``): the strip is ``pad_left`` padding cells, the
    ``size`` input cells, ``pad_right`` padding cells; the kernel moves by ``stride``.
    Cells after the last placement that fits are marked (the floor). With
    ``ceil_mode`` (pooling, symmetric padding) the extra window is drawn hanging over
    the end, marked kept or dropped by PyTorch's rule (``arith.ceil_dropped``).

    ``transposed=True`` draws a transposed conv as the direct conv it equals: the input
    spread by ``stride`` (``stride-1`` zeros between cells), ``pad_left``/``pad_right``
    implicit padding (negative crops), the kernel moving by 1; each placement is one
    output cell, drawn below. See :func:`transposed_strip` for the layer's own
    parameters.
    """
    if min(size, kernel, stride, dilation) < 1:
        raise ValueError("size, kernel, stride and dilation must be positive")
    if transposed:
        if ceil_mode:
            raise ValueError("ceil_mode applies to pooling, not to a transposed conv")
        return _render_sliding(*_transposed(size, kernel, stride, pad_left, pad_right,
                                            dilation))
    if min(pad_left, pad_right) < 0:
        raise ValueError("padding must be non-negative")
    count = arith.conv_out(size, kernel, stride, pad_left, dilation, pad_right)
    kinds = ["pad"] * pad_left + ["in"] * size + ["pad"] * pad_right
    labels = [""] * pad_left + [str(c) for c in range(size)] + [""] * pad_right
    st = _Strip(kinds, labels, 0, len(kinds), kernel, dilation, stride, count)
    rest = (len(kinds) - st.span) % stride
    if ceil_mode:
        if pad_left != pad_right:
            raise ValueError("ceil_mode is pooling's: padding must be the same on both sides")
        st.extra = rest > 0
        st.dropped = st.extra and arith.ceil_dropped(size, kernel, stride, pad_left, dilation)
    pads = f"{pad_left}" if pad_left == pad_right else f"{pad_left} left, {pad_right} right"
    dil = f", dilation {dilation}" if dilation > 1 else ""
    label = (f"Kernel {kernel}{dil}, stride {stride}, over {size} cells with padding {pads}: "
             f"{count} placements fit")
    if rest:
        label += f"; {rest} cell{'s' if rest > 1 else ''} after the last one "
        label += "is never read" if rest == 1 else "are never read"
    if st.extra:
        label += ("; ceil mode's extra window starts in the right padding and is dropped"
                  if st.dropped else "; ceil mode keeps one more window hanging over the end")
    return _render_sliding(st, label)


def _transposed(size: int, kernel: int, stride: int, pad_left: int, pad_right: int,
                dilation: int) -> tuple[_Strip, str]:
    """The direct-conv view of a transposed conv, and its aria label."""
    spread = (size - 1) * stride + 1
    kinds = ["pad"] * max(pad_left, 0)
    labels = [""] * max(pad_left, 0)
    for j in range(spread):
        kinds.append("in" if j % stride == 0 else "zero")
        labels.append(str(j // stride) if j % stride == 0 else "")
    kinds += ["pad"] * max(pad_right, 0)
    labels += [""] * max(pad_right, 0)
    lo, hi = max(-pad_left, 0), len(kinds) - max(-pad_right, 0)
    for c in [*range(lo), *range(hi, len(kinds))]:
        kinds[c] = "crop"
    span = dilation * (kernel - 1) + 1
    count = hi - lo - span + 1
    if count < 1:
        raise ValueError(f"the padded, spread input ({hi - lo}) is shorter than the "
                         f"dilated kernel ({span})")
    st = _Strip(kinds, labels, lo, hi, kernel, dilation, 1, count, outputs=True)
    dil = f", dilation {dilation}" if dilation > 1 else ""
    label = (f"Transposed conv as a direct conv: {size} inputs spread by stride {stride} "
             f"({stride - 1} zeros between), implicit padding {pad_left} left and {pad_right} "
             f"right, kernel {kernel}{dil} at every position: output length {count}")
    return st, label


def transposed_strip(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                     dilation: int = 1) -> str:
    """ConvTranspose along one dim: the input spread by the stride with the inserted zeros,
    the implicit padding ``d(k-1)-p`` each side (``output_padding`` more on the right), the
    kernel at every position, and the output strip whose length is the layer's output."""
    out = arith.conv_transpose_out(size, kernel, stride, padding, output_padding, dilation)
    implicit = dilation * (kernel - 1) - padding
    st, label = _transposed(size, kernel, stride, implicit, implicit + output_padding, dilation)
    if st.count != out:  # pragma: no cover - the two formulas are the same identity
        raise AssertionError(f"diagram has {st.count} outputs, the solver {out}")
    return _render_sliding(st, label)


# --------------------------------------------------------------------------- values


def _fmt(v: object) -> str:
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
    texts = [[_fmt(v) for v in row] for row in grid]
    longest = max(len(t) for row in texts for t in row)
    rw = max(30.0, CHAR * len(result) + 14)
    arrow = 30.0
    cw = max(20.0, CHAR * longest + 8)
    cw = min(cw, (WIDTH - 4 - arrow - rw) / cols)
    ch = 20.0
    x0, y0 = 2.0, 2.0
    lay = _Layers()
    lay.rect("cg-cell", x0, y0, cols * cw, rows * ch)
    lay.rect("cg-sel", x0 + c0 * cw, y0 + r0 * ch, (c1 - c0) * cw, (r1 - r0) * ch)
    grid_d = [f"M{_n(x0)} {_n(y0 + k * ch)}h{_n(cols * cw)}" for k in range(rows + 1)]
    grid_d += [f"M{_n(x0 + k * cw)} {_n(y0)}v{_n(rows * ch)}" for k in range(cols + 1)]
    lay.raw("cg-grid", "".join(grid_d))
    small = cw < CHAR * longest + 2
    for r, row in enumerate(texts):
        for c, t in enumerate(row):
            lay.text("cg-ts" if small else "cg-t", x0 + (c + 0.5) * cw, y0 + (r + 0.5) * ch, t)
    ym = y0 + (r0 + r1) / 2 * ch
    ax0, ax1 = x0 + cols * cw + 5, x0 + cols * cw + arrow - 5
    lay.raw("cg-arrow", f"M{_n(ax0)} {_n(ym)}H{_n(ax1)}m-5 -4l5 4l-5 4")
    rx = x0 + cols * cw + arrow
    lay.rect("cg-sel", rx, ym - ch / 2, rw, ch)
    lay.rect("cg-grid", rx, ym - ch / 2, rw, ch)
    lay.text("cg-t cg-res", rx + rw / 2, ym, result)
    height = max(y0 + rows * ch, ym + ch / 2) + 2
    label = (f"Input values; the window rows [{r0},{r1}) and columns [{c0},{c1}) is shaded; "
             f"its output is {result}") if rows > 1 else (
        f"Input values; the window [{c0},{c1}) is shaded; its output is {result}")
    return _render("values_grid", kind="values", width=rx + rw + 2, height=height, label=label,
                   under=lay.get("cg-cell", "cg-sel"), over=lay.get("cg-grid", "cg-arrow"),
                   labels=lay.labels())
