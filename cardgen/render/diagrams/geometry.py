"""Shared geometry for the diagrams: layout constants, number formatting, the path and
label collector, and the helpers that place runs, lanes and labels.

Every number that reaches SVG goes through :func:`n` (the memo; see the package
docstring on speed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import accumulate

from cardgen.render.env import escape_text, macro_arguments, macro_pieces

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

_MEMO_MAX = 1 << 14  # numbers kept by n's memo before it starts afresh


def fmt(value: float) -> str:
    """A short number: an integer, or one decimal."""
    if value % 1 == 0:  # whole (most cell edges): nothing to round; False for inf and nan
        return str(int(value))
    # ".1f" rounds the value itself, as round(value, 1) does (correctly, ties to even)
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


class _Memo(dict[float, str]):
    """:func:`fmt` by value. A diagram formats a hundred numbers or so, mostly the
    same few dozen (cell edges, label rows, strip heights), so a dict hit beats
    formatting again; the memo is cleared when full, so a long build stays bounded."""

    def __missing__(self, value: float) -> str:
        if len(self) >= _MEMO_MAX:
            self.clear()
        text = self[value] = fmt(value)
        return text


n: Callable[[float], str] = _Memo().__getitem__
"""A short number: an integer, or one decimal (memoised :func:`fmt`)."""

_INDEX: list[str] = []  # str(i) for every i below its length, grown on demand


def index_labels(count: int) -> list[str]:
    """``["0", "1", ..., str(count - 1)]``; each string is made once per process."""
    if len(_INDEX) < count:
        _INDEX.extend(map(str, range(len(_INDEX), count)))
    return _INDEX[:count]


def rect_path(x: float, y: float, w: float, h: float) -> str:
    """Path data of a w x h rectangle at (x, y)."""
    return f"M{n(x)} {n(y)}h{n(w)}v{n(h)}h{n(-w)}z"


class Layers:
    """Path data and labels grouped by CSS class, in first-use order.

    A label is kept as its ``<text>`` element (or a run of them), made when it is added:
    a tuple per label, unpacked again to write it, cost more than the element itself.
    Label texts are written unescaped, so they must be numbers or fixed symbols; text
    from outside (the aria label, a result) is escaped by :func:`render_svg` or the
    diagram's own module.
    """

    __slots__ = ("paths", "texts")

    def __init__(self) -> None:
        self.paths: defaultdict[str, list[str]] = defaultdict(list)
        self.texts: defaultdict[str, list[str]] = defaultdict(list)  # <text> elements

    def rect(self, cls: str, x: float, y: float, w: float, h: float) -> None:
        if w <= 0 or h <= 0:
            return
        self.paths[cls].append(f"M{n(x)} {n(y)}h{n(w)}v{n(h)}h{n(-w)}z")  # rect_path's

    def rects(self, cls: str, xs: Sequence[float], y: float, w: float, h: float) -> None:
        """Rectangles of one size in a row: ``rect`` at each x, the shared part made once."""
        if w <= 0 or h <= 0 or not xs:
            return
        rest = f" {n(y)}h{n(w)}v{n(h)}h{n(-w)}z"
        self.paths[cls].extend([f"M{n(x)}{rest}" for x in xs])

    def line(self, cls: str, x1: float, y1: float, x2: float, y2: float) -> None:
        nx1, ny1, nx2, ny2 = n(x1), n(y1), n(x2), n(y2)
        if nx1 == nx2:
            seg = f"M{nx1} {ny1}V{ny2}"
        elif ny1 == ny2:
            seg = f"M{nx1} {ny1}H{nx2}"
        else:
            seg = f"M{nx1} {ny1}L{nx2} {ny2}"
        self.paths[cls].append(seg)

    def ticks(self, cls: str, xs: Iterable[float], y1: float, y2: float) -> None:
        """``line(cls, x, y1, x, y2)`` at each x (vertical: its y part made once)."""
        ends = f" {n(y1)}V{n(y2)}"
        self.paths[cls].extend([f"M{n(x)}{ends}" for x in xs])

    def drops(self, cls: str, segments: Iterable[tuple[float, float, float]],
              y2: float) -> None:
        """``line(cls, x1, y1, x2, y2)`` for each (x1, y1, x2): lines down (or up) to y2,
        none level, so never line's "H" path; written here, without a call per line."""
        ny2, out = n(y2), self.paths[cls]
        for x1, y1, x2 in segments:
            nx1, nx2 = n(x1), n(x2)
            out.append(f"M{nx1} {n(y1)}V{ny2}" if nx1 == nx2 else f"M{nx1} {n(y1)}L{nx2} {ny2}")

    def raw(self, cls: str, d: str) -> None:
        self.paths[cls].append(d)

    def strip(self, cls: str, x: float, y: float, widths: Sequence[float], h: float) -> None:
        """A run of adjacent cells: one outline plus the separators, in one subpath list."""
        d = _strip_path(x, y, widths, h)
        if d:
            self.paths[cls].append(d)

    def cells(self, cls: str, x: float, y: float, w: float, count: int, h: float) -> None:
        """``strip`` of `count` cells of width `w`. The path is kept by its numbers:
        diagrams draw the same strips again and again (an input row, its padding)."""
        key = (x, y, w, count, h)
        d = _CELLS.get(key)
        if d is None:
            d = _strip_path(x, y, [w] * count, h)
            if len(_CELLS) >= _CELLS_MAX:
                _CELLS.clear()
            _CELLS[key] = d
        if d:
            self.paths[cls].append(d)

    def text(self, cls: str, x: float, y: float, s: str) -> None:
        self.texts[cls].append(f'<text x="{n(x)}" y="{n(y)}">{s}</text>')

    def texts_at(self, cls: str, y: float, items: Iterable[tuple[float, str]]) -> None:
        """``text(cls, x, y, s)`` for each (x, s), on one line (its y part made once)."""
        at_y = f'" y="{n(y)}">'
        self.texts[cls].extend([f'<text x="{n(x)}{at_y}{s}</text>' for x, s in items])

    def order(self, bottom: Sequence[str] = (), top: Sequence[str] = ()) -> tuple[str, ...]:
        """The path classes in drawing order: ``bottom`` in the order given, then the
        other classes in first-use order, then ``top`` (unused ones too: callers skip
        a class without paths)."""
        placed = _placed(tuple(bottom), tuple(top))
        return (*bottom, *[c for c in self.paths if c not in placed], *top)

    def stack(self, bottom: Sequence[str] = (), top: Sequence[str] = ()
              ) -> list[tuple[str, str]]:
        """(class, d) of each class used, in :meth:`order`."""
        get = self.paths.get
        return [(c, "".join(d)) for c in self.order(bottom, top) if (d := get(c))]

    def labels(self) -> list[tuple[str, str]]:
        """(class, its ``<text>`` elements) of each class used, in first-use order."""
        return [(c, "".join(items)) for c, items in self.texts.items() if items]


