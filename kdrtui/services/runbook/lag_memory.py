"""The last lag each flow was seen with, kept in the plan's runbook directory.

When the source region goes dark, the unmirrored records can no longer be counted: what was lost is at
least what was unmirrored at the last successful read. Every lag reader that has fresh numbers — the
console's Mirror lag pane, ``kdrtui status``, a failover's own reads — writes them here
(``lag-<source>-<target>.json``, a temporary file renamed over the old one, so a reader never sees half a
file), and a failover with the source unreachable reports that bound with its age instead of a confident 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdrtui.domain.lag import FlowLag, LagSnapshot
from kdrtui.services.runbook.store import RunbookStore


@dataclass(frozen=True)
class RememberedLag:
    """A flow's lag at its last fresh read."""

    source: str
    target: str
    taken_at: float
    """When it was read (epoch s)."""
    lag_records: int
    lag_seconds: float
    topics: dict[str, int]
    """Source topic -> records not mirrored then."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "taken_at": round(self.taken_at, 3),
            "lag_records": self.lag_records,
            "lag_seconds": round(self.lag_seconds, 3),
            "topics": self.topics,
        }


def _path(store: RunbookStore, source: str, target: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{source}-{target}")
    return store.dir / f"lag-{safe}.json"


def _of(flow: FlowLag, taken_at: float) -> RememberedLag:
    return RememberedLag(
        source=flow.source,
        target=flow.target,
        taken_at=taken_at,
        lag_records=flow.lag_records,
        lag_seconds=flow.lag_seconds,
        topics={t.topic: t.lag_records for t in flow.topics},
    )


def remember(store: RunbookStore, snapshot: LagSnapshot) -> None:
    """Keep each fresh flow's numbers (a stale or failed flow keeps what was written before)."""
    for flow in snapshot.flows:
        if flow.stale_s is not None or flow.error is not None:
            continue
        path = _path(store, flow.source, flow.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".lag-", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w") as handle:
                json.dump(_of(flow, snapshot.taken_at).to_dict(), handle, sort_keys=True)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)


def recall(store: RunbookStore, source: str, target: str) -> RememberedLag | None:
    """The flow's last fresh numbers, or None when none were kept (or the file cannot be read)."""
    try:
        raw = json.loads(_path(store, source, target).read_text())
        return RememberedLag(
            source=str(raw["source"]),
            target=str(raw["target"]),
            taken_at=float(raw["taken_at"]),
            lag_records=int(raw["lag_records"]),
            lag_seconds=float(raw["lag_seconds"]),
            topics={str(k): int(v) for k, v in dict(raw["topics"]).items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
