"""A real timeline store in a temporary folder, filled with a known incident, for the Timeline pane's tests
(Pilot and snapshot): the app reads it through ``make_app(timeline_store_factory=...)``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from kdrtui.domain.plan import Plan
from kdrtui.domain.timeline import Event, EventKind, LagMinute
from kdrtui.services.timeline.store import TimelineStore
from kdrtui.tui.app import KdrApp
from tests.tui.fakes import FIXED_NOW, fixed_app, sample_plan

NOW = FIXED_NOW + 42
"""The app's clock: 2025-11-25 18:00:42 UTC."""
FLOW = "primary->dr"
"""The sample plan's flow."""
GAP_MINUTES = range(20, 24)
"""Minutes of the last hour (17:01 + n) without any lag sample: drawn as gaps."""
PEAK = 9_400
"""Worst lag of the last hour, in records, in the minute 17:42."""
DAY_PEAK = 20_000
"""Worst lag of the last day, in records, at 08:00 (ten hours before NOW): outside the hour chart."""


def hour_records(n: int) -> int:
    """Lag in records in the minute 17:01 + n (n from 0 to 59)."""
    return PEAK if n == 41 else 150 + 200 * min(n, 40) if n < 41 else max(0, PEAK - 900 * (n - 41))


def health_of(records: int) -> str:
    return "CRIT" if records > 5_000 else "WARN" if records > 1_000 else "OK"


INCIDENT = (
    Event(
        NOW - 86_400 - 3_600,
        EventKind.RUNBOOK,
        "failback 20251124",
        "failback ended: done",
        source="failover",
    ),
    Event(
        NOW - 3_000,
        EventKind.CLUSTER,
        "dr",
        "dr: reachable -> unreachable (Broker transport failure)",
        "warn",
    ),
    Event(NOW - 2_940, EventKind.CLUSTER, "dr", "dr: unreachable -> reachable (3 brokers)", "info"),
    Event(
        NOW - 1_100,
        EventKind.HEALTH,
        FLOW,
        f"{FLOW}: WARN -> CRIT (9400 records, 188.0 s)",
        "crit",
        FLOW,
        "console",
    ),
    Event(
        NOW - 1_000,
        EventKind.MIRRORMAKER,
        "edge-1/mm2-primary-dr",
        "edge-1/mm2-primary-dr: running -> stopped [exit 143] after a restart that took far longer "
        "than expected",
        "crit",
        FLOW,
        "console",
    ),
    Event(
        NOW - 300,
        EventKind.HEALTH,
        f"{FLOW}/payments",
        f"{FLOW}/payments: CRIT -> OK (12 records, 0.8 s)",
        "info",
        FLOW,
    ),
)
"""Newest last: a failback yesterday, dr unreachable for a minute, the flow going CRIT, MirrorMaker
stopping (a long text), a topic back to OK."""


def fill(store: TimelineStore) -> None:
    """Record :data:`INCIDENT` and a lag sample per minute of the last hour (but :data:`GAP_MINUTES`),
    plus the day's peak ten hours ago."""
    store.record(INCIDENT)
    start = 17 * 3600 + 60  # 17:01 UTC
    day = FIXED_NOW - 18 * 3600  # 2025-11-25 00:00 UTC
    for n in range(60):
        if n in GAP_MINUTES:
            continue
        records = hour_records(n)
        store.record_lag(day + start + 60 * n + 5, FLOW, records, records / 50, health_of(records))
    store.record_lag(day + 8 * 3600 + 5, FLOW, DAY_PEAK, 400.0, "CRIT")


class CountingStore:
    """A real :class:`TimelineStore` that counts the pane's reads of its events."""

    def __init__(self, store: TimelineStore) -> None:
        self.store = store
        self.reads = 0

    def events(self, **kw: Any) -> list[Event]:
        self.reads += 1
        return self.store.events(**kw)

    def lag_minutes(self, flow: str, since: float, until: float | None = None) -> list[LagMinute]:
        return self.store.lag_minutes(flow, since, until)

    def flows(self) -> list[str]:
        return self.store.flows()

    def close(self) -> None:
        self.store.close()


class StoreFactory:
    """The pane's ``timeline_store_factory``: opens the store at ``path`` (its clock at :data:`NOW`, so
    retention keeps the sample data); ``fail`` makes opening raise as an unreadable file does."""

    def __init__(self, path: Path, fail: Exception | None = None) -> None:
        self.path = path
        self.fail = fail
        self.opened: list[CountingStore] = []
        self.lock = threading.Lock()

    def open(self) -> TimelineStore:
        """Another connection to the same file (what another kdrtui process writes through)."""
        return TimelineStore(self.path, clock=lambda: NOW)

    def __call__(self, plan: Plan, plan_path: Path | None) -> CountingStore:
        if self.fail is not None:
            raise self.fail
        store = CountingStore(self.open())
        with self.lock:
            self.opened.append(store)
        return store

    @property
    def reads(self) -> int:
        """Reads of the events over every store opened so far."""
        with self.lock:
            return sum(s.reads for s in self.opened)


def filled_factory(tmp_path: Path) -> StoreFactory:
    """A factory on a store in ``tmp_path`` holding the sample incident."""
    factory = StoreFactory(tmp_path / "timeline.sqlite")
    store = factory.open()
    fill(store)
    store.close()
    return factory


def timeline_app(
    factory: StoreFactory, plan: Plan | None = None, interval: float = 0.05, **kw: Any
) -> KdrApp:
    """The console on the sample plan (or ``plan``), its clock at :data:`NOW`, reading ``factory``'s store
    every ``interval`` seconds."""
    return fixed_app(
        plan or sample_plan(), now=NOW, timeline_store_factory=factory, timeline_interval=interval, **kw
    )
