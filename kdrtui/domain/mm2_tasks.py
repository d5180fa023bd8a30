"""MirrorMaker 2's connector and task states for one flow, and how they are told (pure).

A flow's Connect worker records, in ``mm2-status.<source>.internal`` on the target, a state per
connector (``MirrorSourceConnector``, ``MirrorCheckpointConnector``, ``MirrorHeartbeatConnector``) and per
task. A connector stays RUNNING while one of its tasks has FAILED — the task is what copies the records —
so health is judged on the tasks. :mod:`kdrtui.services.kafka.mm2_status` reads the topic into a
:class:`FlowTasks`; ``kdrtui mm status``, the Edge pane, the lag health and the failover pre-flight
show or judge it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kdrtui.domain.mm2_workers import WorkerAssignment

FAILED = "FAILED"
"""The state of a connector or task that stopped on an error; Connect restarts it only when asked."""
RUNNING = "RUNNING"
"""The state of a connector or task doing its work."""
_JAVA_NAME = re.compile(r"\b([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.(?:[a-z][a-z0-9_]*\.)+(?=[A-Z][\w$]*)")
"""A Java class name's package past its first two parts (``org.apache.kafka.connect.errors.``)."""
STATES = frozenset({"UNASSIGNED", RUNNING, "PAUSED", FAILED, "DESTROYED", "RESTARTING", "STOPPED"})
"""Connect's ``AbstractStatus.State`` names; a record with any other state is ignored, as Connect does."""


@dataclass(frozen=True, slots=True)
class TaskState:
    """What Connect last recorded for one task of a connector."""

    connector: str
    """The connector it belongs to (``MirrorSourceConnector``...)."""
    task: int
    """Its number within the connector (``status-task-<connector>-<task>``)."""
    state: str
    """UNASSIGNED, RUNNING, PAUSED, FAILED or RESTARTING."""
    worker_id: str | None = None
    """The worker that runs it as Connect records it: ``source->target`` on every node in dedicated mode
    (internal REST included), so where it runs comes from the group (:mod:`kdrtui.domain.mm2_workers`)."""
    trace: str | None = None
    """The first line of the failure's stack trace (the exception and its message), when it failed."""
    cause: str | None = None
    """The last ``Caused by:`` line of the trace (the root cause), when there is one."""
    generation: int | None = None
    """The Connect group generation that wrote it."""

    @property
    def name(self) -> str:
        """``MirrorSourceConnector-0``, as Connect names the task."""
        return f"{self.connector}-{self.task}"

    @property
    def failed(self) -> bool:
        """True for FAILED."""
        return self.state == FAILED

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "task": self.task,
            "state": self.state,
            "worker_id": self.worker_id,
            "trace": self.trace,
            "cause": self.cause,
            "generation": self.generation,
        }


@dataclass(frozen=True, slots=True)
class ConnectorTasks:
    """One connector's own state and its tasks."""

    name: str
    """``MirrorSourceConnector``, ``MirrorCheckpointConnector`` or ``MirrorHeartbeatConnector``."""
    state: str | None
    """The connector's state; None when only task records were found (its own record was deleted)."""
    worker_id: str | None = None
    """The worker that runs the connector."""
    trace: str | None = None
    """The first line of the connector's failure, when it failed."""
    cause: str | None = None
    """The root cause of the connector's failure, when there is one."""
    tasks: tuple[TaskState, ...] = ()
    """Its tasks, by number."""

    @property
    def failed(self) -> bool:
        """True when the connector itself FAILED (then it has no running tasks)."""
        return self.state == FAILED

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "state": self.state,
            "worker_id": self.worker_id,
            "trace": self.trace,
            "cause": self.cause,
            "tasks": [task.to_dict() for task in self.tasks],
        }


