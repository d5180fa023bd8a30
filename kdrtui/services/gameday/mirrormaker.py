"""MirrorMaker for a game day, through kdrtui's own path (:class:`~kdrtui.services.mirrormaker.manager.
MirrorMakerManager`, over SSH to the edge nodes, as ``kdrtui mm status/start`` do), blocking."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from kdrtui.domain.mirrormaker import MirrorMakerStatus
    from kdrtui.domain.plan import Plan
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager

T = TypeVar("T")


def _with_manager(plan: Plan, body: Callable[[MirrorMakerManager], Awaitable[T]]) -> T:
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager

    async def main() -> T:
        manager = MirrorMakerManager(plan)
        try:
            return await body(manager)
        finally:
            await manager.close()

    return asyncio.run(main())


def statuses(plan: Plan) -> list[MirrorMakerStatus]:
    """Every MirrorMaker deployment of the plan's flows (as running now), as ``kdrtui mm status`` reads it."""

    async def body(manager: MirrorMakerManager) -> list[MirrorMakerStatus]:
        return [await manager.status(dep, with_drift=False) for dep in await manager.select()]

    return _with_manager(plan, body)


def start_all(plan: Plan, say: Callable[[str], None]) -> list[MirrorMakerStatus]:
    """``kdrtui mm start``: start every deployment not running; returns their states."""

    async def body(manager: MirrorMakerManager) -> list[MirrorMakerStatus]:
        return [await manager.start(dep, say) for dep in await manager.select()]

    return _with_manager(plan, body)


def kill(plan: Plan, node: str, pid: int, signal: str = "KILL") -> None:
    """Send ``signal`` to ``pid`` on edge node ``node``, over SSH (a crash, not a stop: the supervisor
    records it as one)."""

    async def body(manager: MirrorMakerManager) -> None:
        target: Any = next(n for n in manager.nodes() if n.name == node)
        await manager.session(target).run(f"kill -{signal} {int(pid)}", timeout=20, check=True)

    _with_manager(plan, body)


def stop_all(plan: Plan, say: Callable[[str], None]) -> list[MirrorMakerStatus]:
    """``kdrtui mm stop``: stop every deployment (not restarted by its supervisor); returns their states."""

    async def body(manager: MirrorMakerManager) -> list[MirrorMakerStatus]:
        return [await manager.stop(dep, say) for dep in await manager.select()]

    return _with_manager(plan, body)
