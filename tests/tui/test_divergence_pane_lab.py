"""The lag pane of a hot-standby plan on the real lab and the real divergence engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.screens.lag import LagScreen
from tests.kafka_helpers import create_topic, produce_numbered
from tests.lab_helpers import hot_standby_plan
from tests.tui.pilot_helpers import until

pytestmark = pytest.mark.lab


async def test_pane_shows_the_divergence_of_a_topic(lab: Lab, tmp_path: Path, unique_name: str) -> None:
    for alias in (PRIMARY, DR):
        create_topic(lab.bootstrap(alias), unique_name, partitions=2)
        produce_numbered(lab.bootstrap(alias), unique_name, 60)
    path = hot_standby_plan(lab, tmp_path)
    app = make_app(load_plan(path), path, lag_interval=0.5, refresh_interval=1.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, LagScreen)
        table = screen.query_one("#div-table", DataTable)

        def row() -> list[str] | None:
            if unique_name not in {str(k.value) for k in table.rows}:
                return None
            return [cell.plain for cell in table.get_row(unique_name)]

        await until(pilot, lambda: row() is not None, timeout=30, what="the topic's row")
        assert row()[1:4] == ["60", "60", "0"]  # type: ignore[index]
        summary = screen.query_one("#div-summary", Static)
        assert f"divergence between {PRIMARY} and {DR}" in str(summary.render())

        produce_numbered(lab.bootstrap(PRIMARY), unique_name, 25, start=60)
        await until(pilot, lambda: (row() or [""] * 4)[3] == "+25", timeout=30, what="Δ +25")
        cells = row()
        assert cells is not None
        assert cells[1:3] == ["85", "60"] and cells[-1] == "OK"
        await pilot.press("slash", *unique_name[-6:], "enter")
        assert [str(k.value) for k in table.rows] == [unique_name]
