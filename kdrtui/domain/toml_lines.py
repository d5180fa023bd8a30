"""Where each key of a TOML document is written, so a problem can point at its line.

``tomllib`` gives values but no positions. :func:`line_index` scans the source once more and records the
line of every table header, array-of-tables entry, key and array item, addressed by the same path a
validator reports: ``("clusters", "dr", "hdinsight", "name")`` or ``("flows", 0, "target")``. The scanner
trusts that the text already parsed with ``tomllib``; on anything it does not understand it stops and
keeps what it found, so a lookup degrades to a nearby line rather than failing.
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field

KeyPath = tuple[str | int, ...]
"""A path into a TOML document: table keys as strings, array indices as integers."""

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def format_path(path: Sequence[str | int]) -> str:
    """Render a path the way problems name fields: ``clusters.dr.region``, ``flows[0].topics[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass
class LineIndex:
    """Line numbers (1-based) of the keys and tables in one TOML document."""

    explicit: dict[KeyPath, int] = field(default_factory=dict)
    """Keys, array items and table headers, at the line where they are written."""
    implicit: dict[KeyPath, int] = field(default_factory=dict)
    """Tables only implied by a longer header or dotted key, at their first mention."""

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of ``path``, or of its nearest written ancestor; 1 when nothing of it is written.

        A missing key thus points at the header of the table it belongs in.
        """
        key = tuple(path)
        while key:
            if key in self.explicit:
                return self.explicit[key]
            if key in self.implicit:
                return self.implicit[key]
            key = key[:-1]
        return 1


class _StopScan(Exception):
    """The scanner met something it does not handle; keep what was indexed so far."""


class _Scanner:
    """A forgiving single-pass reader of (already valid) TOML that records positions only."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        self.index = LineIndex()
        self.array_tables: dict[KeyPath, int] = {}

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces, tabs, comments and (if ``newlines``) line breaks."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self.pos += 1
            elif ch == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def record(self, path: KeyPath, line: int) -> None:
        self.index.explicit.setdefault(path, line)
        for n in range(1, len(path)):
            self.index.implicit.setdefault(path[:n], line)

    # --- keys -------------------------------------------------------------------------------------

    def read_key(self) -> list[str]:
        """Read a (possibly dotted, possibly quoted) key."""
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            ch = self.peek()
            if ch in ('"', "'"):
                start = self.pos
                self.skip_string()
                token = self.text[start : self.pos]
                parts.append(str(tomllib.loads(f"k = {token}")["k"]))
            else:
                start = self.pos
                while self.pos < len(self.text) and self.text[self.pos] in _BARE_KEY_CHARS:
                    self.pos += 1
                if self.pos == start:
                    raise _StopScan
                parts.append(self.text[start : self.pos])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.pos += 1

    # --- values -----------------------------------------------------------------------------------

    def skip_string(self) -> None:
        text = self.text
        quote = text[self.pos]
        if text.startswith(quote * 3, self.pos):
            end_mark = quote * 3
            i = self.pos + 3
            while True:
                j = text.find(end_mark, i)
                if j < 0:
                    raise _StopScan
                if quote == '"' and _escaped(text, j):
                    i = j + 1
                    continue
                i = j + 3
                # Up to two quotes may sit right before the closing delimiter.
                extra = 0
                while extra < 2 and i < len(text) and text[i] == quote:
                    i += 1
                    extra += 1
                self.pos = i
                return
        i = self.pos + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                self.pos = i + 1
                return
            if ch == "\n":
                break
            i += 1
        raise _StopScan

    def read_value(self, path: KeyPath) -> None:
        self.skip_blank(newlines=False)
        ch = self.peek()
        if ch in ('"', "'"):
            self.skip_string()
        elif ch == "[":
            self.pos += 1
            item = 0
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.pos += 1
                    return
                if not self.peek():
                    raise _StopScan
                self.record((*path, item), self.line_at(self.pos))
                self.read_value((*path, item))
                item += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.pos += 1
        elif ch == "{":
            self.pos += 1
            while True:
                self.skip_blank(newlines=True)
                if self.peek() == "}":
                    self.pos += 1
                    return
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.read_key_value(path)
        else:
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}#\r\n":
                self.pos += 1
            if self.pos == start:
                raise _StopScan

    def read_key_value(self, table: KeyPath) -> None:
        line = self.line_at(self.pos)
        path = (*table, *self.read_key())
        self.skip_blank(newlines=False)
        if self.peek() != "=":
            raise _StopScan
        self.pos += 1
        self.record(path, line)
        self.read_value(path)

    # --- tables -----------------------------------------------------------------------------------

    def resolve_header(self, parts: list[str], array: bool) -> KeyPath:
        """Turn a header's key into a path, adding the current index of every array of tables."""
        path: KeyPath = ()
        for n, part in enumerate(parts):
            path = (*path, part)
            last = n == len(parts) - 1
            if last and array:
                count = self.array_tables.get(path, 0)
                self.array_tables[path] = count + 1
                path = (*path, count)
            elif path in self.array_tables:
                path = (*path, self.array_tables[path] - 1)
        return path

    def read_header(self) -> KeyPath:
        line = self.line_at(self.pos)
        array = self.peek(2) == "[["
        self.pos += 2 if array else 1
        parts = self.read_key()
        closing = "]]" if array else "]"
        if self.peek(len(closing)) != closing:
            raise _StopScan
        self.pos += len(closing)
        path = self.resolve_header(parts, array)
        self.record(path, line)
        return path

    def scan(self) -> LineIndex:
        table: KeyPath = ()
        try:
            while True:
                self.skip_blank(newlines=True)
                if self.pos >= len(self.text):
                    break
                if self.peek() == "[":
                    table = self.read_header()
                else:
                    self.read_key_value(table)
        except (_StopScan, tomllib.TOMLDecodeError, IndexError):
            pass
        return self.index


def _escaped(text: str, pos: int) -> bool:
    """Whether the character at ``pos`` is preceded by an odd number of backslashes."""
    count = 0
    while pos - count - 1 >= 0 and text[pos - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def line_index(text: str) -> LineIndex:
    """Index the lines of every key, table and array item in ``text`` (valid TOML)."""
    return _Scanner(text).scan()
