"""MirrorMaker process state on an edge node, as the manager reports it (pure).

The manager runs one small POSIX shell probe on the node (``status.sh``, see
:func:`kdrtui.services.mirrormaker.node_scripts.status_probe`) and :func:`parse_probe` turns its output
into a :class:`MirrorMakerStatus`. Keeping the parsing here makes
the rules — what counts as running, stopped or crashed — testable without a node.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from kdrtui.domain.kafka_release import version_from_jars
from kdrtui.domain.mm2_tasks import FlowTasks


class MmState(StrEnum):
    """What MirrorMaker is doing on one node."""

    RUNNING = "running"
    """The supervised JVM is alive."""
    SCHEDULED = "scheduled"
    """Cold standby between batches: the scheduler (or a systemd timer) waits for the next run."""
    STOPPED = "stopped"
    """Deployed, not running, and it last ended cleanly (or never ran)."""
    CRASHED = "crashed"
    """Not running, and it last ended with a non-zero exit code kdrtui did not ask for."""
    NOT_DEPLOYED = "not deployed"
    """No configuration on the node yet."""
    UNKNOWN = "unknown"
    """The node could not be asked (SSH down); see the error."""


#: Exit codes of a JVM stopped on purpose: 0, or 128 + SIGTERM (15) / SIGKILL (9) / SIGINT (2).
CLEAN_EXITS = frozenset({0, 130, 137, 143})


@dataclass(frozen=True, slots=True)
class MirrorMakerStatus:
    """One MirrorMaker deployment on one edge node."""

    node: str
    """Edge node name."""
    deployment: str
    """Deployment name, e.g. ``mm2-dr`` or ``mm1-primary-dr``."""
    state: MmState
    """Running, stopped, crashed, not deployed, or unknown."""
    pid: int | None = None
    """The MirrorMaker JVM's pid on the node, when running."""
    uptime_s: float | None = None
    """Seconds since it started, when running."""
    exit_code: int | None = None
    """How it last ended, when not running."""
    stopped_by_operator: bool = False
    """True when kdrtui asked it to stop (so a signal exit is not a crash)."""
    log_tail: tuple[str, ...] = ()
    """The last lines of its log."""
    drift: tuple[str, ...] = ()
    """Differences between the node's configuration and what the plan renders."""
    connectors: dict[str, str] = field(default_factory=dict)
    """``<flow> <connector>`` -> the connector's state from ``mm2-status.<source>.internal`` (MM2 only)."""
    flows: tuple[FlowTasks, ...] = ()
    """Each flow's connector and task states (running MM2 only; read from the target)."""
    error: str | None = None
    """Why the state is unknown, or what went wrong last."""
    scheduled: bool = False
    """Runs in scheduled batches and the schedule is on (a scheduler or a systemd timer is active)."""
    next_run_at: float | None = None
    """Scheduled: when the next batch starts (epoch s)."""
    run_until: float | None = None
    """Scheduled and running: when this batch's window closes."""
    last_run_started_at: float | None = None
    """Scheduled: when the last batch started."""
    last_run_ended_at: float | None = None
    """Scheduled: when the last batch ended."""
    kafka_version: str | None = None
    """The Kafka release it runs (read from the running JVM's jars), or would run when it is not running."""

    @property
    def active(self) -> bool:
        """MirrorMaker runs, or its schedule is on: what ``mm start`` leaves in place."""
        return self.state in (MmState.RUNNING, MmState.SCHEDULED)

    @property
    def task_problems(self) -> list[str]:
        """One line per FAILED connector or task of its flows (``primary->dr MirrorSourceConnector-0 FAILED:
        <first trace line>``): MirrorMaker runs, but does not mirror what they cover."""
        return [f"{flow.flow} {line}" for flow in self.flows if flow.readable for line in flow.problems()]

    def schedule_text(self) -> str | None:
        """``scheduled (idle, next run 14:00 UTC)`` / ``scheduled (running, until 14:15 UTC)``; None when
        the schedule is not on."""
        if not self.scheduled:
            return None
        if self.state is MmState.RUNNING:
            return f"scheduled (running, until {_hhmm(self.run_until)})"
        return f"scheduled (idle, next run {_hhmm(self.next_run_at)})"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (``kdrtui mm status --json``)."""
        return {
            "node": self.node,
            "deployment": self.deployment,
            "state": str(self.state),
            "pid": self.pid,
            "uptime_s": None if self.uptime_s is None else round(self.uptime_s, 1),
            "exit_code": self.exit_code,
            "stopped_by_operator": self.stopped_by_operator,
            "drift": list(self.drift),
            "connectors": dict(self.connectors),
            "flows": [flow.to_dict() for flow in self.flows],
            "failed_tasks": [task.name for flow in self.flows for task in flow.failed],
            "log_tail": list(self.log_tail),
            "error": self.error,
            "scheduled": self.scheduled,
            "next_run_at": self.next_run_at,
            "run_until": self.run_until,
            "last_run_started_at": self.last_run_started_at,
            "last_run_ended_at": self.last_run_ended_at,
            "kafka_version": self.kafka_version,
        }


def _hhmm(when: float | None) -> str:
    if when is None:
        return "?"
    return datetime.fromtimestamp(when, UTC).strftime("%H:%M UTC")


def parse_probe(node: str, deployment: str, output: str) -> MirrorMakerStatus:
    """Turn the status probe's output into a status (pure), with the Kafka release its jars carry."""
    status = _parse_state(node, deployment, output)
    head = output.partition("---log---\n")[0]
    jars = [line.partition("=")[2] for line in head.splitlines() if line.startswith("kafkajar=")]
    version = version_from_jars(jars)
    return replace(status, kafka_version=version) if version else status


