"""The timeline recorder (each ``observe_*`` diffs against what it saw last and writes to a real SQLite store)
and the runbook journal's events (every journal write lands on the timeline beside it, best effort)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kdrtui.domain.health import ClusterObservation
from kdrtui.domain.lag import Health
from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState
from kdrtui.domain.mm2_tasks import ConnectorTasks, FlowTasks, TaskState
from kdrtui.domain.timeline import EventKind
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.services.timeline.recorder import TimelineRecorder
from kdrtui.services.timeline.store import FILE_NAME, TimelineStore
from tests.tui.fakes import snapshot, topic


@pytest.fixture(name="store")
def store_fixture(tmp_path: Path) -> TimelineStore:
    return TimelineStore(tmp_path / FILE_NAME)


def test_lag_health_changes_recoveries_and_minutes(store: TimelineStore) -> None:
    recorder = TimelineRecorder(store, "status")
    first = snapshot(topic("orders"))
    assert recorder.observe_lag(first) == []  # first seen fine: nothing happened
    bad = replace(snapshot(topic("orders", Health.CRIT, lag=1200, lag_s=130.0)), taken_at=first.taken_at + 2)
    events = recorder.observe_lag(bad)
    assert [(e.subject, e.text, e.severity, e.flow, e.source, e.at) for e in events] == [
        (
            "primary->dr",
            "primary->dr: OK -> CRIT (1200 records, 130.0 s)",
            "crit",
            "primary->dr",
            "status",
            bad.taken_at,
        ),
        (
            "primary->dr/orders",
            "primary->dr/orders: OK -> CRIT (1200 records, 130.0 s)",
            "crit",
            "primary->dr",
            "status",
            bad.taken_at,
        ),
    ]
    good = replace(snapshot(topic("orders")), taken_at=first.taken_at + 4)
    back = recorder.observe_lag(good)
    assert [e.text for e in back] == [
        "primary->dr: CRIT -> OK (0 records, 0.0 s)",
        "primary->dr/orders: CRIT -> OK (0 records, 0.0 s)",
    ]
    assert all(e.severity == "info" for e in back)
    assert len(store.events(kinds={EventKind.HEALTH})) == 4
    minutes = store.lag_minutes("primary->dr", since=first.taken_at - 120)
    assert sum(m.samples for m in minutes) == 3
    assert max(m.max_records for m in minutes) == 1200
    assert "CRIT" in {m.health for m in minutes}
    # a flow whose numbers are stale (a cluster did not answer) adds no sample
    recorder.observe_lag(replace(snapshot(topic("orders"), stale_s=30.0), taken_at=first.taken_at + 6))
    assert sum(m.samples for m in store.lag_minutes("primary->dr", since=first.taken_at - 120)) == 3


def _obs(ok: bool = True, brokers: int = 3, error: str | None = None, at: float = 1.0) -> ClusterObservation:
    return ClusterObservation(
        observed_at=at,
        ok=ok,
        brokers=brokers if ok else 0,
        error=error,
        brokers_expected=3,
        expected_source="plan",
    )


def test_cluster_reachability_and_broker_count(store: TimelineStore) -> None:
    now = [1000.0]
    recorder = TimelineRecorder(store, "console", clock=lambda: now[0])
    assert recorder.observe_clusters({"primary": _obs(), "dr": _obs()}) == []
    now[0] = 1010.0
    events = recorder.observe_clusters({"primary": _obs(), "dr": _obs(brokers=2)})
    assert [(e.kind, e.subject, e.text, e.severity, e.at) for e in events] == [
        (
            EventKind.CLUSTER,
            "dr",
            "dr: UP -> DEGRADED, brokers 3 -> 2/3 (brokers 2/3, 1 missing)",
            "warn",
            1010.0,
        )
    ]
    now[0] = 1020.0
    events = recorder.observe_clusters({"dr": _obs(ok=False, error="dr: Broker transport failure\nmore")})
    assert [(e.text, e.severity) for e in events] == [
        ("dr: DEGRADED -> UNREACHABLE (dr: Broker transport failure)", "crit")
    ]
    events = recorder.observe_clusters({"dr": _obs(ok=False, error="dr: other words")})
    assert events == []  # still unreachable
    events = recorder.observe_clusters({"dr": _obs()})
    assert [e.text for e in events] == ["dr: UNREACHABLE -> UP (brokers 3/3)"]
    # a first observation of an unreachable cluster is told
    fresh = TimelineRecorder(store, "exporter")
    assert [e.text for e in fresh.observe_clusters({"primary": _obs(ok=False, error="timed out")})] == [
        "primary: - -> UNREACHABLE (timed out)"
    ]
    assert len(store.events(raw=True, kinds={EventKind.CLUSTER})) == 4


def _mm(state: MmState, **kwargs: object) -> MirrorMakerStatus:
    return MirrorMakerStatus(node="edge-1", deployment="mm2-dr", state=state, **kwargs)  # type: ignore[arg-type]


def _flow(*tasks: tuple[str, str]) -> FlowTasks:
    return FlowTasks(
        source="primary",
        target="dr",
        connectors=(
            ConnectorTasks(
                "MirrorSourceConnector",
                "RUNNING",
                tasks=tuple(
                    TaskState("MirrorSourceConnector", int(n), s, trace="java.lang.Boom: no")
                    for n, s in tasks
                ),
            ),
        ),
    )


def test_mirrormaker_process_and_task_states(store: TimelineStore) -> None:
    recorder = TimelineRecorder(store, "console")
    assert recorder.observe_mirrormaker([_mm(MmState.RUNNING, pid=7, flows=(_flow(("0", "RUNNING")),))]) == []
    events = recorder.observe_mirrormaker([_mm(MmState.CRASHED, exit_code=137)])
    assert [(e.kind, e.subject, e.text, e.severity) for e in events] == [
        (
            EventKind.MIRRORMAKER,
            "edge-1/mm2-dr",
            "edge-1/mm2-dr: MirrorMaker running -> crashed (exit 137)",
            "crit",
        )
    ]
    events = recorder.observe_mirrormaker([_mm(MmState.RUNNING, pid=9, flows=(_flow(("0", "FAILED")),))])
    assert [(e.kind, e.text, e.severity, e.flow) for e in events] == [
        (
            EventKind.MIRRORMAKER,
            "edge-1/mm2-dr: MirrorMaker crashed -> running (pid 9)",
            "info",
            "primary->dr",
        ),
        (
            EventKind.TASK,
            "primary->dr MirrorSourceConnector-0: RUNNING -> FAILED (java.lang.Boom: no)",
            "crit",
            "primary->dr",
        ),
    ]
    events = recorder.observe_mirrormaker([_mm(MmState.STOPPED, stopped_by_operator=True, exit_code=143)])
    assert [(e.text, e.severity) for e in events] == [
        ("edge-1/mm2-dr: MirrorMaker running -> stopped (exit 143, stopped by kdrtui)", "info")
    ]
    first = TimelineRecorder(store, "status").observe_mirrormaker([_mm(MmState.CRASHED, exit_code=1)])
    assert [e.text for e in first] == ["edge-1/mm2-dr: MirrorMaker - -> crashed (exit 1)"]


def test_ssh_state(store: TimelineStore) -> None:
    recorder = TimelineRecorder(store, "console")
    assert recorder.observe_ssh("edge-1", True) == []
    down = recorder.observe_ssh("edge-1", False, "Connection refused\ntrace")
    assert [(e.kind, e.subject, e.text, e.severity) for e in down] == [
        (EventKind.SSH, "edge-1", "edge-1: SSH connected -> down (Connection refused)", "warn")
    ]
    assert recorder.observe_ssh("edge-1", False, "still") == []
    assert [e.text for e in recorder.observe_ssh("edge-1", True)] == ["edge-1: SSH down -> connected"]


def test_a_store_error_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = TimelineStore(tmp_path / FILE_NAME)
    recorder = TimelineRecorder(store, "console")
    store.close()  # every write now fails
    with caplog.at_level(logging.WARNING, logger="kdrtui.timeline"):
        assert recorder.observe_ssh("edge-1", False, "x") != []
        recorder.observe_ssh("edge-1", True)
        recorder.observe_lag(snapshot(topic("orders", Health.CRIT, lag=1, lag_s=200.0)))
    warnings = [r for r in caplog.records if r.name == "kdrtui.timeline"]
    assert len(warnings) == 1 and "timeline not recorded" in warnings[0].getMessage()


def test_runbook_journal_writes_land_on_the_timeline(tmp_path: Path) -> None:
    runbooks = RunbookStore("demo", tmp_path / "plan.toml", tmp_path)
    t = float(int(time.time()))
    times = iter([t, t, t + 1, t + 2, t + 3, t + 4, t + 5, t + 6])
    journal = runbooks.new_journal("failover", clock=lambda: next(times))
    journal.write("run-start", operation="failover", plan="demo", resumed=False, options={})
    journal.write("step-start", step="fence", title="Fence the old side")
    journal.write("step-note", step="fence", fence_method="reject-writes", cluster="primary", fence={})
    journal.write(
        "step-end", step="fence", status="done", summary="writes refused on 3 topic(s)", seconds=2.5
    )
    journal.write("step-note", step="fence", state={"active": "dr"})  # facts only: no event
    journal.write("step-note", step="replication", unfenced="primary", fence_method_removed="reject-writes")
    journal.write("run-end", outcome="failed", step="switch", error="boom")
    store = TimelineStore.for_plan("demo", tmp_path / "plan.toml", root=tmp_path)
    events = store.events()
    subject = f"failover {journal.run_id}"
    assert [(e.at, e.kind, e.text, e.severity) for e in events] == [
        (t + 6, EventKind.RUNBOOK, "failover failed at step switch (boom)", "crit"),
        (t + 5, EventKind.FENCE, "reject-writes removed on primary", "info"),
        (t + 3, EventKind.RUNBOOK, "failover: step fence done (2.5 s: writes refused on 3 topic(s))", "info"),
        (t + 2, EventKind.FENCE, "fence reject-writes applied on primary", "warn"),
        (t + 1, EventKind.RUNBOOK, "failover: step fence started", "info"),
        (t + 0, EventKind.RUNBOOK, "failover started (plan demo)", "info"),
    ]
    assert {e.subject for e in events} == {subject} and {e.source for e in events} == {"failover"}


def test_a_broken_timeline_never_fails_a_runbook(tmp_path: Path) -> None:
    runbooks = RunbookStore("demo", None, tmp_path)
    runbooks.dir.mkdir(parents=True)
    (runbooks.dir / FILE_NAME).write_bytes(b"not sqlite at all" * 200)
    journal = runbooks.new_journal("failback")
    entry = journal.write("run-start", operation="failback", plan="demo", resumed=False, options={})
    assert journal.entries() == [entry]
