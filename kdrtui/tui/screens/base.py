"""The frame every mode shares: mode bar on top, footer with the keys below."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer

from kdrtui.tui.helpers import ConsoleNode
from kdrtui.tui.widgets.mode_bar import ModeBar

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan


class ModeScreen(ConsoleNode, Screen[None]):
    """A console mode. Subclasses implement :meth:`compose_body`."""

    MODE: str = ""
    """The mode name this screen is registered under."""
    MUTATING: ClassVar[frozenset[str]] = frozenset()
    """This screen's actions that change something: hidden (and refused) under ``--read-only``."""

    @property
    def plan(self) -> Plan | None:
        """The app's plan."""
        return self.kdr_app.plan

    @property
    def plan_path(self) -> Path | None:
        """Where the plan was read from."""
        return self.kdr_app.plan_path

    @property
    def read_only(self) -> bool:
        """Whether nothing that changes anything is offered (``--read-only``)."""
        return self.kdr_app.read_only

    def refused_by_lock(self, operation: str) -> bool:
        """Whether another operation holds the plan's lock (a look, never a wait); if so the key is
        refused with who holds it, as the CLI refuses a second operation (exit 2)."""
        from kdrtui.services.runbook.lock import PlanLocked
        from kdrtui.services.runbook.store import RunbookStore

        plan = self.plan
        if plan is None:
            return False
        holder = RunbookStore(plan.plan.name, self.plan_path).lock().holder()
        if holder is None:
            return False
        self.notify(
            str(PlanLocked(plan.plan.name, holder, operation)), severity="error", timeout=15, markup=False
        )
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Textual: False hides a binding (and refuses the action), None shows it disabled.
        if action in self.MUTATING and self.read_only:
            return False
        return True

    def compose(self) -> ComposeResult:
        yield ModeBar(self.MODE, read_only=self.read_only)
        with Vertical(id="body"):
            yield from self.compose_body()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        """The mode's own widgets."""
        yield from ()
