"""Outside text made safe to print on one terminal line: control characters escaped, long text cut.

Plan files (and the paths they are read from) are outside text: a value may hold an escape sequence that
clears the screen or sets the window title, a newline that starts a line imitating another problem, or
20 MB of one name. Every place that puts such text into a message goes through :func:`shown` or
:func:`quoted`, and so does each part of a problem where it becomes a line (the last safety net).

Escaped are the C0 controls, DEL and the C1 controls (``\\x1b``, ``\\n``, ``\\t``...), the Unicode line
and paragraph separators and bidirectional controls (which move or reorder text on a line) and lone
surrogates (which cannot be encoded). Backslashes are left alone: a Windows path or a regular expression
stays readable, and an escape can make no character that moves the cursor.
"""

from __future__ import annotations

import re

SHOWN_CHARS = 80
"""How much of a value a message shows before cutting it."""

UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""Characters never printed as they are: control characters, line separators, bidi controls."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_INT_BITS = 128
"""Integers wider than this (39 digits) are described by their size; str() refuses past 4,300 digits."""


def _escape_char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every unsafe character written as an escape (``\\x1b``, ``\\n``, ``\\u2028``)."""
    if UNSAFE.search(text) is None:
        return text
    return UNSAFE.sub(lambda match: _escape_char(match.group()), text)


def first_unsafe(text: str) -> tuple[str, int] | None:
    """The first unsafe character of ``text``, escaped, and its 1-based position; None when there is none."""
    match = UNSAFE.search(text)
    if match is None:
        return None
    return _escape_char(match.group()), match.start() + 1


def _cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` escaped, cut (between escapes) to at most ``limit`` characters; whether it was cut."""
    head = escape(text[:limit])
    if len(text) <= limit and len(head) <= limit:
        return head, False
    kept: list[str] = []
    used = 0
    for char in text[:limit]:
        piece = _escape_char(char) if UNSAFE.fullmatch(char) else char
        if used + len(piece) > limit:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept), True


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` escaped and, past ``limit`` characters, cut with its length.

    ``aaaa… (20,971,520 characters)``: cut between escapes, so at most ``limit`` characters are shown.
    """
    head, cut = _cut(text, limit)
    return f"{head}… ({len(text):,} characters)" if cut else head


def quoted(text: str, limit: int = SHOWN_CHARS, *, size: bool = True) -> str:
    """``text`` in single quotes, escaped and cut like :func:`shown`: ``'aaaa…' (20,971,520 characters)``.

    ``size=False`` leaves the length out, for a message that gives it already.
    """
    head, cut = _cut(text, limit)
    if not cut:
        return f"'{head}'"
    return f"'{head}…' ({len(text):,} characters)" if size else f"'{head}…'"


def shown_int(value: int) -> str:
    """An integer in digits, or by its size when it is too long to read (or for ``str()`` to print)."""
    if value.bit_length() <= _INT_BITS:
        return str(value)
    sign = "a negative " if value < 0 else "a "
    return f"{sign}{value.bit_length():,}-bit integer"
