"""The Timeline pane's block chart: buckets, gaps against zeros, axis labels, and rows repainted."""

from __future__ import annotations

from kdrtui.domain.timeline import LagMinute
from kdrtui.tui.widgets.lag_chart import GAP, axis_value, buckets, chart_lines, window_end

T0 = 1_764_093_600.0  # 2025-11-25 18:00:00 UTC


def minute(at: float, records: int, seconds: float = 0.0, health: str = "OK") -> LagMinute:
    return LagMinute(at, "p->d", records, seconds, records, seconds, 1, health)


def test_window_ends_after_the_current_minute_on_a_multiple_of_the_step() -> None:
    assert window_end(T0 + 42, 60.0) == T0 + 60
    # Day columns are 24 minutes wide, aligned to multiples of 24 minutes: 18:00:42 lies in the column
    # 18:00-18:24, which ends the chart.
    assert window_end(T0 + 42, 1440.0) == T0 + 1440
    assert window_end(T0 + 1439, 1440.0) == T0 + 1440


def test_buckets_keep_gaps_apart_from_zeros_and_take_the_worst_minute() -> None:
    end = T0 + 60
    rows = [minute(T0 - 120, 0), minute(T0, 30, 2.0, "WARN")]
    columns = buckets(rows, end, 60.0, "records", count=4)
    assert [b.value for b in columns] == [None, 0.0, None, 30.0]
    assert [b.health for b in columns] == [None, "OK", None, "WARN"]
    day = buckets([minute(T0 - 600, 5, health="CRIT"), minute(T0 - 60, 9)], end, 1440.0, "records", count=1)
    assert day[0].value == 9 and day[0].health == "CRIT" and day[0].peak_at == T0 - 60
    assert buckets(rows, end, 60.0, "seconds", count=1)[0].value == 2.0


def test_axis_values_fit_six_cells() -> None:
    assert [axis_value(v, "records") for v in (0, 987, 9_400, 1_250_000)] == ["0", "987", "9.4k", "1.2M"]
    assert [axis_value(v, "seconds") for v in (0, 4.5, 42, 150, 7_200, 86_400)] == [
        "0s",
        "4.5s",
        "42s",
        "2.5m",
        "2.0h",
        "24h",
    ]
    assert [axis_value(v, "seconds") for v in (864_000, 10_000_000)] == ["10d", "116d"]
    assert all(len(axis_value(v, "records")) <= 6 for v in (0.1, 59.9, 3599, 1e12))
    assert all(len(axis_value(v, "seconds")) <= 6 for v in (0.1, 59.9, 3599, 1e8))


def test_zero_lag_is_a_blank_column_and_a_gap_a_dot() -> None:
    columns = buckets([minute(T0 - 60, 0), minute(T0, 8)], T0 + 60, 60.0, "records", count=3)
    lines = [
        t.plain for t in chart_lines("p->d", columns, unit="records", window="hour", height=2, colour=str)
    ]
    assert lines[0] == "p->d · lag in records · last hour · peak 8 at 18:00 UTC"
    assert lines[1] == "     8┤  █"
    assert lines[2] == "     0┤" + GAP + " █"
    assert lines[3] == "      └now"  # no room for the start time beside it


def test_a_window_caught_up_throughout_labels_zero_once() -> None:
    columns = buckets([minute(T0 - 60, 0), minute(T0, 0)], T0 + 60, 60.0, "records", count=3)
    lines = [
        t.plain for t in chart_lines("p->d", columns, unit="records", window="hour", height=3, colour=str)
    ]
    assert [line[:7] for line in lines[1:4]] == ["      │", "      │", "     0┤"]
