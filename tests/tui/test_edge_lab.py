"""The Edge pane against the lab's real SSH edge node and real MirrorMaker 2."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import Lab
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.screens.edge import EdgeScreen
from tests.tui.pilot_helpers import until

pytestmark = pytest.mark.lab

ROW = "dr-edge-1/mm2-dr"


async def stop_mirrormaker(plan: Plan) -> None:
    """Stop the lab plan's MirrorMaker (the CLI's asyncio.run cannot run inside this test's loop)."""
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager

    manager = MirrorMakerManager(plan)
    try:
        for dep in await manager.select():
            await manager.stop(dep)
    finally:
        await manager.close()


def cell(app: object, column: str) -> str:
    table = app.screen.query_one("#edge-table", DataTable)  # type: ignore[attr-defined]
    if ROW not in table.rows:
        return ""
    return str(table.get_cell(ROW, column))


async def test_start_stop_behind_confirmation_and_ssh_drop_recovery(lab: Lab) -> None:
    plan = load_plan(lab.plan_path)
    await stop_mirrormaker(plan)
    app = make_app(plan, lab.plan_path)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("6")
            assert isinstance(app.screen, EdgeScreen)
            idle = ("stopped", "not deployed")
            await until(pilot, lambda: cell(app, "state") in idle, 30, "idle MirrorMaker shown")
            assert "connected" in cell(app, "ssh")

            await pilot.press("s")
            assert isinstance(app.screen, ConfirmScreen)
            assert "Start mm2-dr on dr-edge-1?" in app.screen.question
            await pilot.press("y")
            await until(pilot, lambda: "running" in cell(app, "state"), 60, "MirrorMaker running")
            assert cell(app, "pid") != "-"

            dropped = lab.edge.drop_connections()
            assert dropped >= 1
            # The console keeps answering keys while SSH is down, and recovers by itself.
            await pilot.press("1")
            await pilot.press("6")
            await until(
                pilot,
                lambda: "connected" in cell(app, "ssh") and "running" in cell(app, "state"),
                30,
                "recovered after the SSH drop",
            )
            assert app.is_running

            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await until(pilot, lambda: "stopped" in cell(app, "state"), 60, "MirrorMaker stopped")
    finally:
        await stop_mirrormaker(plan)


async def test_read_only_offers_no_mirrormaker_actions(lab: Lab) -> None:
    app = make_app(load_plan(lab.plan_path), lab.plan_path, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("6")
        await until(pilot, lambda: cell(app, "state") != "", 30, "a row")
        actions = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert not actions & {"mm_start", "mm_stop", "mm_restart"}
        await pilot.press("s")
        assert not isinstance(app.screen, ConfirmScreen)
