"""``kdrtui lab``'s HTTPS Azure emulator: ``lab up --azure``, its part of ``lab down``, ``lab status``
and ``lab fault restore``, and the ``lab fault azure-*`` faults.

:mod:`kdrtui.commands.lab` registers :data:`FAULT_COMMANDS` on its ``lab fault`` group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from kdrtui.commands.lab_common import lab_errors, say, table
from kdrtui.lab.azure.emulator import AZURE_PORT_ENV, DEFAULT_AZURE_PORT, AzureEmulator
from kdrtui.lab.azure.emulator_ports import BROKER_BASE_OPTION, EDGE_BASE_OPTION
from kdrtui.lab.azure.emulator_status import AzureStatus
from kdrtui.lab.azure.runtime import DEFAULT_EDGE_PORT_BASE, DEFAULT_PORT_BASE
from kdrtui.lab.lab import Lab, LabError

_F = TypeVar("_F", bound=Callable[..., object])


def up_options(f: _F) -> _F:
    """``lab up``'s --azure, --azure-port, --broker-base-port and --edge-base-port."""
    # Applied bottom-up, as stacked decorators would be: the last one here comes first in --help.
    f = click.option(
        EDGE_BASE_OPTION,
        "edge_base_port",
        type=int,
        metavar="N",
        help="With --azure: the first SSH port of the emulator's edge nodes (the lab-azure plan's "
        f"dr-edge-1 gets N) [its last, else {DEFAULT_EDGE_PORT_BASE}].",
    )(f)
    f = click.option(
        BROKER_BASE_OPTION,
        "broker_base_port",
        type=int,
        metavar="N",
        help="With --azure: the first client port of the emulator's brokers (cluster i listens on "
        f"N+10i, its controller on N+10i+1) [its last, else {DEFAULT_PORT_BASE}].",
    )(f)
    f = click.option(
        "--azure-port",
        type=int,
        metavar="N",
        help="The Azure emulator's HTTPS port "
        f"[its last, else ${AZURE_PORT_ENV}, else {DEFAULT_AZURE_PORT}].",
    )(f)
    return click.option(
        "--azure",
        is_flag=True,
        help="Start only the HTTPS Azure emulator (not the primary/dr brokers) and write the lab-azure plan.",
    )(f)


def refuse_without_azure(broker_base_port: int | None, edge_base_port: int | None) -> None:
    """The emulator's port bases mean nothing to the plain lab: say so (exit 2) rather than ignore them."""
    given = [
        option
        for option, value in ((BROKER_BASE_OPTION, broker_base_port), (EDGE_BASE_OPTION, edge_base_port))
        if value is not None
    ]
    if given:
        raise click.UsageError(f"{' and '.join(given)} choose the Azure emulator's ports: add --azure")


def up(
    kafka_version: str | None,
    azure_port: int | None,
    broker_base_port: int | None = None,
    edge_base_port: int | None = None,
) -> None:
    """``lab up --azure``: start only the emulator and write the lab-azure plan.

    The port bases given are kept in ``emulator.json``: a later ``lab up --azure`` (or a restarted
    emulator) uses them again.
    """
    version = kafka_version or Lab().kafka_version
    emulator = AzureEmulator(
        port=azure_port, port_base=broker_base_port, edge_port_base=edge_base_port, kafka_version=version
    )
    click.echo(
        "azure: starting only the HTTPS Azure emulator; the primary and dr lab brokers are not started "
        "(provisioning creates the clusters, each a lab broker, through the emulator)"
    )
    status = emulator.up(report=say)
    click.echo(table([["azure", "up", status.endpoint, f"pid {status.pid}", ", ".join(status.notes)]]))
    click.echo(
        f"ports: brokers from {status.port_base} (+10 per cluster, controller +1), "
        f"edge nodes from {status.edge_port_base}"
    )
    click.echo(f"CA:   {status.ca_file}")
    click.echo(f"plan: {status.plan}")
    click.echo("next: kdrtui provision --plan lab-azure")


