"""SourceReads: the last stable offsets it reports are never older than the high watermarks they are
compared with (a transaction that ended between two concurrent reads must not look open)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from confluent_kafka import TopicPartition
from confluent_kafka.admin import ListOffsetsResultInfo

from kdrtui.domain.lag import SourceRead
from kdrtui.services.kafka.source_reads import TP, SourceReads

TOPIC = ("t", 0)


class ScriptedReads(SourceReads):
    """A SourceReads whose ListOffsets calls answer from ``self.broker`` as it is when they are sent, and
    whose record reads only report the bounds they were given (no cluster)."""

    def __init__(self) -> None:
        super().__init__({}, {}, timeout=1.0)
        self.broker = {"start": 0, "stable": 0}
        self.asked: list[tuple[frozenset[TP], bool]] = []
        self.bounds: dict[TP, int] = {}

    def _send(
        self, alias: str, tps: set[TP], *, read_committed: bool, keep: bool = True
    ) -> list[Future[Any]]:
        self.asked.append((frozenset(tps), read_committed))
        offset = self.broker["stable" if read_committed else "start"]
        future: Future[Any] = Future()
        future.set_result({TopicPartition(t, p): ListOffsetsResultInfo(offset, -1, -1) for t, p in tps})
        return [future]

    def _read_records(
        self,
        alias: str,
        behind: dict[TP, set[int]],
        log_starts: dict[TP, int],
        stable_ends: dict[TP, int],
        deadline: float,
    ) -> dict[tuple[TP, int], SourceRead]:
        self.bounds = dict(stable_ends)
        return {
            (tp, replicated): SourceRead(log_starts.get(tp), stable_ends.get(tp))
            for tp, offsets in behind.items()
            for replicated in offsets
        }


def test_an_early_stable_offset_below_the_high_watermark_is_asked_again_after_it() -> None:
    reads = ScriptedReads()
    # Refresh 1: 5 records of an open transaction; the last stable offset is 0.
    reads.broker["stable"] = 0
    first = reads.read({"primary": {TOPIC: {0}}}, {"primary": {TOPIC: 5}}, budget_s=0.1)
    assert first["primary"][(TOPIC, 0)].stable_end == 0
    # Refresh 2: the early calls leave while the transaction is still open ...
    reads.send({"primary"})
    # ... then the abort marker lands and the high watermark read sees it (6).
    reads.broker["stable"] = 6
    reads.asked.clear()
    second = reads.read({"primary": {TOPIC: {0}}}, {"primary": {TOPIC: 6}}, budget_s=0.1)
    assert second["primary"][(TOPIC, 0)].stable_end == 6
    assert reads.asked == [(frozenset({TOPIC}), True)], "only the stale stable offset is asked again"


def test_a_transaction_still_open_stays_open_after_the_second_ask() -> None:
    reads = ScriptedReads()
    reads.read({"primary": {TOPIC: {0}}}, {"primary": {TOPIC: 5}}, budget_s=0.1)
    reads.send({"primary"})
    reads.asked.clear()
    second = reads.read({"primary": {TOPIC: {0}}}, {"primary": {TOPIC: 7}}, budget_s=0.1)
    assert second["primary"][(TOPIC, 0)].stable_end == 0
    assert reads.asked == [(frozenset({TOPIC}), True)]


def test_a_partition_without_a_transaction_whose_end_moved_is_asked_once_after_the_high_watermark() -> None:
    reads = ScriptedReads()
    reads.broker["stable"] = 5
    reads.read({"primary": {TOPIC: {0}}}, {"primary": {TOPIC: 5}}, budget_s=0.1)
    reads.broker["stable"] = 8
    reads.send({"primary"})
    assert reads.asked[-1] == (frozenset({TOPIC}), False), "its stable offset was known: not sent early"
    reads.asked.clear()
    second = reads.read({"primary": {TOPIC: {0}}}, {"primary": {TOPIC: 8}}, budget_s=0.1)
    assert second["primary"][(TOPIC, 0)].stable_end == 8
    assert reads.asked == [(frozenset({TOPIC}), True)], "asked once, after the high watermark moved"
    reads.send({"primary"})
    reads.asked.clear()
    third = reads.read({"primary": {TOPIC: {0}}}, {"primary": {TOPIC: 8}}, budget_s=0.1)
    assert third["primary"][(TOPIC, 0)].stable_end == 8 and reads.asked == [], "unchanged: not asked"
