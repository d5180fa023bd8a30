"""The lag pane's header line for a scheduled (cold-standby) flow: fits 80 columns."""

from __future__ import annotations

from datetime import UTC, datetime

from kdrtui.domain.lag import FlowLag, FlowSchedule, Health
from kdrtui.tui.widgets.lag_rows import SCHEDULE_WIDTH, schedule_line
from kdrtui.tui.widgets.live_tables import HEALTH_COLOUR


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def flow(
    description: str, *, last: float | None, next_run: float | None, health: Health, source: str = "primary"
) -> FlowLag:
    schedule = FlowSchedule(description, next_run=next_run, last_run=last, running=health is Health.OK)
    return FlowLag(source, "dr", "mm2", None, health, (), schedule=schedule)


def test_idle_between_runs() -> None:
    now = ts("2026-11-25T13:27:00")
    line = schedule_line(
        flow(
            "every 60 min for 15 min",
            last=ts("2026-11-25T13:15:00"),
            next_run=ts("2026-11-25T14:00:00"),
            health=Health.IDLE,
        ),
        now,
    )
    assert line == "primary→dr every 60 min for 15 min · last run 12 min ago · next 14:00 UTC · IDLE"
    assert len(line) <= SCHEDULE_WIDTH
    assert HEALTH_COLOUR[Health.IDLE] == "success"


def test_short_enough_keeps_the_word_scheduled() -> None:
    now = ts("2026-11-25T13:27:00")
    line = schedule_line(
        flow(
            "every 5 min for 2 min",
            last=now - 5,
            next_run=ts("2026-11-25T13:30:00"),
            health=Health.OK,
            source="a",
        ),
        now,
    )
    assert line == "a→dr scheduled every 5 min for 2 min · last run just now · next 13:30 UTC · OK"


def test_long_cron_and_never_ran_still_fit() -> None:
    now = ts("2026-11-25T13:27:00")
    line = schedule_line(
        flow(
            "cron '*/20 8-18 1,15 jan-jun mon-fri' for 10 min",
            last=None,
            next_run=ts("2026-11-30T08:00:00"),
            health=Health.WARN,
        ),
        now,
    )
    assert len(line) <= SCHEDULE_WIDTH, line
    assert line.endswith("never ran · next Mon 08:00 UTC · WARN")


async def test_the_pane_shows_the_schedule_line() -> None:
    from dataclasses import replace

    from tests.tui.fakes import FIXED_NOW, ScriptedLagSource, build_lag_app, snapshot, topic
    from tests.tui.pilot_helpers import open_lag
    from tests.tui.pilot_helpers import shown_text as static_text

    base = snapshot(topic("orders", Health.IDLE), heartbeat=None)
    schedule = FlowSchedule("every 60 min for 15 min", FIXED_NOW + 1980, FIXED_NOW - 720, False)
    scheduled = replace(base, flows=(replace(base.flows[0], health=Health.IDLE, schedule=schedule),))
    source = ScriptedLagSource(scheduled)
    app = build_lag_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_lag(pilot, app, rows=1)
        summary = static_text(app, "#lag-summary")
        line = next(x for x in summary.splitlines() if x.startswith("primary→dr"))
        assert line.startswith("primary→dr every 60 min for 15 min · last run 12 min ago · next ")
        assert line.endswith(" UTC · IDLE") and len(line) <= 80
        assert "no heartbeat" not in summary
        assert app.screen.query_one("#lag-table").get_cell("primary->dr/orders", "health").plain == "IDLE"  # type: ignore[attr-defined]
