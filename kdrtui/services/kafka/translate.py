"""Consumer-group offset facts for a failover runbook: MirrorMaker 2's checkpoints and offset syncs, group
states, committed offsets, committing translated offsets, offsets for a point in time.

Every I/O function is blocking (callers run it in a thread), builds its clients with
:func:`~kdrtui.services.kafka.config.client_config`, sends all its requests at once, and raises
:class:`TranslateError` when the cluster does not answer within ``timeout`` seconds: a runbook must never
act on a partial read. The translation helpers (:func:`upstream_of`, :func:`translate_group`) are pure.

Translation, as MirrorMaker does it (REFERENCE §2): a checkpoint carries a group's committed offset on the
source (``upstream``) and its translation on the target (``downstream``), conservative — consumers that
resume at ``downstream`` re-read up to about ``offset.lag.max`` records, never skip one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.internal_topics import (
    CHECKPOINTS_TOPIC,
    OFFSET_SYNCS_TOPIC,
    Checkpoint,
    DecodeError,
    OffsetSync,
    decode_checkpoint,
    decode_checkpoint_key,
    decode_offset_sync,
)
from kdrtui.services.kafka.offsets import error_text

TP = tuple[str, int]
"""(topic, partition)."""
CheckpointKey = tuple[str, str, int]
"""(group, target topic, partition)."""
Record = tuple[bytes, bytes | None]
"""(key, value) of a record; value None for a tombstone."""

ACTIVE_MEMBER_ERRORS = frozenset(
    {
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.FENCED_MEMBER_EPOCH,
        KafkaError.STALE_MEMBER_EPOCH,
    }
)
"""Errors a broker answers to an admin commit into a group that has members (classic or KIP-848)."""
_RETRY_BACKOFF_S = 0.2
"""Pause before re-sending partitions that failed with a retriable error (coordinator loading)."""


class TranslateError(RuntimeError):
    """A cluster did not answer (in time), or answered an error that leaves the facts incomplete."""


# --- pure: translation ---------------------------------------------------------------------------------


def upstream_of(syncs: list[OffsetSync], downstream: int) -> int | None:
    """The source offset matching ``downstream`` on the target, conservatively (the reverse of MirrorMaker's
    ``translateDownstream``).

    Args:
        syncs: the offset syncs of one partition, sorted by upstream.
        downstream: an offset on the target.

    Returns:
        ``sync.upstream`` of the latest sync with ``sync.downstream == downstream``, ``sync.upstream + 1``
        when the latest sync with ``sync.downstream <= downstream`` lies below it, None when no sync is that
        old (no translation).
    """
    for sync in reversed(syncs):
        if sync.downstream <= downstream:
            return sync.upstream + (0 if sync.downstream == downstream else 1)
    return None


def downstream_of(syncs: list[OffsetSync], upstream: int) -> int | None:
    """The target offset to resume at for a source position ``upstream``, by MirrorMaker's own rule
    (``OffsetSync::translateDownstream``) over EVERY sync of the partition rather than the sparse set a
    checkpoint task keeps: ``sync.downstream`` for an exact hit, ``sync.downstream + 1`` past the latest
    sync below it; None when no sync is that old. Re-delivers fewer than ``offset.lag.max`` records, as
    MirrorMaker emits a sync at least every ``offset.lag.max`` records.
    """
    for sync in reversed(syncs):
        if sync.upstream <= upstream:
            return sync.downstream + (0 if sync.upstream == upstream else 1)
    return None


def best_downstream(upstream: int, checkpoint: Checkpoint | None, syncs: list[OffsetSync]) -> int | None:
    """The furthest safe target offset for source position ``upstream``: the checkpoint's (when it is not
    ahead of ``upstream``) or the offset syncs' translation, whichever re-delivers less."""
    candidates = [] if checkpoint is None or checkpoint.upstream > upstream else [checkpoint.downstream]
    from_syncs = downstream_of(syncs, upstream)
    if from_syncs is not None:
        candidates.append(from_syncs)
    return max(candidates) if candidates else None