def down(purge: bool) -> None:
    """Stop the emulator with every broker and edge node it started."""
    AzureEmulator().down(purge=purge, report=say)


def status() -> AzureStatus | None:
    """The emulator's status, or None if it was never started here."""
    emulator = AzureEmulator()
    return emulator.status() if emulator.home.exists() else None


def render_status(azure: AzureStatus) -> str:
    state = f"up (pid {azure.pid})" if azure.up else "down"
    lines = [
        f"azure:   {state} on {azure.endpoint}; plan {azure.plan}",
        f"         brokers from port {azure.port_base}, edge nodes from {azure.edge_port_base}",
    ]
    rows = [["AZURE RESOURCE", "KIND", "STATE", "RUNS"]]
    for r in azure.resources:
        if r["kind"] not in ("cluster", "application"):
            continue
        state_text = r.get("clusterState") or r.get("applicationState") or r.get("provisioningState", "?")
        thing = azure.brokers.get(r["name"]) if r["kind"] == "cluster" else azure.edges.get(r["name"])
        runs = "-" if thing is None else ("up" if thing["up"] else "down")
        rows.append([r["name"], r["kind"], str(state_text), runs])
    if len(rows) > 1:
        lines.append(table(rows))
    others = [r for r in azure.resources if r["kind"] not in ("cluster", "application")]
    if others:
        lines.append(f"         {len(others)} other resource(s): resource groups, storage, networks")
    active = {k: v for k, v in azure.faults.items() if v and k != "retry_after"}
    if active:
        lines.append("faults:  " + ", ".join(f"{k}={v}" for k, v in active.items()))
    return "\n".join(lines)


def clear_faults() -> bool:
    """``lab fault restore``'s part: clear the faults if the emulator runs; whether it does."""
    emulator = AzureEmulator()
    if emulator.running_pid() is None:
        return False
    emulator.clear_faults()
    click.echo("azure: faults cleared")
    return True


def _running_emulator() -> AzureEmulator:
    emulator = AzureEmulator()
    if emulator.running_pid() is None:
        raise LabError("the Azure emulator is not running; start it with `kdrtui lab up --azure`")
    return emulator


@click.command("azure-429")
@click.argument("count", type=click.IntRange(min=0))
@click.option(
    "--retry-after", type=click.IntRange(min=0), default=1, show_default=True, help="Retry-After seconds."
)
def azure_429_command(count: int, retry_after: int) -> None:
    """The Azure emulator's next COUNT requests answer 429 Too Many Requests with Retry-After."""
    with lab_errors():
        _running_emulator().faults(throttle=count, retry_after=retry_after)
        click.echo(f"azure: the next {count} request(s) answer 429 (Retry-After: {retry_after})")


@click.command("azure-500")
@click.argument("count", type=click.IntRange(min=0))
def azure_500_command(count: int) -> None:
    """The Azure emulator's next COUNT requests answer 500 with an ARM error body."""
    with lab_errors():
        _running_emulator().faults(errors_500=count)
        click.echo(f"azure: the next {count} request(s) answer 500 InternalServerError")


@click.command("azure-fail-cluster")
@click.argument("name")
def azure_fail_cluster_command(name: str) -> None:
    """Creating the HDInsight cluster NAME fails (its operation ends Failed: ClusterCreationFailed)."""
    with lab_errors():
        _running_emulator().faults(fail_cluster=name)
        click.echo(f"azure: creating cluster {name} will fail with ClusterCreationFailed")


@click.command("azure-slow")
@click.argument("seconds", type=click.FloatRange(min=0))
def azure_slow_command(seconds: float) -> None:
    """Clusters created from now on take SECONDS more before they are Running (0 turns it off)."""
    with lab_errors():
        _running_emulator().faults(slow_cluster_seconds=seconds)
        click.echo(f"azure: new clusters take {seconds:g} s more before they are Running")


FAULT_COMMANDS: tuple[click.Command, ...] = (
    azure_429_command,
    azure_500_command,
    azure_fail_cluster_command,
    azure_slow_command,
)
"""The ``lab fault azure-*`` commands, for ``lab fault`` to register."""