@cache
def _placed(bottom: tuple[str, ...], top: tuple[str, ...]) -> frozenset[str]:
    """The classes :meth:`Layers.stack` places itself, as a set: each diagram kind passes
    the same few, and a class looked up in a set costs less than in both tuples."""
    return frozenset((*bottom, *top))


_CELLS: dict[tuple[float, float, float, int, float], str] = {}  # Layers.cells' paths
_CELLS_MAX = 4096  # started afresh when full (a path is a few hundred bytes)


def _strip_path(x: float, y: float, widths: Sequence[float], h: float) -> str:
    """Path data of adjacent cells of these widths at (x, y): one outline plus the
    separators ("" when they have no width)."""
    total = sum(widths)
    if total <= 0:
        return ""
    ny, nh = n(y), n(h)
    outline = f"M{n(x)} {ny}h{n(total)}v{nh}h{n(-total)}z"
    if len(widths) < 2:
        return outline
    # each inner edge, summed left to right as ``edge += w`` (accumulate adds in that
    # order), as "M{edge} {y}v{h}": one join, no Python step per cell
    separator = f" {ny}v{nh}"
    edges = accumulate(widths[:-1], initial=x)
    next(edges)  # x itself: the outline's left side
    return f"{outline}M{(separator + 'M').join(map(n, edges))}{separator}"


