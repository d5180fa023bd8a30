"""What the Failover pane shows before a run: the DR state (what comes next, the active cluster, an
interrupted run, who holds the plan) and the pre-flight forecast, as frozen values and the text drawn of
them. The pane (:mod:`kdrtui.tui.screens.failover`) keeps each in a reactive."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text

from kdrtui.domain.plan import Plan
from kdrtui.services.runbook.operate import interrupted, next_operation
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.tui.factories import OperationFactory, RunbookOperation
from kdrtui.tui.helpers import clock_text
from kdrtui.tui.text import fit_line

FORECAST_INTERVAL_S = 10.0
"""Seconds between two pre-flight forecasts while the pane is shown."""

Colour = Callable[[str], str]
"""Theme colour name -> Rich style."""


@dataclass(frozen=True)
class DrView:
    """The DR state as the pane last read it."""

    next_op: str | None = None
    """``failover`` or ``failback``: what F would start (None until the store was read)."""
    active: str | None = None
    """The cluster clients use now."""
    pending: tuple[str, Path] | None = None
    """(operation, journal) of an interrupted run to resume."""
    state_error: str | None = None
    """Why the DR state cannot be read (nothing is assumed then: no run is offered)."""
    busy: str | None = None
    """Who holds the plan's lock (another operation in progress), per its lock file."""


def read_dr_state(plan: Plan, plan_path: Path | None) -> DrView:
    """Read the DR state, the interrupted run and the plan's lock (blocking: call it in a thread)."""
    from kdrtui.services.runbook.store import StateInvalid

    store = RunbookStore(plan.plan.name, plan_path)
    holder = store.lock().holder()
    busy = holder.describe() if holder is not None else None
    try:
        active = store.load_state(plan.primary_alias, plan.clusters).active
    except StateInvalid as exc:
        return DrView(state_error=f"{exc} — {exc.repair}", busy=busy)
    pending = interrupted(plan, plan_path)
    return DrView(next_operation(plan, plan_path), active, pending, None, busy)


@dataclass(frozen=True)
class ForecastView:
    """The newest pre-flight forecast, or why there is none."""

    result: tuple[bool, list[str]] | None = None
    """(GO?, lines) of the newest forecast."""
    at: float | None = None
    """When it was read (the app's clock)."""
    refused: str | None = None
    """Why the next operation cannot start (e.g. an interrupted journal), instead of a forecast."""
    error: str | None = None
    """Why the last forecast failed."""


class Forecaster:
    """One operation kept for every forecast of the same operation while the pane is shown: its lag
    engine tails MirrorMaker's internal topics incrementally instead of re-reading them every 10 s."""

    def __init__(self) -> None:
        self._operation: RunbookOperation | None = None
        self._kind: str | None = None

    async def operation(
        self, factory: OperationFactory, plan: Plan, plan_path: Path | None, kind: str
    ) -> RunbookOperation:
        """The operation that forecasts ``kind`` (``failover`` or ``failback``), built when needed."""
        if self._operation is not None and self._kind != kind:
            await self.drop()
        if self._operation is None:
            self._operation = factory(plan, plan_path, kind, False)
            self._kind = kind
        return self._operation

    async def drop(self) -> None:
        """Release the operation's clients (hidden, a run starts, or a forecast failed)."""
        operation, self._operation = self._operation, None
        if operation is not None:
            with contextlib.suppress(Exception):
                await operation.close()


def header_text(dr: DrView, label: str, after_failover: bool, colour: Colour) -> Text:
    """``next: failover primary -> dr · active: primary``, or why it is unknown."""
    header = Text()
    if dr.state_error is not None:
        header.append("DR state unreadable: active cluster unknown", style=f"bold {colour('error')}")
    elif dr.next_op is None:
        header.append("reading the DR state…")
    else:
        header.append("next: ", style=colour("text-muted"))
        header.append(label, style="bold")
        header.append(" (after a failover)" if after_failover else "")
        header.append(" · active: ", style=colour("text-muted"))
        header.append(dr.active or "?", style="bold")
    return header


def forecast_text(forecast: ForecastView, width: int, running: bool, colour: Colour) -> Text:
    """The newest forecast: the verdict first (GO in $success, NO-GO in $error), then the details.

    Each forecast line is one row, never wrapped: in a line wider than the pane, the long name (a
    300-character group) keeps its start and its end around a ``…`` and the words around it stay, so it
    cannot push the lines after it out of the box. A NO-GO with reasons too many for one row puts each
    reason on a row of its own.
    """
    text = Text()

    def row(line: str, style: str, indent: int = 0) -> None:
        text.append(fit_line(line, width - indent), style=style)

    at = f" {clock_text(forecast.at)}" if forecast.at is not None else ""
    lead = f"pre-flight{at} (paused during the run): " if running else f"pre-flight{at}: "
    text.append(lead, style="bold")
    if forecast.refused is not None:
        text.append(f"cannot start: {forecast.refused}", style=colour("warning"))
        return text
    if forecast.result is None:
        text.append(forecast.error or "forecasting…", style=colour("error"))
        return text
    go, lines = forecast.result
    verdicts = [line for line in lines if line.startswith(("GO", "NO-GO"))]
    verdict = verdicts[-1] if verdicts else ("GO" if go else "NO-GO")
    style = f"bold {colour('success' if go else 'error')}"
    reasons = verdict.split("; ")
    if cell_len(lead) + cell_len(verdict) <= width or len(reasons) == 1:
        row(verdict, style, cell_len(lead))
    else:
        for index, reason in enumerate(reasons):
            last = index == len(reasons) - 1
            if index:
                text.append("\n  ")
            row(reason + ("" if last else ";"), style, cell_len(lead) if index == 0 else 2)
    if forecast.error:
        text.append("\n")
        row(f"{forecast.error} (showing the previous one)", colour("error"))
    for line in lines:
        if line == verdict:
            continue
        text.append("\n")
        row(line, colour("error" if "UNREACHABLE" in line else ""))
    return text
