"""Cards as Anki shows them, typeset by Anki's MathJax, in a real browser (DESIGN.md §4b).

Every card of the default deck and of a deck with every family at every level (3 seeds) is
imported into a fresh Anki collection and rendered by Anki's own renderer
(``card.question()`` / ``card.answer()``), with ``[[type:Answer]]`` replaced the way the
desktop reviewer replaces it. The cards are laid out like the reviewer's page, MathJax 3.2.2
(the version Anki ships) typesets them with Anki's configuration, and the browser measures,
per card, anything that runs off the side: at 360 px and 1280 px, light and night mode.
Two checks per variant: nothing visible past the card's edges (elements, text, formulas that
scroll, diagrams; svgs must have a size), and no card that scrolls sideways at all (which
MathJax's hidden assistive MathML can cause on its own, see test_no_card_scrolls_sideways).

A second test passes every ``Worked`` field of the default deck through DOMPurify (as Anki
25.02.1's editor did) and checks that the diagrams come out the same.

The browser is headless Chromium driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: no port, no extra packages). The pages are served from
127.0.0.1 under the paths the reviewer uses (``/_anki/js/vendor/mathjax/...``), so MathJax
loads its fonts as it does in Anki. The JavaScript libraries come from ``tests/js``
(``npm ci --prefix tests/js``); without them the tests skip, or fail under
``CARDGEN_REQUIRE_ALL=1``.

What is reproduced from Anki's source (github.com/ankitects/anki, main as of 2026-08):

- ts/mathjax/index.ts -- the MathJax configuration, copied as is (TeX input: display math
  ``\\[..\\]``; inline math is MathJax's default ``\\(..\\)``; processEscapes,
  processEnvironments and processRefs off; packages +noerrors +mathtools -textmacros;
  ``startup.typeset: false``). Nothing in it sets a scale or font size: CHTML output at
  MathJax's defaults (scale 1, matchFontHeight), so the math follows the card's font size.
- ts/reviewer/index.ts -- MathJax is ``/_anki/js/vendor/mathjax/tex-chtml-full.js`` (CHTML
  output), loaded after that config; each side is typeset with ``MathJax.typesetClear()``
  then ``MathJax.typesetPromise([qa])`` after the side's HTML is in ``#qa``.
- qt/aqt/reviewer.py -- the page body is ``<div id="qa" dir="auto">``; the body classes come
  from qt/aqt/theme.py ``body_classes_for_card_ord``: ``card card{ord+1}`` plus
  ``isLin`` and, at night, ``nightMode night_mode`` (and ``night-mode`` on ``<html>``, from
  qt/aqt/webview.py ``stdHtml``). ``typeAnsQuestionFilter`` / ``typeAnsAnswerFilter`` turn
  ``[[type:Answer]]`` into ``<center><input type=text id=typeans ...></center>`` on the front
  and, on the back, move ``<hr id=answer>`` in front of a ``<div>`` holding
  ``col.compare_answer(...)`` (the ``<code id=typeans>`` comparison).
- The page CSS: ts/reviewer/reviewer.scss (body margin 20px, overflow-wrap, ``#typeans``,
  ``hr``, ``img``), qt/aqt/data/web/css/webview.scss (``* {box-sizing: content-box}``),
  ts/lib/sass/_root-vars.scss (html font-size 15px, ``--fg`` / ``--canvas``) and
  ``standard_css`` in qt/aqt/webview.py (zoom 1 on Qt 6). See ``ANKI_PAGE_CSS``.
- DOMPurify: Anki 25.02.1 (only that release; 25.02.2 reverted it for a CSP) sanitised every
  field when the editor loaded a note: ts/lib/domlib/sanitize.ts,
  ``DOMPurify.sanitize(html, { FORCE_BODY: true })``, DOMPurify 3.2.5 (Anki's yarn.lock).

The measurement page puts many cards on one page, each in a ``<div>`` that stands in for the
reviewer's ``<body>`` (the reviewer CSS is applied to it with ``body`` rewritten to
``div:where(.cg-body)``, which has the same specificity). The screenshots use a real
reviewer-shaped page per card. Screenshots go to tests/artifacts/typeset-<family>-<mode>.png.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import http.server
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

try:
    from tests.conftest import REQUIRE_ALL_ENV, require, require_all, require_executable
except ImportError:  # pytest put tests/ itself on sys.path
    from conftest import REQUIRE_ALL_ENV, require, require_all, require_executable

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
JS_DIR = HERE / "js"
MATHJAX_DIR = JS_DIR / "node_modules" / "mathjax" / "es5"
MATHJAX_JS = MATHJAX_DIR / "tex-chtml-full.js"  # the component Anki's reviewer loads
PURIFY_JS = JS_DIR / "node_modules" / "dompurify" / "dist" / "purify.min.js"
NPM_HINT = "run `npm ci --prefix tests/js`"

EPOCH = 1_750_000_000
SEEDS = (1, 2, 3)
PER_FAMILY = 15
PHONE, DESKTOP = 360, 1280
VARIANTS = [(PHONE, "light"), (PHONE, "dark"), (DESKTOP, "light"), (DESKTOP, "dark")]
TOLERANCE = 0.5  # px: sub-pixel rounding is not overflow
TYPE_ANS = re.compile(r"\[\[type:(.+?)\]\]")
# Anki's config asks the loader for [tex]/noerrors and [tex]/mathtools, which
# tex-chtml-full.js already holds; MathJax 3.2.2 then warns, in Anki as here.
KNOWN_MATHJAX_WARNING = re.compile(
    r"No version information available for component \[tex\]/(noerrors|mathtools)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--mute-audio"]

# ts/mathjax/index.ts (Anki), unchanged but for being plain JavaScript.
ANKI_MATHJAX_CONFIG = r"""
const packages = ["noerrors", "mathtools"];
function packagesForLoading(packages) {
    return packages.map((value) => `[tex]/${value}`);
}
window.MathJax = {
    tex: {
        displayMath: [["\\[", "\\]"]],
        processEscapes: false,
        processEnvironments: false,
        processRefs: false,
        packages: {
            "[+]": packages,
            "[-]": ["textmacros"],
        },
    },
    loader: {
        load: packagesForLoading(packages),
        paths: {
            mathjax: "/_anki/js/vendor/mathjax",
        },
    },
    startup: {
        typeset: false,
    },
};
"""

# The reviewer page's CSS, in the order Anki loads it (webview.css, standard_css(),
# reviewer.css); BODY stands for the reviewer's <body>. Colours are Anki's palette values.
ANKI_PAGE_CSS = """
/* ts/lib/sass/_root-vars.scss: --fg, --canvas, --font-size (light / .night-mode) */
:root { --fg: #020202; --canvas: #f5f5f5; --fg-link: #1d4ed8; --font-size: 15px;
        color-scheme: light; }
