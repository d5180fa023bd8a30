"""``kdrtui mm``: MirrorMaker on the plan's edge nodes, over SSH.

Exit codes: 0 done (for ``status``: every deployment running, or scheduled, and no MM2 connector or
task FAILED), 1 an action failed or (``status``) something is not running or a connector or task FAILED,
2 bad input (plan, flow or node names).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kdrtui.commands.options import accept_option, host_key_decision, load_plan_or_exit, plan_option

flow_option = click.option(
    "--flow", metavar="SRC->TGT", help="Only this flow's MirrorMaker (e.g. primary->dr)."
)
node_option = click.option("--node", metavar="NAME", help="Only this edge node.")

T = TypeVar("T")


@click.group("mm")
def mm_group() -> None:
    """MirrorMaker on edge nodes: deploy, start, stop, restart, status, logs.

    MirrorMaker runs next to its target cluster, on the edge nodes of that cluster, supervised so that
    it survives SSH disconnects. kdrtui reaches the nodes with SSH keys (ssh-agent or the plan's
    key_file) and checks their host keys against the plan's known_hosts.
    """
    from kdrtui.logging_setup import log_to_file

    log_to_file()


def _run(
    plan_arg: str | None,
    accept_new: bool,
    body: Callable[[Any], Awaitable[T]],
    operation: str | None = None,
) -> T:
    """Load the plan, build a manager with the CLI's host-key and passphrase prompts, run ``body``.

    ``operation`` (``mm start``…) marks a command that changes something: it holds the plan's lock for
    the whole run and refuses (exit 2) when another operation holds it, or when the DR state cannot be
    read. Read-only commands take no lock and show an unreadable DR state as such.
    """
    from kdrtui.services.mirrormaker.manager import MirrorMakerError, MirrorMakerManager, SelectionError
    from kdrtui.services.runbook.lock import PlanLocked
    from kdrtui.services.runbook.operate import current_plan, view_plan
    from kdrtui.services.runbook.store import RunbookStore, StateInvalid
    from kdrtui.services.ssh import EdgeSession, KeyPassphraseNeeded, SshError, SshTarget

    loaded, path = load_plan_or_exit(plan_arg, required=True)
    assert loaded is not None
    lock = RunbookStore(loaded.plan.name, path).lock()
    if operation is not None:
        try:
            lock.acquire(operation)
            plan = current_plan(loaded, path)  # after a failover: the reverse flow and where it runs
        except (PlanLocked, StateInvalid) as exc:
            lock.release()
            hint = f"; {exc.repair}" if isinstance(exc, StateInvalid) else ""
            click.echo(f"kdrtui {operation}: {exc}{hint}", err=True)
            sys.exit(2)
    else:
        plan, unreadable = view_plan(loaded, path)
        if unreadable is not None:
            click.echo(f"warning: {unreadable}; showing MirrorMaker of both directions", err=True)
    passphrases: dict[str, str] = {}
    on_unknown_host = host_key_decision(accept_new)

    def factory(node: Any) -> EdgeSession:
        target = SshTarget.from_edge_node(node)
        key = str(target.key_file)
        return EdgeSession(target, on_unknown_host=on_unknown_host, passphrase=passphrases.get(key))

    async def main() -> T:
        assert plan is not None  # required=True exits otherwise
        manager = MirrorMakerManager(plan, session_factory=factory, release_source=_fetch_release)
        try:
            return await body(manager)
        finally:
            await manager.close()

    try:
        for _attempt in range(3):
            try:
                return asyncio.run(main())
            except KeyPassphraseNeeded as exc:
                key = str(getattr(exc, "key_file", "") or "")
                if not sys.stdin.isatty():
                    raise click.ClickException(
                        f"{exc}; run it from a terminal to be asked for the passphrase"
                    ) from exc
                passphrases[key] = click.prompt(f"Passphrase for {key}", hide_input=True)
            except SelectionError as exc:
                raise click.UsageError(str(exc)) from exc
            except (MirrorMakerError, SshError) as exc:
                raise click.ClickException(str(exc)) from exc
        raise click.ClickException("the key's passphrase was not accepted")
    finally:
        lock.release()


def _say(message: str) -> None:
    click.echo(message)


def _fetch_release(version: str) -> Path:
    """The jars of a release kdrtui ships to edge nodes (``mirrormaker_kafka``), fetched with Maven into
    kdrtui's cache the first time (as ``kdrtui lab fetch`` does)."""
    from kdrtui.lab import jars
    from kdrtui.lab.prereqs import PrerequisiteError
    from kdrtui.services.mirrormaker.release import ReleaseError

    try:
        return jars.fetch(version, report=_say).distribution.libs
    except (jars.FetchError, PrerequisiteError) as exc:
        raise ReleaseError(f"Apache Kafka {version} for the edge node: {exc}") from None


