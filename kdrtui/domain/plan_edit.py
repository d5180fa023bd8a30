"""Change a few values of a plan file's TOML text in place, keeping everything else byte for byte.

Provisioning learns values the plan could not know beforehand (the brokers' addresses, an edge node's SSH
endpoint) and writes them into the operator's file. Rewriting the file from the model would drop its
comments and order, so :func:`set_values` edits the text: an existing key's value is replaced on its own
line(s), keeping any comment after it; a missing key is added right under its table's header. Pure: the
caller writes the text (atomically, with :func:`kdrtui.services.plan_files.write_plan_text`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping

import tomli_w

from kdrtui.domain.toml_lines import KeyPath, format_path, line_index

TomlValue = str | int | bool | list[str]


class PlanEditError(ValueError):
    """The text cannot take the edit (the key's table is not written as a ``[header]``)."""


def toml_value(value: TomlValue) -> str:
    """``value`` as TOML on one line (arrays inline)."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def set_values(text: str, edits: Mapping[KeyPath, TomlValue]) -> str:
    """``text`` with each key path set to its value (see the module docstring).

    Args:
        text: a valid TOML document.
        edits: key path (``("clusters", "dr", "bootstrap_servers")``, ``("edge_nodes", 0, "port")``) ->
            new value. The last element is the key; the rest names a table written as a header.

    Raises:
        PlanEditError: a key's table has no header line, or the key is written in a form not handled
            (dotted keys under another table, inline tables).
    """
    for path, value in edits.items():
        text = _set_one(text, path, value)
    tomllib.loads(text)  # the edit must leave valid TOML
    return text


def _set_one(text: str, path: KeyPath, value: TomlValue) -> str:
    index = line_index(text)
    lines = text.splitlines(keepends=True)
    rendered = toml_value(value)
    if path in index.explicit:
        number = index.explicit[path]
        line = lines[number - 1]
        if "=" not in line:
            raise PlanEditError(f"{format_path(path)}: line {number} is not a 'key = value' line")
        key_part, rest = line.split("=", 1)
        end = _value_end(lines, number - 1, rest)
        tail_line = lines[end]
        comment = _trailing_comment(tail_line) if end != number - 1 else _trailing_comment(rest)
        newline = "\n" if tail_line.endswith("\n") else ""
        new_line = f"{key_part.rstrip()} = {rendered}{f'  {comment}' if comment else ''}{newline}"
        lines[number - 1 : end + 1] = [new_line]
        return "".join(lines)
    table = path[:-1]
    key = path[-1]
    if not isinstance(key, str):
        raise PlanEditError(f"{format_path(path)}: cannot add an array item")
    if table and table not in index.explicit:
        raise PlanEditError(
            f"{format_path(path)}: the table {format_path(table)} has no [header] to add it under"
        )
    header = index.explicit[table] if table else 0
    bare = key if all(ch.isalnum() or ch in "_-" for ch in key) else toml_value(key)
    lines.insert(header, f"{bare} = {rendered}\n")
    if header and not lines[header - 1].endswith("\n"):
        lines[header - 1] += "\n"
    return "".join(lines)


def _value_end(lines: list[str], first: int, rest: str) -> int:
    """The index of the line where the value starting in ``rest`` (on line ``first``) ends."""
    fragment = rest
    for end in range(first, len(lines)):
        if end > first:
            fragment += lines[end]
        try:
            tomllib.loads(f"v ={fragment}")
        except tomllib.TOMLDecodeError:
            continue
        return end
    raise PlanEditError(f"cannot find the end of the value on line {first + 1}")


def _trailing_comment(line: str) -> str:
    """The ``# comment`` at the end of a value line (outside strings), or ``""``."""
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(line):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[i:].rstrip("\r\n").strip()
    return ""
