"""What the lag maths needs from a source cluster about its partitions behind their mirror.

For every partition whose replicated offset is below its high watermark, per refresh:

1. its log start offset and its last stable offset: two batched ListOffsets calls (earliest; latest with
   isolation READ_COMMITTED), 250 partitions a call, every call of every source cluster in flight at once
   — only for the partitions behind, like the end offsets are read for all;
2. the first committed record at or after ``max(replicated, log start)``, up to the last stable offset:
   a :class:`~kdrtui.services.kafka.record_times.FirstRecordReader` per source cluster (one batched,
   bounded, cached fetch).

Nothing here raises for a cluster that does not answer: a part that could not be read stays None in the
:class:`~kdrtui.domain.lag.SourceRead`, and the maths falls back to estimating from its history.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from confluent_kafka.admin import AdminClient

from kdrtui.domain.lag import SourceRead
from kdrtui.services.kafka.offsets import (
    end_offsets_request,
    end_offsets_result,
    error_text,
    log_starts_request,
    request_end_offsets,
)
from kdrtui.services.kafka.record_times import FirstRecordReader, Wanted

TP = tuple[str, int]
"""(topic, partition)."""

_log = logging.getLogger(__name__)

Behind = dict[TP, set[int]]
"""Partition -> the replicated offsets flows from this source report for it (usually one)."""


class SourceReads:
    """Reads log start offsets, last stable offsets and first unmirrored records from source clusters.

    Args:
        admins: an AdminClient per cluster alias (the lag engine's).
        bootstrap: bootstrap servers per alias (for the record readers' consumers).
        timeout: seconds a ListOffsets call may take.
    """

    def __init__(self, admins: dict[str, AdminClient], bootstrap: dict[str, str], timeout: float) -> None:
        self._admins = admins
        self._bootstrap = bootstrap
        self._timeout = timeout
        self._readers: dict[str, FirstRecordReader] = {}

    def read(self, behind: dict[str, Behind], budget_s: float) -> dict[str, dict[tuple[TP, int], SourceRead]]:
        """alias -> (partition, replicated offset) -> what the source says, for every partition behind.

        Takes at most about ``budget_s`` beyond the ListOffsets calls; a fetch that did not answer in
        time leaves its record fields None.
        """
        behind = {alias: tps for alias, tps in behind.items() if tps}
        pending = {
            alias: (
                request_end_offsets(self._admins[alias], log_starts_request(sorted(tps)), self._timeout),
                request_end_offsets(
                    self._admins[alias], end_offsets_request(sorted(tps)), self._timeout, read_committed=True
                ),
            )
            for alias, tps in behind.items()
        }
        bounds: dict[str, tuple[dict[TP, int], dict[TP, int]]] = {}
        for alias, (starts_future, stable_future) in pending.items():
            bounds[alias] = (_offsets(starts_future, self._timeout), _offsets(stable_future, self._timeout))
        deadline = time.monotonic() + budget_s

        def one(alias: str) -> dict[tuple[TP, int], SourceRead]:
            return self._read_records(alias, behind[alias], *bounds[alias], deadline)

        if len(behind) <= 1:
            return {alias: one(alias) for alias in behind}
        with ThreadPoolExecutor(max_workers=len(behind)) as pool:
            return dict(zip(behind, pool.map(one, behind), strict=True))

    def _read_records(
        self,
        alias: str,
        behind: Behind,
        log_starts: dict[TP, int],
        stable_ends: dict[TP, int],
        deadline: float,
    ) -> dict[tuple[TP, int], SourceRead]:
        wanted: list[Wanted] = []
        starts: dict[tuple[TP, int], int] = {}
        for tp, replicated_offsets in behind.items():
            end = stable_ends.get(tp)
            for replicated in replicated_offsets:
                start = max(replicated, log_starts.get(tp, replicated))
                starts[(tp, replicated)] = start
                if end is not None and start < end:
                    wanted.append((tp, start, end))
        found = {}
        if wanted:
            reader = self._readers.get(alias)
            if reader is None:
                reader = self._readers[alias] = FirstRecordReader(self._bootstrap[alias], alias)
            found = reader.read(wanted, max(0.0, deadline - time.monotonic()))
        reads: dict[tuple[TP, int], SourceRead] = {}
        for (tp, replicated), start in starts.items():
            first = found.get((tp, start))
            reads[(tp, replicated)] = SourceRead(
                log_start=log_starts.get(tp),
                stable_end=stable_ends.get(tp),
                first_offset=None if first is None else first.offset,
                first_timestamp=None
                if first is None or first.timestamp_ms is None
                else first.timestamp_ms / 1000.0,
                read_to=None if first is None or first.offset is not None else first.read_to,
            )
        return reads

    @property
    def fetched(self) -> int:
        """Partitions fetched so far by all readers (cache misses)."""
        return sum(reader.fetched for reader in self._readers.values())

    def close(self) -> None:
        """Close the record readers' consumers."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()


def _offsets(futures: list[Future[Any]], timeout: float) -> dict[TP, int]:
    """The answered offsets of a batched ListOffsets call; {} when none answered (the cluster stopped
    answering since its end offsets were read: the lag maths falls back to the history)."""
    try:
        offsets, error = end_offsets_result(futures, timeout)
    except Exception as exc:
        _log.info("cannot read log start or last stable offsets: %s", error_text(exc))
        return {}
    if error is not None:
        _log.info("some log start or last stable offsets unread: %s", error)
    return offsets
