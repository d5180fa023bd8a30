"""The Failover pane driven through Pilot with a fake runbook operation (UI behaviour only, no Kafka).

The fake keeps a real journal in a temporary state directory, so "interrupted" and "resume" are what
``services.runbook.operate`` reads; it emits scripted runner events and returns a scripted result.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import DataTable, Static

from kdrtui.domain.plan import Plan
from kdrtui.domain.runbook import StepStatus
from kdrtui.services.runbook.failover import FAILOVER
from kdrtui.services.runbook.store import Journal, RunbookStore
from kdrtui.tui.app import KdrApp, make_app
from kdrtui.tui.screens import failover as failover_module
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.screens.failover import ROLLBACK_STEPS, STEPS, FailoverScreen, TypedConfirmScreen
from tests.tui.fake_runs import FakeOperations
from tests.tui.fakes import ScriptedProbes, fixed_app, hot_standby_plan, sample_plan
from tests.tui.pilot_helpers import confirm_typed, log_text, screen_lines, show_failover, until
from tests.tui.pilot_helpers import shown_text as text_of


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Journals and the DR state go to a fresh directory for every test."""
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    yield tmp_path / "state"


def build(ops: FakeOperations | None = None, plan: Plan | None = None, **kw: Any) -> KdrApp:
    return fixed_app(plan or sample_plan(), operation_factory=ops or FakeOperations(), **kw)


def pane(app: KdrApp) -> FailoverScreen:
    screen = app.screen
    assert isinstance(screen, FailoverScreen), screen
    return screen


def step_cell(app: KdrApp, key: str, column: str) -> str:
    table: DataTable[Text] = app.screen.query_one("#fo-steps", DataTable)
    return str(table.get_cell(key, column))


def shown_keys(app: KdrApp) -> set[str]:
    """Keys of the bindings the footer offers now."""
    return {key for key, active in app.active_bindings.items() if active.enabled}


async def start_until_held(pilot: Any, ops: FakeOperations) -> None:
    """Show the pane, confirm a failover to dr and wait until the step ``ops.hold_at`` runs."""
    await show_failover(pilot, ops)
    await confirm_typed(pilot, "F", "dr")
    step = ops.hold_at
    await until(pilot, lambda: pane(pilot.app).current_step == step, what=f"{step} running")


def interrupt_a_failover(plan: Plan) -> Journal:
    """A journal as a failover cut after the fence leaves it."""
    journal = RunbookStore(plan.plan.name, None).new_journal(FAILOVER)
    journal.write("run-start", operation=FAILOVER, plan=plan.plan.name, options={})
    journal.write("step-start", step="preflight", title="Pre-flight")
    journal.write("step-end", step="preflight", status=StepStatus.DONE, summary="GO")
    journal.write("step-start", step="fence", title="Fence")
    return journal


def build_interrupted(**kw: Any) -> tuple[FakeOperations, KdrApp]:
    """The operation factory and an app on the sample plan, whose last failover was cut after the fence."""
    plan = sample_plan()
    interrupt_a_failover(plan)
    ops = FakeOperations()
    return ops, build(ops, plan, **kw)


# -- forecast -----------------------------------------------------------------------------------------


async def test_forecast_is_shown_with_the_next_operation_and_the_active_cluster() -> None:
    ops = FakeOperations()
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_failover(pilot, ops)
        header = text_of(app, "#fo-header")
        assert "next: failover primary -> dr" in header
        assert "active: primary" in header
        forecast = text_of(app, "#fo-forecast")
        assert "pre-flight 18:00:00: GO" in forecast
        assert "not mirrored yet (RPO if forced now): 42 records" in forecast
        assert ops.calls == [(FAILOVER, False)]
        assert ops.closed == 0  # kept for the next forecasts while the pane is shown
        # Every step is listed, pending, before anything runs.
        assert [step_cell(app, key, "status") for key, _ in STEPS] == ["pending"] * 8
        assert {"F", "r"} <= shown_keys(app)
        assert not {"R", "a"} & shown_keys(app)


async def test_no_go_forecast_shows_its_reasons() -> None:
    ops = FakeOperations()
    ops.go, ops.reasons = False, "dr is unreachable: Broker transport failure"
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: "NO-GO" in text_of(app, "#fo-forecast"))
        assert "NO-GO: dr is unreachable: Broker transport failure" in text_of(app, "#fo-forecast")


async def test_forecast_repeats_only_while_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(failover_module, "FORECAST_INTERVAL_S", 0.05)
    ops = FakeOperations()
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_failover(pilot, ops)
        await until(pilot, lambda: ops.forecasts >= 3, what="repeated forecasts")
        # One operation serves every forecast (its lag engine tails incrementally); released when hidden.
        assert ops.calls == [(FAILOVER, False)] and ops.closed == 0
        await pilot.press("1")
        await until(pilot, lambda: ops.closed == 1, what="the forecast's operation released when hidden")
        hidden = ops.forecasts
        await pilot.pause(0.3)
        assert ops.forecasts == hidden
        await pilot.press("5")
        await until(pilot, lambda: ops.forecasts > hidden, what="forecast when shown again")


