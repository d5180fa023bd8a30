"""How the files on an edge node differ from what the plan renders (pure): ``kdrtui mm status``'s drift.

Rendered files are compared line by line (:func:`drift`); the files of a deployment's secrets directory by
mode and sha256 digest only (:func:`secret_drift`), so no secret ever appears in a drift line.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from kdrtui.domain.mirrormaker_security import SECRETS_DIR, SECRETS_DIR_MODE

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


# --- the secrets directory: compared by mode and digest, never by content ---------------------------


@dataclass(frozen=True, slots=True)
class NodeSecrets:
    """A deployment's secrets directory as the node reports it: modes and sha256 digests, never contents."""

    dir_mode: int | None = None
    """The directory's mode; None when it does not exist."""
    files: dict[str, tuple[int, str]] = field(default_factory=dict)
    """File name -> (mode, sha256 hex digest)."""


def parse_secrets_probe(output: str) -> NodeSecrets:
    """Read the secrets probe's output: ``dir <mode>``, then ``<mode> <sha256> <name>`` per file (octal
    modes); nothing when the directory does not exist."""
    dir_mode: int | None = None
    files: dict[str, tuple[int, str]] = {}
    for line in output.splitlines():
        parts = line.split(" ", 2)
        try:
            if len(parts) == 2 and parts[0] == "dir":
                dir_mode = int(parts[1], 8)
            elif len(parts) == 3:
                files[parts[2]] = (int(parts[0], 8), parts[1])
        except ValueError:
            continue
    return NodeSecrets(dir_mode, files)


def secret_drift(
    wanted: Mapping[str, tuple[int, str] | str],
    node: NodeSecrets,
    *,
    directory: str = SECRETS_DIR,
    dir_mode: int = SECRETS_DIR_MODE,
) -> list[str]:
    """How the node's secrets directory differs from what kdrtui would write; empty when it matches.

    Args:
        wanted: file name -> (mode, sha256 digest) of what kdrtui would write, or why it cannot be made
            (a password variable unset...: one line that names no secret).
        node: what the node has (:func:`parse_secrets_probe`).

    Returns:
        One line per difference, e.g. ``secrets/primary.properties: changed (digest)``: a secret's content
        is never shown, on either side.
    """
    problems: list[str] = []
    if wanted and node.dir_mode is not None and node.dir_mode != dir_mode:
        problems.append(f"{directory}/: mode {node.dir_mode:04o} on the node, should be {dir_mode:04o}")
    for name in sorted(wanted):
        want, have, rel = wanted[name], node.files.get(name), f"{directory}/{name}"
        if isinstance(want, str):
            problems.append(f"{rel}: cannot compare: {want}")
        elif have is None:
            problems.append(f"{rel}: missing on the node")
        elif have[1] != want[1]:
            problems.append(f"{rel}: changed (digest)")
        elif have[0] != want[0]:
            problems.append(f"{rel}: mode {have[0]:04o} on the node, should be {want[0]:04o}")
    for name in sorted(set(node.files) - set(wanted)):
        problems.append(f"{directory}/{name}: on the node but not rendered from the plan")
    return problems
