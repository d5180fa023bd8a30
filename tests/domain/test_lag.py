"""The lag maths: histories, lag in seconds, health, worst-first ordering and the JSON schema (pure)."""

from __future__ import annotations

import pytest

from kdrtui.domain.lag import (
    SEVERITY,
    FlowLag,
    FlowSchedule,
    GroupLag,
    Health,
    LagSecondsSource,
    LagSnapshot,
    OffsetHistory,
    PartitionLag,
    SourceRead,
    TopicLag,
    classify,
    lag_seconds,
    partition_lag,
    worst,
    worst_seconds,
)


def history(*points: tuple[float, int]) -> OffsetHistory:
    h = OffsetHistory()
    for when, end in points:
        h.add(when, end)
    return h


def test_time_at_interpolates_between_points() -> None:
    h = history((100.0, 0), (110.0, 100), (120.0, 300))
    assert h.time_at(0) == 100.0
    assert h.time_at(50) == pytest.approx(105.0)
    assert h.time_at(100) == pytest.approx(110.0)
    assert h.time_at(200) == pytest.approx(115.0)
    assert h.time_at(301) is None, "not reached yet"


def test_time_at_before_the_history_is_unknown() -> None:
    assert history((100.0, 50), (110.0, 60)).time_at(10) is None


def test_add_keeps_the_first_time_an_end_was_seen() -> None:
    h = history((100.0, 5), (101.0, 5), (102.0, 5))
    assert list(h.points) == [(100.0, 5)]


def test_rate_over_the_window() -> None:
    h = history((0.0, 0), (100.0, 1000), (110.0, 1500), (120.0, 2500))
    assert h.rate(120.0, window=30.0) == pytest.approx(75.0)
    assert history((0.0, 0)).rate(0.0) == 0.0
    assert h.rate(1000.0) == 0.0, "nothing recent"


def test_lag_seconds() -> None:
    h = history((100.0, 0), (110.0, 100), (120.0, 200))
    assert lag_seconds(h, 200, 200, now=130.0) == 0.0, "caught up"
    # replicated 99: the source reached offset 100 at 110 s
    assert lag_seconds(h, 99, 200, now=130.0) == pytest.approx(20.0)
    # older than the history: the oldest point's age is a lower bound
    assert lag_seconds(history((100.0, 50)), 0, 50, now=130.0) == pytest.approx(30.0)


def test_classify() -> None:
    def c(lag: float, age: float | None = 1.0, stalled: bool = False) -> Health:
        return classify(
            lag, warn_s=30, crit_s=120, heartbeat_age_s=age, heartbeat_timeout_s=15, stalled=stalled
        )

    assert c(0) == Health.OK
    assert c(29.9) == Health.OK
    assert c(30) == Health.WARN
    assert c(120) == Health.CRIT
    assert c(0, stalled=True) == Health.STALLED
    assert c(500, age=None) == Health.STOPPED
    assert c(0, age=16) == Health.STOPPED


def test_classify_a_scheduled_flow_between_runs() -> None:
    def c(lag: float, age: float | None = None, stalled: bool = False, idle: bool = True) -> Health:
        return classify(
            lag,
            warn_s=75 * 60,
            crit_s=150 * 60,
            heartbeat_age_s=age,
            heartbeat_timeout_s=15,
            stalled=stalled,
            idle=idle,
        )

    assert c(0) == Health.IDLE, "no heartbeat between runs is not an outage"
    assert c(40 * 60, age=900) == Health.IDLE
    assert c(75 * 60) == Health.WARN, "a batch did not catch up"
    assert c(150 * 60) == Health.CRIT, "batches stopped running"
    assert c(0, stalled=True) == Health.IDLE, "nothing to replicate between runs: not stalled"
    assert c(0, age=1.0) == Health.OK, "a batch runs"
    assert c(0, age=1.0, stalled=True) == Health.STALLED
    assert c(0, idle=False) == Health.STOPPED, "no heartbeat inside a run window"


