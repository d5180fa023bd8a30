"""Transactions through MirrorMaker on the lab: real transactional producers on primary, real MirrorMaker 2
and 1 over SSH, real readers on dr. MirrorMaker reads the source read_committed, so the records of an
aborted transaction never reach the DR cluster, whoever reads them there."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from confluent_kafka import IsolationLevel, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.domain.plan import MirrorMakerKind, Naming
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from tests.kafka_helpers import create_topic, produce_transactions, read_to_eof
from tests.lab_helpers import lab_plan_variant, mm

pytestmark = pytest.mark.lab

PARTITIONS = 3


def narrowed_plan(lab: Lab, tmp_path: Path, name: str, **flow: object) -> Path:
    """The lab plan mirroring only ``name`` (topic and groups), with ``flow`` changes and its own work dir."""
    only = re.escape(name)
    return lab_plan_variant(lab, tmp_path, flow={"topics": [only], "groups": [only], **flow})


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
    committed, aborted = produce_transactions(primary, unique_name, f"{unique_name}-tx", PARTITIONS)
    # The aborted records are in the source's log: a read_uncommitted reader there sees them.
    source = read_to_eof(primary, unique_name, PARTITIONS, "read_uncommitted")
    assert all(set(aborted[p]) <= set(source[p]) for p in range(PARTITIONS))
    assert read_to_eof(primary, unique_name, PARTITIONS, "read_committed") == committed
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
            seen = read_to_eof(dr, mirrored, PARTITIONS, "read_uncommitted") if _exists(dr, mirrored) else {}
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
        got = read_to_eof(dr, mirrored, PARTITIONS, isolation)
        leaked = sum(value in aborted[p] for p, values in got.items() for value in values)
        assert leaked == 0, f"a {isolation} reader on dr sees {leaked} records of the aborted transaction"
        assert got == committed, f"a {isolation} reader on dr"
    counts = {p: len(values) for p, values in committed.items()}
    assert end_offsets(dr, mirrored, IsolationLevel.READ_UNCOMMITTED) == counts
    assert end_offsets(dr, mirrored, IsolationLevel.READ_COMMITTED) == counts
    print(f"\n{kind}: {sum(counts.values())} committed records on dr {took:.1f} s after mm start")


def _exists(bootstrap: str, topic: str) -> bool:
    return topic in AdminClient(client_config(bootstrap)).list_topics(timeout=10).topics
