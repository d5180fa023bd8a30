"""The Overview's Automation line: what the automated failover policy (``kdrtui watch``) is doing, in one
row coloured by its tone (:class:`kdrtui.services.automation.summary.AutomationStatus`)."""

from __future__ import annotations

from textual.content import Content

from kdrtui.services.automation.summary import AutomationStatus
from kdrtui.tui.widgets.line_static import LineStatic

TONE_STYLES = {
    "off": "dim",
    "neutral": "",
    "ok": "$success",
    "warn": "$warning",
    "crit": "b $error",
}
"""Each tone's Textual style (``""``: the foreground)."""


def automation_content(status: AutomationStatus) -> Content:
    """``Automation: <text>``, the text in its tone's colour (never read as markup: the watcher's text
    names hosts and vantage points)."""
    text = status.text(coarse=True)
    if status.tone == "off":
        return Content.from_markup("[dim]Automation: $text[/dim]", text=text)
    style = TONE_STYLES.get(status.tone, "$warning")
    value = f"[{style}]$text[/]" if style else "$text"
    return Content.from_markup(f"[b]Automation:[/b] {value}", text=text)


class AutomationLine(LineStatic):
    """One row; :meth:`show` repaints it only when its text or colour changes (its CSS class ``-off``,
    ``-neutral``, ``-ok``, ``-warn`` or ``-crit`` follows the tone)."""

    def __init__(self) -> None:
        super().__init__(id="automation", classes="automation-line", markup=False)
        self.status: AutomationStatus | None = None
        """What it shows (None before the first read)."""

    def show(self, status: AutomationStatus) -> None:
        """Draw ``status``: a no-op when the line would not change."""
        self.status = status
        if self.paint([automation_content(status)]) == []:
            return
        for tone in TONE_STYLES:
            self.set_class(tone == status.tone, f"-{tone}")
