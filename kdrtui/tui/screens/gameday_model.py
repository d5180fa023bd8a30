"""What the Game day pane shows and does, without Textual: which lab the plan is (only the lab's own plan can
run a game day), which scenarios that lab can run and why not, the words of a report's summary, and where
the pane writes the report (``<plan dir>/gameday/<scenario>-<UTC time>.md`` and ``.json``, beside the
plan's runbook journals: :func:`kdrtui.services.runbook.plan_dir.plan_dir`).

The scenarios and the runner are :mod:`kdrtui.services.gameday`'s, imported the first time they are needed
(never at the console's start).
"""

from __future__ import annotations

import json
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kdrtui.tui.text import middle_ellipsis

if TYPE_CHECKING:
    from kdrtui.domain.gameday import GamedayReport, Measure
    from kdrtui.domain.plan import Plan
    from kdrtui.services.gameday.scenario import Scenario

NEEDS_TEXT = {
    "wan": ("a WAN", "kdrtui lab up --wan-latency-ms 35"),
    "three-brokers": ("three brokers per cluster", "kdrtui lab up --brokers 3"),
    "active-active": ("the active-active lab", "kdrtui lab up --topology active-active"),
}
"""What each need of a scenario is called, and the ``lab up`` that gives it."""
NOT_A_LAB = (
    "game days run only on the lab: this plan is not the lab's. Start one with `kdrtui lab up`, then "
    "open its plan: `kdrtui --plan lab`"
)
"""Why a plan that is not the lab's runs no game day."""
NO_PLAN = "No plan: game days run on the lab. Start it with `kdrtui lab up`, then `kdrtui --plan lab`"
"""Why the console without a plan runs no game day."""
REPORT_DIR = "gameday"
"""The reports' directory inside the plan's directory."""


class GamedayRefused(Exception):
    """The scenario cannot run here (the lab is down, lacks what it needs...): nothing was changed."""


class ProgressEvent(Protocol):
    """One event of a running game day (the runner's ``GamedayEvent``)."""

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        ...

    @property
    def phase(self) -> str:
        """``setup``, ``traffic``, ``fault``, ``observe``, ``runbook``, ``restore``, ``settle``..."""
        ...

    @property
    def text(self) -> str:
        """What happened, in words."""
        ...


class GamedayRunner(Protocol):
    """Runs one scenario to its report (``kdrtui.services.gameday.runner.run_scenario``; blocking)."""

    def __call__(
        self,
        name: str,
        *,
        lab_home: Path,
        plan_path: Path,
        on_event: Callable[[ProgressEvent], None] | None,
        cancel: threading.Event | None,
    ) -> GamedayReport: ...


def run_gameday(
    name: str,
    *,
    lab_home: Path,
    plan_path: Path,
    on_event: Callable[[ProgressEvent], None] | None,
    cancel: threading.Event | None,
) -> GamedayReport:
    """The real runner (imported on first use).

    Raises:
        GamedayRefused: the scenario cannot run here (nothing was changed).
    """
    from kdrtui.services.gameday.context import GamedayError
    from kdrtui.services.gameday.runner import run_scenario

    try:
        return run_scenario(name, lab_home=lab_home, plan_path=plan_path, on_event=on_event, cancel=cancel)
    except GamedayError as exc:
        raise GamedayRefused(str(exc)) from exc


def scenarios() -> list[Scenario]:
    """Every scenario, in the registry's order."""
    from kdrtui.services.gameday.scenarios import SCENARIOS

    return list(SCENARIOS.values())


@dataclass(frozen=True)
class LabFacts:
    """The lab behind the console's plan, as far as game days care."""

    home: Path | None = None
    """The lab's directory; None when the plan is not a lab's (or there is no plan)."""
    has: frozenset[str] = frozenset()
    """What it offers of the scenarios' needs (``wan``, ``three-brokers``, ``active-active``)."""
    shape: str = ""
    """``1 broker per cluster · no WAN · cold-standby``."""
    refusal: str | None = None
    """Why no scenario runs here (no plan, not a lab plan, an unreadable lab), or None."""


def lab_home_of(plan_path: Path | None) -> Path | None:
    """The lab's directory when ``plan_path`` is a lab's own plan (``<lab>/plan.toml`` beside its
    ``lab.json``), else None."""
    if plan_path is None or plan_path.name != "plan.toml":
        return None
    home = plan_path.resolve().parent
    return home if (home / "lab.json").is_file() else None


def read_lab(plan: Plan | None, plan_path: Path | None) -> LabFacts:
    """What the lab behind ``plan_path`` offers (reads its ``lab.json``; call from a thread)."""
    if plan is None:
        return LabFacts(refusal=NO_PLAN)
    home = lab_home_of(plan_path)
    if home is None:
        return LabFacts(refusal=f"plan {plan.plan.name}: {NOT_A_LAB}")
    from kdrtui.lab.lab import Lab

    try:
        lab = Lab(home)
    except (OSError, ValueError) as exc:
        return LabFacts(home, refusal=f"the lab in {home} cannot be read: {exc}")
    wan = getattr(lab, "wan", None)
    wan_on = bool(getattr(wan, "enabled", False))
    topology = str(getattr(lab, "topology", "cold-standby"))
    has = {"wan"} if wan_on else set()
    if lab.brokers >= 3:
        has.add("three-brokers")
    if topology == "active-active":
        has.add("active-active")
    brokers = f"{lab.brokers} broker{'s' if lab.brokers != 1 else ''} per cluster"
    shape = f"{brokers} · {'WAN' if wan_on else 'no WAN'} · {topology}"
    return LabFacts(home, frozenset(has), shape)


