"""Turns what a long-running process observes into timeline events: each ``observe_*`` diffs what it is
given against what this recorder saw last, writes the changes (and the per-minute lag) to the store and
returns them.

- lag: every flow's and topic's health change (:func:`kdrtui.services.alerts.health_changes`: what the
  alert hook reports, recoveries to OK included; a first snapshot reports only what is not fine), and one
  lag sample per flow folded into its minute's row;
- clusters: reachability (UP, DEGRADED, UNREACHABLE, with the reason) and broker count changes;
- MirrorMaker: each deployment's process state per edge node, and each MM2 connector's and task's state;
- SSH: each edge node's connection state.

A first observation records only what is wrong (a cluster not UP, a crashed MirrorMaker, a FAILED task,
SSH down): starting a process on a healthy DR says nothing. A store error never reaches the caller: it is
logged once (then once more when the store works again) and the process carries on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path

from kdrtui.domain.health import ClusterObservation, Reachability, state_of
from kdrtui.domain.lag import FlowLag, LagSnapshot
from kdrtui.domain.lag_health import Health
from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.safe_text import shown
from kdrtui.domain.timeline import Event, EventKind
from kdrtui.services.alerts import health_changes
from kdrtui.services.timeline.store import TimelineStore, TimelineUnavailable

LOGGER = logging.getLogger("kdrtui.timeline")

_HEALTH_SEVERITY = {
    Health.OK: "info",
    Health.IDLE: "info",
    Health.WARN: "warn",
}
"""Other healths (CRIT, STALLED, STOPPED, LOST) are ``crit``."""
_MM_SEVERITY = {MmState.CRASHED: "crit", MmState.UNKNOWN: "warn"}
"""Other MirrorMaker states are ``info`` (a stop kdrtui did not ask for is ``warn``)."""
_REASON_LIMIT = 200
"""Longest reason kept in an event's text."""


def _reason(text: str | None) -> str:
    """The first line of ``text``, cut to :data:`_REASON_LIMIT` (outside text: never markup here)."""
    if not text:
        return ""
    return shown(text.strip().splitlines()[0] if text.strip() else "", _REASON_LIMIT)


