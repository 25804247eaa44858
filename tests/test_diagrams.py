"""Window diagrams (SVG), the worked-solution partial, the card templates and the preview.

Counts are checked against the solver, never against numbers re-derived here.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from cardgen.errors import ShapeError
from cardgen.render import diagrams as D
from cardgen.render.env import (
    back_template,
    card_css,
    escape_text,
    front_template,
    render_worked,
)
from cardgen.render.jinja import environment
from cardgen.render.preview import preview_html
from cardgen.solver import arith
from cardgen.solver.windows import adaptive_windows

SVG = "{http://www.w3.org/2000/svg}"

TYPICAL = {
    "adaptive 7->3": lambda: D.adaptive_strip(7, 3),
    "adaptive 5->3": lambda: D.adaptive_strip(5, 3),
    "adaptive 14->5": lambda: D.adaptive_strip(14, 5),
    "adaptive 3->7": lambda: D.adaptive_strip(3, 7),
    "grid 7x7->3x3": lambda: D.adaptive_grid((7, 7), (3, 3), (1, 2)),
    "grid 6x9->4x2": lambda: D.adaptive_grid((6, 9), (4, 2), (3, 0)),
    "conv 8 k3 s2": lambda: D.sliding_strip(8, 3, 2, 0, 0),
    "conv 10 k4 same": lambda: D.sliding_strip(10, 4, 1, *arith.same_padding(4)),
    "conv 10 k3 d2": lambda: D.sliding_strip(10, 3, 1, 2, 2, dilation=2),
    "conv 32 k5 s2 p2": lambda: D.sliding_strip(32, 5, 2, 2, 2),
    "pool 6 k3 s2 p1 ceil": lambda: D.sliding_strip(6, 3, 2, 1, 1, ceil_mode=True),
    "pool 5 k2 s2 p1 ceil": lambda: D.sliding_strip(5, 2, 2, 1, 1, ceil_mode=True),
    "transposed 4 k3 s2 p1 op1": lambda: D.transposed_strip(4, 3, 2, 1, 1),
    "transposed 5 k2 s2 p2": lambda: D.transposed_strip(5, 2, 2, 2, 0),
    "values 4x4": lambda: D.values_grid([[1, 5, 3, 0], [9, 2, 4, 8], [7, 6, -3, 1],
                                         [0, 2, 5, 4]], ((0, 2), (0, 2)), "9"),
    "values 1-D": lambda: D.values_grid([[2, 6, 5, 1, 8, 3, 7]], ((0, 1), (2, 5)), "4.67"),
    "dims HWC read as CHW": lambda: D.dims([32, 24, 3], ["H", "W", "C"], ["C", "H", "W"]),
    "dims flatten 1..2": lambda: D.dims([8, 16, 16], ["0", "1", "2"], merge=(1, 2)),
}

LARGE = {
    "adaptive 60->7": lambda: D.adaptive_strip(60, 7),
    "adaptive 60->60": lambda: D.adaptive_strip(60, 60),
    "adaptive 5->12": lambda: D.adaptive_strip(5, 12),
    "grid 14x14->5x4": lambda: D.adaptive_grid((14, 14), (5, 4), (3, 1)),
    "conv 224 k7 s2 p3": lambda: D.sliding_strip(224, 7, 2, 3, 3),
    "conv 224 k3 s1 d4": lambda: D.sliding_strip(224, 3, 1, 4, 4, dilation=4),
    "conv 224 k64 s64": lambda: D.sliding_strip(224, 64, 64, 0, 0),
    "pool 224 k3 s2 p1 ceil": lambda: D.sliding_strip(224, 3, 2, 1, 1, ceil_mode=True),
    "transposed 16 k4 s2 p1": lambda: D.transposed_strip(16, 4, 2, 1, 0),
    "transposed 56 k3 s2 p1 op1": lambda: D.transposed_strip(56, 3, 2, 1, 1),
    "dims flatten 0..4 of 5": lambda: D.dims([64, 128, 1000, 256, 3], list("01234"),
                                             merge=(0, 4)),
}

ALL = {**TYPICAL, **LARGE}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def paths(root: ET.Element, cls: str) -> list[ET.Element]:
    """<path> elements whose class list contains every word of ``cls``."""
    want = set(cls.split())
    return [p for p in root.iter(f"{SVG}path") if want <= set(p.get("class", "").split())]


def texts(root: ET.Element, cls: str) -> list[str]:
    """Texts of the <g class=cls> label groups."""
    return [t.text or "" for g in root.iter(f"{SVG}g") if g.get("class") == cls
            for t in g.iter(f"{SVG}text")]


def subpaths(elements: list[ET.Element]) -> int:
    return sum(p.get("d", "").count("M") for p in elements)


def placement_rows(count: int) -> list[str]:
    """Row labels a sliding strip draws: all placements, or the first 2 and last 2."""
    shown = range(count) if count <= D.ROWS_FULL else [0, 1, count - 2, count - 1]
    return [str(i) for i in shown]


# ------------------------------------------------------------------ every diagram


def _fits(svg: str) -> ET.Element:
    root = parse(svg)
    _, _, w, h = map(float, root.get("viewBox").split())
    assert w <= D.WIDTH + 1
    for t in root.iter(f"{SVG}text"):
        assert 0 <= float(t.get("x")) <= w and 0 <= float(t.get("y")) <= h
    for p in root.iter(f"{SVG}path"):
        for x, y in re.findall(r"[ML](-?[\d.]+) (-?[\d.]+)", p.get("d")):
            assert -0.1 <= float(x) <= w + 0.1 and -0.1 <= float(y) <= h + 0.1
    return root


@pytest.mark.parametrize("name", list(ALL))
def test_svg_is_well_formed_and_styled_by_class_only(name):
    svg = ALL[name]()
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert re.fullmatch(r"0 0 \d+(\.\d)? \d+(\.\d)?", root.get("viewBox", ""))
    assert root.get("width") is None and root.get("height") is None
    assert root.get("role") == "img" and root.get("aria-label")
    assert re.fullmatch(r"max-width:\d+px", root.get("style", ""))
    for el in root.iter():
        tag = el.tag.removeprefix(SVG)
        assert tag in {"svg", "path", "g", "text"}, f"unexpected <{tag}>"
        for attr in el.attrib:
            assert attr not in {"fill", "stroke", "color", "stop-color", "id"}, (tag, attr)
            assert "href" not in attr
        if el is not root:
            assert el.get("style") is None
        for attr in ("d", "x", "y"):
            assert not re.search(r"\d\.\d\d", el.get(attr, "")), f"long number in {attr}"
    assert "<script" not in svg and "url(" not in svg and "\n" not in svg


@pytest.mark.parametrize("name", list(TYPICAL))
def test_typical_diagram_is_small(name):
    assert len(ALL[name]().encode()) < 2500


@pytest.mark.parametrize("name", list(LARGE))
def test_large_diagram_stays_under_4_kb(name):
    # 60 -> 60 draws 60 bands and 60 outputs: the one drawing allowed a little more
    limit = 5000 if name == "adaptive 60->60" else 4096
    assert len(LARGE[name]().encode()) < limit


@pytest.mark.parametrize("name", list(ALL))
def test_diagram_fits_its_view_box(name):
    _fits(ALL[name]())


def test_diagrams_are_pure():
    for make in ALL.values():
        assert make() == make()


# ------------------------------------------------------------------ adaptive


@pytest.mark.parametrize(("size", "out"), [(7, 3), (5, 3), (10, 4), (14, 14), (60, 7),
                                           (60, 60), (3, 7), (5, 12), (1, 4), (9, 1)])
def test_adaptive_strip_draws_one_band_and_one_output_per_window(size, out):
    root = parse(D.adaptive_strip(size, out))
    wins = adaptive_windows(size, out)
    assert subpaths(paths(root, "cg-band")) == out
    assert subpaths(paths(root, "cg-o")) == out
    assert subpaths(paths(root, "cg-link")) == (out if out <= D.LINKS_MAX else 0)
    labels = texts(root, "cg-ts")
    if any(label.startswith("[") for label in labels):
        assert [lb for lb in labels if lb.startswith("[")] == [f"[{a},{b})" for a, b in wins]
    for i in range(out):  # neighbours differ in colour
        assert paths(root, f"cg-band cg-win{i % 3}")


@pytest.mark.parametrize(("size", "out"), [(7, 3), (5, 3), (8, 4), (3, 7), (10, 3)])
def test_adaptive_strip_shades_exactly_the_cells_read_twice(size, out):
    root = parse(D.adaptive_strip(size, out))
    wins = adaptive_windows(size, out)
    twice = [c for c in range(size) if sum(a <= c < b for a, b in wins) > 1]
    shaded = paths(root, "cg-over")
    if not twice:
        assert not shaded
        return
    # one rect per run of shaded cells: widths add up to the shaded cell count
    strip = paths(root, "cg-cell")[0].get("d")
    cell_w = float(re.match(r"M[\d.]+ [\d.]+h([\d.]+)", strip).group(1)) / size
    widths = [float(w) for w in re.findall(r"h([\d.]+)", shaded[0].get("d"))]
    assert round(sum(widths) / cell_w) == len(twice)


def test_adaptive_strip_labels_window_bounds_when_cells_are_too_small_to_number():
    root = parse(D.adaptive_strip(60, 7))
    bounds = {str(v) for w in adaptive_windows(60, 7) for v in w}
    labels = set(texts(root, "cg-ts"))
    assert {"0", "60"} <= labels and labels <= bounds | {f"[{a},{b})" for a, b in
                                                         adaptive_windows(60, 7)}


@pytest.mark.parametrize(("in_hw", "out_hw", "hl"), [((7, 7), (3, 3), (1, 2)),
                                                    ((14, 14), (5, 4), (3, 1)),
                                                    ((6, 9), (4, 2), (3, 0)),
                                                    ((3, 4), (6, 5), (5, 4))])
def test_adaptive_grid_highlights_the_intersection(in_hw, out_hw, hl):
    root = parse(D.adaptive_grid(in_hw, out_hw, hl))
    rows = adaptive_windows(in_hw[0], out_hw[0])
    cols = adaptive_windows(in_hw[1], out_hw[1])
    # all row windows + all column windows are drawn, the chosen two highlighted
    assert subpaths(paths(root, "cg-band")) == len(rows) + len(cols) - 2
    hl_paths = "".join(p.get("d") for p in paths(root, "cg-hl"))
    # intersection + chosen row band + chosen column band + the output cell
    assert hl_paths.count("M") == 4
    (rs, re_), (cs, ce) = rows[hl[0]], cols[hl[1]]
    assert set(texts(root, "cg-ts")) >= {str(rs), str(re_), str(cs), str(ce)}
    assert f"rows [{rs},{re_}) and columns [{cs},{ce})" in root.get("aria-label")


def test_adaptive_grid_rejects_a_highlight_outside_the_output():
    with pytest.raises(ValueError):
        D.adaptive_grid((7, 7), (3, 3), (3, 0))


# ------------------------------------------------------------------ sliding


SLIDING = [
    # size, kernel, stride, pad_left, pad_right, dilation
    (8, 3, 2, 0, 0, 1),
    (7, 3, 2, 0, 0, 1),
    (9, 2, 3, 0, 0, 1),
    (10, 4, 1, 1, 2, 1),
    (10, 3, 3, 0, 1, 1),  # the rest: one input cell (lost), then one padding cell
    (10, 3, 1, 2, 2, 2),
    (5, 5, 1, 0, 0, 1),
    (32, 5, 2, 2, 2, 1),
    (224, 7, 2, 3, 3, 1),
    (224, 3, 1, 4, 4, 4),
    (224, 64, 64, 0, 0, 1),
    (227, 11, 4, 0, 0, 1),
]


@pytest.mark.parametrize(("size", "k", "s", "pl", "pr", "d"), SLIDING)
def test_sliding_strip_draws_the_placements_the_solver_counts(size, k, s, pl, pr, d):
    root = parse(D.sliding_strip(size, k, s, pl, pr, dilation=d))
    count = arith.conv_out(size, k, s, pl, d, pr)
    assert texts(root, "cg-rl") == placement_rows(count)
    said = "1 placement fits" if count == 1 else f"{count} placements fit"
    assert said in root.get("aria-label")
    rows = len(placement_rows(count))
    if d == 1:
        assert subpaths(paths(root, "cg-band")) == rows
    elif size + pl + pr <= D.CELLS_FULL:
        assert subpaths(paths(root, "cg-band")) == rows * k  # one mark per tap
        assert subpaths(paths(root, "cg-span")) == rows
    if size + pl + pr > D.CELLS_FULL:
        assert "…" in texts(root, "cg-tm")
    if count > D.ROWS_FULL:
        assert "⋮" in texts(root, "cg-tm")


@pytest.mark.parametrize(("size", "k", "s", "pl", "pr", "d"), SLIDING)
def test_sliding_strip_marks_what_the_floor_leaves_unread(size, k, s, pl, pr, d):
    root = parse(D.sliding_strip(size, k, s, pl, pr, dilation=d))
    count = arith.conv_out(size, k, s, pl, d, pr)
    span = d * (k - 1) + 1
    end = (count - 1) * s + span  # padded coordinates: the last placement ends here
    rest = size + pl + pr - end
    lost = max(0, min(pl + size, size + pl + pr) - max(end, pl))  # input cells in the rest
    label = root.get("aria-label")
    # red only for input never read (input lost); padding never read is shaded neutral
    assert bool(paths(root, "cg-left")) == (lost > 0)
    assert bool(paths(root, "cg-mark")) == (lost > 0)
    assert bool(paths(root, "cg-unread")) == (rest - lost > 0)
    assert bool(paths(root, "cg-markpad")) == (rest > 0 and lost == 0)
    if rest:  # the unread cells, input and padding told apart, add up to the rest
        inputs = re.search(r"input cells? (\d+)(?:\.\.(\d+))?", label)
        pads = re.search(r"(\d+) padding cells?", label)
        n_in = int(inputs[2] or inputs[1]) - int(inputs[1]) + 1 if inputs else 0
        assert n_in == lost, label
        assert n_in + (int(pads[1]) if pads else 0) == rest, label


def test_padding_never_read_is_not_shaded_as_lost_input():
    # 224, k7, s2, p3: the last placement ends one cell short, and that cell is padding
    root = parse(D.sliding_strip(224, 7, 2, 3, 3))
    assert not paths(root, "cg-left") and not paths(root, "cg-mark")
    assert paths(root, "cg-unread") and paths(root, "cg-markpad")
    assert "1 padding cell after the last window is never read (padding only)" in \
        root.get("aria-label")
    # 8, k3, s2, no padding: the last input cell is never read: input lost, red
    root = parse(D.sliding_strip(8, 3, 2, 0, 0))
    assert paths(root, "cg-left") and not paths(root, "cg-unread")
    assert "input cell 7 after the last window is never read" in root.get("aria-label")


def test_sliding_strip_shows_the_end_of_a_big_strip():
    root = parse(D.sliding_strip(224, 7, 2, 3, 3))
    labels = texts(root, "cg-ts") + texts(root, "cg-t")
    assert "0" in labels and "223" in labels
    assert subpaths(paths(root, "cg-pad")) >= 2  # padding drawn on both ends


def test_sliding_strip_draws_uneven_same_padding():
    left, right = arith.same_padding(4)
    root = parse(D.sliding_strip(10, 4, 1, left, right))
    pad = paths(root, "cg-pad")[0].get("d")
    widths = [float(w) for w in re.findall(r"M[\d.]+ [\d.]+h([\d.]+)", pad)]
    assert len(widths) == 2 and widths[1] == pytest.approx(2 * widths[0], abs=0.2)


POOLS = [(size, k, s, p) for size, k, s in itertools.product(range(1, 13), range(1, 5),
                                                             range(1, 4))
         for p in range(k // 2 + 1)]


def test_ceil_mode_marks_the_extra_window_kept_or_dropped_as_pytorch_does():
    checked = {"kept": 0, "dropped": 0, "none": 0}
    for size, k, s, p in POOLS:
        try:
            floor = arith.pool_out(size, k, s, p)
            ceil = arith.pool_out(size, k, s, p, ceil_mode=True)
        except ShapeError:
            with pytest.raises(ShapeError):
                D.sliding_strip(size, k, s, p, p, ceil_mode=True)
            continue
        root = parse(D.sliding_strip(size, k, s, p, p, ceil_mode=True))
        extra = (size + 2 * p - k) % s != 0
        kept, dropped = paths(root, "cg-keep"), paths(root, "cg-drop")
        bad, ok = texts(root, "cg-bad"), texts(root, "cg-ok")
        if not extra:
            assert not kept and not dropped and not bad and not ok
            assert ceil == floor
            checked["none"] += 1
        elif arith.ceil_dropped(size, k, s, p):
            assert dropped and not kept and bad == ["✗"] and not ok
            assert ceil == floor
            checked["dropped"] += 1
        else:
            assert kept and not dropped and ok == ["✓"] and not bad
            assert ceil == floor + 1
            checked["kept"] += 1
        assert texts(root, "cg-rl") == placement_rows(floor)
    assert min(checked.values()) > 5, checked


def test_ceil_mode_needs_pooling_padding():
    with pytest.raises(ValueError):
        D.sliding_strip(10, 4, 2, 1, 2, ceil_mode=True)


def test_sliding_strip_refuses_what_pytorch_refuses():
    with pytest.raises(ShapeError):
        D.sliding_strip(3, 5, 1, 0, 0)
    with pytest.raises(ShapeError):
        D.sliding_strip(3, 3, 1, 0, 0, dilation=2)


# ------------------------------------------------------------------ transposed


TRANSPOSED = [
    # size, kernel, stride, padding, output_padding, dilation
    (4, 3, 2, 1, 1, 1),
    (4, 3, 2, 1, 0, 1),
    (5, 2, 2, 2, 0, 1),
    (3, 3, 1, 0, 0, 2),
    (3, 4, 3, 0, 2, 1),
    (16, 4, 2, 1, 0, 1),
    (56, 3, 2, 1, 1, 1),
    (7, 5, 3, 2, 1, 1),
]


@pytest.mark.parametrize(("size", "k", "s", "p", "op", "d"), TRANSPOSED)
def test_transposed_strip_shows_the_spread_input_and_the_output_length(size, k, s, p, op, d):
    root = parse(D.transposed_strip(size, k, s, p, op, d))
    out = arith.conv_transpose_out(size, k, s, p, op, d)
    assert f"output length {out}" in root.get("aria-label")
    assert texts(root, "cg-rl") == placement_rows(out)
    implicit = d * (k - 1) - p
    spread = (size - 1) * s + 1
    full = max(implicit, 0) + spread + max(implicit + op, 0)
    if full <= D.CELLS_FULL:
        assert subpaths(paths(root, "cg-o")) == out
        # one subpath per cell: the run's outline, then a separator per further cell
        assert subpaths(paths(root, "cg-zero")) == (size - 1) * (s - 1)
        labels = texts(root, "cg-t") + texts(root, "cg-ts")
        assert str(out - 1) in labels
        pads = max(implicit, 0) + max(implicit + op, 0)
        assert bool(paths(root, "cg-pad")) == (pads > 0)
        assert bool(paths(root, "cg-crop")) == (implicit < 0 or implicit + op < 0)
    else:
        assert str(out - 1) in texts(root, "cg-t") + texts(root, "cg-ts")


def test_transposed_strip_refuses_what_pytorch_refuses():
    with pytest.raises(ShapeError):
        D.transposed_strip(4, 3, 2, 1, 2)  # output_padding must be < stride or dilation


def test_sliding_strip_transposed_is_the_same_drawing():
    k, s, p, op = 3, 2, 1, 1
    implicit = k - 1 - p
    assert (D.sliding_strip(4, k, s, implicit, implicit + op, transposed=True)
            == D.transposed_strip(4, k, s, p, op))


# ------------------------------------------------------------------ values


def test_values_grid_shades_the_window_and_shows_the_result():
    grid = [[1, 5, 3, 0], [9, 2, 4, 8], [7, 6, -3, 1]]
    root = parse(D.values_grid(grid, ((1, 3), (2, 4)), "8"))
    numbers = texts(root, "cg-t")
    assert numbers == [str(v) for row in grid for v in row]
    assert texts(root, "cg-t cg-res") == ["8"]
    sel = paths(root, "cg-sel")[0].get("d")
    assert sel.count("M") == 2  # the window and the result box


def test_values_grid_escapes_the_result():
    svg = D.values_grid([[1, 2]], ((0, 1), (0, 2)), "<b>&")
    assert "<b>" not in svg and "&lt;b&gt;&amp;" in svg
    parse(svg)


def test_values_grid_rejects_a_window_outside_the_grid():
    with pytest.raises(ValueError):
        D.values_grid([[1, 2]], ((0, 1), (5, 6)), "1")


# ------------------------------------------------------------------ templates


def test_environment_autoescapes_every_template():
    env = environment()
    assert env.from_string("{{ x }}").render(x="<i>") == "&lt;i&gt;"
    assert env.autoescape("anything.svg.j2") and env.autoescape("x.txt")


def test_render_worked_escapes_text_but_keeps_math_and_trusted_svg():
    svg = D.adaptive_strip(7, 3)
    html = render_worked([r"\(\lfloor 7/3 \rfloor = 2\) and a < b & c"],
                         [(svg, "Caption <script>x</script>")])
    assert r"\(\lfloor 7/3 \rfloor = 2\)" in html
    assert "a &lt; b &amp; c" in html
    assert svg in html
    assert "<script>" not in html and "Caption &lt;script&gt;" in html
    assert html.count("<li>") == 1 and "<figcaption>" in html


def test_escape_text_and_inline_html_escape_as_markupsafe_does():
    """escape_text and inline_html replace the five characters themselves (no Markup made):
    the same text as markupsafe's escape over every string of up to four of these
    characters, code spans, wide characters and all."""
    from markupsafe import escape

    from cardgen.render.note import _code_spans, inline_html

    alphabet = "&<>'\"`a\u2192;#"
    for n in range(5):
        for chars in itertools.product(alphabet, repeat=n):
            text = "".join(chars)
            html = str(escape(text))
            assert escape_text(text) == html
            assert inline_html(text) == (_code_spans(html) if "`" in html else html)
            assert type(escape_text(text)) is str and type(inline_html(text)) is str


def test_typical_worked_field_is_small():
    html = render_worked(
        [r"\(\text{out} = \lfloor (8 + 2\cdot 0 - 1\cdot(3-1) - 1)/2 \rfloor + 1 = 3\)",
         "The kernel fits 3 times; the last cell is never read."],
        [(D.sliding_strip(8, 3, 2, 0, 0), "Cells after the last placement are dropped.")])
    assert len(html.encode()) < 2000


def test_card_templates():
    front, back = front_template(), back_template()
    assert "{{Front}}" in front and "{{type:Answer}}" in front
    assert back.index("{{FrontSide}}") < back.index("<hr id=answer>") < back.index(
        "{{Answer}}") < back.index("{{Worked}}")
    # FrontSide carries the [[type:Answer]] marker, which Anki turns into the comparison
    # (just below the moved <hr id=answer>); a second {{type:Answer}} would show it twice.
    assert "{{type:Answer}}" not in back
    assert "Spec" not in front + back
    # one script, on the front (FrontSide brings it to the back: test_variants_browser);
    # none of Anki's {{...}} syntax inside it
    assert front.count("<script") == 1 and "<script" not in back
    script = front.split("<script>", 1)[1].split("</script>", 1)[0]
    assert "{{" not in script and "}}" not in script
    assert '<div class="cg-verdict"></div>' in back


def test_card_css_switches_with_anki_night_mode():
    css = card_css()
    rules = re.sub(r"/\*.*?\*/", "", css, flags=re.S)  # a comment styles nothing
    selectors = [s.strip() for s in re.findall(r"([^{}]+)\{", rules)]
    palette = [s for s in selectors if "--cg-bg" in rules.split(s, 1)[1].split("}", 1)[0]]
    for night in (".nightMode", ".night_mode"):  # each client sets only one of them
        assert any(night in re.split(r"[\s,]+", s) for s in palette), night
    assert "<script" not in css and "url(" not in css and "@import" not in css
    # diagram colours are classes styled here
    for cls in ("cg-cell", "cg-pad", "cg-over", "cg-band", "cg-win0", "cg-win1", "cg-win2",
                "cg-left", "cg-unread", "cg-mark", "cg-markpad", "cg-keep", "cg-drop", "cg-hl",
                "cg-sel", "cg-zero", "cg-crop"):
        assert f".{cls}" in css, cls


def test_every_class_a_diagram_uses_is_styled():
    css = card_css()
    used = set()
    for make in ALL.values():
        used |= set(re.findall(r'class="([^"]+)"', make()))
    for cls in {c for group in used for c in group.split()} - {"cg-t", "cg-svg"}:
        if cls.startswith("cg-") and cls not in {"cg-adaptive", "cg-grid", "cg-sliding",
                                                   "cg-values", "cg-dims"}:
            assert f".{cls}" in css, cls


# ------------------------------------------------------------------ preview


def test_preview_escapes_recipe_text_and_keeps_field_html():
    card = {"front": "<b>Q</b>", "answer": "3", "worked": render_worked(["s"], []),
            "tags": ["conv", "<img src=x onerror=alert(1)>"]}
    page = preview_html([card], card_css(), "Deck <script>alert(1)</script>",
                        'about "x" & <y>')
    assert "<script>alert(1)</script>" not in page
    assert "Deck &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "about &#34;x&#34; &amp; &lt;y&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>Q</b>" in page
    assert "<script" not in page.lower().replace("&lt;script", "")


def test_preview_shows_each_card_light_and_dark():
    cards = [{"front": f"Q{i}", "answer": str(i), "worked": "", "tags": "a b"}
             for i in range(3)]
    page = preview_html(cards, card_css(), "T")
    assert page.count('class="pv-mode card"') == 3
    assert page.count('class="pv-mode card nightMode night_mode"') == 3
    assert card_css() in page
    assert 'name="viewport"' in page


def test_preview_css_cannot_close_its_style_element():
    page = preview_html([], "a{}</style><script>x</script>", "T")
    assert "</style><script>" not in page


# ------------------------------------------------------------------ sweeps


def test_sweep_sliding_strips():
    for size, k, s, pl, extra, d in itertools.product(
            (1, 2, 3, 5, 8, 13, 27, 64, 224), range(1, 6), range(1, 4), range(3), range(2),
            (1, 2)):
        pr = pl + extra
        try:
            count = arith.conv_out(size, k, s, pl, d, pr)
        except ShapeError:
            with pytest.raises(ShapeError):
                D.sliding_strip(size, k, s, pl, pr, dilation=d)
            continue
        root = _fits(D.sliding_strip(size, k, s, pl, pr, dilation=d))
        assert texts(root, "cg-rl") == placement_rows(count), (size, k, s, pl, pr, d)


def test_sweep_transposed_strips():
    for size, k, s, p, op, d in itertools.product((1, 2, 3, 6, 17, 56), range(1, 6),
                                                  range(1, 4), range(4), range(3), (1, 2)):
        try:
            out = arith.conv_transpose_out(size, k, s, p, op, d)
        except ShapeError:
            continue
        root = _fits(D.transposed_strip(size, k, s, p, op, d))
        assert texts(root, "cg-rl") == placement_rows(out), (size, k, s, p, op, d)


def test_sweep_adaptive_strips():
    for size in (1, 2, 3, 5, 7, 10, 13, 24, 31, 45, 60):
        for out in (*range(1, 13), 17, 30, size, size + 1, 2 * size):
            root = _fits(D.adaptive_strip(size, out))
            assert subpaths(paths(root, "cg-band")) == out


def test_sweep_adaptive_grids():
    for h, w, oh, ow in itertools.product((1, 3, 7, 14), (2, 5, 14), (1, 3, 7), (2, 4, 14)):
        _fits(D.adaptive_grid((h, w), (oh, ow), (oh - 1, ow // 2)))


def test_dims_shades_the_misread_dims_and_the_merged_ones():
    root = parse(D.dims([32, 24, 3], ["H", "W", "C"], ["C", "H", "W"]))
    assert subpaths(paths(root, "cg-sel")) == 3  # every dim moved
    assert texts(root, "cg-bad") == ["C", "H", "W"]
    root = parse(D.dims([3, 32, 24], ["C", "H", "W"], ["C", "H", "W"]))
    assert not paths(root, "cg-sel") and texts(root, "cg-bad") == []
    root = parse(D.dims([8, 16, 16], ["0", "1", "2"], merge=(1, 2)))
    assert texts(root, "cg-t") == ["8", "16", "16", "8", "256"]
    assert subpaths(paths(root, "cg-sel")) == 2  # the merged dims and their product
    for bad in (lambda: D.dims([8, 16], ["0", "1", "2"], merge=(1, 2)),
                lambda: D.dims([8, 16, 16], ["0", "1", "2"], merge=(1, 3)),
                lambda: D.dims([8, 16, 16], ["C", "H", "X"], ["C", "H", "W"]),
                lambda: D.dims([8, 16, 16], ["C", "H", "W"])):
        with pytest.raises(ValueError):
            bad()


def test_draw_memo_keys_a_diagram_by_its_argument_values(monkeypatch):
    """note.draw draws equal arguments once (defaults filled in), tells apart what a
    drawing could (1 and True, a list and a tuple), and keys arguments marshal refuses."""
    from fractions import Fraction

    import cardgen.render.note as note
    from cardgen.families.base import Diagram

    calls = []

    def fake(a, b=1):
        calls.append((a, b))
        return f"<svg>{a!r} {b!r}</svg>"

    monkeypatch.setitem(note.DIAGRAMS, "fake_kind", fake)
    monkeypatch.setattr(note, "_DRAWN", {})

    def drawn(**args):
        return note.draw(Diagram("fake_kind", args, ""))

    assert drawn(a=[1, 2]) == drawn(a=[1, 2], b=1) == drawn(a=[1, 2]) == "<svg>[1, 2] 1</svg>"
    assert drawn(a=[1, True]) == "<svg>[1, True] 1</svg>"
    assert drawn(a=(1, 2)) == "<svg>(1, 2) 1</svg>"
    assert drawn(a=Fraction(1, 2)) == drawn(a=Fraction(1, 2)) == "<svg>Fraction(1, 2) 1</svg>"
    assert calls == [([1, 2], 1), ([1, True], 1), ((1, 2), 1), (Fraction(1, 2), 1)]


def test_strip_path_and_label_runs_write_what_a_loop_writes():
    """_strip_path's separators (one join) and cell_labels' runs (_label_run) give the
    text of the plain loops they replace: edges summed left to right, one f-string each."""
    import random

    from cardgen.render.diagrams import geometry as G

    n = G.n

    def strip_loop(x, y, widths, h):
        total = sum(widths)
        if total <= 0:
            return ""
        parts = [f"M{n(x)} {n(y)}h{n(total)}v{n(h)}h{n(-total)}z"]
        edge = x
        for w in widths[:-1]:
            edge += w
            parts.append(f"M{n(edge)} {n(y)}v{n(h)}")
        return "".join(parts)

    rng = random.Random(5)
    for _ in range(3000):
        count = rng.randrange(0, 30)
        widths = ([rng.uniform(0, 25)] * count if rng.random() < 0.5
                  else [rng.choice([0.0, 7.1, rng.uniform(-1, 25)]) for _ in range(count)])
        x, y, h = rng.uniform(0, 300), rng.uniform(0, 200), rng.choice([14.0, 18.0, 9.5])
        assert G._strip_path(x, y, widths, h) == strip_loop(x, y, widths, h)
        xs = sorted(rng.uniform(0, 320) for _ in range(count))
        texts = [str(rng.randrange(0, 300)) for _ in range(count)]
        lay = G.Layers()
        G.cell_labels(lay, xs, texts, rng.uniform(2, 25), y)
        for cls, runs in lay.texts.items():
            kept = re.findall(r'<text x="([^"]*)" y="([^"]*)">([^<]*)</text>', "".join(runs))
            assert "".join(runs) == "".join(f'<text x="{a}" y="{b}">{t}</text>'
                                            for a, b, t in kept)
            assert {b for _, b, _ in kept} == {n(y)} and cls in ("cg-t", "cg-ts")
            if cls == "cg-t":  # every label, in order
                assert kept == [(n(v), n(y), t) for v, t in zip(xs, texts, strict=True)]


def test_render_layers_is_render_svg_of_stack_and_labels():
    from cardgen.render.diagrams import geometry as G

    lay = G.Layers()
    lay.rect("cg-band cg-win0", 23, 27, 96, 10)
    lay.cells("cg-cell", 22.0, 3.0, 19.6, 7, 18.0)
    lay.line("cg-mark", 50, 1, 50, 40)
    lay.rect("cg-pad", 22, 3, 40, 18)
    lay.text("cg-tl", 18, 12, "in")
    lay.text("cg-tm", 14, 60, "…")
    lay.texts["cg-empty"]  # a class made and never written: no group
    for bottom, top in (((), ()), (("cg-cell", "cg-pad"), ("cg-band cg-win0",)),
                        (("cg-mark", "cg-unused"), ())):
        assert G.render_layers("sliding_strip", lay, width=230.5, height=110, label="a<b",
                               bottom=bottom, top=top) == G.render_svg(
            "sliding_strip", width=230.5, height=110, label="a<b",
            paths=lay.stack(bottom=bottom, top=top), labels=lay.labels())
    with pytest.raises(ValueError):
        G.render_layers("values_grid", lay, width=1, height=1, label="")


def test_number_memo_writes_what_fmt_writes():
    """n's memo formats a new number itself (fmt's text, written out): the same text for
    integers, halves and ties, small and negative numbers, negative zero and rounding
    to zero."""
    import random

    from cardgen.render.diagrams import geometry as G

    rng = random.Random(3)
    values = [0.0, -0.0, 0.04, -0.04, 0.05, -0.05, 0.15, 0.25, 2.5, -2.5, 1e16, -1e16, 3,
              -7, 22.95, 99.95, -99.95, 1 / 3, 1e-9, -1e-9, 123456.789]
    values += [rng.uniform(-400, 400) for _ in range(5000)]
    values += [round(rng.uniform(-400, 400), 2) for _ in range(5000)]
    values += [k / 20 for k in range(-400, 400)]
    for v in values:
        assert G.n(v) == G.fmt(v), v


def test_true_runs_are_the_loops_runs():
    """true_runs (its ends found by list.index) gives the runs of the per-flag loop it
    replaced, for every list of up to 12 flags, as lists and as tuples."""
    from cardgen.render.diagrams.geometry import true_runs

    def loop(flags):
        runs, start = [], None
        for i, flag in enumerate([*flags, False]):
            if flag and start is None:
                start = i
            elif not flag and start is not None:
                runs.append((start, i))
                start = None
        return runs

    for size in range(13):
        for flags in itertools.product([False, True], repeat=size):
            assert true_runs(list(flags)) == true_runs(flags) == loop(flags)


def test_layers_batch_methods_write_what_line_and_text_write_one_by_one():
    """ticks, drops and texts_at are line() and text() for many items at once: the same
    path and element text, in the same order (vertical, slanted, equal-after-rounding x)."""
    from cardgen.render.diagrams.geometry import Layers

    xs, (y1, y2) = [3.0, 10.25, 47.5001, 0.0], (4.5, 21.0)
    segments = [(3.0, 4.5, 3.0), (10.25, 2.0, 30.75), (47.5001, 9.0, 47.5), (0.0, 40.0, 8.0)]
    labels = [(3.0, "0"), (17.125, "12"), (99.99, "a:b")]
    batch, single = Layers(), Layers()
    batch.ticks("t", xs, y1, y2)
    batch.drops("d", segments, y2)
    batch.texts_at("s", y1, labels)
    for x in xs:
        single.line("t", x, y1, x, y2)
    for x1, ya, x2 in segments:
        single.line("d", x1, ya, x2, y2)
    for x, s in labels:
        single.text("s", x, y1, s)
    assert batch.paths == single.paths and batch.texts == single.texts
    assert any("L" in d for d in batch.paths["d"]) and any("V" in d for d in batch.paths["d"])
