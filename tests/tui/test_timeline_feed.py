"""The console records its observations in the plan's timeline (source ``console``) whichever pane is shown:
cluster probes, lag sampled in the background while the Mirror lag pane is hidden (and the pane's own
snapshots while it polls, the sampler resting), never writing on the UI loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdrtui.domain.lag import Health
from kdrtui.domain.plan import Plan
from kdrtui.domain.timeline import EventKind
from kdrtui.services.timeline.store import FILE_NAME, TimelineStore
from kdrtui.tui import timeline_feed
from tests.tui.fakes import (
    FIXED_NOW,
    ScriptedLagSource,
    ScriptedProbes,
    UnreachableEdges,
    edge_plan,
    fixed_app,
    hot_standby_plan,
    sample_plan,
    snapshot,
    topic,
)
from tests.tui.pilot_helpers import until


def _factory(tmp_path: Path) -> object:
    def open_store(plan: Plan, path: Path | None) -> TimelineStore:
        return TimelineStore(tmp_path / FILE_NAME, retention_days=100_000)  # FIXED_NOW is in 2025

    return open_store


async def test_probes_and_background_lag_land_on_the_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeline_feed, "BACKGROUND_LAG_S", 0.1)
    probes = ScriptedProbes()
    probes.down.add("dr")
    source = ScriptedLagSource(snapshot(topic("orders", Health.CRIT, lag=1200, lag_s=130.0)))
    app = fixed_app(
        sample_plan(),
        probes=probes,
        lag_source_factory=source,
        lag_interval=3600,
        timeline_store_factory=_factory(tmp_path),
    )
    reader = TimelineStore(tmp_path / FILE_NAME, retention_days=100_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(reader.events()) >= 3, timeout=10)
        events = reader.events()
        texts = {(e.kind, e.text, e.source) for e in events}
        assert (
            EventKind.CLUSTER,
            "dr: - -> UNREACHABLE (Local: Broker transport failure)",
            "console",
        ) in texts
        assert (EventKind.HEALTH, "primary->dr: - -> CRIT (1200 records, 130.0 s)", "console") in texts
        assert all(e.at == FIXED_NOW for e in events)
        rows = reader.lag_minutes("primary->dr", since=FIXED_NOW - 60)
        assert rows and rows[0].max_records == 1200 and rows[0].health == "CRIT"
        # a sampler that rests while the Mirror lag pane polls: the pane's snapshots are recorded
        await pilot.press("4")
        calls = source.calls
        await until(pilot, lambda: source.calls > calls, timeout=5)
    assert len(reader.events(raw=True, kinds={EventKind.CLUSTER})) == 1  # the probe's repeats add nothing


async def test_no_timeline_is_no_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")

    def broken(plan: Plan, path: Path | None) -> TimelineStore:
        return TimelineStore(blocker / FILE_NAME)  # raises TimelineUnavailable

    probes = ScriptedProbes()
    probes.down.add("dr")
    app = fixed_app(
        sample_plan(),
        probes=probes,
        lag_source_factory=ScriptedLagSource(snapshot()),
        timeline_store_factory=broken,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: probes.calls.get("dr", 0) >= 1)
        await pilot.pause()
        assert app.is_running


async def test_a_hot_standby_is_never_sampled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timeline_feed, "BACKGROUND_LAG_S", 0.05)
    probes = ScriptedProbes()
    probes.down.add("dr")
    source = ScriptedLagSource(snapshot())
    app = fixed_app(
        hot_standby_plan(),
        probes=probes,
        lag_source_factory=source,
        timeline_store_factory=_factory(tmp_path),
    )
    reader = TimelineStore(tmp_path / FILE_NAME, retention_days=100_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(reader.events(kinds={EventKind.CLUSTER})) == 1)
        await pilot.pause(0.3)  # six sampler periods
        assert source.calls == 0, "nothing mirrored: no lag read"


async def test_the_edge_panes_polls_record_ssh_down(tmp_path: Path) -> None:
    edges = UnreachableEdges(OSError("Connection refused by 10.1.0.20:22"))
    app = fixed_app(edge_plan(), manager_factory=edges, timeline_store_factory=_factory(tmp_path))
    reader = TimelineStore(tmp_path / FILE_NAME, retention_days=100_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await until(pilot, lambda: edges.polls >= 2 and bool(reader.events(kinds={EventKind.SSH})))
        (down,) = reader.events(raw=True, kinds={EventKind.SSH})  # a second poll, still down, adds nothing
        assert (down.subject, down.text, down.severity, down.source) == (
            "edge-1",
            "edge-1: SSH - -> down (Connection refused by 10.1.0.20:22)",
            "warn",
            "console",
        )
