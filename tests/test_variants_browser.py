# ruff: noqa: F811  (pytest fixtures imported from test_typeset_browser, used by name)
"""Variants on the card (issue 12), driven in headless Chromium like Anki's reviewer.

A deck with every family (two notes each, ``variants = 8``) is built by cardgen, imported
into a fresh Anki collection and rendered by Anki's own renderer; ``[[type:Answer]]`` is
replaced as the desktop reviewer does (test_typeset_browser.reviewer_question /
reviewer_answer, the comparison from ``col.compare_answer`` against the Answer field, which
is variant 0's answer). The review page behaves like Anki's reviewer (ts/reviewer/index.ts
``_updateQA`` / ``setInnerHTML`` / ``replaceScript``): one long-lived page, each side put
into ``#qa`` with innerHTML and its scripts re-inserted in order, then MathJax typesets
``#qa``. The answer is typed into ``#typeans`` with DevTools' Input.insertText (real input
events).

What is checked, for every family: the variant on the back is the one the front showed
(``data-cg-variant``), with that variant's worked steps and answer; all K variants appear
over repeated reviews (Math.random seeded in the page); the shown variant's answer gives
``data-cg-verdict="correct"``, a mistake's answer names it (``data-cg-mistake``) and shows
its line, anything else is wrong without a mistake, nothing typed says nothing; with
sessionStorage unusable the window-scoped state still keeps both sides the same; with a
fresh page load per side (AnkiDroid) sessionStorage keeps them the same, and when it fails
too the back is today's card (variant 0 with Anki's comparison); with JavaScript disabled
the card is variant 0 with Anki's comparison. At 360 px, light and night mode, every
variant of every card (each forced by stubbing Math.random) passes test_typeset_browser's
overflow checks, with a verdict and a mistake line shown.

Until cardgen.mistakes lands (its RULES empty), every variant gets one synthetic mistake
line in the contract's form, written into the note before Anki renders it, so the verdict
code is exercised; with the real module, only real mistakes are used.
"""

from __future__ import annotations

import base64
import html.parser
import json
import re
from collections import Counter

import pytest

from tests.conftest import require
from tests.test_typeset_browser import (  # noqa: F401  (fixtures used by name)
    ARTIFACTS,
    EPOCH,
    KNOWN_MATHJAX_WARNING,
    MEASURE_JS,
    PHONE,
    _head,
    body_class,
    browser,
    mathjax,
    overflow_report,
    reviewer_answer,
    reviewer_question,
    server,
)

PER_FAMILY = 2
VARIANTS = 8
COMPARED = "\0compared\0"  # where the comparison for the typed text goes
OTHER = "zzz"  # typed: no answer and no mistake
MAX_REVIEWS = 60  # per note, to see all K variants (seeded; about 20 are needed for K = 8)
SYNTHETIC = "synthetic_test_rule"

# The page's side of Anki's reviewer: ts/reviewer/index.ts setInnerHTML + replaceScript
# (inline scripts run as they are re-inserted, in order), _updateQA's MathJax.typesetClear()
# + typesetPromise([qa]); and what the tests read back.
REVIEW_JS = r"""
window.cgSide = function (html) {
  const qa = document.getElementById("qa");
  qa.innerHTML = html;
  for (const old of qa.getElementsByTagName("script")) {
    const s = document.createElement("script");
    for (const a of old.attributes) s.setAttribute(a.name, a.value);
    s.appendChild(document.createTextNode(old.innerHTML));
    old.replaceWith(s);
  }
};
window.cgTypeset = async function () {
  await MathJax.startup.promise;
  MathJax.typesetClear();
  await MathJax.typesetPromise([document.getElementById("qa")]);
  await document.fonts.ready;
};
window.cgFocus = function () {
  const t = document.querySelector("input#typeans");
  if (t) t.focus();
  return !!t;
};
window.cgState = __STATE__;
// Reviews of one note without typing or typesetting: [front variant, back variant] each.
window.cgCover = function (q, a, n, count) {
  const out = [], seen = new Set();
  for (let r = 0; r < n && seen.size < count; r++) {
    cgSide(q);
    const front = cgState().variants[0];
    cgSide(a);
    const back = cgState();
    out.push([front, back.variants[0], back.worked[0]]);
    seen.add(front);
  }
  return out;
};
"""

