"""``kdrtui lab``: the local rehearsal lab (two real Kafka clusters, ``primary`` and ``dr``).

Exit codes: 0 done, 1 the lab failed (the message says where its log is), 2 a prerequisite (Java
17+, Maven) is missing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from kdrtui import settings
from kdrtui.commands import lab_azure, lab_wan
from kdrtui.commands.lab_client import client_config_command
from kdrtui.commands.lab_common import lab_errors, say, table
from kdrtui.commands.lab_resolve import resolve_command
from kdrtui.commands.lab_traffic import traffic_command
from kdrtui.lab import jars
from kdrtui.lab.cluster import ClusterStatus
from kdrtui.lab.edge import BACKENDS
from kdrtui.lab.lab import ALIASES, Lab, LabStatus
from kdrtui.lab.lab_edges import EDGE_NAMES, MAX_EDGE_NODES
from kdrtui.lab.lab_plan import BROKER_COUNTS
from kdrtui.lab.lab_topology import PRIMARY_EDGE_NAME, TOPOLOGIES
from kdrtui.lab.security import MODES as SECURITY_MODES


def _configure_logging() -> None:
    # Only when nobody else did (the console's entry point, or pytest): kdrtui's and librdkafka's log
    # lines go to the log file, never to the terminal.
    root, ours = logging.getLogger(), logging.getLogger("kdrtui")
    if root.handlers or ours.handlers:
        return
    path = settings.log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    ours.addHandler(handler)
    ours.setLevel(logging.INFO)


@click.group("lab")
def lab_group() -> None:
    """The local rehearsal lab: two Apache Kafka clusters on this machine (one broker each, or three with
    `lab up --brokers 3`, shaped as HDInsight: replication factor 3, min.insync.replicas 2).

    `primary` stands in for eastus (127.0.0.1:19092) and `dr` for westus2 (127.0.0.1:29092). They
    run from Maven Central jars on Java 17+ and keep their data under the lab directory
    (KDRTUI_LAB_DIR overrides it). Beside them runs an SSH edge node for `dr`, dr-edge-1
    (127.0.0.1:12222), where MirrorMaker runs. `lab up` also writes the lab's DR plan: use it
    with --plan lab.
    """
    _configure_logging()


@lab_group.command("fetch")
@click.option(
    "--kafka-version",
    metavar="V",
    help=f"Apache Kafka release [default: the lab's, else {jars.DEFAULT_KAFKA_VERSION}].",
)
@click.option("--force", is_flag=True, help="Fetch again even if the cache is complete.")
def fetch_command(kafka_version: str | None, force: bool) -> None:
    """Fetch Apache Kafka's jars with Maven into the cache (instant when already there)."""
    with lab_errors():
        version = kafka_version or Lab().kafka_version
        result = jars.fetch(version, force=force, report=say)
        how = "already cached" if result.cached else f"fetched in {result.seconds:.1f} s"
        click.echo(f"Apache Kafka {version}: {result.jars} jars in {result.distribution.libs} ({how})")
        lab_wan.fetch(force)  # Toxiproxy, the WAN's proxy (needs Go; without it, says so and goes on)


