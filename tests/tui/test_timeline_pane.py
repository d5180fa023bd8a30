"""The Timeline pane (key 7) driven through Pilot on a real timeline store in a temporary folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from kdrtui.domain.timeline import Event, EventKind
from kdrtui.services.timeline.store import TimelineStore, TimelineUnavailable
from kdrtui.tui.app import KdrApp
from kdrtui.tui.screens.dialogs import HelpScreen
from kdrtui.tui.screens.timeline import TimelineScreen
from kdrtui.tui.widgets.lag_chart import LagChart
from kdrtui.tui.widgets.timeline_rows import KINDS
from tests.tui.fakes import fixed_app, sample_plan
from tests.tui.pilot_helpers import data_table, row_cells, row_keys, screen_lines, shown_text, until
from tests.tui.timeline_helpers import FLOW, NOW, PEAK, StoreFactory, filled_factory, timeline_app


def screen(app: KdrApp) -> TimelineScreen:
    assert isinstance(app.screen, TimelineScreen)
    return app.screen


def chart_text(app: KdrApp) -> list[str]:
    return [line.plain for line in app.screen.query_one("#tl-chart", LagChart).lines]


def kinds_listed(app: KdrApp) -> list[str]:
    return [row_cells(app, key, "#tl-events")[1] for key in row_keys(app, "#tl-events") if "|" in key]


async def open_timeline(pilot: Any, app: KdrApp, rows: int | None = None) -> None:
    """Show the pane (key 7) and wait for its first reading drawn (with ``rows`` event rows)."""
    await pilot.press("7")
    await until(pilot, lambda: isinstance(app.screen, TimelineScreen) and app.screen.drawn >= 1, what="drawn")
    if rows is not None:
        await until(pilot, lambda: data_table(app, "#tl-events").row_count == rows, what=f"{rows} rows")
    await pilot.pause()


async def test_events_newest_first_with_times_kinds_and_severity_colours(tmp_path: Path) -> None:
    app = timeline_app(filled_factory(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app, rows=7)  # six events and the line of yesterday's date
        keys = row_keys(app, "#tl-events")
        times = [row_cells(app, key, "#tl-events")[0] for key in keys]
        assert times == ["17:55:42", "17:44:02", "17:42:22", "17:11:42", "17:10:42", "11-24", "17:00:42"]
        assert kinds_listed(app) == ["health", "mirrormaker", "health", "cluster", "cluster", "runbook"]
        assert row_cells(app, keys[5], "#tl-events")[2] == "── 2025-11-24 ──"
        table = data_table(app, "#tl-events")
        crit = table.get_row(keys[1])
        assert str(crit[1].style) == str(app.current_theme.error)
        assert str(table.get_row(keys[4])[1].style) == str(app.current_theme.warning)
        assert str(table.get_row(keys[3])[1].style) == ""  # info: the foreground
        # The long MirrorMaker text is cut on one line: the table never wraps.
        lines = screen_lines(app)
        # The subject is not said twice: the text drops the "<subject>: " it starts with.
        assert "mm2-primary-dr: running" not in "\n".join(lines)
        shown = next(line for line in lines if "running -> stopped" in line)
        assert shown.endswith("…") and len(shown) <= 80
        assert "far longer than expected" not in "\n".join(lines)
        assert "flow: all (f) · kind: all (k) · last hour (h/d) · in records (u)" in lines[1]


async def test_flow_and_kind_filters(tmp_path: Path) -> None:
    app = timeline_app(filled_factory(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app, rows=7)
        await pilot.press("f")
        # Events that concern no flow (a cluster, a runbook) are not listed for one flow.
        await until(
            pilot, lambda: kinds_listed(app) == ["health", "mirrormaker", "health"], what="flow filter"
        )
        assert f"flow: {FLOW} (f)" in shown_text(app, "#tl-header")
        await pilot.press("k")  # kind: health
        await until(pilot, lambda: kinds_listed(app) == ["health", "health"], what="kind filter")
        assert "kind: health (k)" in shown_text(app, "#tl-header")
        await pilot.press("f")  # every flow again, still only health
        await until(pilot, lambda: "flow: all" in shown_text(app, "#tl-header"))
        await pilot.press("k", "k", "k", "k")  # health -> mirrormaker -> task -> ssh -> cluster
        await until(pilot, lambda: kinds_listed(app) == ["cluster", "cluster"], what="clusters only")
        await pilot.press("k")  # runbook: yesterday's only, under its date
        await until(pilot, lambda: kinds_listed(app) == ["runbook"], what="runbook only")
        assert data_table(app, "#tl-events").row_count == 2


async def test_chart_shows_the_hour_peak_and_gaps_not_zeros(tmp_path: Path) -> None:
    app = timeline_app(filled_factory(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app)
        title, *rows, axis = chart_text(app)
        assert title == f"{FLOW} · lag in records · last hour · peak 9,400 at 17:42 UTC"
        assert len(rows) == 5
        assert rows[0].startswith("  9.4k┤") and rows[-1].startswith("     0┤")
        bottom = rows[-1][7:]
        assert len(bottom) == 60
        # 17:01 ... 18:00: 17:21 to 17:24 have no sample (dots), every other minute a bar.
        assert bottom[20:24] == "····"
        assert "·" not in bottom[:20] + bottom[24:]
        top = rows[0][7:]
        assert top[41] == "█" and top.count("█") == 1  # only the peak minute reaches the top
        assert axis.startswith("      └17:01") and "17:31" in axis and axis.endswith("now")
        # The peak's column takes the colour of its health (CRIT).
        chart = app.screen.query_one("#tl-chart", LagChart)
        peak_style = {
            str(s.style) for s in chart.lines[1].spans if "█" in chart.lines[1].plain[s.start : s.end]
        }
        assert peak_style == {str(app.current_theme.error)}
        await pilot.press("u")
        await until(pilot, lambda: "lag in seconds" in chart_text(app)[0], what="seconds")
        assert chart_text(app)[0].endswith(f"peak {PEAK / 50:.1f} s at 17:42 UTC")
        assert "in seconds (u)" in shown_text(app, "#tl-header")


async def test_day_window_shows_the_day_peak_and_back(tmp_path: Path) -> None:
    app = timeline_app(filled_factory(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app)
        assert "20.0k" not in "\n".join(chart_text(app))  # ten hours ago: not in the last hour
        await pilot.press("d")
        await until(pilot, lambda: "last 24 h" in chart_text(app)[0], what="day chart")
        assert chart_text(app)[0].endswith("peak 20,000 at 08:00 UTC")
        assert "last 24 h (h/d)" in shown_text(app, "#tl-header")
        bottom = chart_text(app)[-2][7:]
        # 24-minute columns ending at 18:24: the day's first hours hold no sample (gaps, not zeros).
        assert bottom.startswith("·" * 10) and bottom.count("·") < 60
        await pilot.press("h")
        await until(pilot, lambda: "last hour" in chart_text(app)[0], what="hour chart")
        assert "peak 9,400 at 17:42" in chart_text(app)[0]


async def test_no_plan_and_empty_store_say_so(tmp_path: Path) -> None:
    app = fixed_app(None, now=NOW, timeline_store_factory=StoreFactory(tmp_path / "t.sqlite"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, TimelineScreen))
        assert "No plan: no timeline" in shown_text(app, "#tl-empty")
    empty = StoreFactory(tmp_path / "empty.sqlite")
    app = timeline_app(empty)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app, rows=0)
        assert "Nothing recorded for this view yet" in shown_text(app, "#tl-note")
        assert chart_text(app)[0] == f"{FLOW} · lag in records · last hour · no lag recorded in the last hour"
        assert chart_text(app)[-2][7:] == "·" * 60


async def test_unreadable_store_is_shown_and_retried(tmp_path: Path) -> None:
    factory = StoreFactory(
        tmp_path / "t.sqlite", fail=TimelineUnavailable(tmp_path / "t.sqlite", "disk I/O error")
    )
    app = timeline_app(factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        await until(pilot, lambda: "timeline unreadable" in shown_text(app, "#tl-header"), what="error")
        assert "disk I/O error" in shown_text(app, "#tl-header")
        factory.fail = None
        await until(pilot, lambda: screen(app).drawn >= 1, what="read after the store came back")
        assert "flow: all" in shown_text(app, "#tl-header")


async def test_unchanged_store_repaints_nothing_and_a_new_event_appears(tmp_path: Path) -> None:
    factory = filled_factory(tmp_path)
    app = timeline_app(factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app, rows=7)
        pane = screen(app)
        chart = app.screen.query_one("#tl-chart", LagChart)
        table = data_table(app, "#tl-events")
        drawn, repainted = pane.drawn, chart.repainted
        calls: list[str] = []
        for name in ("clear", "add_row", "update_cell", "refresh"):
            original = getattr(table, name)

            def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                calls.append(_name)
                return _original(*args, **kwargs)

            setattr(table, name, spy)
        reads = factory.reads
        await until(pilot, lambda: factory.reads >= reads + 5, what="five more reads")
        await pilot.pause()
        assert (pane.drawn, chart.repainted, calls) == (drawn, repainted, [])
        # Another process records an event: it is listed first at the next read; the chart is unchanged
        # and the selected event stays selected.
        await pilot.press("down", "down")
        selected = row_keys(app, "#tl-events")[2]
        writer = factory.open()
        writer.record(
            [
                Event(
                    NOW - 5,
                    EventKind.TASK,
                    "edge-1/mm2-primary-dr/0",
                    "task 0: RUNNING -> FAILED",
                    "crit",
                    FLOW,
                )
            ]
        )
        writer.close()
        await until(pilot, lambda: data_table(app, "#tl-events").row_count == 8, what="the new event")
        assert row_cells(app, row_keys(app, "#tl-events")[0], "#tl-events")[:2] == ["18:00:37", "task"]
        assert row_keys(app, "#tl-events")[table.cursor_row] == selected
        assert chart.repainted == repainted


async def test_new_minute_repaints_only_changed_chart_rows(tmp_path: Path) -> None:
    factory = filled_factory(tmp_path)
    app = timeline_app(factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app)
        chart = app.screen.query_one("#tl-chart", LagChart)
        repainted = chart.repainted
        writer = factory.open()
        writer.record_lag(NOW, FLOW, 20, 0.4, "OK")  # 18:00 had 0 records: now a low bar on the bottom row
        writer.close()
        await until(pilot, lambda: chart.repainted > repainted, what="chart repaint")
        await pilot.pause(0.3)
        assert chart.repainted - repainted == 1


async def test_pane_stops_reading_while_hidden(tmp_path: Path) -> None:
    factory = filled_factory(tmp_path)
    app = timeline_app(factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app)
        await pilot.press("1")
        await pilot.pause(0.1)
        reads = factory.reads
        await pilot.pause(0.3)
        assert factory.reads <= reads + 1
        await pilot.press("7")
        await until(pilot, lambda: factory.reads > reads + 1, what="reading again")


async def test_mode_bar_and_help_at_80_columns(tmp_path: Path) -> None:
    app = timeline_app(filled_factory(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app)
        bar = screen_lines(app)[0]
        assert "7 Timeline" in bar and "4 Lag" in bar and "8 Game day" in bar and len(bar) <= 80
        helped = {description: keys for keys, description in app.key_help()}
        assert [helped[d] for d in ("Flow", "Kind", "Hour", "Day", "Rec/sec", "Refresh")] == list("fkhdur")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        shown = str(app.screen.query_one("#help-keys").render())
        assert "Rec/sec" in shown and "Flow" in shown


async def test_several_flows_share_the_chart_area_and_f_picks_one(tmp_path: Path) -> None:
    factory = filled_factory(tmp_path)
    writer = factory.open()
    for flow in ("dr->primary", "west->east"):  # recorded after a failover / by another plan's flow
        writer.record_lag(NOW - 120, flow, 70, 1.5, "OK")
    writer.close()
    app = timeline_app(factory)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app)
        titles = [line for line in chart_text(app) if " · lag in " in line]
        # The first two flows (sorted), three rows of bars each; a note says how to see the third.
        assert [t.split(" · ")[0] for t in titles] == ["dr->primary", FLOW]
        assert len(chart_text(app)) == 2 * (1 + 3 + 1)
        assert "1 more: f picks one" in shown_text(app, "#tl-note")
        await pilot.press("f", "f", "f")  # all -> dr->primary -> primary->dr -> west->east
        await until(pilot, lambda: chart_text(app)[0].startswith("west->east · "), what="west->east")
        assert len(chart_text(app)) == 1 + 5 + 1
        assert chart_text(app)[0].endswith("peak 70 at 17:58 UTC")
        assert shown_text(app, "#tl-note") == ""
        assert data_table(app, "#tl-events").row_count == 0  # no event of that flow


async def test_automation_events_are_listed_in_their_severity_colour_and_k_shows_them_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What kdrtui watch records (kind ``automation``) in the plan's own timeline, read by the real store."""
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    now = time.time()
    store = TimelineStore.for_plan(sample_plan().plan.name, None)
    store.record(
        [
            Event(now - 90, EventKind.CLUSTER, "primary", "primary: reachable -> unreachable", "crit"),
            Event(
                now - 60,
                EventKind.AUTOMATION,
                "automation",
                "armed -> holding (a quorum sees the primary down: kdrtui down)",
                "warn",
                source="watch",
            ),
            Event(
                now - 5,
                EventKind.AUTOMATION,
                "automation",
                "holding -> acting (failing over to dr as automation)",
                "crit",
                source="watch",
            ),
        ]
    )
    store.close()
    app = fixed_app(sample_plan(), clock=time.time, timeline_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_timeline(pilot, app, rows=3)
        assert kinds_listed(app) == ["automation", "automation", "cluster"]
        keys = row_keys(app, "#tl-events")
        assert row_cells(app, keys[0], "#tl-events")[2:] == [
            "automation",
            "holding -> acting (failing over to dr as automation)",
        ]
        table = data_table(app, "#tl-events")
        assert str(table.get_row(keys[0])[1].style) == str(app.current_theme.error)
        assert str(table.get_row(keys[1])[1].style) == str(app.current_theme.warning)
        assert EventKind.AUTOMATION in KINDS
        await pilot.press(*"k" * KINDS.index(EventKind.AUTOMATION))
        await until(pilot, lambda: kinds_listed(app) == ["automation", "automation"], what="automation only")
        assert "kind: automation (k)" in shown_text(app, "#tl-header")
        assert any(" automation " in line for line in screen_lines(app))
        await pilot.press("k")  # every kind again
        await until(pilot, lambda: len(kinds_listed(app)) == 3, what="every kind")
