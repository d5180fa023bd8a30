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
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from operator import attrgetter
from typing import Any, TypeVar

from confluent_kafka import IsolationLevel, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from confluent_kafka.cimpl import _AdminClientImpl

_LATEST = OffsetSpec.latest()._value  # -1: the high watermark (read_uncommitted), else the last stable offset
_EARLIEST = OffsetSpec.earliest()._value  # -2: the log start offset
BATCH = 250
"""Partitions per ListOffsets call (benchmarked: 100 to 500 are equally fast, 1,000 is 1.5x slower)."""

EndOffsetsRequest = list[list[TopicPartition]]
"""Batches of partitions, built once and sent every refresh."""


TP = tuple[str, int]
"""(topic, partition)."""

V = TypeVar("V")


def offsets_request(partitions: Iterable[TP], spec: int, batch: int = BATCH) -> EndOffsetsRequest:
    """Batches of ``partitions``, each asked for ``spec`` (an ``OffsetSpec``'s value); build it once, send
    it every refresh."""
    wanted = [TopicPartition(topic, partition, spec) for topic, partition in partitions]
    return [wanted[start : start + batch] for start in range(0, len(wanted), batch)]


def end_offsets_request(partitions: Iterable[TP], batch: int = BATCH) -> EndOffsetsRequest:
    """The request for the high watermarks of ``partitions``; build it once, send it every refresh."""
    return offsets_request(partitions, _LATEST, batch)


def log_starts_request(partitions: Iterable[TP], batch: int = BATCH) -> EndOffsetsRequest:
    """The request for the log start offsets of ``partitions``."""
    return offsets_request(partitions, _EARLIEST, batch)


def request_end_offsets(
    admin: AdminClient, request: EndOffsetsRequest, timeout: float, *, read_committed: bool = False
) -> list[Future[Any]]:
    """Start reading the offsets in ``request`` (every batch at once); resolve with
    :func:`end_offsets_result` or :func:`offsets_result`.

    ``read_committed``: ListOffsets with isolation READ_COMMITTED, so "latest" is the last stable offset
    (the end of committed data: below an open transaction) instead of the high watermark.
    """
    isolation = {"isolation_level_value": IsolationLevel.READ_COMMITTED.value} if read_committed else {}
    futures: list[Future[Any]] = []
    for batch in request:
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        _AdminClientImpl.list_offsets(admin, batch, future, request_timeout=timeout, **isolation)
        futures.append(future)
    return futures


def end_offsets_result(futures: list[Future[Any]], timeout: float) -> tuple[dict[TP, int], str | None]:
    """((topic, partition) -> end offset, last per-partition error or None).

    Raises when no batch answered at all (the cluster is unreachable); a batch that failed while others
    answered counts as an error for its partitions.
    """
    return _read_result(futures, timeout, attrgetter("offset"))


def offsets_result(
    futures: list[Future[Any]], timeout: float
) -> tuple[dict[TP, tuple[int, int]], str | None]:
    """((topic, partition) -> (offset, timestamp ms), last per-partition error or None); raises as
    :func:`end_offsets_result` does."""
    return _read_result(futures, timeout, attrgetter("offset", "timestamp"))


def _read_result(
    futures: list[Future[Any]], timeout: float, keep: Callable[[Any], V]
) -> tuple[dict[TP, V], str | None]:
    """((topic, partition) -> ``keep(ListOffsetsResultInfo)``, last error or None), waiting for every
    future until ``timeout`` seconds from now."""
    answers: dict[TP, V] = {}
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
                answers[(tp.topic, tp.partition)] = keep(info)
    if failure is not None:
        if not answered:
            raise failure
        error = error_text(failure)
    return answers, error


def error_text(exc: BaseException) -> str:
    """The message of a confluent-kafka exception (its KafkaError's text), else the exception's text."""
    cause = exc.args[0] if exc.args else None
    return cause.str() if isinstance(cause, KafkaError) else str(exc) or type(exc).__name__
