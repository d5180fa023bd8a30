"""Snapshots of the shell at 80x24 and 120x40.

After a deliberate UI change: `pytest --snapshot-update`, then review the SVGs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kdrtui.domain.health import Reachability
from kdrtui.domain.lag import GroupLag, Health
from kdrtui.domain.plan import Plan
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.screens.failover import FailoverScreen
from kdrtui.tui.screens.gameday import GamedayScreen
from kdrtui.tui.screens.timeline import TimelineScreen
from kdrtui.tui.screens.wizard import WizardScreen
from tests.tui.fake_runs import FakeOperations
from tests.tui.fakes import (
    FIXED_NOW,
    ScriptedLagSource,
    ScriptedProbes,
    fixed_app,
    sample_plan,
    snapshot,
    topic,
)
from tests.tui.gameday_helpers import fake_gameday, gameday_app, lab_plan_path
from tests.tui.pilot_helpers import data_table, log_text, until
from tests.tui.timeline_helpers import filled_factory, timeline_app


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local; pin the zone so snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def pinned_app(plan: Plan | None = None, probes: ScriptedProbes | None = None, **kw: Any) -> object:
    """An app on ``plan`` (None: no plan) 42 s after FIXED_NOW whose clusters are probed once."""
    return fixed_app(plan, now=FIXED_NOW + 42, probes=probes, **kw)


def overview_app(down: set[str]) -> object:
    probes = ScriptedProbes()
    probes.down |= down
    return pinned_app(sample_plan(), probes)


async def settled(pilot: Pilot[None]) -> None:
    app = pilot.app
    deadline = time.monotonic() + 5
    while any(v.state is Reachability.CONNECTING for v in app.cluster_views.values()):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "probes never reported"
        await pilot.pause(0.02)
    app.screen.refresh_views()  # type: ignore[attr-defined]
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_overview_one_cluster_down(snap_compare: object, size: tuple[int, int]) -> None:
    assert snap_compare(overview_app({"dr"}), terminal_size=size, run_before=settled)  # type: ignore[operator]


def test_overview_dr_degraded_80x24(snap_compare: object) -> None:
    """dr answers with a broker down: DEGRADED in the warning colour, brokers 2/3 and the replica counts."""
    probes = ScriptedProbes()
    probes.health["dr"] = {
        "brokers": 2,
        "brokers_expected": 3,
        "expected_source": "plan",
        "under_replicated": 14,
    }
    assert snap_compare(pinned_app(sample_plan(), probes), terminal_size=(80, 24), run_before=settled)  # type: ignore[operator]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_help(snap_compare: object, size: tuple[int, int]) -> None:
    assert snap_compare(overview_app(set()), terminal_size=size, press=["question_mark"], run_before=settled)  # type: ignore[operator]


def test_too_small(snap_compare: object) -> None:
    assert snap_compare(overview_app(set()), terminal_size=(60, 20))  # type: ignore[operator]


def lag_app() -> object:
    trend = (0, 40, 120, 300, 650, 900)
    source = ScriptedLagSource(
        snapshot(
            topic("orders", Health.OK, lag=12, lag_s=0.8, parts=6, rate=120.0, trend=(3, 9, 4, 12, 8, 12)),
            topic("payments", Health.CRIT, lag=9_400, lag_s=185.0, parts=3, rate=35.5, trend=trend),
            topic("orders.eu", Health.WARN, lag=640, lag_s=42.0, parts=6, rate=18.0, trend=(0, 0, 64, 640)),
            topic("audit-log-with-a-long-name", Health.OK, lag=0, lag_s=0.0, parts=12, rate=0.0),
            topic("refunds", Health.STALLED, lag=77, lag_s=61.0, parts=1, rate=0.4, trend=(77, 77, 77)),
            groups=(GroupLag("billing", "orders", 120_000, 119_950, 4.0, 50, 0),),
            heartbeat=2.4,
        )
    )
    return pinned_app(sample_plan(), lag_source_factory=source, lag_interval=3600)


async def lag_shown(pilot: Pilot[None]) -> None:
    await pilot.press("4")
    await until(
        pilot,
        lambda: (
            pilot.app.screen.query("#lag-table") and pilot.app.screen.query_one("#lag-table").row_count == 5
        ),
    )  # type: ignore[attr-defined]
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_lag_pane(snap_compare: object, size: tuple[int, int]) -> None:
    assert snap_compare(lag_app(), terminal_size=size, run_before=lag_shown)  # type: ignore[operator]


def failover_app() -> object:
    return pinned_app(sample_plan(), operation_factory=FakeOperations())


async def failover_completed(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.press("5")
    await until(pilot, lambda: "GO" in str(app.screen.query_one("#fo-forecast").render()), what="forecast")  # type: ignore[attr-defined]
    await pilot.press("F")
    await until(pilot, lambda: not isinstance(app.screen, FailoverScreen), what="confirmation")
    await pilot.press("d", "r", "enter")

    def settled_after_run() -> bool:
        screen = app.screen
        return (
            isinstance(screen, FailoverScreen)
            and screen.result is not None
            and not screen.running
            and "failback" in str(screen.query_one("#fo-forecast").render())
        )

    await until(pilot, settled_after_run, what="completed run and the failback forecast")
    await pilot.pause()


def test_failover_pane_after_run_80x24(
    snap_compare: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    assert snap_compare(failover_app(), terminal_size=(80, 24), run_before=failover_completed)  # type: ignore[operator]


def wizard_app() -> object:
    """No plan: the wizard starts from its defaults (a cold standby, East US -> West US 2)."""
    return pinned_app()


async def wizard_shown(pilot: Pilot[None]) -> None:
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, WizardScreen), what="wizard")
    await pilot.pause()


async def wizard_review(pilot: Pilot[None]) -> None:
    await wizard_shown(pilot)
    for _ in range(5):
        await pilot.press("pagedown")
    await until(pilot, lambda: pilot.app.screen.step == "review", what="review step")  # type: ignore[attr-defined]
    await pilot.pause()


def test_wizard_topology_80x24(snap_compare: object) -> None:
    assert snap_compare(wizard_app(), terminal_size=(80, 24), run_before=wizard_shown)  # type: ignore[operator]


def test_wizard_review_80x24(snap_compare: object) -> None:
    assert snap_compare(wizard_app(), terminal_size=(80, 24), run_before=wizard_review)  # type: ignore[operator]


async def timeline_shown(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.press("7")

    def drawn() -> bool:
        screen = app.screen
        return isinstance(screen, TimelineScreen) and screen.drawn >= 1

    await until(pilot, drawn, what="timeline drawn")
    await until(pilot, lambda: data_table(app, "#tl-events").row_count == 7, what="7 event rows")
    await pilot.pause()


def test_timeline_pane_80x24(snap_compare: object, tmp_path: Path) -> None:
    """The sample incident: the flow's lag over the last hour (its peak, a four-minute gap) and its events."""
    app = timeline_app(filled_factory(tmp_path), interval=3600)
    assert snap_compare(app, terminal_size=(80, 24), run_before=timeline_shown)  # type: ignore[operator]


