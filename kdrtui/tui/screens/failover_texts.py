"""What the Failover pane (:mod:`kdrtui.tui.screens.failover`) says in words: why a plan has no runbook,
the warning above a start's confirmation, the log line of each runner event and the report of a completed
run. Pure: each is a function of the values the pane keeps in its reactives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text

from kdrtui.domain.plan import Plan, Topology
from kdrtui.domain.runbook import StepStatus
from kdrtui.services.runbook.failover import report_lines
from kdrtui.services.runbook.runner import RunEvent
from kdrtui.tui.screens.failover_forecast import ForecastView
from kdrtui.tui.screens.provisioning_model import STATUS_MARKS

Colour = Callable[[str], str]
"""Theme colour name -> Rich style."""


def empty_reason(plan: Plan | None) -> str | None:
    """Why ``plan`` cannot be failed over at all (the pane shows only that), or None."""
    if plan is None:
        return "No plan: nothing to fail over. Open one with `kdrtui --plan PATH` (or --plan lab)."
    if len(plan.clusters) < 2:
        return "The plan has fewer than two clusters: there is nowhere to fail over to."
    if not plan.flows:
        if plan.plan.topology is Topology.HOT_STANDBY:
            return (
                "Hot standby with dual ingest: nothing is mirrored, so there is no failover runbook; "
                "switch clients to the other cluster."
            )
        return "The plan has no flows: nothing is mirrored, so there is no failover runbook to run."
    return None


def start_warning(forecast: ForecastView) -> str:
    """What the start's confirmation warns of: a refusal, a NO-GO forecast, or no forecast yet."""
    if forecast.refused is not None:
        return f"cannot start: {forecast.refused}"
    if forecast.result is not None and not forecast.result[0]:
        return "The pre-flight says NO-GO: the run will stop at the pre-flight step."
    if forecast.result is None:
        return "No forecast yet: the pre-flight step checks again before anything changes."
    return ""


def event_lines(event: RunEvent, title: str) -> list[str]:
    """The log lines of one runner event (``title``: its step's, as the step list shows it)."""
    if event.kind == "run-start":
        return [event.text or "starting"]
    if event.kind == "step-start":
        return [f"▶ {event.step}: {title}"]
    if event.kind == "progress":
        return [f"  {line}" for line in (event.text or "").splitlines() or [""]]
    if event.kind == "step-end":
        status = event.status or StepStatus.DONE
        return [f"{STATUS_MARKS.get(status, '?')} {event.step} {status}: {event.text}"]
    if event.kind == "run-end":
        return [f"run ended: {event.text}"]
    return []


def report_text(report: dict[str, Any], colour: Colour) -> Text:
    """A completed run's report under the banner, its RPO and RTO lines prominent."""
    text = Text()
    try:
        lines = report_lines(report)
    except (KeyError, TypeError, ValueError) as exc:
        lines = [f"report unreadable: {exc}"]
    for line in lines[1:] or lines:  # the first line ("... complete") is the banner
        if text:
            text.append("\n")
        prominent = line.startswith(("RPO", "RTO"))
        text.append(line, style=f"bold {colour('success')}" if prominent else "")
    return text
