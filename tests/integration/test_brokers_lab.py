"""The three-broker lab (HDInsight's shape: replication factor 3, min.insync.replicas 2, a fault domain per
broker) and kdrtui through a broker's crash: the lab's own commands, MirrorMaker and the lag engine while a
broker of each cluster dies mid-mirroring, and a failover with a DR broker killed half-way."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.runbook.failover import FAILOVER
from kdrtui.services.runbook.operate import Operation
from kdrtui.services.runbook.runner import RunEvent
from tests.kafka_helpers import (
    Partitions,
    Traffic,
    consume_and_commit,
    create_topic,
    everything,
    flat,
    produce_numbered,
    wait_for_checkpoint,
)
from tests.lab_helpers import dr_plan, mirrormaker, run_kdrtui, stop_both_directions

pytestmark = pytest.mark.lab

Wait = Callable[..., float]


def lab_env(lab: Lab) -> dict[str, str]:
    """The environment of a ``kdrtui lab ...`` process aimed at ``lab``."""
    return {**os.environ, "KDRTUI_LAB_DIR": str(lab.home)}


def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    """The broker id leading ``topic``'s ``partition``."""
    md = AdminClient(client_config(bootstrap)).list_topics(topic, timeout=10)
    return int(md.topics[topic].partitions[partition].leader)


def in_sync(bootstrap: str, topic: str) -> list[int]:
    """In-sync replicas of each partition of ``topic``."""
    md = AdminClient(client_config(bootstrap)).list_topics(topic, timeout=10)
    return [len(p.isrs) for _, p in sorted(md.topics[topic].partitions.items())]


def read_all(bootstrap: str, topic: str, wait_until: Wait) -> Partitions:
    """Every record of ``topic``'s 3 partitions, read again while a partition has no leader yet (a broker
    just died: the clients learn the new leaders a moment later)."""
    read: list[Partitions] = []

    def answered() -> bool:
        try:
            read.append(everything(bootstrap, topic, 3))
        except KafkaException:
            return False
        return True

    wait_until(answered, timeout=60, interval=0.5, message=f"{topic} read to its end")
    return read[-1]


def in_order(mirrored: list[bytes], source: list[bytes]) -> str | None:
    """None when ``mirrored`` is ``source`` copied in order, each record once or (at-least-once: a task
    restarted from its last committed offset) again from an earlier point on; else what is wrong."""
    at: dict[bytes, list[int]] = {}
    for i, value in enumerate(source):
        at.setdefault(value, []).append(i)
    i = 0
    for n, value in enumerate(mirrored):
        if i < len(source) and source[i] == value:
            i += 1
            continue
        earlier = [j for j in at.get(value, []) if j < i]
        if not earlier:
            return f"record {n} ({value!r}) is neither the next one ({source[i : i + 1]!r}) nor a repeat"
        i = earlier[-1] + 1
    return None if i == len(source) else f"ends at {i} of {len(source)} records"


def test_the_lab_has_three_brokers_a_rack_each_and_hdinsight_replication(
    lab3: Lab, unique_name: str, wait_until: Wait
) -> None:
    dr = lab3.bootstrap(DR)
    admin = AdminClient(client_config(dr))
    described = admin.describe_cluster(request_timeout=10).result(timeout=15)
    assert sorted(node.id for node in described.nodes) == [1, 2, 3]
    assert sorted(node.rack for node in described.nodes) == ["fd0", "fd1", "fd2"]
    # A topic created without a replication factor gets the cluster's: 3, with min.insync.replicas 2.
    admin.create_topics([NewTopic(unique_name, num_partitions=3)])[unique_name].result(timeout=30)
    wait_until(lambda: in_sync(dr, unique_name) == [3, 3, 3], timeout=30, message="3 in-sync replicas")
    resource = ConfigResource(ConfigResource.Type.TOPIC, unique_name)
    found: list[str] = []

    def min_isr_read() -> bool:  # the broker answering may learn of the new topic a moment later
        try:
            configs = admin.describe_configs([resource])[resource].result(timeout=15)
        except KafkaException:
            return False
        found.append(configs["min.insync.replicas"].value)
        return True

    wait_until(min_isr_read, timeout=30, message="the topic's configs")
    assert found[-1] == "2"
    plan = lab3.plan_path.read_text()
    assert "brokers = 3" in plan and "replication_factor = 3" in plan

    # One broker down: the cluster is degraded, not down; the lab names the broker; restore brings it back.
    env = lab_env(lab3)
    refused = run_kdrtui("lab", "fault", "kill-broker", DR, env=env)
    assert refused.returncode == 2 and f"{DR}:1..3" in refused.stderr, refused.stderr
    killed = run_kdrtui("lab", "fault", "kill-broker", f"{DR}:2", env=env)
    assert killed.returncode == 0 and f"{DR}:2: broker killed" in killed.stdout, killed.stdout + killed.stderr
    assert "2 of 3 up" in killed.stdout
    status = json.loads(run_kdrtui("lab", "status", "--json", env=env).stdout)["clusters"][DR]
    assert (status["state"], status["brokers"], status["brokers_up"], status["pids"]["2"]) == (
        "degraded",
        3,
        2,
        None,
    )
    text = run_kdrtui("lab", "status", env=env).stdout
    assert f"degraded ({DR}:2 down)" in text and "2/3" in text, text
    wait_until(lambda: in_sync(dr, unique_name) == [2, 2, 2], timeout=30, message="broker 2 leaves the ISRs")
    produce_numbered(dr, unique_name, 30)  # acks=all still works with 2 of 3 in sync

    restored = run_kdrtui("lab", "fault", "restore", env=env)
    assert restored.returncode == 0 and f"restored: {DR}" in restored.stdout, (
        restored.stdout + restored.stderr
    )
    assert (
        json.loads(run_kdrtui("lab", "status", "--json", env=env).stdout)["clusters"][DR]["brokers_up"] == 3
    )
    wait_until(lambda: in_sync(dr, unique_name) == [3, 3, 3], timeout=60, message="broker 2 back in sync")


