"""What keeps the console quiet on a slow SSH link (issue 18): a refresh that changes nothing marks nothing
dirty, a change repaints only the lines or rows it touched, and fresh ages read the same across refreshes.

Textual writes to the terminal only what is dirty; these tests watch what the widgets mark dirty (their
``refresh`` calls), not the clock. ``benchmarks/idle_output.py`` measures the bytes on the real lab.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region

from kdrtui.domain.health import Reachability
from kdrtui.domain.lag import Health
from kdrtui.domain.readiness import Finding, Severity
from kdrtui.tui.app import KdrApp, make_app
from kdrtui.tui.widgets.cluster_card import ClusterCard
from kdrtui.tui.widgets.live_tables import LagTable
from kdrtui.tui.widgets.readiness_card import ReadinessCard
from tests.tui.fakes import (
    FIXED_NOW,
    ScriptedLagSource,
    ScriptedProbes,
    build_lag_app,
    sample_plan,
    snapshot,
    three_topics,
    topic,
)
from tests.tui.pilot_helpers import open_lag, until


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> float:
        return self.now


def watch_refreshes(monkeypatch: pytest.MonkeyPatch, widget: Any) -> list[tuple[Region, ...]]:
    """Record the regions of every ``refresh`` call on ``widget`` (``()``: the whole widget)."""
    calls: list[tuple[Region, ...]] = []
    original = widget.refresh

    def refresh(*regions: Region, **kw: Any) -> Any:
        calls.append(regions)
        return original(*regions, **kw)

    monkeypatch.setattr(widget, "refresh", refresh)
    return calls


def live_app(clock: Clock, probes: ScriptedProbes) -> KdrApp:
    """The sample plan's Overview, every cluster probed every 50 ms on ``clock``."""
    return make_app(sample_plan(), None, probe_factory=probes, clock=clock, refresh_interval=0.05)


async def refreshed(pilot: Any, probes: ScriptedProbes, clock: Clock, times: int = 4) -> None:
    """Let every cluster be probed ``times`` more, the clock moving 1.9 s before each (a 2 s refresh)."""
    for _ in range(times):
        clock.now += 1.9
        target = {alias: n + 1 for alias, n in probes.calls.items()}
        await until(pilot, lambda t=target: all(probes.calls.get(a, 0) >= n for a, n in t.items()))  # type: ignore[misc]
    await pilot.pause()


def card(app: KdrApp, alias: str) -> ClusterCard:
    return app.screen.query_one(f"#cluster-{alias}", ClusterCard)


async def test_refreshes_that_change_nothing_repaint_no_card(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    probes = ScriptedProbes(clock)
    app = live_app(clock, probes)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: all(v.state is Reachability.UP for v in app.cluster_views.values()))
        await pilot.pause()
        calls = {alias: watch_refreshes(monkeypatch, card(app, alias)) for alias in ("primary", "dr")}
        await refreshed(pilot, probes, clock)
        assert calls == {"primary": [], "dr": []}
        assert "data age   < 5 s" in str(card(app, "dr").render())


async def test_a_changed_figure_repaints_only_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    probes = ScriptedProbes(clock)
    app = live_app(clock, probes)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: all(v.state is Reachability.UP for v in app.cluster_views.values()))
        await pilot.pause()
        dr = card(app, "dr")
        calls = watch_refreshes(monkeypatch, dr)
        probes.health["dr"] = {"topics": 12}
        await until(pilot, lambda: "topics     12" in str(dr.render()), what="12 topics")
        lines = str(dr.render()).splitlines()
        assert calls == [(Region(0, lines.index("topics     12"), dr.size.width, 1),)]


async def test_stale_data_reads_old_within_5_s_then_by_the_step() -> None:
    clock = Clock()
    probes = ScriptedProbes(clock)
    app = make_app(sample_plan(), None, probe_factory=probes, clock=clock, refresh_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: all(v.state is Reachability.UP for v in app.cluster_views.values()))
        seen = []
        for age in (4.9, 5.1, 9.0, 12.0, 61.0, 150.0):
            clock.now = FIXED_NOW + age
            app.screen.refresh_views()  # type: ignore[attr-defined]
            await pilot.pause()
            seen.append(
                next(line for line in str(card(app, "dr").render()).splitlines() if "data age" in line)
            )
        assert [line.split("data age")[1].strip() for line in seen] == [
            "< 5 s",
            "5 s",
            "5 s",
            "10 s",
            "1 min",
            "2 min",
        ]


async def test_the_readiness_card_repaints_only_its_age_line_once_a_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Findings longer than the card: cut at its edge (text-wrap: nowrap), so a line is still a row.
    long = "replication factor 1 (< 3): the loss of one broker takes its partitions offline, " * 2
    findings = [Finding(Severity.BLOCKING, "replication", long, f"dr: topic-{n}", "raise it") for n in (1, 2)]
    clock = Clock()
    app = make_app(
        sample_plan(),
        None,
        probe_factory=ScriptedProbes(clock),
        clock=clock,
        refresh_interval=3600,
        readiness_check=lambda plan, path: findings,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        card = app.screen.query_one(ReadinessCard)
        await until(pilot, lambda: "NOT READY" in str(card.render()), what="the check on the card")
        await pilot.pause()
        calls = watch_refreshes(monkeypatch, card)
        for age in (2.0, 30.0, 59.0):
            clock.now = FIXED_NOW + age
            app.screen.refresh_views()  # type: ignore[attr-defined]
            await pilot.pause()
        assert calls == []
        assert str(card.render()).splitlines()[0].endswith("· < 1 min ago")
        clock.now = FIXED_NOW + 61.0
        app.screen.refresh_views()  # type: ignore[attr-defined]
        await pilot.pause()
        assert str(card.render()).splitlines()[0].endswith("· 1 min ago")
        assert calls == [(Region(0, 0, card.size.width, 1),)]


async def test_an_unchanged_lag_snapshot_repaints_nothing_and_a_change_only_its_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        await pilot.pause()
        table = app.screen.query_one("#lag-table", LagTable)
        calls = watch_refreshes(monkeypatch, table)
        summary = watch_refreshes(monkeypatch, app.screen.query_one("#lag-summary"))
        target = source.calls + 3
        await until(pilot, lambda: source.calls >= target, what="3 refreshes")
        await pilot.pause()
        assert calls == [] and summary == []
        # The same three topics, one of them (orders) a record further behind; the heartbeat moves within
        # its fresh grain (1.0 s -> 2.6 s), which shows nowhere.
        before = three_topics()
        changed = snapshot(
            *(
                topic("orders", Health.OK, lag=4, lag_s=0.5, trend=(1, 2, 3)) if t.topic == "orders" else t
                for t in before.flows[0].topics
            ),
            heartbeat=2.6,
        )
        source.current = changed
        key = "primary->dr/orders"
        await until(pilot, lambda: table.get_cell(key, "lag").plain == "4", what="orders' new lag")
        await pilot.pause()
        row = table.get_row_index(key)
        assert calls and all(len(regions) == 1 and regions[0].height == 1 for regions in calls), calls
        assert {regions[0].y - table.header_height for regions in calls} == {row}
        assert summary == [()]  # the RPO's record count changed: one repaint of the summary