:root.night-mode { --fg: #fcfcfc; --canvas: #2c2c2c; --fg-link: #bfdbfe; color-scheme: dark; }
html { font-size: var(--font-size); }
/* qt/aqt/data/web/css/webview.scss */
* { box-sizing: content-box; }
BODY { color: var(--fg); background: var(--canvas); margin: 2em; overscroll-behavior: none; }
a { color: var(--fg-link); text-decoration: none; }
h1 { margin-bottom: 0.2em; }
/* qt/aqt/webview.py standard_css() on Linux, Qt 6 */
BODY { zoom: 1; background-color: var(--canvas); }
html { font-family: "Liberation Sans", sans-serif; }
/* ts/reviewer/reviewer.scss */
hr { background-color: #737373; margin: 1em 0; border: none; height: 1px; }
BODY { margin: 20px; overflow-wrap: break-word; background-size: cover;
       background-repeat: no-repeat; background-position: top; background-attachment: fixed; }
BODY.nightMode { background-color: var(--canvas); color: var(--fg); }
img { max-width: 100%; max-height: 95vh; }
li { text-align: start; }
pre { text-align: left; }
#typeans { width: 100%; box-sizing: border-box; line-height: 1.75; }
code#typeans { white-space: pre-wrap; font-variant-ligatures: none; }
.typeGood { background: #afa; color: black; }
.typeBad { color: black; background: #faa; }
.typeMissed { color: black; background: #ccc; }
button { margin: 1em 0.5em; }
.nightMode .latex { filter: invert(100%); }
"""

ERROR_HOOK = """
window.__cgErrors = [];
window.addEventListener("error", function (e) {
  var t = e.target;
  window.__cgErrors.push(t && t !== window && (t.src || t.href)
    ? "failed to load " + (t.src || t.href) : String(e.message));
}, true);
window.addEventListener("unhandledrejection", function (e) {
  window.__cgErrors.push("unhandled rejection: " + String(e.reason));
});
"""

# Runs in the measurement page: typeset everything, then measure every card box. A box is
# reported when something visible runs past its left or right edge (an element, a run of
# text, a formula that scrolls, an svg; or an svg without size), or when the box scrolls
# sideways at all (`scroll`: also caused by MathJax's hidden assistive MathML, see below).
MEASURE_JS = r"""
window.cgRun = async function () {
  const t0 = performance.now();
  if (!window.MathJax || !MathJax.startup) {
    return {error: "MathJax did not load", errors: window.__cgErrors};
  }
  await MathJax.startup.promise;
  MathJax.typesetClear();
  await MathJax.typesetPromise();
  await document.fonts.ready;
  const t1 = performance.now();
  const tex = new Map();
  for (const item of MathJax.startup.document.math) {
    if (item.typesetRoot) tex.set(item.typesetRoot, item.math);
  }
  const TOL = __TOL__;
  const boxes = document.querySelectorAll(".cg-body");
  const range = document.createRange();
  // MathJax's copy of each formula for screen readers: clipped to 1px, never seen
  const hidden = el => el.closest("mjx-assistive-mml") !== null;
  const describe = function (el) {
    const mjx = el.closest("mjx-container");
    if (mjx && tex.has(mjx)) return "TeX: " + tex.get(mjx);
    const svg = el.closest("svg");
    if (svg) return "svg " + (svg.getAttribute("aria-label") || svg.getAttribute("class"));
    return el.tagName.toLowerCase() + ": " + el.textContent;
  };
  const failing = [];
  let merrors = 0;
  for (const box of boxes) {
    const b = box.getBoundingClientRect();
    const reasons = new Set();
    let worst = 0, worstEl = null, hiddenWorst = 0, hiddenEl = null;
    const note = function (reason, px, el) {
      reasons.add(reason);
      if (px > worst || worstEl === null) { worst = Math.max(worst, px); worstEl = el; }
    };
    const past = r => Math.max(r.right - b.right, b.left - r.left);
    const side = r => (r.right - b.right > TOL ? "right edge" : "left edge");
    for (const el of box.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const over = past(r);
      if (over <= TOL) continue;
      if (hidden(el)) {
        if (over > hiddenWorst) { hiddenWorst = over; hiddenEl = el; }
      } else note(side(r), over, el);
    }
    // text that runs out of its element (a long word, say) is in no element's box
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (!t.data.trim() || hidden(t.parentElement)) continue;
      range.selectNodeContents(t);
      const r = range.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (past(r) > TOL) note("text past the " + side(r), past(r), t.parentElement);
    }
    for (const m of box.querySelectorAll("mjx-container")) {
      if (m.scrollWidth > m.clientWidth + 1) {
        note("formula scrolls", m.scrollWidth - m.clientWidth, m);
      }
    }
    for (const s of box.querySelectorAll("svg")) {
      if (s.parentElement && s.parentElement.closest("svg")) continue;
      const r = s.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) note("svg has no size", 0, s);
      if (past(r) > TOL) note("svg past the " + side(r), past(r), s);
    }
    const errs = box.querySelectorAll("mjx-merror");
    merrors += errs.length;
    if (errs.length) reasons.add("TeX error: " + errs[0].textContent.slice(0, 80));
    const scroll = Math.max(0, box.scrollWidth - box.clientWidth);
    if (!reasons.size && scroll <= 1) continue;
    let why = "";
    if (scroll > 1) {
      why = reasons.size ? "what runs off" : hiddenEl
        ? "hidden assistive MathML of " + describe(hiddenEl) : "unknown";
    }
    failing.push({i: +box.dataset.i, side: box.dataset.side, px: Math.round(worst * 10) / 10,
                  reasons: Array.from(reasons), scroll: scroll > 1 ? scroll : 0,
                  scrollWhy: why.replace(/\s+/g, " ").slice(0, 200),
                  snippet: worstEl ? describe(worstEl).replace(/\s+/g, " ").slice(0, 200) : ""});
  }
  return {boxes: boxes.length, failing: failing, merrors: merrors, mathItems: tex.size,
          containerWidth: boxes.length ? boxes[0].getBoundingClientRect().width : 0,
          typesetMs: Math.round(t1 - t0), measureMs: Math.round(performance.now() - t1),
          errors: window.__cgErrors};
};
""".replace("__TOL__", str(TOLERANCE))

# Runs in a single-card, reviewer-shaped page before its screenshot.
SHOT_JS = """
window.cgShot = async function () {
  await MathJax.startup.promise;
  MathJax.typesetClear();
  await MathJax.typesetPromise([document.getElementById("qa")]);
  await document.fonts.ready;
  return {height: Math.ceil(document.documentElement.getBoundingClientRect().height),
          errors: window.__cgErrors};
};
"""

# Runs in the DOMPurify page: each Worked field as is and sanitised, then compared.
PURIFY_JS_RUN = r"""
window.cgPurify = function () {
  const fields = JSON.parse(document.getElementById("cg-fields").textContent);
  const configs = {"default": {}, "anki-25.02.1": {FORCE_BODY: true}};
  const host = document.getElementById("cg-host");
  function render(html) {
    const body = document.createElement("div");
    body.className = "cg-body card card1 isLin";
    host.appendChild(body);
    body.innerHTML = html;
    return body;
  }
  function describe(root) {
    const origin = root.getBoundingClientRect();
    const out = [];
    for (const svg of root.querySelectorAll("svg")) {
      const r = svg.getBoundingClientRect();
      out.push({tag: "svg", cls: svg.getAttribute("class"),
                rect: [r.left - origin.left, r.top - origin.top, r.width, r.height]
                  .map(v => Math.round(v * 100) / 100)});
      for (const el of svg.querySelectorAll("*")) {
        const item = {tag: el.tagName, cls: el.getAttribute("class")};
        if (typeof el.getBBox === "function") {
          const bb = el.getBBox();
          item.bbox = [bb.x, bb.y, bb.width, bb.height].map(v => Math.round(v * 100) / 100);
        }
        out.push(item);
      }
    }
    return out;
  }
  function attrs(el) {
    return Array.from(el.attributes).map(a => a.name + "=" + a.value);
  }
  function stripped(a, b) {
    // what the sanitised tree lacks, walking both in document order
    const found = [];
    const ea = [a, ...a.querySelectorAll("*")], eb = [b, ...b.querySelectorAll("*")];
    const tagsA = ea.map(e => e.tagName), tagsB = eb.map(e => e.tagName);
    const count = function (tags) {
      const c = {};
      for (const t of tags) c[t] = (c[t] || 0) + 1;
      return c;
    };
    const ca = count(tagsA), cb = count(tagsB);
    for (const t in ca) if ((cb[t] || 0) < ca[t]) found.push("element <" + t.toLowerCase() + ">");
    if (tagsA.join() === tagsB.join()) {
      for (let k = 0; k < ea.length; k++) {
        const sb = new Set(attrs(eb[k]));
        for (const at of attrs(ea[k])) {
          const name = at.split("=")[0];
          if (!sb.has(at)) found.push(ea[k].tagName.toLowerCase() + " attribute " + name);
        }
      }
    }
    return Array.from(new Set(found));
  }
  function canonical(node) {
    // the DOM as a string, attributes sorted: DOMPurify re-adds them in another order
    if (node.nodeType === Node.TEXT_NODE) return JSON.stringify(node.data);
    if (node.nodeType !== Node.ELEMENT_NODE) return "";
    const at = Array.from(node.attributes, a => a.name + "=" + JSON.stringify(a.value)).sort();
    return "<" + node.tagName + " " + at.join(" ") + ">"
      + Array.from(node.childNodes, canonical).join("") + "</>";
  }
  const results = [];
  for (const [i, html] of fields.entries()) {
    const original = render(html);
    const before = describe(original);
    const text = original.textContent;
    for (const [name, config] of Object.entries(configs)) {
      const clean = DOMPurify.sanitize(html, config);
      const sanitized = render(clean);
      const after = describe(sanitized);
      const diffs = [];
      if (JSON.stringify(before) !== JSON.stringify(after)) {
        if (before.length !== after.length) {
          diffs.push("element count " + before.length + " -> " + after.length);
        }
        for (let k = 0; k < Math.min(before.length, after.length); k++) {
          if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
            diffs.push(JSON.stringify(before[k]) + " -> " + JSON.stringify(after[k]));
            break;
          }
        }
      }
      if (sanitized.textContent !== text) diffs.push("text differs");
      const sameDom = canonical(original) === canonical(sanitized);
      if (!sameDom) diffs.push("DOM differs beyond attribute order");
      results.push({i: i, config: name, svgs: before.filter(d => d.tag === "svg").length,
                    same: diffs.length === 0, diffs: diffs,
                    stripped: stripped(original, sanitized), unchanged: clean === html,
                    sameDom: sameDom});
      host.removeChild(sanitized);
    }
    host.removeChild(original);
  }
  return {results: results, version: DOMPurify.version, errors: window.__cgErrors};
};
"""


# ---------------------------------------------------------------- requirements


def require_file(path: Path, reason: str) -> Path:
    """``path`` if it exists; else skip with ``reason`` (fail under CARDGEN_REQUIRE_ALL=1),
    like conftest's ``require``."""
    if path.is_file():
        return path
    message = f"{path.relative_to(HERE.parent)} is missing: {reason}"
    if require_all():
        pytest.fail(f"{message} [{REQUIRE_ALL_ENV}=1: it is required]", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def mathjax() -> Path:
    return require_file(MATHJAX_JS, f"MathJax 3 for the browser ({NPM_HINT})")


@pytest.fixture(scope="module")
def purify() -> Path:
    return require_file(PURIFY_JS, f"DOMPurify for the browser ({NPM_HINT})")


# ---------------------------------------------------------------- the browser


class Browser:
    """Headless Chromium over the DevTools protocol on a pipe: commands go to the browser's
    fd 3, replies and events come back on its fd 4, each a JSON message ended by NUL."""

    def __init__(self, exe: str, profile: str) -> None:
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        # Move the child's ends out of the way of fds 3 and 4 before dup2-ing them there.
        child_in = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(out_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(out_w)
        self.log = Path(profile) / "chromium.log"
        args = [exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
                "about:blank"]
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                   (os.POSIX_SPAWN_OPEN, 2, str(self.log), os.O_WRONLY | os.O_CREAT, 0o600),
                   (os.POSIX_SPAWN_DUP2, child_in, 3), (os.POSIX_SPAWN_DUP2, child_out, 4)]
        try:
            self.pid = os.posix_spawn(exe, args, os.environ, file_actions=actions, setsid=True)
        finally:
            os.close(child_in)
            os.close(child_out)
        self._w, self._r = cmd_w, out_r
        self._buffer = b""
        self._next = 0
        self._replies: dict[int, dict] = {}
        self.events: list[dict] = []
        self._targets: dict[str, str] = {}

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._w, data):]
        return self._next

    def _pump(self, deadline: float) -> None:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from Chromium in time; its log:\n"
                                   + self.log.read_text(errors="replace")[-2000:])
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium exited; its log:\n"
                                       + self.log.read_text(errors="replace")[-2000:])
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message = json.loads(raw)
        if "id" in message:
            self._replies[message["id"]] = message
        else:
            self.events.append(message)

    def reply(self, ident: int, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while ident not in self._replies:
            self._pump(deadline)
        message = self._replies.pop(ident)
        if "error" in message:
            raise RuntimeError(f"DevTools error: {message['error']}")
        return message["result"]

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 120) -> dict:
        return self.reply(self.send(method, params, session), timeout)

    def wait_event(self, method: str, session: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for k, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self.events.pop(k)
            self._pump(deadline)

    def problems(self, session: str) -> list[str]:
        """Console errors, exceptions and failed loads reported for a tab."""
        found = []
        for event in self.events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                found.append("exception: " + str(details.get("exception", {}).get(
                    "description", details.get("text"))))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error",
                                                                                "warning"):
                found.append(params["type"] + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append("log: " + params["entry"]["text"] + " "
                             + params["entry"].get("url", ""))
        return found

    def tab(self, width: int, height: int = 900) -> str:
        """A new tab ``width`` px wide; returns its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        self._targets[session] = target
        for method in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(method, session=session)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  session=session)
        return session

    def close_tab(self, session: str) -> None:
        self.call("Target.closeTarget", {"targetId": self._targets.pop(session)})

    def open(self, sessions_urls: list[tuple[str, str]], timeout: float = 120) -> None:
        """Navigate tabs (all at once) and wait until each has loaded."""
        for session, url in sessions_urls:
            self.call("Page.navigate", {"url": url}, session=session)
        for session, _ in sessions_urls:
            self.wait_event("Page.loadEventFired", session, timeout)

    def evaluate_all(self, calls: list[tuple[str, str]], timeout: float = 170) -> list:
        """Evaluate (session, expression) pairs concurrently; each awaits its promise."""
        idents = [self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                 "returnByValue": True}, session)
                  for session, expression in calls]
        values = []
        for ident in idents:
            result = self.reply(ident, timeout)
            if "exceptionDetails" in result:
                raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
            values.append(result["result"].get("value"))
        return values

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except OSError:
            pass
        for _ in range(50):
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        else:
            try:
                os.killpg(self.pid, signal.SIGKILL)  # the group setsid gave our Chromium
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
        os.close(self._w)
        os.close(self._r)


@pytest.fixture(scope="module")
def browser():
    exe = require_executable("chromium", "chromium-browser", "google-chrome")
    with tempfile.TemporaryDirectory() as profile:
        chrome = Browser(exe, profile)
        try:
            yield chrome
        finally:
            chrome.close()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the test pages at / and the JavaScript where Anki's reviewer finds it."""

    routes: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in self.routes.items():
            if path.startswith(prefix):
                return str(folder / path[len(prefix):])
        return super().translate_path(path)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, folder for pages), from a server on 127.0.0.1 that lives for the module."""
    pages = tmp_path_factory.mktemp("pages")
    handler = type("Handler", (_Handler,), {"routes": {
        "/_anki/js/vendor/mathjax/": MATHJAX_DIR,
        "/_anki/js/vendor/dompurify/": PURIFY_JS.parent,
    }})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(pages)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", pages
    httpd.shutdown()
    httpd.server_close()


# ---------------------------------------------------------------- the cards, as Anki renders them


def _cli_build(folder: Path) -> Path:
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    result = subprocess.run([sys.executable, "-m", "cardgen", "build"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    return folder / line.split()[0]


def _seed_recipe(seed: int):
    from cardgen.families import FAMILIES
    from cardgen.recipes import parse_recipe

    tables = "".join(f'[families."{name}"]\ncount = {PER_FAMILY}\n' for name in FAMILIES)
    return parse_recipe(f'[deck]\nname = "Typeset seed {seed}"\nseed = {seed}\n{tables}',
                        f"typeset-{seed}.toml")


def reviewer_question(html: str, font: str, size: int) -> str:
    """qt/aqt/reviewer.py typeAnsQuestionFilter, for a note whose Answer is not empty."""
    return TYPE_ANS.sub(lambda m: f"""
