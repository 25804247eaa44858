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

Speed: a build draws a diagram or two per note within a budget of tens of
microseconds, so the hot paths here avoid per-call work that adds nothing: numbers are
formatted through a memo (:func:`_n`), the templates are flat (no macros) and loaded
once, and they write numbers and path data without escaping them (they are made here
from floats and hold no markup characters); text that comes from outside is escaped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat

from markupsafe import escape

from cardgen.render.env import render
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

_MEMO_MAX = 1 << 14  # numbers kept by _n's memo before it starts afresh


def _format(value: float) -> str:
    """A short number: an integer, or one decimal."""
    if value % 1 == 0:  # whole (most cell edges): nothing to round; False for inf and nan
        return str(int(value))
    text = f"{round(value, 1):.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _Memo(dict[float, str]):
    """:func:`_format` by value. A diagram formats a hundred numbers or so, mostly the
    same few dozen (cell edges, label rows, strip heights), so a dict hit beats
    formatting again; the memo is cleared when full, so a long build stays bounded."""

    def __missing__(self, value: float) -> str:
        if len(self) >= _MEMO_MAX:
            self.clear()
        text = self[value] = _format(value)
        return text


_n: Callable[[float], str] = _Memo().__getitem__
"""A short number: an integer, or one decimal (memoised :func:`_format`)."""

_INDEX: list[str] = []  # str(i) for every i below its length, grown on demand


def _index_labels(count: int) -> list[str]:
    """``["0", "1", ..., str(count - 1)]``; each string is made once per process."""
    if len(_INDEX) < count:
        _INDEX.extend(map(str, range(len(_INDEX), count)))
    return _INDEX[:count]


def _rect(x: float, y: float, w: float, h: float) -> str:
    return f"M{_n(x)} {_n(y)}h{_n(w)}v{_n(h)}h{_n(-w)}z"


