"""``kdrtui check``: is the plan's pair of clusters ready to swap, before anyone needs to fail over.

Exit codes: 0 ready (info findings only), 1 warnings, 2 anything blocking (and a bad plan).
"""

from __future__ import annotations

import json
import sys
import textwrap
from typing import TYPE_CHECKING

import click

from kdrtui.commands.options import load_plan_or_exit

if TYPE_CHECKING:
    from kdrtui.domain.readiness import Finding
    from kdrtui.services.readiness import Readiness

WIDTH = 80
"""The table fits a terminal this wide."""
INDENT = 10
"""Cells before a finding's text (``blocking  ``)."""


def render_text(findings: list[Finding], summary: str, width: int = WIDTH) -> str:
    """A table of ``width`` columns, worst first: severity and where on the first row, then what is wrong
    and how to fix it, wrapped under it."""
    pad = " " * INDENT
    # Names (topics, paths) are never cut at their hyphens; one longer than a row is cut into rows.
    wrap = textwrap.TextWrapper(width, break_on_hyphens=False)
    lines = [f"{'SEVERITY':<{INDENT}}WHERE / WHAT / FIX", "-" * width]
    for finding in findings:
        lines.append(f"{finding.severity!s:<{INDENT}}{finding.where}"[:width])
        wrap.initial_indent = wrap.subsequent_indent = pad
        lines += wrap.wrap(finding.what)
        if finding.fix:
            wrap.subsequent_indent = pad + "     "
            lines += wrap.wrap(f"fix: {finding.fix}")
    if findings:
        lines.append("-" * width)
    lines.append(summary)
    return "\n".join(lines)


def to_json(plan_name: str, done: Readiness) -> dict[str, object]:
    """The JSON of ``kdrtui check --json``."""
    from kdrtui.domain.readiness import counts, exit_code, summary_line

    return {
        "plan": plan_name,
        "checked_at": round(done.checked_at, 3),
        "seconds": round(done.seconds, 2),
        "exit_code": exit_code(done.findings),
        "counts": counts(done.findings),
        "summary": summary_line(done.findings),
        "findings": [f.to_dict() for f in done.findings],
    }


@click.command("check")
@click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab'.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--no-ssh", is_flag=True, help="Do not read over SSH the Kafka release of edge nodes running their own."
)
def check_command(plan_arg: str | None, as_json: bool, no_ssh: bool) -> None:
    """Readiness before a failover: replication factor and min ISR of the mirrored topics on both
    clusters, source and mirror in parity (partitions, configs, ACLs), replicas over fault domains,
    MirrorMaker's replication factor and release, checkpoints within the RPO, the client switch and the
    fences usable. Each finding: severity, where, what, how to fix.

    Exit code: 0 ready, 1 warnings, 2 anything blocking (or a bad plan).
    """
    from kdrtui.domain.readiness import exit_code, summary_line
    from kdrtui.services.readiness import check
    from kdrtui.services.runbook.operate import view_plan

    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None  # required=True exits otherwise
    done = check(plan, *view_plan(plan, path), ssh=not no_ssh)
    if as_json:
        click.echo(json.dumps(to_json(plan.plan.name, done)))
    else:
        click.echo(f"Readiness of {plan.plan.name} ({done.seconds:.1f} s)")
        click.echo(render_text(done.findings, summary_line(done.findings)))
    sys.exit(exit_code(done.findings))
