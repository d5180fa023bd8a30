"""MirrorMaker 2's connector and task states, read from its status topic on the target cluster.

MM2 in dedicated mode has no status REST API: each flow's Connect worker keeps the states in the compacted
topic ``mm2-status.<source>.internal`` on the target (:mod:`kdrtui.services.kafka.mm2_status_records`
says what the records hold and how they are replayed). :func:`flow_task_states` reads one flow's states
once; :class:`Mm2StatusReader` keeps reading the topic incrementally, for callers that poll. Both read
without a consumer group and commit nothing.
"""

from __future__ import annotations

import heapq
import threading
import time
from types import TracebackType
from typing import Self

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.domain.mm2_tasks import FlowTasks
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.failures import explained, not_authorized
from kdrtui.services.kafka.mm2_status_records import (
    STATUS_TOPIC,
    Mm2Status,
    StatusLog,
    WorkerState,
    parse_status_records,
)

__all__ = [
    "STATUS_TOPIC",
    "Mm2Status",
    "Mm2StatusError",
    "Mm2StatusReader",
    "StatusLog",
    "WorkerState",
    "flow_task_states",
    "parse_status_records",
    "read_mm2_status",
]


class Mm2StatusError(RuntimeError):
    """The status topic could not be read; ``str()`` says why, in one line: ``<alias>: <why>`` (a secured
    cluster's reason, ``topic ...: not authorized (READ)``)."""


def _error_text(exc: KafkaException) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if isinstance(error, KafkaError) else str(exc)


# Not flagged retriable by librdkafka's ListOffsets, but only transient: leadership of a topic created
# a moment ago is still settling.
_TRANSIENT = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.REQUEST_TIMED_OUT,
    }
)


def _end_offsets(
    admin: AdminClient, bootstrap: str, topic: str, partitions: list[TopicPartition], deadline: float
) -> dict[int, int]:
    """The end offset of each partition; retries what is transient (a topic MM2 has just created has
    no leader for a moment) until ``deadline``."""
    while True:
        left = max(0.1, deadline - time.monotonic())
        futures = admin.list_offsets({tp: OffsetSpec.latest() for tp in partitions}, request_timeout=left)
        try:
            return {tp.partition: future.result().offset for tp, future in futures.items()}
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            retriable = isinstance(error, KafkaError) and (error.retriable() or error.code() in _TRANSIENT)
            if not retriable or time.monotonic() + 0.2 > deadline:
                why = not_authorized(exc, topic, "DESCRIBE")
                text = why or f"cannot read the end offsets of {topic}: {_error_text(exc)}"
                raise Mm2StatusError(explained(bootstrap, text, admin)) from exc
            time.sleep(0.2)


Record = tuple[int, int, str, bytes | None]
"""(timestamp ms, offset, key, value) of one status record."""


