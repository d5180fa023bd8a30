"""Consumer groups' offsets on one cluster: listing groups and their states, reading committed offsets,
committing translated ones, and the offsets of a point in time (where a group without a checkpoint resumes).

Every function is blocking (callers run it in a thread), sends all its requests at once, and raises
:class:`~kdrtui.services.kafka.admin_calls.TranslateError` when the cluster does not answer within
``timeout`` seconds: a runbook must never act on a partial read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.services.kafka.admin_calls import (
    TP,
    TranslateError,
    admin_for,
    list_offsets_in_time,
    result_in_time,
    seconds_left,
)
from kdrtui.services.kafka.failures import explained, reason
from kdrtui.services.kafka.offsets import error_text

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


def list_groups(bootstrap: str, timeout: float = 10.0) -> list[str]:
    """Every consumer group id on ``bootstrap``, sorted.

    Raises:
        TranslateError: the cluster (or one of its brokers) did not answer.
    """
    deadline = time.monotonic() + timeout
    admin = admin_for(bootstrap)  # kept alive until the answer: a destroyed client never resolves its futures
    listing = result_in_time(
        admin.list_consumer_groups(request_timeout=timeout), deadline, "list groups", bootstrap
    )
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
    # Kept alive until the answers: a destroyed client never resolves its futures.
    admin = admin_for(bootstrap)
    futures = admin.describe_consumer_groups(wanted, request_timeout=timeout)
    states: dict[str, str] = {}
    for group in wanted:
        described = result_in_time(futures[group], deadline, f"describe group {group}", bootstrap)
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
    admin = admin_for(bootstrap)
    futures = {
        group: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=timeout
        )[group]
        for group in wanted
    }
    committed: dict[str, dict[TP, int]] = {}
    for group, future in futures.items():
        answer = result_in_time(future, deadline, f"read the offsets of group {group}", bootstrap)
        committed[group] = {
            (tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or [] if tp.offset >= 0
        }
    return committed


def _commit_error(error: KafkaError, group: str, bootstrap: str) -> str:
    """The text of a per-partition commit error; an active group's says so plainly."""
    if error.code() in ACTIVE_MEMBER_ERRORS:
        return f"group {group} has active members on {bootstrap} ({error.name()}): stop its consumers first"
    return reason(error, group)  # "group g: not authorized" when the ACLs refuse it


def _retriable(error: KafkaError) -> bool:
    """Worth sending again soon (a coordinator loading or moving), unlike a group with members."""
    return error.retriable() and error.code() not in ACTIVE_MEMBER_ERRORS


def _commit_once(
    admin: AdminClient, bootstrap: str, group: str, offsets: Mapping[TP, int], deadline: float
) -> dict[TP, KafkaError]:
    """One AlterConsumerGroupOffsets request: the partitions that failed, with their errors."""
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p, o) for (t, p), o in offsets.items()])
    future = admin.alter_consumer_group_offsets([request], request_timeout=seconds_left(deadline))[group]
    try:
        answer = future.result(timeout=seconds_left(deadline) + 1.0)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if not isinstance(error, KafkaError) or error.code() < 0:  # local: timed out, transport, ...
            text = f"cannot commit group {group}: {error_text(exc)}"
            raise TranslateError(explained(bootstrap, text, admin)) from exc
        return dict.fromkeys(offsets, error)  # the broker refused the whole group
    except TimeoutError as exc:
        raise TranslateError(explained(bootstrap, f"cannot commit group {group}: no answer in time")) from exc
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
    admin = admin_for(bootstrap)
    failed: dict[TP, KafkaError] = {}
    todo = dict(offsets)
    while todo:
        answer = _commit_once(admin, bootstrap, group, todo, deadline)
        for tp in todo:
            failed.pop(tp, None)
        failed.update(answer)
        retry = [tp for tp, error in answer.items() if _retriable(error)]
        if not retry or seconds_left(deadline) <= 2 * _RETRY_BACKOFF_S:
            break
        time.sleep(_RETRY_BACKOFF_S)
        todo = {tp: offsets[tp] for tp in retry}
    return {tp: _commit_error(error, group, bootstrap) for tp, error in sorted(failed.items())}


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
    admin = admin_for(bootstrap)
    found = list_offsets_in_time(
        admin, bootstrap, partitions, OffsetSpec.for_timestamp(timestamp_ms), deadline
    )
    past_end = [tp for tp, offset in found.items() if offset < 0]
    found.update(list_offsets_in_time(admin, bootstrap, past_end, OffsetSpec.latest(), deadline))
    return found
