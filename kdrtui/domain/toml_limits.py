"""The limits a plan file must keep that ``tomllib`` does not enforce, checked before and after it parses.

``tomllib`` recurses once per nested array or inline table, so a few hundred ``[`` exhaust Python's
stack; a dotted key of thousands of parts takes it seconds (its checks are quadratic in the parts); and it
reads decimal integers with ``int()``, which refuses more than 4,300 digits. :func:`text_problem` looks
at the text first (strings and comments skipped) so none of that happens, and gives the line to blame.
After parsing, the plan's own pass 1 (:func:`kdrtui.domain.plan_refused.strip_refused`) applies the same
nesting limit to the data, whatever made it deep (long dotted headers), and TOML's 64-bit integer range.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_NESTING = 32
"""Tables and arrays nest at most this deep, and a key has at most this many dotted parts (a plan needs 3)."""
NESTING_MESSAGE = f"tables and arrays nested more than {MAX_NESTING} deep (a plan needs 3 levels)"
KEY_PARTS_MESSAGE = f"a key of more than {MAX_NESTING} dotted parts (a plan needs 3)"

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""TOML integers are 64-bit signed: a parser must refuse what it cannot represent losslessly."""
INT_DIGITS = 4300
"""Python's ``int()`` refuses decimal strings longer than this (``sys.get_int_max_str_digits()``)."""
LONG_INTEGER_MESSAGE = (
    f"invalid TOML: an integer of more than {INT_DIGITS:,} digits; TOML integers are 64-bit "
    f"({INT_MIN} to {INT_MAX})"
)

_QUOTE_OR_COMMENT = re.compile("[\"'#]")
_STRUCTURE = re.compile(r"[\[\]{}\n=,.]")
_LONG_DIGITS = re.compile(rf"(?<![0-9_])(?:_?[0-9]){{{INT_DIGITS + 1},}}")


def is_escaped(text: str, pos: int) -> bool:
    """Whether the character at ``pos`` is preceded by an odd number of backslashes."""
    count = 0
    while pos - count - 1 >= 0 and text[pos - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def string_end(text: str, start: int) -> int | None:
    """Where the TOML string opening at ``start`` ends (just past its closing quote); None if it does not."""
    quote = text[start]
    if text.startswith(quote * 3, start):
        i = start + 3
        while True:
            j = text.find(quote * 3, i)
            if j < 0:
                return None
            if quote == '"' and is_escaped(text, j):
                i = j + 1
                continue
            end = j + 3
            # Up to two quotes may sit right before the closing delimiter.
            extra = 0
            while extra < 2 and text.startswith(quote, end):
                end += 1
                extra += 1
            return end
    i = start + 1
    while True:
        j = text.find(quote, i)
        if j < 0 or text.find("\n", i, j) >= 0:
            return None
        if quote == '"' and is_escaped(text, j):
            i = j + 1
            continue
        return j + 1


def _unquoted(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) spans of ``text`` outside strings and comments, up to a string that never ends
    (``tomllib`` stops there, so nothing after it matters)."""
    pos = 0
    while True:
        match = _QUOTE_OR_COMMENT.search(text, pos)
        if match is None:
            yield pos, len(text)
            return
        yield pos, match.start()
        if match.group() == "#":
            end = text.find("\n", match.start())
            if end < 0:
                return
            pos = end
            continue
        after = string_end(text, match.start())
        if after is None:
            return
        pos = after


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def text_problem(text: str) -> tuple[int, str] | None:
    """The first place ``text`` nests arrays and inline tables, or dots a key, past :data:`MAX_NESTING`:
    (line, message); None when it keeps the limits."""
    depth = 0
    dots = 0
    for start, end in _unquoted(text):
        for match in _STRUCTURE.finditer(text, start, end):
            char = match.group()
            if char == ".":
                dots += 1
                if dots >= MAX_NESTING:
                    return _line(text, match.start()), KEY_PARTS_MESSAGE
                continue
            dots = 0
            if char in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    return _line(text, match.start()), NESTING_MESSAGE
            elif char in "]}":
                depth = max(0, depth - 1)
    return None


def long_integer_line(text: str) -> int | None:
    """The line of the first number (outside strings and comments) too long for ``int()``, if any."""
    for start, end in _unquoted(text):
        match = _LONG_DIGITS.search(text, start, end)
        if match is not None:
            return _line(text, match.start())
    return None
