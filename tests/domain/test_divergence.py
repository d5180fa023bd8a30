"""The divergence maths of a hot standby with dual ingest (pure: no Kafka)."""

from __future__ import annotations

import json

from kdrtui.domain.divergence import (
    DivergenceSnapshot,
    PartitionFacts,
    SideFacts,
    TopicDivergence,
    classify_gap,
    compare,
    side_facts,
    topic_divergence,
)
from kdrtui.domain.lag import Health

NOW = 1_764_093_600.0
NAMES = ("primary", "dr")


def side(*parts: tuple[int, int, float | None]) -> SideFacts:
    """A topic on one cluster from (start, end, newest epoch s or None) per partition."""
    return side_facts(
        PartitionFacts(i, start, end, None if newest is None else int(newest * 1000))
        for i, (start, end, newest) in enumerate(parts)
    )


def orders(primary: SideFacts | None, secondary: SideFacts | None) -> TopicDivergence:
    """The divergence of topic "orders" at NOW, warning from 30 s and critical from 120 s."""
    return topic_divergence("orders", primary, secondary, now=NOW, warn_s=30, crit_s=120, names=NAMES)


def test_side_facts_sum_records_ends_and_take_the_newest_timestamp() -> None:
    facts = side((10, 110, NOW - 5), (0, 50, NOW - 2), (7, 7, None))
    assert facts.records == 100 + 50 + 0
    assert facts.end == 110 + 50 + 7
    assert facts.newest == NOW - 2
    assert [p.partition for p in facts.partitions] == [0, 1, 2]


def test_side_facts_of_an_empty_topic_have_no_newest() -> None:
    facts = side_facts([PartitionFacts(0, 0, 0, -1), PartitionFacts(1, 3, 3, None)])
    assert facts.records == 0
    assert facts.newest is None


def test_same_writes_on_both_sides_are_ok_with_no_difference() -> None:
    t = orders(side((0, 100, NOW - 1)), side((0, 100, NOW - 1)))
    assert (t.records_delta, t.seconds_delta, t.gap_s, t.health, t.reason) == (0, 0.0, 0.0, Health.OK, None)


def test_records_and_seconds_deltas_are_primary_minus_secondary() -> None:
    t = orders(side((0, 350, NOW - 1)), side((0, 100, NOW - 41)))
    assert t.records_delta == 250
    assert t.seconds_delta == 40.0
    assert t.gap_s == 40.0
    assert t.health == Health.WARN
    behind = orders(side((0, 100, NOW - 200)), side((0, 400, NOW - 1)))
    assert behind.records_delta == -300
    assert behind.seconds_delta == -199.0
    assert behind.health == Health.CRIT, "the primary behind the secondary is as bad as the reverse"


def test_health_thresholds_are_inclusive() -> None:
    assert classify_gap(29.9, warn_s=30, crit_s=120) == Health.OK
    assert classify_gap(30, warn_s=30, crit_s=120) == Health.WARN
    assert classify_gap(120, warn_s=30, crit_s=120) == Health.CRIT


def test_a_topic_on_one_side_only_is_crit_with_a_reason() -> None:
    only_primary = orders(side((0, 10, NOW - 1)), None)
    assert only_primary.health == Health.CRIT
    assert only_primary.reason == "only on primary: the topic does not exist on dr"
    assert only_primary.records_delta == 10
    only_dr = orders(None, side((0, 0, None)))
    assert only_dr.health == Health.CRIT
    assert only_dr.reason == "only on dr: the topic does not exist on primary"
    assert only_dr.gap_s == 0.0


def test_an_empty_side_has_diverged_however_fresh_the_other_side_is() -> None:
    t = orders(side((0, 0, None)), side((0, 5, NOW - 1)))
    assert t.gap_s == 1.0, "at least the age of the other side's newest record"
    assert t.seconds_delta is None
    assert t.health == Health.CRIT
    assert t.reason == "no records on primary"


