"""How the files on an edge node differ from what the plan renders (pure): ``kdrtui mm status``'s drift."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

DRIFT_LINES = 6
"""At most this many changed lines are shown per file."""


def drift(rendered: Mapping[str, str], remote: Mapping[str, str | None]) -> list[str]:
    """How the files on a node differ from what the plan renders; empty when they match.

    Args:
        rendered: relative path -> text, as :attr:`RenderedDeployment.files`.
        remote: relative path -> text read from the node, ``None`` (or absent) when the file is missing.

    Returns:
        One entry per differing file, sorted by path: ``"<path>: missing on the node"``, or
        ``"<path>: N lines differ"`` followed by up to :data:`DRIFT_LINES` ``-node`` / ``+plan`` lines.
    """
    problems: list[str] = []
    for path in sorted(rendered):
        want, have = rendered[path], remote.get(path)
        if have is None:
            problems.append(f"{path}: missing on the node")
            continue
        if have == want:
            continue
        changed = [
            line
            for line in difflib.unified_diff(have.splitlines(), want.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        if not changed:  # only line endings or a final newline differ
            problems.append(f"{path}: differs in whitespace at line ends")
            continue
        shown = changed[:DRIFT_LINES]
        more = len(changed) - len(shown)
        lines = [f"{path}: {len(changed)} line{'s' if len(changed) != 1 else ''} differ"]
        lines += [f"  {line}" for line in shown]
        if more:
            lines.append(f"  ... {more} more")
        problems.append("\n".join(lines))
    for path in sorted(set(remote) - set(rendered)):
        if remote[path] is not None:
            problems.append(f"{path}: on the node but not rendered from the plan")
    return problems