def _parse_state(node: str, deployment: str, output: str) -> MirrorMakerStatus:
    head, _, log = output.partition("---log---\n")
    facts: dict[str, str] = {}
    for line in head.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            facts[key.strip()] = value.strip()
    tail = tuple(line for line in log.splitlines() if line.strip())
    if facts.get("deployed") != "1":
        return MirrorMakerStatus(node, deployment, MmState.NOT_DEPLOYED)
    pid = _int(facts.get("mm.pid"))
    now, started = _int(facts.get("now")), _int(facts.get("started_at"))
    scheduled = facts.get("scheduler") == "1" or facts.get("timer") == "1"
    if facts.get("alive") == "1" and pid is not None:
        uptime = float(now - started) if now is not None and started is not None else None
        running = MirrorMakerStatus(
            node, deployment, MmState.RUNNING, pid=pid, uptime_s=uptime, log_tail=tail
        )
        return _with_schedule(running, facts) if scheduled else running
    code = _int(facts.get("exit_code"))
    asked = "stop_requested" in facts
    crashed = code is not None and not (asked and code in CLEAN_EXITS) and code != 0
    if scheduled:
        # Between batches. A batch that crashed shows its exit code; the next one runs anyway.
        idle = MirrorMakerStatus(
            node, deployment, MmState.SCHEDULED, exit_code=code if crashed else None, log_tail=tail
        )
        return _with_schedule(idle, facts)
    return MirrorMakerStatus(
        node,
        deployment,
        MmState.CRASHED if crashed else MmState.STOPPED,
        exit_code=code,
        stopped_by_operator=asked,
        log_tail=tail,
    )


def _with_schedule(status: MirrorMakerStatus, facts: dict[str, str]) -> MirrorMakerStatus:
    """``status`` of a deployment whose schedule is on, with its batch times from the probe."""
    return replace(
        status,
        scheduled=True,
        next_run_at=_float(facts.get("next_run_at")),
        run_until=_float(facts.get("run_until")) if status.state is MmState.RUNNING else None,
        last_run_started_at=_float(facts.get("last_run_started_at")),
        last_run_ended_at=_float(facts.get("last_run_ended_at")),
    )


def _float(text: str | None) -> float | None:
    value = _int(text)
    return None if value is None or value < 0 else float(value)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None