@lab_group.command("up")
@click.option(
    "--kafka-version",
    metavar="V",
    help=f"Apache Kafka release [default: the lab's, else {jars.DEFAULT_KAFKA_VERSION}].",
)
@click.option(
    "--primary-port", type=int, metavar="N", help="primary's client port; the controller uses N+1 [19092]."
)
@click.option("--dr-port", type=int, metavar="N", help="dr's client port; the controller uses N+1 [29092].")
@click.option(
    "--auto-create-topics/--no-auto-create-topics",
    default=None,
    help="Let brokers create topics on first use (off by default, as on HDInsight; "
    "MirrorMaker 1 needs it on the target).",
)
@click.option("--edge-port", type=int, metavar="N", help="The SSH edge node's port [the lab's, else 12222].")
@click.option(
    "--edge-backend",
    type=click.Choice(BACKENDS),
    help="The edge node's SSH server [the lab's, else sshd if installed, else asyncssh].",
)
@click.option(
    "--edge-nodes",
    type=click.IntRange(1, MAX_EDGE_NODES),
    metavar="N",
    help="SSH edge nodes of dr (dr-edge-1, dr-edge-2... on the edge port, the next port...): several run "
    "one MirrorMaker 2 cluster for the lab's flow [the lab's, else 1].",
)
@click.option(
    "--edge-kafka-version",
    metavar="V",
    help="The Apache Kafka release in the edge node's kafka_home (3.2.0: like an HDInsight 5.1 edge node) "
    "[the lab's, else the clusters' version].",
)
@click.option(
    "--brokers",
    type=click.Choice([str(n) for n in BROKER_COUNTS]),
    help="Brokers per cluster: 1, or 3 like an HDInsight cluster's worker nodes (replication factor 3, "
    "min.insync.replicas 2, a fault domain each) [the lab's, else 1]. Changing it needs "
    "`kdrtui lab down --purge` first.",
)
@click.option(
    "--security",
    type=click.Choice(SECURITY_MODES),
    help="plaintext, ssl (mutual TLS) or sasl_ssl (SCRAM-SHA-512 over TLS), with an authorizer and the "
    "lab's users admin, app and mirrormaker [the lab's, else plaintext]. Changing it needs "
    "`kdrtui lab down --purge` first.",
)
@click.option(
    "--topology",
    type=click.Choice(TOPOLOGIES),
    help="cold-standby: one flow primary -> dr on dr's edge node; active-active: also an edge node for "
    f"primary ({PRIMARY_EDGE_NAME}, the edge port + 4) and the flow dr -> primary, prefixed names both ways "
    "[the lab's, else cold-standby].",
)
@lab_wan.up_options
@lab_azure.up_options
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the brokers."
)
def up_command(
    kafka_version: str | None,
    primary_port: int | None,
    dr_port: int | None,
    auto_create_topics: bool | None,
    edge_port: int | None,
    edge_backend: str | None,
    edge_nodes: int | None,
    edge_kafka_version: str | None,
    brokers: str | None,
    security: str | None,
    topology: str | None,
    azure: bool,
    azure_port: int | None,
    broker_base_port: int | None,
    edge_base_port: int | None,
    timeout: float,
    wan_latency_ms: int | None = None,
    wan_bandwidth_kbps: int | None = None,
    wan: bool | None = None,
) -> None:
    """Start both clusters and the SSH edge node (reusing running ones); write the lab's DR plan.

    With --azure, start only the Azure emulator instead: `kdrtui provision --plan lab-azure` then
    creates the clusters and the edge node through it.
    """
    if not azure:
        lab_azure.refuse_without_azure(broker_base_port, edge_base_port)
    elif wan or wan_latency_ms is not None or wan_bandwidth_kbps is not None:
        raise click.UsageError("the --wan options are for the primary/dr lab, not with --azure")
    with lab_errors():
        if azure:
            lab_azure.up(kafka_version, azure_port, broker_base_port, edge_base_port)
            return
        lab = Lab(
            primary_port=primary_port,
            dr_port=dr_port,
            kafka_version=kafka_version,
            auto_create_topics=auto_create_topics,
            edge_port=edge_port,
            edge_backend=edge_backend,
            edge_kafka_version=edge_kafka_version,
            security=security,
            brokers=int(brokers) if brokers else None,
            edge_nodes=edge_nodes,
            topology=topology,
            wan=wan,
            wan_latency_ms=wan_latency_ms,
            wan_bandwidth_kbps=wan_bandwidth_kbps,
        )
        status = lab.up(timeout=timeout, report=say)
        rows = [
            [c.alias, c.state, _short(c.bootstrap), f"brokers {c.brokers}", ", ".join(c.notes)]
            for c in status.clusters.values()
        ]
        rows += [
            [e.name, e.state, f"ssh {e.address} ({e.backend})", f"pid {e.pid}", ", ".join(e.notes)]
            for e in status.edge_nodes.values()
        ]
        click.echo(table(rows))
        click.echo(f"plan: {status.plan} ({lab.topology})")
        if (wan_line := lab_wan.render_status(status.wan)) is not None:
            click.echo(wan_line)
        if lab.security.mode != "plaintext":
            click.echo(
                f"security: {lab.security.mode} (users admin, app, mirrormaker; "
                "`kdrtui lab client-config CLUSTER --user app` prints a client config)"
            )