def plan_partition(
    upstream: int, checkpoint: Checkpoint | None, syncs: list[OffsetSync]
) -> tuple[int, int] | None:
    """For a group at source offset ``upstream`` on one partition: (the target offset to commit, the records
    it will read again there), or None when nothing translates it yet.

    The one computation behind both the failover's translate step and every forecast of it (pre-flight,
    ``kdrtui status`` groups, the lag pane): the resume point is :func:`best_downstream`; the records read
    again are those between the source offset that resume point stands for (:func:`upstream_of`, or the
    checkpoint's own upstream when no sync is that old) and ``upstream``.
    """
    downstream = best_downstream(upstream, checkpoint, syncs)
    if downstream is None:
        return None
    base = upstream_of(syncs, downstream)
    if base is None and checkpoint is not None:
        base = checkpoint.upstream
    return downstream, max(0, upstream - (base if base is not None else upstream))


def best_upstream(downstream: int, checkpoint: Checkpoint | None, syncs: list[OffsetSync]) -> int | None:
    """The furthest safe source offset for a target position ``downstream`` (failback: a group's offset on
    the mirror mapped back to the original topic).

    The offset syncs give :func:`upstream_of`. A checkpoint of the same group whose ``downstream`` the
    group has reached says more: the group had committed ``checkpoint.upstream`` on the source itself, so
    everything before it was read there — resuming at it re-reads nothing the group did not read on the
    mirror. A group that did not move on the mirror thus goes back exactly where it was.
    """
    candidates = [] if checkpoint is None or checkpoint.downstream > downstream else [checkpoint.upstream]
    from_syncs = upstream_of(syncs, downstream)
    if from_syncs is not None:
        candidates.append(from_syncs)
    return max(candidates) if candidates else None


@dataclass(frozen=True, slots=True)
class TranslatedOffset:
    """One partition of a group's failover: where to resume on the target, and where that came from."""

    source_topic: str
    """Topic name on the source."""
    target_topic: str
    """Topic name on the target."""
    partition: int
    """Partition number (the same on both sides)."""
    upstream: int
    """The group's committed offset on the source when MirrorMaker wrote the checkpoint."""
    downstream: int
    """The offset to commit on the target."""


@dataclass(frozen=True, slots=True)
class GroupTranslation:
    """A group's translated offsets, from the latest checkpoints."""

    group: str
    """Consumer group id."""
    offsets: tuple[TranslatedOffset, ...]
    """One per checkpointed partition, sorted by (target topic, partition)."""

    def to_commit(self) -> dict[TP, int]:
        """(target topic, partition) -> offset to commit on the target (for :func:`commit_offsets`)."""
        return {(o.target_topic, o.partition): o.downstream for o in self.offsets}

    def upstream(self) -> dict[TP, int]:
        """(source topic, partition) -> the source offset each checkpoint was made from."""
        return {(o.source_topic, o.partition): o.upstream for o in self.offsets}

    def expected_duplicates(self, committed_on_source: Mapping[TP, int]) -> dict[TP, int]:
        """(source topic, partition) -> records the group processed on the source after its checkpoint
        (``committed - checkpoint.upstream``, at least 0): at least this many are read again on the target.

        Partitions without a committed offset on the source are left out.
        """
        return {
            (o.source_topic, o.partition): max(
                0, committed_on_source[(o.source_topic, o.partition)] - o.upstream
            )
            for o in self.offsets
            if (o.source_topic, o.partition) in committed_on_source
        }


