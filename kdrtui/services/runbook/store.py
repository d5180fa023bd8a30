"""Where a plan's runbook files live: journals, the DR state (which cluster is active), the audit log.

Per plan: ``<state_dir>/runbooks/<plan name>-<hash of the plan file's path>/`` holding

- ``journal-<run id>.jsonl``: one JSON object per line, appended and fsynced, never rewritten;
- ``state.json``: the active cluster and what the last failover changed (written atomically).

The audit log ``<state_dir>/audit.log`` (JSON lines) is shared by every plan: who did what, when, and how
it ended. Secrets never go into any of them: only names, offsets, counts and times.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdrtui import settings
from kdrtui.domain.runbook import RunState, replay


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line and fsync it (the entry is on disk when this returns).

    After a crash mid-write the file ends with a cut line: the entry starts on a new line, so it is not
    glued to (and lost with) the cut one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True, default=str) + "\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of ``path`` (a line cut by a crash mid-write is ignored)."""
    entries: list[dict[str, Any]] = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return entries
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            entries.append(value)
    return entries


def journal_operation(path: Path) -> str:
    """The operation in a journal's file name (``journal-<stamp>-<operation>-<random>.jsonl``)."""
    parts = path.stem.split("-")
    return "-".join(parts[2:-1])


class Journal:
    """An append-only, fsynced JSON-lines journal of one runbook run (and its resumes)."""

    def __init__(self, path: Path, clock: Any = time.time) -> None:
        self.path = path
        self._clock = clock

    @property
    def run_id(self) -> str:
        return self.path.stem.removeprefix("journal-")

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append ``{"event": event, "at": now, **fields}``."""
        entry = {"event": event, "at": round(self._clock(), 3), "run": self.run_id, **fields}
        _append_line(self.path, entry)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        return read_lines(self.path)

    def state(self) -> RunState:
        return replay(self.entries())


@dataclass
class DrState:
    """Which cluster clients use now, and what the last failover changed that failback must undo."""

    active: str
    since: float | None = None
    operation: str | None = None
    """The runbook that made ``active`` active (``failover``/``failback``), None when never switched."""
    fenced: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cluster alias -> what fencing it replaced (method, per-topic previous values)."""
    reverse_flow: str | None = None
    """The ``source->target`` flow started by the last failover's reverse replication."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "since": self.since,
            "operation": self.operation,
            "fenced": self.fenced,
            "reverse_flow": self.reverse_flow,
        }


class RunbookStore:
    """A plan's runbook directory."""

    def __init__(self, plan_name: str, plan_path: Path | None, root: Path | None = None) -> None:
        base = root if root is not None else settings.state_dir()
        where = str(plan_path.resolve()) if plan_path is not None else plan_name
        digest = hashlib.sha1(where.encode()).hexdigest()[:8]
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", plan_name)[:48] or "plan"
        self.dir = base / "runbooks" / f"{safe}-{digest}"
        self.audit_path = base / "audit.log"

    # -- journals ------------------------------------------------------------------------------------

    def new_journal(self, operation: str, clock: Any = time.time) -> Journal:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
        name = f"journal-{stamp}-{operation}-{os.urandom(2).hex()}.jsonl"
        return Journal(self.dir / name, clock)

    def journals(self, operations: Collection[str] | None = None) -> list[Journal]:
        """Every journal of the plan (of one of ``operations`` when given), oldest first."""
        paths = sorted(self.dir.glob("journal-*.jsonl"))
        if operations is not None:
            paths = [p for p in paths if journal_operation(p) in operations]
        return [Journal(p) for p in paths]

    def incomplete(self, operations: Collection[str] | None = None) -> Journal | None:
        """The newest journal (of ``operations`` when given: provisioning and failover keep separate
        histories) whose run did not complete (to resume), if the newest did not."""
        journals = self.journals(operations)
        if not journals:
            return None
        newest = journals[-1]
        return None if newest.state().complete else newest

    # -- DR state ------------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"

    def load_state(self, default_active: str) -> DrState:
        try:
            raw = json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return DrState(active=default_active)
        return DrState(
            active=str(raw.get("active") or default_active),
            since=raw.get("since"),
            operation=raw.get("operation"),
            fenced=dict(raw.get("fenced") or {}),
            reverse_flow=raw.get("reverse_flow"),
        )

    def save_state(self, state: DrState) -> None:
        """Write the state atomically (temp file, fsync, rename)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump(state.to_dict(), handle, sort_keys=True, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.state_path)

    # -- audit ---------------------------------------------------------------------------------------

    def audit(self, action: str, plan: str, outcome: str, **details: Any) -> None:
        """One line in the audit log: who ($USER, $SSH_CLIENT), what, when, outcome."""
        try:
            user = os.environ.get("USER") or getpass.getuser()
        except (KeyError, OSError):
            user = "?"
        entry = {
            "at": round(time.time(), 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "user": user,
            "ssh_client": os.environ.get("SSH_CLIENT", ""),
            "action": action,
            "plan": plan,
            "outcome": outcome,
            **details,
        }
        _append_line(self.audit_path, entry)
