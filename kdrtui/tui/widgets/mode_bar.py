"""The one-line bar at the top: the modes with their keys, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

MODE_TABS: tuple[tuple[str, str, str], ...] = (
    ("1", "overview", "Overview"),
    ("2", "wizard", "Wizard"),
    ("3", "provisioning", "Provision"),
    ("4", "lag", "Mirror lag"),
    ("5", "failover", "Failover"),
    ("6", "edge", "Edge"),
)
"""(key, mode name, label) for every mode, in tab order."""


class ModeBar(Static):
    """Shows where you are and how to get elsewhere; clickable, but keys are the primary way."""

    current: reactive[str] = reactive("overview")
    """The mode whose tab is highlighted."""

    def __init__(self, current: str, *, read_only: bool) -> None:
        super().__init__(id="mode-bar")
        self.read_only = read_only
        """Shows a READ-ONLY badge when true."""
        self.set_reactive(ModeBar.current, current)

    def render(self) -> Text:
        text = Text(" kdrtui ", style="bold reverse")
        for key, mode, label in MODE_TABS:
            style = "bold reverse" if mode == self.current else ""
            text.append(" ")
            text.append_text(
                Text.assemble((f"{key} ", "dim" if mode != self.current else ""), label, style=style)
            )
            text.append(" ")
        if self.read_only:
            text.append("  READ-ONLY ", style="bold")
        return text
