"""Transactions through MirrorMaker on the lab: real transactional producers on primary, real MirrorMaker 2
and 1 over SSH, real readers on dr. MirrorMaker reads the source read_committed, so the records of an
aborted transaction never reach the DR cluster, whoever reads them there."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from confluent_kafka import Consumer, IsolationLevel, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.cli import main
from kdrtui.domain.plan import MirrorMakerKind, Naming, Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.plan_files import load_plan, save_plan
from tests.kafka_helpers import Partitions, create_topic

pytestmark = pytest.mark.lab

PARTITIONS = 3
TRANSACTIONS = 11
ABORTED = 5
"""The sixth of the eleven transactions is aborted: committed ones before and after it."""
KEYS = 37
"""Records per transaction, one per key: every transaction writes into every partition."""


def mm(*args: str) -> Result:
    """`kdrtui mm ...` as a user runs it (output captured)."""
    return CliRunner().invoke(main, ["mm", *args], catch_exceptions=False)


def narrowed_plan(lab: Lab, tmp_path: Path, name: str, **flow: object) -> Path:
    """The lab plan mirroring only ``name`` (topic and groups), with ``flow`` changes and its own work dir."""
    plan = load_plan(lab.plan_path)
    only = re.escape(name)
    flows = [plan.flows[0].model_copy(update={"topics": [only], "groups": [only], **flow})]
    nodes = [n.model_copy(update={"work_dir": str(tmp_path / "work")}) for n in plan.edge_nodes]
    changed = plan.model_copy(update={"flows": flows, "edge_nodes": nodes})
    path = tmp_path / "plan.toml"
    save_plan(Plan.model_validate(changed.model_dump()), path)
    return path


def produce_transactions(bootstrap: str, topic: str, transactional_id: str) -> tuple[Partitions, Partitions]:
    """:data:`TRANSACTIONS` transactions of :data:`KEYS` keyed records each, the :data:`ABORTED`-th aborted.

    Returns (committed, aborted) values per partition, in offset order. The partitioner is Java's
    (murmur2), so MirrorMaker 1, which re-partitions by key, puts each record in the same partition number
    as MirrorMaker 2, which keeps partitions. Every record is flushed to the broker before its transaction
    ends, so the aborted records are really in the log (an abort purges what is still queued).
    """
    producer = Producer(
        client_config(bootstrap, **{"transactional.id": transactional_id, "partitioner": "murmur2_random"})
    )
    producer.init_transactions(30)
    placed: dict[str, list[tuple[int, int, bytes]]] = {"committed": [], "aborted": []}

    def delivered(err: KafkaError | None, message: Message) -> None:
        assert err is None, err
        partition, offset, value = message.partition(), message.offset(), message.value()
        assert partition is not None and offset is not None and isinstance(value, bytes)
        placed[value.decode().split("-")[0]].append((partition, offset, value))

    for t in range(TRANSACTIONS):
        fate = "aborted" if t == ABORTED else "committed"
        producer.begin_transaction()
        for k in range(KEYS):
            producer.produce(topic, key=f"key-{k}", value=f"{fate}-{t}-{k}", on_delivery=delivered)
        assert producer.flush(30) == 0
        if t == ABORTED:
            producer.abort_transaction(30)
        else:
            producer.commit_transaction(30)
    committed: Partitions = {p: [] for p in range(PARTITIONS)}
    aborted: Partitions = {p: [] for p in range(PARTITIONS)}
    for fate, values in (("committed", committed), ("aborted", aborted)):
        for partition, _offset, value in sorted(placed[fate]):
            values[partition].append(value)
    return committed, aborted


def read_to_end(bootstrap: str, topic: str, isolation: str) -> Partitions:
    """Every record of ``topic`` a consumer with ``isolation.level`` = ``isolation`` reads, to the end."""
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": f"check-{topic}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "isolation.level": isolation,
            },
        )
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    got: Partitions = {p: [] for p in range(PARTITIONS)}
    at_end: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        while len(at_end) < PARTITIONS:
            assert time.monotonic() < deadline, f"{topic} not read to its end within 30 s"
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                partition, error = message.partition(), message.error()
                assert partition is not None
                if error is not None:
                    assert error.code() == KafkaError._PARTITION_EOF, error
                    at_end.add(partition)
                    continue
                value = message.value()
                assert isinstance(value, bytes)
                got[partition].append(value)
    finally:
        consumer.close()
    return got


def end_offsets(bootstrap: str, topic: str, isolation: IsolationLevel) -> dict[int, int]:
    """Each partition's end: high watermark (READ_UNCOMMITTED) or last stable offset (READ_COMMITTED)."""
    admin = AdminClient(client_config(bootstrap))
    wanted = {TopicPartition(topic, p): OffsetSpec.latest() for p in range(PARTITIONS)}
    answers = admin.list_offsets(wanted, isolation_level=isolation, request_timeout=10)
    return {tp.partition: future.result(15).offset for tp, future in answers.items()}