# What the tests read from a side (also evaluated by DevTools in a page without scripts).
STATE_JS = r"""
function () {
  const qa = document.getElementById("qa");
  const seen = el => !!el && el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const shown = qa.querySelectorAll(".cg-variants > .cg-variant");
  const worked = qa.querySelectorAll(".cg-worked > .cg-variant-worked");
  const verdict = qa.querySelector(".cg-verdict");
  const cmp = qa.querySelector("#typeans");
  const tex = el => el ? /\\\(|\\\[/.test(el.innerText) : null;
  return {
    variants: Array.from(shown, e => e.getAttribute("data-cg-variant")),
    shownAnswer: shown.length ? shown[0].getAttribute("data-cg-answer") : null,
    worked: Array.from(worked, e => e.getAttribute("data-cg-variant")),
    answer: qa.querySelector(".cg-answer") ? qa.querySelector(".cg-answer").textContent : null,
    verdict: verdict ? verdict.getAttribute("data-cg-verdict") : null,
    mistake: verdict ? verdict.getAttribute("data-cg-mistake") : null,
    verdictText: verdict && seen(verdict) ? verdict.innerText : "",
    mistakesShown: Array.from(qa.querySelectorAll("p.cg-mistake")).filter(seen)
      .map(p => p.getAttribute("data-cg-rule")),
    compare: cmp ? {tag: cmp.tagName.toLowerCase(), visible: seen(cmp), text: cmp.innerText}
                 : null,
    rawTex: tex(shown[0]) || tex(worked[0]),
    templates: qa.querySelectorAll("template").length,
    math: qa.querySelectorAll("mjx-container").length,
    text: qa.innerText,
    js: document.documentElement.getAttribute("data-js"),
    errors: window.__cgErrors || [],
  };
}
"""
REVIEW_JS = REVIEW_JS.replace("__STATE__", STATE_JS.strip())

# A seeded Math.random (mulberry32), so the reviews are the same on every run.
SEEDED_RANDOM = """
(function () {
  var t = 12345;
  Math.random = function () {
    t = (t + 0x6D2B79F5) | 0;
    var r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
})();
"""

# sessionStorage unusable: reading the property throws (storage blocked), or writing does
# (quota, old Safari private mode).
STORAGE_THROWS = {
    "get": """Object.defineProperty(window, "sessionStorage", {configurable: true,
                get: function () { throw new DOMException("blocked", "SecurityError"); }});""",
    "set": """Storage.prototype.setItem = function () {
                throw new DOMException("full", "QuotaExceededError"); };""",
}

JS_MARK = '<script>document.documentElement.setAttribute("data-js", "on")</script>'


# ---------------------------------------------------------------- the deck, as Anki renders it


