"""The session lab: idempotent up, status, real clients on both clusters, a crash and a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from kdrtui.commands.lab import lab_group
from kdrtui.lab.lab import DR, PRIMARY, Lab, LabError
from kdrtui.services.kafka.config import client_config
from tests.kafka_helpers import create_topic

pytestmark = pytest.mark.lab


def round_trip(bootstrap: str, topic: str, group: str, count: int = 10) -> list[str]:
    """Produce ``count`` records to ``topic`` and read them back with ``group``."""
    producer = Producer(client_config(bootstrap))
    for i in range(count):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0
    consumer = Consumer(client_config(bootstrap, **{"group.id": group, "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    values: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while len(values) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                values.append((msg.value() or b"").decode())
    finally:
        consumer.close()
    return values


def test_up_again_reuses_the_running_brokers(lab: Lab) -> None:
    pids = {alias: lab.pid(alias) for alias in (PRIMARY, DR)}
    assert all(pids.values()), pids

    started = time.monotonic()
    status = lab.up()
    took = time.monotonic() - started

    assert status.started == ()
    assert {alias: c.pid for alias, c in status.clusters.items()} == pids
    assert all(c.notes == ("reused",) for c in status.clusters.values())
    assert took < 5, f"a second up took {took:.1f} s"

    # The same through the CLI, in a fresh Lab that finds the ports in lab.json.
    result = CliRunner().invoke(lab_group, ["up"])
    assert result.exit_code == 0, result.output
    assert "reused" in result.output and f"plan: {lab.plan_path}" in result.output
    assert Lab().pid(PRIMARY) == pids[PRIMARY]


def test_status_json_shows_both_clusters_up(lab: Lab) -> None:
    result = CliRunner().invoke(lab_group, ["status", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["plan"] == str(lab.plan_path)
    for alias, region in ((PRIMARY, "eastus"), (DR, "westus2")):
        cluster = data["clusters"][alias]
        assert cluster["up"] is True and (cluster["brokers"], cluster["brokers_up"]) == (1, 1)
        assert cluster["pid"] == lab.pid(alias) == cluster["pids"]["1"]
        assert cluster["bootstrap"] == lab.bootstrap(alias)
        assert cluster["region"] == region
        assert isinstance(cluster["topics"], int)
    assert data["traffic"]["running"] is False

    human = CliRunner().invoke(lab_group, ["status"])
    assert human.exit_code == 0, human.output
    primary_row = next(line for line in human.output.splitlines() if line.startswith("primary"))
    assert primary_row.split()[:5] == [PRIMARY, "eastus", "up", "1/1", str(lab.pid(PRIMARY))]


def test_clients_produce_and_consume_on_both_clusters(lab: Lab, unique_name: str) -> None:
    assert lab.bootstrap(PRIMARY) != lab.bootstrap(DR)
    for alias in (PRIMARY, DR):
        bootstrap = lab.bootstrap(alias)
        topic = f"{unique_name}-{alias}"
        create_topic(bootstrap, topic, partitions=1)

        values = round_trip(bootstrap, topic, group=f"{unique_name}-{alias}-g")

        assert values == [f"v{i}" for i in range(10)], alias
    # The clusters are separate: each only has its own topic.
    primary_topics = AdminClient(client_config(lab.bootstrap(PRIMARY))).list_topics(timeout=10).topics
    assert f"{unique_name}-{PRIMARY}" in primary_topics
    assert f"{unique_name}-{DR}" not in primary_topics


def test_topics_are_not_auto_created(lab: Lab, unique_name: str) -> None:
    producer = Producer(client_config(lab.bootstrap(PRIMARY), **{"message.timeout.ms": 3000}))
    errors: list[object] = []
    producer.produce(f"{unique_name}-missing", b"x", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(10)

    assert errors and errors[0] is not None
    topics = AdminClient(client_config(lab.bootstrap(PRIMARY))).list_topics(timeout=10).topics
    assert f"{unique_name}-missing" not in topics


def test_kill_then_up_restarts_only_that_cluster(
    lab: Lab, unique_name: str, wait_until: Callable[..., float]
) -> None:
    create_topic(lab.bootstrap(DR), unique_name, partitions=1)
    primary_pid, dr_pid = lab.pid(PRIMARY), lab.pid(DR)

    assert lab.kill(DR) == dr_pid
    assert lab.pid(DR) is None
    status = lab.status()
    assert status.clusters[DR].up is False
    assert status.clusters[DR].state == "stale" and status.clusters[DR].stale_pid == dr_pid
    assert status.clusters[PRIMARY].up is True

    restarted = lab.up()

    assert restarted.started == (DR,)
    assert lab.pid(PRIMARY) == primary_pid
    assert lab.pid(DR) not in (None, dr_pid)
    # The data survived the crash: the topic is still there, and the broker serves it.
    admin = AdminClient(client_config(lab.bootstrap(DR)))
    wait_until(lambda: unique_name in admin.list_topics(timeout=5).topics, timeout=30, message="topic back")
    assert round_trip(lab.bootstrap(DR), unique_name, group=f"{unique_name}-g", count=3) == ["v0", "v1", "v2"]


def test_up_refuses_other_ports_or_version_while_running(lab: Lab) -> None:
    with pytest.raises(LabError, match="run `kdrtui lab down` first to change ports"):
        Lab(lab.home, primary_port=lab.cluster(PRIMARY).spec.port + 7).up()
    with pytest.raises(LabError, match="run `kdrtui lab down` first to change versions"):
        Lab(lab.home, kafka_version="4.1.0").up()

    result = CliRunner().invoke(lab_group, ["up", "--kafka-version", "4.1.0"])
    assert result.exit_code == 1
    assert result.output.startswith("kdrtui lab: primary and dr run(s) Kafka 3.9.1, not 4.1.0")
    assert Lab().kafka_version == "3.9.1"  # nothing was recorded