<center>
<input type=text id=typeans onkeypress="_typeAnsPress();"
   style="font-family: '{font}'; font-size: {size}px;">
</center>
""", html)


def reviewer_answer(html: str, font: str, size: int, compared: str) -> str:
    """qt/aqt/reviewer.py typeAnsAnswerFilter; ``compared`` is col.compare_answer(...)."""
    original = html
    html = html.replace("<hr id=answer>", "")
    had_hr = len(html) != len(original)
    if had_hr and not TYPE_ANS.search(html):
        return original
    block = f"""
<div style="font-family: '{font}'; font-size: {size}px">{compared}</div>"""
    if had_hr:
        block = "<hr id=answer>" + block
    return TYPE_ANS.sub(lambda m: block, html)


def _anki_cards(path: Path, deck: str, folder: Path) -> tuple[str, list[dict]]:
    """(the note type's CSS, every card as the desktop reviewer shows it)."""
    from anki.collection import Collection, ImportAnkiPackageRequest

    col = Collection(str(folder / "collection.anki2"))
    try:
        options = col._backend.get_import_anki_package_presets()  # what Anki desktop offers
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(path),
                                                         options=options))
        cards, css = [], None
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            note, model = card.note(), card.note_type()
            css = model["css"]
            field = next(f for f in model["flds"] if f["name"] == "Answer")
            style = f"<style>{css}</style>"
            question, answer = card.question(), card.answer()
            assert question.startswith(style) and answer.startswith(style)
            assert "[[type:Answer]]" in question and "[[type:Answer]]" in answer
            expected = note["Answer"]
            # the learner typed the right answer: the common case
            compared = col.compare_answer(expected, expected, True)
            spec = json.loads(note["Spec"])
            cards.append({
                "deck": deck, "family": spec["family"], "level": spec["level"],
                "tags": " ".join(t for t in note.tags if t.startswith(("cardgen::", "level::"))),
                "ord": card.ord, "worked": note["Worked"],
                "q": reviewer_question(question, field["font"], field["size"]),
                "a": reviewer_answer(answer, field["font"], field["size"], compared),
            })
        return css, cards
    finally:
        col.close()


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict:
    """The default deck and the every-family-every-level decks (seeds 1, 2, 3), imported."""
    require("anki", "Anki's renderer shows the cards")
    from cardgen.build import build_recipe

    root = tmp_path_factory.mktemp("typeset-decks")
    (root / "cli").mkdir()
    built = [("default", _cli_build(root / "cli"))]
    for seed in SEEDS:
        built.append((f"seed {seed}", build_recipe(_seed_recipe(seed), root / f"s{seed}",
                                                   EPOCH).path))
    css, cards = None, []
    for k, (name, path) in enumerate(built):
        (root / f"col{k}").mkdir()
        css_k, found = _anki_cards(path, name, root / f"col{k}")
        assert css in (None, css_k)
        css = css_k
        cards.extend(found)
    return {"css": css, "cards": cards}