def translate_group(
    checkpoints: Mapping[CheckpointKey, Checkpoint],
    group: str,
    topic_map: Mapping[str, str] | None = None,
) -> GroupTranslation:
    """The offsets to commit for ``group`` on the target, from the latest checkpoints.

    Args:
        checkpoints: the latest checkpoint per (group, target topic, partition) (:func:`read_checkpoints`).
        group: the consumer group.
        topic_map: target topic -> source topic (``primary.orders`` -> ``orders`` with the default
            replication policy). Only the topics it names are translated. None: every checkpointed topic of
            the group, with the same name on both sides (identity replication policy).
    """
    offsets = [
        TranslatedOffset(
            source_topic=topic if topic_map is None else topic_map[topic],
            target_topic=topic,
            partition=partition,
            upstream=checkpoint.upstream,
            downstream=checkpoint.downstream,
        )
        for (g, topic, partition), checkpoint in sorted(checkpoints.items())
        if g == group and (topic_map is None or topic in topic_map)
    ]
    return GroupTranslation(group=group, offsets=tuple(offsets))


# --- helpers ---------------------------------------------------------------------------------------------


def _error_code(exc: BaseException) -> int | None:
    """The librdkafka error code inside ``exc``, if any."""
    error = exc.args[0] if exc.args else None
    return error.code() if isinstance(error, KafkaError) else None


