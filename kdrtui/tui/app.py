"""The kdrtui console: modes, keys, themes, and the live cluster monitor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from kdrtui.domain.health import ClusterView, advance
from kdrtui.domain.plan import Plan
from kdrtui.tui.console import KdrConsole
from kdrtui.tui.factories import (
    ConsoleServices,
    DivergenceSourceFactory,
    LagSourceFactory,
    ManagerFactory,
    OperationFactory,
    ProbeFactory,
    ReadinessCheck,
    TimelineStoreFactory,
    console_manager_factory,
    divergence_engine_factory,
    kafka_probe_factory,
    lag_engine_factory,
    runbook_operation_factory,
    timeline_store_factory,
)
from kdrtui.tui.messages import ClusterObserved
from kdrtui.tui.probes import ClusterProbes
from kdrtui.tui.screens.dialogs import ConfirmScreen, HelpScreen, TooSmallScreen
from kdrtui.tui.screens.edge import EdgeScreen
from kdrtui.tui.screens.failover import FailoverScreen
from kdrtui.tui.screens.gameday import GamedayScreen, gameday_commands
from kdrtui.tui.screens.lag import LagScreen
from kdrtui.tui.screens.overview import OverviewScreen
from kdrtui.tui.screens.provisioning import ProvisioningScreen
from kdrtui.tui.screens.provisioning_model import ProvisioningFactory, azure_provisioning_factory
from kdrtui.tui.screens.timeline import TimelineScreen
from kdrtui.tui.screens.wizard import WizardScreen
from kdrtui.tui.themes import THEME_NAMES, load_theme
from kdrtui.tui.timeline_feed import ConsoleTimeline
from kdrtui.tui.widgets.mode_bar import MODE_TABS

if TYPE_CHECKING:
    from kdrtui.domain.plan import EdgeNode
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager

MIN_WIDTH, MIN_HEIGHT = 80, 24


class KdrApp(App[None]):
    """The console. Build it with :func:`make_app` so tests can inject its services."""

    CSS_PATH = ["app.tcss", "widgets/widgets.tcss"]
    TITLE = "kdrtui"
    MODES: ClassVar[dict[str, type[Screen[None]]]] = {  # type: ignore[assignment]
        "overview": OverviewScreen,
        "wizard": WizardScreen,
        "provisioning": ProvisioningScreen,
        "lag": LagScreen,
        "failover": FailoverScreen,
        "edge": EdgeScreen,
        "timeline": TimelineScreen,
        "gameday": GamedayScreen,
    }
    DEFAULT_MODE = "overview"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        *(
            Binding(key, f"goto('{mode}')", label, show=False, id=f"mode.{mode}")
            for key, mode, label in MODE_TABS
        ),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("q", "request_quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        *,
        plan: Plan | None,
        plan_path: Path | None,
        services: ConsoleServices,
        theme: str = "dark",
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self.animation_level = "none"
        self.plan = plan
        """The DR plan the console works on, or ``None``."""
        self.plan_path = plan_path
        """Where the plan was read from."""
        self.read_only = read_only
        """When true, nothing that changes anything is offered."""
        self.services = services
        """The factories of the clients the panes drive, the clock and the intervals."""
        self.cluster_views: dict[str, ClusterView] = {}
        """The newest view of each cluster, by alias."""
        self.operations: dict[str, str] = {}
        """Long operations in progress (id -> description); quitting asks first while any run."""
        self.passphrases: dict[str, str] = {}
        """SSH key passphrases typed this session (key file -> passphrase); memory only, never logged."""
        self._mm_manager: MirrorMakerManager | None = None
        self._probes = ClusterProbes(self, services)
        self.timeline_feed = ConsoleTimeline(self, services, lambda: (self.plan, self.plan_path))
        """Records what the console observes in the plan's incident timeline."""
        for name in THEME_NAMES:
            self.register_theme(load_theme(name))
        chosen = load_theme(theme)
        self.register_theme(chosen)
        self.theme = chosen.name
        if plan is not None:
            self.cluster_views = {alias: ClusterView(alias) for alias in plan.clusters}

    @property
    def mm_manager(self) -> MirrorMakerManager | None:
        """MirrorMaker on the plan's edge nodes; built on first use (asyncssh loads only then)."""
        if self._mm_manager is None and self.plan is not None and self.plan.edge_nodes:
            self._mm_manager = self.services.manager_factory(self, self.plan)
        return self._mm_manager

    async def ask_host_key(self, host: str, port: int, key_type: str, fingerprint: str) -> bool:
        """Whether to trust an edge node's unknown SSH host key, asked in a modal (call from a worker)."""
        from kdrtui.tui.screens.ssh_prompts import HostKeyScreen

        screen = HostKeyScreen(host, port, key_type, fingerprint)
        return bool(await self.push_screen_wait(screen))  # type: ignore[arg-type]

    async def ask_passphrase(self, node: EdgeNode, error: Exception) -> bool:
        """Ask for a key's passphrase in a modal (call from a worker); True when one was given."""
        from kdrtui.tui.screens.ssh_prompts import PassphraseScreen

        key = str(getattr(error, "key_file", None) or node.key_file or "the SSH key")
        passphrase = await self.push_screen_wait(PassphraseScreen(key))
        if passphrase:
            self.passphrases[key] = passphrase
            return True
        return False

    # -- life cycle -------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self._check_size()
        self._probes.start(self.plan)
        self.timeline_feed.start()

    async def reload_plan(self) -> None:
        """Read the plan file again and work on what it says now (:meth:`adopt_plan`).

        Raises:
            PlanInvalid: the file no longer loads (the console keeps the plan it had).
        """
        from kdrtui.services.plan_files import load_plan

        if self.plan_path is not None:
            self.adopt_plan(await asyncio.to_thread(load_plan, self.plan_path))

    def adopt_plan(self, plan: Plan) -> None:
        """Work on ``plan`` from now on: the plan file changed under the console (provisioning wrote the
        clusters' bootstrap servers and the edge nodes' endpoints into it).

        The Overview's probes restart on the new bootstrap servers (clusters whose servers changed start
        afresh), MirrorMaker's manager is rebuilt on the new edge nodes, and the other panes read the plan
        when they next poll or are shown.
        """
        old = self.plan
        self.plan = plan
        if old == plan:
            return
        views = {}
        for alias, cluster in plan.clusters.items():
            same = old is not None and alias in old.clusters and old.clusters[alias] == cluster
            views[alias] = self.cluster_views.get(alias, ClusterView(alias)) if same else ClusterView(alias)
        self.cluster_views = views
        self._probes.restart(plan)
        manager, self._mm_manager = self._mm_manager, None
        if manager is not None:
            self.run_worker(manager.close(), name="close-mm-manager", exit_on_error=False)
        screen = self._current_screen()
        if isinstance(screen, OverviewScreen):
            self.run_worker(screen.follow_plan(), name="overview-follow-plan", exit_on_error=False)

    async def on_unmount(self) -> None:
        self._probes.stop()
        self.timeline_feed.stop()
        if self._mm_manager is not None:
            await self._mm_manager.close()

    def on_cluster_observed(self, message: ClusterObserved) -> None:
        view = self.cluster_views.get(message.alias, ClusterView(message.alias))
        self.cluster_views[message.alias] = advance(view, message.observation)
        self.timeline_feed.cluster(message.alias, message.observation)
        # Hidden panes are not redrawn; the Overview redraws from cluster_views when shown again.
        screen = self._current_screen()
        if isinstance(screen, OverviewScreen):
            screen.refresh_views()

    def _current_screen(self) -> Screen[object] | None:
        """The visible screen, or None while a mode switch has emptied the stack for a moment."""
        try:
            return self.screen
        except ScreenStackError:
            return None

    # -- size ---------------------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        # self.size lags behind (Textual debounces resizes), so use the event's size.
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int | None = None, height: int | None = None) -> None:
        if width is None or height is None:
            width, height = self.size
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        screen = self._current_screen()
        if screen is None:
            return
        if too_small and not isinstance(screen, TooSmallScreen):
            self.push_screen(TooSmallScreen())
        elif not too_small and isinstance(screen, TooSmallScreen):
            self.pop_screen()

    # -- actions ------------------------------------------------------------------------------------

    async def action_goto(self, mode: str) -> None:
        """Switch to a pane (Overview, Wizard, Provision, Mirror lag, Failover, Edge, Timeline, Game day)."""
        if isinstance(self._current_screen(), TooSmallScreen):
            return
        await self.switch_mode(mode)
        self._check_size()

    def action_refresh_now(self) -> None:
        """Probe every cluster now instead of waiting for the next interval."""
        self._probes.wake()

    def action_help(self) -> None:
        """Show every key that works here."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """(keys, description) for every active binding of the current screen and the app.

        Keys that do the same thing share a row (``^c, super+c``).
        """
        rows: dict[str, list[str]] = {}
        for active in self.active_bindings.values():
            binding = active.binding
            if not binding.description or active.enabled is False:
                continue
            keys = rows.setdefault(binding.description, [])
            key = self.get_key_display(binding)
            if key not in keys:
                keys.append(key)
        return [(", ".join(keys), description) for description, keys in rows.items()]

    def action_request_quit(self) -> None:
        """Quit; asks first while an operation is running."""
        if not self.operations:
            self.exit()
            return
        running = "; ".join(self.operations.values())

        def answered(really: bool | None) -> None:
            if really:
                self.exit()

        self.push_screen(ConfirmScreen(f"Still running: {running}. Quit anyway?"), answered)

    async def action_quit(self) -> None:
        """Every way out (ctrl+q, the palette) goes through the same guard."""
        self.action_request_quit()

    def begin_operation(self, op_id: str, description: str) -> None:
        """Mark a long operation as running (quitting then asks first)."""
        self.operations[op_id] = description

    def end_operation(self, op_id: str) -> None:
        """Mark a long operation as finished."""
        self.operations.pop(op_id, None)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for key, mode, label in MODE_TABS:
            yield SystemCommand(
                f"Go to {label}", f"Switch to the {label} pane (key {key})", partial(self.action_goto, mode)
            )
        yield from gameday_commands(self, self.read_only)
        yield SystemCommand("Refresh now", "Probe every cluster now", self.action_refresh_now)
        yield SystemCommand("Help: keys", "Show every key that works here", self.action_help)
        for name in THEME_NAMES:
            yield SystemCommand(
                f"Theme: {name}", f"Switch to the {name} theme", partial(self._set_theme, name)
            )
        yield SystemCommand(
            "Quit", "Quit kdrtui (asks first while an operation runs)", self.action_request_quit
        )

    def _set_theme(self, name: str) -> None:
        self.theme = f"kdrtui-{name}"


def make_app(
    plan: Plan | None = None,
    plan_path: Path | None = None,
    *,
    probe_factory: ProbeFactory = kafka_probe_factory,
    manager_factory: ManagerFactory = console_manager_factory,
    clock: Callable[[], float] = time.time,
    theme: str = "dark",
    read_only: bool = False,
    refresh_interval: float = 2.0,
    lag_source_factory: LagSourceFactory = lag_engine_factory,
    divergence_source_factory: DivergenceSourceFactory = divergence_engine_factory,
    lag_interval: float = 2.0,
    alert_command: str | None = None,
    operation_factory: OperationFactory = runbook_operation_factory,
    provisioning_factory: ProvisioningFactory = azure_provisioning_factory,
    readiness_check: ReadinessCheck | None = None,
    readiness_interval: float = 60.0,
    timeline_store_factory: TimelineStoreFactory = timeline_store_factory,
    timeline_interval: float = 5.0,
) -> KdrApp:
    """Build the console with its services; tests pass their own factories and clock."""
    services = ConsoleServices(
        probe_factory=probe_factory,
        manager_factory=manager_factory,
        lag_source_factory=lag_source_factory,
        divergence_source_factory=divergence_source_factory,
        operation_factory=operation_factory,
        provisioning_factory=provisioning_factory,
        clock=clock,
        refresh_interval=refresh_interval,
        lag_interval=lag_interval,
        alert_command=alert_command,
        readiness_check=readiness_check,
        readiness_interval=readiness_interval,
        timeline_store_factory=timeline_store_factory,
        timeline_interval=timeline_interval,
    )
    app = KdrApp(plan=plan, plan_path=plan_path, services=services, theme=theme, read_only=read_only)
    _console: KdrConsole = app  # mypy checks the app is what its panes take it for
    return app