class TimelineRecorder:
    """One process's recorder of a plan's timeline (``source`` names the process in every event)."""

    def __init__(self, store: TimelineStore, source: str, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        """Where the events go."""
        self.source = source
        """``console``, ``status``, ``exporter``..."""
        self._clock = clock
        self._lock = threading.Lock()
        self._lag: LagSnapshot | None = None
        self._clusters: dict[str, tuple[Reachability, int | None]] = {}
        self._mm: dict[tuple[str, str], MmState] = {}
        self._tasks: dict[tuple[str, str], str] = {}
        self._ssh: dict[str, bool] = {}
        self._failing = False

    # -- writing -------------------------------------------------------------------------------------

    def _write(self, what: Callable[[], None]) -> bool:
        """Run one store write; a failure is logged (once until the store works again), never raised."""
        try:
            what()
        except TimelineUnavailable as exc:
            if not self._failing:
                LOGGER.warning("timeline not recorded (carrying on without it): %s", exc)
            self._failing = True
            return False
        if self._failing:
            LOGGER.info("timeline recorded again: %s", self.store.path)
        self._failing = False
        return True

    def _record(self, events: list[Event]) -> list[Event]:
        if events:
            self._write(lambda: self.store.record(events))
        return events

    def _event(
        self, kind: EventKind, subject: str, text: str, severity: str = "info", flow: str | None = None
    ) -> Event:
        return Event(
            at=self._clock(),
            kind=kind,
            subject=subject,
            text=text,
            severity=severity,
            flow=flow,
            source=self.source,
        )

    # -- lag -----------------------------------------------------------------------------------------

    def observe_lag(self, snapshot: LagSnapshot) -> list[Event]:
        """Health changes since the last snapshot, and one lag sample per flow (taken at the snapshot's
        time, its worst health) into the per-minute rows."""
        with self._lock:
            previous, self._lag = self._lag, snapshot
        events = []
        for change in health_changes(previous, snapshot):
            subject = change.flow if change.topic is None else f"{change.flow}/{change.topic}"
            severity = _HEALTH_SEVERITY.get(change.new, "crit")
            event = self._event(EventKind.HEALTH, subject, change.describe(), severity, change.flow)
            events.append(replace(event, at=snapshot.taken_at))
        self._record(events)
        for flow in snapshot.flows:
            if flow.stale_s is not None:
                continue  # a cluster did not answer: the numbers are old, not a sample of now
            self._write(partial(self._sample, snapshot.taken_at, flow))
        return events

    def _sample(self, at: float, flow: FlowLag) -> None:
        self.store.record_lag(
            at, f"{flow.source}->{flow.target}", flow.lag_records, flow.lag_seconds, str(flow.health)
        )

    # -- clusters ------------------------------------------------------------------------------------

    def observe_clusters(self, seen: Mapping[str, ClusterObservation]) -> list[Event]:
        """Each cluster's reachability change (with the reason) and broker count change."""
        events = []
        with self._lock:
            for alias, obs in sorted(seen.items()):
                event = self._cluster_event(alias, obs)
                if event is not None:
                    events.append(event)
        return self._record(events)

    def _cluster_event(self, alias: str, obs: ClusterObservation) -> Event | None:
        state = state_of(obs)
        brokers = obs.brokers if obs.ok else None
        before = self._clusters.get(alias)
        self._clusters[alias] = (state, brokers)
        old_state, old_brokers = before if before is not None else (None, None)
        expected = obs.expected_text()
        broker_change = brokers is not None and old_brokers is not None and brokers != old_brokers
        if state == old_state and not broker_change:
            return None
        if old_state is None and state is Reachability.UP:
            return None  # first seen healthy: nothing happened
        severity = {Reachability.UNREACHABLE: "crit", Reachability.DEGRADED: "warn"}.get(state, "info")
        if state == old_state:
            text = f"{alias}: brokers {old_brokers}/{expected} -> {brokers}/{expected}"
            if brokers is not None and old_brokers is not None and brokers > old_brokers:
                severity = "info"
            return self._event(EventKind.CLUSTER, alias, text, severity)
        old = "-" if old_state is None else str(old_state).upper()
        text = f"{alias}: {old} -> {str(state).upper()}"
        if broker_change:
            text += f", brokers {old_brokers} -> {brokers}/{expected}"
        why = self._cluster_reason(obs)
        if why:
            text += f" ({why})"
        return self._event(EventKind.CLUSTER, alias, text, severity)

    @staticmethod
    def _cluster_reason(obs: ClusterObservation) -> str:
        if not obs.ok:
            return _reason(obs.error) or "no answer"
        parts = [f"brokers {obs.brokers}/{obs.expected_text()}"]
        if obs.missing_brokers:
            parts.append(f"{obs.missing_brokers} missing")
        if obs.unwritable_count:
            parts.append(f"{obs.unwritable_count} partitions offline or under min ISR")
        return ", ".join(parts)

    # -- MirrorMaker ---------------------------------------------------------------------------------

    def observe_mirrormaker(self, statuses: Iterable[MirrorMakerStatus]) -> list[Event]:
        """Each deployment's process state change per edge node, and each MM2 connector's and task's."""
        events: list[Event] = []
        with self._lock:
            for status in statuses:
                event = self._mm_event(status)
                if event is not None:
                    events.append(event)
                events.extend(self._task_events(status))
        return self._record(events)

    def _mm_event(self, status: MirrorMakerStatus) -> Event | None:
        key = (status.node, status.deployment)
        old = self._mm.get(key)
        self._mm[key] = status.state
        if old == status.state:
            return None
        if old is None and status.state in (
            MmState.RUNNING,
            MmState.SCHEDULED,
            MmState.STOPPED,
            MmState.NOT_DEPLOYED,
        ):
            return None
        subject = f"{status.node}/{status.deployment}"
        text = f"{subject}: MirrorMaker {old or '-'} -> {status.state}"
        detail = []
        if status.state is MmState.RUNNING and status.pid is not None:
            detail.append(f"pid {status.pid}")
        if status.exit_code is not None and status.state in (MmState.CRASHED, MmState.STOPPED):
            detail.append(f"exit {status.exit_code}")
        if status.state is MmState.STOPPED and status.stopped_by_operator:
            detail.append("stopped by kdrtui")
        if status.state is MmState.UNKNOWN and status.error:
            detail.append(_reason(status.error))
        if detail:
            text += f" ({', '.join(detail)})"
        severity = _MM_SEVERITY.get(status.state, "info")
        if status.state is MmState.STOPPED and not status.stopped_by_operator:
            severity = "warn"
        flows = {f.flow for f in status.flows if f.target}
        return self._event(
            EventKind.MIRRORMAKER, subject, text, severity, flows.pop() if len(flows) == 1 else None
        )

    def _task_events(self, status: MirrorMakerStatus) -> list[Event]:
        events = []
        for flow in status.flows:
            if not flow.readable or not flow.target:
                continue
            states = [(c.name, c.state or "?", c.trace) for c in flow.connectors]
            states += [(t.name, t.state, t.trace) for t in flow.tasks]
            for name, state, trace in states:
                key = (flow.flow, name)
                old = self._tasks.get(key)
                self._tasks[key] = state
                if old == state or (old is None and state != "FAILED"):
                    continue
                subject = f"{flow.flow}/{name}"
                text = f"{flow.flow} {name}: {old or '-'} -> {state}"
                if state == "FAILED" and trace:
                    text += f" ({_reason(trace)})"
                severity = "crit" if state == "FAILED" else "info"
                events.append(self._event(EventKind.TASK, subject, text, severity, flow.flow))
        return events

    # -- SSH -----------------------------------------------------------------------------------------

    def observe_ssh(self, node: str, connected: bool, why: str | None = None) -> list[Event]:
        """An edge node's SSH connection came up or went down (``why``: the reason it is down)."""
        with self._lock:
            old = self._ssh.get(node)
            self._ssh[node] = connected
        if old == connected or (old is None and connected):
            return []
        if connected:
            text, severity = f"{node}: SSH down -> connected", "info"
        else:
            text = f"{node}: SSH {'connected' if old else '-'} -> down"
            reason = _reason(why)
            if reason:
                text += f" ({reason})"
            severity = "warn"
        return self._record([self._event(EventKind.SSH, node, text, severity)])


def open_recorder(plan_name: str, plan_path: Path | None, source: str) -> TimelineRecorder | None:
    """A recorder on the plan's timeline for the process ``source`` names; None (logged) when the
    timeline cannot be opened: the process runs on without it."""
    try:
        store = TimelineStore.for_plan(plan_name, plan_path)
    except TimelineUnavailable as exc:
        LOGGER.warning("%s: no incident timeline: %s", source, exc)
        return None
    return TimelineRecorder(store, source)
