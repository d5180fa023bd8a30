"""A long-lived assigned consumer over one MM2 flow's internal topics on the target.

It reads ``mm2-offsets.<source>.internal`` (MirrorMaker's replicated positions),
``mm2-offset-syncs.<source>.internal``, ``<source>.checkpoints.internal`` and ``heartbeats`` from the
beginning once, then incrementally up to the end offsets each refresh read, and keeps the latest facts.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from kdrtui.domain.plan import MirrorFlow
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.internal_topics import (
    CHECKPOINTS_TOPIC,
    CONNECT_OFFSETS_TOPIC,
    HEARTBEATS_TOPIC,
    OFFSET_SYNCS_TOPIC,
    Checkpoint,
    DecodeError,
    OffsetSync,
    decode_checkpoint,
    decode_connect_offset,
    decode_heartbeat,
    decode_offset_sync,
)

TP = tuple[str, int]
"""(topic, partition)."""
SYNC_HISTORY = 100_000
"""Offset syncs kept per partition (the oldest go first: they only matter to a group that far behind)."""


class Mm2Tail:
    """An assigned consumer over one MM2 flow's internal topics on the target; keeps the latest facts."""

    def __init__(self, flow: MirrorFlow, bootstrap: str) -> None:
        self.flow = flow
        self.topics = {
            "connect": CONNECT_OFFSETS_TOPIC.format(source=flow.source),
            "syncs": OFFSET_SYNCS_TOPIC.format(source=flow.source),
            "checkpoints": CHECKPOINTS_TOPIC.format(source=flow.source),
            "heartbeats": HEARTBEATS_TOPIC,
        }
        self._kind = {name: kind for kind, name in self.topics.items()}
        self.consumer = Consumer(
            client_config(
                bootstrap,
                **{
                    # librdkafka wants one even for assign(); it never joins nor commits.
                    "group.id": f"kdrtui-lag-{flow.source}-{flow.target}",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "fetch.wait.max.ms": 20,
                    "session.timeout.ms": 6000,
                },
            )
        )
        self.assigned: set[TP] = set()
        self.next_offset: dict[TP, int] = {}
        self.connect: dict[TP, int] = {}
        """Source (topic, partition) -> last replicated upstream offset."""
        self.syncs: dict[TP, tuple[int, int]] = {}
        """Source (topic, partition) -> (upstream, downstream) of the latest offset sync."""
        self.sync_history: dict[TP, list[OffsetSync]] = {}
        """Source (topic, partition) -> every offset sync read, sorted by upstream (what the failover's
        translation reads too, so a forecast of it is the same computation over the same syncs); at most
        :data:`SYNC_HISTORY` per partition, the newest kept."""
        self.checkpoints: dict[tuple[str, str, int], tuple[int, float]] = {}
        """(group, target topic, partition) -> (upstream offset, record time in epoch s)."""
        self.checkpoint_records: dict[tuple[str, str, int], Checkpoint] = {}
        """(group, target topic, partition) -> the latest checkpoint, whole."""
        self.heartbeat_ms: int | None = None
        """Newest heartbeat timestamp of (source, target)."""
        self.decode_errors = 0

    def missing_topics(self, metadata: dict[str, int]) -> list[str]:
        """Internal topics not on the target (yet)."""
        return [name for name in self.topics.values() if name not in metadata]

    def partitions(self, metadata: dict[str, int]) -> list[TP]:
        """The internal partitions that exist on the target."""
        return [(name, p) for name in self.topics.values() for p in range(metadata.get(name, 0))]

    def assign(self, partitions: Iterable[TP]) -> None:
        """Start reading any partition not read yet, from its beginning."""
        new = [tp for tp in partitions if tp not in self.assigned]
        if new:
            self.consumer.incremental_assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in new])
            self.assigned.update(new)

    def catch_up(self, ends: dict[TP, int], budget_s: float) -> bool:
        """Read new records until every assigned partition reached ``ends``; False when out of time."""
        deadline = time.monotonic() + budget_s
        pending = {tp for tp in self.assigned if ends.get(tp, 0) > self.next_offset.get(tp, 0)}
        source, target = self.flow.source, self.flow.target
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # consume() waits for the whole batch or the timeout: keep the wait short, loop instead.
            for message in self.consumer.consume(num_messages=2000, timeout=min(0.02, left)):
                if message.error() is not None:
                    continue
                topic, partition, offset = message.topic(), message.partition(), message.offset()
                if topic is None or partition is None or offset is None:
                    continue
                tp = (topic, partition)
                self.next_offset[tp] = offset + 1
                key, value = message.key(), message.value()
                if not isinstance(key, bytes) or not (value is None or isinstance(value, bytes)):
                    continue
                try:
                    self._apply(self._kind.get(topic), key, value, message.timestamp()[1], source, target)
                except (DecodeError, UnicodeDecodeError):
                    self.decode_errors += 1
            # A compacted tail can end below the end offset: trust the consumer's position.
            for tp_pos in self.consumer.position([TopicPartition(t, p) for t, p in pending]):
                if tp_pos.offset >= 0:
                    tp = (tp_pos.topic, tp_pos.partition)
                    self.next_offset[tp] = max(self.next_offset.get(tp, 0), tp_pos.offset)
            pending = {tp for tp in pending if ends.get(tp, 0) > self.next_offset.get(tp, 0)}
        return True

    def _apply(
        self, kind: str | None, key: bytes, value: bytes | None, ts_ms: int, source: str, target: str
    ) -> None:
        if kind == "connect":
            offset = decode_connect_offset(key, value)
            if offset is not None and offset.cluster == source:
                tp = (offset.topic, offset.partition)
                if offset.offset is None:
                    self.connect.pop(tp, None)
                else:
                    self.connect[tp] = offset.offset
        elif kind == "syncs":
            sync = decode_offset_sync(key, value)
            if sync is not None:
                tp = (sync.topic, sync.partition)
                self.syncs[tp] = (sync.upstream, sync.downstream)
                history = self.sync_history.setdefault(tp, [])
                bisect.insort(history, sync, key=lambda s: (s.upstream, s.downstream))
                if len(history) > SYNC_HISTORY:
                    del history[: len(history) - SYNC_HISTORY]
        elif kind == "checkpoints":
            checkpoint = decode_checkpoint(key, value)
            if checkpoint is not None:
                self.checkpoint_records[(checkpoint.group, checkpoint.topic, checkpoint.partition)] = (
                    checkpoint
                )
                self.checkpoints[(checkpoint.group, checkpoint.topic, checkpoint.partition)] = (
                    checkpoint.upstream,
                    ts_ms / 1000.0,
                )
        elif kind == "heartbeats":
            beat = decode_heartbeat(key, value)
            if (
                beat is not None
                and (beat.source, beat.target) == (source, target)
                and (self.heartbeat_ms is None or beat.timestamp_ms > self.heartbeat_ms)
            ):
                self.heartbeat_ms = beat.timestamp_ms

    def close(self) -> None:
        """Close the consumer."""
        self.consumer.close()
