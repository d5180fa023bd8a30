"""Modes whose capability is not built yet. They say so plainly and show no made-up data."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from kdrtui.tui.screens.base import ModeScreen


class PendingScreen(ModeScreen):
    """A mode that is planned but not yet built."""

    TITLE_TEXT = ""
    """The pane's name."""
    WHAT = ""
    """What the pane will do, in a sentence or two."""
    MEANWHILE = ""
    """What to use until it exists."""

    def compose_body(self) -> ComposeResult:
        yield Static(f"[b]{self.TITLE_TEXT}[/b] — not built yet", classes="pending-title")
        yield Static(self.WHAT, classes="pending-text")
        if self.MEANWHILE:
            yield Static(f"Meanwhile: {self.MEANWHILE}", classes="pending-text")
        yield Static("This pane shows nothing rather than made-up data.", classes="pending-note")