def test_mirroring_and_lag_go_on_while_a_broker_of_each_cluster_dies(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    plan, _ = dr_plan(lab3, tmp_path, unique_name)
    primary, dr = lab3.bootstrap(PRIMARY), lab3.bootstrap(DR)
    topic, target = unique_name, f"{PRIMARY}.{unique_name}"
    create_topic(primary, topic, partitions=3)
    initial = produce_numbered(primary, topic, 300)
    engine = LagEngine(plan)
    refreshes: list[int | None] = []
    errors: list[BaseException] = []
    halt = threading.Event()

    def refresh_forever() -> None:  # the console's refresh loop, while brokers die under it
        while not halt.is_set():
            try:
                flows = engine.refresh().flows
                refreshes.append(flows[0].lag_records if flows else None)
            except BaseException as exc:  # what the test asserts never happens
                errors.append(exc)
            halt.wait(0.3)

    refresher = threading.Thread(target=refresh_forever, daemon=True)
    traffic = Traffic(primary, topic, "live")
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=True))
    try:
        refresher.start()
        wait_until(
            lambda: len(flat(read_all(dr, target, wait_until))) >= 300, timeout=90, message="first mirrored"
        )
        traffic.start()
        # The leader of a mirrored partition on dr, then a broker of primary (not the first bootstrap).
        victim = leader_of(dr, target, 0)
        assert lab3.kill_broker(DR, victim) is not None
        wait_until(lambda: leader_of(dr, target, 0) != victim, timeout=30, message="a new leader on dr")
        assert lab3.kill_broker(PRIMARY, 1) is not None
        seen = len(refreshes)
        wait_until(lambda: len(refreshes) >= seen + 5, timeout=60, message="refreshes after the kills")
        traffic.stop()
        source = read_all(primary, topic, wait_until)
        assert flat(initial) | traffic.acked <= flat(source)

        def all_mirrored() -> bool:
            return flat(source) <= flat(read_all(dr, target, wait_until))

        wait_until(all_mirrored, timeout=120, interval=1.0, message="every record mirrored")
        mirrored = read_all(dr, target, wait_until)
        for p in range(3):  # per-partition order kept (repeats of at-least-once delivery aside)
            wrong = in_order(mirrored[p], source[p])
            assert wrong is None, f"partition {p}: {wrong}"

        def caught_up() -> bool:
            return bool(refreshes) and refreshes[-1] == 0

        wait_until(caught_up, timeout=90, interval=0.5, message="the lag engine shows lag 0")
        assert not errors, errors
    finally:
        halt.set()
        traffic.stop()
        refresher.join(10)
        engine.close()
        asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=False))
        lab3.restore()


async def test_failover_completes_with_a_dr_broker_killed_half_way(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    plan, path = dr_plan(lab3, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60)
    primary, dr = lab3.bootstrap(PRIMARY), lab3.bootstrap(DR)
    topic, group = unique_name, f"{unique_name}-app"
    create_topic(primary, topic, partitions=3)
    initial = produce_numbered(primary, topic, 400)
    before = consume_and_commit(primary, group, topic, 150)
    committed = {p: len(vs) for p, vs in before.items()}
    await mirrormaker(plan, f"{PRIMARY}->{DR}", start=True)
    killed: list[int] = []
    try:
        await asyncio.to_thread(wait_for_checkpoint, dr, group, topic, committed)
        events: list[RunEvent] = []

        def on_event(event: RunEvent) -> None:
            events.append(event)
            if event.kind == "step-start" and event.step == "drain" and not killed:
                pid = lab3.kill_broker(DR, 3)  # dr loses a broker while the runbook drains into it
                assert pid is not None
                killed.append(pid)

        op = Operation(plan, path, FAILOVER, store_root=tmp_path / "state")
        result = await op.run(on_event)
        trace = "\n".join(f"{e.kind} {e.step}: {e.text}" for e in events[-14:])
        assert killed, "the broker was killed during the run"
        assert result.outcome == "completed", trace
        assert result.report["rpo_records"] == 0 and result.report["rpo_measured"] is True, result.report
        assert result.report["groups"][group]["partitions"] == len(committed)
        assert flat(initial) <= flat(everything(dr, f"{PRIMARY}.{topic}", 3))
    finally:
        await stop_both_directions(plan)
        await asyncio.to_thread(lab3.restore)  # the fence on primary stays: the topic is this test's own