class _Fields(html.parser.HTMLParser):
    """The variants in a Front and a Worked field (the contract's HTML): per variant its
    answer and [(rule, answer)] of its mistake lines."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[int, str] = {}
        self.mistakes: dict[int, list[tuple[str, str]]] = {}
        self.note = ""
        self._block = -1

    def handle_starttag(self, tag: str, attrs: list) -> None:
        at = dict(attrs)
        cls = (at.get("class") or "").split()
        if "cg-variants" in cls:
            self.note = at["data-cg-note"]
        if "cg-variant" in cls or "cg-alt" in cls:
            self.answers[int(at["data-cg-variant"])] = at["data-cg-answer"]
        if "cg-variant-worked" in cls or "cg-alt-worked" in cls:
            self._block = int(at["data-cg-variant"])
            self.mistakes.setdefault(self._block, [])
        if "cg-mistake" in cls:
            self.mistakes[self._block].append((at["data-cg-rule"], at["data-cg-answer"]))


def parse_fields(front: str, worked: str) -> _Fields:
    found = _Fields()
    found.feed(front)
    found.feed(worked)
    found.close()
    return found


def with_synthetic_mistakes(worked: str, answers: dict[int, str]) -> str:
    """One mistake line per variant, in the contract's form (cardgen.mistakes is a
    placeholder): its answer is the right one with a 7 appended, so it differs."""
    def add(match: re.Match[str]) -> str:
        k = int(match.group(2))
        line = (f'<div class="cg-mistakes" hidden><p class="cg-mistake" '
                f'data-cg-rule="{SYNTHETIC}" data-cg-answer="{answers[k]}7">Synthetic mistake '
                f"line: \\(\\lfloor 29/2 \\rfloor = 14\\), so {answers[k]}7.</p></div>")
        return match.group(0) + line
    return re.sub(r'<(div|template) class="cg-(?:variant|alt)-worked" data-cg-variant="(\d+)">',
                  add, worked)


def _recipe():
    from cardgen.families import FAMILIES
    from cardgen.recipes import parse_recipe

    tables = "".join(f'[families."{name}"]\ncount = {PER_FAMILY}\n' for name in FAMILIES)
    return parse_recipe(f'[deck]\nname = "Variants"\nseed = 2\nvariants = {VARIANTS}\n'
                        f"{tables}", "variants.toml")


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> dict:
    """{"css", "cards", "synthetic"}: every card of the deck as the desktop reviewer shows
    it, the back with COMPARED where the comparison goes and ``compare`` (typed -> Anki's
    comparison against the Answer field) for every text the tests type."""
    require("anki", "Anki's renderer shows the cards")
    from anki.collection import Collection, ImportAnkiPackageRequest

    from cardgen.build import build_recipe
    from cardgen.mistakes import RULES

    root = tmp_path_factory.mktemp("variants-deck")
    path = build_recipe(_recipe(), root, EPOCH).path
    synthetic = not RULES
    col = Collection(str(root / "collection.anki2"))
    try:
        options = col._backend.get_import_anki_package_presets()
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path),
                                                         options=options))
        cards, css = [], None
        for cid in sorted(col.find_cards("")):
            card = col.get_card(cid)
            note, model = card.note(), card.note_type()
            fields = parse_fields(note["Front"], note["Worked"])
            if synthetic:
                note["Worked"] = with_synthetic_mistakes(note["Worked"], fields.answers)
                col.update_note(note)
                card = col.get_card(cid)
                fields = parse_fields(note["Front"], note["Worked"])
            css = model["css"]
            field = next(f for f in model["flds"] if f["name"] == "Answer")
            spec = json.loads(note["Spec"])
            count = len(fields.answers)
            assert sorted(fields.answers) == list(range(count)), fields.answers
            assert sorted(fields.mistakes) == list(range(count))
            assert fields.answers[0] == note["Answer"] == spec["answer"]
            typed = {"", OTHER, *fields.answers.values(),
                     *(w for found in fields.mistakes.values() for _, w in found)}
            cards.append({
                "family": spec["family"], "level": spec["level"], "deck": "variants",
                "tags": f"{spec['family']} L{spec['level']}", "ord": card.ord,
                "note": fields.note, "count": count, "answers": fields.answers,
                "mistakes": fields.mistakes,
                "q": reviewer_question(card.question(), field["font"], field["size"]),
                "a": reviewer_answer(card.answer(), field["font"], field["size"], COMPARED),
                "compare": {t: col.compare_answer(note["Answer"], t, True) for t in typed},
            })
        return {"css": css, "cards": cards, "synthetic": synthetic}
    finally:
        col.close()


def back_html(card: dict, typed: str) -> str:
    return card["a"].replace(COMPARED, card["compare"][typed])


def test_deck_has_variants_in_every_family(deck):
    from cardgen.families import FAMILIES

    cards = deck["cards"]
    assert Counter(c["family"] for c in cards) == {name: PER_FAMILY for name in FAMILIES}
    # a rare form may leave a note fewer variants (cardgen.variants): report, and ask
    # only that every family has variants to show
    print("notes by variant count:", sorted(Counter(c["count"] for c in cards).items()))
    single = {c["family"] for c in cards} - {c["family"] for c in cards if c["count"] > 1}
    assert not single, f"families without variants in this deck: {sorted(single)}"


def test_card_script_is_old_webview_safe():
    """The front template's script: ES5 syntax (old AnkiDroid/AnkiMobile webviews), no
    library, nothing loaded, none of Anki's {{...}} syntax, small."""
    from cardgen.render.env import front_template

    script = front_template().split("<script>", 1)[1].split("</script>", 1)[0]
    code = re.sub(r"/\*.*?\*/", "", script, flags=re.S)
    for es6 in (r"=>", r"\blet\b", r"\bconst\b", "`", r"\bclass\s", r"\.\.\.", r"\bof\b"):
        assert not re.search(es6, code), es6
    assert "{{" not in script and "}}" not in script
    assert not re.search(r"\bsrc\b|\bimport\b|\bfetch\b|XMLHttpRequest", code)
    assert len(code.encode()) < 8000


