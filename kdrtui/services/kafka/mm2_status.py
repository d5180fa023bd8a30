"""MirrorMaker 2's connector and task states, read from its status topic on the target cluster.

MM2 in dedicated mode has no status REST API. Each of its Connect workers (one per ``source->target``
flow) keeps the states in the compacted topic ``mm2-status.<source>.internal`` on the target, written
by Connect's ``KafkaStatusBackingStore`` as JSON without schemas. Seen from a running MirrorMaker 3.9:

- ``status-connector-MirrorSourceConnector`` ->
  ``{"state":"RUNNING","trace":null,"worker_id":"primary->dr","generation":5}``
- ``status-task-MirrorSourceConnector-0`` -> the same shape, for task 0
- ``status-topic-primary.orders:connector-MirrorSourceConnector`` ->
  ``{"topic":{"name":"primary.orders","connector":"MirrorSourceConnector","task":0,
  "discoverTimestamp":...}}`` (KIP-558: the topics a connector uses)

A null value deletes the key. The worker id is ``source->target`` when MM2 runs without its internal
REST server. :func:`read_mm2_status` reads the topic from the beginning to its end offsets (no
consumer group, nothing committed) and keeps the latest value of each key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.services.kafka.config import client_config

STATUS_TOPIC = "mm2-status.{source}.internal"
"""The status topic of the worker replicating from ``source``, on the target cluster."""


class Mm2StatusError(RuntimeError):
    """The status topic could not be read; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class WorkerState:
    """The state Connect last recorded for one connector or task."""

    state: str
    """UNASSIGNED, RUNNING, PAUSED, STOPPED, FAILED, RESTARTING or DESTROYED."""
    worker_id: str | None = None
    """The worker that runs it (``source->target`` in dedicated mode)."""
    trace: str | None = None
    """The first line of the failure's stack trace, when it failed."""
    generation: int | None = None
    """The Connect group generation that wrote it."""

    @property
    def running(self) -> bool:
        """True for RUNNING."""
        return self.state == "RUNNING"


