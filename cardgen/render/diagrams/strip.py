"""The kernel-placement strip model shared by the sliding and transposed strips: a strip
of cells along one dim, the placements drawn as rows over it, the output strip below,
and the condensing of a long strip around them (``templates/diagrams/sliding_strip.svg.j2``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate, repeat
from typing import NamedTuple

from cardgen.render.diagrams.geometry import (
    CELL,
    CELL_H,
    CELLS_FULL,
    GAP_W,
    LABEL,
    ROWS_FULL,
    WIDTH,
    Layers,
    cell_labels,
    clip_runs,
    index_labels,
    n,
    render_layers,
)


@dataclass
class Strip:
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
    dropped: bool = False  # ... which PyTorch drops (it would start past the input)
    outputs: bool = False  # draw the output strip (transposed)
    # what kinds, labels, lo and hi are a function of (no two strips with the same key
    # differ in them), for the memo of input strips drawn; () draws the strip afresh
    key: tuple[object, ...] = ()
    lay: Layers = field(default_factory=Layers)

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    def start(self, i: int) -> int:
        return self.lo + i * self.step

    @property
    def read_end(self) -> int:
        """Where the last placement PyTorch keeps ends (ceil mode's kept window included):
        the cells from here to ``hi`` are never read."""
        last = self.count if self.extra and not self.dropped else self.count - 1
        end = self.lo + last * self.step + self.dilation * (self.kernel - 1) + 1  # start + span
        return end if end < self.hi else self.hi

    def unread(self) -> tuple[int, int]:
        """(input cells, padding cells) that no placement reads, after the last one: input
        cells never read are input lost; padding cells never read lose nothing."""
        tail = self.kinds[self.read_end:self.hi]
        return tail.count("in"), len(tail) - tail.count("in")


def condensed(cells: int) -> bool:
    """Whether a strip of this many cells (padding included) is drawn condensed: its
    middle elided ("…") around the placements drawn."""
    return cells > CELLS_FULL


def _rows(count: int) -> list[int | None]:
    """Placements drawn, one row each; None is the elision row."""
    if count <= ROWS_FULL:
        return list(range(count))
    return [0, 1, None, count - 2, count - 1]


def _shown_cells(st: Strip, total: int) -> list[tuple[int, int]]:
    """The runs [a, b) of cells to draw; the rest are elided ("…") in a long strip.

    Worked on ranges, not per cell: a strip can be hundreds of cells long."""
    if not condensed(total):
        return [(0, total)]
    spans: list[tuple[int, int]] = []

    # (max, min and Strip.start written out below: a call each cost more than the sum)
    def add(a: int, b: int, ends_only: bool = False) -> None:
        a, b = a if a > 0 else 0, b if b < total else total
        if ends_only and b - a > 8:
            spans.extend([(a, a + 3), (b - 3, b)])
        elif a < b:
            spans.append((a, b))

    kinds = st.kinds
    first_in = kinds.index("in") if "in" in kinds else 0
    last_in = len(kinds) - 1 - kinds[::-1].index("in") if "in" in kinds else total - 1
    # at least 8 cells at each end, through the first and the last input cell (a long
    # padding is drawn by its ends)
    add(0, max(first_in + 1, 8), ends_only=True)
    add(min(last_in, total - 8), total, ends_only=True)
    span = st.span
    placements = [i for i in _rows(st.count) if i is not None]
    if st.extra:
        placements.append(st.count)
    lo, step = st.lo, st.step
    for i in placements:
        start = lo + i * step
        add(start, start + span, ends_only=span > 12)
    add(lo + (st.count - 1) * step + span, st.hi, ends_only=True)  # what the floor leaves
    # merge into runs; an elision must save room, so a gap of 1 or 2 cells is drawn
    spans.sort()
    runs = [spans[0]]
    for a, b in spans[1:]:
        last_a, last_b = runs[-1]
        if a - last_b <= 2:
            runs[-1] = (last_a, b if b > last_b else last_b)
        else:
            runs.append((a, b))
    return runs


_CELL_CLASS = {"in": "cg-cell", "pad": "cg-pad", "zero": "cg-zero", "crop": "cg-crop",
               "ghost": "cg-ghost"}


_BANDS = ("cg-band cg-win0", "cg-band cg-win1", "cg-band cg-win2")  # by placement % 3


class _Row(NamedTuple):
    """The input strip as drawn: its layout and its layers (class, items) in first use."""

    shown: list[bool]
    cw: float
    xs: list[float]  # each cell's left edge, then the right end
    kinds: list[str]
    # each class's path data and <text> elements, joined: the layers join them anyway
    paths: tuple[tuple[str, str], ...]
    texts: tuple[tuple[str, str], ...]


# The input strips drawn, by what they are a function of (Strip.key, the ghost cells,
# the runs shown and the room on the right): a deck draws the same input with many
# kernels. Started afresh when full.
_ROWS: dict[tuple[object, ...], _Row] = {}
_ROWS_MAX = 2048


def _input_row(st: Strip, ghost: int, segments: list[tuple[int, int]], right: float) -> _Row:
    """Lay out the strip's cells (the shown ones in runs, elided ones in the gaps) and
    draw them with their labels and the struck-through cropped cells."""
    axis = len(st.kinds)
    total = axis + ghost
    if len(segments) == 1 and segments[0] == (0, total):
        shown = [True] * total
    else:
        shown = [False] * total
        for a, b in segments:
            shown[a:b] = [True] * (b - a)
    n_shown = sum([b - a for a, b in segments])
    cw = min(CELL, (WIDTH - LABEL - right - GAP_W * (len(segments) - 1)) / n_shown)

    # x of each cell's left edge; elided cells sit in the middle of their gap. The edges
    # of a run are summed one cell at a time (accumulate), as the layout always was.
    xs: list[float] = [0.0] * (total + 1)
    x = LABEL
    for k, (a, b) in enumerate(segments):
        if k:
            gap_a = segments[k - 1][1]
            xs[gap_a:a] = [x + GAP_W / 2] * (a - gap_a)
            x += GAP_W
        edges = list(accumulate(repeat(cw, b - a), initial=x))
        x = edges.pop()
        xs[a:b] = edges
    xs[total] = x

    lay = Layers()
    y = _IN_Y
    mid = y + CELL_H / 2
    kinds = [*st.kinds, *["ghost"] * ghost] if ghost else st.kinds
    paths = lay.paths
    # a run of one cell (a transposed strip's inputs and zeros take turns) is its
    # outline alone: the path Layers.cells keeps for it, written without the call
    one = f" {n(y)}h{n(cw)}v{n(CELL_H)}h{n(-cw)}z" if cw > 0 else ""
    for a, b in segments:  # one strip per run of cells of one kind
        c = a
        while c < b:
            kind = kinds[c]
            d = c + 1
            while d < b and kinds[d] == kind:
                d += 1
            if d - c == 1 and one:
                paths[_CELL_CLASS[kind]].append(f"M{n(xs[c])}{one}")
            else:
                lay.cells(_CELL_CLASS[kind], xs[c], y, cw, d - c, CELL_H)
            c = d
    for k in range(1, len(segments)):
        lay.text("cg-tm", xs[segments[k - 1][1]], mid, "…")
    lay.texts["cg-tl"].append(_IN_LABEL)  # lay.text("cg-tl", LABEL - 4, mid, "in"), made once
    labels = st.labels
    numbered = [c for a, b in clip_runs(segments, 0, axis) for c in range(a, b) if labels[c]]
    half = cw / 2
    cell_labels(lay, [xs[c] + half for c in numbered], [labels[c] for c in numbered], cw,
                mid)
    # cropped cells (the ones outside [lo, hi), see Strip) are struck through
    for a, b in [*clip_runs(segments, 0, st.lo), *clip_runs(segments, st.hi, axis)]:
        for c in range(a, b):
            lay.line("cg-cropx", xs[c] + 2, y + CELL_H - 2, xs[c] + cw - 2, y + 2)
    return _Row(shown, cw, xs, kinds, tuple([(c, "".join(d)) for c, d in lay.paths.items()]),
                tuple([(c, "".join(t)) for c, t in lay.texts.items()]))


def _draw_strip(st: Strip) -> tuple[float, float, list[int | None]]:
    """Lay out the strip, the placement rows, and (transposed) the output strip.

    Written for speed (a strip or two per note): the input strip comes from a memo when
    it was drawn before (:data:`_ROWS`), paths go straight into the layers' lists, and a
    row's or a cell's path is one f-string of :func:`n`'s numbers (what ``Layers.rect``
    writes)."""
    lay = st.lay
    paths, texts = lay.paths, lay.texts
    axis = len(st.kinds)
    count, span, lo, hi = st.count, st.span, st.lo, st.hi
    ghost = max(0, lo + count * st.step + span - axis) if st.extra else 0  # start(count)
    segments = _shown_cells(st, axis + ghost)
    right = 14.0 if st.extra else 4.0
    key = (st.key, ghost, tuple(segments), right)
    row = _ROWS.get(key) if st.key else None
    if row is None:
        row = _input_row(st, ghost, segments, right)
        if st.key:
            if len(_ROWS) >= _ROWS_MAX:
                _ROWS.clear()
            _ROWS[key] = row
    # the row's classes come first, in its own order: the layers are empty here (a new
    # Strip's), so each class's list is made here, not by the defaultdict's factory
    if paths or texts:
        raise ValueError("a strip is drawn once, on empty layers")
    for cls, d in row.paths:
        paths[cls] = [d]
    for cls, elements in row.texts:
        texts[cls] = [elements]
    shown, cw, xs, kinds = row.shown, row.cw, row.xs, row.kinds
    width = xs[-1] + right
    half = cw / 2

    def xr(c: int) -> float:  # a cell's right edge (its left edge if elided)
        return xs[c] + cw if shown[c] else xs[c]

    y = 3.0
    # the floor: cells after the last placement are never read. Red (cg-left) only for
    # input cells, which are input lost; unread padding (cg-unread) loses nothing.
    last_end = st.read_end
    for a, b in clip_runs(segments, max(lo, last_end), hi):
        c = a
        while c < b:
            is_in = kinds[c] == "in"
            d = c + 1
            while d < b and (kinds[d] == "in") == is_in:
                d += 1
            lay.rect("cg-left" if is_in else "cg-unread", xs[c], y, xr(d - 1) - xs[c], CELL_H)
            c = d

    # one row per placement drawn: the kernel's taps, dilation gaps left empty
    rows = _rows(count)
    if st.extra:
        rows.append(count)
    pitch, bar = _PITCH, _BAR
    yr = _YR
    dilation, step = st.dilation, st.step
    reach = dilation * (st.kernel - 1)  # first tap to last
    for k, i in enumerate(rows):
        if i is None:
            texts["cg-tm"].append(_ROW_ELIDED[k])
            continue
        if i == count:
            cls = "cg-drop" if st.dropped else "cg-keep"
            texts["cg-tl"].append(f"{_ROW_LABEL[k]}{i}</text>")
        else:
            cls = _BANDS[i % 3]
            texts["cg-rl"].append(f"{_ROW_LABEL[k]}{i}</text>")
        first = lo + i * step
        last = first + reach
        if dilation == 1:  # one bar (the row's y from _ROW_TOP)
            w = (xs[last] + cw if shown[last] else xs[last]) - xs[first] - 2
            if w > 0:  # what Layers.rect writes
                paths[cls].append(f"M{n(xs[first] + 1)}{_ROW_TOP[k]}{n(w)}v{_NBAR}h{n(-w)}z")
            if i != count:  # done (ceil mode's row goes on to its mark)
                continue
        ry = yr + k * pitch
        ym = ry + bar / 2
        if dilation != 1:
            lay.line("cg-span", xs[first] + half, ym, xr(last) - half, ym)
            lay.rects(cls, [xs[t] + 1 for t in range(first, last + 1, dilation)
                            if shown[t]], ry, cw - 2, bar)
        if i == count:
            lay.text("cg-bad" if st.dropped else "cg-ok", xr(last) + 7, ym,
                     "✗" if st.dropped else "✓")
    bottom = yr + len(rows) * pitch - (pitch - bar)
    if last_end < hi:  # mark where the last placement ends (red: input is lost)
        last_row = rows.index(count - 1)
        lost = st.unread()[0] > 0
        x_end = xr(last_end - 1)
        lay.line("cg-mark" if lost else "cg-markpad", x_end, y - 2, x_end,
                 yr + last_row * pitch + bar + 2)

    if st.outputs:  # output j is the placement starting at lo + j
        yo = bottom + 8
        out_runs = [(a - lo, b - lo) for a, b in clip_runs(segments, lo, lo + count)]
        if cw > 0:  # each output cell coloured like its placement (Layers.rect's path)
            cell = f" {n(yo)}h{n(cw)}v{n(CELL_H)}h{n(-cw)}z"
            joint = f"{cell}M"
            for a, b in out_runs:
                # output j goes to class j % 3: the run's cells to the three classes in
                # turn (first used in that order), each class's cells in order, joined
                # ("M{x}{cell}" each, one join a class: no Python step per cell)
                for k in range(min(3, b - a)):
                    paths[_OUTS[(a + k) % 3]].append(
                        f"M{joint.join(map(n, xs[lo + a + k:lo + b:3]))}{cell}")
                lay.cells("cg-grid", xs[lo + a], yo, cw, b - a, CELL_H)
        for (_, b), (a, _) in zip(out_runs, out_runs[1:], strict=False):
            lay.text("cg-tm", (xr(lo + b - 1) + xs[lo + a]) / 2, yo + CELL_H / 2, "…")
        lay.text("cg-tl", LABEL - 4, yo + CELL_H / 2, "out")
        # the outputs shown: their centres (half + x, the same sum) and labels
        if len(out_runs) == 1:  # not condensed: one run, no Python step per output
            a, b = out_runs[0]
            centres = list(map(half.__add__, xs[lo + a:lo + b]))
            names = index_labels(b)[a:]
        else:
            outs = [j for a, b in out_runs for j in range(a, b)]
            centres = [xs[lo + j] + half for j in outs]
            names = [str(j) for j in outs]
        cell_labels(lay, centres, names, cw, yo + CELL_H / 2)
        bottom = yo + CELL_H
    return width, bottom + 3, rows


_OUTS = ("cg-o cg-win0", "cg-o cg-win1", "cg-o cg-win2")  # output j, like placement j

# The placement rows' fixed numbers (the input strip is at y 3, CELL_H high), and each
# row's pieces that follow from them, made once: the label up to its text, the elision
# mark, a bar's path from its y to its width. Rows: at most ROWS_FULL, and ceil mode's.
_PITCH, _BAR = 14.0, 10.0
_YR = 3.0 + CELL_H + 6  # the first row's top
_NBAR = n(_BAR)
_IN_Y = 3.0  # the input row's top
_ROW_LABEL = [f'<text x="{n(LABEL - 4)}" y="{n(_YR + k * _PITCH + _BAR / 2)}">'
              for k in range(ROWS_FULL + 2)]
_ROW_ELIDED = [f'<text x="{n(LABEL - 8)}" y="{n(_YR + k * _PITCH + _BAR / 2)}">⋮</text>'
               for k in range(ROWS_FULL + 2)]
_ROW_TOP = [f" {n(_YR + k * _PITCH)}h" for k in range(ROWS_FULL + 2)]
_IN_LABEL = f'<text x="{n(LABEL - 4)}" y="{n(_IN_Y + CELL_H / 2)}">in</text>'  # the input row's


# the cells of the strip, then the span lines and the end-of-the-floor mark
_UNDER = ("cg-cell", "cg-pad", "cg-zero", "cg-crop", "cg-ghost", "cg-left", "cg-unread",
          "cg-span", "cg-mark", "cg-markpad")


def render_strip(st: Strip, label: str) -> str:
    """The SVG of a strip, with ``label`` as its aria label."""
    width, height, _ = _draw_strip(st)
    lay = st.lay
    # the placement rows, the ceil-mode window and the output cells come on top
    return render_layers("sliding_strip", lay, width=width, height=height, label=label,
                         bottom=_UNDER)