# ---------------------------------------------------------------- the review page


def review_page(mode: str, before: str = "") -> str:
    """Anki's reviewer page (qt/aqt/reviewer.py revHtml, as in test_typeset_browser) with
    the helpers above; ``before`` runs first (a seeded Math.random, a broken storage)."""
    night = " nightMode night_mode" if mode == "dark" else ""
    return (_head(mode, "body") + f"<script>{before}</script><script>{REVIEW_JS}</script>"
            f'</head><body class="card card1 isLin{night}">'
            '<div id="_mark" hidden>&#x2605;</div><div id="_flag" hidden>&#x2691;</div>'
            '<div id="qa" dir="auto"></div></body></html>')


class Reviewer:
    """One tab holding a long-lived review page (or, ``fresh``, one page load per side)."""

    def __init__(self, browser, server, name: str, width: int = PHONE, mode: str = "light",
                 before: str = "", fresh: bool = False) -> None:
        self.browser, (self.base, self.pages) = browser, server
        self.name, self.mode, self.before, self.fresh = name, mode, before, fresh
        self.session = browser.tab(width)
        self.loads = 0
        if not fresh:
            self._load(review_page(mode, SEEDED_RANDOM + before))

    def _load(self, page: str) -> None:
        self.loads += 1
        path = self.pages / f"{self.name}-{self.loads}.html"
        path.write_text(page, encoding="utf-8")
        self.browser.open([(self.session, self.base + path.name)])

    def eval(self, expression: str):
        [value] = self.browser.evaluate_all([(self.session, expression)])
        return value

    def side(self, html: str, typeset: bool) -> dict:
        if self.fresh:  # AnkiDroid-like: the side is the page, its scripts run as it parses
            self._load(review_page(self.mode, SEEDED_RANDOM + self.before).replace(
                '<div id="qa" dir="auto"></div>', f'<div id="qa" dir="auto">{html}</div>'))
        else:
            self.eval(f"cgSide({json.dumps(html)})")
        if typeset:
            self.eval("cgTypeset()")
        return self.eval("cgState()")

    def type(self, text: str) -> None:
        assert self.eval("cgFocus()"), "no input#typeans on the front"
        if text:
            self.browser.call("Input.insertText", {"text": text}, session=self.session)

    def review(self, card: dict, choose, typeset: bool = False) -> tuple[dict, dict, str]:
        """Front, type ``choose(front state)``, back: (front, back, typed)."""
        front = self.side(card["q"], typeset)
        typed = choose(card, front)
        self.type(typed)
        back = self.side(back_html(card, typed), typeset)
        return front, back, typed

    def problems(self) -> list[str]:
        return [p for p in self.browser.problems(self.session)
                if not KNOWN_MATHJAX_WARNING.search(p)]

    def close(self) -> None:
        self.browser.close_tab(self.session)


def shown(state: dict) -> int:
    assert len(state["variants"]) == 1, state["variants"]
    return int(state["variants"][0])


