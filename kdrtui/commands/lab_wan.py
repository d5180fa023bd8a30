"""``kdrtui lab``'s WAN between the regions: ``lab up --wan-*``, its line in ``lab status`` and ``lab
fetch``, and the ``lab fault wan-*`` faults (see :mod:`kdrtui.lab.wan`).

:mod:`kdrtui.commands.lab` registers :data:`FAULT_COMMANDS` on its ``lab fault`` group.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import click

from kdrtui.commands.lab_common import lab_errors, say
from kdrtui.lab import toxiproxy
from kdrtui.lab.lab import Lab
from kdrtui.lab.prereqs import PrerequisiteError
from kdrtui.lab.wan import WanState

_F = TypeVar("_F", bound=Callable[..., object])


def up_options(f: _F) -> _F:
    """``lab up``'s --wan-latency-ms, --wan-bandwidth-kbps and --wan/--no-wan."""
    f = click.option(
        "--wan/--no-wan",
        "wan",
        default=None,
        help="Put the WAN proxy (Toxiproxy) between the regions, or not [the lab's, else no WAN; "
        "--wan-latency-ms implies --wan]. Changing it needs `kdrtui lab down` first.",
    )(f)
    f = click.option(
        "--wan-bandwidth-kbps",
        type=click.IntRange(8),
        metavar="N",
        help="The WAN's bandwidth each way in kbit/s (Toxiproxy counts whole KB/s: N/8 rounded down) "
        "[unlimited].",
    )(f)
    return click.option(
        "--wan-latency-ms",
        type=click.IntRange(0, 60_000),
        metavar="MS",
        help="Put a WAN between the regions with MS ms of latency each way: MirrorMaker on the other "
        "region's edge node (and kdrtui with KDRTUI_REGION set) reach a cluster through it; needs Go "
        "(Toxiproxy is built with `go install`).",
    )(f)


def fetch(force: bool) -> None:
    """``lab fetch``'s part: build Toxiproxy when Go is there; without Go say so and go on."""
    try:
        result = toxiproxy.build(force=force, report=say)
    except PrerequisiteError:
        click.echo(
            f"Toxiproxy {toxiproxy.VERSION}: not built, `go` is not on PATH; the lab runs without a WAN "
            f"(--wan-* options need it). {toxiproxy.GO_HINT}."
        )
        return
    how = "already built" if result.cached else f"built in {result.seconds:.1f} s"
    click.echo(f"Toxiproxy {toxiproxy.VERSION}: {result.path} ({how})")


def render_status(wan: WanState | None) -> str | None:
    """``lab status``'s WAN line; None for a lab without a WAN."""
    if wan is None or not wan.enabled:
        return None
    if not wan.running:
        return "wan:     down (Toxiproxy is not running: `kdrtui lab up` starts it)"
    return f"wan:     {describe(wan)} (Toxiproxy pid {wan.pid}, API 127.0.0.1:{wan.api_port})"


def describe(wan: WanState) -> str:
    """``latency 35 ms each way, bandwidth unlimited, loss 0 %, PARTITIONED until 03:12:05``."""
    parts = [f"latency {wan.latency_ms} ms each way" + (f" ± {wan.jitter_ms} ms" if wan.jitter_ms else "")]
    parts.append("bandwidth " + (f"{wan.bandwidth_kbps} kbit/s" if wan.bandwidth_kbps else "unlimited"))
    parts.append(f"loss {wan.loss_pct:g} %")
    if wan.partitioned:
        until = wan.partition_until
        when = time.strftime("%H:%M:%S", time.localtime(until)) if until else None
        parts.append(f"PARTITIONED until {when}" if when else "PARTITIONED until healed")
    return ", ".join(parts)


def _wan_lab() -> Lab:
    lab = Lab()
    lab.require_set_up()
    return lab


@click.command("wan-partition")
@click.option(
    "--seconds",
    type=click.FloatRange(0, min_open=True),
    metavar="S",
    help="Heal by itself after S seconds (even if this command is gone) [until `lab fault wan-heal`].",
)
def wan_partition_command(seconds: float | None) -> None:
    """Cut the WAN both ways: a black hole (data dropped, nothing reset), so MirrorMaker and other
    cross-region clients stall; local clients are unaffected."""
    with lab_errors():
        lab = _wan_lab()
        lab.wan.partition(seconds)
        how = f"heals by itself in {seconds:g} s" if seconds else "until `kdrtui lab fault wan-heal`"
        click.echo(f"wan: partitioned ({how})")


@click.command("wan-latency")
@click.argument("ms", type=click.IntRange(0, 60_000))
@click.option("--jitter-ms", type=click.IntRange(0), default=0, show_default=True, help="± this, uniformly.")
def wan_latency_command(ms: int, jitter_ms: int) -> None:
    """Set the WAN's latency each way (a request and its answer take 2 x MS more)."""
    with lab_errors():
        lab = _wan_lab()
        lab.wan.set_latency(ms, jitter_ms)
        click.echo(f"wan: {describe(lab.wan.state())}")


@click.command("wan-loss")
@click.argument("pct", type=click.FloatRange(0, 100))
def wan_loss_command(pct: float) -> None:
    """Black-hole PCT % of the connections crossing the WAN (0 ends it).

    Toxiproxy has no packet loss: each connection (when it opens, or now for open ones) has a PCT %
    chance that its client-to-broker data is dropped; Toxiproxy closes such a connection after 5 s
    without traffic and the client reconnects, drawing again.
    """
    with lab_errors():
        lab = _wan_lab()
        lab.wan.set_loss(pct)
        click.echo(f"wan: {describe(lab.wan.state())}")


@click.command("wan-bandwidth")
@click.argument("kbps", metavar="KBPS|unlimited")
def wan_bandwidth_command(kbps: str) -> None:
    """Limit the WAN's bandwidth each way to KBPS kbit/s (`unlimited` lifts it)."""
    with lab_errors():
        if kbps != "unlimited" and not (kbps.isdigit() and int(kbps) >= 8):
            raise click.BadParameter(f"{kbps!r}: give kbit/s (8 or more) or `unlimited`", param_hint="KBPS")
        lab = _wan_lab()
        lab.wan.set_bandwidth(None if kbps == "unlimited" else int(kbps))
        click.echo(f"wan: {describe(lab.wan.state())}")


@click.command("wan-heal")
@click.option("--reset", is_flag=True, help="Also go back to what `lab up` set (its latency, no loss).")
def wan_heal_command(reset: bool) -> None:
    """End a WAN partition (latency, bandwidth and loss stay as set, unless --reset)."""
    with lab_errors():
        lab = _wan_lab()
        if reset:
            lab.wan.reset()
            click.echo(f"wan: reset to {describe(lab.wan.state())}")
            return
        healed = lab.wan.heal()
        click.echo("wan: healed" if healed else "wan: was not partitioned")


FAULT_COMMANDS = (
    wan_partition_command,
    wan_latency_command,
    wan_loss_command,
    wan_bandwidth_command,
    wan_heal_command,
)
"""The ``lab fault wan-*`` commands."""
