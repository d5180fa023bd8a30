"""Where each key of a TOML document is written, so a problem can point at its line.

``tomllib`` gives values but no positions. :func:`line_index` scans the source once more and records the
line of every table header, array-of-tables entry, key and array item, addressed by the same path a
validator reports: ``("clusters", "dr", "hdinsight", "name")`` or ``("flows", 0, "target")``. The scanner
trusts that the text already parsed with ``tomllib``; on anything it does not understand it stops and
keeps what it found, so a lookup degrades to a nearby line rather than failing. It also stops at keys of
more than :data:`~kdrtui.domain.toml_limits.MAX_NESTING` parts and values nested deeper than that, which
the plan refuses anyway, so it never recurses deeply.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field

from kdrtui.domain.safe_text import shown
from kdrtui.domain.toml_limits import MAX_NESTING, string_end

KeyPath = tuple[str | int, ...]
"""A path into a TOML document: table keys as strings, array indices as integers."""

# Regular expressions rather than loops over characters: a hostile file may be megabytes of one token.
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]*")
_BARE_VALUE = re.compile(r"[^,\]}#\r\n]*")
_BLANK = re.compile(r"(?:[ \t]+|#[^\n]*)*")
_BLANK_LINES = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")

KEY_CHARS = 64
"""How much of one key a field path shows (a cluster alias has at most 32 characters)."""


def format_path(path: Sequence[str | int]) -> str:
    """Render a path the way problems name fields: ``clusters.dr.region``, ``flows[0].topics[2]``.

    Keys are outside text: each is shown escaped and, past :data:`KEY_CHARS` characters, cut.
    """
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            key = shown(part, KEY_CHARS)
            out.append(f".{key}" if out else key)
    return "".join(out)


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
        self.newlines = [match.start() for match in re.finditer("\n", text)]
        self.index = LineIndex()
        self.array_tables: dict[KeyPath, int] = {}

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces, tabs, comments and (if ``newlines``) line breaks."""
        blank = _BLANK_LINES if newlines else _BLANK
        match = blank.match(self.text, self.pos)
        if match is not None:
            self.pos = match.end()

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
                match = _BARE_KEY.match(self.text, start)
                self.pos = match.end() if match is not None else start
                if self.pos == start:
                    raise _StopScan
                parts.append(self.text[start : self.pos])
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            if len(parts) >= MAX_NESTING:
                raise _StopScan
            self.pos += 1

    # --- values -----------------------------------------------------------------------------------

    def skip_string(self) -> None:
        end = string_end(self.text, self.pos)
        if end is None:
            raise _StopScan
        self.pos = end

    def read_value(self, path: KeyPath) -> None:
        self.skip_blank(newlines=False)
        ch = self.peek()
        if ch in ('"', "'"):
            self.skip_string()
        elif ch in ("[", "{") and len(path) > MAX_NESTING:
            raise _StopScan
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
            match = _BARE_VALUE.match(self.text, start)
            self.pos = match.end() if match is not None else start
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


def line_index(text: str) -> LineIndex:
    """Index the lines of every key, table and array item in ``text`` (valid TOML)."""
    return _Scanner(text).scan()