def text_elements(items: Sequence[tuple[str, str, str]]) -> str:
    """``<text x="x" y="y">s</text>`` for each (x, y, s), unescaped (see :class:`Layers`).
    Made here, not in a template: a diagram has dozens of labels, and a jinja loop cost
    more per label (seven pieces yielded and joined) than the rest of drawing it."""
    return "".join([f'<text x="{x}" y="{y}">{s}</text>' for x, y, s in items])


def render_svg(name: str, *, width: float, height: float, label: str,
               paths: Sequence[tuple[str, str]],
               labels: Sequence[tuple[str, str]] | None = None, **parts: str) -> str:
    """Fill ``templates/diagrams/{name}.svg.j2``: its ``svg`` macro, with ``label`` (escaped
    here) as the aria label, a ``path`` per (class, d) of ``paths``, a ``group`` per
    (class, texts) of ``labels`` and ``parts`` as they are (markup)."""
    frame, names, (p0, p1, p2), (g0, g1, g2) = _figure(name)
    values = {"w": n(width), "h": n(height), "maxw": round(width * ZOOM),
              "label": escape_text(label),
              "paths": "".join([f"{p0}{c}{p1}{d}{p2}" for c, d in paths]), **parts}
    if labels is not None:
        values["labels"] = "".join([f"{g0}{c}{g1}{t}{g2}" for c, t in labels])
    return frame % tuple(map(values.__getitem__, names))


_LAYERS_SVG = ("w", "h", "maxw", "label", "paths", "labels")  # the svg macro's arguments


def render_layers(name: str, lay: Layers, *, width: float, height: float, label: str,
                  bottom: Sequence[str] = (), top: Sequence[str] = ()) -> str:
    """``render_svg(name, ..., paths=lay.stack(bottom, top), labels=lay.labels())`` for a
    template whose ``svg`` macro takes just those: each class's path data and labels are
    joined straight into its element (no (class, text) pairs made and read again), and
    the macro is filled from a tuple."""
    frame, names, (p0, p1, p2), (g0, g1, g2) = _figure(name)
    get = lay.paths.get
    d = "".join([f'{p0}{c}{p1}{"".join(ds)}{p2}' for c in lay.order(bottom, top)
                 if (ds := get(c))])
    t = "".join([f'{g0}{c}{g1}{"".join(ts)}{g2}' for c, ts in lay.texts.items() if ts])
    if names != _LAYERS_SVG:
        raise ValueError(f"{name}: its svg macro takes {names}, not {_LAYERS_SVG}")
    return frame % (n(width), n(height), round(width * ZOOM), escape_text(label), d, t)


