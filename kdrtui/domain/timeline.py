"""The incident timeline's values: events, per-minute lag rows, and the rules for showing them (pure).

Every long-running kdrtui process (the console, ``kdrtui status --watch``, the exporter) and every runbook
records :class:`Event` values — what changed, when, seen by which process — and folds each lag sample
into a :class:`LagMinute` per flow; :mod:`kdrtui.services.timeline.store` keeps them in SQLite.

Several processes watching the same plan see the same change: each records it (a process never knows
whether another one runs), and :func:`dedupe` shows it once when reading (see there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class EventKind(StrEnum):
    """What an event is about."""

    HEALTH = "health"
    """A flow's or topic's health changed."""
    MIRRORMAKER = "mirrormaker"
    """An edge node's MirrorMaker process state changed."""
    TASK = "task"
    """An MM2 connector's or task's state changed."""
    SSH = "ssh"
    """An edge node's SSH connection state changed."""
    CLUSTER = "cluster"
    """A cluster's reachability or broker count changed."""
    RUNBOOK = "runbook"
    """A runbook (failover, failback, provision...) started, ran a step, ended."""
    FENCE = "fence"
    """A fence was applied or removed."""
    AUTOMATION = "automation"
    """The automated failover policy (``kdrtui watch``) changed state, advised, acted or was acknowledged."""


SEVERITIES = ("info", "warn", "crit")
"""An event's severity, mildest first."""


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that changed, as one process saw it."""

    at: float
    """Epoch seconds when it was observed."""
    kind: EventKind
    """What it is about."""
    subject: str
    """What changed: ``primary->dr``, ``primary->dr/orders``, ``edge-1/mm2-primary-dr``, ``dr``,
    ``failover <run id>``."""
    text: str
    """One human line, no secrets: ``primary->dr/orders: OK -> CRIT (1200 records, 130.0 s)``. Figures
    that differ between processes seeing the same change (figures, a reason) go last, after `` (``
    (see :attr:`change`)."""
    severity: str = "info"
    """``info``, ``warn`` or ``crit``."""
    flow: str | None = None
    """``primary->dr`` when the event concerns one flow (for the flow filter)."""
    source: str = ""
    """Which process recorded it: ``console``, ``status``, ``exporter``, ``failover``..."""

    @property
    def change(self) -> str:
        """The text up to its figures or reason in parentheses: what two processes seeing the same
        change both write (``primary->dr/orders: OK -> CRIT``)."""
        return self.text.split(" (", 1)[0]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``kdrtui events --json``), with the time also in ISO 8601 UTC."""
        return {
            "at": round(self.at, 3),
            "time": iso(self.at),
            "kind": str(self.kind),
            "subject": self.subject,
            "text": self.text,
            "severity": self.severity,
            "flow": self.flow,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class LagMinute:
    """One flow's lag over one UTC minute, folded from every sample any process took in it."""

    minute: float
    """Epoch seconds of the start of the UTC minute (a multiple of 60)."""
    flow: str
    """``primary->dr``."""
    max_records: int
    """Worst lag in records seen in that minute."""
    max_seconds: float
    """Worst lag in seconds seen in that minute."""
    last_records: int
    """The minute's last sample, in records."""
    last_seconds: float
    """The minute's last sample, in seconds."""
    samples: int
    """How many samples were folded in (from every process that recorded one)."""
    health: str
    """Worst health seen in the minute (``OK``, ``WARN``...)."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "minute": self.minute,
            "time": iso(self.minute),
            "flow": self.flow,
            "max_records": self.max_records,
            "max_seconds": round(self.max_seconds, 1),
            "last_records": self.last_records,
            "last_seconds": round(self.last_seconds, 1),
            "samples": self.samples,
            "health": self.health,
        }


def minute_of(at: float) -> float:
    """The start of the UTC minute ``at`` falls in."""
    return float(int(at // 60) * 60)


HEALTH_RANK = {"OK": 0, "IDLE": 0, "WARN": 1, "CRIT": 2, "STALLED": 3, "STOPPED": 4, "LOST": 5}
"""Health names by severity (as :data:`kdrtui.domain.lag_health.SEVERITY`), for the worst of a minute;
a name not here ranks 0."""


def health_rank(health: str) -> int:
    """How bad ``health`` is (0 for OK, IDLE and names not known)."""
    return HEALTH_RANK.get(health, 0)


DEDUPE_WINDOW_S = 60.0
"""Two records of the same change of the same subject this close together are one change seen twice
(by two processes, whose observation cadences are up to ~15 s apart, plus a slow refresh)."""


def dedupe(events: Iterable[Event], window_s: float = DEDUPE_WINDOW_S) -> list[Event]:
    """``events`` (newest first) with each change shown once: an event is dropped when the previous event
    of its kind and subject (the next older one) records the same :attr:`Event.change` less than
    ``window_s`` earlier. Whichever process recorded it first is kept.

    A change that really happened twice is kept twice: between two ``OK -> CRIT`` of one topic lies its
    ``CRIT -> OK``.
    """
    ordered = sorted(reversed(list(events)), key=lambda e: e.at)  # equal times keep their order
    kept: list[Event] = []
    last: dict[tuple[str, str], Event] = {}
    for event in ordered:
        key = (str(event.kind), event.subject)
        before = last.get(key)
        if before is not None and before.change == event.change and event.at - before.at < window_s:
            continue
        last[key] = event
        kept.append(event)
    kept.reverse()
    return kept


def iso(at: float) -> str:
    """``2026-12-03T23:41:07Z``."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_when(text: str, now: float) -> float:
    """A time from ``90s``/``30m``/``2h``/``3d``/``1w`` (that long before ``now``) or an ISO 8601 time
    (``2026-12-03T22:00``, ``2026-12-03 22:00:00+01:00``; UTC when it names no zone).

    Raises:
        ValueError: neither, saying what is accepted.
    """
    match = _DURATION.match(text)
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2).lower()]
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ValueError(
            f"{shown!r} is neither a duration (90s, 30m, 2h, 3d, 1w) nor an ISO time (2026-12-03T22:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


BLOCKS = " ▁▂▃▄▅▆▇█"
"""Eighth-height blocks for a one-line chart (space for nothing)."""


def sparkline(values: list[float | None], top: float | None = None) -> str:
    """One character per value, its height against ``top`` (the largest value when None); ``·`` for a
    minute with no sample, a blank for 0; a value above 0 is never drawn blank."""
    peak = top if top is not None else max((v for v in values if v is not None), default=0.0)
    out = []
    for value in values:
        if value is None:
            out.append("·")
        elif value <= 0:
            out.append(BLOCKS[0])
        elif peak <= 0:
            out.append(BLOCKS[1])
        else:
            out.append(BLOCKS[max(1, min(8, round(value / peak * 8)))])
    return "".join(out)


def per_minute(rows: Iterable[LagMinute], since: float, until: float) -> list[LagMinute | None]:
    """One slot per UTC minute from ``since`` to ``until`` (both included), the row of that minute or None."""
    by_minute = {row.minute: row for row in rows}
    start, end = minute_of(since), minute_of(until)
    count = int((end - start) // 60) + 1
    return [by_minute.get(start + 60 * n) for n in range(max(0, count))]
