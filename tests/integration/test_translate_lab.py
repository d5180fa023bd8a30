"""The failover offset facts against the real lab: real brokers, no MirrorMaker.

Checkpoints and offset syncs are synthetic records in MirrorMaker's exact binary formats, written to the
internal topics of a made-up source alias unique to each test (``<alias>.checkpoints.internal``,
``mm2-offset-syncs.<alias>.internal`` on dr), so tests never see each other's records.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.internal_topics import (
    CHECKPOINTS_TOPIC,
    OFFSET_SYNCS_TOPIC,
    Checkpoint,
    OffsetSync,
    encode_checkpoint,
    encode_offset_sync,
    encode_string,
)
from kdrtui.services.kafka.translate import (
    TranslateError,
    commit_offsets,
    committed_offsets,
    group_states,
    list_groups,
    offsets_for_times,
    read_checkpoints,
    read_offset_syncs,
    translate_group,
    upstream_of,
)
from tests.kafka_helpers import create_topic, produce_numbered

pytestmark = pytest.mark.lab

Wait = Callable[..., float]
Record = tuple[bytes, bytes | None]
TIMEOUT = 15.0
"""Seconds a call against the lab gets (it answers in milliseconds; a loaded CI machine is slower)."""


def create_compacted(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """An internal topic as MirrorMaker creates it: compacted, one replica."""
    admin = AdminClient(client_config(bootstrap))
    new = NewTopic(
        topic, num_partitions=partitions, replication_factor=1, config={"cleanup.policy": "compact"}
    )
    admin.create_topics([new])[topic].result(30)


def produce(
    bootstrap: str,
    topic: str,
    records: list[Record],
    *,
    partition: int = 0,
    timestamps: list[int] | None = None,
) -> None:
    """Write ``records`` in order to one partition (with explicit CreateTime timestamps if given)."""
    producer = Producer(client_config(bootstrap, **{"enable.idempotence": True}))

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        assert err is None, err

    for n, (key, value) in enumerate(records):
        timestamp = 0 if timestamps is None else timestamps[n]  # 0: now
        producer.produce(
            topic, key=key, value=value, partition=partition, timestamp=timestamp, on_delivery=delivered
        )
    assert producer.flush(30) == 0


def write_checkpoints(bootstrap: str, alias: str, records: list[Checkpoint | tuple[str, str, int]]) -> None:
    """Checkpoints, and tombstones given as (group, topic, partition), into the alias's checkpoints topic."""
    topic = CHECKPOINTS_TOPIC.format(source=alias)
    create_compacted(bootstrap, topic)
    encoded: list[Record] = []
    for record in records:
        if isinstance(record, Checkpoint):
            encoded.append(encode_checkpoint(record))
        else:
            group, name, partition = record
            encoded.append((encode_string(group) + encode_string(name) + partition.to_bytes(4, "big"), None))
    produce(bootstrap, topic, encoded)


@pytest.fixture
def dr(lab: Lab) -> str:
    """The target cluster's bootstrap (where MirrorMaker's internal topics live)."""
    return lab.bootstrap(DR)


# --- MirrorMaker's internal topics ----------------------------------------------------------------------


def test_read_checkpoints_keeps_the_latest_per_key_and_honours_tombstones(dr: str, unique_name: str) -> None:
    alias = unique_name
    write_checkpoints(
        dr,
        alias,
        [
            Checkpoint("billing", f"{alias}.orders", 0, upstream=10, downstream=8),
            Checkpoint("billing", f"{alias}.orders", 1, upstream=5, downstream=5, metadata="m"),
            Checkpoint("audit", f"{alias}.orders", 0, upstream=3, downstream=3),
            Checkpoint("billing", f"{alias}.orders", 0, upstream=20, downstream=18),  # newer
            ("audit", f"{alias}.orders", 0),  # tombstone: the group's checkpoint was deleted
            ("nobody", f"{alias}.orders", 4),  # tombstone of a key never seen
        ],
    )
    produce(dr, CHECKPOINTS_TOPIC.format(source=alias), [(b"junk", b"\x01")])  # never fails the read

    checkpoints = read_checkpoints(dr, alias, timeout=TIMEOUT)

    assert checkpoints == {
        ("billing", f"{alias}.orders", 0): Checkpoint("billing", f"{alias}.orders", 0, 20, 18),
        ("billing", f"{alias}.orders", 1): Checkpoint("billing", f"{alias}.orders", 1, 5, 5, "m"),
    }
    translated = translate_group(checkpoints, "billing", {f"{alias}.orders": "orders"})
    assert translated.to_commit() == {(f"{alias}.orders", 0): 18, (f"{alias}.orders", 1): 5}
    assert translated.expected_duplicates({("orders", 0): 26, ("orders", 1): 5}) == {
        ("orders", 0): 6,
        ("orders", 1): 0,
    }


def test_read_checkpoints_of_a_flow_that_never_ran(dr: str, unique_name: str) -> None:
    assert read_checkpoints(dr, unique_name, timeout=TIMEOUT) == {}
    create_compacted(dr, CHECKPOINTS_TOPIC.format(source=unique_name))  # exists, but empty
    assert read_checkpoints(dr, unique_name, timeout=TIMEOUT) == {}