def right(card: dict, state: dict) -> str:
    """The shown variant's answer."""
    return card["answers"][shown(state)]


def mistaken(card: dict, state: dict) -> str:
    """The shown variant's first mistake's answer, else OTHER."""
    return (card["mistakes"][shown(state)] or [("", OTHER)])[0][1]


def other(card: dict, state: dict) -> str:
    return OTHER


def nothing(card: dict, state: dict) -> str:
    return ""


def assert_same_variant(card: dict, front: dict, back: dict, where: str) -> int:
    """The back shows the front's variant: in the front copy, the worked steps, the answer."""
    k = shown(front)
    assert 0 <= k < card["count"], (where, k)
    assert front["shownAnswer"] == card["answers"][k]
    assert back["variants"] == [str(k)] and back["worked"] == [str(k)], (where, front, back)
    assert back["answer"] == card["answers"][k], where
    return k


@pytest.fixture(scope="module")
def reviewer(mathjax, browser, server):
    tab = Reviewer(browser, server, "review")
    yield tab
    tab.close()


# ---------------------------------------------------------------- the checks


def test_every_variant_appears_and_the_back_keeps_it(deck, reviewer):
    """Over repeated reviews of each note (seeded Math.random) every variant is shown, the
    same one on the back, and no variant twice in a row."""
    unseen = []
    for card in deck["cards"]:
        runs = reviewer.eval(f"cgCover({json.dumps(card['q'])}, "
                             f"{json.dumps(back_html(card, ''))}, {MAX_REVIEWS}, "
                             f"{card['count']})")
        for front, back, worked in runs:
            assert front == back == worked, (card["tags"], runs)
        seen = [int(front) for front, _, _ in runs]
        assert all(a != b for a, b in zip(seen, seen[1:], strict=False)) or card["count"] == 1, seen
        if set(seen) != set(range(card["count"])):
            unseen.append((card["tags"], card["count"], sorted(set(seen))))
    assert not unseen, unseen
    assert not reviewer.problems()


def test_typed_answers_get_a_verdict(deck, reviewer):
    """Per note: the shown variant's answer is correct; a mistake's answer is wrong and
    names it (its line shown, the others hidden); something else is wrong with no mistake;
    nothing typed says nothing. MathJax typesets the shown variant (no raw TeX left) on the
    first review of each note. Anki's comparison stays for variant 0 and is replaced by the
    card's own line for the others."""
    named = Counter()
    for card in deck["cards"]:
        where = card["tags"]
        front, back, typed = reviewer.review(card, right, typeset=True)
        k = assert_same_variant(card, front, back, where)
        assert not front["rawTex"] and not back["rawTex"], (where, back["text"][:300])
        assert (back["verdict"], back["mistake"], back["mistakesShown"]) == ("correct", None, [])
        if k:
            assert not back["compare"]["visible"], where
            assert typed in back["verdictText"] and "correct" in back["verdictText"]
        else:
            assert back["compare"]["visible"] and back["verdictText"] == ""

        # a mistake: review until the shown variant has one (every variant has one when
        # they are synthetic)
        for _ in range(MAX_REVIEWS):
            front, back, typed = reviewer.review(card, mistaken)
            k = assert_same_variant(card, front, back, where)
            if card["mistakes"][k]:
                break
        if card["mistakes"][k]:
            [(rule, _)] = [m for m in card["mistakes"][k] if m[1] == typed][:1]
            assert (back["verdict"], back["mistake"]) == ("wrong", rule), (where, back)
            assert back["mistakesShown"] == [rule], where
            named[card["family"]] += 1
            if k:
                assert card["answers"][k] in back["verdictText"]

        front, back, typed = reviewer.review(card, other)
        k = assert_same_variant(card, front, back, where)
        assert (back["verdict"], back["mistake"], back["mistakesShown"]) == ("wrong", None, [])
        assert (OTHER in back["verdictText"]) == (k != 0)

        front, back, _ = reviewer.review(card, nothing)
        k = assert_same_variant(card, front, back, where)
        assert (back["verdict"], back["mistake"], back["verdictText"]) == (None, None, "")
        assert back["compare"]["visible"] == (k == 0)
    print(f"mistakes named per family: {dict(named)} (synthetic: {deck['synthetic']})")
    families = {c["family"] for c in deck["cards"]}
    if deck["synthetic"]:
        assert set(named) == families
    else:  # every family whose notes have a mistake line names one
        assert set(named) == {c["family"] for c in deck["cards"]
                              if any(c["mistakes"].values())}
    assert not reviewer.problems()


