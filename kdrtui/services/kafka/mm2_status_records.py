"""Connect's status records of MirrorMaker 2, replayed as Connect reads them (pure: bytes in, states out).

Each MM2 Connect worker (one per ``source->target`` flow) keeps its states in the compacted topic
``mm2-status.<source>.internal`` on the target, written by Connect's ``KafkaStatusBackingStore`` as JSON
without schemas. Seen from a running MirrorMaker 3.9:

- ``status-connector-MirrorSourceConnector`` ->
  ``{"state":"RUNNING","trace":null,"worker_id":"primary->dr","generation":5}``
- ``status-task-MirrorSourceConnector-0`` -> the same shape, for task 0; a FAILED one carries the
  whole Java stack trace (``printStackTrace``) in ``trace``
- ``status-topic-primary.orders:connector-MirrorSourceConnector`` ->
  ``{"topic":{"name":"primary.orders","connector":"MirrorSourceConnector","task":0,
  "discoverTimestamp":...}}`` (KIP-558: the topics a connector uses)

The worker id is ``source->target`` when MM2 runs without its internal REST server.

:class:`StatusLog` replays the records the way Connect's own reader does (``KafkaStatusBackingStore.read``):
a null value of a connector deletes the connector *and all its tasks* (Connect writes it when a connector
is deleted, after a null per task); a null task value deletes that task (a task dropped when the
connector's task count shrank); a task record saying UNASSIGNED is ignored while the task is RUNNING at
the same or a newer generation (a worker that lost the task during a rebalance writes it late); a record
whose state Connect does not know, or whose JSON does not parse, leaves the previous state. So the order
of the records matters: :mod:`kdrtui.services.kafka.mm2_status` replays them in offset order within a
partition and by timestamp across partitions (Connect writes them with the producer's time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kdrtui.domain.mm2_tasks import STATES, ConnectorTasks, FlowTasks, TaskState

STATUS_TOPIC = "mm2-status.{source}.internal"
"""The status topic of the worker replicating from ``source``, on the target cluster."""

CONNECTOR_PREFIX = "status-connector-"
TASK_PREFIX = "status-task-"
TOPIC_PREFIX = "status-topic-"
TOPIC_SEPARATOR = ":connector-"


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
    cause: str | None = None
    """The last ``Caused by:`` line of the failure's stack trace (the root cause), when there is one."""

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
    """Records replayed (every record read, not only the latest per key)."""

    @property
    def topic(self) -> str:
        """The status topic read."""
        return STATUS_TOPIC.format(source=self.source)

    def failed(self) -> list[str]:
        """Connectors and tasks in state FAILED, as ``Name`` / ``Name-n``."""
        names = [name for name, s in sorted(self.connectors.items()) if s.state == "FAILED"]
        names += [f"{name}-{n}" for (name, n), s in sorted(self.tasks.items()) if s.state == "FAILED"]
        return names

    def flow_tasks(self) -> FlowTasks:
        """The connectors with their tasks, as the rest of kdrtui judges and shows them."""
        names = sorted({*self.connectors, *(name for name, _ in self.tasks)})
        connectors = []
        for name in names:
            own = self.connectors.get(name)
            tasks = tuple(
                TaskState(name, n, s.state, s.worker_id, s.trace, s.cause, s.generation)
                for (connector, n), s in sorted(self.tasks.items())
                if connector == name
            )
            connectors.append(
                ConnectorTasks(
                    name,
                    own.state if own else None,
                    own.worker_id if own else None,
                    own.trace if own else None,
                    own.cause if own else None,
                    tasks,
                )
            )
        return FlowTasks(self.source, self.exists, tuple(connectors))


def _trace_lines(trace: object) -> tuple[str | None, str | None]:
    """The first line of a Java stack trace, and its last ``Caused by:`` (without the prefix)."""
    if not isinstance(trace, str) or not trace.strip():
        return None, None
    lines = trace.strip().splitlines()
    causes = [
        line.strip().removeprefix("Caused by:").strip() for line in lines if line.startswith("Caused by:")
    ]
    return lines[0].strip(), causes[-1] if causes else None


