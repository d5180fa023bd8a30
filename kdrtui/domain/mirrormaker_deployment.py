"""What one MirrorMaker deployment on an edge node is: its run directory's files and the command that
starts it (pure).

:func:`render_deployment` gathers, per deployment, every file its run directory (``<work_dir>/mm/<name>``)
needs — the MirrorMaker configuration (:mod:`kdrtui.domain.mirrormaker_render`), the logging configuration,
the supervisor script (and for cold standby the scheduler, its schedule and its maths), whose texts the
caller passes in as :class:`RunDirScripts` — and the java argv that the supervisor runs. A deployment that
connects to secured clusters also lists the files of its ``secrets/`` directory
(:class:`~kdrtui.domain.mirrormaker_security.SecretFile`), which are made at deploy time, never rendered.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from kdrtui.domain.java_properties import escape_value
from kdrtui.domain.kafka_release import release_home, shipped
from kdrtui.domain.mirrormaker_render import RenderError, mm2_flows, render_mm1, render_mm2_properties
from kdrtui.domain.mirrormaker_security import SecretFile, secret_files
from kdrtui.domain.plan import EdgeNode, MirrorFlow, MirrorMakerKind, Plan
from kdrtui.domain.schedule import Batches, supervisor_settings

MM2_MAIN = "org.apache.kafka.connect.mirror.MirrorMaker"
"""MirrorMaker 2's dedicated-mode entry point (connect-mirror)."""
MM1_MAIN = "kafka.tools.MirrorMaker"
"""Legacy MirrorMaker's entry point (kafka core, up to Kafka 3.9)."""

LOG_FILE = "mm.log"
"""The one log of a deployment, in its run directory: the JVM's log4j output, its stdout and stderr,
and the supervisor's notes."""

Kind = Literal["mm2", "mm1"]

SUPERVISOR = "supervise.sh"
"""The supervisor script's name in a run directory."""
SCHEDULER = "schedule.sh"
"""The scheduler script's name in a run directory (scheduled flows only)."""
SCHEDULE_CONF = "schedule.conf"
"""The schedule's settings for the scheduler's awk (``name=value`` lines)."""
SCHEDULE_AWK = "schedule.awk"
"""kdrtui's schedule maths in awk."""


@dataclass(frozen=True, slots=True)
class RunDirScripts:
    """The texts of the scripts a run directory gets, as shipped with kdrtui (the caller reads them)."""

    supervisor: str
    """:data:`SUPERVISOR`: runs one MirrorMaker, records its state, refuses a second copy."""
    scheduler: str
    """:data:`SCHEDULER`: runs the supervisor in batches (cold standby)."""
    schedule_awk: str
    """:data:`SCHEDULE_AWK`: the scheduler's schedule maths."""


def schedule_conf(batches: Batches, deployment: str) -> str:
    """``schedule.conf``: the schedule's settings for the scheduler's awk, one ``name=value`` a line."""
    lines = [
        f"# Written by kdrtui: the batch schedule of MirrorMaker deployment {deployment}.",
        f"# {batches.describe()}, times in UTC. Edits are overwritten on deploy.",
        *(f"{name}={value}" for name, value in supervisor_settings(batches).items()),
    ]
    return "\n".join(lines) + "\n"


# --- logging ----------------------------------------------------------------------------------------

# The chattiest loggers (client config dumps on every client start) at WARN.
_QUIET_LOGGERS = (
    "org.apache.kafka.clients.admin.AdminClientConfig",
    "org.apache.kafka.clients.consumer.ConsumerConfig",
    "org.apache.kafka.clients.producer.ProducerConfig",
    "org.apache.kafka.common.utils.AppInfoParser",
    "org.apache.kafka.connect.runtime.distributed.DistributedConfig",
    "org.apache.kafka.connect.runtime.SourceConnectorConfig",
    "org.apache.kafka.connect.runtime.ConnectorConfig",
    "org.apache.kafka.connect.runtime.TaskConfig",
    "org.apache.kafka.connect.mirror.MirrorMakerConfig",
    "org.apache.kafka.connect.mirror.MirrorSourceConfig",
    "org.apache.kafka.connect.mirror.MirrorCheckpointConfig",
    "org.apache.kafka.connect.mirror.MirrorHeartbeatConfig",
    "org.apache.kafka.connect.mirror.MirrorClientConfig",
    "org.apache.kafka.connect.mirror.MirrorTaskConfig",
)