def test_typed_answers_are_normalised(deck, reviewer):
    """Spaces around x , ; : / = , case, the sign x and surrounding blanks do not matter."""
    card = next(c for c in deck["cards"] if re.fullmatch(r"\d+x\d+(x\d+)*", c["answers"][0]))
    for k in range(card["count"]):
        loose = "  " + card["answers"][k].replace("x", " X ") + " "
        card["compare"].setdefault(loose, card["compare"][OTHER])  # Anki's says wrong
    front, back, typed = reviewer.review(
        card, lambda c, s: "  " + right(c, s).replace("x", " X ") + " ")
    assert_same_variant(card, front, back, card["tags"])
    assert back["verdict"] == "correct", (typed, back)


@pytest.mark.parametrize("how", sorted(STORAGE_THROWS))
def test_window_state_when_session_storage_fails(deck, mathjax, browser, server, how):
    """sessionStorage that throws (on reading the property, or on writing): the window-scoped
    state keeps front and back the same in the long-lived page, verdict included."""
    tab = Reviewer(browser, server, f"nostorage-{how}", before=STORAGE_THROWS[how])
    try:
        for card in deck["cards"][::PER_FAMILY]:
            for _ in range(2):
                front, back, _ = tab.review(card, right)
                assert_same_variant(card, front, back, card["tags"])
                assert back["verdict"] == "correct"
        assert not tab.problems()
    finally:
        tab.close()


def test_fresh_page_per_side_keeps_the_variant(deck, mathjax, browser, server):
    """AnkiDroid-like: each side a new page load (the script runs while the page parses,
    before the back's own elements exist), sessionStorage kept across the loads."""
    tab = Reviewer(browser, server, "fresh", fresh=True)
    try:
        variants = Counter()
        for card in deck["cards"][::PER_FAMILY]:
            front, back, typed = tab.review(card, right,
                                            typeset=True)
            k = assert_same_variant(card, front, back, card["tags"])
            assert back["verdict"] == "correct", (card["tags"], back)
            assert not front["rawTex"] and not back["rawTex"], card["tags"]
            variants[k] += 1
        assert len(variants) > 1, variants  # not all variant 0
        assert not tab.problems()
    finally:
        tab.close()


def test_fresh_page_without_storage_is_todays_card(deck, mathjax, browser, server):
    """A fresh page per side and no sessionStorage: nothing links the sides, so the back is
    variant 0 with Anki's comparison and no verdict, exactly the card without variants."""
    tab = Reviewer(browser, server, "fresh-nostorage", before=STORAGE_THROWS["get"],
                   fresh=True)
    try:
        for card in deck["cards"][::PER_FAMILY]:
            _, back, typed = tab.review(card, other)
            assert back["variants"] == ["0"] and back["worked"] == ["0"], card["tags"]
            assert back["answer"] == card["answers"][0]
            assert back["verdict"] is None and back["compare"]["visible"]
            assert back["compare"]["text"].strip() != ""
        assert not tab.problems()
    finally:
        tab.close()


