"""Helpers of the game-day tests: an independent count of what a scenario's topics hold (the test's own
consumer, not the scenario's verifier), and the report's schema."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "gameday-report.schema.json"


@dataclass(frozen=True)
class Held:
    """What one topic holds, counted by the test."""

    records: int
    """Every record."""
    distinct: int
    """Distinct sequence numbers."""
    duplicated: int
    """Records beyond the first of their sequence number."""
    seqs: frozenset[int]


def read_topic(bootstrap: str, topic: str, timeout: float = 60.0) -> Held:
    """Read ``topic`` from its beginning to its end now, with a consumer of the test's own."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"gameday-test-{topic}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics[topic]
        ends = {}
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, -2) for p in ends])
        seqs: Counter[int] = Counter()
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            for msg in consumer.consume(500, 1.0):
                if msg.error():
                    continue
                seqs[int(json.loads(msg.value())["seq"])] += 1
                if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                    ends.pop(msg.partition(), None)
        assert not ends, f"{topic}: partitions {sorted(ends)} not read to their end within {timeout} s"
    finally:
        consumer.close()
    total = sum(seqs.values())
    return Held(total, len(seqs), total - len(seqs), frozenset(seqs))


def schema() -> dict[str, Any]:
    """docs/gameday-report.schema.json."""
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def check_counts(report: dict[str, Any], source: str, target: str) -> None:
    """Each topic's counts in ``report`` equal the test's own: acked = the source topic's records (the
    idempotent producer writes each once), delivered and duplicated = the target topic's, lost = acked
    numbers missing on the target."""
    assert report["topics"], "the report counts no topic"
    for row in report["topics"]:
        src = read_topic(source, row["topic"])
        tgt = read_topic(target, row["target_topic"])
        assert src.duplicated == 0, f"{row['topic']}: the idempotent producer wrote a record twice"
        assert row["acked"] == src.distinct, row
        assert row["delivered"] == tgt.distinct, row
        assert row["duplicated"] == tgt.duplicated, row
        assert row["lost"] == len(src.seqs - tgt.seqs), row
