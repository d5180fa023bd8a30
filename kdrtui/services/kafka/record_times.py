"""The first committed record not mirrored yet, per partition: one bounded, batched fetch per source.

Lag in seconds is now minus the timestamp of the oldest record the target does not have, so it has to be
read from the source. One long-lived consumer per source cluster is assigned to just the partitions that
are behind, each at its start (the replicated offset, or the log start offset when records were deleted
before they were mirrored); librdkafka sends one Fetch per leader broker for all of them. A small
``max.partition.fetch.bytes`` makes each partition return about one record batch (librdkafka doubles it
for a partition whose first batch is bigger), and a partition is paused as soon as its first record
arrived, which drops the rest of its batch inside librdkafka instead of handing it to Python.

The consumer reads ``read_committed``: transaction markers and aborted records are skipped, and reaching
the partition's end (``enable.partition.eof``; in read_committed that end is the last stable offset)
without a record means nothing committed is left to mirror there.

Answers are cached per (partition, start offset): a replicated offset that did not move is never fetched
again. A "nothing committed up to N" answer is reused while the last stable offset stays at N; when it
moves on, the next fetch starts at N rather than at the start again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, TopicPartition

from kdrtui.services.kafka.config import client_config

TP = tuple[str, int]
"""(topic, partition)."""

PARTITION_FETCH_BYTES = 16 * 1024
"""``max.partition.fetch.bytes``: about one record batch of a Java producer (``batch.size`` 16 KiB)."""


@dataclass(frozen=True, slots=True)
class FirstRecord:
    """What a read from one start offset found."""

    offset: int | None
    """Offset of the first committed record at or after the start (None: none below ``read_to``)."""
    timestamp_ms: int | None
    """Its timestamp (CreateTime, or LogAppendTime when the topic uses it); None when the broker has
    none for it."""
    read_to: int
    """Nothing committed lies between the start and this offset (for a record found: its offset)."""


Wanted = tuple[TP, int, int]
"""(partition, start offset, last stable offset): read the first committed record in [start, end)."""


class FirstRecordReader:
    """One source cluster's reader of first unmirrored records (see the module's docstring).

    Args:
        bootstrap: the source cluster's bootstrap servers.
        name: a label for the consumer's (never joined, never committed) group id.
    """

    def __init__(self, bootstrap: str, name: str) -> None:
        self._consumer = Consumer(
            client_config(
                bootstrap,
                **{
                    # librdkafka wants one even for assign(); it never joins nor commits.
                    "group.id": f"kdrtui-lag-records-{name}",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "isolation.level": "read_committed",
                    "enable.partition.eof": True,
                    # A start below the log start offset is an answer ("deleted meanwhile"), not a reset.
                    "auto.offset.reset": "error",
                    "max.partition.fetch.bytes": PARTITION_FETCH_BYTES,
                    # Partitions at their end must not hold the answer of the others.
                    "fetch.wait.max.ms": 10,
                    "fetch.error.backoff.ms": 50,
                },
            )
        )
        self._cache: dict[tuple[TP, int], FirstRecord] = {}
        self.fetched = 0
        """Partitions fetched so far (cache misses), for tests and the benchmark."""

    def read(self, wanted: list[Wanted], budget_s: float) -> dict[tuple[TP, int], FirstRecord]:
        """(partition, start) -> what was found, for every wanted read that answered within ``budget_s``.

        A partition missing from the answer did not answer in time (or its start was deleted meanwhile).
        """
        answers: dict[tuple[TP, int], FirstRecord] = {}
        todo: list[tuple[TP, int, int, int]] = []
        keep: set[tuple[TP, int]] = set()
        for tp, start, end in wanted:
            key = (tp, start)
            keep.add(key)
            known = self._cache.get(key)
            if known is not None and (known.offset is not None or known.read_to >= end):
                answers[key] = known
                continue
            todo.append((tp, start, end, start if known is None else max(start, known.read_to)))
        # Only what is asked now stays cached: the cache never outgrows the partitions behind.
        self._cache = {key: found for key, found in self._cache.items() if key in keep}
        deadline = time.monotonic() + budget_s
        while todo and time.monotonic() < deadline:
            # One position per partition per fetch (two flows from one source can ask two).
            batch: dict[TP, tuple[int, int, int]] = {}
            later: list[tuple[TP, int, int, int]] = []
            for item in todo:
                if item[0] in batch:
                    later.append(item)
                else:
                    batch[item[0]] = item[1:]
            self._fetch(batch, deadline, answers)
            todo = later
        return answers

    def _fetch(
        self,
        batch: dict[TP, tuple[int, int, int]],
        deadline: float,
        answers: dict[tuple[TP, int], FirstRecord],
    ) -> None:
        """Assign ``batch`` (partition -> (start, end, position)) and read until each partition gave a
        record or its end, or ``deadline``; then unassign."""
        consumer = self._consumer
        self.fetched += len(batch)
        consumer.assign([TopicPartition(t, p, position) for (t, p), (_, _, position) in batch.items()])
        pending = set(batch)
        reached: dict[TP, int] = {}
        paused: list[TopicPartition] = []

        def answer(tp: TP, found: FirstRecord) -> None:
            start = batch[tp][0]
            self._cache[(tp, start)] = answers[(tp, start)] = found
            pending.discard(tp)
            paused.append(TopicPartition(*tp))

        try:
            while pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                done = len(paused)
                # consume() waits for all num_messages or the timeout: keep the wait short, loop instead.
                for message in consumer.consume(num_messages=10_000, timeout=min(0.01, left)):
                    topic, partition, offset = message.topic(), message.partition(), message.offset()
                    if (
                        topic is None
                        or partition is None
                        or offset is None
                        or (topic, partition) not in pending
                    ):
                        continue
                    tp = (topic, partition)
                    _, end, position = batch[tp]
                    error = message.error()
                    if error is None:
                        if offset >= position:
                            kind, stamp = message.timestamp()
                            answer(
                                tp,
                                FirstRecord(
                                    offset, None if kind == TIMESTAMP_NOT_AVAILABLE else stamp, offset
                                ),
                            )
                    elif error.code() == KafkaError._PARTITION_EOF:
                        reached[tp] = max(reached.get(tp, position), offset)
                        if offset >= end:
                            answer(tp, FirstRecord(None, None, offset))
                    else:  # deleted meanwhile (out of range), not leader...: no answer this time
                        pending.discard(tp)
                if len(paused) > done:
                    # Drops the rest of their batches inside librdkafka and stops fetching them.
                    consumer.pause(paused[done:])
        finally:
            if paused:
                consumer.resume(paused)  # an application pause would outlive the assignment
            consumer.unassign()
        # Out of time at the end of a partition whose stable offset moved on meanwhile: what was read
        # still holds (nothing committed below ``reached``).
        for tp in pending:
            if tp in reached:
                start = batch[tp][0]
                self._cache[(tp, start)] = answers[(tp, start)] = FirstRecord(None, None, reached[tp])

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()
