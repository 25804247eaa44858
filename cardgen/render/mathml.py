"""TeX in field HTML to MathML, for the preview page: typeset math with no script and no
network. Chromium, Firefox and Safari render MathML themselves; Anki typesets the same TeX
with MathJax. cardgen writes a small TeX vocabulary (fractions, floors and ceilings,
``aligned`` rows), which latex2mathml covers; ``aligned`` becomes a two-column table
here, because latex2mathml flattens it into one line."""

from __future__ import annotations

import html
import re

_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_ALIGNED = re.compile(r"^\s*\\begin\{aligned\}(.*)\\end\{aligned\}\s*$", re.S)
_OUTER = re.compile(r"^<math[^>]*>(.*)</math>$", re.S)


def _inner(tex: str) -> str:
    """The MathML content of one TeX expression, without its <math> element."""
    from latex2mathml.converter import convert

    if not tex.strip():
        return ""
    match = _OUTER.match(convert(tex))
    return match.group(1) if match else ""


def _block(tex: str) -> str:
    aligned = _ALIGNED.match(tex)
    if not aligned:
        return f'<math display="block">{_inner(tex)}</math>'
    rows = []
    for row in re.split(r"\\\\", aligned.group(1)):
        left, _, right = row.partition("&")
        rows.append(f'<mtr><mtd style="text-align:right">{_inner(left)}</mtd>'
                    f'<mtd style="text-align:left">{_inner(right)}</mtd></mtr>')
    return f'<math display="block"><mtable>{"".join(rows)}</mtable></math>'


def _replace(match: re.Match[str]) -> str:
    inline, display = match.groups()
    tex = html.unescape(inline if inline is not None else display)
    try:
        return f"<math>{_inner(tex)}</math>" if inline is not None else _block(tex)
    except Exception:  # latex2mathml refuses some TeX: show the source rather than fail
        return match.group(0)


def tex_to_mathml(field_html: str) -> str:
    """Field HTML with every ``\\( \\)`` and ``\\[ \\]`` replaced by MathML."""
    return _MATH.sub(_replace, field_html)
