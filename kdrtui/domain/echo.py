"""Outside text made safe to print: control characters escaped, long values cut with their size.

Anything kdrtui echoes that it did not write itself (a plan's keys and values, a state file's fields, a
broker's error) goes through :func:`echo` (a value, quoted when it is a string) or :func:`safe_text`
(running text), so it can neither drive the terminal (ESC sequences) nor start a line of its own that
imitates another message, and a 20 MB value is not printed in full.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char, f"\\x{ord(char):02x}")


def control_position(text: str) -> int | None:
    """The index of the first control character (C0, DEL, C1) in ``text``, or None."""
    found = _CONTROL.search(text)
    return None if found is None else found.start()


def safe_text(text: str, limit: int = 400) -> str:
    """``text`` on one line: control characters as ``\\x1b``/``\\n``, cut to ``limit`` characters (the
    middle goes, so the start and the end stay readable) with the full size said."""
    escaped = _CONTROL.sub(_escape, text)
    if len(escaped) <= limit:
        return escaped
    keep = max(8, (limit - 40) // 2)
    return f"{escaped[:keep]}… [{len(text):,} characters] …{escaped[-keep:]}"


def echo(value: object, limit: int = 60) -> str:
    """A value as a message quotes it: a string in quotes (escaped, and cut with its size when longer
    than ``limit``: ``'aaaa…' (20,971,520 characters)``), anything else by its ``repr``, also cut."""
    if isinstance(value, str):
        escaped = _CONTROL.sub(_escape, value)
        if len(escaped) <= limit:
            return f"'{escaped}'"
        return f"'{escaped[: max(1, limit - 1)]}…' ({len(value):,} characters)"
    shown = _CONTROL.sub(_escape, repr(value))
    if len(shown) <= limit:
        return shown
    return f"{shown[: max(1, limit - 1)]}… ({len(shown):,} characters)"
