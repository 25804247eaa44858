"""A self-contained HTML page showing every card of a deck, light and dark.

The page uses the deck's own CSS and shows each note as Anki's answer side would
(question, the type-in box, the separator, the answer and the worked solution),
once in light mode and once inside a ``nightMode night_mode card`` wrapper. It needs
no JavaScript and loads nothing: the TeX that Anki typesets with MathJax is turned into
MathML here (:mod:`cardgen.render.mathml`), which browsers typeset themselves.

Field HTML (``front``, ``answer``, ``worked``) is what cardgen stores in Anki and is
inserted as markup; everything from a user's recipe (title, description, tags) is
escaped.
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup

from cardgen.render.jinja import environment
from cardgen.render.mathml import tex_to_mathml

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ css }}</style>
<style>{{ page_css }}</style>
</head>
<body class="pv-body">
<header class="pv-head">
<h1>{{ title }}</h1>
{% if description %}<p>{{ description }}</p>{% endif %}
<p class="pv-meta">{{ cards|length }} card{{ "" if cards|length == 1 else "s" }};
light and night mode; math typeset as MathML (no script, works offline).</p>
</header>
{% for card in cards %}
<section class="pv-note">
<h2>{{ loop.index }}
{%- for tag in card.tags %} <span class="pv-tag">{{ tag }}</span>{% endfor %}</h2>
<div class="pv-modes">
{% for mode, classes in modes %}
<div class="pv-mode {{ classes }}">
<div class="pv-label">{{ mode }}</div>
<div class="cg-q">{{ card.front }}<div class="pv-typeans">type the answer</div></div>
<hr id=answer>
<div class="cg-back"><div class="cg-answer">{{ card.answer }}</div>
<div class="cg-worked">{{ card.worked }}</div></div>
</div>
{% endfor %}
</div>
</section>
{% endfor %}
</body>
</html>
"""

_PAGE_CSS = """
html { -webkit-text-size-adjust: 100%; }
body.pv-body { margin: 0 auto; padding: 12px 8px 40px; max-width: 1100px; background: #d9dce2;
  font-family: system-ui, sans-serif; color: #1f2430; }
.pv-head h1 { font-size: 1.3em; margin: .2em 0; overflow-wrap: anywhere; }
.pv-head p { margin: .3em 0; overflow-wrap: anywhere; }
.pv-meta { color: #555b66; font-size: .9em; }
.pv-note { margin: 18px 0; }
.pv-note h2 { font-size: .95em; margin: 0 0 6px; color: #3b4250; }
.pv-tag { font-weight: 400; font-size: .85em; background: #eef0f4; border-radius: 4px;
  padding: 0 .35em; overflow-wrap: anywhere; }
.pv-modes { display: grid; gap: 10px;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); }
.pv-mode { min-width: 0; padding: 12px 14px; border-radius: 10px;
  box-shadow: 0 1px 3px rgba(0, 0, 0, .25); }
.pv-label { font-size: 11px; letter-spacing: .08em; text-transform: uppercase;
  color: var(--cg-mute); margin-bottom: 4px; }
.pv-typeans { box-sizing: border-box; max-width: 20em; margin: .6em auto 0; padding: .35em .5em;
  font: .9em ui-monospace, Menlo, Consolas, monospace; color: var(--cg-mute);
  border: 1px solid var(--cg-line); border-radius: 6px; background: var(--cg-cell); }
math[display="block"] { margin: .35em 0; }
@media (max-width: 480px) { .pv-mode { padding: 10px 8px; } .card { font-size: 16px; } }
"""


def _field(html: object) -> Markup:
    return Markup(tex_to_mathml(str(html)) if html is not None else "")


def _tags(tags: object) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str):
        return tags.split()
    if isinstance(tags, Iterable):
        return [str(t) for t in tags]
    return [str(tags)]


def preview_html(cards: list[dict], css: str, title: str, description: str = "") -> str:
    """One HTML page with every card's front and back, light and dark.

    ``cards``: dicts with ``front``, ``answer``, ``worked`` (field HTML, trusted) and
    ``tags`` (a list or a space-separated string, escaped). ``css`` is the deck's CSS;
    ``title`` and ``description`` come from the user's recipe and are escaped.
    """
    rows = [{"front": _field(c.get("front")), "answer": _field(c.get("answer")),
             "worked": _field(c.get("worked")), "tags": _tags(c.get("tags"))} for c in cards]
    # the CSS is ours, but never let it close its <style> element
    safe_css = Markup(css.replace("</", "<\\/"))
    return environment().from_string(_PAGE).render(
        cards=rows, css=safe_css, page_css=Markup(_PAGE_CSS), title=title,
        description=description,
        modes=[("light", "card"), ("night", "card nightMode night_mode")])
