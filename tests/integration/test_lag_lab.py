"""The lag engine and `kdrtui status` against the real lab: real brokers, real MirrorMaker 2.

MirrorMaker of the lab plan mirrors every topic of primary to dr as ``primary.<topic>``. The module
starts it once and always leaves it stopped.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from kdrtui.domain.lag import FlowLag, Health, LagSnapshot, TopicLag
from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka import translate
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.internal_topics import (
    decode_checkpoint,
    decode_connect_offset,
    decode_heartbeat,
    decode_offset_sync,
)
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.plan_files import load_plan
from tests.kafka_helpers import create_topic, produce_numbered
from tests.lab_helpers import cli

pytestmark = pytest.mark.lab

Wait = Callable[..., float]


GROUP_TOPIC = f"t-lag-groups-{secrets.token_hex(3)}"
"""A topic with a committed consumer group, made before MirrorMaker starts."""
GROUP = f"g-{GROUP_TOPIC}"


@pytest.fixture(scope="module")
def running(lab: Lab) -> Iterator[Lab]:
    """MirrorMaker 2 of the lab plan started for this module, and stopped after it.

    The consumer group exists before MirrorMaker starts: a checkpoint connector started on a cluster
    without any group may take minutes to pick up the first one.
    """
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, GROUP_TOPIC, partitions=2)
    produce_numbered(primary, GROUP_TOPIC, 400)
    admin = AdminClient(client_config(primary))
    offsets = [TopicPartition(GROUP_TOPIC, 0, 60), TopicPartition(GROUP_TOPIC, 1, 40)]
    deadline = time.monotonic() + 30
    while True:  # a fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS per partition for a while
        answer = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP, offsets)])[GROUP]
        if all(tp.error is None for tp in answer.result(10).topic_partitions):
            break
        assert time.monotonic() < deadline, "could not commit the group's offsets"
        time.sleep(0.5)
    started = cli("mm", "start", "--plan", "lab")
    try:
        assert started.exit_code == 0, started.output
        yield lab
    finally:
        cli("mm", "stop", "--plan", "lab")


@pytest.fixture
def plan(running: Lab) -> Plan:
    return load_plan(running.plan_path)


@pytest.fixture
def engine(plan: Plan) -> Iterator[LagEngine]:
    the_engine = LagEngine(plan)
    try:
        yield the_engine
    finally:
        the_engine.close()


def flow_of(snapshot: LagSnapshot) -> FlowLag:
    (flow,) = snapshot.flows
    return flow


def topic_of(snapshot: LagSnapshot, topic: str) -> TopicLag | None:
    return next((t for t in flow_of(snapshot).topics if t.topic == topic), None)


def read_all(bootstrap: str, topic: str, limit: int = 200) -> list[tuple[bytes, bytes | None]]:
    """Up to ``limit`` records of ``topic`` from the start of every partition."""
    admin = AdminClient(client_config(bootstrap))
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    consumer = Consumer(
        client_config(bootstrap, **{"group.id": "check-lag-decoders", "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    got: list[tuple[bytes, bytes | None]] = []
    deadline = time.monotonic() + 10
    try:
        while len(got) < limit and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=limit, timeout=0.5)
            if not batch and got:
                break
            for message in batch:
                key, value = message.key(), message.value()
                if message.error() is None and isinstance(key, bytes):
                    got.append((key, value if isinstance(value, bytes) else None))
    finally:
        consumer.close()
    return got


def test_groups_show_committed_and_checkpointed(running: Lab, engine: LagEngine, wait_until: Wait) -> None:
    group, unique_name = GROUP, GROUP_TOPIC

    seen: list[LagSnapshot] = []

    def checkpointed() -> object:
        snapshot = engine.refresh()
        seen.append(snapshot)
        lags = [g for g in flow_of(snapshot).groups if g.group == group]
        return lags and lags[0].checkpointed == 100

    try:
        took = wait_until(checkpointed, timeout=60, interval=1.0, message="checkpoints of the group")
    except AssertionError:
        flow = flow_of(seen[-1])
        print(flow.heartbeat_age_s, flow.groups, [(t.topic, t.lag_records) for t in flow.topics])
        dr = running.bootstrap(DR)
        print([decode_checkpoint(k, v) for k, v in read_all(dr, f"{PRIMARY}.checkpoints.internal", 10_000)])
        print(cli("mm", "status", "--plan", "lab").output)
        raise
    print(f"\ncheckpoints after {took:.1f} s")
    (lag,) = [g for g in flow_of(engine.refresh()).groups if g.group == group]
    assert lag.topic == unique_name and lag.committed == 100 and lag.skip == 0
    assert lag.checkpoint_age_s is not None and lag.checkpoint_age_s < 60
    # What a failover now re-delivers: the translate step's own computation over a fresh read of the
    # checkpoints and of every offset sync gives the engine's figure (at most offset.lag.max a partition).
    dr_now = running.bootstrap(DR)
    points = translate.read_checkpoints(dr_now, PRIMARY, 10)
    syncs = translate.read_offset_syncs(dr_now, PRIMARY, 10)
    fresh = 0
    for partition, committed in ((0, 60), (1, 40)):
        cp = points.get((group, f"{PRIMARY}.{unique_name}", partition))
        planned = translate.plan_partition(committed, cp, syncs.get((unique_name, partition), []))
        fresh += planned[1] if planned is not None else 0
    assert lag.redeliver == fresh and 0 <= lag.redeliver <= 2 * 100, (lag.redeliver, fresh)

    # The decoders against what MirrorMaker really wrote.
    dr = running.bootstrap(DR)
    checkpoints = [
        decode_checkpoint(k, v) for k, v in read_all(dr, f"{PRIMARY}.checkpoints.internal", 10_000)
    ]
    mine = {(c.partition, c.upstream) for c in checkpoints if c is not None and c.group == group}
    assert mine >= {(0, 60), (1, 40)}
    assert all(
        c.topic == f"{PRIMARY}.{unique_name}" for c in checkpoints if c is not None and c.group == group
    )
    syncs = [
        decode_offset_sync(k, v) for k, v in read_all(dr, f"mm2-offset-syncs.{PRIMARY}.internal", 10_000)
    ]
    assert any(s is not None and s.topic == unique_name for s in syncs)
    beats = [decode_heartbeat(k, v) for k, v in read_all(dr, "heartbeats", 50)]
    assert any(b is not None and (b.source, b.target) == (PRIMARY, DR) for b in beats)
    assert all(b is None or abs(b.timestamp_ms / 1000 - time.time()) < 86_400 for b in beats)
    connect = [
        decode_connect_offset(k, v) for k, v in read_all(dr, f"mm2-offsets.{PRIMARY}.internal", 10_000)
    ]
    assert any(c is not None and c.cluster == PRIMARY and c.offset is not None for c in connect)


def test_acceptance_lag_while_stopped_and_back_to_zero(
    running: Lab, plan: Plan, unique_name: str, wait_until: Wait
) -> None:
    assert cli("mm", "stop", "--plan", "lab").exit_code == 0
    primary = running.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=3)
    produce_numbered(primary, unique_name, 1234)
    engine = LagEngine(plan)
    try:
        first = topic_of(engine.refresh(), unique_name)
        assert first is not None and first.lag_records == 1234
        assert sum(p.replicated for p in first.partitions) == 0, "never mirrored: the whole topic"
        seen: list[LagSnapshot] = []

        def seconds_grew() -> bool:
            seen.append(engine.refresh())
            topic = topic_of(seen[-1], unique_name)
            return topic is not None and topic.lag_records == 1234 and topic.lag_seconds >= 2.0

        wait_until(seconds_grew, timeout=20, interval=0.5, message="lag_seconds grows while stopped")

        def stopped() -> bool:
            return flow_of(engine.refresh()).health == Health.STOPPED

        wait_until(stopped, timeout=30, interval=0.5, message="flow STOPPED without heartbeats")
        status = cli("status", "--plan", "lab", "--json", "--interval", "0.2")
        assert status.exit_code == 2, status.output
        data = json.loads(status.output)
        (flow,) = data["flows"]
        assert flow["health"] == "STOPPED" and flow["source"] == PRIMARY and flow["target"] == DR
        (topic,) = [t for t in flow["topics"] if t["topic"] == unique_name]
        assert topic["lag_records"] == 1234 and topic["health"] == "STOPPED"
        assert {"topic", "lag_records", "lag_seconds", "health", "partitions"} <= set(topic)
        assert {"partition", "source_end", "replicated", "lag_records"} <= set(topic["partitions"][0])
        assert isinstance(flow["groups"], list)

        assert cli("mm", "start", "--plan", "lab").exit_code == 0

        def caught_up() -> bool:
            topic = topic_of(engine.refresh(), unique_name)
            return topic is not None and topic.lag_records == 0 and topic.lag_seconds == 0.0

        took = wait_until(caught_up, timeout=60, interval=0.5, message="lag back to 0")
        print(f"\nmm start -> lag 0 in {took:.1f} s")

        def healthy() -> bool:
            result = cli("status", "--plan", "lab", "--json", "--interval", "0.2")
            return result.exit_code == 0 and json.loads(result.output)["flows"][0]["heartbeat_age_s"] < 15

        wait_until(healthy, timeout=30, interval=0.5, message="status exit code 0")
        human = cli("status", "--plan", "lab")
        assert human.exit_code == 0 and f"{PRIMARY} -> {DR}" in human.output and unique_name in human.output
    finally:
        engine.close()


def test_unreachable_dr_is_stale_and_recovers(running: Lab, engine: LagEngine, wait_until: Wait) -> None:
    assert cli("mm", "stop", "--plan", "lab").exit_code == 0
    fresh = engine.refresh()
    assert flow_of(fresh).stale_s is None and DR not in fresh.unreachable
    try:
        running.kill(DR)
        snapshots: list[LagSnapshot] = []
        took: list[float] = []

        def dr_unreachable() -> bool:
            started = time.monotonic()
            snapshots.append(engine.refresh())
            took.append(time.monotonic() - started)
            return DR in snapshots[-1].unreachable

        wait_until(dr_unreachable, timeout=20, interval=0.2, message="dr unreachable")
        snapshot = snapshots[-1]
        flow = flow_of(snapshot)
        assert flow.error and DR in snapshot.to_dict()["unreachable"]
        last_fresh = flow_of([fresh, *snapshots][-2])
        assert flow.stale_s is not None and flow.topics == last_fresh.topics, "the last numbers, stale"
        assert max(took) < 10
        later = flow_of(engine.refresh())
        assert later.stale_s is not None and later.stale_s > flow.stale_s
    finally:
        running.up()

    def recovered() -> bool:
        snapshot = engine.refresh()
        return (
            not snapshot.unreachable and flow_of(snapshot).stale_s is None and flow_of(snapshot).error is None
        )

    wait_until(recovered, timeout=30, interval=0.5, message="the engine recovers")