def test_both_empty_is_ok() -> None:
    t = orders(side((0, 0, None)), side((4, 4, None)))
    assert (t.gap_s, t.health, t.records_delta, t.reason) == (0.0, Health.OK, 0, None)


def test_partition_counts_that_differ_are_named() -> None:
    t = orders(side((0, 5, NOW - 1), (0, 5, NOW - 1)), side((0, 10, NOW - 1)))
    assert t.reason == "partitions differ: 2 on primary, 1 on dr"
    assert t.health == Health.OK


def test_compare_covers_both_sides_worst_first() -> None:
    topics = compare(
        {"a": side((0, 5, NOW - 1)), "b": side((0, 5, NOW - 1)), "c": side((0, 9, NOW))},
        {"a": side((0, 5, NOW - 1)), "c": side((0, 5, NOW - 50)), "d": side((0, 1, NOW - 1))},
        now=NOW,
        warn_s=30,
        crit_s=120,
        names=NAMES,
    )
    assert [(t.topic, t.health) for t in topics] == [
        ("b", Health.CRIT),
        ("d", Health.CRIT),
        ("c", Health.WARN),
        ("a", Health.OK),
    ]


def snapshot(**kw: object) -> DivergenceSnapshot:
    topics = compare(
        {"orders": side((0, 350, NOW - 1), (0, 0, None))},
        {"orders": side((0, 100, NOW - 3), (0, 0, None))},
        now=NOW,
        warn_s=30,
        crit_s=120,
        names=NAMES,
    )
    return DivergenceSnapshot(taken_at=NOW, primary="primary", secondary="dr", topics=topics, **kw)  # type: ignore[arg-type]


def test_snapshot_health_is_the_worst_topic_and_crit_while_a_cluster_is_unreachable() -> None:
    assert snapshot().health == Health.OK
    stale = snapshot(stale_s=12.0, error="dr: unreachable", unreachable={"dr": NOW - 12})
    assert stale.health == Health.CRIT
    assert DivergenceSnapshot(taken_at=NOW, primary="primary", secondary="dr", topics=()).health == Health.OK


def test_to_dict_is_the_documented_json() -> None:
    data = snapshot().to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "taken_at": NOW,
        "topology": "hot-standby",
        "primary": "primary",
        "secondary": "dr",
        "health": "OK",
        "records_delta": 250,
        "gap_s": 2.0,
        "stale_s": None,
        "error": None,
        "unreachable": {},
        "topics": [
            {
                "topic": "orders",
                "health": "OK",
                "records_delta": 250,
                "seconds_delta": 2.0,
                "gap_s": 2.0,
                "reason": None,
                "primary": {
                    "records": 350,
                    "end_offsets": 350,
                    "newest": NOW - 1,
                    "partitions": [
                        {"partition": 0, "start": 0, "end": 350, "newest": NOW - 1},
                        {"partition": 1, "start": 0, "end": 0, "newest": None},
                    ],
                },
                "secondary": {
                    "records": 100,
                    "end_offsets": 100,
                    "newest": NOW - 3,
                    "partitions": [
                        {"partition": 0, "start": 0, "end": 100, "newest": NOW - 3},
                        {"partition": 1, "start": 0, "end": 0, "newest": None},
                    ],
                },
            }
        ],
    }
    stale = snapshot(stale_s=12.04, error="dr: unreachable", unreachable={"dr": NOW - 12}).to_dict()
    assert (stale["stale_s"], stale["error"], stale["unreachable"], stale["health"]) == (
        12.0,
        "dr: unreachable",
        {"dr": NOW - 12},
        "CRIT",
    )


def test_mirrormaker_and_kafka_topics_are_not_the_applications() -> None:
    from kdrtui.services.kafka.divergence_engine import application_topic

    assert application_topic("orders") and application_topic("payments.eu")
    for name in (
        "__consumer_offsets",
        "heartbeats",
        "dr.heartbeats",
        "mm2-offsets.dr.internal",
        "x.internal",
    ):
        assert not application_topic(name), name