@lab_group.command("down")
@click.option("--purge", is_flag=True, help="Also delete the clusters' data, logs and the lab's plan.")
def down_command(purge: bool) -> None:
    """Stop the traffic generator, both clusters, the edge node and the Azure emulator (with every
    broker and edge node it started)."""
    with lab_errors():
        Lab().down(purge=purge, report=say)
        lab_azure.down(purge)


@lab_group.command("kill")
@click.argument("alias", type=click.Choice((*ALIASES, *EDGE_NAMES, PRIMARY_EDGE_NAME)))
def kill_command(alias: str) -> None:
    """Crash one cluster (SIGKILL its JVM) or the edge node's SSH server; `lab up` restarts it."""
    with lab_errors():
        pid = Lab().kill(alias)
        click.echo(f"{alias}: killed (pid {pid})" if pid is not None else f"{alias}: was not running")


@lab_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_command(as_json: bool) -> None:
    """Show each cluster (up/down, pid, bootstrap, topics) and the traffic generator. Always exits 0."""
    with lab_errors():
        status = Lab().status()
        azure = lab_azure.status()
        if as_json:
            data = status.to_dict()
            data["azure"] = azure.to_dict() if azure is not None else None
            click.echo(json.dumps(data, indent=2))
        else:
            click.echo(_render_status(status))
            if azure is not None:
                click.echo("")
                click.echo(lab_azure.render_status(azure))


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _render_status(status: LabStatus) -> str:
    rows = [["CLUSTER", "REGION", "STATE", "BROKERS", "PID", "BOOTSTRAP", "TOPICS"]]
    for c in status.clusters.values():
        brokers = f"{c.brokers_up}/{c.brokers}"
        rows.append(
            [c.alias, c.region, _state_text(c), brokers, _dash(c.pid), _short(c.bootstrap), _dash(c.topics)]
        )
    lines = [table(rows), ""]
    if status.edge_nodes:
        edge_rows = [["EDGE NODE", "CLUSTER", "STATE", "PID", "SSH", "BACKEND"]]
        for e in status.edge_nodes.values():
            state = f"stale (pid {e.stale_pid})" if e.state == "stale" else e.state
            edge_rows.append([e.name, e.cluster, state, _dash(e.pid), e.address, e.backend])
        lines += [table(edge_rows), ""]
    traffics = status.traffics or {"primary": status.traffic}
    running = {alias: t for alias, t in traffics.items() if t.running}
    for alias, t in running.items():
        args = t.args or {}
        stats = t.stats or {}
        where = "" if list(running) == ["primary"] else f" on {alias}"
        lines.append(
            f"traffic{where}: running (pid {t.pid}), {args.get('topics', '?')} topics "
            f"'{args.get('prefix', '?')}-*' at {args.get('rate', '?')}/s; "
            f"produced {stats.get('acked', 0)}, consumed {stats.get('consumed', 0)}"
        )
    if not running:
        lines.append("traffic: not running")
    if status.topology != "cold-standby":
        lines.append(f"topology: {status.topology}")
    if (wan_line := lab_wan.render_status(status.wan)) is not None:
        lines.append(wan_line)
    lines.append(
        f"plan:    {status.plan}" + ("" if status.plan.exists() else " (not written yet: kdrtui lab up)")
    )
    if status.security != "plaintext":
        lines.append(
            f"security: {status.security} (users admin, app, mirrormaker; see `kdrtui lab client-config`)"
        )
    return "\n".join(lines)


def _state_text(c: ClusterStatus) -> str:
    if c.state == "degraded":
        down = [str(node) for node, pid in c.pids.items() if pid is None]
        return f"degraded ({c.alias}:{','.join(down)} down)"
    return f"stale (pid {c.stale_pid})" if c.state == "stale" else c.state


def _short(bootstrap: str) -> str:
    """The first broker of a bootstrap list, and how many more (an 80-column table)."""
    first, *more = bootstrap.split(",")
    return f"{first} +{len(more)}" if more else first


@lab_group.group("fault")
def fault_group() -> None:
    """Inject faults into the running lab, to rehearse what the console does about them."""


lab_group.add_command(client_config_command)
lab_group.add_command(resolve_command)
lab_group.add_command(traffic_command)

for _command in lab_azure.FAULT_COMMANDS:  # lab fault azure-429, azure-500, azure-fail-cluster, azure-slow
    fault_group.add_command(_command)
