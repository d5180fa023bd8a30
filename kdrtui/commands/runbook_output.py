"""How a runbook's events read in a terminal (failover, failback, provision, destroy)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from kdrtui.domain.runbook import RunState
    from kdrtui.services.runbook.runner import RunEvent

MARK = {"done": "✓", "skipped": "-", "failed": "✗", "verified": "✓"}


def printer(as_json: bool) -> Callable[[RunEvent], None]:
    """Prints runbook events as lines (to stderr with --json, so stdout holds only the JSON)."""
    out = sys.stderr if as_json else sys.stdout
    counter = {"n": 0}

    def on_event(event: RunEvent) -> None:
        if event.kind == "step-start":
            counter["n"] += 1
            print(f"[{counter['n']}] {event.title} …", file=out, flush=True)
        elif event.kind == "progress":
            print(f"    {event.text}", file=out, flush=True)
        elif event.kind == "step-end":
            if event.status is not None and event.status.value == "verified":
                counter["n"] += 1
                print(f"[{counter['n']}] {event.title}", file=out, flush=True)
            took = f" ({event.seconds:.1f} s)" if event.seconds is not None else ""
            mark = MARK.get(str(event.status), "?")
            print(f"    {mark} {event.status}: {event.text}{took}", file=out, flush=True)
        elif event.kind == "run-end":
            print(f"{event.text}", file=out, flush=True)

    return on_event


def print_summary(state: RunState, titles: dict[str, str], out: TextIO = sys.stdout) -> None:
    """Per-step status and seconds, and the total, of the run the journal describes (this process's
    run: a step verified from an earlier run shows 'verified')."""
    width = max((len(title) for title in titles.values()), default=10)
    total = 0.0
    print("Summary:", file=out)
    for key, title in titles.items():
        record = state.steps.get(key)
        status = str(record.status) if record is not None else "pending"
        seconds = record.seconds if record is not None and status != "verified" else None
        total += seconds or 0.0
        took = f"{seconds:7.1f} s" if seconds is not None else "        -"
        print(f"  {MARK.get(status, ' ')} {title:<{width}}  {status:<8} {took}", file=out)
    print(f"  {'total':>{width + 2}}           {total:7.1f} s", file=out)


def steps_json(state: RunState | None) -> list[dict[str, Any]]:
    """The journal's steps as JSON-able dicts."""
    return [
        {
            "step": record.key,
            "status": str(record.status),
            "summary": record.summary,
            "seconds": None if record.seconds is None else round(record.seconds, 3),
            "runs": record.runs,
        }
        for record in (state.steps.values() if state else [])
    ]
