"""Runbook journal entries onto the plan's timeline: every :meth:`Journal.write
<kdrtui.services.runbook.store.Journal.write>` also records an event in ``timeline.sqlite`` beside the
journal (run start, step start and end, run end as ``runbook`` events; fences put up and taken down as
``fence`` events), at the journal entry's own time.

Best effort: the journal is the record of truth; a timeline that cannot be written is logged once per
database and the runbook carries on.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from kdrtui.domain.safe_text import shown
from kdrtui.domain.timeline import Event, EventKind
from kdrtui.services.timeline.store import (
    FILE_NAME,
    TimelineStore,
    TimelineUnavailable,
    configured_retention_days,
)

LOGGER = logging.getLogger("kdrtui.timeline")

_STORES: dict[Path, TimelineStore] = {}
_FAILED: set[Path] = set()
_LOCK = threading.Lock()
SUMMARY_LIMIT = 200
"""Longest step summary or error kept in an event's text."""
_END_SEVERITY = {"completed": "info", "failed": "crit"}
"""A run that ended otherwise (aborted, rolled back) is ``warn``."""


def _operation(journal: Path) -> str:
    """``failover`` from ``journal-20261203T220000Z-failover-ab12.jsonl``."""
    return "-".join(journal.stem.split("-")[2:-1]) or "runbook"


def _store(path: Path) -> TimelineStore:
    with _LOCK:
        store = _STORES.get(path)
        if store is None:
            try:
                days = configured_retention_days()
            except ValueError as exc:
                raise TimelineUnavailable(path, str(exc)) from None
            store = _STORES[path] = TimelineStore(path, retention_days=days)
        return store


def journal_events(operation: str, entry: dict[str, Any]) -> list[Event]:
    """The timeline events of one journal entry (none for entries that only carry facts)."""
    event = entry.get("event")
    at = entry.get("at")
    run = str(entry.get("run", ""))
    if not isinstance(at, (int, float)):
        return []
    subject = f"{operation} {run}"

    def make(kind: EventKind, text: str, severity: str = "info") -> Event:
        return Event(at=float(at), kind=kind, subject=subject, text=text, severity=severity, source=operation)

    if event == "run-start":
        how = "resumed" if entry.get("resumed") else "started"
        return [make(EventKind.RUNBOOK, f"{operation} {how} (plan {shown(str(entry.get('plan', '?')), 60)})")]
    if event == "step-start":
        return [make(EventKind.RUNBOOK, f"{operation}: step {entry.get('step')} started")]
    if event == "step-end":
        status = str(entry.get("status", "?"))
        seconds = entry.get("seconds")
        took = f"{seconds:.1f} s: " if isinstance(seconds, (int, float)) else ""
        summary = shown(str(entry.get("summary") or ""), SUMMARY_LIMIT)
        severity = "crit" if status == "failed" else "info"
        text = f"{operation}: step {entry.get('step')} {status}"
        return [make(EventKind.RUNBOOK, text + (f" ({took}{summary})" if took or summary else ""), severity)]
    if event == "run-end":
        outcome = str(entry.get("outcome", "?"))
        error = shown(str(entry.get("error") or ""), SUMMARY_LIMIT)
        text = f"{operation} {outcome}" + (f" at step {entry['step']} ({error})" if entry.get("step") else "")
        return [make(EventKind.RUNBOOK, text, _END_SEVERITY.get(outcome, "warn"))]
    if event == "step-note" and entry.get("fence_method"):
        cluster = entry.get("cluster")
        where = f" on {cluster}" if cluster else ""
        return [make(EventKind.FENCE, f"fence {entry['fence_method']} applied{where}", "warn")]
    if event == "step-note" and entry.get("unfenced"):
        method = entry.get("fence_method_removed") or "fence"
        return [make(EventKind.FENCE, f"{method} removed on {entry['unfenced']}")]
    return []


def record_journal_entry(journal: Path, entry: dict[str, Any]) -> None:
    """Record ``entry`` of ``journal`` on the timeline beside it; never raises."""
    path = journal.parent / FILE_NAME
    try:
        events = journal_events(_operation(journal), entry)
        if events:
            _store(path).record(events)
    except Exception as exc:  # best effort: the journal has it; a runbook never fails for its timeline
        with _LOCK:
            first = path not in _FAILED
            _FAILED.add(path)
        if first:
            LOGGER.warning("runbook event not on the timeline (the journal has it): %s", exc)