def _admin(bootstrap: str) -> AdminClient:
    """An AdminClient for ``bootstrap``."""
    return AdminClient(client_config(bootstrap))


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (never negative)."""
    return max(0.0, deadline - time.monotonic())


def _result(future: Future[Any], deadline: float, what: str, bootstrap: str) -> Any:
    """``future.result()``, turned into a TranslateError when it fails or outlives ``deadline`` (+1 s for
    the client's own timeout to fire first)."""
    try:
        return future.result(timeout=_left(deadline) + 1.0)
    except KafkaException as exc:
        raise TranslateError(f"{bootstrap}: cannot {what}: {error_text(exc)}") from exc
    except TimeoutError as exc:
        raise TranslateError(f"{bootstrap}: cannot {what}: no answer in time") from exc


def _list_offsets(
    admin: AdminClient, bootstrap: str, partitions: Iterable[TP], spec: OffsetSpec, deadline: float
) -> dict[TP, int]:
    """One ListOffsets round for ``partitions`` (all in flight at once); raises TranslateError on any
    partition's error."""
    wanted = {TopicPartition(t, p): spec for t, p in partitions}
    if not wanted:
        return {}
    futures = admin.list_offsets(wanted, request_timeout=_left(deadline))
    found: dict[TP, int] = {}
    for tp, future in futures.items():
        info = _result(future, deadline, f"list offsets of {tp.topic}[{tp.partition}]", bootstrap)
        found[(tp.topic, tp.partition)] = info.offset
    return found


# --- reading MirrorMaker's internal topics -------------------------------------------------------------


def _partition_count(admin: AdminClient, bootstrap: str, topic: str, deadline: float) -> int:
    """Partitions of ``topic`` (0 when it does not exist); raises TranslateError when unreachable."""
    future = admin.describe_topics(TopicCollection([topic]), request_timeout=_left(deadline))[topic]
    try:
        described = future.result(timeout=_left(deadline) + 1.0)
    except KafkaException as exc:
        if _error_code(exc) == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return 0
        raise TranslateError(f"{bootstrap}: cannot describe {topic}: {error_text(exc)}") from exc
    except TimeoutError as exc:
        raise TranslateError(f"{bootstrap}: cannot describe {topic}: no answer in time") from exc
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


def _drain(consumer: Consumer, starts: dict[TP, int], ends: dict[TP, int], deadline: float) -> list[Record]:
    """Every record from ``starts`` up to ``ends``, in offset order per partition; raises TranslateError
    when out of time."""
    records: list[Record] = []
    position = dict(starts)
    pending = {tp for tp, end in ends.items() if end > starts[tp]}
    while pending:
        if time.monotonic() >= deadline:
            raise TranslateError(f"could not read {sorted(pending)} up to {ends} in time (at {position})")
        for message in consumer.consume(num_messages=1000, timeout=min(0.1, _left(deadline))):
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if message.error() is not None or topic is None or partition is None or offset is None:
                continue
            key, value = message.key(), message.value()
            position[(topic, partition)] = offset + 1
            if (topic, partition) in pending and offset < ends[(topic, partition)] and isinstance(key, bytes):
                records.append((key, value if isinstance(value, bytes) else None))
        # A compacted partition can end below its end offset: trust the consumer's position.
        for tp in consumer.position([TopicPartition(t, p) for t, p in pending]):
            if tp.offset >= 0:
                position[(tp.topic, tp.partition)] = max(position[(tp.topic, tp.partition)], tp.offset)
        pending = {tp for tp in pending if position[tp] < ends[tp]}
    return records


def read_topic(bootstrap: str, topic: str, timeout: float = 10.0) -> list[Record]:
    """Every record of ``topic`` from its beginning up to the end offsets read at call time.

    Records of one partition come in offset order. A missing topic gives []. Reads with an assigned
    consumer: no group join, no commit.

    Raises:
        TranslateError: the cluster did not answer, or the read did not finish within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    admin = _admin(bootstrap)
    count = _partition_count(admin, bootstrap, topic, deadline)
    if count == 0:
        return []
    partitions = [(topic, p) for p in range(count)]
    starts = _list_offsets(admin, bootstrap, partitions, OffsetSpec.earliest(), deadline)
    ends = _list_offsets(admin, bootstrap, partitions, OffsetSpec.latest(), deadline)
    if all(ends[tp] <= starts[tp] for tp in partitions):
        return []
    consumer = _assigned_consumer(bootstrap, partitions)
    try:
        try:
            return _drain(consumer, starts, ends, deadline)
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


# --- consumer groups -------------------------------------------------------------------------------------


def list_groups(bootstrap: str, timeout: float = 10.0) -> list[str]:
    """Every consumer group id on ``bootstrap``, sorted.

    Raises:
        TranslateError: the cluster (or one of its brokers) did not answer.
    """
    deadline = time.monotonic() + timeout
    admin = _admin(bootstrap)  # kept alive until the answer: a destroyed client never resolves its futures
    listing = _result(admin.list_consumer_groups(request_timeout=timeout), deadline, "list groups", bootstrap)
    if listing.errors:
        errors = "; ".join(e.str() if isinstance(e, KafkaError) else str(e) for e in listing.errors)
        raise TranslateError(f"{bootstrap}: cannot list consumer groups: {errors}")
    return sorted(g.group_id for g in listing.valid)


def group_states(bootstrap: str, groups: Iterable[str], timeout: float = 10.0) -> dict[str, str]:
    """group -> state in lower case (``empty``, ``stable``, ``dead`` for a group that does not exist,
    ``preparing_rebalancing``, ``completing_rebalancing``, ``unknown``). All groups described at once.

    Raises:
        TranslateError: the cluster did not answer for some group.
    """
    wanted = sorted(set(groups))
    if not wanted:
        return {}
    deadline = time.monotonic() + timeout
    admin = _admin(bootstrap)  # kept alive until the answers: a destroyed client never resolves its futures
    futures = admin.describe_consumer_groups(wanted, request_timeout=timeout)
    states: dict[str, str] = {}
    for group in wanted:
        described = _result(futures[group], deadline, f"describe group {group}", bootstrap)
        states[group] = described.state.name.lower()
    return states


def committed_offsets(
    bootstrap: str, groups: Iterable[str], timeout: float = 10.0
) -> dict[str, dict[TP, int]]:
    """group -> (topic, partition) -> committed offset, only partitions with an offset (>= 0); a group
    without any gives {}. One request per group, all in flight at once.

    Raises:
        TranslateError: the cluster did not answer for some group.
    """
    wanted = sorted(set(groups))
    deadline = time.monotonic() + timeout
    admin = _admin(bootstrap)
    futures = {
        group: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
        )[group]
        for group in wanted
    }
    committed: dict[str, dict[TP, int]] = {}
    for group, future in futures.items():
        answer = _result(future, deadline, f"read the offsets of group {group}", bootstrap)
        committed[group] = {
            (tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or [] if tp.offset >= 0
        }
    return committed


def _commit_error(error: KafkaError, group: str, bootstrap: str) -> str:
    """The text of a per-partition commit error; an active group's says so plainly."""
    if error.code() in ACTIVE_MEMBER_ERRORS:
        return f"group {group} has active members on {bootstrap} ({error.name()}): stop its consumers first"
    return error.str()


def _retriable(error: KafkaError) -> bool:
    """Worth sending again soon (a coordinator loading or moving), unlike a group with members."""
    return error.retriable() and error.code() not in ACTIVE_MEMBER_ERRORS


def _commit_once(
    admin: AdminClient, bootstrap: str, group: str, offsets: Mapping[TP, int], deadline: float
) -> dict[TP, KafkaError]:
    """One AlterConsumerGroupOffsets request: the partitions that failed, with their errors."""
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p, o) for (t, p), o in offsets.items()])
    future = admin.alter_consumer_group_offsets([request], request_timeout=_left(deadline))[group]
    try:
        answer = future.result(timeout=_left(deadline) + 1.0)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if not isinstance(error, KafkaError) or error.code() < 0:  # local: timed out, transport, ...
            raise TranslateError(f"{bootstrap}: cannot commit group {group}: {error_text(exc)}") from exc
        return dict.fromkeys(offsets, error)  # the broker refused the whole group
    except TimeoutError as exc:
        raise TranslateError(f"{bootstrap}: cannot commit group {group}: no answer in time") from exc
    return {
        (tp.topic, tp.partition): tp.error for tp in answer.topic_partitions or [] if tp.error is not None
    }


