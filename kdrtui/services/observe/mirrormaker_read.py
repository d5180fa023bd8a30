"""MirrorMaker's process and MM2 task states on every edge node, read over SSH as the Edge pane and
``kdrtui mm status`` read them (:meth:`MirrorMakerManager.status`, then the connector and task states from
the target), each node bounded by a timeout, for ``kdrtui exporter``.

A node that cannot be read (SSH down, a host key not trusted, a key that needs a passphrase and no agent,
the timeout) is said so (:attr:`NodeRead.ok` False with the reason), never shown with its last states as
if fresh. Runs its own event loop: call :meth:`MirrorMakerReader.read` from one thread only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.domain.plan_sites import EdgeNode
    from kdrtui.services.mirrormaker.connectors import TaskStateReaders
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager


@dataclass(frozen=True, slots=True)
class NodeRead:
    """One edge node's read."""

    node: str
    """The edge node's name."""
    ok: bool
    """Every deployment of the node was read over SSH (the states are of now)."""
    statuses: tuple[MirrorMakerStatus, ...] = ()
    """Its deployments' states (none when the node could not be read)."""
    error: str | None = None
    """Why it could not be read."""
    duration_s: float = 0.0
    """How long the read took."""


@dataclass(frozen=True, slots=True)
class MirrorMakerRead:
    """Every edge node's read, at one time."""

    at: float
    """When the read finished (epoch s)."""
    nodes: tuple[NodeRead, ...]
    """One per edge node of the plan."""
    duration_s: float = 0.0
    """How long the whole read took."""

    @property
    def statuses(self) -> list[MirrorMakerStatus]:
        """Every deployment read (of the nodes that answered)."""
        return [status for node in self.nodes for status in node.statuses]


def _manager(plan: Plan) -> MirrorMakerManager:
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager

    return MirrorMakerManager(plan)  # unknown host keys refused, no prompt: a service has no terminal


class MirrorMakerReader:
    """Reads every edge node of ``plan()`` (a new manager when the plan object changes: after a failover
    the reverse flow runs elsewhere). Blocking; close it when done."""

    def __init__(
        self,
        plan: Callable[[], Plan],
        *,
        timeout_s: float = 20.0,
        manager: Callable[[Plan], MirrorMakerManager] = _manager,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._plan = plan
        self._timeout_s = timeout_s
        self._make_manager = manager
        self._clock = clock
        self._loop = asyncio.new_event_loop()
        self._manager: MirrorMakerManager | None = None
        self._readers: TaskStateReaders | None = None

    def read(self) -> MirrorMakerRead:
        """Every node now (each bounded by the timeout)."""
        return self._loop.run_until_complete(self._read())

    async def _read(self) -> MirrorMakerRead:
        from kdrtui.services.mirrormaker.connectors import TaskStateReaders

        plan = self._plan()
        if self._manager is None or self._manager.plan is not plan:
            await self._drop()
            self._manager = self._make_manager(plan)
            self._readers = TaskStateReaders()
        started = time.monotonic()
        nodes = [await self._node(node) for node in plan.edge_nodes]
        return MirrorMakerRead(self._clock(), tuple(nodes), time.monotonic() - started)

    async def _node(self, node: EdgeNode) -> NodeRead:
        manager, readers = self._manager, self._readers
        assert manager is not None and readers is not None
        started = time.monotonic()

        async def states() -> list[MirrorMakerStatus]:
            found = []
            for dep in await manager.deployments(node):
                status = await manager.status(dep, with_drift=False)
                found.append(await readers.with_states(manager.plan, dep, status))
            return found

        try:
            statuses = await asyncio.wait_for(states(), self._timeout_s)
        except TimeoutError:
            await manager.forget_session(node.name)  # a half-open session: start over next time
            why = f"{node.name}: no answer over SSH within {self._timeout_s:.0f} s"
            return NodeRead(node.name, False, error=why, duration_s=time.monotonic() - started)
        except Exception as exc:  # SSH down, host key refused, passphrase needed: say it, keep reading
            await manager.forget_session(node.name)
            why = str(exc) or type(exc).__name__
            return NodeRead(node.name, False, error=why, duration_s=time.monotonic() - started)
        unknown = [s.error or "unknown" for s in statuses if s.state is MmState.UNKNOWN]
        return NodeRead(
            node.name,
            not unknown,
            tuple(statuses),
            error=unknown[0] if unknown else None,
            duration_s=time.monotonic() - started,
        )

    async def _drop(self) -> None:
        if self._manager is not None:
            await self._manager.close()
            self._manager = None
        if self._readers is not None:
            await asyncio.to_thread(self._readers.close)
            self._readers = None

    def close(self) -> None:
        """Close the SSH sessions and the task-state readers, then the loop."""
        try:
            self._loop.run_until_complete(self._drop())
        finally:
            self._loop.close()
