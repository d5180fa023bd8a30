"""Which MirrorMaker 2 worker runs which connectors and tasks of a flow, from its Connect group (pure).

In dedicated mode every worker of a flow records the same ``worker_id`` in the status topic
(``source->target``: ``MirrorMaker.addHerder`` names the worker after the flow, on every node), so the
status topic cannot say where a task runs. The flow's Connect group (``<source>-mm2`` on the target) can:
each member's metadata carries its REST URL (with KIP-710's internal REST, one per edge node) and the
assignment it held when it joined, and the group keeps the assignment the leader handed it — in Connect's
cooperative protocol only what changed (new connectors and tasks, and the revoked ones). A worker runs
what it held, less what was revoked, plus what was new (``WorkerCoordinator.onJoinComplete``).

:func:`decode_worker` reads both byte strings (``ConnectProtocol``,
``IncrementalCooperativeConnectProtocol``: big-endian, strings with an int16 length, arrays with an int32
count); :func:`node_of` maps a worker's URL to the edge node the plan gives that URL.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CONNECTOR_TASK = -1
"""The task number Connect uses in an assignment for the connector itself."""


class WorkerDecodeError(ValueError):
    """The group's bytes are not a Connect worker's metadata or assignment."""


@dataclass(frozen=True, slots=True)
class WorkerAssignment:
    """One Connect worker of a flow and what it runs."""

    url: str
    """The worker's REST URL (``http://host:port/``); ``NOTUSED`` without KIP-710's internal REST."""
    connectors: tuple[str, ...] = ()
    """The connectors it runs (``MirrorSourceConnector``...), sorted."""
    tasks: tuple[str, ...] = ()
    """The tasks it runs (``MirrorSourceConnector-0``...), sorted."""
    leader: bool = False
    """True for the group's leader (it assigns the work)."""
    node: str | None = None
    """The edge node whose REST URL it has, when the plan says (see :func:`node_of`)."""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``kdrtui mm status --json``)."""
        return {
            "node": self.node,
            "url": self.url,
            "leader": self.leader,
            "connectors": list(self.connectors),
            "tasks": list(self.tasks),
        }


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise WorkerDecodeError(f"{len(self.data)} bytes end inside a field at byte {self.at}")
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return int(value)

    def string(self) -> str:
        size = self.take(">h")
        if size < 0:
            return ""
        text = self.data[self.at : self.at + size]
        self.at += size
        return text.decode("utf-8", errors="replace")

    def nullable_bytes(self) -> bytes | None:
        size = self.take(">i")
        if size < 0:
            return None
        blob = self.data[self.at : self.at + size]
        self.at += size
        return blob

    def done(self) -> bool:
        return self.at >= len(self.data)

    def assignments(self) -> set[tuple[str, int]]:
        count = self.take(">i")
        found: set[tuple[str, int]] = set()
        for _ in range(max(count, 0)):
            connector = self.string()
            for _ in range(max(self.take(">i"), 0)):
                found.add((connector, self.take(">i")))
        return found


@dataclass(frozen=True, slots=True)
class _Assignment:
    leader: str
    assigned: set[tuple[str, int]]
    revoked: set[tuple[str, int]]


def _assignment(data: bytes | None) -> _Assignment | None:
    if not data:
        return None
    reader = _Reader(data)
    version = reader.take(">h")
    reader.take(">h")  # error
    leader = reader.string()
    reader.string()  # the leader's URL
    reader.take(">q")  # config offset
    assigned = reader.assignments()
    revoked = reader.assignments() if version >= 1 and not reader.done() else set()
    return _Assignment(leader, assigned, revoked)


def decode_worker(member_id: str, metadata: bytes, assignment: bytes | None) -> WorkerAssignment:
    """The worker ``member_id`` of a Connect group from its member metadata and its last assignment.

    Raises:
        WorkerDecodeError: bytes that are not Connect's protocol.
    """
    reader = _Reader(metadata)
    version = reader.take(">h")
    url = reader.string()
    reader.take(">q")  # config offset
    held = None
    if version >= 1 and not reader.done():
        held = _assignment(reader.nullable_bytes())
    new = _assignment(assignment)
    running = set(held.assigned) if held is not None and version >= 1 else set()
    if new is not None:
        running = (running - new.revoked) | new.assigned
    connectors = sorted(name for name, task in running if task == CONNECTOR_TASK)
    tasks = sorted(f"{name}-{task}" for name, task in running if task != CONNECTOR_TASK)
    leader = new is not None and new.leader == member_id
    return WorkerAssignment(url, tuple(connectors), tuple(tasks), leader)


def _url_key(url: str) -> str:
    return url.strip().lower().rstrip("/")


def node_of(workers: Iterable[WorkerAssignment], urls: Mapping[str, str]) -> list[WorkerAssignment]:
    """``workers`` with ``node`` set from ``urls`` (REST URL -> edge node name), sorted by node then URL.
    A lone worker without internal REST (``NOTUSED``) belongs to the only node, when ``urls`` has one."""
    by_url = {_url_key(url): node for url, node in urls.items()}
    only = next(iter(urls.values())) if len(urls) == 1 else None
    named = [
        WorkerAssignment(w.url, w.connectors, w.tasks, w.leader, by_url.get(_url_key(w.url), only))
        for w in workers
    ]
    return sorted(named, key=lambda w: (w.node or "~", w.url))


def tasks_by_node(workers: Iterable[WorkerAssignment]) -> dict[str, str]:
    """Task name -> the node (or URL) of the worker that runs it."""
    return {task: w.node or w.url for w in workers for task in w.tasks}


def short_task(name: str) -> str:
    """``Source-0`` for ``MirrorSourceConnector-0`` (``Checkpoint-0``, ``Heartbeat-0``), for narrow lines."""
    return name.removeprefix("Mirror").replace("Connector", "")


def task_list(tasks: Iterable[str]) -> str:
    """Tasks grouped by connector, for a narrow line: ``Source 0,1 · Heartbeat 0``; ``no tasks``."""
    numbers: dict[str, list[str]] = {}
    for task in tasks:
        connector, _, number = short_task(task).rpartition("-")
        numbers.setdefault(connector, []).append(number)
    return " · ".join(f"{name} {','.join(found)}" for name, found in numbers.items()) or "no tasks"


def worker_lines(workers: Iterable[WorkerAssignment]) -> list[str]:
    """One line per worker of a MirrorMaker 2 cluster: ``dr-edge-1: Source 0 · Heartbeat 0 (leader)``;
    none for a lone worker without internal REST (one edge node: nothing to tell apart). Outside text:
    escape it before showing it."""
    workers = list(workers)
    if all(w.url.strip().upper() == "NOTUSED" for w in workers):
        return []
    lines = []
    for worker in workers:
        lead = " (leader)" if worker.leader else ""
        lines.append(f"{worker.node or worker.url}: {task_list(worker.tasks)}{lead}")
    return lines
