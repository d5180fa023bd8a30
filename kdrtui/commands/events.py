"""``kdrtui events``: the plan's incident timeline — what changed when, newest first — as text, JSON, or a
post-incident write-up skeleton in Markdown.

Exit codes: 0 printed (also when the window holds nothing), 2 bad input (a time, a flow, two formats) or
no timeline to read.
"""

from __future__ import annotations

import json
import sys
import time

import click

from kdrtui.commands.options import load_plan_or_exit, plan_option
from kdrtui.domain.timeline import EventKind

SINCE_HELP = (
    "Start of the window: a duration back from now (90s, 30m, 2h, 3d, 1w) or an ISO time (UTC by default)."
)


@click.command("events")
@plan_option
@click.option("--since", default="2h", show_default=True, metavar="WHEN", help=SINCE_HELP)
@click.option("--until", metavar="WHEN", help="End of the window (same forms as --since); now by default.")
@click.option("--flow", metavar="SOURCE->TARGET", help="Only this flow's events and lag.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice([str(k) for k in EventKind]),
    help="Only events of this kind (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--markdown", "as_markdown", is_flag=True, help="A post-incident write-up skeleton.")
def events_command(
    plan_arg: str | None,
    since: str,
    until: str | None,
    flow: str | None,
    kinds: tuple[str, ...],
    as_json: bool,
    as_markdown: bool,
) -> None:
    """Print the plan's incident timeline: health changes, MirrorMaker and task states, SSH, cluster
    reachability and brokers, runbooks and fences, recorded by every long-running kdrtui process."""
    from kdrtui.services.runbook.store import RunbookStore
    from kdrtui.services.timeline.store import TimelineStore, TimelineUnavailable
    from kdrtui.services.timeline.writeup import markdown, read_window, runs_in_window, text_lines, to_json

    if as_json and as_markdown:
        raise click.UsageError("--json and --markdown: choose one output format")
    now = time.time()
    start = _when("--since", since, now)
    end = _when("--until", until, now) if until is not None else now
    if start > end:
        raise click.BadParameter(f"{since!r} is after --until ({until or 'now'})", param_hint="--since")
    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None  # required=True exits otherwise
    try:
        store = TimelineStore.for_plan(plan.plan.name, path)
    except TimelineUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        if flow is not None:
            known = {f.name for f in plan.flows} | {f"{f.target}->{f.source}" for f in plan.flows}
            known |= set(store.flows())
            if flow not in known:
                raise click.BadParameter(
                    f"{flow!r} is not a flow of the plan; its flows: {', '.join(sorted(known))}",
                    param_hint="--flow",
                )
        runbooks = RunbookStore(plan.plan.name, path)
        runs = runs_in_window(runbooks.journals(("failover", "failback", "rollback")), start, end)
        window = read_window(
            store,
            plan.plan.name,
            start,
            end,
            flow=flow,
            kinds={EventKind(k) for k in kinds} or None,
            runs=runs,
        )
    except TimelineUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(to_json(window), indent=2))
    elif as_markdown:
        click.echo(markdown(window), nl=False)
    else:
        click.echo("\n".join(text_lines(window)))


def _when(option: str, value: str, now: float) -> float:
    """``--since``/``--until``'s time; a bad one names the option and what it accepts."""
    from kdrtui.domain.timeline import parse_when

    try:
        return parse_when(value, now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
