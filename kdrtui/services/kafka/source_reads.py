"""What the lag maths needs from a source cluster about its partitions behind their mirror.

For every partition whose replicated offset is below its high watermark, per refresh:

1. its log start offset and its last stable offset: two batched ListOffsets calls (earliest; latest with
   isolation READ_COMMITTED), 250 partitions a call, every call of every source cluster in flight at once
   — only for the partitions behind, like the end offsets are read for all; sent with the end offsets
   for the partitions behind at the previous refresh; the last stable offset only where it can have
   changed (a transaction was open, or the high watermark moved); a last stable offset sent early that
   answers below the high watermark is asked again after it (it may predate the transaction's marker);
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
    EndOffsetsRequest,
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

    The lag engine calls :meth:`send` with the partitions behind at its last refresh as soon as a refresh
    starts, so their ListOffsets calls travel alongside the end offsets; :meth:`read` then asks only for
    partitions newly behind, and waits.

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
        self._sent: dict[str, dict[bool, tuple[set[TP], list[Future[Any]]]]] = {}
        """alias -> read_committed -> (partitions, futures) sent early by :meth:`send`."""
        self._requests: dict[tuple[str, bool], tuple[frozenset[TP], EndOffsetsRequest]] = {}
        """(alias, read_committed) -> (partitions, the ListOffsets request): built once while they stay."""
        self._stable: dict[str, dict[TP, int]] = {}
        """alias -> partitions without an open transaction at the last read -> their end offset then."""
        self._last: dict[str, dict[tuple[TP, int], SourceRead]] = {}
        """The previous answers, reused when nothing in them changed (fewer objects per refresh)."""
        self.behind: dict[str, set[TP]] = {}
        """alias -> the partitions behind at the last :meth:`read` (what the next :meth:`send` asks)."""

    def send(self, aliases: set[str]) -> None:
        """Send the ListOffsets calls for the partitions behind at the last read, of ``aliases``: their log
        start offsets, and the last stable offsets of those that had a transaction open (the others'
        is known without asking while their end offset stays where it was, see :meth:`read`)."""
        self._sent = {}
        for alias, tps in self.behind.items():
            if tps and alias in aliases:
                stable = self._stable.get(alias, {})
                unsure = {tp for tp in tps if tp not in stable}
                self._sent[alias] = {False: (tps, self._send(alias, tps, read_committed=False))}
                if unsure:
                    self._sent[alias][True] = (unsure, self._send(alias, unsure, read_committed=True))

    def _send(
        self, alias: str, tps: set[TP], *, read_committed: bool, keep: bool = True
    ) -> list[Future[Any]]:
        """Send the ListOffsets call for ``tps``: log start offsets, or (``read_committed``) last stable
        offsets. ``keep``: the request is built once and kept while the partitions stay the same."""
        key = frozenset(tps)
        cached = self._requests.get((alias, read_committed))
        if cached is None or cached[0] != key:
            ordered = sorted(tps)
            request = end_offsets_request(ordered) if read_committed else log_starts_request(ordered)
            cached = (key, request)
            if keep:
                self._requests[(alias, read_committed)] = cached
        return request_end_offsets(
            self._admins[alias], cached[1], self._timeout, read_committed=read_committed
        )

    def read(
        self, behind: dict[str, Behind], ends: dict[str, dict[TP, int]], budget_s: float
    ) -> dict[str, dict[tuple[TP, int], SourceRead]]:
        """alias -> (partition, replicated offset) -> what the source says, for every partition behind
        (``ends``: the high watermarks just read, per alias).

        A partition whose last stable offset equalled its high watermark at the last read, and whose high
        watermark did not move since, has the same last stable offset (no record was appended, so no
        transaction opened): it is not asked again. Takes at most about ``budget_s`` beyond the
        ListOffsets calls; a fetch that did not answer in time leaves its record fields None.
        """
        behind = {alias: tps for alias, tps in behind.items() if tps}
        sent, self._sent = self._sent, {}
        pending: dict[str, dict[bool, list[list[Future[Any]]]]] = {}
        known: dict[str, dict[TP, int]] = {}
        for alias, tps in behind.items():
            early = sent.get(alias, {})
            stable, high = self._stable.get(alias, {}), ends.get(alias, {})
            known[alias] = {tp: stable[tp] for tp in tps if tp in stable and high.get(tp) == stable[tp]}
            wanted = {False: set(tps), True: {tp for tp in tps if tp not in known[alias]}}
            pending[alias] = {}
            for committed, needed in wanted.items():
                asked, futures = early.get(committed, (set(), None))
                calls = pending[alias][committed] = [] if futures is None else [futures]
                late = needed - asked
                if late:
                    calls.append(self._send(alias, late, read_committed=committed, keep=futures is None))
        bounds: dict[str, tuple[dict[TP, int], dict[TP, int]]] = {}
        for alias, calls_of in pending.items():
            starts: dict[TP, int] = {}
            for futures in calls_of[False]:
                starts.update(_offsets(futures, self._timeout))
            stable_ends: dict[TP, int] = {}
            for futures in calls_of[True]:
                stable_ends.update(_offsets(futures, self._timeout))
            high = ends.get(alias, {})
            early_stable = sent.get(alias, {}).get(True, (set(), None))[0]
            stale = {tp for tp in early_stable if tp in stable_ends and stable_ends[tp] < high.get(tp, -1)}
            if stale:
                # Sent alongside the high watermarks, those may have answered first: a transaction that
                # ended in between looks open. Asked again now, after the high watermark was read.
                again = self._send(alias, stale, read_committed=True, keep=False)
                stable_ends.update(_offsets(again, self._timeout))
            self._stable[alias] = {
                tp: end for tp, end in stable_ends.items() if tp in behind[alias] and high.get(tp) == end
            } | known[alias]
            bounds[alias] = (starts, stable_ends | known[alias])
        self.behind = {alias: set(tps) for alias, tps in behind.items()}
        deadline = time.monotonic() + budget_s

        def one(alias: str) -> dict[tuple[TP, int], SourceRead]:
            return self._read_records(alias, behind[alias], *bounds[alias], deadline)

        if len(behind) <= 1:
            reads = {alias: one(alias) for alias in behind}
        else:
            with ThreadPoolExecutor(max_workers=len(behind)) as pool:
                reads = dict(zip(behind, pool.map(one, behind), strict=True))
        self._last = reads
        return reads

    def _read_records(
        self,
        alias: str,
        behind: Behind,
        log_starts: dict[TP, int],
        stable_ends: dict[TP, int],
        deadline: float,
    ) -> dict[tuple[TP, int], SourceRead]:
        wanted: list[Wanted] = []
        asked: list[tuple[TP, int, int, int | None, int | None]] = []
        for tp, replicated_offsets in behind.items():
            log_start, end = log_starts.get(tp), stable_ends.get(tp)
            for replicated in replicated_offsets:
                start = replicated if log_start is None or log_start < replicated else log_start
                asked.append((tp, replicated, start, log_start, end))
                if end is not None and start < end:
                    wanted.append((tp, start, end))
        found = {}
        if wanted:
            reader = self._readers.get(alias)
            if reader is None:
                reader = self._readers[alias] = FirstRecordReader(self._bootstrap[alias], alias)
            found = reader.read(wanted, max(0.0, deadline - time.monotonic()))
        last = self._last.get(alias, {})
        reads: dict[tuple[TP, int], SourceRead] = {}
        for tp, replicated, start, log_start, end in asked:
            first = found.get((tp, start))
            offset = None if first is None else first.offset
            stamp = None if first is None or first.timestamp_ms is None else first.timestamp_ms / 1000.0
            read_to = None if first is None or first.offset is not None else first.read_to
            before = last.get((tp, replicated))
            if before is not None and (
                before.log_start,
                before.stable_end,
                before.first_offset,
                before.first_timestamp,
                before.read_to,
            ) == (log_start, end, offset, stamp, read_to):
                reads[(tp, replicated)] = before
                continue
            reads[(tp, replicated)] = SourceRead(log_start, end, offset, stamp, read_to)
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
