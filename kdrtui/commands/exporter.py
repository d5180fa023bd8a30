"""``kdrtui exporter``: the plan's DR figures for Prometheus, at ``/metrics`` (and the same refresh's
``kdrtui status --json`` body at ``/status.json``, ``/healthz`` for a load balancer or systemd).

Runs until Ctrl-C or SIGTERM. Exit codes: 0 stopped, 2 bad input (plan, ``--listen``, a port taken, a hot
standby plan).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kdrtui.commands.options import load_plan_or_exit

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.services.observe.exporter import Exporter

log = logging.getLogger(__name__)


@click.command("exporter")
@click.option("--plan", "plan_arg", metavar="PATH|lab", help="DR plan file, or 'lab'.")
@click.option(
    "--listen",
    default="127.0.0.1:9308",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to serve /metrics.",
)
@click.option(
    "--interval",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Seconds between refreshes of the lag and cluster figures (a scrape never refreshes).",
)
@click.option(
    "--mirrormaker-interval",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=5.0),
    help="Seconds between reads of MirrorMaker's process and task states over SSH.",
)
@click.option(
    "--ssh-timeout",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Seconds one edge node's MirrorMaker read may take before it counts as failed.",
)
@click.option("--per-partition", is_flag=True, help="Export per-partition lag series too (more series).")
@click.option("--no-mirrormaker", is_flag=True, help="Do not read MirrorMaker over SSH.")
def exporter_command(
    plan_arg: str | None,
    listen: str,
    interval: float,
    mirrormaker_interval: float,
    ssh_timeout: float,
    per_partition: bool,
    no_mirrormaker: bool,
) -> None:
    """Serve the plan's mirror lag, health, MirrorMaker states, cluster health, active cluster and last
    failover as Prometheus metrics at http://HOST:PORT/metrics, refreshed every --interval seconds in the
    background (the figures of `kdrtui status --json`, which /status.json serves for the same refresh).

    Edge nodes are read over SSH with the plan's keys or ssh-agent; their host keys must be in the plan's
    known_hosts (no prompt: a service has no terminal).
    """
    from kdrtui.services.observe.http import parse_listen

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise click.BadParameter(
            str(exc).removeprefix(f"--listen {listen!r}: "), param_hint="--listen"
        ) from None
    plan, path = load_plan_or_exit(plan_arg, required=True)
    assert plan is not None  # required=True exits otherwise
    from kdrtui.commands import status_divergence

    if status_divergence.is_hot_standby(plan):
        click.echo(
            "kdrtui exporter: the plan is a hot standby (dual ingest): nothing is mirrored, so there is no "
            "mirror lag to export; use `kdrtui status` for its divergence",
            err=True,
        )
        sys.exit(2)
    _log_to_stderr()
    exporter = _build(plan, path, interval, per_partition, mirrormaker_interval, ssh_timeout, no_mirrormaker)
    _serve(exporter, host, port, listen)


def _log_to_stderr() -> None:
    """kdrtui's log file, and warnings on stderr (a service's journal)."""
    from kdrtui.logging_setup import log_to_file

    log_to_file()
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def _build(
    plan: Plan,
    path: Path | None,
    interval: float,
    per_partition: bool,
    mirrormaker_interval: float,
    ssh_timeout: float,
    no_mirrormaker: bool,
) -> Exporter:
    from kdrtui.services.observe.exporter import Exporter
    from kdrtui.services.observe.last_failover import last_failover
    from kdrtui.services.observe.mirrormaker_read import MirrorMakerReader
    from kdrtui.services.observe.status_view import StatusReader
    from kdrtui.services.runbook.store import RunbookStore

    reader = StatusReader(plan, path, follow_dr_state=True)
    store = RunbookStore(plan.plan.name, path)
    mirrormaker = None
    if plan.edge_nodes and not no_mirrormaker:
        mirrormaker = MirrorMakerReader(lambda: reader.watched, timeout_s=ssh_timeout)
    exporter = Exporter(
        reader,
        interval_s=interval,
        per_partition=per_partition,
        mirrormaker=mirrormaker,
        mirrormaker_interval_s=mirrormaker_interval,
        failover=lambda: last_failover(store),
    )
    wire_timeline(exporter, plan, path)
    return exporter


def wire_timeline(exporter: Exporter, plan: Plan, path: Path | None) -> None:
    """Record the exporter's observations in the plan's incident timeline (source ``exporter``). A
    timeline that cannot be opened is logged once; the exporter runs on without it (and a hook that
    raises later is logged by the exporter, which carries on)."""
    from kdrtui.services.timeline.recorder import open_recorder

    recorder = open_recorder(plan.plan.name, path, "exporter")
    if recorder is None:  # cannot be opened (logged): the metrics do not depend on it
        return

    def on_refresh(view: Any) -> None:
        recorder.observe_lag(view.snapshot)
        recorder.observe_clusters(view.clusters)

    def on_mirrormaker(read: Any) -> None:
        for node in read.nodes:
            recorder.observe_ssh(node.node, node.ok, node.error)
        recorder.observe_mirrormaker(read.statuses)

    exporter.on_refresh.append(on_refresh)
    exporter.on_mirrormaker.append(on_mirrormaker)


def _serve(exporter: Exporter, host: str, port: int, listen: str) -> None:
    """Serve until Ctrl-C or SIGTERM, then stop the loops and close the clients."""
    from kdrtui.services.observe.http import MetricsServer

    try:
        server = MetricsServer(exporter, host, port)
    except OSError as exc:
        exporter.stop()  # nothing started: closes the clients
        click.echo(f"kdrtui exporter: cannot listen on {listen}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    exporter.start()
    mm = (
        f", MirrorMaker every {exporter.mirrormaker_interval_s:g} s"
        if exporter.observed().mirrormaker_interval_s
        else ""
    )
    click.echo(
        f"kdrtui exporter: http://{listen.rpartition(':')[0]}:{server.port}/metrics "
        f"(refresh every {exporter.interval_s:g} s{mm}); Ctrl-C to stop",
        err=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    click.echo("kdrtui exporter: stopping", err=True)
    server.close()
    exporter.stop()