async def test_refused_operation_shows_why() -> None:
    ops, app = build_interrupted()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: "cannot start" in text_of(app, "#fo-forecast"))
        assert "a failover was interrupted" in text_of(app, "#fo-forecast")
        assert ops.forecasts == 0


# -- starting -----------------------------------------------------------------------------------------


async def test_wrong_name_does_not_start_and_escape_cancels() -> None:
    ops = FakeOperations()
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_failover(pilot, ops)
        await confirm_typed(pilot, "F", "primary")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmScreen)
        assert "type dr to confirm" in str(app.screen.query_one("#typed-error", Static).render())
        # The modal shows the forecast it asks about.
        assert "not mirrored yet" in str(app.screen.query_one("#typed-forecast-text", Static).render())
        await pilot.press("D", "R", "enter")  # case matters: the name in full, exactly
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, FailoverScreen))
        assert all(not resume for _, resume in ops.calls)
        assert len(ops.calls) == ops.forecasts  # only forecasts: nothing was run
        assert not pane(app).running and not app.operations


async def test_right_name_runs_and_shows_every_step_and_the_report() -> None:
    ops = FakeOperations()
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_failover(pilot, ops)
        await confirm_typed(pilot, "F", "dr")
        await until(pilot, lambda: pane(app).result is not None and not pane(app).running, what="run end")
        await pilot.pause()
        screen = pane(app)
        assert screen.result is not None and screen.result.outcome == "completed"
        statuses = {key: step_cell(app, key, "status") for key, _ in STEPS}
        assert statuses == {key: ("skipped" if key == "replication" else "done") for key, _ in STEPS}
        assert step_cell(app, "report", "secs") == "4.0"
        assert "[orders, payments]" in step_cell(app, "fence", "summary")  # brackets are text, not markup
        report = text_of(app, "#fo-report")
        assert "RPO achieved: 42 records not mirrored (measured)" in report
        assert "RTO achieved: 12.3 s from confirmation to clients switched" in report
        assert "failover primary -> dr completed" in text_of(app, "#fo-banner")
        log = log_text(app, "#fo-log")
        assert "fence: working [1/1]" in log
        assert "run ended: completed" in log
        assert not app.operations  # the quit guard is released
        # The DR state now says dr is active: the next operation is the failback.
        await until(pilot, lambda: "next: failback dr -> primary" in text_of(app, "#fo-header"))
        assert "active: dr" in text_of(app, "#fo-header")
        await until(pilot, lambda: ops.calls[-1] != (FAILOVER, False), what="failback forecast")
        assert ops.calls[-1] == ("failback", False)


async def test_failed_step_shows_the_error_and_offers_resume() -> None:
    ops = FakeOperations()
    ops.statuses["drain"] = StepStatus.FAILED
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_failover(pilot, ops)
        await confirm_typed(pilot, "F", "dr")
        await until(pilot, lambda: pane(app).result is not None and not pane(app).running, what="run end")
        await until(pilot, lambda: "R resumes it, U rolls it back" in text_of(app, "#fo-banner"))
        banner = text_of(app, "#fo-banner")
        assert "failed at drain: drain failed [boom]" in banner
        assert step_cell(app, "drain", "status") == "failed"
        assert step_cell(app, "stop-mirrormaker", "status") == "pending"
        assert not text_of(app, "#fo-report")
        assert "R" in shown_keys(app) and "F" not in shown_keys(app)


async def test_abort_key_calls_abort_and_stops_between_steps() -> None:
    ops = FakeOperations()
    ops.hold_at = "drain"
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_until_held(pilot, ops)
        assert step_cell(app, "drain", "status") == "running"
        assert "a" in shown_keys(app) and "F" not in shown_keys(app)
        await pilot.press("a")
        assert ops.aborts == 1
        assert "aborting after the current step" in text_of(app, "#fo-banner")
        ops.release.set()
        await until(pilot, lambda: pane(app).result is not None and not pane(app).running, what="run end")
        assert pane(app).result.outcome == "aborted"  # type: ignore[union-attr]
        assert step_cell(app, "drain", "status") == "done"
        assert step_cell(app, "stop-mirrormaker", "status") == "pending"
        await until(pilot, lambda: "R resumes it, U rolls it back" in text_of(app, "#fo-banner"))


# -- resume ---------------------------------------------------------------------------------------------


async def test_interrupted_banner_and_r_resumes() -> None:
    ops, app = build_interrupted()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await until(
            pilot,
            lambda: "interrupted failover — R resumes it, U rolls it back" in text_of(app, "#fo-banner"),
        )
        assert "R" in shown_keys(app) and "F" not in shown_keys(app)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: pane(app).result is not None and not pane(app).running, what="resumed run")
        assert (FAILOVER, True) in ops.calls
        assert pane(app).result.outcome == "completed"  # type: ignore[union-attr]
        assert step_cell(app, "preflight", "status") == "verified"
        assert step_cell(app, "fence", "status") == "done"
        await until(pilot, lambda: pane(app).pending is None, what="journal complete")
        assert "interrupted" not in text_of(app, "#fo-banner")


