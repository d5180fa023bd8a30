"""Deploy, start, stop and watch MirrorMaker on edge nodes over SSH.

Each edge node runs the MirrorMaker deployments whose target is the node's cluster (MirrorMaker runs
next to its target, with ``--clusters <target>``). A deployment lives in ``<work_dir>/mm/<name>`` on the
node: its rendered configuration, the supervisor script and its state files. The supervisor (started
with ``setsid nohup``) survives SSH disconnects and refuses to run a second copy, so ``start`` twice never
runs two. Every action re-reads the node's state first, so an action retried after a dropped connection
does not act twice.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from kdrtui.domain.mirrormaker import MirrorMakerStatus, MmState, parse_probe
from kdrtui.domain.mirrormaker_deployment import RenderedDeployment, render_deployment
from kdrtui.domain.mirrormaker_drift import drift
from kdrtui.domain.mirrormaker_render import runs_clustered
from kdrtui.domain.mirrormaker_systemd import (
    systemd_batch_unit,
    systemd_timer,
    systemd_unit,
    timer_name,
    unit_name,
)
from kdrtui.domain.plan import EdgeNode, Plan
from kdrtui.domain.schedule import minute_seconds
from kdrtui.services.kafka.security import SecurityError
from kdrtui.services.mirrormaker.node_scripts import (
    alive_command,
    kill_command,
    preflight_script,
    run_dir_scripts,
    status_probe,
    stop_command,
    systemd_probe,
)
from kdrtui.services.mirrormaker.preflight import PreflightReport, preflight_report
from kdrtui.services.mirrormaker.release import ReleaseError, ReleaseSource, cached_libs, ship_for
from kdrtui.services.mirrormaker.secrets import deploy_secrets, materialize_all, secrets_drift
from kdrtui.services.ssh import EdgeSession, SshError, SshTarget

Progress = Callable[[str], None]

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


class MirrorMakerError(RuntimeError):
    """An action on MirrorMaker failed; ``str()`` says where and why, for the operator."""


class SelectionError(MirrorMakerError):
    """The flow or node asked for does not exist in the plan (bad input, not a failure)."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """One rendered deployment on one node, with paths resolved on that node."""

    node: EdgeNode
    """The edge node."""
    rendered: RenderedDeployment
    """Files and argv as the plan renders them."""
    run_dir: str
    """Absolute run directory on the node."""

    @property
    def name(self) -> str:
        """``mm2-<target>`` or ``mm1-<source>-<target>``."""
        return self.rendered.name


SessionFactory = Callable[[EdgeNode], EdgeSession]


def default_session_factory(node: EdgeNode) -> EdgeSession:
    """A real asyncssh session to the node; unknown host keys are refused."""
    return EdgeSession(SshTarget.from_edge_node(node))


class MirrorMakerManager:
    """MirrorMaker on the plan's edge nodes. Async: call from an event loop (asyncssh is async)."""

    def __init__(
        self,
        plan: Plan,
        *,
        session_factory: SessionFactory = default_session_factory,
        release_source: ReleaseSource = cached_libs,
    ) -> None:
        self.plan = plan
        self._session_factory = session_factory
        self._release_source = release_source  # local jars of a release kdrtui ships (mirrormaker_kafka)
        self._sessions: dict[str, EdgeSession] = {}
        self._homes: dict[str, str] = {}
        self._systemd: dict[str, str | None] = {}

    # -- selection ---------------------------------------------------------------------------------

    def nodes(self, *, flow: str | None = None, node: str | None = None) -> list[EdgeNode]:
        """Edge nodes that run MirrorMaker for ``flow`` (``source->target``) and/or named ``node``."""
        targets = {f.target for f in self.plan.flows}
        if flow is not None:
            match = [f for f in self.plan.flows if f.name == flow]
            if not match:
                known = ", ".join(f.name for f in self.plan.flows) or "none"
                raise SelectionError(f"no flow {flow!r} in the plan; flows are: {known}")
            targets = {match[0].target}
        chosen = [n for n in self.plan.edge_nodes if n.cluster in targets]
        if node is not None:
            chosen = [n for n in chosen if n.name == node]
            if not chosen:
                known = ", ".join(n.name for n in self.plan.edge_nodes) or "none"
                raise SelectionError(f"no edge node {node!r} runs MirrorMaker here; edge nodes are: {known}")
        if not chosen:
            raise SelectionError(
                "no edge node runs MirrorMaker for this plan: add an [[edge_nodes]] entry whose cluster "
                "is a flow's target"
            )
        return chosen

    async def deployments(self, node: EdgeNode, *, flow: str | None = None) -> list[Deployment]:
        """The node's deployments, with its work dir resolved to an absolute path."""
        home = await self._home(node)
        return [
            Deployment(node, rendered, rendered.run_dir)
            for rendered in render_deployment(
                self.plan,
                node,
                scripts=run_dir_scripts(),
                home=home,
                minute_seconds=minute_seconds(os.environ),
            )
            if flow is None or flow in rendered.flows
        ]

    async def select(self, *, flow: str | None = None, node: str | None = None) -> list[Deployment]:
        """Every deployment for ``flow`` and/or on ``node`` (all of the plan's when both are None)."""
        chosen: list[Deployment] = []
        for edge in self.nodes(flow=flow, node=node):
            chosen += await self.deployments(edge, flow=flow)
        return chosen

    # -- sessions ----------------------------------------------------------------------------------

    def session(self, node: EdgeNode) -> EdgeSession:
        """The (lazily connected) SSH session to ``node``."""
        if node.name not in self._sessions:
            self._sessions[node.name] = self._session_factory(node)
        return self._sessions[node.name]

    async def forget_session(self, node_name: str) -> None:
        """Close and drop a node's session (e.g. to retry with a passphrase); the next use makes a new one."""
        session = self._sessions.pop(node_name, None)
        if session is not None:
            await session.close()

    async def close(self) -> None:
        """Close every SSH session."""
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()

    async def _home(self, node: EdgeNode) -> str:
        if node.name not in self._homes:
            result = await self.session(node).run('printf %s "$HOME"', timeout=15)
            self._homes[node.name] = result.stdout.strip() or "/tmp"
        return self._homes[node.name]

    async def systemd_prefix(self, node: EdgeNode) -> str | None:
        """How to run systemctl on the node: ``""`` as root, ``"sudo -n "`` with passwordless sudo, or
        ``None`` when the node has no systemd to use (then the setsid supervisor runs MirrorMaker)."""
        if node.name not in self._systemd:
            answer = (await self.session(node).run(systemd_probe(), timeout=15)).stdout.strip()
            self._systemd[node.name] = {"root": "", "sudo": "sudo -n "}.get(answer)
        return self._systemd[node.name]

    # -- checks ------------------------------------------------------------------------------------

    async def preflight(self, node: EdgeNode) -> PreflightReport:
        """Check the node's Java against the Kafka release MirrorMaker runs there, and Kafka's jars in
        ``kafka_home`` unless kdrtui ships the release; one message per problem. Warnings (an MM2 older
        than 3.5) are the caller's to show."""
        out = (await self.session(node).run(preflight_script(node.kafka_home), timeout=30)).stdout
        clustered = any(f.target == node.cluster for f in self.plan.flows) and runs_clustered(
            self.plan, node.cluster, node.name
        )
        problem = preflight_problem(out, node, clustered=clustered)
        if problem:
            raise MirrorMakerError(problem)
        return preflight_report(out, node)

    # -- actions -----------------------------------------------------------------------------------

    def read_secrets(self, dep: Deployment) -> dict[str, bytes]:
        """The files of the deployment's secrets directory, made from what the plan names (secured
        clusters only).

        Raises:
            MirrorMakerError: a password or file cannot be read: one line naming the cluster and plan key.
        """
        try:
            return materialize_all(dep.rendered.secrets)
        except SecurityError as exc:
            raise MirrorMakerError(f"{dep.node.name}: {dep.name}: {exc}") from None

    async def deploy(self, dep: Deployment, progress: Progress | None = None) -> list[str]:
        """Upload the rendered files that differ from the node's, and bring its secrets directory up to
        date (secrets are read first: one that cannot be read changes nothing); returns what changed.

        Raises:
            MirrorMakerError: see :meth:`read_secrets`.
        """
        made = self.read_secrets(dep)
        try:  # the release's jars first: MirrorMaker runs from them
            shipped = await ship_for(
                self.session(dep.node), dep.node.name, dep.rendered.release, dep.rendered.kafka_home,
                self._release_source, progress,
            )  # fmt: skip
        except ReleaseError as exc:
            raise MirrorMakerError(f"{dep.node.name}: {exc}") from None
        remote = await self._remote_files(dep)
        changed = [rel for rel, text in dep.rendered.files.items() if remote.get(rel) != text]
        session = self.session(dep.node)
        # The secrets first: a configuration that names them never runs without them.
        secrets = await deploy_secrets(session, dep.run_dir, dep.rendered.secrets, made)
        for verb, rel in secrets:
            if progress:
                progress(f"{dep.node.name}: {verb} {dep.name}/{rel}")
        for rel in changed:
            mode = 0o755 if rel.endswith(".sh") else 0o644
            await session.upload(dep.rendered.files[rel], f"{dep.run_dir}/{rel}", mode=mode)
            if progress:
                progress(f"{dep.node.name}: uploaded {dep.name}/{rel}")
        return [*shipped, *(rel for _verb, rel in secrets), *changed]

    async def status(self, dep: Deployment, *, with_drift: bool = True) -> MirrorMakerStatus:
        """Read the deployment's state on the node (one command), and its config drift."""
        try:
            probe = status_probe(dep.run_dir, libs=f"{dep.rendered.kafka_home}/libs")
            out = await self.session(dep.node).run(probe, timeout=20)
            status = parse_probe(dep.node.name, dep.name, out.stdout)
            if with_drift and status.state is not MmState.NOT_DEPLOYED:
                found = drift(dep.rendered.files, await self._remote_files(dep))
                found += await secrets_drift(self.session(dep.node), dep.run_dir, dep.rendered.secrets)
                status = replace(status, drift=tuple(found))
            return status
        except SshError as exc:
            return MirrorMakerStatus(dep.node.name, dep.name, MmState.UNKNOWN, error=str(exc))

    async def start(self, dep: Deployment, progress: Progress | None = None) -> MirrorMakerStatus:
        """Start the deployment unless it already runs; deploys first when the config drifted."""
        say = progress or (lambda _m: None)
        for warning in (await self.preflight(dep.node)).warnings:
            say(f"warning: {warning}")
        current = await self.status(dep)
        if current.state is MmState.UNKNOWN:
            raise MirrorMakerError(current.error or f"{dep.node.name}: state unknown")
        if current.active:
            if current.drift:
                say(f"{dep.node.name}: {dep.name} runs with an old config; use restart to apply the plan")
            if current.scheduled:
                say(f"{dep.node.name}: {dep.name} already {current.schedule_text()}")
            else:
                say(f"{dep.node.name}: {dep.name} already running (pid {current.pid})")
            return current
        await self.deploy(dep, progress)
        if dep.rendered.kind == "mm1":
            await self._create_mm1_topics(dep, say)
        run = shlex.quote(dep.run_dir)
        # Clearing the last exit makes any exit code seen below this run's own.
        clear = f"rm -f {run}/stop_requested {run}/exit_code {run}/exited_at {run}/timer_unit"
        sudo = await self.systemd_prefix(dep.node)
        schedule = dep.rendered.schedule
        if sudo is None:
            launch = f"{clear} && {dep.rendered.start_command}"
        elif schedule is not None:
            # A timer starts a batch unit at every batch start; the unit started now runs the batch
            # whose window is open (or exits at once between batches).
            unit, timer = unit_name(dep.name), timer_name(dep.name)
            batch = systemd_batch_unit(dep.name, dep.run_dir, dep.rendered.argv, schedule, user=dep.node.user)
            await self.session(dep.node).upload(batch, f"{dep.run_dir}/{unit}")
            await self.session(dep.node).upload(systemd_timer(dep.name, schedule), f"{dep.run_dir}/{timer}")
            launch = (
                f"{clear} && {sudo}install -m 0644 {run}/{unit} {run}/{timer} /etc/systemd/system/ && "
                f"{sudo}systemctl daemon-reload && {sudo}systemctl start {timer} && "
                f"printf '%s\\n' {timer} > {run}/timer_unit && {sudo}systemctl start {unit}"
            )
        else:
            unit = unit_name(dep.name)
            text = systemd_unit(dep.name, dep.run_dir, dep.rendered.argv, user=dep.node.user)
            await self.session(dep.node).upload(text, f"{dep.run_dir}/{unit}")
            launch = (
                f"{clear} && {sudo}install -m 0644 {run}/{unit} /etc/systemd/system/{unit} && "
                f"{sudo}systemctl daemon-reload && {sudo}systemctl start {unit}"
            )
        await self.session(dep.node).run(launch, timeout=60, check=True)
        say(f"{dep.node.name}: starting {dep.name}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            status = await self.status(dep, with_drift=False)
            if status.scheduled and status.active:
                say(f"{dep.node.name}: {dep.name} {status.schedule_text()}")
                return status
            if status.state is MmState.RUNNING:
                say(f"{dep.node.name}: {dep.name} running (pid {status.pid})")
                return status
            if status.state in (MmState.CRASHED, MmState.STOPPED) and status.exit_code is not None:
                tail = "\n  ".join(status.log_tail[-5:])
                raise MirrorMakerError(
                    f"{dep.node.name}: {dep.name} exited with code {status.exit_code} right after start; "
                    f"last log lines:\n  {tail}"
                )
            if time.monotonic() > deadline:
                raise MirrorMakerError(
                    f"{dep.node.name}: {dep.name} did not start within {START_TIMEOUT_S:.0f} s"
                )
            await asyncio.sleep(0.3)

    async def stop(self, dep: Deployment, progress: Progress | None = None) -> MirrorMakerStatus:
        """SIGTERM through the supervisor, wait, then SIGKILL; leaves no MirrorMaker JVM. A scheduled
        deployment's schedule stops too (its scheduler, or its systemd timer): no batch starts later."""
        say = progress or (lambda _m: None)
        current = await self.status(dep, with_drift=False)
        if current.state is MmState.UNKNOWN:
            raise MirrorMakerError(current.error or f"{dep.node.name}: state unknown")
        if not current.active:
            say(f"{dep.node.name}: {dep.name} not running ({current.state})")
            return current
        run = shlex.quote(dep.run_dir)
        session = self.session(dep.node)
        sudo = await self.systemd_prefix(dep.node)
        if sudo is not None:
            # systemd would restart a process killed behind its back: stop the unit instead (and the
            # timer first, so it starts no batch meanwhile).
            await session.run(
                f"touch {run}/stop_requested; {sudo}systemctl stop {timer_name(dep.name)} 2>/dev/null; "
                f"{sudo}systemctl stop {unit_name(dep.name)}; true",
                timeout=60,
            )
        # The scheduler first: it stops its batch and starts no other.
        await session.run(stop_command(dep.run_dir), timeout=20)
        what = f"pid {current.pid}" if current.pid else "its schedule"
        say(f"{dep.node.name}: stopping {dep.name} ({what})")
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while True:
            status = await self.status(dep, with_drift=False)
            if not status.active and not await self._alive(dep, current.pid):
                say(f"{dep.node.name}: {dep.name} stopped")
                return status
            if time.monotonic() > deadline:
                say(f"{dep.node.name}: {dep.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f} s; killing it")
                await session.run(kill_command(dep.run_dir, current.pid), timeout=20)
                deadline = time.monotonic() + 10
            await asyncio.sleep(0.3)

    async def restart(
        self, deps: list[Deployment], progress: Progress | None = None
    ) -> list[MirrorMakerStatus]:
        """Rolling restart: one node at a time, each running again before the next stops. Every secret is
        read before the first stop: one that cannot be read stops nothing."""
        for dep in deps:
            self.read_secrets(dep)
        results = []
        for dep in deps:
            await self.stop(dep, progress)
            results.append(await self.start(dep, progress))
        return results

    async def logs(self, dep: Deployment, *, lines: int = 50, follow: bool = True) -> AsyncIterator[str]:
        """The deployment's log: the last ``lines``, then (with ``follow``) new lines as they come."""
        log = shlex.quote(f"{dep.run_dir}/mm.log")
        command = f"tail -n {int(lines)} {'-F' if follow else ''} {log} 2>/dev/null"
        async for line in self.session(dep.node).stream(command, timeout=None if follow else 30):
            yield line

    async def _create_mm1_topics(self, dep: Deployment, say: Progress) -> None:
        """MirrorMaker 1 never creates topics: make the covered ones on the target first."""
        from kdrtui.services.kafka.topics import ensure_target_topics

        for flow in self.plan.flows:
            if flow.name not in dep.rendered.flows:
                continue
            target = self.plan.cluster(flow.target)
            created = await asyncio.to_thread(
                ensure_target_topics,
                self.plan.cluster(flow.source).bootstrap,
                target.bootstrap,
                flow.topics,
                flow.topics_exclude,
                replication_factor=target.replication_factor,
            )
            if created:
                say(f"{flow.name}: created {len(created)} topic(s) on {flow.target} for MirrorMaker 1")

    # -- helpers -----------------------------------------------------------------------------------

    async def _remote_files(self, dep: Deployment) -> dict[str, str | None]:
        session = self.session(dep.node)
        return {rel: await session.read_file(f"{dep.run_dir}/{rel}") for rel in dep.rendered.files}

    async def _alive(self, dep: Deployment, pid: int | None) -> bool:
        if pid is None:
            return False
        out = await self.session(dep.node).run(alive_command(dep.run_dir, pid), timeout=15)
        return "alive" in out.stdout


def preflight_problem(output: str, node: EdgeNode, *, clustered: bool = False) -> str | None:
    """The first thing that stops MirrorMaker running on ``node``, from the preflight script's output
    (:func:`~kdrtui.services.mirrormaker.node_scripts.preflight_script`); ``clustered``: the node is one of
    several running one MirrorMaker 2, which needs Kafka 3.5+ there (KIP-710's internal REST)."""
    report = preflight_report(output, node)  # Java against the release, kafka_home's jars
    if report.problem:
        return report.problem
    where = f"on {node.name} ({node.user}@{node.host}:{node.port})"
    release = mirror_release(report.kafka_version or "")
    if clustered and release is not None and release < (3, 5):
        return (
            f"MirrorMaker {'.'.join(map(str, release))} {where}: several edge nodes of '{node.cluster}' run "
            "one MirrorMaker 2, which needs Kafka 3.5+ on each (KIP-710's internal REST); upgrade the "
            "node's Kafka or keep one edge node for the cluster"
        )
    return None


def mirror_release(jar: str) -> tuple[int, int] | None:
    """(3, 9) from ``connect-mirror-3.9.1.jar``; None when the name says no release."""
    parts = jar.strip().removeprefix("connect-mirror-").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None
