"""What the console's screens and widgets need of the running app, as a Protocol (:class:`KdrConsole`).

The app (:class:`kdrtui.tui.app.KdrApp`) satisfies it; the screens reach it through
:attr:`kdrtui.tui.helpers.ConsoleNode.kdr_app` and never import the app's module, so the app imports its
screens and nothing imports it back (only the CLI builds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from kdrtui.domain.health import ClusterView
    from kdrtui.domain.plan import EdgeNode, Plan
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager
    from kdrtui.tui.factories import ConsoleServices
    from kdrtui.tui.timeline_feed import ConsoleTimeline


class KdrConsole(Protocol):
    """The console as its panes see it: the plan, the services, the shared state and the questions only
    the app can ask (a modal over whatever pane is shown)."""

    @property
    def plan(self) -> Plan | None:
        """The DR plan the console works on, or ``None``."""
        ...

    @property
    def plan_path(self) -> Path | None:
        """Where the plan was read from."""
        ...

    @property
    def read_only(self) -> bool:
        """When true, nothing that changes anything is offered."""
        ...

    @property
    def services(self) -> ConsoleServices:
        """The factories of the clients the panes drive, the clock and the intervals."""
        ...

    @property
    def cluster_views(self) -> dict[str, ClusterView]:
        """The newest view of each cluster, by alias."""
        ...

    @property
    def passphrases(self) -> dict[str, str]:
        """SSH key passphrases typed this session (key file -> passphrase)."""
        ...

    @property
    def timeline_feed(self) -> ConsoleTimeline:
        """Records what the console observes in the plan's incident timeline."""
        ...

    @property
    def mm_manager(self) -> MirrorMakerManager | None:
        """MirrorMaker on the plan's edge nodes (None without edge nodes)."""
        ...

    async def reload_plan(self) -> None:
        """Read the plan file again and work on what it says now (provisioning wrote into it).

        Raises:
            PlanInvalid: the file no longer loads (the console keeps the plan it had).
        """
        ...

    async def ask_host_key(self, host: str, port: int, key_type: str, fingerprint: str) -> bool:
        """Whether to trust an edge node's unknown SSH host key (call from a worker)."""
        ...

    async def ask_passphrase(self, node: EdgeNode, error: Exception) -> bool:
        """Ask for a key's passphrase (call from a worker); True when one was given."""
        ...

    def begin_operation(self, op_id: str, description: str) -> None:
        """Mark a long operation as running (quitting then asks first)."""
        ...

    def end_operation(self, op_id: str) -> None:
        """Mark a long operation as finished."""
        ...

    def action_help(self) -> None:
        """Show every key that works here."""
        ...