def log4j_properties(log_file: str) -> str:
    """log4j 1 / reload4j configuration (Kafka 3.x): INFO to a rolling ``log_file``, nothing to console."""
    lines = [
        "# Written by kdrtui: MirrorMaker logs INFO to one rolling file, nothing to the console.",
        "log4j.rootLogger=INFO, file",
        "log4j.appender.file=org.apache.log4j.RollingFileAppender",
        f"log4j.appender.file.File={escape_value(log_file)}",
        "log4j.appender.file.Append=true",
        "log4j.appender.file.MaxFileSize=50MB",
        "log4j.appender.file.MaxBackupIndex=3",
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
        *(f"log4j.logger.{name}=WARN" for name in _QUIET_LOGGERS),
    ]
    return "\n".join(lines) + "\n"


def log4j2_properties(log_file: str) -> str:
    """log4j2 configuration (Kafka 4.x): INFO to a rolling ``log_file``, nothing to console."""
    lines = [
        "# Written by kdrtui: MirrorMaker logs INFO to one rolling file, nothing to the console.",
        "status = error",
        "name = kdrtui-mirrormaker",
        "appender.file.type = RollingFile",
        "appender.file.name = file",
        f"appender.file.fileName = {escape_value(log_file)}",
        f"appender.file.filePattern = {escape_value(log_file)}.%i",
        "appender.file.append = true",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d] %p %m (%c)%n",
        "appender.file.policies.type = Policies",
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
        "appender.file.policies.size.size = 50MB",
        "appender.file.strategy.type = DefaultRolloverStrategy",
        "appender.file.strategy.max = 3",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.file.ref = file",
    ]
    for n, name in enumerate(_QUIET_LOGGERS):
        lines += [f"logger.q{n}.name = {name}", f"logger.q{n}.level = WARN"]
    return "\n".join(lines) + "\n"


# --- the command line -------------------------------------------------------------------------------


def launch_command(
    kafka_home: str,
    run_dir: str,
    kind: Kind,
    target_alias: str,
    heap: str = "512m",
    *,
    mm1_args: Sequence[str] = (),
) -> list[str]:
    """The java argv that runs MirrorMaker from ``kafka_home``'s jars with the files in ``run_dir``.

    Both logging flags are given: Kafka 3.x reads the first, 4.x the second. For ``mm2`` the config is
    ``<run_dir>/mm2.properties``, run for ``--clusters <target_alias>``; for ``mm1`` pass its arguments
    (:attr:`Mm1Config.args`) as ``mm1_args``.
    """
    jvm = [
        "java",
        f"-Xmx{heap}",
        "-XX:+UseSerialGC",
        f"-Dlog4j.configuration=file:{run_dir}/log4j.properties",
        f"-Dlog4j2.configurationFile={run_dir}/log4j2.properties",
        "-cp",
        f"{kafka_home.rstrip('/')}/libs/*",
    ]
    if kind == "mm2":
        return [*jvm, MM2_MAIN, f"{run_dir}/mm2.properties", "--clusters", target_alias]
    if kind == "mm1":
        if not mm1_args:
            raise ValueError("mm1 needs its arguments (Mm1Config.args)")
        return [*jvm, MM1_MAIN, *mm1_args]
    raise ValueError(f"unknown MirrorMaker kind {kind!r}; expected 'mm2' or 'mm1'")


def shell_join(argv: Sequence[str]) -> str:
    """``argv`` as one POSIX shell command line (each word quoted as needed)."""
    return shlex.join(argv)