for _command in lab_wan.FAULT_COMMANDS:  # lab fault wan-partition, wan-latency, wan-loss, wan-bandwidth...
    fault_group.add_command(_command)


@fault_group.command("drop-ssh")
def drop_ssh_command() -> None:
    """Drop every SSH connection to the edge node from the server side (its server keeps running)."""
    with lab_errors():
        lab = Lab()
        dropped = lab.edge.drop_connections()
        click.echo(f"{lab.edge.name}: dropped {dropped} SSH connection(s)")


@fault_group.command("kill-broker")
@click.argument("target", metavar="CLUSTER[:BROKER]")
def kill_broker_command(target: str) -> None:
    """Crash a broker (SIGKILL its JVM): `primary:2` one broker of three, `primary` a one-broker
    cluster's only broker; `lab fault restore` brings it back."""
    with lab_errors():
        lab = Lab()
        lab.require_set_up()
        alias, node = _broker_target(lab, target)
        cluster = lab.cluster(alias)
        name = cluster.broker(node).name if node is not None else alias
        pid = lab.kill_broker(alias, node) if node is not None else lab.kill(alias)
        if pid is None:
            click.echo(f"{name}: broker was not running; nothing to kill")
        elif node is None or len(cluster.brokers) == 1:
            click.echo(f"{name}: broker killed (pid {pid}); {lab.bootstrap(alias)} is unreachable")
        else:
            up = len(cluster.brokers) - len(cluster.down_brokers())
            click.echo(f"{name}: broker killed (pid {pid}); {alias} has {up} of {len(cluster.brokers)} up")


def _broker_target(lab: Lab, target: str) -> tuple[str, int | None]:
    """``primary:2`` -> ("primary", 2); ``primary`` -> ("primary", None) on a one-broker cluster."""
    alias, _, node = target.partition(":")
    if alias not in ALIASES:
        raise click.BadParameter(
            f"{target!r}: the lab's clusters are {', '.join(ALIASES)}", param_hint="target"
        )
    count = len(lab.cluster(alias).brokers)
    if not node:
        if count > 1:
            raise click.BadParameter(
                f"{alias} has {count} brokers: name one ({alias}:1..{count}), "
                f"or crash the whole cluster with `kdrtui lab kill {alias}`",
                param_hint="target",
            )
        return alias, None
    if not node.isdigit() or not 1 <= int(node) <= count:
        raise click.BadParameter(
            f"{target!r}: {alias} has broker{'s' if count > 1 else ''} "
            + (f"1..{count}" if count > 1 else "1"),
            param_hint="target",
        )
    return alias, int(node)


@fault_group.command("stop-edge")
def stop_edge_command() -> None:
    """Stop the edge node's SSH server, so SSH is refused; MirrorMaker on it keeps running."""
    with lab_errors():
        lab = Lab()
        stopped = lab.stop_edge()
        name, address = lab.edge.name, f"127.0.0.1:{lab.edge.port}"
        if stopped is None:
            click.echo(f"{name}: was not running; SSH to {address} is refused already")
        else:
            how = "stopped" if stopped[1] else "killed"
            click.echo(f"{name}: SSH server {how} (pid {stopped[0]}); SSH to {address} is refused")


@fault_group.command("restore")
@click.option(
    "--timeout", type=float, default=120.0, show_default=True, help="Seconds to wait for the brokers."
)
def restore_command(timeout: float) -> None:
    """Bring back whatever is down (brokers, the edge node), as `lab up` would; clear Azure faults."""
    with lab_errors():
        cleared = lab_azure.clear_faults()
        lab = Lab()
        # A fault leaves its victim's pid file behind; a lab that `lab down` stopped (or never started)
        # has none, and restoring Azure faults must not start it.
        touched = any(path.exists() for c in lab.clusters.values() for path in c.pid_files) or any(
            edge.pid_file.exists() for edge in lab.edges
        )
        if cleared and not touched:
            click.echo("primary/dr are not up and no fault stopped them: `kdrtui lab up` starts them")
            return
        restored = lab.restore(timeout=timeout, report=say)
        if restored:
            click.echo(f"restored: {', '.join(restored)}")
        else:
            click.echo(f"nothing to restore: {', '.join((*ALIASES, *(e.name for e in lab.edges)))} are up")


if __name__ == "__main__":  # the background traffic generator runs as `python -m kdrtui.commands.lab`
    lab_group()
