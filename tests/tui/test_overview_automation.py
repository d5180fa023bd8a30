"""The Overview's Automation line: off, not running, each published state in its colour, stale, read only
while the Overview is shown, repainted only when its text changes, one row at 80x24."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region

from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.services.automation import summary
from kdrtui.services.automation.state import PublishedState, write_state
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.tui.app import KdrApp
from kdrtui.tui.screens.timeline import TimelineScreen
from kdrtui.tui.widgets.automation_line import AutomationLine
from tests.tui.fakes import FIXED_NOW, PLAN_TEXT, ScriptedProbes, fixed_app, sample_plan
from tests.tui.pilot_helpers import screen_lines, until

NOW = FIXED_NOW + 42


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plan's runbook directory (where kdrtui watch publishes) in a folder of this test's own."""
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def automation_plan(mode: str = "act") -> Plan:
    """The sample plan with the policy enabled in ``mode``."""
    return parse_plan(PLAN_TEXT + f'\n[automation]\nenabled = true\nmode = "{mode}"\n', "orders-dr.toml")


def publish(state: str, text: str, *, age: float = 1.0, mode: str = "act") -> None:
    """What kdrtui watch writes: ``state`` evaluated ``age`` seconds before the app's clock."""
    directory = RunbookStore("orders-dr", None).dir
    write_state(directory, PublishedState(state, text, mode, NOW - age, 5.0, {"kdrtui": "up"}))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def app_on(plan: Plan, interval: float = 0.05, clock: Clock | None = None) -> KdrApp:
    """The Overview on ``plan``, reading what kdrtui watch published every ``interval`` seconds."""
    app = fixed_app(plan, now=NOW, probes=ScriptedProbes(), clock=clock)
    app.services = dataclasses.replace(app.services, automation_interval=interval)
    return app


def watch_refreshes(monkeypatch: pytest.MonkeyPatch, widget: Any) -> list[tuple[Region, ...]]:
    """Record the regions of every ``refresh`` call on ``widget``."""
    calls: list[tuple[Region, ...]] = []
    original = widget.refresh

    def refresh(*regions: Region, **kw: Any) -> Any:
        calls.append(regions)
        return original(*regions, **kw)

    monkeypatch.setattr(widget, "refresh", refresh)
    return calls


def line(app: KdrApp) -> AutomationLine:
    return app.screen.query_one("#automation", AutomationLine)


def shown(app: KdrApp) -> str:
    return str(line(app).render())


async def showing(pilot: Any, app: KdrApp, text: str) -> None:
    await until(pilot, lambda: shown(app) == text, what=repr(text))


def tone_classes(app: KdrApp) -> set[str]:
    return {name for name in line(app).classes if name.startswith("-")}


async def test_a_plan_without_the_policy_says_off_dim_and_reads_no_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[object] = []
    monkeypatch.setattr(summary, "read_state", lambda directory: reads.append(directory))
    app = app_on(sample_plan())
    async with app.run_test(size=(80, 24)) as pilot:
        await showing(pilot, app, "Automation: off")
        assert tone_classes(app) == {"-off"}
        assert line(app).render().markup == "[dim]Automation: off[/dim]"  # type: ignore[union-attr]
        await pilot.pause(0.2)
        assert reads == []
        # It takes the row under the plan line that was blank: the cards start where they did.
        rows = screen_lines(app)
        assert rows[1].startswith(" orders-dr · cold-standby") and rows[2] == " Automation: off"
        assert rows[3].startswith(" ╭─ primary · eastus")


