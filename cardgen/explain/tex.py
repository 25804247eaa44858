"""MathJax layout shared by the writers: aligned display rows that fit a phone."""

from __future__ import annotations

from collections.abc import Sequence


def display_rows(rows: Sequence[tuple[str | None, str]]) -> str:
    """Display math, one equality per row, aligned on "=": ``("", x)`` continues with
    ``= x``, ``(None, x)`` continues the expression above, indented. MathJax never
    breaks a formula, and a phone's card is about 320 px wide: no row may be wider than
    that once typeset."""
    body = r" \\ ".join([f"&\\quad {rhs}" if lhs is None else f"{lhs} &= {rhs}"
                           for lhs, rhs in rows])
    return f"\\[ \\begin{{aligned}} {body} \\end{{aligned}} \\]"