async def test_u_rolls_back_the_interrupted_run_with_its_own_steps() -> None:
    ops, app = build_interrupted()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: "U rolls it back" in text_of(app, "#fo-banner"))
        assert "U" in shown_keys(app)
        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: pane(app).result is not None and not pane(app).running, what="rollback")
        assert ops.rollbacks == 1
        assert [key for key, _ in pane(app).run_steps] == [key for key, _ in ROLLBACK_STEPS]
        assert step_cell(app, "unfence", "status") == "done"
        assert "rollback of the failover primary -> dr completed" in text_of(app, "#fo-banner")
        await until(pilot, lambda: pane(app).pending is None, what="nothing left to resume")
        assert "U" not in shown_keys(app) and "F" in shown_keys(app)


# -- guards ---------------------------------------------------------------------------------------------


async def test_read_only_shows_the_forecast_but_offers_nothing_that_changes() -> None:
    ops, app = build_interrupted(read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: "cannot start" in text_of(app, "#fo-forecast"))
        screen = pane(app)
        for action in ("start", "resume", "abort", "rollback"):
            assert screen.check_action(action, ()) is False
        assert not {"F", "R", "a", "U"} & shown_keys(app)
        assert "r" in shown_keys(app)
        assert "R to resume" not in text_of(app, "#fo-banner")
        await pilot.press("F", "R")
        await pilot.pause()
        assert isinstance(app.screen, FailoverScreen)
        assert all(not resume for _, resume in ops.calls)


async def test_read_only_forecast_still_shows() -> None:
    ops = FakeOperations()
    app = build(ops, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_failover(pilot, ops)
        assert "pre-flight 18:00:00: GO" in text_of(app, "#fo-forecast")


async def test_quitting_while_running_asks_first() -> None:
    ops = FakeOperations()
    ops.hold_at = "fence"
    app = build(ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_until_held(pilot, ops)
        assert "running failover primary -> dr" in text_of(app, "#fo-banner")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "failover primary -> dr" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, FailoverScreen))
        assert app.is_running
        ops.release.set()
        await until(pilot, lambda: pane(app).result is not None and not pane(app).running, what="run end")
        assert not app.operations


async def test_no_plan_or_no_flows_says_so() -> None:
    ops = FakeOperations()
    app = make_app(None, None, probe_factory=ScriptedProbes(), operation_factory=ops)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        assert "No plan" in text_of(app, "#fo-empty")
        assert not {"F", "R", "a", "r"} & shown_keys(app)
    plan = hot_standby_plan("bare")
    app = build(ops, plan)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await pilot.pause()
        assert "nothing is mirrored" in text_of(app, "#fo-empty")
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, FailoverScreen)
    assert ops.calls == []


# -- one operation per plan, and a DR state that cannot be read ----------------------------------------


async def test_start_is_refused_with_who_holds_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "oncall-b")
    plan = sample_plan()
    ops = FakeOperations()
    app = build(ops, plan)
    said: list[str] = []
    notify = app.notify

    def recording(message: str, **kw: Any) -> None:
        said.append(message)
        notify(message, **kw)

    monkeypatch.setattr(app, "notify", recording)
    holder = RunbookStore(plan.plan.name, None).lock()
    holder.acquire("provision")  # another kdrtui (the lock file says who) holds the plan
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await show_failover(pilot, ops)
            await until(pilot, lambda: "busy" in text_of(pilot.app, "#fo-banner"), what="busy banner")
            assert "provision by oncall-b" in text_of(pilot.app, "#fo-banner")
            await pilot.press("F")
            await pilot.pause()
            assert not isinstance(pilot.app.screen, TypedConfirmScreen), "no confirmation: refused at once"
            await until(pilot, lambda: bool(said), what="the refusal")
            assert "failover refused" in said[0] and "provision by oncall-b" in said[0], said
            shown = " ".join(line.strip() for line in screen_lines(pilot.app))
            assert "busy: provision by oncall-b" in shown, shown
    finally:
        holder.release()


async def test_an_unreadable_dr_state_is_said_and_nothing_is_offered(state_dir: Path) -> None:
    plan = sample_plan()
    store = RunbookStore(plan.plan.name, None)
    store.dir.mkdir(parents=True)
    store.state_path.write_text('{"active": "atlantis"}')
    ops = FakeOperations()
    app = build(ops, plan)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: "unreadable" in text_of(pilot.app, "#fo-header"), what="unreadable header")
        banner = text_of(pilot.app, "#fo-banner")
        assert "state.json: active: unknown cluster 'atlantis'" in banner and "kdrtui state rebuild" in banner
        assert "F" not in shown_keys(pilot.app), "no failover offered on an unknown state"
        await pilot.press("F")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, TypedConfirmScreen)
