"""The Mirror lag pane on the real lab and the real lag engine: a topic's lag, the dr broker killed
(stale banner with the data's age, stale rows, keys still work), and recovery."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.screens.lag import LagScreen
from tests.kafka_helpers import create_topic, produce_numbered
from tests.tui.pilot_helpers import until

pytestmark = pytest.mark.lab


def row_of(screen: LagScreen, topic: str) -> list[str] | None:
    """The cells of ``topic``'s row as text, or None when the table has no such row."""
    table = screen.query_one("#lag-table", DataTable)
    for row_key in table.rows:
        cells = [str(cell) for cell in table.get_row(row_key)]
        if cells and cells[0] == topic:
            return cells
    return None


def banner(screen: LagScreen) -> str:
    widget = screen.query_one("#lag-banner", Static)
    return str(widget.render()) if widget.display else ""


def data_age(text: str) -> int:
    """The N of "data N s old" in the banner, -1 without one."""
    if "data " not in text:
        return -1
    return int(text.split("data ")[1].split(" s old")[0])


async def test_lag_pane_shows_dr_unreachable_with_data_age_and_recovers(lab: Lab, unique_name: str) -> None:
    # MirrorMaker is not running in this test: the topic's 321 records stay unmirrored.
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=2)
    produce_numbered(lab.bootstrap(PRIMARY), unique_name, 321)
    app = make_app(load_plan(lab.plan_path), lab.plan_path, lag_interval=0.5, refresh_interval=1.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        screen = app.screen
        assert isinstance(screen, LagScreen)

        def shows_lag() -> bool:
            cells = row_of(screen, unique_name)
            return cells is not None and "321" in cells and "?" not in cells[-1]

        await until(pilot, shows_lag, timeout=60)
        assert banner(screen) == ""

        lab.kill(DR)
        try:
            await until(pilot, lambda: f"[{DR} unreachable — data" in banner(screen), timeout=20)
            first_age = data_age(banner(screen))
            await until(pilot, lambda: data_age(banner(screen)) > first_age, timeout=15, what="age grows")
            cells = row_of(screen, unique_name)
            assert cells is not None and "321" in cells, "the last numbers are kept"
            assert cells[-1].endswith("?"), f"a stale row's health says so: {cells}"
            # Still responsive with dr down: filter, clear, switch panes and back.
            await pilot.press("slash", *unique_name[-6:], "enter")
            assert [str(c[0]) for c in [screen.query_one("#lag-table", DataTable).get_row_at(0)]] == [
                unique_name
            ]
            await pilot.press("escape")
            await pilot.press("1")
            assert app.current_mode == "overview"
            await pilot.press("4")
            assert app.current_mode == "lag"
        finally:
            lab.up()
        await until(pilot, lambda: banner(app.screen) == "" and shows_lag(), timeout=60)
