"""The Timeline pane on the real lab: what the console itself recorded in the plan's timeline (the Mirror
lag pane's snapshots of a topic no MirrorMaker mirrors) is charted, the current minute included."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from kdrtui.lab.lab import PRIMARY, Lab
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.screens.lag import LagScreen
from kdrtui.tui.screens.timeline import TimelineScreen
from kdrtui.tui.widgets.lag_chart import LagChart
from tests.kafka_helpers import create_topic, produce_numbered
from tests.tui.pilot_helpers import until

pytestmark = pytest.mark.lab

RECORDS = 250


def lag_shown(screen: LagScreen, topic: str) -> bool:
    table = screen.query_one("#lag-table", DataTable)
    return any(
        [str(c) for c in table.get_row(key)][:1] == [topic]
        and str(RECORDS) in [str(c) for c in table.get_row(key)]
        for key in table.rows
    )


async def test_timeline_pane_charts_the_lag_the_console_recorded(
    lab: Lab, unique_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))  # a timeline of its own
    # MirrorMaker is not running in this test: the topic's records stay unmirrored.
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=1)
    produce_numbered(lab.bootstrap(PRIMARY), unique_name, RECORDS)
    plan = load_plan(lab.plan_path)
    app = make_app(plan, lab.plan_path, lag_interval=0.5, refresh_interval=1.0, timeline_interval=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")  # the Mirror lag pane polls; the console records each snapshot
        lag = app.screen
        assert isinstance(lag, LagScreen)
        await until(pilot, lambda: lag_shown(lag, unique_name), timeout=60, what="lag of the topic")
        await pilot.press("7")
        timeline = app.screen
        assert isinstance(timeline, TimelineScreen)
        chart = timeline.query_one("#tl-chart", LagChart)
        flow = f"{plan.flows[0].source}->{plan.flows[0].target}"

        def flow_chart() -> tuple[str, str] | None:
            """(title, bottom row's columns) of the flow's chart, once its current minute has a sample."""
            lines = [line.plain for line in chart.lines]
            titles = [i for i, line in enumerate(lines) if line.startswith(f"{flow} · lag in records")]
            if not titles:
                return None
            axis = next(i for i in range(titles[0], len(lines)) if "└" in lines[i])
            title, bottom = lines[titles[0]], lines[axis - 1][7:]
            return (title, bottom) if " · peak " in title and bottom[-1] != "·" else None

        # The lag pane's snapshots, then the console's own sample every 10 s, fill the current minute.
        await until(pilot, lambda: flow_chart() is not None, timeout=30, what="the current minute charted")
        found = flow_chart()
        assert found is not None
        title, bottom = found
        assert title.startswith(f"{flow} · lag in records · last hour · peak ")
        peak = int(title.split(" · peak ")[1].split(" at ")[0].replace(",", ""))
        assert peak >= RECORDS, title  # the flow's lag counts this topic's unmirrored records
        assert len(bottom) == 60
