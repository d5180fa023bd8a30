"""Overview: every cluster of the plan, live, the automated failover policy's state, and the flows between
them.

The Automation line reads what ``kdrtui watch`` publishes in the plan's runbook directory every
``automation_interval`` seconds (5 s), in a thread worker, only while the Overview is shown; the line is
repainted only when its text changes.
"""

from __future__ import annotations

import logging

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from kdrtui.domain.plan import Plan
from kdrtui.domain.readiness import Finding
from kdrtui.domain.security import describe_security
from kdrtui.services.automation.summary import AutomationStatus
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.text import middle_ellipsis
from kdrtui.tui.widgets.automation_line import AutomationLine
from kdrtui.tui.widgets.cluster_card import ClusterCard
from kdrtui.tui.widgets.readiness_card import ReadinessCard

LOGGER = logging.getLogger("kdrtui.overview")

PATTERN_WIDTH = 24
"""Cells a flow's topic pattern may take on the Overview; a longer one keeps its start and its end."""


def describe_flow(plan: Plan, index: int, width: int = 78) -> str:
    """One line per MirrorMaker flow, e.g. ``primary → dr  MM2 · prefixed (primary.<topic>) · topics
    orders.*`` (plain text), that wraps into two rows of ``width`` at most: each topic pattern is shortened
    to :data:`PATTERN_WIDTH` cells, and patterns beyond two rows are counted (``+12 more``)."""
    flow = plan.flows[index]
    naming = str(flow.naming)
    names = f"{flow.source}.<topic>" if naming == "prefixed" else "<topic>"
    head = (
        f"{flow.source} → {flow.target}  {str(flow.mirrormaker).upper()} · {naming} "
        f"(as {names} on {flow.target}) · topics "
    )
    # Rows wrap at spaces, so leave a pattern's worth of slack for the first row's ragged end.
    budget = 2 * width - PATTERN_WIDTH - cell_len(head)
    patterns = [middle_ellipsis(pattern, PATTERN_WIDTH) for pattern in flow.topics]
    shown: list[str] = []
    for i, pattern in enumerate(patterns):
        more = len(patterns) - i - 1
        rest = f", … +{more} more" if more else ""
        if cell_len(", ".join([*shown, pattern]) + rest) > budget and shown:
            shown.append(f"… +{len(patterns) - i} more")
            break
        shown.append(pattern)
    return head + (", ".join(shown) or "-")