def commit_offsets(
    bootstrap: str, group: str, offsets: Mapping[TP, int], timeout: float = 10.0
) -> dict[TP, str]:
    """Commit ``offsets`` ((topic, partition) -> offset) for ``group`` on ``bootstrap``.

    Partitions that fail with a retriable error (the coordinator still loading) are sent again until
    ``timeout``. A group with members refuses the commit: its partitions say "group <g> has active members
    on <bootstrap>".

    Returns:
        (topic, partition) -> error text of the partitions NOT committed; {} when all were.

    Raises:
        TranslateError: the cluster did not answer.
    """
    deadline = time.monotonic() + timeout
    admin = _admin(bootstrap)
    failed: dict[TP, KafkaError] = {}
    todo = dict(offsets)
    while todo:
        answer = _commit_once(admin, bootstrap, group, todo, deadline)
        for tp in todo:
            failed.pop(tp, None)
        failed.update(answer)
        retry = [tp for tp, error in answer.items() if _retriable(error)]
        if not retry or _left(deadline) <= 2 * _RETRY_BACKOFF_S:
            break
        time.sleep(_RETRY_BACKOFF_S)
        todo = {tp: offsets[tp] for tp in retry}
    return {tp: _commit_error(error, group, bootstrap) for tp, error in sorted(failed.items())}


# --- offsets by time -------------------------------------------------------------------------------------


def offsets_for_times(
    bootstrap: str, partitions: Iterable[TP], timestamp_ms: int, timeout: float = 10.0
) -> dict[TP, int]:
    """(topic, partition) -> offset of the first record with a timestamp >= ``timestamp_ms``; the
    partition's end offset (high watermark) where no record is that recent.

    Raises:
        ValueError: a negative timestamp (those are OffsetSpec's special values).
        TranslateError: the cluster did not answer, or a partition does not exist.
    """
    if timestamp_ms < 0:
        raise ValueError(f"timestamp_ms must be >= 0, not {timestamp_ms}")
    deadline = time.monotonic() + timeout
    admin = _admin(bootstrap)
    found = _list_offsets(admin, bootstrap, partitions, OffsetSpec.for_timestamp(timestamp_ms), deadline)
    past_end = [tp for tp, offset in found.items() if offset < 0]
    found.update(_list_offsets(admin, bootstrap, past_end, OffsetSpec.latest(), deadline))
    return found
