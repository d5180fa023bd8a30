"""The edge node's own Kafka, and the release kdrtui ships: real sshd, real MirrorMaker 2, real brokers.

An extra edge node of the session lab's ``dr`` whose ``kafka_home`` holds Apache Kafka 3.2.0's jars (an
HDInsight 5.1 edge node's Kafka), built without a lab of its own: MirrorMaker 2 runs from that 3.2.0, then
from a 3.9.1 kdrtui ships to the node over SFTP. Each mirrors records, feeds the lag engine (its
heartbeats), and leaves checkpoints and offset syncs that kdrtui reads and translates a group with.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kdrtui.domain.lag import Health, TopicLag
from kdrtui.domain.plan import EdgeNode, Plan
from kdrtui.lab import jars
from kdrtui.lab.edge import LabEdgeNode
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.lag_engine import LagEngine
from kdrtui.services.kafka.translate import (
    plan_partition,
    read_checkpoints,
    read_offset_syncs,
)
from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.plan_files import load_plan, save_plan
from tests.kafka_helpers import (
    consume_and_commit,
    consume_partitions,
    create_topic,
    produce_numbered,
    wait_for_checkpoint,
)
from tests.lab_helpers import mirrormaker_jvms, mm

pytestmark = pytest.mark.lab

ReservePort = Callable[[int], contextlib.AbstractContextManager[int]]

HDINSIGHT_KAFKA = "3.2.0"
"""HDInsight 5.1's Kafka."""
PARTITIONS = 2
RECORDS = 1_000
OFFSET_LAG_MAX = 100
"""MirrorMaker's default ``offset.lag.max``: an offset sync at least every 100 records."""


@pytest.fixture(scope="module")
def hdi_edge(
    lab: Lab, tmp_path_factory: pytest.TempPathFactory, reserved_port: ReservePort
) -> Iterator[LabEdgeNode]:
    """An edge node of ``dr`` whose kafka_home is Kafka 3.2.0 (fetched with Maven), the lab's MirrorMaker 2
    stopped meanwhile (one Connect cluster per source on dr)."""
    libs = jars.fetch(HDINSIGHT_KAFKA).distribution.libs
    mm("stop", "--plan", "lab")
    with reserved_port(12422) as port:
        node = LabEdgeNode(
            tmp_path_factory.mktemp("hdi") / "edge",
            port=port,
            kafka_libs=libs,
            cluster=DR,
            name="dr-edge-hdi",
        )
        try:
            node.start()
            yield node
        finally:
            node.stop()


def plan_on(lab: Lab, node: LabEdgeNode, tmp_path: Path, name: str, mirrormaker_kafka: str) -> Path:
    """The lab plan with ``node`` as its only edge node (its own work dir), mirroring ``name``'s topic and
    group."""
    base = load_plan(lab.plan_path)
    entry = {**node.plan_entry(), "work_dir": str(tmp_path / "work"), "mirrormaker_kafka": mirrormaker_kafka}
    flow = base.flows[0].model_copy(update={"topics": [name], "groups": [f"{name}-g"]})
    plan = base.model_copy(update={"edge_nodes": [EdgeNode.model_validate(entry)], "flows": [flow]})
    path = tmp_path / "plan.toml"
    save_plan(Plan.model_validate(plan.model_dump()), path)
    return path


async def start(plan: Plan, said: list[str]) -> tuple[str | None, float]:
    """Start the plan's MirrorMaker; its Kafka version from ``status`` and the seconds ``start`` took."""
    manager = MirrorMakerManager(plan)
    try:
        (dep,) = await manager.select()
        started = time.monotonic()
        await manager.start(dep, said.append)
        took = time.monotonic() - started
        return (await manager.status(dep, with_drift=False)).kafka_version, took
    finally:
        await manager.close()


async def deploy(plan: Plan, said: list[str]) -> list[str]:
    manager = MirrorMakerManager(plan)
    try:
        (dep,) = await manager.select()
        return await manager.deploy(dep, said.append)
    finally:
        await manager.close()


def topic_lag(engine: LagEngine, topic: str) -> TopicLag | None:
    (flow,) = engine.refresh().flows
    return next((t for t in flow.topics if t.topic == topic), None)


