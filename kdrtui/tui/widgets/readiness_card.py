"""The Overview's Readiness card: what ``kdrtui check`` finds, counted by severity, and the worst of it."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content

from kdrtui.domain.health import coarse_age
from kdrtui.domain.readiness import Finding, Severity, counts
from kdrtui.tui.widgets.line_static import LineStatic

TOP = 2
"""Findings the card lists (worst first); the rest are counted in its subtitle."""
MARKS = {
    Severity.BLOCKING: ("✖", "error"),
    Severity.WARNING: ("▲", "warning"),
    Severity.INFO: ("·", "text-muted"),
}
"""Each severity's mark and theme colour."""


def headline(findings: Sequence[Finding]) -> tuple[str, str]:
    """(``NOT READY`` / ``READY with warnings`` / ``READY``, the CSS class of the card)."""
    found = counts(findings)
    if found["blocking"]:
        return "✖ NOT READY", "blocking"
    if found["warning"]:
        return "▲ READY with warnings", "warning"
    return "● READY", "ready"


def card_lines(
    findings: Sequence[Finding] | None, checked_at: float | None, now: float, error: str | None = None
) -> list[Content]:
    """The card's lines: the verdict with the counts and the check's age, then the worst findings (or
    what the check is doing / why it failed)."""
    if findings is None:
        if error is not None:
            return [
                Content.from_markup("[$error]check failed[/]: $error", error=error),
                Content("c: check again"),
            ]
        return [Content("checking… (kdrtui check, in the background)")]
    verdict, _ = headline(findings)
    found = counts(findings)
    # A check runs every minute: its age is shown by the minute (one repaint a minute, not every refresh).
    age = "" if checked_at is None else f" · {coarse_age(max(0.0, now - checked_at), fresh=60)} ago"
    colour = MARKS[Severity.BLOCKING if found["blocking"] else Severity.WARNING][1]
    colour = colour if found["blocking"] or found["warning"] else "success"
    lines = [
        Content.from_markup(
            f"[b ${colour}]$verdict[/] · $blocking blocking · $warnings warn · $info info$age",
            verdict=verdict,
            blocking=str(found["blocking"]),
            warnings=str(found["warning"]),
            info=str(found["info"]),
            age=age,
        )
    ]
    shown = [f for f in findings if f.severity != Severity.INFO][:TOP]
    for finding in shown:
        mark, style = MARKS[finding.severity]
        lines.append(
            Content.from_markup(
                f"[${style}]$mark[/] $where: $what", mark=mark, where=finding.where, what=finding.what
            )
        )
    return lines


def more_text(findings: Sequence[Finding] | None) -> str:
    """The card's subtitle: how many findings to act on it does not list, and the key that checks now."""
    hidden = 0 if findings is None else sum(1 for f in findings if f.severity != Severity.INFO) - TOP
    return (f"+{hidden} more (kdrtui check) · " if hidden > 0 else "") + "c check now"


class ReadinessCard(LineStatic):
    """The Readiness card; :meth:`show` repaints the lines that changed."""

    def __init__(self) -> None:
        super().__init__(id="readiness", classes="readiness-card", markup=False)
        self.border_title = "Readiness"
        self.border_subtitle = "c check now"
        self.findings: list[Finding] | None = None
        """The last check's findings (None before the first)."""

    def show(
        self,
        findings: list[Finding] | None,
        checked_at: float | None,
        now: float,
        error: str | None = None,
    ) -> None:
        """Draw the last check (``findings`` None: running, or failed with ``error``)."""
        self.findings = findings
        if self.paint(card_lines(findings, checked_at, now, error)) == []:
            return
        subtitle = more_text(findings)
        if self.border_subtitle != subtitle:  # setting it repaints the whole card, even to the same text
            self.border_subtitle = subtitle
        state = "checking" if findings is None else headline(findings)[1]
        for name in ("checking", "blocking", "warning", "ready"):
            self.set_class(name == state, name)