def test_decks_cover_every_family_and_level(decks):
    from cardgen.families import FAMILIES
    from cardgen.recipes import default_recipe

    seen = Counter((c["family"], c["level"]) for c in decks["cards"] if c["deck"] != "default")
    wanted = {(name, level) for name, family in FAMILIES.items() for level in family.LEVELS}
    assert set(seen) == wanted
    assert all(n == PER_FAMILY for n in seen.values()), seen
    assert sum(c["deck"] == "default" for c in decks["cards"]) == default_recipe().total


# ---------------------------------------------------------------- pages


def _head(mode: str, body: str) -> str:
    """<html>…<head>: Anki's page CSS (BODY -> ``body``), MathJax config and MathJax."""
    html_class = ' class="night-mode"' if mode == "dark" else ""
    theme = "dark" if mode == "dark" else "light"
    return (f'<!doctype html>\n<html{html_class} dir="ltr" data-bs-theme="{theme}"><head>'
            f'<meta charset="utf-8"><title>cardgen typeset test</title>'
            '<link rel="icon" href="data:,">'
            f"<script>{ERROR_HOOK}</script>"
            f"<style>{ANKI_PAGE_CSS.replace('BODY', body)}</style>"
            f"<script>{ANKI_MATHJAX_CONFIG}</script>"
            f'<script src="/_anki/js/vendor/mathjax/tex-chtml-full.js"></script>')


