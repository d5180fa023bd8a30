"""The game day's observer: samples what kdrtui shows (``kdrtui status``'s view: every flow's and the run's
topics' health and lag, every cluster's state) about once a second in a thread, and keeps each change with
its time and the alerts it would fire.

Alerts: kdrtui's own health-change alert (:func:`kdrtui.services.alerts.health_changes`, what
``--alert-command`` runs for) and the rules of ``dashboards/alerts.yml`` whose condition the sample meets,
mapped from the same figures the exporter exports (flow health -> ``KdrtuiFlowWarn``/``Crit``/``Stalled``/
``Stopped``, lost records -> ``KdrtuiRecordsLost``, cluster state -> ``KdrtuiClusterDegraded``/
``KdrtuiClusterUnreachable``, offline or under-min-ISR partitions -> ``KdrtuiPartitionsRefuseWrites``). A
rule's ``for:`` hold is not waited for: the time is when its condition first held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kdrtui.domain.gameday import AlertFired, StateChange
from kdrtui.domain.health import state_of
from kdrtui.domain.lag import LagSnapshot
from kdrtui.services.alerts import health_changes

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.services.observe.status_view import StatusView

FLOW_RULES = {
    "WARN": "KdrtuiFlowWarn",
    "CRIT": "KdrtuiFlowCrit",
    "STALLED": "KdrtuiFlowStalled",
    "STOPPED": "KdrtuiFlowStopped",
    "LOST": "KdrtuiRecordsLost",
}
CLUSTER_RULES = {"degraded": "KdrtuiClusterDegraded", "unreachable": "KdrtuiClusterUnreachable"}


@dataclass(frozen=True)
class Sample:
    """One refresh, reduced to what a scenario judges by."""

    t: float
    """Seconds since the run started."""
    flows: dict[str, str]
    """``source->target`` -> health."""
    flow_lag: dict[str, tuple[int, float]]
    """``source->target`` -> (lag records, lag seconds) over the run's own topics."""
    topics: dict[str, str]
    """``source->target/topic`` -> health, for the run's own topics."""
    clusters: dict[str, str]
    """Alias -> ``up``, ``degraded`` or ``unreachable``."""
    refuse_writes: dict[str, int] = field(default_factory=dict)
    """Alias -> partitions offline or under min ISR."""


class Observer:
    """Samples :class:`~kdrtui.services.observe.status_view.StatusReader` in a thread."""

    def __init__(
        self,
        plan: Plan,
        plan_path: Path | None,
        topics: set[str],
        clock: Callable[[], float],
        *,
        interval_s: float = 1.0,
    ) -> None:
        self.plan = plan
        self.plan_path = plan_path
        self.topics = set(topics)
        """The run's own source topics (the traffic's)."""
        self._clock = clock
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self.states: list[StateChange] = []
        self.alerts: list[AlertFired] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: LagSnapshot | None = None
        self._last: Sample | None = None

    def start(self) -> None:
        """Start sampling (returns at once)."""
        self._thread = threading.Thread(target=self._run, name="gameday-observer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling (waits for the refresh under way)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def latest(self) -> Sample | None:
        """The last sample."""
        with self._lock:
            return self._last

    def first(self, predicate: Callable[[Sample], bool], after: float = 0.0) -> Sample | None:
        """The first sample at or after ``after`` (run seconds) meeting ``predicate``."""
        with self._lock:
            samples = list(self.samples)
        return next((s for s in samples if s.t >= after and predicate(s)), None)

    def since(self, after: float) -> list[Sample]:
        """Every sample from ``after`` on."""
        with self._lock:
            return [s for s in self.samples if s.t >= after]

    def note(
        self, subject: str, old: str | None, new: str, detail: str = "", rule: str | None = None
    ) -> None:
        """Record a change seen outside the status view (MirrorMaker's state from ``kdrtui mm status``)."""
        t = self._clock()
        with self._lock:
            self.states.append(StateChange(t, subject, old, new, detail))
            if rule is not None:
                self.alerts.append(AlertFired(t, rule, subject, f"{old or '-'} -> {new}"))

    def _run(self) -> None:
        from kdrtui.services.observe.status_view import StatusReader

        reader: StatusReader | None = None
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    if reader is None:
                        reader = StatusReader(
                            self.plan, self.plan_path, follow_dr_state=True, health_timeout_s=3.0
                        )
                    view = reader.refresh()
                except Exception as exc:  # a refresh that fails is recorded, the next one tried
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                else:
                    self._take(view)
                self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - began)))
        finally:
            if reader is not None:
                reader.close()

    def _take(self, view: StatusView) -> None:
        t = self._clock()
        snap = view.snapshot
        flows: dict[str, str] = {}
        lag: dict[str, tuple[int, float]] = {}
        topics: dict[str, str] = {}
        for flow in snap.flows:
            name = f"{flow.source}->{flow.target}"
            flows[name] = str(flow.health)
            own = [tp for tp in flow.topics if tp.topic in self.topics]
            lag[name] = (sum(tp.lag_records for tp in own), max((tp.lag_seconds for tp in own), default=0.0))
            for tp in own:
                topics[f"{name}/{tp.topic}"] = str(tp.health)
        clusters = {alias: str(state_of(obs)) for alias, obs in view.clusters.items()}
        refuse = {
            alias: (obs.offline or 0) + (obs.under_min_isr or 0)
            for alias, obs in view.clusters.items()
            if obs.ok
        }
        sample = Sample(t, flows, lag, topics, clusters, refuse)
        changes = [
            c for c in health_changes(self._previous, snap) if c.topic is None or c.topic in self.topics
        ]
        self._previous = snap
        with self._lock:
            before = self._last
            self._last = sample
            self.samples.append(sample)
            for change in changes:
                subject = (
                    f"flow {change.flow}" if change.topic is None else f"topic {change.flow}/{change.topic}"
                )
                detail = f"{change.lag_records} records, {change.lag_seconds:.1f} s behind"
                old = None if change.old is None else str(change.old)
                self.states.append(StateChange(t, subject, old, str(change.new), detail))
                self.alerts.append(AlertFired(t, "kdrtui health change", subject, change.describe()))
                rule = FLOW_RULES.get(str(change.new))
                if rule is not None and change.topic is None:
                    self.alerts.append(AlertFired(t, rule, subject, change.describe()))
            for alias, state in clusters.items():
                old_state = before.clusters.get(alias) if before is not None else None
                if state == old_state or (old_state is None and state == "up"):
                    continue
                self.states.append(StateChange(t, f"cluster {alias}", old_state, state))
                if state in CLUSTER_RULES:
                    self.alerts.append(AlertFired(t, CLUSTER_RULES[state], f"cluster {alias}", state))
            for alias, n in refuse.items():
                was = before.refuse_writes.get(alias, 0) if before is not None else 0
                if n > 0 and was == 0:
                    text = f"{n} partition(s) offline or under min ISR"
                    self.alerts.append(
                        AlertFired(t, "KdrtuiPartitionsRefuseWrites", f"cluster {alias}", text)
                    )
