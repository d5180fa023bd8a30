"""The newest failover or failback of a plan, from its runbook journals: what ran, how it ended, how long
it took and the RTO its report measured (for ``kdrtui exporter``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kdrtui.services.runbook.store import RunbookStore

OPERATIONS = ("failover", "failback")
"""The runbooks that switch clients from one cluster to the other."""
OUTCOMES = ("completed", "failed", "aborted", "rolled-back", "running")
"""How a run ended (the journal's ``run-end``), or ``running`` while it has none: in progress, or cut by
a crash (then ``kdrtui failover`` offers to resume it)."""


@dataclass(frozen=True, slots=True)
class LastFailover:
    """The newest failover or failback journal, replayed."""

    operation: str
    """``failover`` or ``failback``."""
    run: str
    """Its run id (the journal's name)."""
    outcome: str
    """One of :data:`OUTCOMES`."""
    started_at: float | None
    """When the operator confirmed it (epoch s)."""
    ended_at: float | None
    """When its last run ended (epoch s); None while ``running``."""
    rto_s: float | None = None
    """The RTO its report measured (confirmation -> clients switched); None when it made no report."""
    source: str | None = None
    """The cluster it switched from (from its report)."""
    target: str | None = None
    """The cluster it switched to (from its report)."""

    @property
    def duration_s(self) -> float | None:
        """Confirmation to the end of its last run; None while running or when a time is missing."""
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.started_at)


def last_failover(store: RunbookStore) -> LastFailover | None:
    """The plan's newest failover or failback; None when none ever ran (or its journal is empty)."""
    journals = store.journals(OPERATIONS)
    if not journals:
        return None
    journal = journals[-1]
    entries = journal.entries()
    state = journal.state()
    if not entries:
        return None
    ended_at = None
    if state.ended is not None:
        ends = [e.get("at") for e in entries if e.get("event") == "run-end"]
        ended_at = float(ends[-1]) if ends and isinstance(ends[-1], (int, float)) else None
    outcome = state.ended if state.ended in OUTCOMES else ("running" if state.ended is None else "failed")
    report: dict[str, Any] = state.facts("report")
    rto = report.get("rto_seconds")
    return LastFailover(
        operation=state.operation or "failover",
        run=journal.run_id,
        outcome=outcome,
        started_at=state.confirmed_at,
        ended_at=ended_at,
        rto_s=float(rto) if isinstance(rto, (int, float)) else None,
        source=report.get("from"),
        target=report.get("to"),
    )
