"""The Mirror lag pane says where a lag in seconds comes from, and shows lost records and open
transactions, compactly at 80x24 (scripted lag source: UI behaviour only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from kdrtui.domain.lag import Health, LagSecondsSource, LagSnapshot, PartitionLag, TopicLag
from kdrtui.tui.app import KdrApp
from kdrtui.tui.widgets.lag_rows import PARTITION_COLUMNS, TOPIC_COLUMNS, seconds_text
from tests.tui.fakes import FIXED_NOW, ScriptedLagSource, fixed_app, sample_plan, snapshot, topic
from tests.tui.pilot_helpers import data_table, row_cells, screen_lines, shown_text, until

HISTORY, UNKNOWN, RECORD = LagSecondsSource.HISTORY, LagSecondsSource.UNKNOWN, LagSecondsSource.RECORD


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local; pin the zone so snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def lost_topic() -> TopicLag:
    """``payments``: 25 records deleted on partition 1 before they were mirrored, a transaction open on
    partition 2, lag dated from the records."""
    base = topic("payments", Health.LOST, lag=90, lag_s=75.0, parts=3)
    parts = list(base.partitions)
    parts[1] = replace(parts[1], lost_records=25, log_start=parts[1].replicated + 25)
    parts[2] = replace(parts[2], open_transaction=True, stable_end=parts[2].source_end - 4)
    return replace(base, partitions=tuple(parts), lost_records=25, open_transactions=1)


def estimated(name: str, lag_s: float, source: LagSecondsSource, health: Health = Health.WARN) -> TopicLag:
    base = topic(name, health, lag=60, lag_s=lag_s, parts=2)
    parts = tuple(replace(p, lag_seconds_source=source) for p in base.partitions)
    return replace(base, partitions=parts, lag_seconds_source=source)


def truth_snapshot() -> LagSnapshot:
    return snapshot(
        lost_topic(),
        estimated("orders", 40.0, HISTORY),
        estimated("audit", 65.0, UNKNOWN, Health.CRIT),
        estimated("fresh", 0.0, UNKNOWN, Health.OK),
        heartbeat=None,
    )


def truth_app() -> KdrApp:
    source = ScriptedLagSource(truth_snapshot())
    return fixed_app(sample_plan(), now=FIXED_NOW + 42, lag_source_factory=source, lag_interval=3600)


async def shown(pilot: Pilot[Any]) -> None:
    await pilot.press("4")
    await until(
        pilot,
        lambda: (
            bool(pilot.app.screen.query("#lag-table")) and data_table(pilot.app, "#lag-table").row_count == 4
        ),
        what="4 rows",
    )
    await pilot.pause()


async def partitions_shown(pilot: Pilot[Any]) -> None:
    await shown(pilot)
    await pilot.press("enter")  # the worst topic, first: payments
    await until(pilot, lambda: data_table(pilot.app, "#lag-detail").row_count == 3, what="partitions")
    await pilot.pause()


def test_seconds_say_where_they_come_from() -> None:
    assert seconds_text(12.0, RECORD) == "12s"
    assert seconds_text(12.0, HISTORY) == "~12s"
    assert seconds_text(65.0, UNKNOWN) == ">1m05s"
    assert seconds_text(0.0, UNKNOWN) == "?"
    assert seconds_text(2 * 86400 + 3 * 3600, UNKNOWN) == ">2d03h", "fits the 6-wide column"


def test_the_tables_fit_80_columns() -> None:
    # Each DataTable cell has one column of padding on each side.
    assert sum(width + 2 for _, _, width, _ in TOPIC_COLUMNS) <= 80
    assert sum(width + 2 for _, _, width, _ in PARTITION_COLUMNS) <= 80


async def test_lost_records_estimated_seconds_and_open_transactions_are_shown() -> None:
    app = truth_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(pilot)
        table = data_table(app, "#lag-table")
        health = table.get_cell("primary->dr/payments", "health")
        assert health.plain == "LOST" and str(health.style) == str(app.current_theme.secondary)
        assert table.get_cell("primary->dr/orders", "lag_s").plain == "~40s"
        assert table.get_cell("primary->dr/audit", "lag_s").plain == ">1m05s"
        assert table.get_cell("primary->dr/fresh", "lag_s").plain == "?"
        assert table.get_cell("primary->dr/payments", "lag_s").plain == "1m15s"
        summary = shown_text(app, "#lag-summary")
        assert "worst 1m15s · 25 rec lost · LOST" in summary
        assert "RPO if you fail over now: 270 records / 1m15s" in summary
        assert all(len(line) <= 80 for line in screen_lines(app))

        await pilot.press("enter")
        await until(pilot, lambda: data_table(app, "#lag-detail").row_count == 3, what="partitions")
        cells = {key: row_cells(app, key, "#lag-detail") for key in ("0", "1", "2")}
        assert cells["1"][-1] == "25" and cells["0"][-1] == "" and cells["2"][-1] == ""
        assert cells["2"][4].endswith(" tx") and not cells["1"][4].endswith(" tx")
        lost = data_table(app, "#lag-detail").get_cell("1", "lost")
        assert str(lost.style) == str(app.current_theme.secondary)


async def test_an_estimated_worst_is_marked_in_the_rpo() -> None:
    source = ScriptedLagSource(snapshot(estimated("orders", 40.0, HISTORY), heartbeat=1.0))
    app = fixed_app(sample_plan(), lag_source_factory=source, lag_interval=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: data_table(app, "#lag-table").row_count == 1, what="1 row")
        summary = shown_text(app, "#lag-summary")
        assert "RPO if you fail over now: 60 records / ~40s" in summary
        assert "worst ~40s" in summary


def test_lost_topic_snapshot_80x24(snap_compare: object) -> None:
    assert snap_compare(truth_app(), terminal_size=(80, 24), run_before=shown)  # type: ignore[operator]


def test_lost_partitions_snapshot_80x24(snap_compare: object) -> None:
    assert snap_compare(truth_app(), terminal_size=(80, 24), run_before=partitions_shown)  # type: ignore[operator]


def test_partition_defaults_read_as_exact() -> None:
    part = PartitionLag(0, 10, 10, 10, 0, 0.0)
    assert part.lag_seconds_source is RECORD and part.lost_records == 0 and not part.open_transaction
