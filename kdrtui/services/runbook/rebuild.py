"""The DR state derived from the journals: what ``kdrtui state rebuild`` writes when ``state.json`` is lost
or cannot be trusted.

Every time a failover or failback changes the DR state it first journals the whole new state (a
``step-note`` with ``state``, fsynced) and only then writes ``state.json``. So the newest such note across
the plan's journals is the state the last run left — including a run killed between the two writes.
Journals written before these notes existed are read by their steps' ends instead (the switch names the
active cluster; a fence's topics are recorded with their default value, which is what they had unless
someone set their own ``max.message.bytes``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain.plan import FenceMethod, Plan
from kdrtui.services.runbook.store import DrState, RunbookStore, StateInvalid, parse_state

STATE_JOURNALS = ("failover", "failback", "rollback")
"""The runbooks whose journals say how the DR state changed."""


@dataclass
class Derived:
    """The state the journals give, and how it was found."""

    state: DrState
    source: str
    """Where it came from, for the operator (``the newest journaled state (journal …, 12:03:04 UTC)``)."""
    warnings: list[str] = field(default_factory=list)


def derive_state(plan: Plan, store: RunbookStore) -> Derived:
    """The DR state the plan's journals give (the default — primary active, nothing fenced — when no run
    ever changed it)."""
    entries: list[tuple[float, int, str, dict[str, Any]]] = []
    for order, journal in enumerate(store.journals(STATE_JOURNALS)):
        for entry in journal.entries():
            at = entry.get("at")
            stamp = float(at) if isinstance(at, (int, float)) and not isinstance(at, bool) else 0.0
            entries.append((stamp, order, journal.path.name, entry))
    entries.sort(key=lambda item: (item[0], item[1]))
    derived = Derived(DrState(active=plan.primary_alias), "no run ever changed it: the primary is active")
    legacy = {name for _, _, name, e in entries} - {
        name for _, _, name, e in entries if e.get("event") == "step-note" and "state" in e
    }
    runs: dict[str, dict[str, Any]] = {}
    for _at, _order, name, entry in entries:
        event = entry.get("event")
        if event == "run-start":
            runs[name] = dict(entry.get("options") or {}, operation=entry.get("operation"))
        elif event == "step-note" and isinstance(entry.get("state"), dict):
            try:
                derived.state = parse_state(json.dumps(entry["state"]), plan.clusters)
            except StateInvalid as exc:
                derived.warnings.append(f"{name}: a journaled state was skipped: {exc}")
                continue
            derived.source = f"the newest journaled state ({name}, step {entry.get('step')})"
        elif event == "step-end" and name in legacy and entry.get("status") == "done":
            _legacy_step(plan, derived, name, runs.get(name, {}), entry)
    return derived


def _legacy_step(plan: Plan, derived: Derived, name: str, run: dict[str, Any], entry: dict[str, Any]) -> None:
    """A journal from before state notes: what its finished steps say about the state."""
    operation = str(run.get("operation") or "")
    forward = (plan.primary_alias, plan.secondary_alias)
    source, target = forward if operation == "failover" else forward[::-1]
    source, target = str(run.get("source") or source), str(run.get("target") or target)
    facts = entry.get("facts") or {}
    state = derived.state
    step = entry.get("step")
    if step == "fence" and facts.get("topics"):
        kafka = plan.failover.kafka_fence  # journals without state notes predate the nsg fence
        method = str(kafka) if kafka is not None else "reject-writes"
        if kafka == FenceMethod.ACL:
            method = "acls"  # journals without state notes predate the acl fence: theirs denied User:*
        state.fenced[source] = {"method": method, "topics": dict.fromkeys(facts["topics"])}
        derived.warnings.append(
            f"{name}: an older journal: the fence on {source} is recorded with each topic's default "
            "max.message.bytes (the value it had before is not in that journal)"
        )
    elif step == "switch-clients":
        switched = facts.get("switched_at")
        state.active, state.operation = target, operation or None
        state.since = float(switched) if isinstance(switched, (int, float)) else None
        state.run = name.removeprefix("journal-").removesuffix(".jsonl")
    elif step == "replication":
        if operation == "failback":
            state.fenced.pop(source, None)
            state.fenced.pop(target, None)
            state.reverse_flow = None
        elif facts.get("started"):
            state.reverse_flow = f"{target}->{source}"
    else:
        return
    derived.source = f"the steps of {name} (an older journal without journaled states)"