def body_class(card: dict, mode: str) -> str:
    """qt/aqt/theme.py body_classes_for_card_ord, on Linux."""
    night = " nightMode night_mode" if mode == "dark" else ""
    return f"card card{card['ord'] + 1} isLin{night}"


def _strip_style(html: str, css: str) -> str:
    return html.removeprefix(f"<style>{css}</style>")


def measurement_page(cards: list[dict], css: str, mode: str) -> str:
    """Every card side in a box that stands in for the reviewer's <body>; the note type's
    CSS once in the head (Anki puts it in every side, the same text)."""
    boxes = []
    for i, card in enumerate(cards):
        for side in ("q", "a"):
            boxes.append(f'<div class="cg-body {body_class(card, mode)}" data-i="{i}" '
                         f'data-side="{side}"><div class="cg-qa" dir="auto">'
                         f"{_strip_style(card[side], css)}</div></div>")
    # The card's script runs as the page parses (each box its own card); a fixed
    # Math.random makes it show variant 0 (test_variants_browser measures every variant).
    return (_head(mode, "div:where(.cg-body)") + f"<style>{css}</style>"
            "<script>Math.random = function () { return 0; };</script>"
            f"<script>{MEASURE_JS}</script></head>"
            f'<body style="margin:0;padding:1px 0">{"".join(boxes)}</body></html>')