async def test_enabled_without_a_watcher_says_not_running_in_the_warning_colour() -> None:
    app = app_on(automation_plan())
    async with app.run_test(size=(80, 24)) as pilot:
        await showing(pilot, app, "Automation: act — kdrtui watch not running")
        assert tone_classes(app) == {"-warn"}
        assert "$warning" in line(app).render().markup  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("state", "tone", "style"),
    [
        ("armed", "-ok", "$success"),
        ("standby", "-neutral", None),
        ("holding", "-warn", "$warning"),
        ("advising", "-warn", "$warning"),
        ("awaiting-ack", "-warn", "$warning"),
        ("cooling-down", "-warn", "$warning"),
        ("blocked", "-warn", "$warning"),
        ("acting", "-crit", "$error"),
    ],
)
async def test_each_published_state_with_its_text_in_its_colour(
    state: str, tone: str, style: str | None
) -> None:
    publish(state, "primary down (kdrtui down) for 30 s")
    app = app_on(automation_plan())
    async with app.run_test(size=(80, 24)) as pilot:
        await showing(pilot, app, f"Automation: {state} (act): primary down (kdrtui down) for 30 s")
        assert tone_classes(app) == {tone}
        markup = line(app).render().markup  # type: ignore[union-attr]
        if style is None:
            assert "$" not in markup
        else:
            assert style in markup


async def test_a_new_state_is_shown_at_the_next_read_and_only_a_change_repaints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish("armed", "primary up (kdrtui up)")
    app = app_on(automation_plan())
    async with app.run_test(size=(80, 24)) as pilot:
        await showing(pilot, app, "Automation: armed (act): primary up (kdrtui up)")
        screen = app.screen
        calls = watch_refreshes(monkeypatch, line(app))
        reads = 0

        def count(*args: Any) -> Any:
            nonlocal reads
            reads += 1
            return real(*args)

        real = summary.read_automation
        monkeypatch.setattr(summary, "read_automation", count)
        await until(pilot, lambda: reads >= 4, what="four more reads")
        await pilot.pause()
        assert calls == []  # the same state: nothing repainted
        publish("holding", "primary down (kdrtui down) for 5 s of 120 s")
        await showing(pilot, app, "Automation: holding (act): primary down (kdrtui down) for 5 s of 120 s")
        assert tone_classes(app) == {"-warn"}
        assert screen.automation is not None and screen.automation.state == "holding"  # type: ignore[attr-defined]


async def test_a_stale_state_says_the_watcher_is_not_running_by_coarse_age() -> None:
    publish("armed", "primary up (kdrtui up)", age=42)  # three 5 s intervals and 5 s more: stale
    clock = Clock()
    app = app_on(automation_plan(), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await showing(pilot, app, "Automation: not running (kdrtui watch last wrote 40 s ago: armed)")
        assert tone_classes(app) == {"-warn"}
        clock.now += 3  # 45 s: the next 5 s step
        await showing(pilot, app, "Automation: not running (kdrtui watch last wrote 45 s ago: armed)")


async def test_read_only_while_the_overview_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = 0
    real = summary.read_automation

    def count(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return real(*args)

    monkeypatch.setattr(summary, "read_automation", count)
    app = app_on(automation_plan())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: reads >= 2, what="reads while shown")
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, TimelineScreen), what="timeline")
        await pilot.pause(0.1)
        hidden = reads
        await pilot.pause(0.4)
        assert reads <= hidden + 1  # at most a read that was under way
        publish("blocked", "another operation holds the plan's lock")
        await pilot.press("1")
        await until(pilot, lambda: reads > hidden + 1, what="reading again")
        await showing(pilot, app, "Automation: blocked (act): another operation holds the plan's lock")


async def test_a_long_text_is_cut_on_its_row_at_80_columns() -> None:
    publish("blocked", "the DR cluster is not healthy: " + "dr broker 3 unreachable, " * 6)
    app = app_on(automation_plan())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: shown(app).startswith("Automation: blocked (act)"), what="blocked")
        await pilot.pause()
        rows = screen_lines(app)
        assert rows[2].startswith(" Automation: blocked (act): the DR cluster") and rows[2].endswith("…")
        assert len(rows[2]) <= 80 and rows[3].startswith(" ╭─ primary · eastus")