def test_idle_counts_as_ok_but_says_more() -> None:
    assert worst([Health.OK, Health.IDLE]) == Health.IDLE
    assert worst([Health.IDLE, Health.OK]) == Health.IDLE
    assert worst([Health.IDLE, Health.WARN]) == Health.WARN
    assert SEVERITY[Health.IDLE] == SEVERITY[Health.OK]


def test_worst_and_severity() -> None:
    assert worst([]) == Health.OK
    assert worst([Health.WARN, Health.STOPPED, Health.CRIT]) == Health.STOPPED
    assert sorted(Health, key=SEVERITY.__getitem__) == [
        Health.OK,
        Health.IDLE,
        Health.WARN,
        Health.CRIT,
        Health.STALLED,
        Health.STOPPED,
        Health.LOST,
    ]
    assert worst([Health.STOPPED, Health.LOST, Health.CRIT]) == Health.LOST, "lost data outranks all"


def test_to_dict_schema() -> None:
    partition = PartitionLag(0, source_end=10, target_end=4, replicated=4, lag_records=6, lag_seconds=2.25)
    topic = TopicLag(
        topic="orders",
        target_topic="primary.orders",
        partitions=(partition,),
        lag_records=6,
        lag_seconds=2.25,
        worst_partition=0,
        rate_in=1.0,
        rate_out=0.5,
        health=Health.OK,
    )
    group = GroupLag(
        "billing", "orders", committed=8, checkpointed=3, checkpoint_age_s=4.0, redeliver=5, skip=0
    )
    flow = FlowLag(
        "primary", "dr", "mm2", heartbeat_age_s=0.5, health=Health.OK, topics=(topic,), groups=(group,)
    )
    snapshot = LagSnapshot(taken_at=1000.0, flows=(flow,), active="primary", unreachable={"dr": 990.0})
    data = snapshot.to_dict()
    assert set(data) >= {"taken_at", "active", "health", "unreachable", "flows"}
    assert data["unreachable"] == {"dr": 990.0}
    (f,) = data["flows"]
    assert f["source"] == "primary" and f["target"] == "dr" and f["heartbeat_age_s"] == 0.5
    assert f["lag_records"] == 6 and f["stale_s"] is None and f["error"] is None
    (t,) = f["topics"]
    assert {"topic", "lag_records", "lag_seconds", "health", "partitions"} <= set(t)
    assert t["health"] == "OK" and t["lag_seconds"] == 2.2
    assert t["partitions"][0] == {
        "partition": 0,
        "source_end": 10,
        "target_end": 4,
        "replicated": 4,
        "lag_records": 6,
        "lag_seconds": 2.2,
        "lag_seconds_source": "record",
        "lost_records": 0,
        "open_transaction": False,
        "log_start": None,
        "stable_end": None,
    }
    assert t["lag_seconds_source"] == "record" and t["lost_records"] == 0 and t["open_transactions"] == 0
    assert f["lag_seconds_source"] == "record" and f["lost_records"] == 0
    assert f["groups"][0]["redeliver"] == 5 and f["groups"][0]["checkpointed"] == 3
    assert f["schedule"] is None, "a flow that always runs"


def test_to_dict_of_a_scheduled_flow() -> None:
    schedule = FlowSchedule("every 60 min for 15 min", next_run=1800.0, last_run=1000.4567, running=False)
    flow = FlowLag(
        "primary", "dr", "mm2", heartbeat_age_s=700.0, health=Health.IDLE, topics=(), schedule=schedule
    )
    data = LagSnapshot(taken_at=1700.0, flows=(flow,)).to_dict()
    assert data["health"] == "IDLE"
    assert data["flows"][0]["schedule"] == {"next_run": 1800.0, "last_run": 1000.457, "running": False}


def lag_of(
    read: SourceRead | None,
    *,
    source_end: int = 100,
    replicated: int = 40,
    now: float = 1000.0,
    points: tuple[tuple[float, int], ...] = (),
) -> PartitionLag:
    return partition_lag(
        0,
        source_end=source_end,
        target_end=replicated,
        replicated=replicated,
        read=read,
        history=history(*points),
        now=now,
    )