def reviewer_page(card: dict, side: str, mode: str) -> str:
    """One side exactly as the reviewer's page holds it (qt/aqt/reviewer.py revHtml)."""
    return (_head(mode, "body") + f"<script>{SHOT_JS}</script></head>"
            f'<body class="{body_class(card, mode)}">'
            '<div id="_mark" hidden>&#x2605;</div><div id="_flag" hidden>&#x2691;</div>'
            f'<div id="qa" dir="auto">{card[side]}</div></body></html>')


# ---------------------------------------------------------------- typesetting and measuring


@pytest.fixture(scope="module")
def measured(mathjax, browser, decks, server) -> dict:
    """{(width, mode): what the page script found}. One page per variant, one after the
    other: tabs typesetting side by side are throttled and take longer than in turn."""
    base, pages = server
    results = {}
    for width, mode in VARIANTS:
        name = f"typeset-{width}-{mode}.html"
        (pages / name).write_text(measurement_page(decks["cards"], decks["css"], mode),
                                  encoding="utf-8")
        session = browser.tab(width)
        browser.open([(session, base + name)])
        [value] = browser.evaluate_all([(session, "cgRun()")])
        assert value and "error" not in value, ((width, mode), value, browser.problems(session))
        value["problems"] = [p for p in browser.problems(session) + value.pop("errors")
                             if not KNOWN_MATHJAX_WARNING.search(p)]
        results[(width, mode)] = value
        browser.close_tab(session)
        (pages / name).unlink()
    return results


