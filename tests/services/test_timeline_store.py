"""The timeline store on a real SQLite file: WAL, events newest first with filters, per-minute lag folded
by UPSERT, each change shown once when several processes recorded it, retention, and two real processes
writing at once losing nothing."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kdrtui.domain.timeline import Event, EventKind, dedupe, minute_of, parse_when, per_minute, sparkline
from kdrtui.services.timeline.store import (
    FILE_NAME,
    RETENTION_ENV,
    TimelineStore,
    TimelineUnavailable,
    configured_retention_days,
)
from tests.conftest import wait_until

T0 = 1_790_000_040.0
"""A fixed time (a multiple of 60: the start of a UTC minute)."""


def _event(
    at: float,
    subject: str = "primary->dr",
    text: str = "primary->dr: OK -> CRIT (1 records, 2.0 s)",
    kind: EventKind = EventKind.HEALTH,
    source: str = "console",
    flow: str | None = "primary->dr",
) -> Event:
    return Event(at=at, kind=kind, subject=subject, text=text, severity="crit", flow=flow, source=source)


def test_opens_in_wal_mode_private_with_indexes(tmp_path: Path) -> None:
    store = TimelineStore(tmp_path / "t" / FILE_NAME)
    store.close()
    path = tmp_path / "t" / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"events_at", "events_flow_at", "lag_minutes_minute"} <= indexes


def test_events_newest_first_with_filters(tmp_path: Path) -> None:
    store = TimelineStore(tmp_path / FILE_NAME, clock=lambda: T0 + 1000)
    store.record(
        [
            _event(T0 + 10, text="primary->dr: OK -> WARN (5 records, 1.0 s)"),
            _event(T0 + 20, subject="dr", text="dr: UP -> UNREACHABLE", kind=EventKind.CLUSTER, flow=None),
            _event(T0 + 30, subject="dr->primary", text="dr->primary: OK -> CRIT", flow="dr->primary"),
        ]
    )
    assert [e.at for e in store.events()] == [T0 + 30, T0 + 20, T0 + 10]
    assert [e.subject for e in store.events(flow="primary->dr")] == ["primary->dr"]
    assert [e.kind for e in store.events(kinds={EventKind.CLUSTER})] == [EventKind.CLUSTER]
    assert store.events(kinds=set()) == []
    assert [e.at for e in store.events(since=T0 + 15, until=T0 + 25)] == [T0 + 20]
    assert len(store.events(limit=2)) == 2
    back = store.events(since=T0 + 25)[0]
    assert back == _event(T0 + 30, subject="dr->primary", text="dr->primary: OK -> CRIT", flow="dr->primary")
    assert store.flows() == ["dr->primary", "primary->dr"]


def test_lag_minutes_fold_worst_last_and_worst_health(tmp_path: Path) -> None:
    store = TimelineStore(tmp_path / FILE_NAME, clock=lambda: T0 + 1000)
    store.record_lag(T0 + 5, "primary->dr", 100, 3.0, "OK")
    store.record_lag(T0 + 20, "primary->dr", 900, 40.0, "CRIT")
    store.record_lag(T0 + 50, "primary->dr", 10, 1.0, "WARN")
    store.record_lag(T0 + 40, "primary->dr", 500, 9.0, "OK")  # a slower process's older sample
    store.record_lag(T0 + 65, "primary->dr", 0, 0.0, "OK")  # the next minute
    store.record_lag(T0 + 5, "dr->primary", 7, 0.5, "OK")
    rows = store.lag_minutes("primary->dr", since=T0)
    assert [(r.minute, r.samples) for r in rows] == [(T0, 4), (T0 + 60, 1)]
    first = rows[0]
    assert (first.max_records, first.max_seconds) == (900, 40.0)
    assert (first.last_records, first.last_seconds) == (10, 1.0)
    assert first.health == "CRIT"
    assert store.lag_minutes("primary->dr", since=T0 + 61) == rows[1:]
    assert store.lag_minutes("primary->dr", since=T0, until=T0 + 30) == rows[:1]
    assert store.flows() == ["dr->primary", "primary->dr"]


def test_the_same_change_from_two_processes_is_shown_once(tmp_path: Path) -> None:
    store = TimelineStore(tmp_path / FILE_NAME, clock=lambda: T0 + 1000)
    store.record(
        [
            _event(T0, text="primary->dr: OK -> CRIT (1200 records, 130.0 s)", source="console"),
            _event(T0 + 8, text="primary->dr: OK -> CRIT (1350 records, 138.0 s)", source="exporter"),
            _event(T0 + 12, text="primary->dr: OK -> CRIT (1400 records, 139.0 s)", source="status"),
            _event(T0 + 300, text="primary->dr: CRIT -> OK (0 records, 0.0 s)", source="exporter"),
            _event(T0 + 301, text="primary->dr: CRIT -> OK (0 records, 0.0 s)", source="console"),
            # really happened again: between the two lies the recovery
            _event(T0 + 330, text="primary->dr: OK -> CRIT (99 records, 70.0 s)", source="console"),
            # another subject's same-looking change is its own
            _event(
                T0 + 2, subject="primary->dr/orders", text="primary->dr/orders: OK -> CRIT (1 records, 1.0 s)"
            ),
        ]
    )
    shown = store.events()
    assert [(e.at, e.source) for e in shown] == [
        (T0 + 330, "console"),
        (T0 + 300, "exporter"),
        (T0 + 2, "console"),
        (T0, "console"),
    ]
    assert len(store.events(raw=True)) == 7


def test_dedupe_keeps_a_change_seen_again_after_the_window() -> None:
    events = [_event(T0), _event(T0 + 61)]
    assert dedupe(list(reversed(events))) == list(reversed(events))
    assert dedupe([_event(T0 + 59), _event(T0)]) == [_event(T0)]


def test_prune_drops_rows_past_retention(tmp_path: Path) -> None:
    now = [T0]
    store = TimelineStore(tmp_path / FILE_NAME, retention_days=1.0, clock=lambda: now[0])
    store.record([_event(T0 - 10), _event(T0 + 3600)])
    store.record_lag(T0 - 10, "primary->dr", 1, 1.0, "OK")
    store.record_lag(T0 + 3600, "primary->dr", 2, 2.0, "OK")
    now[0] = T0 + 86400 + 60
    assert store.prune() == 2  # the old event and the old minute
    assert [e.at for e in store.events()] == [T0 + 3600]
    assert [r.last_records for r in store.lag_minutes("primary->dr", since=0)] == [2]
    assert store.prune() == 0


def test_opening_prunes_and_retention_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TimelineStore(tmp_path / FILE_NAME, clock=lambda: T0)
    store.record([_event(T0 - 3 * 86400), _event(T0 - 60)])
    store.close()
    reopened = TimelineStore(tmp_path / FILE_NAME, retention_days=2.0, clock=lambda: T0)
    assert [e.at for e in reopened.events()] == [T0 - 60]
    monkeypatch.delenv(RETENTION_ENV, raising=False)
    assert configured_retention_days() == 14.0
    monkeypatch.setenv(RETENTION_ENV, "30")
    assert configured_retention_days() == 30.0
    for bad in ("soon", "0", "-1", "nan"):
        monkeypatch.setenv(RETENTION_ENV, bad)
        with pytest.raises(ValueError, match=RETENTION_ENV):
            configured_retention_days()
    with pytest.raises(TimelineUnavailable, match=RETENTION_ENV):
        TimelineStore.for_plan("p", None, root=tmp_path)


def test_for_plan_lives_beside_the_runbook_journals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kdrtui.services.runbook.store import RunbookStore

    monkeypatch.delenv(RETENTION_ENV, raising=False)
    plan = tmp_path / "plan.toml"
    store = TimelineStore.for_plan("demo", plan, root=tmp_path)
    assert store.path == RunbookStore("demo", plan, tmp_path).dir / FILE_NAME
    assert store.retention_days == 14.0
    assert store.path.exists()


def test_a_store_that_cannot_open_says_where_and_why(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(TimelineUnavailable) as caught:
        TimelineStore(blocker / FILE_NAME)
    assert caught.value.path == blocker / FILE_NAME and caught.value.why
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(TimelineUnavailable, match=r"garbage\.sqlite"):
        TimelineStore(garbage)


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kdrtui.domain.timeline import Event, EventKind
    from kdrtui.services.timeline.store import TimelineStore

    path, name, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    minute = float(sys.argv[5])
    store = TimelineStore(path)
    (go.parent / f"ready-{name}").touch()
    while not go.exists():
        time.sleep(0.001)
    for n in range(count):
        store.record([Event(at=time.time(), kind=EventKind.HEALTH, subject=f"{name}-{n}", text=f"{name} {n}",
                            source=name)])
        store.record_lag(minute + n % 3, "primary->dr", n, n / 10, "OK")
    store.close()
    """
)


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    TimelineStore(path).close()
    go = tmp_path / "go"
    count = 400
    minute = minute_of(time.time())
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, str(count), str(go), str(minute)])
        for name in ("console", "exporter")
    ]
    wait_until(lambda: all((tmp_path / f"ready-{n}").exists() for n in ("console", "exporter")), 60)
    go.touch()
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    store = TimelineStore(path)
    events = store.events(raw=True)
    assert len(events) == 2 * count
    assert {e.subject for e in events} == {
        f"{name}-{n}" for name in ("console", "exporter") for n in range(count)
    }
    rows = store.lag_minutes("primary->dr", since=0)
    assert [r.samples for r in rows] == [2 * count]
    assert rows[0].max_records == count - 1
    # the two writers really overlapped: each one's first write came before the other's last
    console = [e.at for e in events if e.source == "console"]
    exporter = [e.at for e in events if e.source == "exporter"]
    assert min(console) < max(exporter) and min(exporter) < max(console)


def test_parse_when_durations_and_iso_times() -> None:
    assert parse_when("90s", T0) == T0 - 90
    assert parse_when("30m", T0) == T0 - 1800
    assert parse_when("2h", T0) == T0 - 7200
    assert parse_when("3d", T0) == T0 - 3 * 86400
    assert parse_when("2026-12-03T22:00Z", T0) == parse_when("2026-12-03T23:00+01:00", T0)
    assert parse_when("2026-12-03 22:00", T0) == parse_when("2026-12-03T22:00:00Z", T0)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_when("yesterday", T0)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_when("5 parsecs", T0)


def test_sparkline_and_minutes() -> None:
    assert sparkline([0, 4, 8, None, 1]) == " ▄█·▁"
    assert sparkline([0.0, 0.0]) == "  "
    rows = per_minute([], T0, T0 + 120)
    assert rows == [None, None, None]