def test_lag_seconds_come_from_the_first_unmirrored_record() -> None:
    lag = lag_of(SourceRead(log_start=0, stable_end=100, first_offset=40, first_timestamp=940.0))
    assert (lag.lag_records, lag.lag_seconds, lag.lag_seconds_source) == (60, 60.0, LagSecondsSource.RECORD)
    assert lag.lost_records == 0 and not lag.open_transaction
    future = lag_of(SourceRead(log_start=0, stable_end=100, first_offset=40, first_timestamp=1003.0))
    assert future.lag_seconds == 0.0, "a producer clock ahead of ours is no negative lag"


def test_caught_up_is_exact_without_reading_the_source() -> None:
    lag = lag_of(None, replicated=100)
    assert (lag.lag_records, lag.lag_seconds, lag.lag_seconds_source) == (0, 0.0, LagSecondsSource.RECORD)


def test_markers_and_aborted_records_are_no_lag() -> None:
    # A fully mirrored transactional partition: its commit marker is the only offset left.
    drained = lag_of(SourceRead(log_start=0, stable_end=41, read_to=41), source_end=41)
    assert (drained.lag_records, drained.lag_seconds, drained.lag_seconds_source) == (
        0,
        0.0,
        LagSecondsSource.RECORD,
    )
    # Aborted records and markers before the first committed record not mirrored are skipped.
    skipped = lag_of(SourceRead(log_start=0, stable_end=100, first_offset=55, first_timestamp=990.0))
    assert skipped.lag_records == 45 and skipped.lag_seconds == 10.0


def test_an_open_transaction_is_not_lag_until_it_commits() -> None:
    lag = lag_of(SourceRead(log_start=0, stable_end=40), source_end=100)
    assert lag.lag_records == 0 and lag.open_transaction and lag.stable_end == 40
    partly = lag_of(SourceRead(log_start=0, stable_end=70, first_offset=40, first_timestamp=995.0))
    assert partly.lag_records == 30 and partly.open_transaction, "lag ends at the last stable offset"


def test_records_deleted_before_they_were_mirrored_are_lost_not_lag() -> None:
    lag = lag_of(SourceRead(log_start=65, stable_end=100, first_offset=65, first_timestamp=900.0))
    assert lag.lost_records == 25 and lag.lag_records == 35 and lag.log_start == 65
    everything = lag_of(SourceRead(log_start=100, stable_end=100))
    assert everything.lost_records == 60 and everything.lag_records == 0
    assert classify(
        0, warn_s=30, crit_s=120, heartbeat_age_s=None, heartbeat_timeout_s=15, stalled=False, lost=True
    ) == (Health.LOST)


def test_without_the_records_the_history_estimates_or_bounds() -> None:
    points = ((900.0, 30), (950.0, 60), (990.0, 100))
    estimated = lag_of(None, points=points)
    # The source reached offset 41 (replicated 40 + 1) between 900 s (30) and 950 s (60).
    assert estimated.lag_seconds_source == LagSecondsSource.HISTORY
    assert estimated.lag_seconds == pytest.approx(1000.0 - (900.0 + 50.0 * 11 / 30))
    assert estimated.lag_records == 60
    bounded = lag_of(None, points=((990.0, 100),))
    assert bounded.lag_seconds_source == LagSecondsSource.UNKNOWN and bounded.lag_seconds == 10.0
    # A fetch that ran out of time at the end of committed data that moved on: from where it got to.
    partial = lag_of(SourceRead(log_start=0, stable_end=100, read_to=60), points=points)
    assert partial.lag_records == 40 and partial.lag_seconds_source == LagSecondsSource.HISTORY


def test_the_worst_seconds_and_the_least_certain_among_equals() -> None:
    record, history_, unknown = LagSecondsSource.RECORD, LagSecondsSource.HISTORY, LagSecondsSource.UNKNOWN
    assert worst_seconds([]) == (0.0, record)
    assert worst_seconds([(5.0, record), (9.0, history_), (2.0, unknown)]) == (9.0, history_)
    assert worst_seconds([(0.0, record), (0.0, unknown)]) == (0.0, unknown)