def overflow_report(cards: list[dict], failing: list[dict], result: dict, width: int,
                    mode: str, what: str, key: str) -> str:
    """Per family: cards, cards with a finding (front or back), the worst in px (``key``)
    with that card's tags and a snippet (the TeX of the formula at fault)."""
    by_card: dict[int, list[dict]] = defaultdict(list)
    for f in failing:
        by_card[f["i"]].append(f)
    totals = Counter(c["family"] for c in cards)
    over = Counter(cards[i]["family"] for i in by_card)
    default_total = sum(c["deck"] == "default" for c in cards)
    default_over = sum(cards[i]["deck"] == "default" for i in by_card)
    fronts = sum(any(f["side"] == "q" for f in fs) for fs in by_card.values())
    lines = [f"{width} px {mode}: {len(by_card)} of {len(cards)} cards {what} "
             f"({fronts} already on the front; default deck: {default_over} of "
             f"{default_total}). Card box {result['containerWidth']:.0f} px wide; "
             f"{result['mathItems']} formulas typeset in {result['typesetMs'] / 1000:.1f} s",
             f"{'family':26} {'cards':>5} {'found':>5} {'worst px':>8}  worst card"]
    for family in sorted(totals):
        found = [f for i, fs in by_card.items() if cards[i]["family"] == family for f in fs]
        if not found:
            lines.append(f"{family:26} {totals[family]:5} {0:5}")
            continue
        worst = max(found, key=lambda f: f[key])
        card = cards[worst["i"]]
        side = "front" if worst["side"] == "q" else "back"
        levels = Counter(cards[i]["level"] for i in by_card if cards[i]["family"] == family)
        detail = ", ".join(worst["reasons"]) if key == "px" else "scrolls sideways"
        snippet = worst["snippet"] if key == "px" else worst["scrollWhy"]
        lines.append(f"{family:26} {totals[family]:5} {over[family]:5} {worst[key]:8.1f}  "
                     f"{card['tags']} ({card['deck']} deck, {side}: {detail})")
        lines.append(f"{'':28}by level {dict(sorted(levels.items()))}; {snippet[:120]}")
    return "\n".join(lines)


@pytest.mark.parametrize(("width", "mode"), VARIANTS, ids=[f"{w}px-{m}" for w, m in VARIANTS])
def test_nothing_runs_off_the_card_once_typeset(decks, measured, width, mode):
    """Nothing visible past the card's edges: no element, text, formula or diagram."""
    result = measured[(width, mode)]
    assert result["boxes"] == 2 * len(decks["cards"])
    failing = [f for f in result["failing"] if f["reasons"]]
    report = overflow_report(decks["cards"], failing, result, width, mode, "run off the card",
                             "px")
    print(report)
    assert not failing, "\n" + report


@pytest.mark.parametrize(("width", "mode"), VARIANTS, ids=[f"{w}px-{m}" for w, m in VARIANTS])
def test_no_card_scrolls_sideways(decks, measured, width, mode):
    """The card box is not wider inside than outside. Besides what runs off visibly, MathJax's
    assistive MathML (a clipped copy of each formula for screen readers, which
    tex-chtml-full.js adds in Anki as here) is laid out at its full width and can make the
    reviewer's page scroll sideways though nothing visible is cut off."""
    result = measured[(width, mode)]
    failing = [f for f in result["failing"] if f["scroll"]]
    report = overflow_report(decks["cards"], failing, result, width, mode,
                             "scroll sideways", "scroll")
    only_hidden = sum(1 for f in failing if not f["reasons"])
    report += f"\n({only_hidden} card sides scroll only because of hidden assistive MathML)"
    print(report)
    assert not failing, "\n" + report


