"""What ``kdrtui watch`` publishes and keeps, in the plan's runbook directory.

- ``automation.json``: the watcher's latest evaluation (state, one line of why, each vantage point's vote,
  since when a quorum sees the primary down, the mode, its pid and host, when it was written). Written
  atomically at every evaluation; the console and ``kdrtui status`` read it, and call it stale when it is
  older than three probe intervals (the watcher stopped).
- ``automation-failover.json``: its last automatic failover (journal, when, outcome) and, once a person
  ran ``kdrtui watch --ack``, who acknowledged it and when. Until then the policy never acts again.

Only names, states, counts and times are written: never a secret.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "automation.json"
LAST_FAILOVER_FILE = "automation-failover.json"
STALE_INTERVALS = 3
"""The published state is stale once older than this many probe intervals."""


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".automation-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


@dataclass(frozen=True)
class PublishedState:
    """The watcher's latest evaluation, as written to ``automation.json``."""

    state: str
    """A :class:`~kdrtui.domain.automation.PolicyState` value."""
    text: str
    mode: str
    updated_at: float
    interval_s: float
    votes: dict[str, str] = field(default_factory=dict)
    down_since: float | None = None
    pid: int | None = None
    host: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def stale(self, now: float | None = None) -> bool:
        """True when the watcher has not written for :data:`STALE_INTERVALS` intervals (it stopped)."""
        now = time.time() if now is None else now
        return now - self.updated_at > STALE_INTERVALS * max(self.interval_s, 1.0) + 5

    def line(self, now: float | None = None) -> str:
        """One line for a person: ``armed (act): primary up (kdrtui up, dr-edge-1 up)``, or that the
        watcher stopped."""
        now = time.time() if now is None else now
        if self.stale(now):
            return f"not running (kdrtui watch last wrote {now - self.updated_at:.0f} s ago: {self.state})"
        return f"{self.state} ({self.mode}): {self.text}"


def write_state(directory: Path, published: PublishedState) -> None:
    _write_json(directory / STATE_FILE, published.to_dict())


def read_state(directory: Path) -> PublishedState | None:
    """The watcher's latest evaluation, None when no watcher ever ran (or the file cannot be read)."""
    raw = _read_json(directory / STATE_FILE)
    if raw is None:
        return None
    try:
        return PublishedState(
            state=str(raw["state"]),
            text=str(raw["text"]),
            mode=str(raw.get("mode") or "?"),
            updated_at=float(raw["updated_at"]),
            interval_s=float(raw.get("interval_s") or 5.0),
            votes={str(k): str(v) for k, v in dict(raw.get("votes") or {}).items()},
            down_since=float(raw["down_since"]) if raw.get("down_since") is not None else None,
            pid=int(raw["pid"]) if raw.get("pid") is not None else None,
            host=str(raw.get("host") or ""),
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class AutoFailover:
    """The watcher's last automatic failover."""

    journal: str
    started_at: float
    outcome: str = "running"
    ended_at: float | None = None
    acked_at: float | None = None
    acked_by: str | None = None
    report: dict[str, Any] | None = None
    """The runbook's report (RPO, RTO, actor...), once it ended."""

    @property
    def name(self) -> str:
        """The run as a person names it: its journal file's name."""
        return Path(self.journal).name or self.journal

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_last_failover(directory: Path) -> AutoFailover | None:
    raw = _read_json(directory / LAST_FAILOVER_FILE)
    if raw is None:
        return None
    try:
        return AutoFailover(
            journal=str(raw["journal"]),
            started_at=float(raw["started_at"]),
            outcome=str(raw.get("outcome") or "running"),
            ended_at=float(raw["ended_at"]) if raw.get("ended_at") is not None else None,
            acked_at=float(raw["acked_at"]) if raw.get("acked_at") is not None else None,
            acked_by=str(raw["acked_by"]) if raw.get("acked_by") is not None else None,
            report=dict(raw["report"]) if isinstance(raw.get("report"), dict) else None,
        )
    except (KeyError, TypeError, ValueError):
        return None


def write_last_failover(directory: Path, failover: AutoFailover) -> None:
    _write_json(directory / LAST_FAILOVER_FILE, failover.to_dict())


def who() -> str:
    """``alice`` or ``alice (from 10.0.0.5 52144 22)``: the person at this terminal."""
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    client = os.environ.get("SSH_CLIENT", "")
    return f"{user} (from {client})" if client else user


def acknowledge(directory: Path, now: float | None = None) -> AutoFailover | None:
    """Mark the last automatic failover acknowledged by whoever runs this; returns it (None when there
    is none; unchanged when it was acknowledged already)."""
    last = read_last_failover(directory)
    if last is None or last.acknowledged:
        return last
    done = AutoFailover(
        journal=last.journal,
        started_at=last.started_at,
        outcome=last.outcome,
        ended_at=last.ended_at,
        acked_at=time.time() if now is None else now,
        acked_by=who(),
        report=last.report,
    )
    write_last_failover(directory, done)
    return done