@dataclass(frozen=True, slots=True)
class FlowTasks:
    """What ``mm2-status.<source>.internal`` on a flow's target says about the flow's connectors and tasks."""

    source: str
    """The flow's source alias (the flow is ``source->`` the cluster the topic was read on)."""
    exists: bool = True
    """False when the status topic does not exist (yet): MM2 never ran this flow against the target."""
    connectors: tuple[ConnectorTasks, ...] = ()
    """Every connector with a state or a task, by name."""
    error: str | None = None
    """Why the states could not be read; then nothing else is known."""
    target: str | None = None
    """The flow's target alias, when the reader knew it (the topic does not say)."""
    workers: tuple[WorkerAssignment, ...] = ()
    """The flow's Connect workers and what each runs, from its group on the target (the status topic
    names every task's worker ``source->target``, whichever edge node runs it); empty when not read."""

    @property
    def flow(self) -> str:
        """``source->target`` (``source->`` when the target is not known)."""
        return f"{self.source}->{self.target or ''}"

    @property
    def readable(self) -> bool:
        """True when the states were read (the topic may still not exist)."""
        return self.error is None

    @property
    def tasks(self) -> tuple[TaskState, ...]:
        """Every task of every connector."""
        return tuple(task for connector in self.connectors for task in connector.tasks)

    @property
    def failed(self) -> tuple[TaskState, ...]:
        """The FAILED tasks."""
        return tuple(task for task in self.tasks if task.failed)

    @property
    def failed_connectors(self) -> tuple[ConnectorTasks, ...]:
        """The connectors that FAILED themselves."""
        return tuple(connector for connector in self.connectors if connector.failed)

    @property
    def healthy(self) -> bool:
        """Read, and no connector or task FAILED (tasks may still be starting)."""
        return self.readable and not self.failed and not self.failed_connectors

    def connector(self, name: str) -> ConnectorTasks | None:
        """The connector called ``name``, if it has a state."""
        return next((c for c in self.connectors if c.name == name), None)

    def problems(self) -> list[str]:
        """One line per FAILED connector or task (``MirrorSourceConnector-0 FAILED: <trace line>``), or
        why the states are unknown; empty when healthy. Outside text: escape it before showing it."""
        if self.error is not None:
            return [f"task states unreadable: {self.error}"]
        lines = [_failure(c.name, c.trace) for c in self.failed_connectors]
        return lines + [_failure(task.name, task.trace) for task in self.failed]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``kdrtui mm status --json``)."""
        return {
            "flow": self.flow,
            "source": self.source,
            "exists": self.exists,
            "error": self.error,
            "connectors": [connector.to_dict() for connector in self.connectors],
            "failed": [task.name for task in self.failed],
            "workers": [worker.to_dict() for worker in self.workers],
        }


def _failure(name: str, trace: str | None) -> str:
    return f"{name} FAILED: {trace}" if trace else f"{name} FAILED"


def state_counts(tasks: Iterable[TaskState]) -> str:
    """``3 running, 1 FAILED``: how many tasks are in each state, RUNNING first, FAILED shouted."""
    counts = Counter(task.state for task in tasks)
    order = sorted(counts, key=lambda state: (state != RUNNING, state == FAILED, state))
    return ", ".join(f"{counts[s]} {s if s == FAILED else s.lower()}" for s in order)


def tasks_summary(flows: Iterable[FlowTasks]) -> str:
    """One line for a deployment's flows: ``tasks 3 running, 1 FAILED: <first trace line>``.

    Names the first failure (a FAILED connector before a FAILED task), then says how many more failed.
    ``tasks unknown: <why>`` when a flow could not be read; ``no task states yet`` before MM2 wrote any.
    Outside text: escape it before showing it.
    """
    flows = list(flows)
    unreadable = [flow for flow in flows if flow.error is not None]
    if unreadable:
        return f"tasks unknown: {unreadable[0].error}"
    tasks = [task for flow in flows for task in flow.tasks]
    failures: list[tuple[str, str | None]] = [
        (f"connector {c.name}", c.trace) for flow in flows for c in flow.failed_connectors
    ]
    failures += [(task.name, task.trace) for task in tasks if task.failed]
    text = f"tasks {state_counts(tasks)}" if tasks else "no task states yet"
    if not failures:
        return text
    if not any(task.failed for task in tasks):
        text += f", {len(failures)} connector{'s' if len(failures) > 1 else ''} FAILED"
    what, trace = failures[0]
    more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
    return f"{text}: {trace or what + ' FAILED'}{more}"


def short_java_names(text: str) -> str:
    """``text`` with Java class names shortened for a narrow line:
    ``org.apache.kafka.connect.errors.ConnectException`` -> ``org.apache…ConnectException``."""
    return _JAVA_NAME.sub(lambda match: f"{match.group(1)}…", text)