def mirror_and_translate(lab: Lab, plan_path: Path, name: str, version: str, said: list[str]) -> None:
    """Records mirrored, lag 0 with a fresh heartbeat, and ``name-g``'s committed offsets translated from
    MirrorMaker's own checkpoints and offset syncs (its internal topics' formats)."""
    plan = load_plan(plan_path)
    group = f"{name}-g"
    create_topic(lab.bootstrap(PRIMARY), name, partitions=PARTITIONS)
    sent = produce_numbered(lab.bootstrap(PRIMARY), name, RECORDS)
    read = consume_and_commit(lab.bootstrap(PRIMARY), group, name, RECORDS * 2 // 5)  # 40 % read there
    committed = {p: len(values) for p, values in read.items()}
    assert sum(committed.values()) == RECORDS * 2 // 5

    began = time.monotonic()
    running, took = asyncio.run(start(plan, said))
    assert running == version, said
    first: list[float] = []
    got = consume_partitions(
        lab.bootstrap(DR),
        f"{PRIMARY}.{name}",
        PARTITIONS,
        RECORDS,
        timeout=90,
        on_first=lambda: first.append(time.monotonic() - began),
        why=lambda: mm("status", "--plan", str(plan_path)).output,
    )
    assert got == sent, "every record once, in its partition's order"
    print(f"\nMirrorMaker {version}: start {took:.1f} s, first mirrored record {first[0]:.1f} s after start")

    engine = LagEngine(plan)
    deadline = time.monotonic() + 60
    while (lag := topic_lag(engine, name)) is None or (lag.lag_records, lag.health) != (0, Health.OK):
        assert time.monotonic() < deadline, f"lag not 0: {lag}"
        time.sleep(0.5)
    assert sum(p.replicated for p in lag.partitions) == RECORDS
    heartbeat = engine.refresh().flows[0].heartbeat_age_s
    assert heartbeat is not None and heartbeat < 30, f"MM2 {version}'s heartbeats read: {heartbeat}"

    wait_for_checkpoint(lab.bootstrap(DR), group, name, committed)
    checkpoints = read_checkpoints(lab.bootstrap(DR), PRIMARY)
    syncs = read_offset_syncs(lab.bootstrap(DR), PRIMARY)
    for p, upstream in committed.items():
        checkpoint = checkpoints[(group, f"{PRIMARY}.{name}", p)]
        assert checkpoint.upstream == upstream
        # The mirror's offsets equal the source's here (a new topic, no transactions): a translation is
        # right when it lands at or before the committed offset. MirrorMaker 3.5+ keeps a sparse set of
        # syncs, so its own checkpoint may land far back; kdrtui's, over every sync, within offset.lag.max.
        assert checkpoint.downstream <= upstream, (version, checkpoint)
        partition_syncs = syncs[(name, p)]
        assert partition_syncs and all(s.upstream == s.downstream for s in partition_syncs)
        translated = plan_partition(upstream, checkpoint, partition_syncs)
        assert translated is not None
        downstream, reread = translated
        # The re-read forecast counts from the newest sync at or below the resume point: never fewer.
        assert upstream - OFFSET_LAG_MAX <= downstream <= upstream and reread >= upstream - downstream
        print(
            f"MirrorMaker {version} partition {p}: committed {upstream}, checkpoint {checkpoint.downstream}, "
            f"{len(partition_syncs)} offset syncs, kdrtui resumes at {downstream} (re-reads at most {reread})"
        )


def stop(plan_path: Path, work: Path) -> None:
    assert mm("stop", "--plan", str(plan_path)).exit_code == 0
    assert mirrormaker_jvms(str(work)) == []


def test_mm2_from_the_nodes_kafka_3_2_0(
    lab: Lab, hdi_edge: LabEdgeNode, tmp_path: Path, unique_name: str
) -> None:
    path = plan_on(lab, hdi_edge, tmp_path, unique_name, "node")
    said: list[str] = []
    try:
        mirror_and_translate(lab, path, unique_name, HDINSIGHT_KAFKA, said)
        warnings = [line for line in said if line.startswith("warning: ")]
        assert len(warnings) == 1 and "MirrorMaker 3.2.0 is older than 3.5" in warnings[0], said
        status = mm("status", "--plan", str(path))
        assert "Kafka 3.2.0" in status.output and "KAFKA-12468" in status.output, status.output
    finally:
        stop(path, tmp_path / "work")


def test_mm2_from_a_shipped_3_9_1(lab: Lab, hdi_edge: LabEdgeNode, tmp_path: Path, unique_name: str) -> None:
    path = plan_on(lab, hdi_edge, tmp_path, unique_name, jars.DEFAULT_KAFKA_VERSION)
    plan = load_plan(path)
    local = jars.fetch(jars.DEFAULT_KAFKA_VERSION).distribution.libs
    remote = tmp_path / "work" / "kafka" / jars.DEFAULT_KAFKA_VERSION / "libs"
    count = len(list(local.glob("*.jar")))
    size = sum(jar.stat().st_size for jar in local.glob("*.jar"))

    said: list[str] = []
    began = time.monotonic()
    changed = asyncio.run(deploy(plan, said))
    took = time.monotonic() - began
    assert changed[0] == f"kafka/{jars.DEFAULT_KAFKA_VERSION}/libs", changed
    assert f"uploading Kafka 3.9.1: {count} of {count} jars, {size / 1e6:.1f} MB" in said[0], said
    assert any(f"uploaded {count} of {count} jars ({size / 1e6:.1f} MB)" in line for line in said), said
    print(f"\nshipped Kafka 3.9.1: {count} jars, {size / 1e6:.1f} MB, deploy took {took:.1f} s")
    assert sorted(p.name for p in remote.iterdir()) == sorted(p.name for p in local.glob("*.jar"))
    assert all((remote / p.name).read_bytes() == p.read_bytes() for p in local.glob("*.jar"))

    again: list[str] = []
    assert asyncio.run(deploy(plan, again)) == []
    assert not any("uploading" in line for line in again) and f"{count} jars up to date" in again[-1], again

    damaged = remote / f"kafka-clients-{jars.DEFAULT_KAFKA_VERSION}.jar"
    damaged.write_bytes(b"not a jar")
    (remote / "stray-1.0.jar").write_bytes(b"left over")
    repaired: list[str] = []
    assert asyncio.run(deploy(plan, repaired))[0] == f"kafka/{jars.DEFAULT_KAFKA_VERSION}/libs"
    assert f"uploading Kafka 3.9.1: 1 of {count} jars" in repaired[0], repaired
    assert "removed 1 other jar(s)" in repaired[-1], repaired
    assert damaged.read_bytes() == (local / damaged.name).read_bytes()
    assert not (remote / "stray-1.0.jar").exists()

    said.clear()
    try:
        mirror_and_translate(lab, path, unique_name, jars.DEFAULT_KAFKA_VERSION, said)
        assert not any(line.startswith("warning: ") for line in said), said
        status = mm("status", "--plan", str(path), "--json")
        assert '"kafka_version": "3.9.1"' in status.output, status.output
    finally:
        stop(path, tmp_path / "work")
