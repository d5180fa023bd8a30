"""Numbers an on-call engineer can trust, against the real lab: real brokers, real (transactional)
producers, real MirrorMaker 2.

- lag in seconds is read from the source's records, so ONE ``kdrtui status`` knows how old the oldest
  unmirrored record is, and the health and exit code follow the plan's objectives;
- transaction markers, aborted records and an open transaction's records are no lag;
- records deleted on the source before they were mirrored are counted as lost, and the health is LOST.

Each test has its own topic and its own plan narrowed to it (own MirrorMaker work dir), and stops the
MirrorMaker it started.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from kdrtui.domain.lag import Health, LagSecondsSource, LagSnapshot, PartitionLag, TopicLag
from kdrtui.domain.plan import Objectives
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.plan_files import load_plan
from tests.kafka_helpers import consume_partitions, create_topic, produce_numbered
from tests.lab_helpers import cli, lab_plan_variant

pytestmark = pytest.mark.lab

Wait = Callable[..., float]


def narrowed(lab: Lab, tmp_path: Path, file: str, topic: str, *, warn: int = 30, crit: int = 120) -> Path:
    """The lab plan mirroring only ``topic`` (and groups named after it), with its own MirrorMaker work
    dir and lag thresholds ``warn`` / ``crit`` seconds."""
    pattern = re.escape(topic)
    flow = {"topics": [pattern], "groups": [pattern + ".*"]}
    objectives = Objectives(lag_warn_seconds=warn, lag_crit_seconds=crit)
    return lab_plan_variant(lab, tmp_path, file, flow=flow, objectives=objectives)


@pytest.fixture
def mirrormaker(lab: Lab) -> Iterator[Callable[[Path], None]]:
    """Starts MirrorMaker for a plan; every plan started is stopped after the test."""
    started: list[Path] = []

    def start(plan: Path) -> None:
        started.append(plan)
        result = cli("mm", "start", "--plan", str(plan))
        assert result.exit_code == 0, result.output

    yield start
    for plan in started:
        cli("mm", "stop", "--plan", str(plan))


def status(plan: Path) -> tuple[int, dict[str, Any]]:
    """One `kdrtui status --json` (exit code, JSON)."""
    result = cli("status", "--plan", str(plan), "--json", "--interval", "0.1")
    return result.exit_code, json.loads(result.output)


def topic_json(data: dict[str, Any], topic: str) -> dict[str, Any]:
    (flow,) = data["flows"]
    (found,) = [t for t in flow["topics"] if t["topic"] == topic]
    return found


def topic_of(snapshot: LagSnapshot, topic: str) -> TopicLag:
    (flow,) = snapshot.flows
    (found,) = [t for t in flow.topics if t.topic == topic]
    return found


def transactional_producer(bootstrap: str, transactional_id: str) -> Producer:
    producer = Producer(
        client_config(bootstrap, **{"transactional.id": transactional_id, "partitioner": "murmur2_random"})
    )
    producer.init_transactions(30)
    return producer


def produce_transaction(
    producer: Producer, topic: str, count: int, *, first: int, commit: bool = True
) -> None:
    """One transaction of ``count`` keyed records over every partition, committed or aborted."""
    failures: list[KafkaError] = []

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failures.append(err)

    producer.begin_transaction()
    for n in range(first, first + count):
        producer.produce(topic, key=f"key-{n % 37}", value=f"{n}", on_delivery=delivered)
    if commit:
        producer.commit_transaction(30)
    else:
        producer.flush(30)  # the records are on the brokers before the abort
        producer.abort_transaction(30)
    assert not failures, failures


# --- 1. lag in seconds from the records, in every mode ---------------------------------------------------


def test_one_status_reads_the_age_of_the_oldest_unmirrored_record(
    lab: Lab, tmp_path: Path, unique_name: str, wait_until: Wait, mirrormaker: Callable[[Path], None]
) -> None:
    began = time.monotonic()
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=3)
    produce_numbered(primary, unique_name, 300)
    produced = time.time()
    crit = narrowed(lab, tmp_path, "crit.toml", unique_name, warn=10, crit=25)
    warn = narrowed(lab, tmp_path, "warn.toml", unique_name, warn=10, crit=3600)
    fine = narrowed(lab, tmp_path, "fine.toml", unique_name, warn=3600, crit=7200)

    # MirrorMaker is stopped: the records wait. 30 s later ONE status knows how old they are.
    wait_until(lambda: time.time() - produced >= 30, timeout=40, interval=0.5, message="30 s after producing")
    code, data = status(crit)
    (flow,) = data["flows"]
    topic = topic_json(data, unique_name)
    assert topic["lag_records"] == 300
    assert topic["lag_seconds"] >= 30 and topic["lag_seconds_source"] == "record", topic
    assert flow["lag_seconds"] >= 30 and flow["lag_seconds_source"] == "record"
    assert all(p["lag_seconds"] >= 30 and p["lag_seconds_source"] == "record" for p in topic["partitions"])
    assert flow["health"] == "STOPPED" and code == 2, "no MirrorMaker, no heartbeats: STOPPED outranks CRIT"

    # The same figure from the first refresh of a new engine (the pane, the failover forecast).
    engine = LagEngine(load_plan(crit))
    try:
        first = topic_of(engine.refresh(), unique_name)
    finally:
        engine.close()
    assert first.lag_seconds >= 30 and first.lag_seconds_source is LagSecondsSource.RECORD

    # MirrorMaker runs (fresh heartbeats) but does not mirror this topic: the objectives decide.
    mirrormaker(narrowed(lab, tmp_path, "beat.toml", f"{unique_name}-beat"))

    def beating() -> bool:
        _, seen = status(fine)
        age = seen["flows"][0]["heartbeat_age_s"]
        return age is not None and age < 5

    wait_until(beating, timeout=60, interval=1.0, message="MirrorMaker's heartbeats")
    for plan, health, exit_code in ((crit, "CRIT", 2), (warn, "WARN", 1), (fine, "OK", 0)):
        code, data = status(plan)
        topic = topic_json(data, unique_name)
        assert topic["lag_seconds"] >= 30 and topic["lag_seconds_source"] == "record"
        assert (topic["health"], data["flows"][0]["health"], data["health"], code) == (
            health,
            health,
            health,
            exit_code,
        ), plan.name
    human = cli("status", "--plan", str(warn), "--interval", "0.1")
    assert human.exit_code == 1 and unique_name in human.output and "WARN" in human.output
    print(f"\nlag seconds from the records: {time.monotonic() - began:.0f} s")


# --- 2. transactions are not lag -------------------------------------------------------------------------


def test_a_mirrored_transactional_topic_has_no_lag(
    lab: Lab, tmp_path: Path, unique_name: str, wait_until: Wait, mirrormaker: Callable[[Path], None]
) -> None:
    began = time.monotonic()
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=3)
    plan = narrowed(lab, tmp_path, "tx.toml", unique_name, warn=5, crit=60)
    producer = transactional_producer(primary, f"{unique_name}-tx")
    for i in range(10):
        produce_transaction(producer, unique_name, 30, first=i * 30)
    produce_transaction(producer, unique_name, 12, first=300, commit=False)  # aborted: never data
    mirrormaker(plan)
    consume_partitions(lab.bootstrap(DR), f"{PRIMARY}.{unique_name}", 3, 300, timeout=90)

    engine = LagEngine(load_plan(plan))
    try:
        seen: list[TopicLag] = []

        def caught_up() -> bool:
            seen.append(topic_of(engine.refresh(), unique_name))
            return seen[-1].lag_records == 0 and seen[-1].health is Health.OK

        try:
            wait_until(caught_up, timeout=60, interval=0.5, message="lag 0 and OK")
        except AssertionError:
            print(seen[-1])
            raise
    finally:
        engine.close()
    code, data = status(plan)
    topic = topic_json(data, unique_name)
    assert code == 0 and data["health"] == "OK" and topic["health"] == "OK"
    assert (
        topic["lag_records"] == 0 and topic["lag_seconds"] == 0.0 and topic["lag_seconds_source"] == "record"
    )
    partitions = topic["partitions"]
    assert all(p["lag_records"] == 0 and not p["open_transaction"] for p in partitions)
    # The markers (and the aborted records) are still there, past what MirrorMaker copied.
    assert all(p["source_end"] > p["replicated"] for p in partitions), partitions
    print(f"\ntransactional topic mirrored, lag 0: {time.monotonic() - began:.0f} s")


def test_open_and_aborted_transactions_are_not_lag(
    lab: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=1)
    plan = narrowed(lab, tmp_path, "tx.toml", unique_name)  # MirrorMaker never runs: replicated 0
    producer = transactional_producer(primary, f"{unique_name}-tx")
    engine = LagEngine(load_plan(plan))
    seen: list[PartitionLag] = []

    def partition_reaches(end: int) -> Callable[[], bool]:
        """The partition's high watermark reached ``end`` (the coordinator writes markers after EndTxn
        returned)."""

        def check() -> bool:
            (part,) = topic_of(engine.refresh(), unique_name).partitions
            seen.append(part)
            return part.source_end >= end

        return check

    try:
        # An open transaction: its records are on the broker but not committed.
        producer.begin_transaction()
        for n in range(5):
            producer.produce(unique_name, key=b"k", value=f"{n}")
        assert producer.flush(30) == 0
        wait_until(partition_reaches(5), timeout=10, message="5 records of an open transaction")
        part = seen[-1]
        assert (part.source_end, part.stable_end, part.lag_records) == (5, 0, 0)
        assert part.open_transaction and part.lag_seconds == 0.0

        # Aborted: 5 aborted records and the abort marker, nothing to mirror.
        producer.abort_transaction(30)
        wait_until(partition_reaches(6), timeout=10, message="the abort marker")
        part = seen[-1]
        assert (part.source_end, part.stable_end, part.lag_records) == (6, 6, 0)
        assert not part.open_transaction and part.lag_seconds_source is LagSecondsSource.RECORD
        fetched = engine.records_fetched
        assert topic_of(engine.refresh(), unique_name).lag_records == 0
        assert engine.records_fetched == fetched, "nothing new: answered from the cache"

        # Committed: the first committed record (offset 6) dates the lag; the commit marker is an offset.
        before = time.time()
        produce_transaction(producer, unique_name, 4, first=10)
        wait_until(partition_reaches(11), timeout=10, message="the commit marker")
        part = seen[-1]
        assert (part.source_end, part.stable_end, part.lag_records) == (11, 11, 5)
        assert part.lag_seconds_source is LagSecondsSource.RECORD
        assert 0.0 <= part.lag_seconds <= time.time() - before + 1.0
    finally:
        engine.close()


# --- 3. records deleted before they were mirrored ---------------------------------------------------------


def test_records_deleted_before_they_were_mirrored_are_lost(
    lab: Lab, tmp_path: Path, unique_name: str, wait_until: Wait, mirrormaker: Callable[[Path], None]
) -> None:
    began = time.monotonic()
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=2)
    plan = narrowed(lab, tmp_path, "lost.toml", unique_name, warn=3600, crit=7200)
    produce_numbered(primary, unique_name, 200)
    mirrormaker(plan)
    engine = LagEngine(load_plan(plan))
    try:

        def mirrored() -> bool:
            topic = topic_of(engine.refresh(), unique_name)
            return topic.lag_records == 0 and sum(p.replicated for p in topic.partitions) == 200

        wait_until(mirrored, timeout=90, interval=0.5, message="the first 200 records mirrored")
    finally:
        engine.close()
    stopped = cli("mm", "stop", "--plan", str(plan))
    assert stopped.exit_code == 0, stopped.output

    # MirrorMaker stopped; more records; then some of them are deleted before it could copy them.
    produce_numbered(primary, unique_name, 300, start=200)
    _, before = status(plan)
    parts = {p["partition"]: p for p in topic_json(before, unique_name)["partitions"]}
    replicated = {p: parts[p]["replicated"] for p in parts}
    ends = {p: parts[p]["source_end"] for p in parts}
    assert all(ends[p] - replicated[p] > 50 for p in parts), parts
    delete_to = {0: replicated[0] + 40, 1: ends[1]}  # partition 1: every unmirrored record deleted
    admin = AdminClient(client_config(primary))
    futures = admin.delete_records(
        [TopicPartition(unique_name, p, offset) for p, offset in delete_to.items()]
    )
    for future in futures.values():
        future.result(30)

    code, data = status(plan)
    topic = topic_json(data, unique_name)
    parts = {p["partition"]: p for p in topic["partitions"]}
    lost = {0: 40, 1: ends[1] - replicated[1]}
    assert {p: parts[p]["lost_records"] for p in parts} == lost
    assert {p: parts[p]["log_start"] for p in parts} == delete_to
    assert parts[0]["lag_records"] == ends[0] - delete_to[0] and parts[1]["lag_records"] == 0
    assert topic["lost_records"] == sum(lost.values()) and data["flows"][0]["lost_records"] == sum(
        lost.values()
    )
    assert topic["lag_records"] == ends[0] - delete_to[0]
    assert (topic["health"], data["flows"][0]["health"], data["health"], code) == ("LOST", "LOST", "LOST", 2)
    human = cli("status", "--plan", str(plan), "--interval", "0.1")
    assert human.exit_code == 2 and f"LOST {sum(lost.values())} records" in human.output
    # A failover now counts them in its report, apart from what was still waiting to be mirrored.
    forced = cli("failover", "--plan", str(plan), "--yes", "--force", "--json")
    assert forced.exit_code == 0, forced.output
    report = json.loads(forced.stdout)["report"]
    assert report["lost_records"] == sum(lost.values()) and report["lost_topics"] == {
        unique_name: sum(lost.values())
    }
    assert report["rpo_records"] == ends[0] - delete_to[0]
    assert f"also lost before failing over: {sum(lost.values()):,} records deleted" in forced.stderr
    print(f"\nlost records counted: {time.monotonic() - began:.0f} s")