def why_not(scenario: Scenario, facts: LabFacts | None) -> str | None:
    """Why ``scenario`` cannot run on this lab (plainly, with the ``lab up`` that would let it), or None."""
    if facts is None:
        return "reading the lab…"
    if facts.refusal is not None:
        return facts.refusal
    missing = sorted(scenario.needs - facts.has)
    if not missing:
        return None
    names = " and ".join(NEEDS_TEXT.get(need, (need, ""))[0] for need in missing)
    how = "; ".join(NEEDS_TEXT[need][1] for need in missing if need in NEEDS_TEXT)
    return f"needs {names}, which this lab has not" + (f" ({how})" if how else "")


def needs_text(scenario: Scenario) -> str:
    """``a WAN, three brokers per cluster`` or ``the lab as it is``."""
    if not scenario.needs:
        return "the lab as it is"
    return ", ".join(NEEDS_TEXT.get(need, (need, ""))[0] for need in sorted(scenario.needs))


# -- the report -----------------------------------------------------------------------------------

VERDICT_STYLE = {"pass": ("✓ PASS", "success"), "fail": ("✗ FAIL", "error"), "error": ("✗ ERROR", "error")}
"""Each verdict's words and theme colour."""

Line = tuple[str, str]
"""(text, theme colour or ``""``) of one line."""


def number(value: float) -> str:
    """``12`` or ``12.3``."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def measure_text(measure: Measure, unit: str) -> str:
    """``4.2 s``, or ``unknown (why)``."""
    if measure.value is None:
        return f"unknown ({measure.note})" if measure.note else "unknown"
    return f"{number(measure.value)} {unit}".rstrip()


def report_lines(
    report: GamedayReport, paths: Sequence[Path], width: int, write_error: str = ""
) -> list[Line]:
    """The summary of a finished run, one row each (``width`` cells at most): the verdict, where the report
    was written, the checks (the passed ones named together, each failed one with what was measured against
    what was expected, then those that did not apply), detection, RPO and RTO, and the record counts."""
    words, colour = VERDICT_STYLE.get(report.verdict, (report.verdict.upper(), "warning"))
    took = number(round(report.ended_at - report.started_at, 1))
    lines: list[Line] = [(f"{words} · {report.scenario} in {took} s", colour)]
    if report.error:
        lines += [(row, "error") for row in _wrap(f"error: {report.error}", width)]
    if write_error:
        lines += [(row, "error") for row in _wrap(f"report not written: {write_error}", width)]
    elif paths:
        names = f"{paths[0].name} (and {paths[1].suffix})" if len(paths) == 2 else paths[0].name
        lines.append((middle_ellipsis(f"report: {names}", width), "text-muted"))
        lines.append((middle_ellipsis(f"in {paths[0].parent}", width), "text-muted"))
    passed = [check.name for check in report.checks if check.passed is True]
    if passed:
        lines += [(row, "success") for row in _wrap(f"✓ passed: {', '.join(passed)}", width)]
    for check in report.checks:
        text = f"{check.name}: {check.measured} (expected {check.expected})"
        if check.passed is False:
            lines += [(row, "error") for row in _wrap(f"✗ {text}", width)]
    for check in report.checks:
        if check.passed is None:
            lines.append((f"· {check.name}: {check.measured} (expected {check.expected})", "text-muted"))
    looked_for = f" ({report.detection_expected})" if report.detection_expected else ""
    lines.append((f"detection: {measure_text(report.detection, 's')}{looked_for}", ""))
    rpo = f"{measure_text(report.rpo_records, 'records')} / {measure_text(report.rpo_seconds, 's')}"
    lines.append((f"RPO: {rpo} · RTO: {measure_text(report.rto_seconds, 's')}", ""))
    totals = report.totals()
    colour = (
        "error" if totals["lost"] else "warning" if totals["duplicated"] or totals["out_of_order"] else ""
    )
    lines.append(
        (
            f"records: {totals['acked']} acked · {totals['delivered']} delivered · {totals['lost']} lost · "
            f"{totals['duplicated']} duplicated · {totals['out_of_order']} out of order",
            colour,
        )
    )
    return lines


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in rows of ``width`` characters at most, the rows after the first indented."""
    return textwrap.wrap(text, max(width, 20), subsequent_indent="  ") or [""]


def report_paths(plan: Plan, plan_path: Path | None, scenario: str, at: float) -> tuple[Path, Path]:
    """Where the report of ``scenario`` run at ``at`` (epoch s) goes: (Markdown, JSON)."""
    from kdrtui.services.runbook.plan_dir import plan_dir

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))
    base = plan_dir(plan.plan.name, plan_path) / REPORT_DIR / f"{scenario}-{stamp}"
    return base.with_suffix(".md"), base.with_suffix(".json")


def write_report(report: GamedayReport, paths: tuple[Path, Path]) -> None:
    """Write the Markdown and the JSON report (each through a temporary file, so neither is ever half
    written)."""
    markdown, data = paths
    markdown.parent.mkdir(parents=True, exist_ok=True)
    for path, text in (
        (markdown, report.to_markdown()),
        (data, json.dumps(report.to_dict(), indent=2) + "\n"),
    ):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
