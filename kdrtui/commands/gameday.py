"""``kdrtui gameday``: scripted incident scenarios on the lab, measured and written up.

Exit codes of ``run``: 0 the scenario passed, 1 it failed (or broke: verdict ``error``), 2 it cannot run here
(unknown scenario, a plan that is not a running lab's, a need the lab lacks, MirrorMaker not running).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("gameday")
def gameday_group() -> None:
    """Game days: run an incident scenario on the lab (traffic, fault, what kdrtui showed, the runbook,
    restore) and write the evidence: timeline, detection time, RPO/RTO against the plan's objectives, and
    records lost, duplicated and out of order, counted exactly."""
    from kdrtui.logging_setup import log_to_file

    log_to_file()


@gameday_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """Every scenario, what it needs of the lab, and what it proves."""
    from kdrtui.services.gameday.scenario import NEEDS_OPTION
    from kdrtui.services.gameday.scenarios import SCENARIOS

    if as_json:
        body = [
            {
                "name": s.name,
                "summary": s.summary,
                "proves": s.proves,
                "needs": sorted(s.needs),
                "long": s.long,
            }
            for s in SCENARIOS.values()
        ]
        click.echo(json.dumps(body, indent=2))
        return
    for s in SCENARIOS.values():
        needs = ", ".join(sorted(s.needs)) or "any lab"
        click.echo(f"{s.name:<16} {s.summary}")
        click.echo(f"{'':<16} needs: {needs}{' (long)' if s.long else ''}")
        for need in sorted(s.needs):
            click.echo(f"{'':<18}{need}: {NEEDS_OPTION[need]}")


@gameday_group.command("run")
@click.argument("name")
@click.option("--plan", "plan_arg", required=True, metavar="lab", help="The lab's plan: 'lab' (or its path).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the JSON report (docs/gameday-report.schema.json)."
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the Markdown report to this file.",
)
def run_command(name: str, plan_arg: str, as_json: bool, report_path: Path | None) -> None:
    """Run scenario NAME on the lab, unattended, and report (progress on stderr with --json)."""
    from kdrtui import settings
    from kdrtui.services.gameday.context import GamedayError, GamedayEvent
    from kdrtui.services.gameday.runner import run_scenario

    plan_path = settings.resolve_plan(plan_arg)
    if plan_path is None:
        click.echo("error: --plan: give 'lab' (the lab's plan)", err=True)
        sys.exit(2)
    lab_home = settings.lab_dir() if plan_arg == "lab" else Path(plan_path).resolve().parent

    def progress(event: GamedayEvent) -> None:
        click.echo(f"t+{event.elapsed:6.1f}s  {event.phase:<8} {event.text}", err=as_json)

    try:
        report = run_scenario(name, lab_home=lab_home, plan_path=plan_path, on_event=progress)
    except GamedayError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if report_path is not None:
        report_path.write_text(report.to_markdown(), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _summary(report)
        if report_path is not None:
            click.echo(f"report: {report_path}")
    sys.exit(0 if report.passed else 1)


def _summary(report: object) -> None:
    from kdrtui.domain.gameday import GamedayReport

    assert isinstance(report, GamedayReport)
    mark = {True: "PASS", False: "FAIL", None: "n/a "}
    click.echo("")
    for check in report.checks:
        click.echo(f"  {mark[check.passed]}  {check.name:<12} {check.measured}  (expected {check.expected})")
    for t in report.topics:
        click.echo(
            f"  {t.topic}: produced {t.produced}, acked {t.acked}, delivered {t.delivered}, lost {t.lost}, "
            f"duplicated {t.duplicated}, out of order {t.out_of_order}"
        )
    if report.error:
        click.echo(f"  error: {report.error}")
    click.echo(f"{report.scenario}: {report.verdict.upper()}")
