"""Blocking AdminClient calls made against one deadline, and the error they raise when a cluster does not
answer: the building blocks of the offset reads and commits a runbook acts on
(:mod:`~kdrtui.services.kafka.internal_reads`, :mod:`~kdrtui.services.kafka.group_offsets`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.failures import explained
from kdrtui.services.kafka.offsets import error_text

TP = tuple[str, int]
"""(topic, partition)."""


class TranslateError(RuntimeError):
    """A cluster did not answer (in time), or answered an error that leaves the facts incomplete."""


def error_code(exc: BaseException) -> int | None:
    """The librdkafka error code inside ``exc``, if any."""
    error = exc.args[0] if exc.args else None
    return error.code() if isinstance(error, KafkaError) else None


def admin_for(bootstrap: str) -> AdminClient:
    """An AdminClient for ``bootstrap``."""
    return AdminClient(client_config(bootstrap))


def seconds_left(deadline: float) -> float:
    """Seconds until ``deadline`` (never negative)."""
    return max(0.0, deadline - time.monotonic())


def result_in_time(future: Future[Any], deadline: float, what: str, bootstrap: str) -> Any:
    """``future.result()``, turned into a TranslateError when it fails or outlives ``deadline`` (+1 s for
    the client's own timeout to fire first)."""
    try:
        return future.result(timeout=seconds_left(deadline) + 1.0)
    except KafkaException as exc:
        raise TranslateError(explained(bootstrap, f"cannot {what}: {error_text(exc)}")) from exc
    except TimeoutError as exc:
        raise TranslateError(explained(bootstrap, f"cannot {what}: no answer in time")) from exc


def list_offsets_in_time(
    admin: AdminClient, bootstrap: str, partitions: Iterable[TP], spec: OffsetSpec, deadline: float
) -> dict[TP, int]:
    """One ListOffsets round for ``partitions`` (all in flight at once); raises TranslateError on any
    partition's error."""
    wanted = {TopicPartition(t, p): spec for t, p in partitions}
    if not wanted:
        return {}
    futures = admin.list_offsets(wanted, request_timeout=seconds_left(deadline))
    found: dict[TP, int] = {}
    for tp, future in futures.items():
        info = result_in_time(future, deadline, f"list offsets of {tp.topic}[{tp.partition}]", bootstrap)
        found[(tp.topic, tp.partition)] = info.offset
    return found