def test_without_javascript_the_card_is_variant_0(deck, mathjax, browser, server):
    """Script execution disabled in the tab (DevTools Emulation.setScriptExecutionDisabled,
    what DevTools' "Disable JavaScript" does; a marker script proves it): both sides show
    variant 0, the templates stay inert, Anki's comparison shows, no verdict."""
    base, pages = server
    session = browser.tab(PHONE)
    browser.call("Emulation.setScriptExecutionDisabled", {"value": True}, session=session)
    try:
        for n, card in enumerate(deck["cards"][::PER_FAMILY]):
            for side, html in (("q", card["q"]), ("a", back_html(card, OTHER))):
                page = review_page("light").replace(
                    '<div id="qa" dir="auto"></div>',
                    f'<div id="qa" dir="auto">{html}</div>{JS_MARK}')
                name = f"nojs-{n}-{side}.html"  # a new name: no cached page
                (pages / name).write_text(page, encoding="utf-8")
                browser.open([(session, base + name)])
                [state] = browser.evaluate_all([(session, f"({STATE_JS})()")])
                assert state["js"] is None, "page scripts ran"
                assert state["variants"] == ["0"], (card["tags"], side)
                if side == "a":
                    assert state["worked"] == ["0"] and state["verdict"] is None, (
                        card["tags"], state["worked"], state["verdict"])
                    assert state["answer"] == card["answers"][0]
                    assert state["compare"]["tag"] == "code" and state["compare"]["visible"]
                    assert state["mistakesShown"] == []
                    assert card["answers"][0] in state["compare"]["text"]
                # the other variants stay in their inert templates, the mistakes hidden
                assert state["templates"] == card["count"] - 1 + (side == "a") * (
                    card["count"] - 1), (card["tags"], side, state["templates"])
                assert state["mistakesShown"] == [] and state["verdictText"] == ""
    finally:
        browser.close_tab(session)


# ---------------------------------------------------------------- every variant at 360 px

# Fill each box like the reviewer (innerHTML, scripts re-inserted), forcing variant k with
# Math.random and a cleared state per note, then type into the front box.
LOADER_JS = r"""
window.cgFill = function () {
  const items = JSON.parse(document.getElementById("cg-items").textContent);
  for (const box of document.querySelectorAll(".cg-body")) {
    const it = items[+box.dataset.i];
    if (box.dataset.side === "q") {
      try { sessionStorage.clear(); } catch (e) {}
      window.__cardgenVariants = {};
      Math.random = () => (it.k + 0.5) / it.count;
    }
    const qa = box.firstElementChild;
    qa.innerHTML = box.dataset.side === "q" ? it.q : it.a;
    for (const old of qa.getElementsByTagName("script")) {
      const s = document.createElement("script");
      s.appendChild(document.createTextNode(old.innerHTML));
      old.replaceWith(s);
    }
    if (box.dataset.side === "q") {
      const t = qa.querySelector("input#typeans");
      t.value = it.typed;
      t.dispatchEvent(new Event("input"));
    }
    const v = qa.querySelector(".cg-variants > .cg-variant");
    box.dataset.shown = v ? v.getAttribute("data-cg-variant") : "none";
    const verdict = qa.querySelector(".cg-verdict");
    box.dataset.verdict = verdict ? verdict.getAttribute("data-cg-verdict") || "" : "";
  }
  return Array.from(document.querySelectorAll(".cg-body"),
                    b => [+b.dataset.i, b.dataset.side, b.dataset.shown, b.dataset.verdict]);
};
"""