class OverviewScreen(ModeScreen):
    """Each cluster's reachability and health (brokers up of expected; partitions under-replicated, offline or
    under min ISR), topics, controller and data age."""

    MODE = "overview"
    BINDINGS = [
        Binding("r", "app.refresh_now", "Refresh", id="overview.refresh"),
        Binding("c", "check_readiness", "Check", id="overview.check"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.composed_for: Plan | None = None
        """The plan the cards were built for (the app's plan can change: provisioning writes into it)."""
        self.readiness: tuple[list[Finding] | None, float | None, str | None] = (None, None, None)
        """The last readiness check: (findings, when it started, why it failed)."""
        self.automation: AutomationStatus | None = None
        """The automated failover policy as last read (None before the first read)."""
        self._automation_timer: Timer | None = None

    def compose_body(self) -> ComposeResult:
        plan, plan_path = self.plan, self.plan_path
        self.composed_for = plan
        if plan is None:
            yield Static(
                "[b]No DR plan loaded.[/b]\n\n"
                "Start the local rehearsal lab with [b]kdrtui lab up[/b] and open it with "
                "[b]kdrtui --plan lab[/b], or pass [b]--plan PATH[/b] to a plan file "
                "(README: 'The DR plan file').",
                id="no-plan",
            )
            return
        # Names from the plan file are template values, never read as markup.
        where = " · [dim]$path[/dim]" if plan_path else ""
        line = Content.from_markup(
            f"[b]$name[/b] · $topology{where}",
            name=plan.plan.name,
            topology=plan.plan.topology,
            path=plan_path,
        )
        yield Static(line, id="plan-line")
        yield AutomationLine()
        with Grid(id="cluster-grid"):
            for alias, cluster in plan.clusters.items():
                role = (
                    "primary"
                    if alias == plan.primary_alias
                    else "secondary"
                    if alias == plan.secondary_alias
                    else "cluster"
                )
                yield ClusterCard(
                    alias,
                    region=cluster.region,
                    role=role,
                    bootstrap=",".join(cluster.bootstrap_servers),
                    security=describe_security(cluster.security),
                )
        if self.kdr_app.services.readiness_check is not None:
            yield ReadinessCard()
        width = max(40, self.app.size.width - 2)
        flows = (
            "\n".join(describe_flow(plan, i, width) for i in range(len(plan.flows))) or "none (dual ingest)"
        )
        yield Static(Content.from_markup("[b]Flows[/b]\n$flows", flows=flows), id="flows")
        if plan.edge_nodes:
            nodes = ", ".join(f"{n.name} ({n.cluster}, {n.user}@{n.host}:{n.port})" for n in plan.edge_nodes)
            edge = Content.from_markup(
                "[b]Edge nodes[/b]  $nodes — MirrorMaker state: [b]6[/b] Edge", nodes=nodes
            )
            yield Static(edge, id="edge-nodes")

    def on_mount(self) -> None:
        self.refresh_views()
        services = self.kdr_app.services
        if services.readiness_check is not None:
            self.set_interval(services.readiness_interval, self.action_check_readiness)
            self.action_check_readiness()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check_readiness":
            return self.kdr_app.services.readiness_check is not None and self.plan is not None
        return super().check_action(action, parameters)

    def action_check_readiness(self) -> None:
        """Run ``kdrtui check`` in a thread (one at a time); the card shows it when it ends."""
        check, plan = self.kdr_app.services.readiness_check, self.plan
        if check is None or plan is None:
            return
        if any(w.group == "readiness" and w.is_running for w in self.workers):
            return
        path = self.plan_path
        started = self.now()

        def work() -> None:
            try:
                found = check(plan, path)
            except Exception as exc:  # a check that cannot run is shown, never a crash
                self.app.call_from_thread(self._readiness_done, None, started, f"{type(exc).__name__}: {exc}")
                return
            self.app.call_from_thread(self._readiness_done, found, started, None)

        self.run_worker(work, thread=True, group="readiness", name="readiness-check", exit_on_error=False)

    def _readiness_done(self, findings: list[Finding] | None, started: float, error: str | None) -> None:
        self.readiness = (findings, started, error) if findings is not None or error else self.readiness
        self._show_readiness()

    def _show_readiness(self) -> None:
        for card in self.query(ReadinessCard):
            findings, checked_at, error = self.readiness
            card.show(findings, checked_at, self.now(), error)

    async def on_screen_resume(self) -> None:
        await self.follow_plan()
        # What kdrtui watch publishes is read while the Overview is shown: now, then every interval.
        if self._automation_timer is None:
            interval = self.services.automation_interval
            self._automation_timer = self.set_interval(interval, self.read_automation, name="automation")
        else:
            self._automation_timer.resume()
        self.read_automation()

    def on_screen_suspend(self) -> None:
        if self._automation_timer is not None:
            self._automation_timer.pause()

    async def follow_plan(self) -> None:
        """Rebuild the cards when the app's plan is not the one they show, then draw them."""
        if self.plan != self.composed_for:
            await self.recompose()
            self.read_automation()
        self.refresh_views()

    def read_automation(self) -> None:
        """Read what ``kdrtui watch`` published (in a thread, one read at a time; no file when the policy
        is off); the Automation line shows it."""
        from kdrtui.services.automation.summary import read_automation

        plan, path, now = self.plan, self.plan_path, self.now()
        if plan is None:
            return
        if not plan.automation.enabled:
            self._automation_read(AutomationStatus(False, str(plan.automation.mode), now=now))
            return
        if any(w.group == "automation" and w.is_running for w in self.workers):
            return

        def work() -> None:
            try:
                status = read_automation(plan, path, now)
            except Exception as exc:  # an unreadable directory: the line keeps what it showed
                LOGGER.warning("overview: automation state unreadable: %s", exc)
                return
            self.app.call_from_thread(self._automation_read, status)

        self.run_worker(work, thread=True, group="automation", name="automation-read", exit_on_error=False)

    def _automation_read(self, status: AutomationStatus) -> None:
        self.automation = status
        for line in self.query(AutomationLine):
            line.show(status)

    def refresh_views(self) -> None:
        """Draw every card from the app's current views (called on new data and when shown)."""
        views = self.kdr_app.cluster_views
        now = self.now()
        for card in self.query(ClusterCard):
            view = views.get(card.alias)
            if view is not None:
                card.show(view, now)
        self._show_readiness()