def _worker_state(value: dict[str, Any]) -> WorkerState | None:
    """The state in one record's JSON; None when Connect would not accept it (unknown state)."""
    state = value.get("state")
    if not isinstance(state, str) or state not in STATES:
        return None
    worker = value.get("worker_id")
    generation = value.get("generation")
    first, cause = _trace_lines(value.get("trace"))
    return WorkerState(
        state=state,
        worker_id=worker if isinstance(worker, str) else None,
        trace=first,
        generation=generation if isinstance(generation, int) and not isinstance(generation, bool) else None,
        cause=cause,
    )


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _task_id(key: str) -> tuple[str, int] | None:
    """``status-task-My-Connector-12`` -> ("My-Connector", 12), as Connect splits it."""
    name, _, number = key.removeprefix(TASK_PREFIX).rpartition("-")
    if not name or not (number.isascii() and number.isdigit()):
        return None
    return name, int(number)


class StatusLog:
    """Connect's view of a status topic, built by replaying its records in the order they were written."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._connectors: dict[str, WorkerState] = {}
        self._tasks: dict[str, dict[int, WorkerState]] = {}
        self._topics: dict[str, set[str]] = {}
        """Connector -> the topics it uses (Connect keeps them per connector)."""
        self.records = 0
        """Records replayed so far."""

    def apply(self, key: str, value: bytes | None) -> None:
        """Replay one record (``value`` None: a tombstone)."""
        self.records += 1
        if key.startswith(CONNECTOR_PREFIX):
            self._connector(key.removeprefix(CONNECTOR_PREFIX), value)
        elif key.startswith(TASK_PREFIX):
            self._task(key, value)
        elif key.startswith(TOPIC_PREFIX) and TOPIC_SEPARATOR in key:
            self._topic(key, value)

    def _connector(self, name: str, value: bytes | None) -> None:
        if not name:
            return
        if value is None:
            # Connect removes the connector and every task it had.
            self._connectors.pop(name, None)
            self._tasks.pop(name, None)
            return
        parsed = _json_object(value)
        state = _worker_state(parsed) if parsed is not None else None
        if state is not None:
            self._connectors[name] = state

    def _task(self, key: str, value: bytes | None) -> None:
        task_id = _task_id(key)
        if task_id is None:
            return
        name, number = task_id
        if value is None:
            self._tasks.get(name, {}).pop(number, None)
            return
        parsed = _json_object(value)
        state = _worker_state(parsed) if parsed is not None else None
        if state is None:
            return
        tasks = self._tasks.setdefault(name, {})
        current = tasks.get(number)
        if (
            state.state == "UNASSIGNED"
            and current is not None
            and current.state == "RUNNING"
            and current.generation is not None
            and state.generation is not None
            and current.generation >= state.generation
        ):
            return  # a stale UNASSIGNED from a worker that lost the task in a rebalance
        tasks[number] = state

    def _topic(self, key: str, value: bytes | None) -> None:
        topic, _, connector = key.removeprefix(TOPIC_PREFIX).partition(TOPIC_SEPARATOR)
        if not topic or not connector:
            return
        if value is None:
            self._topics.get(connector, set()).discard(topic)
            return
        parsed = _json_object(value)
        inner = parsed.get("topic") if parsed is not None else None
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            self._topics.setdefault(connector, set()).add(inner["name"])

    def status(self, *, exists: bool = True) -> Mm2Status:
        """The states as they stand after the records replayed so far."""
        users: dict[str, set[str]] = {}
        for connector, topics in self._topics.items():
            for topic in topics:
                users.setdefault(topic, set()).add(connector)
        return Mm2Status(
            source=self.source,
            exists=exists,
            connectors=dict(sorted(self._connectors.items())),
            tasks={
                (name, n): s for name, tasks in sorted(self._tasks.items()) for n, s in sorted(tasks.items())
            },
            topics={topic: tuple(sorted(names)) for topic, names in sorted(users.items())},
            records=self.records,
        )


def parse_status_records(source: str, latest: dict[str, bytes | None], records: int = 0) -> Mm2Status:
    """The status from the latest value of each key (``None`` = deleted), replayed in the dict's order;
    unknown keys are ignored. (:class:`StatusLog` replays every record, in the order they were written.)"""
    log = StatusLog(source)
    for key, value in latest.items():
        log.apply(key, value)
    found = log.status()
    return Mm2Status(found.source, True, found.connectors, found.tasks, found.topics, records)
