"""End offsets of many partitions in one batched request per cluster, with one future for the answer.

``AdminClient.list_offsets`` already sends one ListOffsets request per leader broker, but wraps every
partition in its own ``concurrent.futures.Future`` — about 25 µs each to create and resolve, which is
most of a refresh at ten thousand partitions. This calls the same C method with the single request-level
future confluent-kafka itself passes it, and reads the whole answer from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from confluent_kafka.cimpl import _AdminClientImpl

_LATEST = OffsetSpec.latest()._value  # -1: the high watermark (read_uncommitted)


def end_offsets_request(partitions: Iterable[tuple[str, int]]) -> list[TopicPartition]:
    """The request for the high watermarks of ``partitions``; build it once, send it every refresh."""
    return [TopicPartition(topic, partition, _LATEST) for topic, partition in partitions]


def request_end_offsets(admin: AdminClient, request: list[TopicPartition], timeout: float) -> Future[Any]:
    """Start reading the high watermarks in ``request``; resolve with :func:`end_offsets_result`."""
    future: Future[Any] = Future()
    future.set_running_or_notify_cancel()
    _AdminClientImpl.list_offsets(admin, request, future, request_timeout=timeout)
    return future


def end_offsets_result(future: Future[Any], timeout: float) -> tuple[dict[tuple[str, int], int], str | None]:
    """((topic, partition) -> end offset, last per-partition error or None); raises if the request failed."""
    ends: dict[tuple[str, int], int] = {}
    error: str | None = None
    for tp, info in future.result(timeout=timeout).items():
        if isinstance(info, KafkaError):
            error = info.str()
        else:
            ends[(tp.topic, tp.partition)] = info.offset
    return ends, error
