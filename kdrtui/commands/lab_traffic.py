"""``kdrtui lab traffic``: keyed, numbered records produced to a lab cluster and consumed by committing
groups, in the foreground or detached (the background generator runs this very command as
``python -m kdrtui.commands.lab traffic ... --daemon``, see :mod:`kdrtui.lab.traffic_process`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType
from typing import Any

import click

from kdrtui.commands.lab_common import lab_errors
from kdrtui.lab.lab import Lab, LabError
from kdrtui.lab.lab_plan import ALIASES, PRIMARY
from kdrtui.lab.traffic import TrafficGenerator, TrafficStats
from kdrtui.lab.traffic_process import TrafficProcess

_log = logging.getLogger("kdrtui.lab")


@click.command("traffic")
@click.option("--topics", type=click.IntRange(min=1), default=3, show_default=True, help="Number of topics.")
@click.option(
    "--partitions", type=click.IntRange(min=1), default=3, show_default=True, help="Partitions per topic."
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=100.0,
    show_default=True,
    help="Records per second, all topics together.",
)
@click.option(
    "--duration", type=click.FloatRange(min=0, min_open=True), help="Seconds to run [default: until stopped]."
)
@click.option(
    "--prefix",
    default="traffic",
    show_default=True,
    help="Topics are <prefix>-<i>, groups <prefix>-<i>-g<j>.",
)
@click.option(
    "--groups-per-topic",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Committing consumer groups per topic.",
)
@click.option(
    "--cluster",
    "alias",
    type=click.Choice(ALIASES),
    help="Lab cluster to use [default: primary]; each cluster has its own background generator. "
    "With --stop: only this cluster's [default: every cluster's].",
)
@click.option("--bootstrap", metavar="HOST:PORT", help="Use this cluster instead of a lab cluster.")
@click.option(
    "--progress-interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between progress lines.",
)
@click.option(
    "--background",
    is_flag=True,
    help="Detach; `lab status` shows it, `lab traffic --stop` or `lab down` stops it.",
)
@click.option("--stop", "stop_", is_flag=True, help="Stop the background generator.")
@click.option("--daemon", is_flag=True, hidden=True)
def traffic_command(
    topics: int,
    partitions: int,
    rate: float,
    duration: float | None,
    prefix: str,
    groups_per_topic: int,
    alias: str | None,
    bootstrap: str | None,
    progress_interval: float,
    background: bool,
    stop_: bool,
    daemon: bool,
) -> None:
    """Produce keyed, numbered records and consume them with committing groups."""
    with lab_errors():
        lab = Lab()
        if stop_:
            _stop(lab, alias)
            return
        alias = alias or PRIMARY
        process = lab.traffics[alias]
        if bootstrap is None:
            if lab.pid(alias) is None:
                raise LabError(f"lab cluster {alias} is not running; start the lab with `kdrtui lab up`")
            bootstrap = lab.bootstrap(alias)
        if background:
            cli_args = [
                "--topics", str(topics), "--partitions", str(partitions), "--rate", str(rate),
                "--prefix", prefix, "--groups-per-topic", str(groups_per_topic), "--bootstrap", bootstrap,
                "--progress-interval", str(progress_interval), "--cluster", alias,
            ]  # fmt: skip
            if duration is not None:
                cli_args += ["--duration", str(duration)]
            info = {
                "topics": topics,
                "partitions": partitions,
                "rate": rate,
                "duration": duration,
                "prefix": prefix,
                "groups_per_topic": groups_per_topic,
                "bootstrap": bootstrap,
                "cluster": alias,
            }
            pid = process.start(cli_args, args_info=info)
            click.echo(f"traffic on {alias}: running in the background (pid {pid}); log {process.log_file}")
            return
        secured = lab.security.mode != "plaintext" and bootstrap in {lab.bootstrap(a) for a in ALIASES}
        generator = TrafficGenerator(
            bootstrap,
            # An application's traffic: a secured lab's `app` user, which the ACL fence refuses.
            security=lab.security.cluster_security("app") if secured else None,
            topics=topics,
            partitions=partitions,
            rate=rate,
            duration=duration,
            prefix=prefix,
            groups_per_topic=groups_per_topic,
        )
        click.echo(
            f"traffic: {topics} topics {prefix}-0..{topics - 1} x {partitions} partitions on {bootstrap}, "
            f"{rate:g} records/s, {groups_per_topic} group(s) per topic"
            + (f", for {duration:g} s" if duration else ", until Ctrl-C")
        )
        _run_traffic(generator, process, progress_interval=progress_interval, daemon=daemon)


def _stop(lab: Lab, alias: str | None) -> None:
    """Stop ``alias``'s background generator, or every cluster's when ``alias`` is None."""
    for name in (alias,) if alias else ALIASES:
        pid = lab.traffics[name].stop()
        click.echo(
            f"traffic on {name}: stopped (pid {pid})"
            if pid is not None
            else f"traffic on {name}: not running"
        )


def _run_traffic(
    generator: TrafficGenerator, process: TrafficProcess, *, progress_interval: float, daemon: bool
) -> None:
    pid = os.getpid()

    def progress(stats: TrafficStats) -> None:
        click.echo(stats.line())
        if daemon:
            process.write_stats(stats)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        generator.stop()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    if daemon:
        from kdrtui.lab.process import write_pid

        write_pid(process.pid_file, pid)
    try:
        final = generator.run(
            progress=progress,
            progress_interval=progress_interval,
            on_running=process.write_stats if daemon else None,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if daemon:
            process.release(pid)
    if final.errors or final.failed:
        _log.warning("traffic finished with errors: %s", final.line())
