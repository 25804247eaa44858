"""The preview page in a real browser: headless Chromium at a 360 px phone width.

Checks that the page logs nothing to the console, that every diagram has a size and
fits the phone viewport with no horizontal scrolling, and that light and night mode
both render with different colours (cards and diagram fills). Screenshots at 360 px
and at a desktop width are saved to tests/artifacts/ for a person to look at.

The shipped preview has no JavaScript; to measure, the test injects a script into a
copy of the page that writes its findings into the DOM, then reads them back with
``--dump-dom``.

The cards are the real pipeline's (every family at every level, as `cardgen preview`
renders them) plus a hand-picked set that exercises every kind of diagram at its edges
(adaptive, grid, conv, ceil-mode pool, dilation, transposed, values).
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from cardgen.explain import sizes
from cardgen.explain.windows import pool_size_text
from cardgen.render import diagrams as D
from cardgen.render.env import card_css, render_worked
from cardgen.render.preview import preview_html
from cardgen.solver import arith

try:
    from tests.conftest import require_executable
except ImportError:  # pytest put tests/ itself on sys.path
    from conftest import require_executable

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = 360
DESKTOP = 1280
MAX_SHOT_HEIGHT = 16000  # Chromium's screenshot surface is limited; longer pages are cut
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]

ERROR_HOOK = """<script>
window.__cgErrors = [];
window.addEventListener("error", function (e) {
  window.__cgErrors.push(String(e.message || ("failed to load " + (e.target && e.target.src))));
}, true);
["error", "warn"].forEach(function (level) {
  var original = console[level];
  console[level] = function () {
    window.__cgErrors.push(level + ": " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
});
</script>"""

MEASURE = """<script>
(function () {
  function style(sel, prop) {
    var el = document.querySelector(sel);
    return el ? getComputedStyle(el)[prop] : null;
  }
  var doc = document.documentElement;
  var svgs = Array.prototype.map.call(document.querySelectorAll("svg"), function (s) {
    var r = s.getBoundingClientRect();
    return {w: r.width, h: r.height, left: r.left, right: r.right,
            label: (s.getAttribute("aria-label") || "").slice(0, 60)};
  });
  var out = {
    clientWidth: doc.clientWidth, innerWidth: window.innerWidth,
    scrollWidth: doc.scrollWidth, bodyScrollWidth: document.body.scrollWidth,
    height: doc.scrollHeight, svgs: svgs, errors: window.__cgErrors,
    lightBg: style(".pv-mode.card:not(.nightMode)", "backgroundColor"),
    darkBg: style(".pv-mode.nightMode", "backgroundColor"),
    lightText: style(".pv-mode.card:not(.nightMode) .cg-q", "color"),
    darkText: style(".pv-mode.nightMode .cg-q", "color"),
    lightBand: style(".pv-mode.card:not(.nightMode) path.cg-band", "fill"),
    darkBand: style(".pv-mode.nightMode path.cg-band", "fill"),
    lightCell: style(".pv-mode.card:not(.nightMode) path.cg-cell", "fill"),
    darkCell: style(".pv-mode.nightMode path.cg-cell", "fill"),
    text: document.body.innerText,
    maths: Array.prototype.map.call(document.querySelectorAll("math"), function (m) {
      var r = m.getBoundingClientRect();
      return [r.width, r.height, r.right];
    })
  };
  var host = window.parent && window.parent !== window ? window.parent.document : document;
  var pre = host.createElement("pre");
  pre.className = "cg-measure";
  pre.textContent = JSON.stringify(out);
  host.body.appendChild(pre);
})();
</script>"""


def _card(front: str, answer: str, steps: list[str], figures: list[tuple[str, str]],
          tags: list[str]) -> dict:
    return {"front": front, "answer": answer, "worked": render_worked(steps, figures),
            "tags": tags}


def sample_cards() -> list[dict]:
    """A varied set of cards, one per kind of diagram and its awkward cases."""
    return [
        _card("<code>nn.AdaptiveAvgPool1d(3)</code> on a length-7 input: which cells does "
              "output 1 read? Answer as <code>start-end</code> (end exclusive).", "2-5",
              [r"start \(= \lfloor 1\cdot 7/3 \rfloor = 2\)",
               r"end \(= \lceil 2\cdot 7/3 \rceil = 5\)"],
              [(D.adaptive_strip(7, 3), "Windows [0,3) [2,5) [4,7): all of length 3, two "
                "apart, the same as MaxPool1d(3, stride=2).")], ["adaptive", "windows"]),
        _card("Is <code>AdaptiveAvgPool1d(3)</code> on length 5 a fixed pool?", "no",
              ["Window lengths 2, 3, 2 differ: no single kernel size."],
              [(D.adaptive_strip(5, 3), "Shaded cells are read by two windows.")],
              ["adaptive", "equivalence"]),
        _card("<code>AdaptiveMaxPool1d(7)</code> on length 60: length of window 3?", "9",
              [r"\([\lfloor 3\cdot 60/7 \rfloor, \lceil 4\cdot 60/7 \rceil) = [25, 35)\)"],
              [(D.adaptive_strip(60, 7), "Seven windows over sixty cells.")], ["adaptive"]),
        _card("<code>AdaptiveAvgPool1d(12)</code> on length 5: output length?", "12",
              ["An output larger than the input repeats cells."],
              [(D.adaptive_strip(5, 12), "Each cell is read by two or three windows.")],
              ["adaptive"]),
        _card("<code>AdaptiveAvgPool2d((3, 3))</code> on 7x7: the window of output (1, 2)?",
              "2-5,4-7", ["rows [2,5), columns [4,7)"],
              [(D.adaptive_grid((7, 7), (3, 3), (1, 2)), "Rows on the left, columns on "
                "top; output (1, 2) reads their intersection.")], ["adaptive2d"]),
        _card("<code>AdaptiveAvgPool2d((5, 4))</code> on 14x14: output (3, 1)?", "8-12,3-7",
              ["rows [8,12), columns [3,7)"],
              [(D.adaptive_grid((14, 14), (5, 4), (3, 1)), "Row and column windows.")],
              ["adaptive2d"]),
        _card("<code>Conv1d(1, 1, 3, stride=2)</code> on length 8: output length?", "3",
              [sizes.conv_size_text(8, 3, 2, 0, 1, 3)],
              [(D.sliding_strip(8, 3, 2, 0, 0), "The last cell is never read: the floor.")],
              ["conv"]),
        _card("<code>MaxPool1d(3, 2, padding=1, ceil_mode=True)</code> on 6?", "4",
              [pool_size_text(6, 3, 2, 1, 1, True)],
              [(D.sliding_strip(6, 3, 2, 1, 1, ceil_mode=True), "The extra window starts "
                "inside the input: kept.")], ["pool", "ceil"]),
        _card("<code>MaxPool1d(2, 2, padding=1, ceil_mode=True)</code> on 5?", "3",
              [pool_size_text(5, 2, 2, 1, 1, True)],
              [(D.sliding_strip(5, 2, 2, 1, 1, ceil_mode=True), "The extra window would "
                "start past the input: dropped.")], ["pool", "ceil"]),
        _card("<code>Conv2d(3, 64, 7, stride=2, padding=3)</code> on 224x224?", "112x112",
              [sizes.conv_size_text(224, 7, 2, 3, 1, 112)],
              [(D.sliding_strip(224, 7, 2, 3, 3), "First two and last two placements; one "
                "padding cell is left over.")], ["conv", "resnet"]),
        _card("<code>Conv1d(1, 1, 4, padding='same')</code> on 10: the padding?", "1,2",
              ["total \\(1\\cdot(4-1) = 3\\): 1 left, 2 right"],
              [(D.sliding_strip(10, 4, 1, *arith.same_padding(4)), "Uneven padding.")],
              ["conv", "same"]),
        _card("<code>Conv1d(1, 1, 3, dilation=2, padding=2)</code> on 10?", "10",
              [sizes.conv_size_text(10, 3, 1, 2, 2, 10)],
              [(D.sliding_strip(10, 3, 1, 2, 2, dilation=2), "Only the taps are read.")],
              ["conv", "dilation"]),
        _card("<code>ConvTranspose1d(1, 1, 3, stride=2, padding=1, output_padding=1)</code> "
              "on 4?", "8", [sizes.transpose_size_text(4, 3, 2, 1, 1, 1, 8)],
              [(D.transposed_strip(4, 3, 2, 1, 1), "One zero between inputs; implicit "
                "padding 1 left, 2 right.")], ["transposed"]),
        _card("<code>ConvTranspose1d(1, 1, 4, stride=2, padding=1)</code> on 16?", "32",
              [sizes.transpose_size_text(16, 4, 2, 1, 0, 1, 32)],
              [(D.transposed_strip(16, 4, 2, 1, 0), "Condensed: the two ends.")],
              ["transposed"]),
        _card("<code>ConvTranspose1d(1, 1, 2, stride=2, padding=2)</code> on 5?", "6",
              [sizes.transpose_size_text(5, 2, 2, 2, 0, 1, 6)],
              [(D.transposed_strip(5, 2, 2, 2, 0), "Padding beyond d(k-1) crops.")],
              ["transposed"]),
        _card("<code>MaxPool2d(2)</code>: output (0, 0) of this input?", "9",
              ["the largest of 1, 5, 9, 2"],
              [(D.values_grid([[1, 5, 3, 0], [9, 2, 4, 8], [7, 6, -3, 1], [0, 2, 5, 4]],
                              ((0, 2), (0, 2)), "9"), "The window of output (0, 0).")],
              ["values"]),
        _card("<code>AvgPool1d(3)</code>: output 0?", "4.33", [r"\((2+6+5)/3\)"],
              [(D.values_grid([[2, 6, 5, 1, 8, 3, 7]], ((0, 1), (0, 3)), "4.33"),
                "A 1-D input.")], ["values"]),
    ]


def _chromium(exe: str, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=180, check=False)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_executable("chromium", "chromium-browser", "google-chrome")


def deck_cards_for_preview() -> list[dict]:
    from cardgen.build import deck_cards, problem_solutions
    from cardgen.families import FAMILIES
    from cardgen.recipes import parse_recipe
    from cardgen.render.note import preview_variants

    # every variant, with the wrong answers it names (what `cardgen preview --all-variants`
    # shows)
    tables = "".join(f'[families."{name}"]\ncount = 3\n' for name in FAMILIES)
    recipe = parse_recipe(f'[deck]\nname = "Browser"\nseed = 9\n{tables}', "browser.toml")
    return [{"front": front, "answer": answer, "worked": worked, "tags": list(c.note.tags)}
            for c in deck_cards(recipe)
            for front, answer, worked in preview_variants(c.problem, problem_solutions(c.problem))]


def all_cards() -> list[dict]:
    return deck_cards_for_preview() + sample_cards()


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    cards = all_cards()
    text = preview_html(cards, card_css(), "cardgen preview <test>",
                        "Every kind of diagram, light and night mode.")
    path = tmp_path_factory.mktemp("preview") / "preview.html"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def measured(chromium, page) -> dict:
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text  # the shipped page needs no JavaScript
    probe = text.replace("<head>", "<head>" + ERROR_HOOK, 1).replace(
        "</body>", MEASURE + "</body>", 1)
    # headless Chromium will not lay a window out narrower than 500 px for --dump-dom
    # (screenshots are fine), so the probe runs in same-origin iframes of each width
    frames = "".join(f'<iframe style="border:0;display:block;width:{w}px;height:2000px" '
                     f'srcdoc="{html.escape(probe, quote=True)}"></iframe>'
                     for w in (PHONE, DESKTOP))
    probe_path = page.with_name("measure.html")
    probe_path.write_text(f'<!doctype html><html><body style="margin:0">{frames}</body></html>',
                          encoding="utf-8")
    run = _chromium(chromium, f"--window-size={DESKTOP + 40},2000",
                    "--virtual-time-budget=3000", "--dump-dom", probe_path.as_uri())
    found = re.findall(r'<pre class="cg-measure">(.*?)</pre>', run.stdout, re.S)
    assert len(found) == 2, f"no measurement in the dumped DOM; stderr:\n{run.stderr[-2000:]}"
    results = {r["clientWidth"]: r for r in (json.loads(html.unescape(f)) for f in found)}
    assert set(results) == {PHONE, DESKTOP}, list(results)
    result = results[PHONE]
    result["desktopHeight"] = results[DESKTOP]["height"]
    result["desktopScrollWidth"] = results[DESKTOP]["scrollWidth"]
    result["console"] = _console(run.stderr)
    return result


@pytest.fixture(scope="module")
def screenshots(chromium, page, measured) -> dict[str, tuple[Path, str]]:
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {}
    for name, width, height in (("phone", PHONE, measured["height"]),
                                ("desktop", DESKTOP, measured["desktopHeight"])):
        out = ARTIFACTS / f"preview-{name}-{width}.png"
        out.unlink(missing_ok=True)
        h = min(int(height) + 16, MAX_SHOT_HEIGHT)
        run = _chromium(chromium, f"--window-size={width},{h}", f"--screenshot={out}",
                        page.as_uri())
        shots[name] = (out, run.stderr)
    return shots


def test_no_console_errors(measured, screenshots):
    assert measured["errors"] == []
    assert measured["console"] == []
    for _, stderr in screenshots.values():  # the shipped page, without the probe
        assert _console(stderr) == []


def test_every_diagram_has_a_size_and_fits_the_phone(measured):
    svgs = measured["svgs"]
    count = sum(card["worked"].count("<svg") for card in all_cards())
    assert len(svgs) == 2 * count  # every card twice: light and night
    width = measured["clientWidth"]
    assert width == PHONE
    for svg in svgs:
        assert svg["w"] > 100 and svg["h"] > 20, svg
        assert svg["left"] >= 0 and svg["right"] <= width, svg


def test_no_horizontal_scrolling(measured):
    assert measured["scrollWidth"] <= measured["clientWidth"]
    assert measured["bodyScrollWidth"] <= measured["clientWidth"]
    assert measured["desktopScrollWidth"] <= DESKTOP


def test_light_and_night_mode_both_render(measured):
    for key in ("Bg", "Text", "Band", "Cell"):
        light, dark = measured[f"light{key}"], measured[f"dark{key}"]
        assert light and dark and light != dark, (key, light, dark)
    assert measured["lightBg"] not in ("rgba(0, 0, 0, 0)", "transparent")


def test_math_is_typeset_with_no_script_and_no_network(measured, page):
    """The page carries MathML, not TeX: the browser typesets it (Chromium here runs with
    background networking off and has no network to reach)."""
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "http" not in text.split("</head>")[0]
    for raw in ("\\(", "\\)", "\\[", "\\]", "\\frac", "\\lfloor", "\\begin{aligned}"):
        assert raw not in measured["text"], raw
    maths = measured["maths"]
    assert len(maths) >= 2 * sum(card["worked"].count("\\(") for card in all_cards())
    for width, height, right in maths:
        assert width > 0 and height > 0 and right <= measured["clientWidth"]


def test_screenshots_are_written(screenshots):
    for path, stderr in screenshots.values():
        assert path.is_file() and path.stat().st_size > 10_000, stderr[-2000:]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


NIGHT_PROBE = """<script>
(function () {
  var out = {};
  document.querySelectorAll("[data-case]").forEach(function (el) {
    out[el.dataset.case] = {
      bg: getComputedStyle(el).backgroundColor,
      text: getComputedStyle(el.querySelector(".cg-q")).color,
      cell: getComputedStyle(el.querySelector("path.cg-cell")).fill,
      band: getComputedStyle(el.querySelector("path.cg-band")).fill
    };
  });
  var pre = document.createElement("pre");
  pre.className = "cg-measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"""


def test_each_night_mode_class_works_on_its_own(chromium, tmp_path):
    """Desktop Anki and AnkiMobile set .nightMode, AnkiDroid and older desktops only
    .night_mode, on the card or on an ancestor: each alone must switch the palette."""
    svg = D.sliding_strip(8, 3, 2, 0, 0)

    def card(case: str, cls: str) -> str:
        return (f'<div class="{cls}" data-case="{case}"><div class="cg-q">Question</div>'
                f'{svg}</div>')

    body = "".join([
        card("light", "card"),
        card("nightMode", "card nightMode"),
        card("night_mode", "card night_mode"),
        f'<div class="nightMode">{card("ancestor nightMode", "card")}</div>',
        f'<div class="night_mode">{card("ancestor night_mode", "card")}</div>',
    ])
    page = tmp_path / "night.html"
    page.write_text(f"<!doctype html><html><head><style>{card_css()}</style></head>"
                    f"<body>{body}{NIGHT_PROBE}</body></html>", encoding="utf-8")
    run = _chromium(chromium, "--virtual-time-budget=2000", "--dump-dom", page.as_uri())
    [found] = re.findall(r'<pre class="cg-measure">(.*?)</pre>', run.stdout, re.S)
    styles = json.loads(html.unescape(found))
    light = styles.pop("light")
    assert len(styles) == 4
    for case, night in styles.items():
        for prop in ("bg", "text", "cell", "band"):
            assert night[prop] != light[prop], (case, prop, night[prop])
        assert night == styles["nightMode"], case  # one night palette, whatever the class
