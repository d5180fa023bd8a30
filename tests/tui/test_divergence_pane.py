"""The lag pane of a hot-standby plan (dual ingest) through Pilot, with a scripted divergence source."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from kdrtui.domain.divergence import DivergenceSnapshot, compare
from kdrtui.tui.app import KdrApp
from kdrtui.tui.screens.lag import LagScreen
from kdrtui.tui.widgets.divergence_view import DivergenceView
from tests.tui.fakes import (
    FIXED_NOW,
    ScriptedDivergenceSource,
    ScriptedLagSource,
    build_lag_app,
    facts,
    hot_standby_plan,
    three_topics,
)
from tests.tui.pilot_helpers import data_table, hide_and_show, row_cells, row_keys, until
from tests.tui.pilot_helpers import shown_text as text

NOW = FIXED_NOW


def divergence(
    primary: dict[str, Any], dr: dict[str, Any], *, stale_s: float | None = None
) -> DivergenceSnapshot:
    taken = NOW
    return DivergenceSnapshot(
        taken_at=taken,
        primary="primary",
        secondary="dr",
        topics=compare(primary, dr, now=taken, warn_s=30, crit_s=120, names=("primary", "dr")),
        stale_s=stale_s,
        error="10.1.0.11:9092: unreachable: Local: Timed out" if stale_s is not None else None,
        unreachable={"dr": taken - stale_s} if stale_s is not None else {},
    )


def four_topics() -> DivergenceSnapshot:
    return divergence(
        {
            "orders": facts(1000, 1.0, parts=2),
            "payments": facts(5250, 1.0),
            "audit": facts(10, 2.0),
            "only-primary": facts(7, 3.0),
        },
        {
            "orders": facts(1000, 1.0, parts=2),
            "payments": facts(5000, 41.0),
            "audit": facts(10, 2.0),
        },
    )


def build(source: ScriptedDivergenceSource, lag: ScriptedLagSource | None = None) -> KdrApp:
    lag = lag or ScriptedLagSource(three_topics())
    return build_lag_app(lag, plan=hot_standby_plan(), divergence_source_factory=source)


def table(app: KdrApp, table_id: str = "#div-table") -> DataTable[Text]:
    return data_table(app, table_id)


def rows(app: KdrApp, table_id: str = "#div-table") -> list[str]:
    return row_keys(app, table_id)


def cells(app: KdrApp, key: str, table_id: str = "#div-table") -> list[str]:
    return row_cells(app, key, table_id)


async def open_pane(pilot: Any, app: KdrApp, count: int = 4) -> None:
    await pilot.press("4")
    await until(pilot, lambda: isinstance(app.screen, LagScreen))
    await until(pilot, lambda: table(app).row_count == count, what=f"{count} rows")


async def test_hot_standby_shows_divergence_worst_first_instead_of_mirror_lag() -> None:
    source = ScriptedDivergenceSource(four_topics())
    lag = ScriptedLagSource(three_topics())
    app = build(source, lag)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot, app)
        assert rows(app) == ["only-primary", "payments", "audit", "orders"]
        summary = text(app, "#div-summary")
        assert summary.startswith("hot standby (dual ingest): divergence between primary and dr\n")
        assert "4 topics, 2 apart" in summary and "Δ +257 records" in summary and "CRIT" in summary
        assert [c.label.plain for c in table(app).columns.values()] == [
            "topic",
            "pri rec",
            "dr rec",
            "Δ rec",
            "pri age",
            "dr age",
            "Δ s",
            "health",
        ]
        assert cells(app, "payments") == ["payments", "5.2k", "5.0k", "+250", "<5s", "40s", "+40s", "WARN"]
        assert cells(app, "only-primary") == ["only-primary", "7", "-", "+7", "<5s", "-", "≥3.0s", "CRIT"]
        assert cells(app, "orders")[-1] == "OK"
        health = table(app).get_cell("only-primary", "health")
        assert str(health.style) == str(app.current_theme.error)
        assert not app.screen.query("#lag-table"), "no mirror-lag table for a hot standby"
        await pilot.pause(0.2)
        assert lag.calls == 0, "the mirror-lag source is never polled"
        assert source.calls >= 1
        assert source.plans[0].plan.topology == "hot-standby"


async def test_filter_sort_drill_and_back() -> None:
    source = ScriptedDivergenceSource(four_topics())
    app = build(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot, app)
        await pilot.press("slash", *"pay")
        await until(pilot, lambda: rows(app) == ["payments"], what="filtered")
        await pilot.press("escape")
        await until(pilot, lambda: len(rows(app)) == 4, what="filter cleared")
        await pilot.press("o")
        assert rows(app) == ["audit", "only-primary", "orders", "payments"]  # by name
        await pilot.press("o")
        assert rows(app)[0] == "payments"  # by Δ records
        await pilot.press("o", "o")  # Δ s, then worst again
        assert rows(app)[0] == "only-primary"
        table(app).move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: table(app, "#div-detail").display, what="partitions")
        assert "only-primary: partitions · CRIT · only on primary" in text(app, "#div-detail-title")
        assert cells(app, "0", "#div-detail") == ["0", "7", "-", "+7", "<5s", "-"]
        await pilot.press("escape")
        await until(pilot, lambda: table(app).display and not table(app, "#div-detail").display)


async def test_unreachable_cluster_is_stale_never_fresh_and_recovers() -> None:
    source = ScriptedDivergenceSource(four_topics())
    app = build(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot, app)
        assert text(app, "#div-banner") == ""
        fresh = four_topics()
        source.current = DivergenceSnapshot(
            taken_at=NOW + 12,
            primary="primary",
            secondary="dr",
            topics=fresh.topics,
            stale_s=12.0,
            error="10.1.0.11:9092: unreachable: Local: Timed out",
            unreachable={"dr": NOW},
        )
        await until(pilot, lambda: "[dr unreachable — data 12 s old]" in text(app, "#div-banner"))
        assert cells(app, "orders")[-1] == "OK?"
        assert cells(app, "only-primary")[-1] == "CRIT?"
        assert str(table(app).get_cell("orders", "records_primary").style).startswith("dim")
        assert "(stale)" in text(app, "#div-summary")
        source.current = four_topics()
        await until(pilot, lambda: text(app, "#div-banner") == "", what="banner cleared")
        assert cells(app, "orders")[-1] == "OK"


async def test_failed_refresh_is_shown_and_polling_carries_on() -> None:
    source = ScriptedDivergenceSource(four_topics())
    app = build(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot, app)
        source.fail = RuntimeError("boom")
        await until(pilot, lambda: "refresh failed: RuntimeError: boom" in text(app, "#div-banner"))
        source.fail = None
        await until(pilot, lambda: text(app, "#div-banner") == "")


async def test_hidden_pane_is_not_polled_and_source_closed_at_the_end() -> None:
    source = ScriptedDivergenceSource(four_topics())
    app = build(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_pane(pilot, app)
        calls = await hide_and_show(pilot, source)
        await until(pilot, lambda: source.calls >= calls + 3, what="polling again")
        view = app.screen.query_one(DivergenceView)
        assert view.shown
    assert source.closed
