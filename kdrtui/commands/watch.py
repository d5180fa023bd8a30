"""``kdrtui watch``: run the plan's automated failover policy (``[automation]``) until stopped.

``kdrtui watch --ack`` acknowledges the policy's last automatic failover (until then it never acts
again). One watcher per plan: a second is refused, naming the first. Exit codes: 0 stopped (or
acknowledged), 2 bad input (plan, the policy off, ``--via``) or another watcher running.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kdrtui.commands.options import load_plan_or_exit

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan

WATCH_LOCK = "watch.lock"
"""The lock file one ``kdrtui watch`` per plan holds (beside the operations' ``operation.lock``)."""


def _via(values: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        alias, sep, servers = value.partition("=")
        if not sep or not alias.strip() or not servers.strip():
            raise click.BadParameter(f"{value!r}: write ALIAS=HOST:PORT[,HOST:PORT...]", param_hint="--via")
        found[alias.strip()] = servers.strip()
    return found


@click.command("watch")
@click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab'.")
@click.option("--ack", is_flag=True, help="Acknowledge the policy's last automatic failover, then exit.")
@click.option("--once", is_flag=True, help="Evaluate once, print the decision, exit (acts if it says act).")
@click.option(
    "--via",
    multiple=True,
    metavar="ALIAS=HOST:PORT,...",
    help="This machine's probe reaches cluster ALIAS through these addresses (a tunnel or proxy it "
    "uses), not the plan's; only the `kdrtui` vantage point's probe uses them.",
)
@click.option(
    "--exporter",
    "exporter_listen",
    metavar="HOST:PORT",
    help="Also serve `kdrtui exporter`'s /metrics here (one service for both).",
)
def watch_command(
    plan_arg: str | None, ack: bool, once: bool, via: tuple[str, ...], exporter_listen: str | None
) -> None:
    """Run the plan's automated failover policy ([automation]) until Ctrl-C or SIGTERM.

    Every probe_interval_seconds each vantage point is asked whether the primary is up; a quorum of them
    seeing it down for hold_down_seconds is an outage. In advise mode kdrtui records and pages "would fail
    over now"; in act mode it runs `kdrtui failover` as `automation` (the lock, journal, fence, report),
    then pages. It never acts while another operation holds the plan, when the DR cluster is not healthy,
    within the cooldown, above the RPO limits, or before a person acknowledged its last automatic
    failover (`kdrtui watch --ack`). Every change of state and every decision is on the timeline
    (`kdrtui events --kind automation`).
    """
    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None and path is not None
    if ack:
        _ack(plan, path)
        return
    if not plan.automation.enabled:
        click.echo(
            'kdrtui watch: the plan\'s automation is off: set [automation] enabled = true (mode "advise" '
            "first) — see the README's 'Automated failover: kdrtui watch'",
            err=True,
        )
        sys.exit(2)
    routes = _via(via)
    unknown = sorted(set(routes) - set(plan.clusters))
    if unknown:
        raise click.BadParameter(f"no cluster {', '.join(unknown)} in the plan", param_hint="--via")
    from kdrtui.commands.exporter import _log_to_stderr
    from kdrtui.services.runbook.lock import PlanLock, PlanLocked
    from kdrtui.services.runbook.store import RunbookStore

    # One watcher per plan: two would each act on the same outage and overwrite each other's record of it.
    only = PlanLock(RunbookStore(plan.plan.name, path).dir, plan.plan.name, name=WATCH_LOCK)
    try:
        only.acquire("watch")
    except PlanLocked as exc:
        click.echo(f"kdrtui watch: {exc}", err=True)
        sys.exit(2)
    _log_to_stderr()
    serving = _exporter(plan, path, exporter_listen) if exporter_listen else None
    try:
        asyncio.run(_watch(plan, path, routes, once))
    finally:
        if serving is not None:
            server, exporter = serving
            server.close()
            exporter.stop()
        only.release()


def _ack(plan: Plan, path: Path) -> None:
    """Acknowledge the last automatic failover: audit line, timeline event, and what was done."""
    from kdrtui.domain.timeline import Event, EventKind
    from kdrtui.services.automation.state import acknowledge, read_last_failover
    from kdrtui.services.runbook.store import RunbookStore
    from kdrtui.services.timeline.store import TimelineStore, TimelineUnavailable

    name = plan.plan.name
    store = RunbookStore(name, path)
    before = read_last_failover(store.dir)
    if before is not None and before.outcome == "running":
        # The watcher writes the run's end over this record: an acknowledgement now would be lost.
        click.echo(
            f"kdrtui watch --ack: {before.name} is still running: acknowledge it once it has ended", err=True
        )
        sys.exit(2)
    done = acknowledge(store.dir)
    if done is None or before is None:
        click.echo(f"kdrtui watch --ack: plan {name} has no automatic failover to acknowledge")
        return
    if before.acknowledged:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(done.acked_at or 0))
        click.echo(f"kdrtui watch --ack: {done.name} was acknowledged by {done.acked_by} at {when}")
        return
    text = (
        f"automatic failover {done.name} ({done.outcome}) acknowledged by {done.acked_by}: "
        "the policy may act again"
    )
    store.audit("automation ack", name, "completed", journal=done.journal)
    try:
        timeline = TimelineStore.for_plan(name, path)
    except TimelineUnavailable as exc:
        click.echo(f"kdrtui watch --ack: not on the timeline: {exc}", err=True)
    else:
        timeline.record(
            [Event(time.time(), EventKind.AUTOMATION, "automation", text, "info", source="watch")]
        )
        timeline.close()
    click.echo(text)


async def _watch(plan: Plan, path: Path, via: dict[str, str], once: bool) -> None:
    from kdrtui.services.automation.watch import Watcher

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    policy = plan.automation
    click.echo(
        f"kdrtui watch: plan {plan.plan.name}, mode {policy.mode}, vantage points "
        f"{', '.join(policy.vantage_points)} (quorum {policy.needed}), "
        f"hold-down {policy.hold_down_seconds} s, every {policy.probe_interval_seconds} s; Ctrl-C to stop",
        err=True,
    )
    watcher = Watcher(plan, path, via=via, say=lambda line: click.echo(f"{time.strftime('%H:%M:%S')} {line}"))
    decision = await watcher.run(stop, once=once)
    if once:
        await watcher.wait_acting()
        if decision is not None:
            click.echo(f"{decision.state}: {decision.text}")
    click.echo("kdrtui watch: stopped", err=True)


def _exporter(plan: Plan, path: Path, listen: str) -> tuple[Any, Any]:
    from kdrtui.commands.exporter import _build
    from kdrtui.services.observe.http import MetricsServer, parse_listen

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--exporter") from None
    exporter = _build(plan, path, 10.0, False, 60.0, 20.0, False)
    try:
        server = MetricsServer(exporter, host, port)
    except OSError as exc:
        exporter.stop()
        click.echo(f"kdrtui watch: cannot listen on {listen}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    exporter.start()
    click.echo(f"kdrtui watch: exporter at http://{host}:{server.port}/metrics", err=True)
    return server, exporter
