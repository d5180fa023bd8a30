"""Outside text on one terminal line: control characters escaped, long text cut with its length."""

from __future__ import annotations

import pytest

from kdrtui.domain.safe_text import SHOWN_CHARS, escape, first_unsafe, quoted, shown, shown_int


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("eastus", "eastus"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
        ("a\nb\tc\rd", "a\\nb\\tc\\rd"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),
        ("line\u2028sep\u2029", "line\\u2028sep\\u2029"),
        ("bidi\u202etxt\u2066", "bidi\\u202etxt\\u2066"),
        ("lone\ud800", "lone\\ud800"),
        # Printable text, backslashes included, stays as it is.
        ("C:\\plans\\orders.toml é中😀 \u00a0", "C:\\plans\\orders.toml é中😀 \u00a0"),
    ],
)
def test_escape_writes_unsafe_characters_as_escapes(text: str, escaped: str) -> None:
    assert escape(text) == escaped
    assert len(escape(text).splitlines()) <= 1


def test_first_unsafe_is_one_based() -> None:
    assert first_unsafe("eastus") is None
    assert first_unsafe("eas\x1bt") == ("\\x1b", 4)
    assert first_unsafe("\tx") == ("\\t", 1)


def test_short_text_is_shown_whole() -> None:
    text = "a" * SHOWN_CHARS
    assert shown(text) == text
    assert quoted(text) == f"'{text}'"


def test_long_text_is_cut_with_its_length() -> None:
    text = "a" * 20_971_520
    assert shown(text) == "a" * SHOWN_CHARS + "… (20,971,520 characters)"
    assert quoted(text) == "'" + "a" * SHOWN_CHARS + "…' (20,971,520 characters)"
    assert quoted(text, 8, size=False) == "'aaaaaaaa…'"


def test_cutting_keeps_escapes_whole_and_the_limit() -> None:
    text = "\x1b" * 30
    cut = shown(text, 10)
    assert cut == "\\x1b\\x1b… (30 characters)"
    # Short, but longer than the limit once escaped: cut too.
    assert shown("\n" * 6, 10) == "\\n\\n\\n\\n\\n… (6 characters)"


def test_shown_int_describes_huge_integers_by_size() -> None:
    assert shown_int(9223372036854775808) == "9223372036854775808"
    assert shown_int(-(2**128) + 1) == str(-(2**128) + 1)
    assert shown_int(16**20_000) == "a 80,001-bit integer"
    assert shown_int(-(16**20_000)) == "a negative 80,001-bit integer"
