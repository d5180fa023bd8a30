"""One refresh of what ``kdrtui status`` shows — every flow's mirror lag and every cluster's health — as a
value (:class:`StatusView`) and the object that takes it (:class:`StatusReader`, blocking).

``kdrtui status`` prints :meth:`StatusView.to_json`; ``kdrtui exporter`` exports the same view's figures
and serves the same JSON at ``/status.json``: both read through this module, so the exporter's figures are
those of ``kdrtui status --json`` taken at the same refresh.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.lag import LagSnapshot
from kdrtui.domain.lag_health import SEVERITY, Health
from kdrtui.services.observe.cluster_health import ClusterHealthReader, health_exit, health_json

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.services.automation.summary import AutomationStatus
    from kdrtui.services.kafka.lag_engine import LagEngine


@dataclass(frozen=True, slots=True)
class StatusView:
    """The mirror lag and the clusters' health of one refresh."""

    snapshot: LagSnapshot
    """Every flow's mirror lag (the flows out of the cluster active now)."""
    clusters: dict[str, ClusterObservation] = field(default_factory=dict)
    """Alias -> the cluster's health probe of this refresh (clusters with bootstrap servers)."""
    dr_state_error: str | None = None
    """Why the DR state (which cluster is active) could not be read; None when it was."""
    refresh: int = 0
    """This refresh's number in its reader, 1 for the first."""
    duration_s: float = 0.0
    """How long the refresh took (the lag read and the health probes overlap)."""
    automation: AutomationStatus | None = None
    """The automated failover policy as ``kdrtui watch`` last published it (None: not read)."""

    def to_dict(self) -> dict[str, Any]:
        """The documented body of ``kdrtui status --json``."""
        body = self.snapshot.to_dict()
        if self.dr_state_error is not None:
            body["active"] = None
        body["dr_state_error"] = self.dr_state_error
        body["clusters"] = health_json(self.clusters)
        if self.automation is not None:
            body["automation"] = self.automation.to_dict()
        return body

    def to_json(self) -> str:
        """:meth:`to_dict` as the one line ``kdrtui status --json`` prints."""
        return json.dumps(self.to_dict())

    def exit_code(self) -> int:
        """``kdrtui status``'s: 0 OK, 1 WARN or a cluster DEGRADED, 2 anything worse (or the DR state
        unreadable)."""
        if self.dr_state_error is not None:
            return 2
        return max(lag_exit(self.snapshot), health_exit(self.clusters))


def lag_exit(snapshot: LagSnapshot) -> int:
    """The mirror lag's part of the exit code: 0 OK (or IDLE), 1 WARN, 2 anything worse."""
    return min(2, SEVERITY[snapshot.health]) if snapshot.health != Health.OK else 0


LagEngineFactory = Callable[["Plan"], "LagEngine"]


def _lag_engine(plan: Plan) -> LagEngine:
    from kdrtui.services.kafka.lag_engine import LagEngine

    return LagEngine(plan)


class StatusReader:
    """Takes :class:`StatusView` values of a plan (blocking: a CLI's or a thread's).

    The flows watched are those of :func:`~kdrtui.services.runbook.operate.view_plan`: after a failover,
    out of the new primary; with the DR state unreadable, both directions (and the view says why). With
    ``follow_dr_state`` the reader looks at the DR state file before each refresh and starts over (new lag
    engine) when it changed, so a long-running exporter follows a failover. Every fresh flow's figures are
    remembered for a failover to report if the source goes away (:func:`~kdrtui.services.runbook.lag_memory.
    remember`), as ``kdrtui status`` always did.
    """

    def __init__(
        self,
        plan: Plan,
        plan_path: Path | None,
        *,
        follow_dr_state: bool = False,
        lag_engine: LagEngineFactory = _lag_engine,
        health_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from kdrtui.services.runbook.store import RunbookStore

        self.plan = plan
        self._path = plan_path
        self._follow = follow_dr_state
        self._lag_engine = lag_engine
        self._clock = clock
        self._store = RunbookStore(plan.plan.name, plan_path)
        self._health = ClusterHealthReader(plan, timeout_s=health_timeout_s)
        self._refreshes = 0
        self._state_stamp = self._dr_state_stamp()
        self._engine, self._unreadable = self._watch()

    def _watch(self) -> tuple[LagEngine, str | None]:
        from kdrtui.services.runbook.operate import view_plan

        watched, unreadable = view_plan(self.plan, self._path)
        return self._lag_engine(watched), unreadable

    def _dr_state_stamp(self) -> tuple[int, int] | None:
        try:
            stat = self._store.state_path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    @property
    def watched(self) -> Plan:
        """The plan whose flows the lag engine reads now."""
        return self._engine.plan

    def refresh(self, *, warm_up_s: float | None = None, warm_up_always: bool = False) -> StatusView:
        """One view now. ``warm_up_s``: read the lag twice, that long apart (rates and lag in seconds need
        two points), unless a cluster did not answer the first read (each read would wait for it again) and
        not ``warm_up_always``."""
        if self._follow:
            stamp = self._dr_state_stamp()
            if stamp != self._state_stamp:  # a failover or failback ran: watch the flows it left
                self._state_stamp = stamp
                old = self._engine
                self._engine, self._unreadable = self._watch()
                old.close()
        from kdrtui.services.automation.summary import read_automation
        from kdrtui.services.runbook.lag_memory import remember

        started = self._clock()
        pending = self._health.submit()  # overlaps the lag read: a cluster down costs one timeout
        snapshot = self._engine.refresh()
        if warm_up_s is not None and (warm_up_always or not snapshot.unreachable):
            time.sleep(warm_up_s)
            snapshot = self._engine.refresh()
        remember(self._store, snapshot)
        seen = pending.result()
        self._refreshes += 1
        return StatusView(
            snapshot,
            seen,
            self._unreadable,
            refresh=self._refreshes,
            duration_s=self._clock() - started,
            automation=read_automation(self.plan, self._path),
        )

    def close(self) -> None:
        """Release the clients."""
        self._engine.close()
        self._health.close()