class Mm2StatusReader:
    """Reads one flow's status topic on the target, each :meth:`read` only the records new since the last.

    Blocking (run it in a thread); one read at a time (a lock serialises them). Between reads the consumer
    is unassigned, so an idle reader fetches nothing. Close it when done.
    """

    def __init__(self, bootstrap: str, source_alias: str, *, admin: AdminClient | None = None) -> None:
        self.bootstrap = bootstrap
        """The target cluster."""
        self.source = source_alias
        """The flow's source alias."""
        self.topic = STATUS_TOPIC.format(source=source_alias)
        """The status topic read."""
        self._admin = admin if admin is not None else AdminClient(client_config(bootstrap))
        self._consumer: Consumer | None = None
        self._log = StatusLog(source_alias)
        self._positions: dict[int, int] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def read(self, timeout: float = 5.0) -> Mm2Status:
        """The states after reading the topic to the end offsets it has now.

        An absent topic gives an empty status with ``exists=False``.

        Raises:
            Mm2StatusError: the cluster did not answer, or the topic was not read to its end, within
                ``timeout`` seconds (the next read carries on from where this one stopped).
        """
        with self._lock:
            return self._read(time.monotonic() + timeout, timeout)

    def tasks(self, timeout: float = 5.0) -> FlowTasks:
        """:meth:`read`, as connectors with their tasks."""
        return self.read(timeout).flow_tasks()

    def close(self) -> None:
        """Close the consumer (waits for a read in progress)."""
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None

    def _read(self, deadline: float, timeout: float) -> Mm2Status:
        def left() -> float:
            return max(0.1, deadline - time.monotonic())

        try:
            metadata = self._admin.list_topics(self.topic, timeout=left())
        except KafkaException as exc:
            text = f"cannot read the topics: {_error_text(exc)}"
            raise Mm2StatusError(explained(self.bootstrap, text, self._admin)) from exc
        found = metadata.topics.get(self.topic)
        problem = found.error if found is not None else None
        if found is None or (problem is not None and problem.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
            self._forget()
            return self._log.status(exists=False)
        if problem is not None:
            why = not_authorized(problem, self.topic, "DESCRIBE") or f"{self.topic}: {problem.str()}"
            raise Mm2StatusError(explained(self.bootstrap, why))
        partitions = [TopicPartition(self.topic, p) for p in sorted(found.partitions)]
        ends = _end_offsets(self._admin, self.bootstrap, self.topic, partitions, deadline)
        if any(ends.get(p, 0) < position for p, position in self._positions.items()):
            self._forget()  # the topic was deleted and created again: start over
        pending = {p: end for p, end in ends.items() if end > self._positions.get(p, 0)}
        if pending:
            records = self._fetch(pending, deadline, timeout)
            # Offset order within a partition, the producer's time across partitions (heapq.merge keeps
            # each partition's own order whatever its timestamps).
            for _ts, _offset, key, value in heapq.merge(*records.values(), key=lambda r: r[0]):
                self._log.apply(key, value)
            self._positions.update(pending)
        return self._log.status()

    def _forget(self) -> None:
        self._log = StatusLog(self.source)
        self._positions = {}

    def _fetch(self, pending: dict[int, int], deadline: float, timeout: float) -> dict[int, list[Record]]:
        """Every record from the last position to ``pending``'s end offset, per partition."""
        consumer = self._consumer
        if consumer is None:
            consumer = self._consumer = Consumer(
                client_config(
                    self.bootstrap,
                    **{
                        # Required by librdkafka even for assign(); never joins or commits.
                        "group.id": f"kdrtui-status-{self.source}",
                        "enable.auto.commit": False,
                        "enable.auto.offset.store": False,
                        "auto.offset.reset": "earliest",
                        "isolation.level": "read_uncommitted",
                        # The end is known: do not wait for more data than there is.
                        "fetch.wait.max.ms": 50,
                    },
                )
            )
        left = dict(pending)
        records: dict[int, list[Record]] = {p: [] for p in pending}
        last_error = ""
        consumer.assign(
            [TopicPartition(self.topic, p, self._positions.get(p) or OFFSET_BEGINNING) for p in sorted(left)]
        )
        try:
            while left:
                if time.monotonic() > deadline:
                    raise Mm2StatusError(
                        explained(
                            self.bootstrap,
                            f"{self.topic} not read to its end within {timeout:g} s "
                            f"({len(left)} partition(s) left){last_error}",
                        )
                    )
                wait = min(0.5, max(0.1, deadline - time.monotonic()))
                for message in consumer.consume(num_messages=500, timeout=wait):
                    error = message.error()
                    if error is not None:
                        refused = not_authorized(error, self.topic, "READ")
                        if refused is not None or error.fatal():
                            why = refused or f"reading {self.topic}: {error.str()}"
                            raise Mm2StatusError(explained(self.bootstrap, why))
                        # librdkafka retries the rest itself; the deadline bounds it.
                        last_error = f"; last error: {error.str()}"
                        continue
                    partition, offset = message.partition(), message.offset()
                    if partition not in left or offset is None or offset >= left[partition]:
                        continue
                    raw_key = message.key()
                    if raw_key is not None:
                        key = (
                            raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else str(raw_key)
                        )
                        value = message.value()
                        raw = value if isinstance(value, bytes) or value is None else str(value).encode()
                        records[partition].append((message.timestamp()[1], offset, key, raw))
                    if offset + 1 >= left[partition]:
                        del left[partition]
                # A compacted or transactional tail can end before the end offset: trust the position.
                for tp in consumer.position([TopicPartition(self.topic, p) for p in list(left)]):
                    if tp.offset >= 0 and tp.offset >= left.get(tp.partition, 0):
                        left.pop(tp.partition, None)
        finally:
            consumer.unassign()
        return records


def read_mm2_status(bootstrap: str, source_alias: str, *, timeout: float = 5.0) -> Mm2Status:
    """Read ``mm2-status.<source_alias>.internal`` on the target cluster at ``bootstrap`` once.

    Blocking (run it in a thread worker). An absent topic gives an empty status with
    ``exists=False``.

    Raises:
        Mm2StatusError: the cluster did not answer, or the topic was not read to its end, within
            ``timeout`` seconds.
    """
    with Mm2StatusReader(bootstrap, source_alias) as reader:
        return reader.read(timeout)


def flow_task_states(
    bootstrap: str, source_alias: str, *, timeout: float = 5.0, admin: AdminClient | None = None
) -> FlowTasks:
    """One flow's connector and task states, read once from ``mm2-status.<source_alias>.internal`` on the
    flow's target cluster at ``bootstrap``.

    Blocking: run it in a thread. Per connector: its state and worker id; per task: its number, state,
    worker id and the first line of its trace (and its root cause); ``.failed`` lists the FAILED tasks,
    ``.failed_connectors`` the FAILED connectors, ``.healthy`` says neither. Tombstones, generations and
    stale UNASSIGNED records are replayed as Connect does. A topic that does not exist (MM2 never ran the
    flow) gives ``exists=False`` and no connectors. A caller that polls keeps a :class:`Mm2StatusReader`
    instead (it reads only what is new); ``admin`` reuses the caller's AdminClient of the target.

    Raises:
        Mm2StatusError: the target did not answer, or the topic was not read to its end, within
            ``timeout`` seconds.
    """
    with Mm2StatusReader(bootstrap, source_alias, admin=admin) as reader:
        return reader.tasks(timeout)