def test_read_offset_syncs_sorted_by_upstream(dr: str, unique_name: str) -> None:
    alias = unique_name
    topic = OFFSET_SYNCS_TOPIC.format(source=alias)
    create_compacted(dr, topic)
    written = [
        OffsetSync("orders", 0, upstream=400, downstream=90),
        OffsetSync("orders", 1, upstream=7, downstream=7),
        OffsetSync("orders", 0, upstream=100, downstream=10),
        OffsetSync("payments", 0, upstream=0, downstream=0),
        OffsetSync("orders", 0, upstream=250, downstream=60),
    ]
    produce(dr, topic, [encode_offset_sync(s) for s in written])

    syncs = read_offset_syncs(dr, alias, timeout=TIMEOUT)

    assert syncs == {
        ("orders", 0): [written[2], written[4], written[0]],
        ("orders", 1): [written[1]],
        ("payments", 0): [written[3]],
    }
    assert [upstream_of(syncs[("orders", 0)], d) for d in (9, 10, 11, 60, 89, 90, 95)] == [
        None,
        100,
        101,
        250,
        251,
        400,
        401,
    ]
    assert read_offset_syncs(dr, f"{alias}-none", timeout=TIMEOUT) == {}


# --- consumer groups ------------------------------------------------------------------------------------


@pytest.fixture
def group_topic(dr: str, unique_name: str) -> str:
    """A two-partition topic on dr with 100 records."""
    create_topic(dr, unique_name, partitions=2)
    produce_numbered(dr, unique_name, 100)
    return unique_name


def test_commit_and_read_back_offsets(dr: str, group_topic: str) -> None:
    group = f"g-{group_topic}"
    offsets = {(group_topic, 0): 5, (group_topic, 1): 7}

    assert commit_offsets(dr, group, offsets, timeout=TIMEOUT) == {}

    assert committed_offsets(dr, [group, f"{group}-none"], timeout=TIMEOUT) == {
        group: offsets,
        f"{group}-none": {},
    }
    assert group_states(dr, [group, f"{group}-none"], timeout=TIMEOUT) == {
        group: "empty",
        f"{group}-none": "dead",
    }
    assert group in list_groups(dr, timeout=TIMEOUT)
    # Moving a group back is allowed too (a failback).
    assert commit_offsets(dr, group, {(group_topic, 0): 1}, timeout=TIMEOUT) == {}
    assert committed_offsets(dr, [group], timeout=TIMEOUT)[group] == {
        (group_topic, 0): 1,
        (group_topic, 1): 7,
    }


@pytest.fixture
def active_member(dr: str, group_topic: str, wait_until: Wait) -> Iterator[str]:
    """A real consumer in group ``g-<topic>``, subscribed and polling; yields the group id."""
    group = f"g-{group_topic}"
    consumer = Consumer(
        client_config(dr, **{"group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    )
    consumer.subscribe([group_topic])
    try:
        wait_until(lambda: consumer.poll(0.1) is not None and consumer.assignment(), TIMEOUT, 0, "assignment")
        yield group
    finally:
        consumer.close()


def test_commit_to_a_group_with_an_active_member_is_refused(
    dr: str, group_topic: str, active_member: str
) -> None:
    assert group_states(dr, [active_member], timeout=TIMEOUT) == {active_member: "stable"}
    offsets = {(group_topic, 0): 5, (group_topic, 1): 7}

    errors = commit_offsets(dr, active_member, offsets, timeout=TIMEOUT)

    assert set(errors) == set(offsets)
    for error in errors.values():
        assert f"group {active_member} has active members on {dr}" in error


# --- offsets by time ------------------------------------------------------------------------------------


def test_offsets_for_times(lab: Lab, unique_name: str) -> None:
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=3)
    base = int(time.time() * 1000) - 3_600_000
    records: list[Record] = [(b"k", b"v")] * 5
    produce(primary, unique_name, records, partition=0, timestamps=[base + n * 1000 for n in range(5)])
    produce(primary, unique_name, records[:3], partition=1, timestamps=[base - 10_000] * 3)  # all older
    tps = [(unique_name, p) for p in range(3)]

    assert offsets_for_times(primary, tps, base + 1500, timeout=TIMEOUT) == {
        (unique_name, 0): 2,  # the first record at base + 2000
        (unique_name, 1): 3,  # none that recent: the end offset
        (unique_name, 2): 0,  # empty partition: its end offset
    }
    assert offsets_for_times(primary, tps[:1], base + 3000, timeout=TIMEOUT) == {(unique_name, 0): 3}
    assert offsets_for_times(primary, tps[:2], 0, timeout=TIMEOUT) == {
        (unique_name, 0): 0,
        (unique_name, 1): 0,
    }
    assert offsets_for_times(primary, tps[:1], base + 3_600_000, timeout=TIMEOUT) == {(unique_name, 0): 5}
    with pytest.raises(TranslateError):
        offsets_for_times(primary, [(f"{unique_name}-none", 0)], base, timeout=TIMEOUT)


# --- an unreachable cluster -----------------------------------------------------------------------------

UNREACHABLE = "127.0.0.1:1"
CALLS: dict[str, Callable[[float], object]] = {
    "read_checkpoints": lambda t: read_checkpoints(UNREACHABLE, "primary", timeout=t),
    "read_offset_syncs": lambda t: read_offset_syncs(UNREACHABLE, "primary", timeout=t),
    "list_groups": lambda t: list_groups(UNREACHABLE, timeout=t),
    "group_states": lambda t: group_states(UNREACHABLE, ["g"], timeout=t),
    "committed_offsets": lambda t: committed_offsets(UNREACHABLE, ["g"], timeout=t),
    "commit_offsets": lambda t: commit_offsets(UNREACHABLE, "g", {("t", 0): 1}, timeout=t),
    "offsets_for_times": lambda t: offsets_for_times(UNREACHABLE, [("t", 0)], 0, timeout=t),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_unreachable_cluster_raises_within_the_timeout(call: str) -> None:
    timeout = 2.0
    started = time.monotonic()
    with pytest.raises(TranslateError, match=UNREACHABLE):
        CALLS[call](timeout)
    assert time.monotonic() - started < timeout + 2.0
