"""Fakes for the services' tests: an edge node that answers the MirrorMaker manager from a script."""

from __future__ import annotations

from typing import Any


class ScriptedNode:
    """Answers the manager's probes like an HDInsight edge node where the user is root."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.uploads: dict[str, str] = {}
        self.running = False
        self.state = "connected"

    async def run(self, command: str, **_: Any) -> Any:
        self.commands.append(command)
        out = ""
        if command.startswith('printf %s "$HOME"'):
            out = "/home/sshuser"
        elif "command -v java" in command:
            out = 'java=openjdk version "17.0.9"\nlibs=1\nmm2=1\ncore=1\n'
        elif "/run/systemd/system" in command:
            out = "root\n"
        elif command.startswith("d="):
            out = (
                "deployed=1\nmm.pid=4242\nstarted_at=100\nalive=1\nnow=160\n---log---\n"
                if self.running
                else "deployed=1\n"
            )
        elif "systemctl start" in command:
            self.running = True
        elif "systemctl stop" in command:
            self.running = False
        elif command.startswith("kill -0"):
            out = "alive" if self.running else ""
        return type("Result", (), {"stdout": out, "exit_status": 0})()

    async def upload(self, data: str, path: str, **_: Any) -> None:
        self.uploads[path] = data

    async def read_file(self, path: str) -> str | None:
        return self.uploads.get(path)

    async def close(self) -> None:
        pass


class FakePartition:
    """A partition as confluent-kafka's metadata describes it (``PartitionMetadata``)."""

    def __init__(self, pid: int, leader: int, replicas: list[int], isrs: list[int]) -> None:
        self.id = pid
        self.leader = leader
        self.replicas = replicas
        self.isrs = isrs
        self.error = None


class FakeTopic:
    """A topic of the metadata (``TopicMetadata``)."""

    def __init__(self, name: str, partitions: list[FakePartition]) -> None:
        self.topic = name
        self.partitions = {p.id: p for p in partitions}
        self.error = None


class FakeMetadata:
    """A cluster's metadata (``ClusterMetadata``): brokers alive, controller, topics."""

    def __init__(self, brokers: list[int], topics: list[FakeTopic], controller_id: int = 1) -> None:
        self.brokers = {b: object() for b in brokers}
        self.controller_id = controller_id
        self.cluster_id = "fake-cluster"
        self.topics = {t.topic: t for t in topics}


class FakeHealthAdmin:
    """An AdminClient that answers a metadata request with ``metadata`` and DescribeConfigs of a topic
    with its ``min.insync.replicas`` (a topic missing from ``min_isr`` fails); counts the topics
    described."""

    def __init__(
        self, metadata: FakeMetadata, min_isr: dict[str, int], process_roles: str | None = None
    ) -> None:
        self.metadata = metadata
        self.min_isr = min_isr
        self.process_roles = process_roles
        """A broker's ``process.roles`` (None: describing a broker fails)."""
        self.described: list[str] = []

    def list_topics(self, timeout: float = -1) -> FakeMetadata:
        return self.metadata

    def describe_configs(self, resources: list[Any], **_: Any) -> dict[Any, Any]:
        from concurrent.futures import Future

        answers: dict[Any, Any] = {}
        for resource in resources:
            future: Future[dict[str, Any]] = Future()
            if resource.name.isdigit():  # a broker: its process.roles
                if self.process_roles is None:
                    future.set_exception(RuntimeError("CLUSTER_AUTHORIZATION_FAILED"))
                else:
                    roles = type("ConfigEntry", (), {"value": self.process_roles})()
                    future.set_result({"process.roles": roles})
                answers[resource] = future
                continue
            self.described.append(resource.name)
            if resource.name in self.min_isr:
                entry = type("ConfigEntry", (), {"value": str(self.min_isr[resource.name])})()
                future.set_result({"min.insync.replicas": entry})
            else:
                future.set_exception(RuntimeError("UNKNOWN_TOPIC_OR_PART"))
            answers[resource] = future
        return answers


class NoMirrorMakers:
    """A MirrorMaker manager (``manager_factory``) of a plan with no deployment on any edge node."""

    async def select(self, **_: Any) -> list[Any]:
        return []

    async def close(self) -> None:
        pass


def observed_context(ctx: Any, observations: dict[str, Any]) -> Any:
    """``ctx`` (a :class:`~kdrtui.services.runbook.context.DrContext`) whose probes of the clusters see
    ``observations`` (alias -> :class:`~kdrtui.domain.health.ClusterObservation`) instead of Kafka."""
    from dataclasses import dataclass, field, fields

    from kdrtui.services.runbook.context import DrContext

    @dataclass
    class ObservedContext(DrContext):
        seen: dict[str, Any] = field(default_factory=dict)

        async def observe(self, alias: str) -> Any:
            return self.seen[alias]

    return ObservedContext(**{f.name: getattr(ctx, f.name) for f in fields(ctx)}, seen=observations)


def preflight_without_kafka() -> Any:
    """The pre-flight whose reads of Kafka beyond the clusters' probes (MirrorMaker task states, consumer
    groups, the group coordinator, a fence left on the target) answer as on a healthy pair: its decisions
    on what the probes saw are what is tested."""
    from kdrtui.services.runbook.preflight import Preflight

    class NoKafkaPreflight(Preflight):
        async def _tasks(self, ctx: Any) -> dict[str, Any]:
            return {}

        async def _groups(self, ctx: Any, source_up: bool) -> dict[str, Any]:
            return {"groups": [], "refused_groups": [], "active_on_source": []}

        async def _coordinator_problem(self, ctx: Any) -> str | None:
            return None

        async def _target_fenced(self, ctx: Any, state: Any) -> list[str]:
            return []

    return NoKafkaPreflight()