@pytest.mark.parametrize("kind", [MirrorMakerKind.MM2, MirrorMakerKind.MM1], ids=["mm2", "mm1"])
def test_aborted_transactions_never_reach_dr(
    lab: Lab, tmp_path: Path, unique_name: str, kind: MirrorMakerKind
) -> None:
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    create_topic(primary, unique_name, partitions=PARTITIONS)
    committed, aborted = produce_transactions(primary, unique_name, f"{unique_name}-tx")
    # The aborted records are in the source's log: a read_uncommitted reader there sees them.
    source = read_to_end(primary, unique_name, "read_uncommitted")
    assert all(set(aborted[p]) <= set(source[p]) for p in range(PARTITIONS))
    assert read_to_end(primary, unique_name, "read_committed") == committed
    assert all(aborted.values()), "the aborted transaction wrote into every partition"

    if kind == MirrorMakerKind.MM2:
        plan, mirrored = narrowed_plan(lab, tmp_path, unique_name), f"{PRIMARY}.{unique_name}"
    else:
        plan, mirrored = (
            narrowed_plan(lab, tmp_path, unique_name, mirrormaker=kind, naming=Naming.IDENTITY),
            unique_name,
        )
    started = time.monotonic()
    try:
        result = mm("start", "--plan", str(plan))
        assert result.exit_code == 0, result.output
        # Each partition's last committed transaction comes after the aborted one: once every committed
        # record is on dr, an aborted record MirrorMaker copied would be there too.
        deadline = time.monotonic() + 120
        while True:
            seen = read_to_end(dr, mirrored, "read_uncommitted") if _exists(dr, mirrored) else {}
            if all(len(seen.get(p, [])) >= len(committed[p]) for p in range(PARTITIONS)):
                break
            assert time.monotonic() < deadline, (
                f"records per partition on dr within 120 s: { ({p: len(v) for p, v in seen.items()}) }, "
                f"committed { ({p: len(v) for p, v in committed.items()}) }\n"
                + mm("status", "--plan", str(plan)).output
            )
            time.sleep(0.5)
        took = time.monotonic() - started
    finally:
        stopped = mm("stop", "--plan", str(plan))
    assert stopped.exit_code == 0, stopped.output

    # Every reader on dr sees exactly the committed records, in order: no aborted one, none missing.
    for isolation in ("read_uncommitted", "read_committed"):
        got = read_to_end(dr, mirrored, isolation)
        leaked = sum(value in aborted[p] for p, values in got.items() for value in values)
        assert leaked == 0, f"a {isolation} reader on dr sees {leaked} records of the aborted transaction"
        assert got == committed, f"a {isolation} reader on dr"
    counts = {p: len(values) for p, values in committed.items()}
    assert end_offsets(dr, mirrored, IsolationLevel.READ_UNCOMMITTED) == counts
    assert end_offsets(dr, mirrored, IsolationLevel.READ_COMMITTED) == counts
    print(f"\n{kind}: {sum(counts.values())} committed records on dr {took:.1f} s after mm start")


def _exists(bootstrap: str, topic: str) -> bool:
    return topic in AdminClient(client_config(bootstrap)).list_topics(timeout=10).topics
