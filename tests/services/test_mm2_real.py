"""Real MirrorMaker 2, rendered from the lab's plan, mirroring between the lab's two real clusters.

The JVM runs locally under the real supervisor script, exactly as an edge node would run it: the files
of :func:`render_deployment` in a run directory, ``sh supervise.sh RUN_DIR -- java ...``.
"""

from __future__ import annotations

import getpass
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.domain.plan import EdgeNode, Plan
from kdrtui.lab import jars
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.mm2_status import read_mm2_status
from kdrtui.services.mirrormaker.render import RenderedDeployment, render_deployment

pytestmark = pytest.mark.lab

WaitUntil = Callable[..., float]

RECORDS = 1000
PARTITIONS = 3

#: Lab-facing flow settings used unless the lab's plan sets its own: find new topics within seconds.
LAB_FLOW_DEFAULTS = {"refresh_seconds": 5, "emit_checkpoints_seconds": 5, "flush_seconds": 2}


def lab_plan(lab: Lab) -> Plan:
    """The lab's plan; single-broker replication and quick intervals where it does not set them."""
    data = lab.render_plan()
    for cluster in data["clusters"].values():
        cluster.setdefault("replication_factor", 1)
    for flow in data["flows"]:
        for key, value in LAB_FLOW_DEFAULTS.items():
            flow.setdefault(key, value)
    return Plan.model_validate(data)