@pytest.fixture(scope="module")
def every_variant(deck) -> list[dict]:
    """One item per (card, variant): typed is the variant's first mistake, else OTHER, so the
    back shows the verdict line and a mistake line (the widest the back gets)."""
    items = []
    for card in deck["cards"]:
        for k in range(card["count"]):
            found = card["mistakes"][k]
            typed = found[0][1] if found else OTHER
            items.append({"family": card["family"], "level": card["level"], "deck": "variants",
                          "tags": f"{card['tags']} variant {k}", "k": k, "count": card["count"],
                          "typed": typed, "q": card["q"], "a": back_html(card, typed),
                          "ord": card["ord"]})
    return items


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_variant_fits_a_phone(deck, every_variant, mathjax, browser, server, mode):
    """test_typeset_browser's overflow checks (nothing runs off, no sideways scroll, no TeX
    error) at 360 px for every variant of every card, front and back."""
    base, pages = server
    css = deck["css"]
    boxes = "".join(
        f'<div class="cg-body {body_class(item, mode)}" data-i="{i}" data-side="{side}">'
        '<div class="cg-qa" dir="auto"></div></div>'
        for i, item in enumerate(every_variant) for side in ("q", "a"))
    strip = [{"k": it["k"], "count": it["count"], "typed": it["typed"],
              "q": it["q"].removeprefix(f"<style>{css}</style>"),
              "a": it["a"].removeprefix(f"<style>{css}</style>")} for it in every_variant]
    payload = json.dumps(strip).replace("<", "\\u003c")
    page = (_head(mode, "div:where(.cg-body)") + f"<style>{css}</style>"
            f"<script>{MEASURE_JS}</script><script>{LOADER_JS}</script></head>"
            f'<body style="margin:0;padding:1px 0"><script type="application/json" '
            f'id="cg-items">{payload}</script>{boxes}</body></html>')
    (pages / f"every-{mode}.html").write_text(page, encoding="utf-8")
    session = browser.tab(PHONE)
    try:
        browser.open([(session, base + f"every-{mode}.html")])
        [filled] = browser.evaluate_all([(session, "cgFill()")])
        for i, side, got, verdict in filled:
            assert got == str(every_variant[i]["k"]), (every_variant[i]["tags"], side, got)
            if side == "a":
                assert verdict == "wrong", every_variant[i]["tags"]
        [result] = browser.evaluate_all([(session, "cgRun()")])
        problems = [p for p in browser.problems(session) + result.pop("errors")
                    if not KNOWN_MATHJAX_WARNING.search(p)]
    finally:
        browser.close_tab(session)
    assert result["boxes"] == 2 * len(every_variant)
    assert result["mathItems"] > 0 and result["merrors"] == 0, result["merrors"]
    assert not problems, problems[:10]
    off = [f for f in result["failing"] if f["reasons"]]
    report = overflow_report(every_variant, off, result, PHONE, mode, "run off the card", "px")
    scroll = [f for f in result["failing"] if f["scroll"]]
    report += "\n" + overflow_report(every_variant, scroll, result, PHONE, mode,
                                     "scroll sideways", "scroll")
    print(report)
    assert not off and not scroll, "\n" + report


# ---------------------------------------------------------------- screenshots


def test_variant_screenshots_for_a_person(deck, mathjax, browser, server):
    """Phone, light and dark: the front of variant 1 with a mistake's answer typed in, and
    its back, which names the mistake. Written to tests/artifacts/variants-*.png."""
    card = next(c for c in deck["cards"] if c["count"] == VARIANTS and c["mistakes"][1]
                and "x" in c["answers"][1])
    typed = card["mistakes"][1][0][1]
    ARTIFACTS.mkdir(exist_ok=True)
    written = []
    for mode in ("light", "dark"):
        # a fresh tab has no state: the first pick is floor(random * K) = 1
        tab = Reviewer(browser, server, f"shot-{mode}", mode=mode,
                       before=f"Math.random = function () {{ return {1.5 / VARIANTS}; }};")
        try:
            for side in ("front", "back"):
                if side == "front":
                    state = tab.side(card["q"], typeset=True)
                    tab.type(typed)
                else:
                    state = tab.side(back_html(card, typed), typeset=True)
                    assert state["verdict"] == "wrong" and state["mistakesShown"]
                assert state["variants"] == ["1"], state["variants"]
                height = tab.eval("Math.ceil(document.documentElement"
                                  ".getBoundingClientRect().height)")
                image = browser.call("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": PHONE, "height": min(height, 16000),
                             "scale": 1}}, session=tab.session)
                path = ARTIFACTS / f"variants-{side}-{mode}.png"
                path.write_bytes(base64.b64decode(image["data"]))
                written.append(path)
            assert not tab.problems()
        finally:
            tab.close()
    print("\n".join(str(p) for p in written), f"({card['tags']})")
    assert all(p.stat().st_size > 1000 for p in written)