@cache
def _figure(name: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """A diagram template's pieces: the ``svg`` macro's as one ``%`` template of its
    arguments (``%s`` each, filled in one operation, not a piece at a time) and the
    arguments in its order, the ``path`` macro's and the ``group`` macro's (``("", "",
    "")`` if it has none)."""
    tname = f"diagrams/{name}.svg.j2"
    group = macro_pieces(tname, "group") if macro_arguments(tname, "group") else ("",) * 3
    frame = "%s".join([p.replace("%", "%%") for p in macro_pieces(tname, "svg")])
    return frame, macro_arguments(tname, "svg"), macro_pieces(tname, "path"), group


def assign_lanes(windows: Sequence[tuple[int, int]]) -> list[int]:
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


def true_runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """Maximal [a, b) runs of True (``flags`` are bools)."""
    # each run's ends found by list.index (a scan in C), not a Python step per flag: a
    # False after the flags ends the last run, a True after it ends the search for a start
    ends = [*flags, False, True]
    last = len(flags)
    runs = []
    a = ends.index(True)
    while a < last:
        b = ends.index(False, a)
        runs.append((a, b))
        a = ends.index(True, b)
    return runs


def clip_runs(runs: Sequence[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of sorted, disjoint [a, b) runs that lie in [lo, hi)."""
    # max and min written out: a call each cost more than the comparison
    return [(start, stop) for a, b in runs
            if (start := a if a > lo else lo) < (stop := b if b < hi else hi)]


def sparse_indices(positions: Sequence[float], min_gap: float) -> list[int]:
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


def window_list(windows: Sequence[tuple[int, int]], limit: int = 6) -> str:
    """``[a,b)`` for each window, the middle elided past ``limit`` (for aria labels)."""
    text = [f"[{a},{b})" for a, b in windows]
    if len(text) > limit:
        text = [*text[:3], "…", *text[-2:]]
    return " ".join(text)


def cell_labels(lay: Layers, xs: Sequence[float], texts: Sequence[str], cw: float,
                y: float, max_labels: int = 16) -> None:
    """Label cells centred at ``xs``: all at the normal size if they fit, else small ones,
    skipping any that would touch its left neighbour (the last one always kept), and
    spreading them out to about ``max_labels``."""
    if not texts:
        return
    tail = f'" y="{n(y)}">'  # after each label's x: its y, then its text
    if cw >= CHAR * max(map(len, texts)) + 2:
        lay.texts["cg-t"].append(_label_run(map(n, xs), texts, len(texts), tail))
        return
    spread = (xs[-1] - xs[0]) / max_labels
    lengths = list(map(len, texts))

    def clear(a: int, b: int) -> bool:
        need = (lengths[a] + lengths[b]) / 2 * CHAR_S + 3
        return xs[b] - xs[a] >= (need if need > spread else spread)

    keep = [0]
    kept_x, kept_len = xs[0], lengths[0]  # the last label kept
    for k in range(1, len(texts)):  # clear(keep[-1], k) written out: a call per label cost more
        need = (kept_len + lengths[k]) / 2 * CHAR_S + 3
        if xs[k] - kept_x >= (need if need > spread else spread):
            keep.append(k)
            kept_x, kept_len = xs[k], lengths[k]
    last = len(texts) - 1
    if keep[-1] != last:
        while keep and not clear(keep[-1], last):
            keep.pop()
        keep.append(last)
    lay.texts["cg-ts"].append(_label_run(map(n, map(xs.__getitem__, keep)),
                                         map(texts.__getitem__, keep), len(keep), tail))


def _label_run(xs: Iterable[str], texts: Iterable[str], count: int, tail: str) -> str:
    """``<text x="{x}{tail}{t}</text>`` for each of ``count`` (x, t), joined. The pieces
    are put in place by two slice assignments and joined once: no Python step (and no
    f-string) per label."""
    pieces: list[str | None] = [None, tail, None, '</text><text x="'] * count
    pieces[0::4] = xs
    pieces[2::4] = texts
    pieces[-1] = "</text>"
    return '<text x="' + "".join(pieces)


def grid_lines(x: float, y: float, cw: float, ch: float, rows: int, cols: int) -> str:
    """The lines of a rows x cols grid of cw x ch cells at (x, y): rows, then columns."""
    nx, ny, nw, nh = n(x), n(y), n(cols * cw), n(rows * ch)
    return "".join([*[f"M{nx} {n(y + k * ch)}h{nw}" for k in range(rows + 1)],
                    *[f"M{n(x + k * cw)} {ny}v{nh}" for k in range(cols + 1)]])