class RunningMirrorMaker:
    """A deployment written to a local run directory and started under its supervisor."""

    def __init__(self, dep: RenderedDeployment) -> None:
        self.dep = dep
        self.run_dir = Path(dep.run_dir)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for rel, text in self.dep.files.items():
            (self.run_dir / rel).write_text(text, encoding="utf-8")
        self.proc = subprocess.Popen(
            ["sh", str(self.run_dir / "supervise.sh"), str(self.run_dir), "--", *self.dep.argv],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def read(self, name: str) -> str | None:
        try:
            return (self.run_dir / name).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join((self.read("mm.log") or "").splitlines()[-lines:])

    def kill(self) -> None:
        """Last resort at teardown: the supervisor leads its own process group, the JVM included."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def jvm_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def mirrormaker(lab: Lab, tmp_path: Path) -> Iterator[RunningMirrorMaker]:
    plan = lab_plan(lab)
    node = EdgeNode(
        name="lab-dr-edge",
        cluster=DR,
        host="127.0.0.1",
        user=getpass.getuser(),
        kafka_home=str(jars.distribution(lab.kafka_version).home),
        work_dir=str(tmp_path),
    )
    (dep,) = render_deployment(plan, node)
    running = RunningMirrorMaker(dep)
    try:
        yield running
    finally:
        running.kill()


def produce(bootstrap: str, topic: str) -> dict[int, list[bytes]]:
    """1,000 keyed records; returns each partition's values in offset order."""
    admin = AdminClient(client_config(bootstrap))
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(30)
    producer = Producer(client_config(bootstrap, **{"enable.idempotence": True}))
    placed: dict[int, list[tuple[int, bytes]]] = {}

    def delivered(err: KafkaError | None, msg: Message) -> None:
        assert err is None, err
        partition, offset, value = msg.partition(), msg.offset(), msg.value()
        assert partition is not None and offset is not None and isinstance(value, bytes)
        placed.setdefault(partition, []).append((offset, value))

    for n in range(RECORDS):
        producer.produce(topic, key=f"key-{n % 37}", value=f"{n}", on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(30) == 0
    return {p: [value for _, value in sorted(records)] for p, records in placed.items()}


def test_real_mm2_mirrors_the_lab(
    lab: Lab, mirrormaker: RunningMirrorMaker, unique_name: str, wait_until: WaitUntil
) -> None:
    source, target = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    mirrored = f"{PRIMARY}.{unique_name}"
    dr_admin = AdminClient(client_config(target))

    def source_connector_running() -> bool:
        if mirrormaker.proc is not None and mirrormaker.proc.poll() is not None:
            raise AssertionError(f"MirrorMaker exited early:\n{mirrormaker.log_tail()}")
        status = read_mm2_status(target, PRIMARY, timeout=5)
        connector = status.connectors.get("MirrorSourceConnector")
        return status.exists and connector is not None and connector.running

    started = time.monotonic()
    mirrormaker.start()
    wait_until(lambda: mirrormaker.read("mm.pid"), timeout=10, message="supervisor started the JVM")
    jvm = int(mirrormaker.read("mm.pid") or 0)
    ready_s = wait_until(source_connector_running, timeout=60, interval=0.5, message="MirrorSourceConnector")
    # A topic made while MirrorMaker runs: it must discover it (within refresh_seconds).
    created = time.monotonic()
    sent = produce(source, unique_name)

    def mirrored_topic_exists() -> bool:
        if mirrormaker.proc is not None and mirrormaker.proc.poll() is not None:
            raise AssertionError(f"MirrorMaker exited early:\n{mirrormaker.log_tail()}")
        return mirrored in dr_admin.list_topics(timeout=5).topics

    wait_until(mirrored_topic_exists, timeout=60, interval=0.2, message=f"{mirrored} on dr")
    consumer = Consumer(
        client_config(target, **{"group.id": f"{unique_name}-check", "enable.auto.commit": False})
    )
    consumer.assign([TopicPartition(mirrored, p, 0) for p in range(PARTITIONS)])
    got: dict[int, list[bytes]] = {}
    first_record_s: float | None = None
    try:
        deadline = created + 60
        while sum(map(len, got.values())) < RECORDS:
            assert time.monotonic() < deadline, (
                f"{sum(map(len, got.values()))} of {RECORDS} records mirrored within 60 s of the topic:\n"
                + mirrormaker.log_tail()
            )
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error() is not None:
                    continue
                if first_record_s is None:
                    first_record_s = time.monotonic() - started
                partition, value = msg.partition(), msg.value()
                assert partition is not None and isinstance(value, bytes)
                got.setdefault(partition, []).append(value)
    finally:
        consumer.close()
    all_mirrored_s = time.monotonic() - started
    # Every record, once, in its source partition's order.
    assert got == sent
    assert first_record_s is not None
    print(
        f"\nMM2 start -> MirrorSourceConnector RUNNING {ready_s:.1f} s; new topic -> first mirrored record "
        f"{first_record_s - (created - started):.1f} s; MM2 start -> first record {first_record_s:.1f} s, "
        f"all {RECORDS} {all_mirrored_s:.1f} s"
    )
    assert first_record_s <= 30

    status = read_mm2_status(target, PRIMARY)
    assert status.connectors["MirrorSourceConnector"].running
    assert status.tasks[("MirrorSourceConnector", 0)].running
    assert status.connectors["MirrorSourceConnector"].worker_id == f"{PRIMARY}->{DR}"
    assert mirrored in status.topics and status.failed() == []
    # Every topic MirrorMaker made on the single-broker dr has one replica.
    topics = dr_admin.list_topics(timeout=5).topics
    for name in (mirrored, "mm2-offsets.primary.internal", "primary.checkpoints.internal", "heartbeats"):
        assert {len(p.replicas) for p in topics[name].partitions.values()} == {1}, name

    # Stop: SIGTERM to the supervisor, which stops the JVM and records how it ended.
    assert mirrormaker.proc is not None
    stopping = time.monotonic()
    os.kill(mirrormaker.proc.pid, signal.SIGTERM)
    assert mirrormaker.proc.wait(timeout=40) == 143
    print(f"MM2 stopped {time.monotonic() - stopping:.1f} s after SIGTERM")
    assert not jvm_alive(jvm)
    assert mirrormaker.read("exit_code") == "143"
    assert mirrormaker.read("mm.pid") is None and not (mirrormaker.run_dir / "lock").exists()
    assert "Kafka MirrorMaker stopped" in (mirrormaker.read("mm.log") or "")