def start_command(run_dir: str, argv: Sequence[str], *, scheduled: bool = False) -> str:
    """The shell line that starts ``argv`` under the supervisor (``scheduled``: under the scheduler,
    which runs the supervisor in batches), detached from the SSH session."""
    run = shlex.quote(run_dir)
    script = SCHEDULER if scheduled else SUPERVISOR
    # The subshell forks the supervisor with every descriptor on /dev/null and exits at once, so nothing
    # keeps the SSH channel open: the command returns while MirrorMaker runs on.
    return (
        f"cd {run} && (setsid nohup sh {run}/{script} {run} -- {shell_join(argv)} "
        "</dev/null >/dev/null 2>&1 &)"
    )


# --- deployments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedDeployment:
    """Everything one MirrorMaker process on one edge node needs: files, run directory and argv."""

    name: str
    """``mm2-<target>`` or ``mm1-<source>-<target>``; also the run directory's name."""
    kind: Kind
    """``mm2`` or ``mm1``."""
    node: str
    """The edge node's name."""
    target: str
    """Alias of the cluster it mirrors into (the node's cluster)."""
    flows: tuple[str, ...]
    """The flows it runs, ``source->target``."""
    run_dir: str
    """``<work_dir>/mm/<name>`` on the node, with ``~/`` resolved."""
    files: dict[str, str]
    """Path relative to :attr:`run_dir` -> text, for every file kdrtui writes there."""
    argv: tuple[str, ...]
    """The java command, run by the supervisor."""
    schedule: Batches | None = None
    """Cold standby: when MirrorMaker runs (by the scheduler, or a systemd timer); None: all the time."""
    secrets: tuple[SecretFile, ...] = ()
    """The files of its ``secrets/`` directory (secured clusters only), made when it is deployed."""
    release: str | None = None
    """The Kafka release kdrtui ships to the node for it (the node's ``mirrormaker_kafka``); None: it runs
    from the node's own ``kafka_home``."""
    kafka_home: str = ""
    """The directory on the node whose ``libs/`` it runs from (``<work_dir>/kafka/<release>`` if shipped)."""

    @property
    def log_file(self) -> str:
        """The deployment's one log on the node."""
        return f"{self.run_dir}/{LOG_FILE}"

    @property
    def start_command(self) -> str:
        """The shell line that starts it detached under the supervisor (or the scheduler)."""
        return start_command(self.run_dir, self.argv, scheduled=self.schedule is not None)


def default_home(user: str) -> str:
    """Where ``user``'s home directory usually is on a Linux edge node (HDInsight: /home/sshuser)."""
    return "/root" if user == "root" else f"/home/{user}"


def expand_home(path: str, home: str) -> str:
    """``path`` with a leading ``~/`` (or a bare ``~``) replaced by ``home``."""
    if path == "~":
        return home
    if path.startswith("~/"):
        return f"{home.rstrip('/')}/{path[2:]}"
    return path


def deployment_schedule(name: str, flows: Sequence[MirrorFlow], minute_seconds: int = 60) -> Batches | None:
    """The batch schedule of a deployment running ``flows`` (None: they run all the time).

    Raises:
        RenderError: the flows one MirrorMaker runs do not share one schedule.
    """
    schedules = {f.schedule for f in flows}
    if len(schedules) > 1:
        raise RenderError(
            f"{name} runs flows {', '.join(f.name for f in flows)} in one MirrorMaker, so they need the same "
            "[flows.schedule] (or none)"
        )
    (schedule,) = schedules
    return None if schedule is None else Batches.of(schedule, minute_seconds=minute_seconds)


