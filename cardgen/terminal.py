"""Text from files shown on a terminal: nothing in it may move the cursor, recolour,
clear the screen, reorder the line (bidi controls) or start a new line."""

from __future__ import annotations

import unicodedata

__all__ = ["terminal_safe"]

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


def terminal_safe(text: object, *, backslash: bool = True) -> str:
    """`text` with every control, format, surrogate, private-use or unassigned character
    written as a Python escape, and the backslash too (so that an escape cannot be forged)
    unless `backslash` is False (for messages that already quote data with repr)."""
    line = str(text)
    if line.isprintable() and not (backslash and "\\" in line):
        return line  # the common case, in C
    return "".join(_escape(c) if (c == "\\" and backslash)
                   or (unicodedata.category(c)[0] in "CZ" and c != " ") else c for c in line)
