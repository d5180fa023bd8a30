"""The policy's vantage points: is the primary up, asked from several places at once.

- ``kdrtui`` (:class:`LocalProbe`): the machine running ``kdrtui watch`` sends a metadata request with a
  new client each time (a long-lived client would keep answering from connections it already has, and
  hide a bootstrap address that stopped answering), to the primary's bootstrap servers as this machine
  reaches them (``KDRTUI_REGION``), or through the addresses ``kdrtui watch --via`` gives.
- an edge node (:class:`EdgeProbe`): over SSH, ``probe.sh`` runs Kafka's own ``BrokerApiVersionsCommand``
  (a metadata request, then ApiVersions to each broker) with the node's Java on the jars MirrorMaker runs
  from, connecting as MirrorMaker there does (its security settings and its secrets directory).

A probe answers UP (answered), DOWN (refused or timed out) or UNKNOWN (the vantage point itself could not
be asked: SSH failed, no Java or Kafka tool there): only UP and DOWN count towards the quorum.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kdrtui.domain.automation import Vote
from kdrtui.domain.java_properties import properties_text
from kdrtui.domain.mirrormaker_render import bootstrap_near, client_security
from kdrtui.domain.safe_text import shown

if TYPE_CHECKING:
    from kdrtui.domain.plan import EdgeNode, Plan
    from kdrtui.domain.security import ClusterSecurity
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager


@dataclass(frozen=True)
class ProbeAnswer:
    """One vantage point's answer."""

    vote: Vote
    detail: str
    """One line: ``3 brokers answered in 0.4 s``, ``timed out after 10 s``, ``ssh: ...``."""
    took_s: float = 0.0


class Probe(Protocol):
    name: str

    async def ask(self) -> ProbeAnswer: ...

    async def close(self) -> None: ...


PROBE_LOGGER = logging.getLogger("kdrtui.watch.probe")
"""The probe clients' librdkafka log: a refused connection is the answer (its detail says it), not an error
for the service's journal every few seconds."""
PROBE_LOGGER.setLevel(logging.CRITICAL)