async def gameday_listed(pilot: Pilot[None]) -> None:
    app = pilot.app
    await pilot.press("8")
    await until(pilot, lambda: isinstance(app.screen, GamedayScreen) and app.screen.facts is not None)
    await pilot.pause()


async def gameday_reported(pilot: Pilot[None]) -> None:
    await gameday_listed(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, GamedayScreen)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="confirmation")
    await pilot.press("y")
    await until(pilot, lambda: screen.verdict == "pass", what="the report")
    await until(pilot, lambda: "ended: pass" in log_text(pilot.app, "#gd-log"), what="the log")
    await pilot.pause()


@pytest.fixture
def fixed_reports(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The fake game days, their reports' paths the same on every machine (and nothing written)."""
    from kdrtui.tui.screens import gameday_model

    fake_gameday(monkeypatch, tmp_path)
    where = Path("/home/ops/.local/state/kdrtui/runbooks/lab-0a1b2c3d/gameday")
    stamp = "fake-quick-20261203T234107Z"
    monkeypatch.setattr(
        gameday_model, "report_paths", lambda *a: (where / f"{stamp}.md", where / f"{stamp}.json")
    )
    monkeypatch.setattr(gameday_model, "write_report", lambda report, paths: None)
    return lab_plan_path(tmp_path)


def test_gameday_pane_80x24(snap_compare: object, fixed_reports: Path) -> None:
    """The scenarios, which this lab runs, and what the one under the cursor proves and needs."""
    app = gameday_app(fixed_reports)
    assert snap_compare(app, terminal_size=(80, 24), run_before=gameday_listed)  # type: ignore[operator]


def test_gameday_report_80x24(snap_compare: object, fixed_reports: Path) -> None:
    """A finished game day: the verdict, each check, detection, RPO/RTO, the counts, where the report is."""
    app = gameday_app(fixed_reports)
    assert snap_compare(app, terminal_size=(80, 24), run_before=gameday_reported)  # type: ignore[operator]
