"""``kdrtui plan``: check DR plan files without opening the console."""

from __future__ import annotations

import click

from kdrtui.domain.plan import PlanInvalid, load_plan, summarize
from kdrtui.settings import resolve_plan

INVALID_EXIT = 2
"""Exit status of ``plan validate`` for a plan with problems (as linters use 2 for bad input)."""


@click.group("plan")
def plan_group() -> None:
    """Check DR plan files (TOML; see the README's 'The DR plan file')."""


@plan_group.command("validate")
@click.argument("path", metavar="PATH|lab")
@click.pass_context
def validate_command(ctx: click.Context, path: str) -> None:
    """Check the plan at PATH, or the lab's plan, and summarise it.

    Every problem is printed as PATH:LINE: field: message, sorted by line, and the exit status is 2.
    """
    resolved = resolve_plan(path)
    if resolved is None:  # only when PATH is empty and KDRTUI_PLAN is unset
        raise click.BadParameter("name a plan file, or 'lab'", param_hint="PATH")
    try:
        plan = load_plan(resolved)
    except PlanInvalid as exc:
        for problem in sorted(exc.problems, key=lambda p: p.line):
            click.echo(str(problem))
        count = len(exc.problems)
        click.echo(f"{count} problem{'s' if count != 1 else ''}")
        ctx.exit(INVALID_EXIT)
    click.echo(f"{resolved}: valid")
    for line in summarize(plan):
        click.echo(line)