def _local_metadata(bootstrap: str, timeout_s: float, security: ClusterSecurity | None) -> ProbeAnswer:
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config, client_config_as

    started = time.monotonic()
    all_down = threading.Event()

    def on_error(error: Any) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            all_down.set()

    extra = {
        "socket.connection.setup.timeout.ms": int(timeout_s * 1000),
        "reconnect.backoff.max.ms": 1000,
        "logger": PROBE_LOGGER,
        "error_cb": on_error,
    }
    # Through --via addresses the plan does not know them: connect as the plan says the cluster wants.
    config = (
        client_config(bootstrap, **extra)
        if security is None
        else client_config_as(bootstrap, security, **extra)
    )
    admin = AdminClient(config)
    deadline = started + timeout_s
    while True:
        try:
            # In slices: every bootstrap server refusing the connection is an answer at once, not after
            # the whole timeout.
            metadata = admin.list_topics(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
            break
        except Exception as exc:  # KafkaException: transport failure, timeout
            admin.poll(0)  # serves the error callback
            if not all_down.is_set() and time.monotonic() < deadline:
                continue
            took = time.monotonic() - started
            why = shown(str(exc), 120)
            if any(word in str(exc) for word in ("Authentication", "SASL", "SSL handshake")):
                return ProbeAnswer(Vote.UNKNOWN, f"the primary refused this machine's login: {why}", took)
            if all_down.is_set():
                return ProbeAnswer(
                    Vote.DOWN,
                    f"every bootstrap server refused or dropped the connection ({took:.1f} s)",
                    took,
                )
            return ProbeAnswer(Vote.DOWN, f"no metadata in {took:.1f} s: {why}", took)
    took = time.monotonic() - started
    return ProbeAnswer(Vote.UP, f"{len(metadata.brokers)} brokers in the metadata ({took:.1f} s)", took)


class LocalProbe:
    """The ``kdrtui`` vantage point: a metadata request from this machine with a new client each time."""

    def __init__(
        self, bootstrap: str, timeout_s: float, security: ClusterSecurity | None = None, name: str = "kdrtui"
    ) -> None:
        self.name = name
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self.security = security

    async def ask(self) -> ProbeAnswer:
        return await asyncio.to_thread(_local_metadata, self.bootstrap, self.timeout_s, self.security)

    async def close(self) -> None:
        return None


def read_probe_output(output: str, timeout_s: float) -> ProbeAnswer:
    """``probe.sh``'s output as an answer (pure: unit-tested)."""
    facts: dict[str, str] = {}
    head, _, tail = output.partition("---out---")
    for line in head.splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            facts[key.strip()] = value.strip()
    last = " ".join(line.strip() for line in tail.strip().splitlines()[-2:])
    rc = facts.get("rc", "")
    if rc == "nojava":
        return ProbeAnswer(Vote.UNKNOWN, "no java on the node's PATH: it cannot ask")
    if rc == "noclass":
        return ProbeAnswer(Vote.UNKNOWN, "no BrokerApiVersionsCommand in MirrorMaker's jars: it cannot ask")
    if rc == "noprops":
        return ProbeAnswer(Vote.UNKNOWN, "could not write the probe's client properties on the node")
    try:
        brokers = int(facts.get("brokers", "0"))
    except ValueError:
        brokers = 0
    if rc == "0" and brokers > 0:
        return ProbeAnswer(Vote.UP, f"{brokers} brokers in the metadata")
    if rc == "124":
        # Cut by the node's own deadline: the JVM did not even finish (a loaded node), which says nothing
        # of the primary; the Kafka requests have their own, shorter, timeouts.
        return ProbeAnswer(Vote.UNKNOWN, f"the probe did not finish within {timeout_s:g} s on the node")
    if not rc:
        return ProbeAnswer(Vote.UNKNOWN, "the probe printed nothing it could read")
    if rc == "0":  # it ran and failed nothing, yet listed no broker: not an answer either way
        return ProbeAnswer(Vote.UNKNOWN, f"the tool exited 0 but listed no broker: {shown(last, 120)}")
    if any(word in tail for word in CANNOT_TELL):
        # The primary answered, but not to these credentials (or the node's JVM failed): it cannot tell.
        return ProbeAnswer(Vote.UNKNOWN, f"exit {rc}: {shown(last, 160)}")
    return ProbeAnswer(Vote.DOWN, f"exit {rc}: {shown(last, 160) or 'no output'}")


CANNOT_TELL = (
    "AuthenticationException",
    "AuthorizationException",
    "OutOfMemoryError",
    "UnsupportedClassVersionError",
    "ConfigException",
)
"""What in the tool's output means the node could not ask, not that the primary is down."""
JVM_ALLOWANCE_S = 30.0
"""What the node's command may take beyond the probe's timeout: the JVM's start on a busy node."""


class EdgeProbe:
    """An edge node's vantage point: ``probe.sh`` over SSH (see the module)."""

    def __init__(self, plan: Plan, node: EdgeNode, manager: MirrorMakerManager, timeout_s: float) -> None:
        self.name = node.name
        self.plan = plan
        self.node = node
        self.manager = manager
        self.timeout_s = timeout_s
        self._command: str | None = None
        self._props: str = ""

    async def _prepare(self) -> tuple[str, str]:
        from kdrtui.services.mirrormaker.node_scripts import command

        if self._command is None:
            deployments = await self.manager.deployments(self.node)
            if not deployments:
                raise RuntimeError(f"{self.node.name} runs no MirrorMaker deployment of this plan")
            dep = deployments[0]
            primary = self.plan.primary_alias
            bootstrap = bootstrap_near(self.plan, primary, self.node.cluster)
            # The metadata request tries each bootstrap server in turn, each for request.timeout.ms.
            each = max(1000, int(self.timeout_s * 1000 / max(1, len(bootstrap.split(",")))))
            settings: dict[str, object] = {"request.timeout.ms": each, "client.id": "kdrtui-watch-probe"}
            settings.update(client_security(self.plan, primary, dep.run_dir))
            self._props = properties_text(
                [f"kdrtui watch: the primary ({primary}) as {self.node.name} reaches it"], settings
            )
            self._command = command(
                "probe.sh",
                libs=f"{dep.rendered.kafka_home}/libs",
                b=bootstrap,
                t=int(self.timeout_s + JVM_ALLOWANCE_S),
                props=f"{dep.run_dir}/watch-probe.properties",
            )
        return self._command, self._props

    async def ask(self) -> ProbeAnswer:
        from kdrtui.services.ssh.errors import SshError

        started = time.monotonic()
        try:
            command, props = await self._prepare()
            result = await self.manager.session(self.node).run(
                command, timeout=self.timeout_s + JVM_ALLOWANCE_S + 15, input=props
            )
        except SshError as exc:
            return ProbeAnswer(Vote.UNKNOWN, f"ssh: {shown(str(exc), 160)}", time.monotonic() - started)
        except Exception as exc:  # a plan it cannot render for, a node it cannot read
            return ProbeAnswer(Vote.UNKNOWN, shown(str(exc), 160), time.monotonic() - started)
        answer = read_probe_output(result.stdout, self.timeout_s)
        return ProbeAnswer(answer.vote, answer.detail, time.monotonic() - started)

    async def close(self) -> None:
        return None


def build_probes(plan: Plan, manager: MirrorMakerManager, via: dict[str, str] | None = None) -> list[Probe]:
    """One probe per vantage point of the plan's policy, in its order."""
    from kdrtui.domain.plan_automation import LOCAL_VANTAGE

    policy = plan.automation
    nodes = {node.name: node for node in plan.edge_nodes}
    primary = plan.primary_alias
    probes: list[Probe] = []
    for name in policy.vantage_points:
        if name == LOCAL_VANTAGE:
            through = (via or {}).get(primary)
            cluster = plan.cluster(primary)
            if through:
                security = (
                    cluster.security if cluster.security is not None and cluster.security.secured else None
                )
                probes.append(LocalProbe(through, policy.probe_timeout_seconds, security))
            else:
                probes.append(LocalProbe(",".join(cluster.bootstrap_servers), policy.probe_timeout_seconds))
        else:
            probes.append(EdgeProbe(plan, nodes[name], manager, policy.probe_timeout_seconds))
    return probes
