"""Reading MirrorMaker 2's internal topics whole: its checkpoints and offset syncs (and any topic, read from
its beginning up to the end offsets at call time).

Blocking (callers run it in a thread); raises :class:`~kdrtui.services.kafka.admin_calls.TranslateError`
when the cluster does not answer within ``timeout`` seconds: a runbook must never act on a partial read.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.services.kafka.admin_calls import (
    TP,
    TranslateError,
    admin_for,
    error_code,
    list_offsets_in_time,
    seconds_left,
)
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.failures import explained, not_authorized
from kdrtui.services.kafka.internal_topics import (
    CHECKPOINTS_TOPIC,
    OFFSET_SYNCS_TOPIC,
    Checkpoint,
    CheckpointKey,
    DecodeError,
    OffsetSync,
    decode_checkpoint,
    decode_checkpoint_key,
    decode_offset_sync,
)
from kdrtui.services.kafka.offsets import error_text

Record = tuple[bytes, bytes | None]
"""(key, value) of a record; value None for a tombstone."""


def _partition_count(admin: AdminClient, bootstrap: str, topic: str, deadline: float) -> int:
    """Partitions of ``topic`` (0 when it does not exist); raises TranslateError when unreachable."""
    future = admin.describe_topics(TopicCollection([topic]), request_timeout=seconds_left(deadline))[topic]
    try:
        described = future.result(timeout=seconds_left(deadline) + 1.0)
    except KafkaException as exc:
        if error_code(exc) == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return 0
        why = not_authorized(exc, topic, "DESCRIBE") or f"cannot describe {topic}: {error_text(exc)}"
        raise TranslateError(explained(bootstrap, why, admin)) from exc
    except TimeoutError as exc:
        raise TranslateError(
            explained(bootstrap, f"cannot describe {topic}: no answer in time", admin)
        ) from exc
    return len(described.partitions)


def _assigned_consumer(bootstrap: str, partitions: Iterable[TP]) -> Consumer:
    """A consumer reading ``partitions`` from their beginning; it never joins its group nor commits."""
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": f"kdrtui-translate-{secrets.token_hex(6)}",  # librdkafka wants one even so
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "fetch.wait.max.ms": 50,
            },
        )
    )
    consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in partitions])
    return consumer


def _drain(
    consumer: Consumer,
    starts: dict[TP, int],
    ends: dict[TP, int],
    deadline: float,
    stamps: list[int] | None = None,
) -> list[Record]:
    """Every record from ``starts`` up to ``ends``, in offset order per partition; raises TranslateError
    when out of time. ``stamps``: each record's timestamp (ms) is appended there, in the same order."""
    records: list[Record] = []
    position = dict(starts)
    pending = {tp for tp, end in ends.items() if end > starts[tp]}
    while pending:
        if time.monotonic() >= deadline:
            raise TranslateError(f"could not read {sorted(pending)} up to {ends} in time (at {position})")
        for message in consumer.consume(num_messages=1000, timeout=min(0.1, seconds_left(deadline))):
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if message.error() is not None or topic is None or partition is None or offset is None:
                continue
            key, value = message.key(), message.value()
            position[(topic, partition)] = offset + 1
            if (topic, partition) in pending and offset < ends[(topic, partition)] and isinstance(key, bytes):
                records.append((key, value if isinstance(value, bytes) else None))
                if stamps is not None:
                    stamps.append(message.timestamp()[1])
        # A compacted partition can end below its end offset: trust the consumer's position.
        for tp in consumer.position([TopicPartition(t, p) for t, p in pending]):
            if tp.offset >= 0:
                position[(tp.topic, tp.partition)] = max(position[(tp.topic, tp.partition)], tp.offset)
        pending = {tp for tp in pending if position[tp] < ends[tp]}
    return records


def read_topic(
    bootstrap: str, topic: str, timeout: float = 10.0, stamps: list[int] | None = None
) -> list[Record]:
    """Every record of ``topic`` from its beginning up to the end offsets read at call time.

    Records of one partition come in offset order. A missing topic gives []. Reads with an assigned
    consumer: no group join, no commit. ``stamps``: each record's timestamp (ms) is appended there.

    Raises:
        TranslateError: the cluster did not answer, or the read did not finish within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    admin = admin_for(bootstrap)
    count = _partition_count(admin, bootstrap, topic, deadline)
    if count == 0:
        return []
    partitions = [(topic, p) for p in range(count)]
    starts = list_offsets_in_time(admin, bootstrap, partitions, OffsetSpec.earliest(), deadline)
    ends = list_offsets_in_time(admin, bootstrap, partitions, OffsetSpec.latest(), deadline)
    if all(ends[tp] <= starts[tp] for tp in partitions):
        return []
    consumer = _assigned_consumer(bootstrap, partitions)
    try:
        try:
            return _drain(consumer, starts, ends, deadline, stamps)
        except TranslateError as exc:
            raise TranslateError(f"{bootstrap}: {topic}: {exc}") from exc
    finally:
        consumer.close()


def read_checkpoints(
    bootstrap: str, source_alias: str, timeout: float = 10.0
) -> dict[CheckpointKey, Checkpoint]:
    """The latest checkpoint per (group, target topic, partition) in ``<source_alias>.checkpoints.internal``
    on ``bootstrap`` (the target cluster); a tombstone removes its key. Missing topic: {}.

    Raises:
        TranslateError: the cluster did not answer, or the read did not finish within ``timeout``.
    """
    latest: dict[CheckpointKey, Checkpoint] = {}
    for key, value in read_topic(bootstrap, CHECKPOINTS_TOPIC.format(source=source_alias), timeout):
        try:
            checkpoint = decode_checkpoint(key, value)
            if checkpoint is None:  # a tombstone
                latest.pop(decode_checkpoint_key(key), None)
            else:
                latest[(checkpoint.group, checkpoint.topic, checkpoint.partition)] = checkpoint
        except (DecodeError, UnicodeDecodeError):
            continue  # not a checkpoint: never fail a runbook on one odd record
    return latest


def read_offset_syncs(bootstrap: str, source_alias: str, timeout: float = 10.0) -> dict[TP, list[OffsetSync]]:
    """Every offset sync in ``mm2-offset-syncs.<source_alias>.internal`` on ``bootstrap``, per (source
    topic, partition), sorted by upstream (then downstream). Missing topic: {}.

    Raises:
        TranslateError: the cluster did not answer, or the read did not finish within ``timeout``.
    """
    syncs: dict[TP, list[OffsetSync]] = {}
    for key, value in read_topic(bootstrap, OFFSET_SYNCS_TOPIC.format(source=source_alias), timeout):
        try:
            sync = decode_offset_sync(key, value)
        except (DecodeError, UnicodeDecodeError):
            continue
        if sync is not None:
            syncs.setdefault((sync.topic, sync.partition), []).append(sync)
    for partition_syncs in syncs.values():
        partition_syncs.sort(key=lambda s: (s.upstream, s.downstream))
    return syncs