def selection(command: Callable[..., None]) -> Callable[..., None]:
    """The options every mm command shares: which plan, flow and node, and host-key trust."""
    for option in reversed((plan_option, flow_option, node_option, accept_option)):
        command = option(command)
    return command


@mm_group.command("deploy")
@selection
def deploy_command(
    plan_arg: str | None, flow: str | None, node: str | None, accept_new_host_key: bool
) -> None:
    """Upload the configuration the plan renders to each edge node (only what differs)."""

    async def body(manager: Any) -> None:
        for dep in await manager.select(flow=flow, node=node):
            await manager.preflight(dep.node)
            if not await manager.deploy(dep, _say):
                click.echo(f"{dep.node.name}: {dep.name} is up to date")

    _run(plan_arg, accept_new_host_key, body, "mm deploy")


@mm_group.command("start")
@selection
def start_command(
    plan_arg: str | None, flow: str | None, node: str | None, accept_new_host_key: bool
) -> None:
    """Deploy and start MirrorMaker (a running one is left alone); a flow with a [flows.schedule] starts
    its schedule: MirrorMaker runs in batches from then on."""

    async def body(manager: Any) -> None:
        for dep in await manager.select(flow=flow, node=node):
            await manager.start(dep, _say)

    _run(plan_arg, accept_new_host_key, body, "mm start")


@mm_group.command("stop")
@selection
def stop_command(plan_arg: str | None, flow: str | None, node: str | None, accept_new_host_key: bool) -> None:
    """Stop MirrorMaker (SIGTERM, then SIGKILL after 30 s), and its schedule when it runs in batches."""

    async def body(manager: Any) -> None:
        for dep in await manager.select(flow=flow, node=node):
            await manager.stop(dep, _say)

    _run(plan_arg, accept_new_host_key, body, "mm stop")


@mm_group.command("restart")
@selection
def restart_command(
    plan_arg: str | None, flow: str | None, node: str | None, accept_new_host_key: bool
) -> None:
    """Rolling restart, one node at a time; applies a changed plan."""

    async def body(manager: Any) -> None:
        await manager.restart(await manager.select(flow=flow, node=node), _say)

    _run(plan_arg, accept_new_host_key, body, "mm restart")


@mm_group.command("status")
@selection
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_command(
    plan_arg: str | None, flow: str | None, node: str | None, accept_new_host_key: bool, as_json: bool
) -> None:
    """State of each deployment: running / stopped / crashed, pid, uptime, drift, and MM2's connector
    and task states (a FAILED task with the first line of its trace). Exits 1 when a deployment is not
    running, or runs with a FAILED connector or task."""
    from kdrtui.services.mirrormaker.connectors import with_connector_states

    async def body(manager: Any) -> list[Any]:
        return [
            await with_connector_states(manager.plan, dep, await manager.status(dep))
            for dep in await manager.select(flow=flow, node=node)
        ]

    statuses = _run(plan_arg, accept_new_host_key, body)
    if as_json:
        click.echo(json.dumps({"deployments": [s.to_dict() for s in statuses]}, indent=2))
    else:
        for s in statuses:
            click.echo(_describe(s))
    if not all(s.active and not s.task_problems for s in statuses):
        sys.exit(1)


