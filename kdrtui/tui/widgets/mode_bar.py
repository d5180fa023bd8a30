"""The one-line bar at the top: the modes with their keys, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from kdrtui.tui.text import theme_colour

MODE_TABS: tuple[tuple[str, str, str], ...] = (
    ("1", "overview", "Overview"),
    ("2", "wizard", "Wizard"),
    ("3", "provisioning", "Provision"),
    ("4", "lag", "Mirror lag"),
    ("5", "failover", "Failover"),
    ("6", "edge", "Edge"),
    ("7", "timeline", "Timeline"),
    ("8", "gameday", "Game day"),
)
"""(key, mode name, label) for every mode, in tab order."""
SHORT_LABELS = {"lag": "Lag"}
"""Shorter labels for a tight bar (80 columns)."""
TIGHT_LABELS = {"lag": "Lag", "provisioning": "Prov", "gameday": "Game"}
"""The shortest labels, for the tightest bar (80 columns with the READ-ONLY badge)."""

BRAND = " kdrtui "
"""The bar's first cells, when there is room for them."""
BADGE = " READ-ONLY "
"""Shown at the end of the bar under ``--read-only``."""


class ModeBar(Static):
    """Shows where you are and how to get elsewhere; clickable, but keys are the primary way.

    The bar takes the roomiest layout that fits the terminal (and the READ-ONLY badge, which never falls
    off the end): the brand goes first, then the space between the tabs, then the longer labels
    (:data:`SHORT_LABELS`, then :data:`TIGHT_LABELS`). At 80 columns the eight tabs fit with the short
    labels, and with the badge with the tightest ones.
    """

    current: reactive[str] = reactive("overview")
    """The mode whose tab is highlighted."""

    def __init__(self, current: str, *, read_only: bool) -> None:
        super().__init__(id="mode-bar")
        self.read_only = read_only
        """Shows a READ-ONLY badge when true."""
        self.set_reactive(ModeBar.current, current)

    def _tabs(self, *, brand: bool, roomy: bool, short: dict[str, str] | None = None) -> Text:
        text = Text(BRAND, style="bold reverse") if brand else Text()
        for key, mode, label in MODE_TABS:
            label = short.get(mode, label) if short else label
            style = "bold reverse" if mode == self.current else ""
            text.append(" ")
            text.append_text(
                Text.assemble((f"{key} ", "dim" if mode != self.current else ""), label, style=style)
            )
            if roomy:
                text.append(" ")
        return text

    def render(self) -> Text:
        badge = Text(BADGE, style=f"bold {theme_colour(self.app, 'warning')}".strip())
        if not self.read_only:
            badge = Text()
        width = self.size.width or 80
        layouts = (
            self._tabs(brand=True, roomy=True),
            self._tabs(brand=False, roomy=True),
            self._tabs(brand=False, roomy=False),
            self._tabs(brand=False, roomy=False, short=SHORT_LABELS),
            self._tabs(brand=False, roomy=False, short=TIGHT_LABELS),
        )
        tabs = next((t for t in layouts if t.cell_len + badge.cell_len <= width), None)
        if tabs is None:  # narrower than the console's minimum: the badge goes first
            return Text.assemble(badge, layouts[-1])
        return Text.assemble(tabs, badge)