class _Layers:
    """Path data and labels grouped by CSS class, in first-use order.

    The templates write label texts unescaped, so they must be numbers or fixed symbols;
    text from outside (the aria label, a result) is escaped by the template itself.
    """

    __slots__ = ("paths", "texts")

    def __init__(self) -> None:
        self.paths: defaultdict[str, list[str]] = defaultdict(list)
        self.texts: defaultdict[str, list[tuple[str, str, str]]] = defaultdict(list)

    def rect(self, cls: str, x: float, y: float, w: float, h: float) -> None:
        if w <= 0 or h <= 0:
            return
        self.paths[cls].append(_rect(x, y, w, h))

    def rects(self, cls: str, xs: Sequence[float], y: float, w: float, h: float) -> None:
        """Rectangles of one size in a row: ``rect`` at each x, the shared part made once."""
        if w <= 0 or h <= 0 or not xs:
            return
        rest = f" {_n(y)}h{_n(w)}v{_n(h)}h{_n(-w)}z"
        self.paths[cls].extend([f"M{_n(x)}{rest}" for x in xs])

    def line(self, cls: str, x1: float, y1: float, x2: float, y2: float) -> None:
        nx1, ny1, nx2, ny2 = _n(x1), _n(y1), _n(x2), _n(y2)
        if nx1 == nx2:
            seg = f"M{nx1} {ny1}V{ny2}"
        elif ny1 == ny2:
            seg = f"M{nx1} {ny1}H{nx2}"
        else:
            seg = f"M{nx1} {ny1}L{nx2} {ny2}"
        self.paths[cls].append(seg)

    def raw(self, cls: str, d: str) -> None:
        self.paths[cls].append(d)

    def strip(self, cls: str, x: float, y: float, widths: Sequence[float], h: float) -> None:
        """A run of adjacent cells: one outline plus the separators, in one subpath list."""
        total = sum(widths)
        if total <= 0:
            return
        ny, nh = _n(y), _n(h)
        separator = f" {ny}v{nh}"
        parts = [f"M{_n(x)} {ny}h{_n(total)}v{nh}h{_n(-total)}z"]
        edge = x
        for w in widths[:-1]:
            edge += w
            parts.append(f"M{_n(edge)}{separator}")
        self.paths[cls].append("".join(parts))

    def text(self, cls: str, x: float, y: float, s: str) -> None:
        self.texts[cls].append((_n(x), _n(y), s))

    def stack(self, bottom: Sequence[str] = (), top: Sequence[str] = ()
              ) -> list[tuple[str, str]]:
        """(class, d) of each class used, in drawing order: ``bottom`` in the order given,
        then the other classes in first-use order, then ``top``."""
        paths = self.paths
        middle = [c for c in paths if c not in bottom and c not in top]
        return [(c, "".join(paths[c])) for c in (*bottom, *middle, *top) if paths.get(c)]

    def labels(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        return [(c, items) for c, items in self.texts.items() if items]


def _render(name: str, *, width: float, height: float, label: str, **parts: object) -> str:
    values = {"w": _n(width), "h": _n(height), "maxw": round(width * ZOOM), "label": label,
              **parts}
    return render(f"diagrams/{name}.svg.j2", values)


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


def _clip(runs: Sequence[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of sorted, disjoint [a, b) runs that lie in [lo, hi)."""
    return [(max(a, lo), min(b, hi)) for a, b in runs if max(a, lo) < min(b, hi)]


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


def _cell_labels(lay: _Layers, xs: Sequence[float], texts: Sequence[str], cw: float,
                 y: float, max_labels: int = 16) -> None:
    """Label cells centred at ``xs``: all at the normal size if they fit, else small ones,
    skipping any that would touch its left neighbour (the last one always kept), and
    spreading them out to about ``max_labels``."""
    if not texts:
        return
    ny = _n(y)
    if cw >= CHAR * max(map(len, texts)) + 2:
        lay.texts["cg-t"].extend(zip(map(_n, xs), repeat(ny), texts))
        return
    spread = (xs[-1] - xs[0]) / max_labels
    lengths = list(map(len, texts))

    def clear(a: int, b: int) -> bool:
        need = (lengths[a] + lengths[b]) / 2 * CHAR_S + 3
        return xs[b] - xs[a] >= (need if need > spread else spread)

    keep = [0]
    for k in range(1, len(texts)):
        if clear(keep[-1], k):
            keep.append(k)
    last = len(texts) - 1
    if keep[-1] != last:
        while keep and not clear(keep[-1], last):
            keep.pop()
        keep.append(last)
    lay.texts["cg-ts"].extend([(_n(xs[k]), ny, texts[k]) for k in keep])


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
        _cell_labels(lay, [x0 + (c + 0.5) * cw for c in range(size)], _index_labels(size),
                     cw, y + CELL_H / 2)
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
    _cell_labels(lay, [x0 + (i + 0.5) * ow for i in range(out)], _index_labels(out), ow,
                 yo + CELL_H / 2)

    label = (f"Adaptive pooling from {size} to {out}: output i reads input "
             f"[floor(i*{size}/{out}), ceil((i+1)*{size}/{out})): {_window_list(wins)}")
    # the bands, then the output cells, come between (in first-use order)
    paths = lay.stack(bottom=("cg-cell", "cg-over", "cg-tick", "cg-link"), top=("cg-grid",))
    return _render("adaptive_strip", width=x0 + span_w + right, height=yo + CELL_H + 3,
                   label=label, paths=paths, labels=lay.labels())


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
    lay.raw("cg-grid", _grid_lines(gx, gy, s, s, H, W))

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
    lay.raw("cg-grid", _grid_lines(ox, gy, s, s, oh, ow))
    lay.line("cg-link", gx + ce * s, gy + (rs + re_) * s / 2, ox + c * s, gy + (r + 0.5) * s)
    if s >= 13:
        lay.text("cg-ts", ox + (c + 0.5) * s, gy + (r + 0.5) * s, f"{r},{c}")

    label = (f"Adaptive pooling from {H}x{W} to {oh}x{ow}: output ({r}, {c}) reads rows "
             f"[{rs},{re_}) and columns [{cs},{ce})")
    # the bands come between
    paths = lay.stack(bottom=("cg-cell", "cg-hlx"), top=("cg-hl", "cg-grid", "cg-link"))
    return _render("adaptive_grid", width=ox + ow * s + 3, height=gy + max(H, oh) * s + 3,
                   label=label, paths=paths, labels=lay.labels())


def _grid_lines(x: float, y: float, cw: float, ch: float, rows: int, cols: int) -> str:
    """The lines of a rows x cols grid of cw x ch cells at (x, y): rows, then columns."""
    nx, ny, nw, nh = _n(x), _n(y), _n(cols * cw), _n(rows * ch)
    return "".join([*[f"M{nx} {_n(y + k * ch)}h{nw}" for k in range(rows + 1)],
                    *[f"M{_n(x + k * cw)} {ny}v{nh}" for k in range(cols + 1)]])


# --------------------------------------------------------------------------- sliding


@dataclass
class _Strip:
    """A strip of cells along one dim, and the kernel placements over it."""

    kinds: list[str]  # per cell: "in", "pad", "zero" (transposed) or "crop"
    labels: list[str]
    lo: int  # the kernel slides over [lo, hi); the cells outside it are "crop"
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


def _rows(count: int) -> list[int | None]:
    """Placements drawn, one row each; None is the elision row."""
    if count <= ROWS_FULL:
        return list(range(count))
    return [0, 1, None, count - 2, count - 1]


def _shown_cells(st: _Strip, total: int) -> list[tuple[int, int]]:
    """The runs [a, b) of cells to draw; the rest are elided ("…") in a long strip.

    Worked on ranges, not per cell: a strip can be hundreds of cells long."""
    if total <= CELLS_FULL:
        return [(0, total)]
    spans: list[tuple[int, int]] = []

    def add(a: int, b: int, ends_only: bool = False) -> None:
        a, b = max(a, 0), min(b, total)
        if ends_only and b - a > 8:
            spans.extend([(a, a + 3), (b - 3, b)])
        elif a < b:
            spans.append((a, b))

    kinds = st.kinds
    first_in = kinds.index("in") if "in" in kinds else 0
    last_in = len(kinds) - 1 - kinds[::-1].index("in") if "in" in kinds else total - 1
    add(0, min(first_in + 1, 8))
    add(max(last_in, total - 8), total)
    span = st.span
    placements = [i for i in _rows(st.count) if i is not None]
    if st.extra:
        placements.append(st.count)
    for i in placements:
        start = st.start(i)
        add(start, start + span, ends_only=span > 12)
    add(st.start(st.count - 1) + span, st.hi, ends_only=True)  # what the floor leaves
    # merge into runs; an elision must save room, so a gap of 1 or 2 cells is drawn
    spans.sort()
    runs = [spans[0]]
    for a, b in spans[1:]:
        last_a, last_b = runs[-1]
        if a - last_b <= 2:
            runs[-1] = (last_a, max(last_b, b))
        else:
            runs.append((a, b))
    return runs


_CELL_CLASS = {"in": "cg-cell", "pad": "cg-pad", "zero": "cg-zero", "crop": "cg-crop",
               "ghost": "cg-ghost"}


_BANDS = ("cg-band cg-win0", "cg-band cg-win1", "cg-band cg-win2")  # by placement % 3


def _draw_sliding(st: _Strip) -> tuple[float, float, list[int | None]]:
    """Lay out the strip, the placement rows, and (transposed) the output strip."""
    lay = st.lay
    axis = len(st.kinds)
    extra_start = st.start(st.count) if st.extra else None
    ghost = max(0, extra_start + st.span - axis) if extra_start is not None else 0
    total = axis + ghost
    segments = _shown_cells(st, total)
    shown = [False] * total
    for a, b in segments:
        shown[a:b] = [True] * (b - a)
    right = 14.0 if st.extra else 4.0
    n_shown = sum([b - a for a, b in segments])
    cw = min(CELL, (WIDTH - LABEL - right - GAP_W * (len(segments) - 1)) / n_shown)

    # x of each cell's left edge; elided cells sit in the middle of their gap
    xs: list[float] = [0.0] * (total + 1)
    x = LABEL
    for k, (a, b) in enumerate(segments):
        if k:
            gap_a = segments[k - 1][1]
            xs[gap_a:a] = [x + GAP_W / 2] * (a - gap_a)
            x += GAP_W
        for c in range(a, b):
            xs[c] = x
            x += cw
    xs[total] = x
    width = x + right

    def xr(c: int) -> float:  # a cell's right edge (its left edge if elided)
        return xs[c] + cw if shown[c] else xs[c]

    y = 3.0
    mid = y + CELL_H / 2
    kinds = [*st.kinds, *["ghost"] * ghost]
    for a, b in segments:  # one strip per run of cells of one kind
        c = a
        while c < b:
            kind = kinds[c]
            d = c + 1
            while d < b and kinds[d] == kind:
                d += 1
            lay.strip(_CELL_CLASS[kind], xs[c], y, [cw] * (d - c), CELL_H)
            c = d
    for k in range(1, len(segments)):
        lay.text("cg-tm", xs[segments[k - 1][1]], mid, "…")
    # the floor: cells after the last placement that fits are never read
    last_end = st.start(st.count - 1) + st.span
    for a, b in _clip(segments, max(st.lo, last_end), st.hi):
        lay.rect("cg-left", xs[a], y, xr(b - 1) - xs[a], CELL_H)
    lay.text("cg-tl", LABEL - 4, mid, "in")
    labels = st.labels
    numbered = [c for a, b in _clip(segments, 0, axis) for c in range(a, b) if labels[c]]
    half = cw / 2
    _cell_labels(lay, [xs[c] + half for c in numbered], [labels[c] for c in numbered], cw,
                 mid)
    # cropped cells (the ones outside [lo, hi), see _Strip) are struck through
    for a, b in [*_clip(segments, 0, st.lo), *_clip(segments, st.hi, axis)]:
        for c in range(a, b):
            lay.line("cg-cropx", xs[c] + 2, y + CELL_H - 2, xs[c] + cw - 2, y + 2)

    # one row per placement drawn: the kernel's taps, dilation gaps left empty
    rows = _rows(st.count)
    if st.extra:
        rows.append(st.count)
    pitch, bar = 14.0, 10.0
    yr = y + CELL_H + 6
    reach = st.dilation * (st.kernel - 1)  # first tap to last
    for k, i in enumerate(rows):
        ry = yr + k * pitch
        ym = ry + bar / 2
        if i is None:
            lay.text("cg-tm", LABEL - 8, ym, "⋮")
            continue
        if i == st.count:
            cls = "cg-drop" if st.dropped else "cg-keep"
        else:
            cls = _BANDS[i % 3]
        lay.text("cg-rl" if i < st.count else "cg-tl", LABEL - 4, ym, str(i))
        first = st.start(i)
        last = first + reach
        if st.dilation == 1:
            lay.rect(cls, xs[first] + 1, ry, xr(last) - xs[first] - 2, bar)
        else:
            lay.line("cg-span", xs[first] + half, ym, xr(last) - half, ym)
            lay.rects(cls, [xs[t] + 1 for t in range(first, last + 1, st.dilation)
                            if shown[t]], ry, cw - 2, bar)
        if i == st.count:
            lay.text("cg-bad" if st.dropped else "cg-ok", xr(last) + 7, ym,
                     "✗" if st.dropped else "✓")
    bottom = yr + len(rows) * pitch - (pitch - bar)
    if last_end < st.hi:  # mark where the last placement that fits ends
        last_row = rows.index(st.count - 1)
        lay.line("cg-mark", xr(last_end - 1), y - 2, xr(last_end - 1),
                 yr + last_row * pitch + bar + 2)

    if st.outputs:  # output j is the placement starting at lo + j
        yo = bottom + 8
        lo = st.lo
        out_runs = [(a - lo, b - lo) for a, b in _clip(segments, lo, lo + st.count)]
        for a, b in out_runs:
            for j in range(a, b):
                lay.rect(f"cg-o cg-win{j % 3}", xs[lo + j], yo, cw, CELL_H)
            lay.strip("cg-grid", xs[lo + a], yo, [cw] * (b - a), CELL_H)
        for (_, b), (a, _) in zip(out_runs, out_runs[1:], strict=False):
            lay.text("cg-tm", (xr(lo + b - 1) + xs[lo + a]) / 2, yo + CELL_H / 2, "…")
        lay.text("cg-tl", LABEL - 4, yo + CELL_H / 2, "out")
        outs = [j for a, b in out_runs for j in range(a, b)]
        _cell_labels(lay, [xs[lo + j] + half for j in outs], [str(j) for j in outs], cw,
                     yo + CELL_H / 2)
        bottom = yo + CELL_H
    return width, bottom + 3, rows


# the cells of the strip, then the span lines and the end-of-the-floor mark
_UNDER = ("cg-cell", "cg-pad", "cg-zero", "cg-crop", "cg-ghost", "cg-left", "cg-span", "cg-mark")


def _render_sliding(st: _Strip, label: str) -> str:
    width, height, _ = _draw_sliding(st)
    lay = st.lay
    # the placement rows, the ceil-mode window and the output cells come on top
    return _render("sliding_strip", width=width, height=height, label=label,
                   paths=lay.stack(bottom=_UNDER), labels=lay.labels())


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
    labels = [""] * pad_left + _index_labels(size) + [""] * pad_right
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
    # the input spread by the stride: input j at j*stride, zeros between
    spread_kinds, spread_labels = ["zero"] * spread, [""] * spread
    spread_kinds[::stride] = ["in"] * size
    spread_labels[::stride] = _index_labels(size)
    kinds = ["pad"] * max(pad_left, 0) + spread_kinds + ["pad"] * max(pad_right, 0)
    labels = [""] * max(pad_left, 0) + spread_labels + [""] * max(pad_right, 0)
    lo, hi = max(-pad_left, 0), len(kinds) - max(-pad_right, 0)
    kinds[:lo] = ["crop"] * lo  # negative padding crops (labels stay: struck through)
    kinds[hi:] = ["crop"] * (len(kinds) - hi)
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
    types = set(map(type, chain.from_iterable(grid)))
    if types == {int}:  # the usual grid
        texts = [[str(v) for v in row] for row in grid]
    else:
        texts = [[_fmt(v) for v in row] for row in grid]
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
    result_box = _rect(rx, ym - ch / 2, rw, ch)
    # bottom to top: the grid; the window and the result box shaded; the grid lines and
    # the result box's outline; the arrow
    window_box = _rect(x0 + c0 * cw, y0 + r0 * ch, (c1 - c0) * cw, (r1 - r0) * ch)
    paths = [("cg-cell", _rect(x0, y0, cols * cw, rows * ch)),
             ("cg-sel", window_box + result_box),
             ("cg-grid", _grid_lines(x0, y0, cw, ch, rows, cols) + result_box),
             ("cg-arrow", f"M{_n(ax0)} {_n(ym)}H{_n(ax1)}m-5 -4l5 4l-5 4")]
    if cw <= 0:  # a result so long it leaves the grid no room: no grid or window box
        paths[:2] = [("cg-sel", result_box)]
    # cell texts centred in their cells, small when the cells are narrow
    if not types <= {int, float}:  # the template writes cell texts as they are
        texts = [[str(escape(t)) for t in row] for row in texts]
    col_x = [_n(x0 + (c + 0.5) * cw) for c in range(cols)]
    cells: list[tuple[str, str, str]] = []
    for r, row in enumerate(texts):
        cells.extend(zip(col_x, repeat(_n(y0 + (r + 0.5) * ch)), row))
    small = cw < CHAR * longest + 2
    height = max(y0 + rows * ch, ym + ch / 2) + 2
    label = (f"Input values; the window rows [{r0},{r1}) and columns [{c0},{c1}) is shaded; "
             f"its output is {result}") if rows > 1 else (
        f"Input values; the window [{c0},{c1}) is shaded; its output is {result}")
    return _render("values_grid", width=rx + rw + 2, height=height, label=label, paths=paths,
                   text_class="cg-ts" if small else "cg-t", cells=cells, result=result,
                   result_x=_n(rx + rw / 2), result_y=_n(ym))
