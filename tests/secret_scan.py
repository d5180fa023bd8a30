"""Where a secured lab's passwords must never turn up: kdrtui's state (journals, DR states, the audit log,
remembered lag, the console's log file), the lab's broker and edge-node logs, and what kdrtui printed.

The only places a password may be are the 0600 files made for it: the lab's ``security/*.password``, a
broker's ``server.properties`` (its own inter-broker login) and a MirrorMaker deployment's ``secrets/``.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from pathlib import Path

from kdrtui.lab.lab import Lab


def lab_passwords(lab: Lab) -> list[str]:
    """Every password of the lab's users (``<lab>/security/*.password``, first line)."""
    found = [
        p.read_text(encoding="utf-8").splitlines()[0].strip() for p in lab.home.glob("security/*.password")
    ]
    return [password for password in found if password]


def _private_secret(path: Path) -> bool:
    """A 0600 file under a deployment's ``secrets/`` directory on the edge node: where MirrorMaker's
    password is meant to be."""
    return "secrets" in path.parts and stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def lab_files(lab: Lab) -> list[Path]:
    """The secured lab's logs: each broker's ``logs/`` (server.log, storage-tool.log...) and ``*.out``, and
    everything on the edge node but MirrorMaker's 0600 secrets files (symlinks are not followed)."""
    files = [p for p in lab.home.glob("*/logs/*") if p.is_file()]
    files += [p for p in lab.home.glob("*/*.out") if p.is_file()]
    edge = lab.home / "edge"
    files += [p for p in edge.rglob("*") if p.is_file() and not p.is_symlink() and not _private_secret(p)]
    return files


def tree(root: Path) -> list[Path]:
    """Every file under ``root`` (none when it does not exist)."""
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()] if root.is_dir() else []


def leaks(secrets: Iterable[str], files: Iterable[Path], texts: Iterable[str] = ()) -> list[str]:
    """``where: which secret (its first 3 characters)`` for each secret found in a file or a text."""
    wanted = [s for s in secrets if len(s) >= 6]
    found: list[str] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue  # gone meanwhile (a rotated log)
        found += [f"{path}: {s[:3]}…" for s in wanted if s.encode() in data]
    for n, text in enumerate(texts):
        found += [f"output #{n}: {s[:3]}…" for s in wanted if s in text]
    return found
