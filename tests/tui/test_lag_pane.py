"""The Mirror lag pane driven through Pilot with a scripted lag source (UI behaviour only)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import DataTable, Input

from kdrtui.domain.divergence import DivergenceSnapshot
from kdrtui.domain.lag import GroupLag, Health
from kdrtui.tui.app import KdrApp
from kdrtui.tui.screens.lag import LagScreen
from tests.tui import pilot_helpers
from tests.tui.fakes import (
    FIXED_NOW,
    ScriptedDivergenceSource,
    ScriptedLagSource,
    build_lag_app,
    hot_standby_plan,
    sample_plan,
    snapshot,
    three_topics,
    topic,
)
from tests.tui.pilot_helpers import data_table, hide_and_show, open_lag, until
from tests.tui.pilot_helpers import shown_text as static_text


def table(app: KdrApp, table_id: str = "#lag-table") -> DataTable[Text]:
    return data_table(app, table_id)


def row_keys(app: KdrApp, table_id: str = "#lag-table") -> list[str]:
    return pilot_helpers.row_keys(app, table_id)


async def refreshes(pilot: Any, source: ScriptedLagSource, n: int = 3) -> None:
    """Let ``n`` more refreshes happen and their messages be handled."""
    target = source.calls + n
    await until(pilot, lambda: source.calls >= target, what=f"{n} refreshes")
    await pilot.pause()


async def test_rows_appear_worst_first_with_header_and_rpo() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        assert row_keys(app) == ["primary->dr/payments", "primary->dr/orders.eu", "primary->dr/orders"]
        summary = static_text(app, "#lag-summary")
        assert "active: primary" in summary
        assert "RPO if you fail over now: 963 records / 2m30s" in summary
        assert "primary→dr heartbeat <5s" in summary  # fresh: coarse, so it does not repaint every refresh
        health = table(app).get_cell("primary->dr/payments", "health")
        assert health.plain == "CRIT"
        assert str(health.style) == str(app.current_theme.error)
        assert table(app).get_cell("primary->dr/payments", "trend").plain == "▁▅█"


async def test_health_change_recolours_and_resorts() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        source.current = snapshot(
            topic("orders", Health.STOPPED, lag=3, lag_s=0.5, trend=(1, 2, 3)),
            topic("payments", Health.OK, lag=0, lag_s=0.0, trend=(100, 500, 900)),
            topic("orders.eu", Health.WARN, lag=60, lag_s=40.0),
        )
        await until(pilot, lambda: row_keys(app)[0] == "primary->dr/orders", what="re-sorted")
        assert row_keys(app) == ["primary->dr/orders", "primary->dr/orders.eu", "primary->dr/payments"]
        cell = table(app).get_cell("primary->dr/payments", "health")
        assert cell.plain == "OK" and str(cell.style) == str(app.current_theme.success)


async def test_unchanged_snapshot_touches_nothing() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        await refreshes(pilot, source, 1)
        grid = table(app)
        calls: list[str] = []
        for name in ("update_cell", "update_cells", "add_row", "remove_row", "sort", "clear"):
            original = getattr(grid, name)

            def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                if _name != "update_cells" or args[0]:  # an empty batch writes nothing
                    calls.append(_name if _name != "update_cells" else f"update_cells:{len(args[0])}")
                return _original(*args, **kwargs)

            setattr(grid, name, spy)
        await refreshes(pilot, source, 4)
        assert calls == []
        # One changed number writes exactly that cell.
        source.current = snapshot(
            topic("orders", Health.OK, lag=4, lag_s=0.5, trend=(1, 2, 3)),
            topic("payments", Health.CRIT, lag=900, lag_s=150.0, trend=(100, 500, 900)),
            topic("orders.eu", Health.WARN, lag=60, lag_s=40.0),
        )
        await until(pilot, lambda: bool(calls), what="an update")
        await refreshes(pilot, source, 1)
        assert calls == ["update_cells:1"]  # the lag of "orders" (replicated still shows 60.0k)


async def test_filter_narrows_rows_and_escape_clears() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        await pilot.press("slash")
        assert app.screen.query_one("#lag-filter", Input).has_focus
        await pilot.press(*"orders")
        await until(pilot, lambda: table(app).row_count == 2, what="filtered")
        assert row_keys(app) == ["primary->dr/orders.eu", "primary->dr/orders"]
        await refreshes(pilot, source, 2)
        assert table(app).row_count == 2  # the filter holds across refreshes
        await pilot.press("escape")
        await until(pilot, lambda: table(app).row_count == 3, what="filter cleared")


async def test_sort_cycles_to_name() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        await pilot.press("o")
        await until(pilot, lambda: row_keys(app)[0] == "primary->dr/orders", what="sorted by name")
        assert row_keys(app) == ["primary->dr/orders", "primary->dr/orders.eu", "primary->dr/payments"]


async def test_enter_shows_partitions_and_escape_goes_back() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        table(app).focus()
        await pilot.press("enter")  # the cursor is on the worst topic, payments
        await until(pilot, lambda: table(app, "#lag-detail").display, what="partitions shown")
        assert row_keys(app, "#lag-detail") == ["0", "1", "2"]
        assert "payments → primary.payments" in static_text(app, "#lag-detail-title")
        assert table(app, "#lag-detail").get_cell("0", "lag").plain == "300"
        await pilot.press("escape")
        await until(pilot, lambda: table(app).display and not table(app, "#lag-detail").display)


async def test_g_shows_groups() -> None:
    group = GroupLag("billing", "orders", 1200, 1150, 4.0, redeliver=50, skip=0)
    source = ScriptedLagSource(snapshot(topic("orders"), groups=(group,)))
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app, rows=1)
        await pilot.press("g")
        await until(pilot, lambda: table(app, "#lag-detail").row_count == 1, what="groups shown")
        grid = table(app, "#lag-detail")
        key = "primary->dr/billing/orders"
        assert [grid.get_cell(key, c).plain for c in ("group", "committed", "redeliver", "skip")] == [
            "billing",
            "1.2k",
            "50",
            "0",
        ]


async def test_failed_refresh_shows_error_and_next_good_one_clears_it() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        source.fail = RuntimeError("offsets timed out")
        await until(pilot, lambda: "offsets timed out" in static_text(app, "#lag-banner"), what="error")
        assert "refresh failed: RuntimeError: offsets timed out" in static_text(app, "#lag-banner")
        calls = source.calls
        await until(pilot, lambda: source.calls > calls + 2, what="polling continues")
        assert app.is_running
        source.fail = None
        await until(pilot, lambda: static_text(app, "#lag-banner") == "", what="error cleared")


async def test_stale_flow_shows_unreachable_banner_and_muted_numbers() -> None:
    source = ScriptedLagSource(snapshot(topic("orders", Health.WARN, lag=60, lag_s=40.0), stale_s=12.0))
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app, rows=1)
        assert "[dr unreachable — data 12 s old]" in static_text(app, "#lag-banner")
        assert "(stale)" in static_text(app, "#lag-summary")
        assert table(app).get_cell("primary->dr/orders", "health").plain == "WARN?"
        source.current = snapshot(topic("orders", Health.WARN, lag=60, lag_s=40.0))
        await until(pilot, lambda: static_text(app, "#lag-banner") == "", what="fresh again")
        assert table(app).get_cell("primary->dr/orders", "health").plain == "WARN"


async def test_hidden_pane_is_not_polled() -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        await hide_and_show(pilot, source)
        await refreshes(pilot, source, 2)


async def test_hot_standby_polls_no_mirror_lag() -> None:
    # Nothing is mirrored: the pane shows the divergence view (tests/tui/test_divergence_pane.py).
    source = ScriptedLagSource(three_topics())
    divergence = ScriptedDivergenceSource(
        DivergenceSnapshot(taken_at=FIXED_NOW, primary="primary", secondary="dr", topics=())
    )
    app = build_lag_app(source, plan=hot_standby_plan(), divergence_source_factory=divergence)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, LagScreen))
        assert "hot standby (dual ingest): divergence between primary and dr" in static_text(
            app, "#div-summary"
        )
        assert not app.screen.query("#lag-table")
        await pilot.pause(0.2)
        assert source.calls == 0


async def test_alert_command_runs_with_each_change(tmp_path: Path) -> None:
    out = tmp_path / "alerts.txt"
    script = tmp_path / "alert.sh"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$KDRTUI_ALERT_FLOW|$KDRTUI_ALERT_TOPIC|$KDRTUI_ALERT_OLD|$KDRTUI_ALERT_NEW'
        f'|$KDRTUI_ALERT_LAG_RECORDS|$KDRTUI_ALERT_LAG_SECONDS" >> {out}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    source = ScriptedLagSource(snapshot(topic("orders"), topic("payments")))
    app = build_lag_app(source, alert_command=str(script))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app, rows=2)
        await refreshes(pilot, source, 1)
        assert not out.exists()  # all OK from the start: nothing to say
        source.current = snapshot(topic("orders"), topic("payments", Health.CRIT, lag=900, lag_s=150.0))

        def lines() -> list[str]:
            return out.read_text().splitlines() if out.exists() else []

        await until(pilot, lambda: len(lines()) >= 2, what="two alerts")
        await refreshes(pilot, source, 2)
        assert lines() == [
            "primary->dr||OK|CRIT|900|150.0",
            "primary->dr|payments|OK|CRIT|900|150.0",
        ]


def test_source_is_closed_when_the_app_ends() -> None:
    import asyncio

    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)

    async def run() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await open_lag(pilot, app)

    asyncio.run(run())
    assert source.closed


async def test_an_unreadable_dr_state_is_said_instead_of_assumed(tmp_path: Path, monkeypatch: Any) -> None:
    from kdrtui.services.runbook.store import RunbookStore

    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path))
    plan = sample_plan()
    store = RunbookStore(plan.plan.name, None)
    store.dir.mkdir(parents=True)
    store.state_path.write_bytes(b"\x00\x01not json")
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source, plan)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app)
        await until(pilot, lambda: "unreadable" in static_text(app, "#lag-summary"), what="unknown active")
        summary = static_text(app, "#lag-summary")
        assert (
            "active: unknown (DR state unreadable)" in summary and "RPO if you fail over now" not in summary
        )
        banner = static_text(app, "#lag-banner")
        assert "state.json: not JSON" in banner and "kdrtui state rebuild" in banner
