"""Java ``.properties`` files as Kafka and MirrorMaker read them (pure text).

Kafka loads properties files as ISO-8859-1 and reads ``\\`` escapes, so every value is written through
:func:`escape_value`; :func:`properties_text` lays out a whole file (header comments, then ``key = value``
lines in the given order, optionally in commented sections).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def escape_value(value: str) -> str:
    """``value`` as a java.util.Properties value: ``\\`` doubled, controls and non-ASCII as escapes.

    Kafka loads properties files as ISO-8859-1 and treats ``\\.`` as ``.``, so a regex like
    ``orders\\.v1`` must be written ``orders\\\\.v1``.
    """
    out: list[str] = []
    for n, char in enumerate(value):
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[char])
        elif char == " " and n == 0:
            out.append("\\ ")
        elif code < 0x20 or code > 0x7E:
            encoded = char.encode("utf-16-be")
            out.extend(
                f"\\u{int.from_bytes(encoded[i : i + 2], 'big'):04x}" for i in range(0, len(encoded), 2)
            )
        else:
            out.append(char)
    return "".join(out)


def _line(key: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"{key} = {escape_value(str(value))}"


Section = tuple[str, Mapping[str, object]]
"""A comment (may be empty) and the properties under it."""


def properties_text(header: Sequence[str], properties: Mapping[str, object] | Sequence[Section]) -> str:
    """A properties file: ``# header`` lines, then ``key = value`` lines in the given order.

    ``properties`` is one mapping, or sections (comment, mapping) separated by blank lines.
    """
    sections: Sequence[Section] = [("", properties)] if isinstance(properties, Mapping) else properties
    lines = [f"# {line}".rstrip() for line in header]
    for comment, values in sections:
        if len(sections) > 1:
            lines.append("")
        if comment:
            lines.append(f"# {comment}")
        lines += [_line(key, value) for key, value in values.items()]
    return "\n".join(lines) + "\n"