def test_mathjax_typesets_every_formula_without_errors(measured):
    for variant in VARIANTS:
        result = measured[variant]
        assert result["mathItems"] > 0, variant
        assert result["merrors"] == 0, (variant, result["merrors"])
        assert not result["problems"], (variant, result["problems"][:10])


def test_typeset_screenshots_for_a_person(mathjax, decks, measured, browser, server):
    """At 360 px, light and dark: one card per family (its back, which holds the front), the
    one that runs furthest off the card if any does. Written to tests/artifacts/."""
    base, pages = server
    cards = decks["cards"]
    worst: dict[str, tuple[float, int]] = {}
    for f in measured[(PHONE, "light")]["failing"]:
        family = cards[f["i"]]["family"]
        if f["px"] > worst.get(family, (-1, 0))[0]:
            worst[family] = (f["px"], f["i"])
    picks = {}
    for i, card in enumerate(cards):
        if card["deck"] == "default":
            picks.setdefault(card["family"], i)
    for i, card in enumerate(cards):  # a family the default deck leaves out
        picks.setdefault(card["family"], i)
    picks.update({family: i for family, (_, i) in worst.items()})
    ARTIFACTS.mkdir(exist_ok=True)
    sessions = {mode: browser.tab(PHONE) for mode in ("light", "dark")}
    written = []
    for family, i in sorted(picks.items()):
        for mode, session in sessions.items():
            name = f"shot-{family}-{mode}.html"
            (pages / name).write_text(reviewer_page(cards[i], "a", mode), encoding="utf-8")
            browser.open([(session, base + name)])
            [shot] = browser.evaluate_all([(session, "cgShot()")])
            assert not shot["errors"], shot["errors"]
            image = browser.call("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": PHONE, "height": min(shot["height"], 16000),
                         "scale": 1}}, session=session)
            path = ARTIFACTS / f"typeset-{family}-{mode}.png"
            path.write_bytes(base64.b64decode(image["data"]))
            written.append(path)
    for session in sessions.values():
        browser.close_tab(session)
    print("\n".join(str(p.relative_to(HERE.parent)) for p in written))
    assert len(written) == 2 * len(picks) == 2 * len({c["family"] for c in cards})
    assert all(p.stat().st_size > 1000 for p in written)


# ---------------------------------------------------------------- DOMPurify


def test_worked_fields_survive_dompurify(purify, browser, decks, server):
    """Anki 25.02.1's editor ran every field through DOMPurify when it opened a note
    (ts/lib/domlib/sanitize.ts: ``{FORCE_BODY: true}``); DOMPurify's default config too.
    The diagrams must come out the same: tag tree, classes, every element's getBBox and
    the svg's box; and the field's text (the steps' TeX) must be unchanged."""
    base, pages = server
    cards = [c for c in decks["cards"] if c["deck"] == "default"]
    fields = [c["worked"] for c in cards]
    payload = json.dumps(fields).replace("<", "\\u003c")
    page = (_head("light", "div:where(.cg-body)").replace(
                '<script src="/_anki/js/vendor/mathjax/tex-chtml-full.js"></script>', "")
            + f"<style>{decks['css']}</style>"
            + '<script src="/_anki/js/vendor/dompurify/purify.min.js"></script>'
            + f"<script>{PURIFY_JS_RUN}</script></head>"
            + f'<body style="margin:0"><script type="application/json" id="cg-fields">{payload}'
            + '</script><div id="cg-host"></div></body></html>')
    (pages / "purify.html").write_text(page, encoding="utf-8")
    session = browser.tab(PHONE)
    browser.open([(session, base + "purify.html")])
    [out] = browser.evaluate_all([(session, "cgPurify()")])
    problems = browser.problems(session)
    browser.close_tab(session)
    assert out["version"] == "3.2.5"
    assert not out["errors"] and not problems, (out["errors"], problems)
    results = out["results"]
    assert len(results) == 2 * len(fields)
    assert sum(r["svgs"] for r in results) > 0
    stripped = Counter(s for r in results for s in r["stripped"])
    changed = Counter(r["config"] for r in results if not r["unchanged"])
    other_dom = Counter(r["config"] for r in results if not r["sameDom"])
    print(f"DOMPurify {out['version']}, {len(fields)} Worked fields: HTML text changed "
          f"{dict(changed)}; DOM other than attribute order changed {dict(other_dom)}; "
          f"stripped (fields x configs): {dict(stripped)}")
    bad = [r for r in results if not r["same"]]
    assert not bad, "\n".join(
        f"{cards[r['i']]['tags']} [{r['config']}]: {'; '.join(r['diffs'])[:300]}"
        for r in bad[:10]) + f"\n({len(bad)} field renders differ; stripped: {dict(stripped)})"