def render_deployment(
    plan: Plan,
    node: EdgeNode,
    *,
    scripts: RunDirScripts,
    home: str | None = None,
    heap: str = "512m",
    minute_seconds: int = 60,
) -> list[RenderedDeployment]:
    """The MirrorMaker deployments ``node`` runs: one MM2 for all mm2 flows into its cluster, one MM1 per
    mm1 flow into it (none when no flow targets its cluster).

    Args:
        plan: the DR plan.
        node: the edge node; its ``work_dir`` and ``kafka_home`` may start with ``~/``. With a shipped
            ``mirrormaker_kafka`` release, MirrorMaker runs from ``<work_dir>/kafka/<release>/libs``.
        scripts: the supervisor's and the scheduler's texts, written into every run directory as they are.
        home: the SSH user's home directory on the node (``$HOME``), which ``~/`` stands for; default
            :func:`default_home`. Paths in the argv and the log configuration must be absolute, because
            the JVM does not expand ``~``.
        heap: the JVM's maximum heap.
        minute_seconds: real seconds per schedule minute; 60 (less only in tests: the
            ``KDRTUI_SCHEDULE_MINUTE_SECONDS`` hook).

    Raises:
        RenderError: a flow that cannot be rendered (see :func:`render_mm2_properties`, :func:`render_mm1`).
    """
    home = home or default_home(node.user)
    work_dir = expand_home(node.work_dir, home).rstrip("/") or "/"
    release = shipped(node.mirrormaker_kafka)
    kafka_home = release_home(work_dir, release) if release else expand_home(node.kafka_home, home)
    target = node.cluster
    result: list[RenderedDeployment] = []

    def common(run_dir: str, name: str, schedule: Batches | None) -> dict[str, str]:
        log = f"{run_dir}/{LOG_FILE}"
        files = {
            "log4j.properties": log4j_properties(log),
            "log4j2.properties": log4j2_properties(log),
            SUPERVISOR: scripts.supervisor,
        }
        if schedule is not None:
            files[SCHEDULER] = scripts.scheduler
            files[SCHEDULE_CONF] = schedule_conf(schedule, name)
            files[SCHEDULE_AWK] = scripts.schedule_awk
        return files

    into = mm2_flows(plan, target)
    if into:
        name = f"mm2-{target}"
        run_dir = f"{work_dir}/mm/{name}"
        schedule = deployment_schedule(name, into, minute_seconds)
        mm2 = render_mm2_properties(plan, target, run_dir=run_dir, node=node)
        files = {"mm2.properties": mm2, **common(run_dir, name, schedule)}
        argv = launch_command(kafka_home, run_dir, "mm2", target, heap)
        flows = tuple(f.name for f in into)
        secrets = _secrets(plan, [target, *(f.source for f in into)])
        result.append(
            RenderedDeployment(
                name, "mm2", node.name, target, flows, run_dir, files, tuple(argv), schedule, secrets
            )
        )
    mm1 = [f for f in plan.flows if f.target == target and f.mirrormaker == MirrorMakerKind.MM1]
    for flow in sorted(mm1, key=lambda f: f.source):
        name = f"mm1-{flow.source}-{flow.target}"
        run_dir = f"{work_dir}/mm/{name}"
        config = render_mm1(plan, flow, run_dir=run_dir)
        schedule = deployment_schedule(name, [flow], minute_seconds)
        files = {
            "consumer.properties": config.consumer_text(plan.plan.name),
            "producer.properties": config.producer_text(plan.plan.name),
            **common(run_dir, name, schedule),
        }
        argv = launch_command(kafka_home, run_dir, "mm1", target, heap, mm1_args=config.args)
        result.append(
            RenderedDeployment(
                name,
                "mm1",
                node.name,
                target,
                (flow.name,),
                run_dir,
                files,
                tuple(argv),
                schedule,
                _secrets(plan, [flow.source, flow.target]),
            )
        )
    return [replace(r, release=release, kafka_home=kafka_home) for r in result]


def _secrets(plan: Plan, aliases: Sequence[str]) -> tuple[SecretFile, ...]:
    return secret_files({alias: plan.cluster(alias).security for alias in sorted(set(aliases))})
