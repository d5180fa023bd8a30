"""The Game day pane (key 8) through Pilot, without a lab: fake scenarios registered in place of the real
ones and a runner that runs them at once (tests/tui/gameday_helpers.py). List -> confirm -> progress ->
report -> cancel, the refusals of a plan that is not the lab's, the palette, and quiet when idle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette

from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.screens.gameday import GamedayScreen
from kdrtui.tui.widgets.line_static import LineStatic
from tests.conftest import wait_until
from tests.tui.gameday_helpers import FakeRunner, Waiter, fake_gameday, gameday_app, lab_plan_path
from tests.tui.pilot_helpers import log_text, row_cells, row_keys, toasts, until


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[FakeRunner, Waiter]:
    return fake_gameday(monkeypatch, tmp_path)


def lines(app: Any, widget_id: str) -> str:
    """What a LineStatic of the current screen shows (``""`` while hidden)."""
    widget = app.screen.query_one(widget_id, LineStatic)
    return str(widget.render()) if widget.display else ""


async def show_pane(pilot: Any) -> GamedayScreen:
    """Press 8 and wait until the pane has read the scenarios and the lab."""
    await pilot.press("8")
    await until(
        pilot, lambda: isinstance(pilot.app.screen, GamedayScreen) and pilot.app.screen.facts is not None
    )
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, GamedayScreen)
    return screen


async def run_selected(pilot: Any) -> None:
    """Enter, then y in the confirmation."""
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), what="confirmation")
    await pilot.press("y")


async def start_waiting_run(pilot: Any, waiter: Any) -> GamedayScreen:
    """The pane shown, the second scenario (fake-wait) run after the question, and waiting in its fault."""
    screen = await show_pane(pilot)
    await pilot.press("down")
    await run_selected(pilot)
    await until(pilot, waiter.started.is_set, what="the scenario waits")
    return screen


async def test_lists_the_scenarios_and_what_this_lab_can_run(fakes: Any, tmp_path: Path) -> None:
    app = gameday_app(lab_plan_path(tmp_path))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await show_pane(pilot)
        assert row_keys(app, "#gd-table") == ["fake-quick", "fake-wait", "fake-wan"]
        assert row_cells(app, "fake-quick", "#gd-table")[0] == "✓"
        assert row_cells(app, "fake-wait", "#gd-table")[2] == "long"
        assert row_cells(app, "fake-wan", "#gd-table")[0] == "·"  # the lab has no WAN
        assert "lab: 1 broker per cluster · no WAN · cold-standby" in lines(app, "#gd-header")
        detail = lines(app, "#gd-detail")
        assert "proves: a crash of MirrorMaker loses nothing" in detail and "this lab can run it" in detail
        await pilot.press("down", "down")
        detail = lines(app, "#gd-detail")
        assert "latency and loss on the WAN" in detail
        assert "not here: needs a WAN, which this lab has not (kdrtui lab up --wan-latency-ms 35)" in detail
        await pilot.press("enter")  # refused, said plainly; nothing asked, nothing run
        await until(pilot, lambda: any("needs a WAN" in t for t in toasts(app)), what="the refusal")
        assert not isinstance(app.screen, ConfirmScreen)
        assert fakes[0].runs == []


async def test_three_brokers_and_wan_come_from_the_lab(fakes: Any, tmp_path: Path) -> None:
    app = gameday_app(lab_plan_path(tmp_path, brokers=3))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_pane(pilot)
        assert "3 brokers per cluster" in lines(app, "#gd-header")
        assert screen.facts is not None and "three-brokers" in screen.facts.has


@pytest.mark.parametrize("where", ["elsewhere", "none"])
async def test_a_plan_that_is_not_the_labs_runs_nothing_and_says_so(
    fakes: Any, tmp_path: Path, where: str
) -> None:
    path = None
    if where == "elsewhere":
        path = tmp_path / "orders-dr.toml"
        path.write_text("", encoding="utf-8")
    app = gameday_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_pane(pilot)
        header = lines(app, "#gd-header")
        assert "game days run only on the lab: this plan is not the lab's" in header
        assert "kdrtui lab up" in header
        assert {row_cells(app, key, "#gd-table")[0] for key in row_keys(app, "#gd-table")} == {"·"}
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert fakes[0].runs == []


async def test_no_plan_lists_the_scenarios_and_says_how_to_get_the_lab(fakes: Any) -> None:
    app = gameday_app(None, plan=None)
    app.plan = None
    async with app.run_test(size=(80, 24)) as pilot:
        await show_pane(pilot)
        assert "No plan: game days run on the lab" in lines(app, "#gd-header")
        assert len(row_keys(app, "#gd-table")) == 3


async def test_run_asks_first_then_shows_progress_and_the_report(fakes: Any, tmp_path: Path) -> None:
    runner, _ = fakes
    app = gameday_app(lab_plan_path(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_pane(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        assert "kills parts of the lab" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await pilot.pause()
        assert runner.runs == [] and screen.current_run is None
        await run_selected(pilot)
        await until(pilot, lambda: screen.verdict == "pass", what="the report")
        assert runner.runs == ["fake-quick"] and runner.restored == ["fake-quick"]
        assert [phase for _, phase, _ in screen.events] == [
            "traffic",
            "fault",
            "observe",
            "restore",
            "restore",
        ]
        await until(pilot, lambda: "ended: pass" in log_text(app, "#gd-log"), what="the log")
        log = log_text(app, "#gd-log")
        assert "   3.0s fault    killed MirrorMaker on dr-edge-1" in log and "ended: pass" in log
        report = lines(app, "#gd-report")
        assert "✓ PASS · fake-quick in 7.5 s" in report
        assert "✓ passed: rpo, no-loss" in report
        assert "· rto: not measured (no runbook ran) (expected <= 300 s)" in report
        assert "detection: 4.2 s (flow primary->dr STOPPED)" in report
        assert "RPO: 12 records / 1.3 s · RTO: unknown (no runbook ran)" in report
        assert "records: 400 acked · 400 delivered · 0 lost · 3 duplicated · 0 out of order" in report
        written = sorted((tmp_path / "state" / "runbooks").glob("*/gameday/*"))
        assert [p.suffix for p in written] == [".json", ".md"]
        assert written[0].stem.startswith("fake-quick-") and written[0].stem == written[1].stem
        assert f"report: {written[1].name} (and .json)" in report
        assert json.loads(written[0].read_text(encoding="utf-8"))["verdict"] == "pass"
        assert written[1].read_text(encoding="utf-8").startswith("# Game day: fake-quick — PASS")
        assert app.operations == {}  # quitting no longer asks
        assert not screen.running


async def test_cancel_stops_the_run_which_restores_the_lab_and_reports(fakes: Any, tmp_path: Path) -> None:
    runner, waiter = fakes
    app = gameday_app(lab_plan_path(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start_waiting_run(pilot, waiter)
        await until(
            pilot, lambda: "running fake-wait · fault" in str(app.screen.query_one("#gd-banner").render())
        )
        assert "game day fake-wait" in app.operations.values()  # quitting asks first
        assert app.screen.check_action("run", ()) is False
        await pilot.press("escape")
        await until(pilot, lambda: not screen.running, what="the run ends")
        assert runner.restored == ["fake-wait"]
        assert screen.verdict == "error"
        report = lines(app, "#gd-report")
        assert "✗ ERROR · fake-wait" in report and "error: cancelled" in report
        said = "cancel asked: the scenario restores the lab"
        await until(pilot, lambda: said in log_text(app, "#gd-log"), what="the log")
        assert app.operations == {}


async def test_a_refused_run_says_why(fakes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kdrtui.tui.screens import gameday_model

    def refuse(name: str, **kw: Any) -> Any:
        raise gameday_model.GamedayRefused(
            "the lab is not fully running (dr down): run `kdrtui lab up` first"
        )

    monkeypatch.setattr(gameday_model, "run_gameday", refuse)
    app = gameday_app(lab_plan_path(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_pane(pilot)
        await run_selected(pilot)
        await until(pilot, lambda: not screen.running and screen.current_run is not None, what="refused")
        said = "not started: the lab is not fully running (dr down)"
        await until(pilot, lambda: said in log_text(app, "#gd-log"), what="the log")
        assert "stopped without a report" in str(app.screen.query_one("#gd-banner").render())
        assert not lines(app, "#gd-report")
        assert app.operations == {}


async def test_read_only_lists_but_runs_nothing(fakes: Any, tmp_path: Path) -> None:
    app = gameday_app(lab_plan_path(tmp_path), read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_pane(pilot)
        assert screen.check_action("run", ()) is False
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen) and fakes[0].runs == []
        assert not any(c.title.startswith("Game day") for c in app.get_system_commands(app.screen))


async def test_the_palette_runs_a_scenario_after_asking(fakes: Any, tmp_path: Path) -> None:
    app = gameday_app(lab_plan_path(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Game day: run fake-quick" in titles and "Game day: run fake-wan" in titles
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"game day: run fake-wait")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
        assert "fake-wait" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, GamedayScreen))
        assert fakes[0].runs == []


async def test_idle_pane_is_quiet(fakes: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = gameday_app(lab_plan_path(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_pane(pilot)
        calls: list[str] = []
        for widget in screen.query("#body > *"):
            original = widget.refresh

            def refresh(*regions: Any, _w: Any = widget, _o: Any = original, **kw: Any) -> Any:
                calls.append(str(_w.id))
                return _o(*regions, **kw)

            monkeypatch.setattr(widget, "refresh", refresh)
        await pilot.pause(1.5)
        assert calls == []
        await pilot.press("r")  # the lab read again, unchanged: nothing repainted
        await pilot.pause(0.3)
        assert calls == []


async def test_closing_the_console_cancels_the_run_which_restores_the_lab(fakes: Any, tmp_path: Path) -> None:
    runner, waiter = fakes
    app = gameday_app(lab_plan_path(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start_waiting_run(pilot, waiter)
        run = screen.current_run
        assert run is not None and not run.cancel.is_set()
    # The console closed (after asking, in real life): the scenario was told to stop and restore the lab.
    assert run.cancel.is_set()
    wait_until(lambda: runner.restored == ["fake-wait"], timeout=5, message="the lab restored")