def _describe(s: Any) -> str:
    from kdrtui.domain.health import format_age
    from kdrtui.domain.kafka_release import translation_warning
    from kdrtui.domain.safe_text import escape

    parts = [f"{s.node}  {s.deployment}  {s.schedule_text() or str(s.state).upper()}"]
    if s.pid:
        parts.append(f"pid {s.pid}, up {format_age(s.uptime_s)}")
    if s.kafka_version:
        parts.append(f"Kafka {s.kafka_version}")
    if s.exit_code is not None:
        parts.append(f"exit code {s.exit_code}")
    lines = ["  ".join(parts)]
    if s.flows:
        for flow in s.flows:
            lines += [escape(line) for line in _flow_lines(flow)]
    else:
        lines += [
            f"    connector {escape(name)}: {escape(state)}" for name, state in sorted(s.connectors.items())
        ]
    # Drift, errors and log lines come from the node: each line escaped, so none can move the cursor.
    lines += ["    drift: " + "\n".join(escape(line) for line in d.splitlines()) for d in s.drift]
    if s.error:
        lines.append(f"    error: {escape(s.error)}")
    if s.deployment.startswith("mm2-") and (warning := translation_warning(s.kafka_version)):
        lines.append(f"    warning: {warning}")
    if str(s.state) in ("crashed", "stopped") and s.log_tail:
        lines.append("    last log lines:")
        lines += [f"      {escape(line)}" for line in s.log_tail[-5:]]
    return "\n".join(lines)


def _flow_lines(flow: Any) -> list[str]:
    """A flow's connectors with their task counts, and each FAILED connector or task with the first line
    of its trace and its root cause (outside text: the caller escapes it)."""
    from kdrtui.domain.mm2_tasks import state_counts
    from kdrtui.domain.mm2_workers import worker_lines

    if flow.error is not None:
        return [f"    {flow.flow} task states unreadable: {flow.error}"]
    if not flow.exists or not flow.connectors:
        return [f"    {flow.flow} no task states yet (MirrorMaker is starting)"]
    lines: list[str] = []
    for connector in flow.connectors:
        tasks = f"tasks {state_counts(connector.tasks)}" if connector.tasks else "no tasks"
        lines.append(f"    connector {flow.flow} {connector.name}: {connector.state or '-'}; {tasks}")
        failed = [(f"connector {connector.name}", connector)] if connector.failed else []
        failed += [(f"task {task.name}", task) for task in connector.tasks if task.failed]
        for what, item in failed:
            worker = f" on {item.worker_id}" if item.worker_id else ""
            lines.append(f"      {what} FAILED{worker}: {item.trace or 'no trace'}")
            if item.cause and item.cause != item.trace:
                lines.append(f"        caused by: {item.cause}")
    lines += [f"    worker {line}" for line in worker_lines(flow.workers)]
    return lines


@mm_group.command("logs")
@selection
@click.option("-n", "--lines", default=50, show_default=True, help="Lines of history first.")
@click.option("--follow/--no-follow", default=True, show_default=True, help="Keep printing new lines.")
def logs_command(
    plan_arg: str | None,
    flow: str | None,
    node: str | None,
    accept_new_host_key: bool,
    lines: int,
    follow: bool,
) -> None:
    """Print (and follow) MirrorMaker's log from the first matching node; Ctrl-C stops."""

    async def body(manager: Any) -> None:
        dep = (await manager.select(flow=flow, node=node))[0]
        async for line in manager.logs(dep, lines=lines, follow=follow):
            click.echo(line)

    with contextlib.suppress(KeyboardInterrupt):
        _run(plan_arg, accept_new_host_key, body)