@dataclass(frozen=True, slots=True)
class Mm2Status:
    """What ``mm2-status.<source>.internal`` on the target says about one flow."""

    source: str
    """The source alias (the flow is ``source->`` the cluster read)."""
    exists: bool
    """False when the topic does not exist: MM2 never ran this flow against this cluster."""
    connectors: dict[str, WorkerState] = field(default_factory=dict)
    """Connector name (``MirrorSourceConnector``...) -> its state."""
    tasks: dict[tuple[str, int], WorkerState] = field(default_factory=dict)
    """(connector name, task number) -> its state."""
    topics: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Topic -> the connectors that use it (the mirrored topics, under their target names)."""
    records: int = 0
    """Records read (before keeping the latest per key)."""

    @property
    def topic(self) -> str:
        """The status topic read."""
        return STATUS_TOPIC.format(source=self.source)

    def failed(self) -> list[str]:
        """Connectors and tasks in state FAILED, as ``Name`` / ``Name-n``."""
        names = [name for name, s in sorted(self.connectors.items()) if s.state == "FAILED"]
        names += [f"{name}-{n}" for (name, n), s in sorted(self.tasks.items()) if s.state == "FAILED"]
        return names


def _first_line(trace: object) -> str | None:
    if not isinstance(trace, str) or not trace.strip():
        return None
    return trace.strip().splitlines()[0]


def _worker_state(value: dict[str, Any]) -> WorkerState | None:
    state = value.get("state")
    if not isinstance(state, str):
        return None
    worker = value.get("worker_id")
    generation = value.get("generation")
    return WorkerState(
        state=state,
        worker_id=worker if isinstance(worker, str) else None,
        trace=_first_line(value.get("trace")),
        generation=generation if isinstance(generation, int) else None,
    )


def parse_status_records(source: str, latest: dict[str, bytes | None], records: int = 0) -> Mm2Status:
    """The status from the latest value of each key (``None`` = deleted); unknown keys are ignored."""
    connectors: dict[str, WorkerState] = {}
    tasks: dict[tuple[str, int], WorkerState] = {}
    topics: dict[str, set[str]] = {}
    for key, raw in latest.items():
        if raw is None:
            continue
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            continue
        if not isinstance(value, dict):
            continue
        if key.startswith("status-connector-"):
            state = _worker_state(value)
            if state is not None:
                connectors[key.removeprefix("status-connector-")] = state
        elif key.startswith("status-task-"):
            name, _, number = key.removeprefix("status-task-").rpartition("-")
            state = _worker_state(value)
            if name and number.isdigit() and state is not None:
                tasks[(name, int(number))] = state
        elif key.startswith("status-topic-"):
            topic = value.get("topic")
            if isinstance(topic, dict) and isinstance(topic.get("name"), str):
                connector = topic.get("connector")
                topics.setdefault(topic["name"], set()).update(
                    [connector] if isinstance(connector, str) else []
                )
    return Mm2Status(
        source=source,
        exists=True,
        connectors=dict(sorted(connectors.items())),
        tasks=dict(sorted(tasks.items())),
        topics={name: tuple(sorted(users)) for name, users in sorted(topics.items())},
        records=records,
    )


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
                raise Mm2StatusError(
                    f"{bootstrap}: cannot read the end offsets of {topic}: {_error_text(exc)}"
                ) from exc
            time.sleep(0.2)


def read_mm2_status(bootstrap: str, source_alias: str, *, timeout: float = 5.0) -> Mm2Status:
    """Read ``mm2-status.<source_alias>.internal`` on the target cluster at ``bootstrap``.

    Blocking (run it in a thread worker). An absent topic gives an empty status with
    ``exists=False``.

    Raises:
        Mm2StatusError: the cluster did not answer, or the topic was not read to its end, within
            ``timeout`` seconds.
    """
    topic = STATUS_TOPIC.format(source=source_alias)
    deadline = time.monotonic() + timeout

    def left() -> float:
        return max(0.1, deadline - time.monotonic())

    admin = AdminClient(client_config(bootstrap))
    try:
        metadata = admin.list_topics(topic, timeout=left())
    except KafkaException as exc:
        raise Mm2StatusError(f"{bootstrap}: cannot read the topics: {_error_text(exc)}") from exc
    found = metadata.topics.get(topic)
    problem = found.error if found is not None else None
    if found is None or (problem is not None and problem.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
        return Mm2Status(source=source_alias, exists=False)
    if problem is not None:
        raise Mm2StatusError(f"{bootstrap}: {topic}: {problem.str()}")
    partitions = [TopicPartition(topic, p) for p in sorted(found.partitions)]
    ends = _end_offsets(admin, bootstrap, topic, partitions, deadline)
    pending = {p: end for p, end in ends.items() if end > 0}
    latest: dict[str, bytes | None] = {}
    records = 0
    if not pending:
        return parse_status_records(source_alias, latest)
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                # Required by librdkafka even for assign(); never joins or commits.
                "group.id": f"kdrtui-status-{source_alias}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_uncommitted",
                # The end is known: do not wait for more data than there is.
                "fetch.wait.max.ms": 50,
            },
        )
    )
    last_error = ""
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(pending)])
        while pending:
            if time.monotonic() > deadline:
                raise Mm2StatusError(
                    f"{bootstrap}: {topic} not read to its end within {timeout:g} s "
                    f"({len(pending)} partition(s) left){last_error}"
                )
            for message in consumer.consume(num_messages=500, timeout=min(0.5, left())):
                error = message.error()
                if error is not None:
                    if error.fatal():
                        raise Mm2StatusError(f"{bootstrap}: reading {topic}: {error.str()}")
                    # librdkafka retries the rest itself; the deadline bounds it.
                    last_error = f"; last error: {error.str()}"
                    continue
                records += 1
                raw_key = message.key()
                if raw_key is not None:
                    key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else str(raw_key)
                    value = message.value()
                    latest[key] = value if isinstance(value, bytes) or value is None else str(value).encode()
                partition, offset = message.partition(), message.offset()
                if partition in pending and offset is not None and offset + 1 >= pending[partition]:
                    del pending[partition]
            # A compacted or transactional tail can end before the end offset: trust the position.
            for tp in consumer.position([TopicPartition(topic, p) for p in list(pending)]):
                if tp.offset >= 0 and tp.offset >= pending.get(tp.partition, 0):
                    pending.pop(tp.partition, None)
    finally:
        consumer.close()
    return parse_status_records(source_alias, latest, records)
