"""End offsets of many partitions in a few batched requests per cluster, with one future per batch.

``AdminClient.list_offsets`` already sends one ListOffsets request per leader broker, but wraps every
partition in its own ``concurrent.futures.Future`` — about 25 µs each to create and resolve, which is
most of a refresh at ten thousand partitions. This calls the same C method with the single request-level
future confluent-kafka itself passes it, and reads the whole answer from it.

The client's cost of one ListOffsets call grows faster than its size (measured on the lab, latest offsets
of one broker: 100 partitions 0.7 ms, 1,000 → 12 ms, 5,000 → 155 ms), so a request is cut into batches of
:data:`BATCH` partitions, all sent at once: 5,000 partitions take ~30 ms instead of ~150 ms.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from confluent_kafka.cimpl import _AdminClientImpl

_LATEST = OffsetSpec.latest()._value  # -1: the high watermark (read_uncommitted)
BATCH = 250
"""Partitions per ListOffsets call (benchmarked: 100 to 500 are equally fast, 1,000 is 1.5x slower)."""

EndOffsetsRequest = list[list[TopicPartition]]
"""Batches of partitions, built once and sent every refresh."""


def end_offsets_request(partitions: Iterable[tuple[str, int]], batch: int = BATCH) -> EndOffsetsRequest:
    """The request for the high watermarks of ``partitions``; build it once, send it every refresh."""
    wanted = [TopicPartition(topic, partition, _LATEST) for topic, partition in partitions]
    return [wanted[start : start + batch] for start in range(0, len(wanted), batch)]


def request_end_offsets(admin: AdminClient, request: EndOffsetsRequest, timeout: float) -> list[Future[Any]]:
    """Start reading the high watermarks in ``request`` (every batch at once); resolve with
    :func:`end_offsets_result`."""
    futures: list[Future[Any]] = []
    for batch in request:
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        _AdminClientImpl.list_offsets(admin, batch, future, request_timeout=timeout)
        futures.append(future)
    return futures


def end_offsets_result(
    futures: list[Future[Any]], timeout: float
) -> tuple[dict[tuple[str, int], int], str | None]:
    """((topic, partition) -> end offset, last per-partition error or None).

    Raises when no batch answered at all (the cluster is unreachable); a batch that failed while others
    answered counts as an error for its partitions.
    """
    ends: dict[tuple[str, int], int] = {}
    error: str | None = None
    failure: BaseException | None = None
    answered = False
    deadline = time.monotonic() + timeout
    for future in futures:
        try:
            result = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except Exception as exc:
            failure = exc
            continue
        answered = True
        for tp, info in result.items():
            if isinstance(info, KafkaError):
                error = info.str()
            else:
                ends[(tp.topic, tp.partition)] = info.offset
    if failure is not None:
        if not answered:
            raise failure
        cause = failure.args[0] if failure.args else None
        error = cause.str() if isinstance(cause, KafkaError) else str(failure) or type(failure).__name__
    return ends, error
