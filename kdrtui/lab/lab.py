"""The two-cluster rehearsal lab: ``primary`` (eastus) and ``dr`` (westus2), its state and its plan.

Beside the clusters runs one SSH edge node for ``dr`` (``dr-edge-1``, see :mod:`kdrtui.lab.edge`),
where MirrorMaker is deployed and run over SSH exactly as on an HDInsight edge node.

``Lab.up()`` is idempotent: running clusters are reused, stale pid files are cleaned, and only what
is down is started (both JVMs in parallel). The ports and Kafka version a lab was brought up with are
kept in ``<lab>/lab.json`` so later commands (and other processes) find the same clusters, and the
DR plan for the lab is written to ``<lab>/plan.toml``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from kdrtui import settings
from kdrtui.lab import jars, lab_edges, lab_topology
from kdrtui.lab.acls import grant_lab_acls
from kdrtui.lab.cluster import ClusterError, ClusterSpec, ClusterStatus, LabCluster
from kdrtui.lab.edge import DEFAULT_EDGE_PORT, EDGE_PORT_ENV, EdgeStatus, LabEdgeNode
from kdrtui.lab.lab_plan import ALIASES, BROKER_COUNTS, DEFAULT_PORTS, DR, PRIMARY, SITES, render_plan
from kdrtui.lab.lab_processes import (
    READY_TIMEOUT_S,
    LabError,
    Report,
    clusters_to_start,
    start_clusters,
    start_edge,
    stop_clusters,
    stop_edge_server,
    stop_mirrormakers,
    warn_ephemeral_ports,
)
from kdrtui.lab.ports import check_port
from kdrtui.lab.prereqs import check_prerequisites
from kdrtui.lab.security import MODES as SECURITY_MODES
from kdrtui.lab.security import LabSecurity
from kdrtui.lab.traffic_process import TrafficProcess, TrafficStatus
from kdrtui.lab.wan import WanState, lab_wan


@dataclass(frozen=True)
class LabStatus:
    """A snapshot of the whole lab."""

    home: Path
    plan: Path
    kafka_version: str
    clusters: dict[str, ClusterStatus]
    traffic: TrafficStatus
    #: Every cluster's background generator (``traffic`` is primary's, kept for older readers).
    traffics: dict[str, TrafficStatus] = field(default_factory=dict)
    #: Aliases this ``up`` call started (empty when everything was reused, and for ``status``).
    started: tuple[str, ...] = field(default=())
    #: The lab's SSH edge nodes by name (``dr-edge-1``).
    edge_nodes: dict[str, EdgeStatus] = field(default_factory=dict)
    #: ``plaintext``, ``ssl`` (mutual TLS) or ``sasl_ssl`` (``kdrtui lab up --security``).
    security: str = "plaintext"
    #: ``cold-standby`` or ``active-active`` (``kdrtui lab up --topology``).
    topology: str = "cold-standby"
    #: The WAN between the regions (``lab up --wan-latency-ms``; ``enabled`` False without one).
    wan: WanState | None = None

    @property
    def all_up(self) -> bool:
        """Both clusters answer."""
        return all(c.up for c in self.clusters.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of ``kdrtui lab status --json``."""
        return {
            "home": str(self.home),
            "plan": str(self.plan),
            "kafka_version": self.kafka_version,
            "security": self.security,
            "clusters": {alias: c.to_dict() for alias, c in self.clusters.items()},
            "edge_nodes": {name: e.to_dict() for name, e in self.edge_nodes.items()},
            "traffic": self.traffic.to_dict(),
            "traffics": {alias: t.to_dict() for alias, t in self.traffics.items()},
            "topology": self.topology,
            "wan": self.wan.to_dict() if self.wan is not None else None,
        }


class Lab:
    """The two-cluster lab living in ``home`` (default :func:`kdrtui.settings.lab_dir`).

    Ports and version not given here come from the lab's ``lab.json`` (what it was last brought up
    with), else the defaults: primary 19092/19093, dr 29092/29093, Kafka 3.9.1, the edge node on
    12222 (``KDRTUI_LAB_EDGE_PORT`` changes that default) with sshd if installed, else asyncssh.
    Constructing a Lab touches nothing on disk.
    """

    def __init__(
        self,
        home: Path | None = None,
        *,
        primary_port: int | None = None,
        dr_port: int | None = None,
        kafka_version: str | None = None,
        auto_create_topics: bool | None = None,
        edge_port: int | None = None,
        edge_backend: str | None = None,
        edge_kafka_version: str | None = None,
        security: str | None = None,
        brokers: int | None = None,
        edge_nodes: int | None = None,
        topology: str | None = None,
        wan: bool | None = None,
        wan_latency_ms: int | None = None,
        wan_bandwidth_kbps: int | None = None,
    ) -> None:
        self.home = Path(home) if home is not None else settings.lab_dir()
        saved = self._load_state()
        #: Brokers per cluster: 1, or 3 like HDInsight's worker nodes (``kdrtui lab up --brokers``).
        self.brokers = int(brokers or saved.get("brokers") or 1)
        if self.brokers not in BROKER_COUNTS:
            raise ValueError(f"--brokers must be 1 or 3, not {self.brokers}")
        mode = security or saved.get("security") or "plaintext"
        if mode not in SECURITY_MODES:
            raise ValueError(f"--security must be one of {', '.join(SECURITY_MODES)}, not {mode!r}")
        #: How clients reach the brokers: ``plaintext`` (the default), ``ssl`` (mutual TLS) or ``sasl_ssl``.
        self.security = LabSecurity(mode, self.home / "security")
        saved_ports = saved.get("ports", {})
        ports = {
            PRIMARY: primary_port or saved_ports.get(PRIMARY) or DEFAULT_PORTS[PRIMARY],
            DR: dr_port or saved_ports.get(DR) or DEFAULT_PORTS[DR],
        }
        span = 2 * self.brokers
        for port in ports.values():
            check_port(port)
            check_port(port + span - 1)
        if abs(ports[PRIMARY] - ports[DR]) < span:
            raise ValueError(
                f"primary and dr ports overlap: {ports[PRIMARY]} and {ports[DR]} (+{span - 1} each)"
            )
        self.kafka_version = kafka_version or saved.get("kafka_version") or jars.DEFAULT_KAFKA_VERSION
        jars.parse_version(self.kafka_version)
        #: The Kafka whose jars are the edge node's ``kafka_home`` (``--edge-kafka-version``; 3.2.0 makes it
        #: look like an HDInsight 5.1 edge node); default: the clusters' version.
        self.edge_kafka_version = edge_kafka_version or saved.get("edge_kafka_version") or self.kafka_version
        try:
            jars.parse_version(self.edge_kafka_version)
        except ValueError as exc:
            raise ValueError(f"--edge-kafka-version: {exc}") from None
        if auto_create_topics is None:
            auto_create_topics = bool(saved.get("auto_create_topics", False))
        self.auto_create_topics = auto_create_topics
        self._saved = saved
        self.specs = {
            alias: ClusterSpec(alias, SITES[alias]["region"], ports[alias], ports[alias] + 1, self.brokers)
            for alias in ALIASES
        }
        #: The WAN between the regions (``--wan-latency-ms``, remembered; see :mod:`kdrtui.lab.wan`).
        self.wan = lab_wan(self.home, self.specs, saved, (wan, wan_latency_ms, wan_bandwidth_kbps))
        self.specs = self.wan.attach(self.specs)
        self.clusters = {
            alias: LabCluster(
                spec, self.home / alias, auto_create_topics=auto_create_topics, security=self.security
            )
            for alias, spec in self.specs.items()
        }
        #: Each cluster's background traffic generator; :attr:`traffic` is primary's.
        self.traffics = {alias: TrafficProcess(self.home, alias) for alias in ALIASES}
        self.traffic = self.traffics[PRIMARY]
        saved_edge = saved.get("edge", {}) if isinstance(saved.get("edge"), dict) else {}
        env_port = os.environ.get(EDGE_PORT_ENV, "")
        port = (
            edge_port
            or saved_edge.get("port")
            or (int(env_port) if env_port.isdigit() else None)
            or DEFAULT_EDGE_PORT
        )
        check_port(port)
        if port in {p for spec in self.specs.values() for p in spec.ports}:
            raise ValueError(f"the edge node's port {port} is also a Kafka port")
        #: The SSH edge node of ``dr``.
        self.edge = LabEdgeNode(
            self.home / "edge",
            port=port,
            backend=edge_backend or saved_edge.get("backend"),
            kafka_libs=jars.distribution(self.edge_kafka_version).libs,
            cluster=DR,
        )
        #: Every edge node of ``dr`` (``--edge-nodes``, remembered): :attr:`edge` first, then dr-edge-2...
        count = lab_edges.edge_count(edge_nodes, saved_edge.get("count"))
        kafka_ports = {p for spec in self.specs.values() for p in spec.ports}
        self.edges = lab_edges.more_edges(self.edge, count, self.home, kafka_ports)
        #: ``cold-standby`` or ``active-active`` (``--topology``, remembered; see :mod:`.lab_topology`).
        self.topology = lab_topology.topology_of(topology, saved.get("topology"))
        extra, self._retired_edges = lab_topology.edges_for(self.topology, self.edge, self.home, kafka_ports)
        self.edges += extra  # active-active: primary-edge-1 after dr's

    # Paths and lookups ---------------------------------------------------------------------------

    @property
    def plan_path(self) -> Path:
        """The lab's DR plan (``settings.lab_plan_path()`` for the default lab)."""
        return self.home / "plan.toml"

    @property
    def state_path(self) -> Path:
        """``lab.json``: the ports, version and options the lab was last brought up with."""
        return self.home / "lab.json"

    def cluster(self, alias: str) -> LabCluster:
        """The cluster called ``alias`` (``primary`` or ``dr``)."""
        try:
            return self.clusters[alias]
        except KeyError:
            raise LabError(f"no lab cluster {alias!r}; the lab has {', '.join(ALIASES)}") from None

    def bootstrap(self, alias: str) -> str:
        """``127.0.0.1:<port>`` of ``alias``."""
        return self.cluster(alias).spec.bootstrap

    def pid(self, alias: str) -> int | None:
        """The broker JVM's pid of ``alias``, None if it is not running."""
        return self.cluster(alias).running_pid()

    def _load_state(self) -> dict[str, Any]:
        try:
            data = json.loads((self.home / "lab.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self) -> None:
        state = {
            "kafka_version": self.kafka_version,
            "auto_create_topics": self.auto_create_topics,
            "brokers": self.brokers,
            "ports": {alias: spec.port for alias, spec in self.specs.items()},
            "controller_ports": {alias: spec.controller_port for alias, spec in self.specs.items()},
            "regions": {alias: spec.region for alias, spec in self.specs.items()},
            "edge": {
                "port": self.edge.port,
                "backend": self.edge.backend,
                "count": sum(e.cluster == DR for e in self.edges),
            },
            "edge_kafka_version": self.edge_kafka_version,
            "security": self.security.mode,
            "topology": self.topology,
            "wan": self.wan.to_saved(),
        }
        tmp = self.state_path.with_name("lab.json.tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.state_path)

    # Plan ----------------------------------------------------------------------------------------

    def render_plan(self) -> dict[str, Any]:
        """The lab's DR plan as data (see :func:`render_plan`), with the edge nodes and the topology."""
        dr_edges = [e for e in self.edges if e.cluster == DR]
        entries = lab_edges.with_rest_ports([self._edge_plan_entry(e) for e in dr_edges], dr_edges)
        entries += [self._edge_plan_entry(e) for e in self.edges if e.cluster != DR]
        plan = render_plan(self.specs, self.kafka_version, entries, self.security, brokers=self.brokers)
        return self.wan.with_remote_bootstrap(lab_topology.apply_topology(plan, self.topology))

    def _edge_plan_entry(self, edge: LabEdgeNode) -> dict[str, Any]:
        from kdrtui.domain.plan import EdgeNode

        entry = edge.plan_entry()
        if "work_dir" in EdgeNode.model_fields:
            entry["work_dir"] = str(edge.work_dir.resolve())
        return entry

    def write_plan(self) -> Path:
        """Write the DR plan as TOML to :attr:`plan_path` and return the path."""
        self.home.mkdir(parents=True, exist_ok=True)
        text = (
            "# The kdrtui lab's DR plan, written by `kdrtui lab up`. Rewritten on every up (an [automation]\n"
            "# table added to rehearse the failover policy is kept).\n"
        )
        plan = self.render_plan()
        kept = self._kept_automation()
        if kept is not None:
            plan["automation"] = kept
        text += tomli_w.dumps(plan)
        tmp = self.plan_path.with_name(self.plan_path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.plan_path)
        return self.plan_path

    def _kept_automation(self) -> dict[str, Any] | None:
        """The ``[automation]`` table of the plan file ``up`` rewrites, when it has one that reads as a
        table (the one thing a person adds to the lab's plan: the failover policy to rehearse)."""
        try:
            found = tomllib.loads(self.plan_path.read_text(encoding="utf-8")).get("automation")
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    # Lifecycle -----------------------------------------------------------------------------------

    def _check_running_matches(self) -> None:
        saved_mode = self._saved.get("security") or "plaintext"
        formatted = [alias for alias, c in self.clusters.items() if c.is_formatted()]
        saved_brokers = int(self._saved.get("brokers") or 1)
        if saved_brokers != self.brokers and formatted:
            # Its storage was formatted for another controller quorum.
            raise LabError(
                f"the lab was set up with --brokers {saved_brokers}; run `kdrtui lab down --purge` first "
                f"to change it to {self.brokers}"
            )
        if saved_mode != self.security.mode and formatted:
            # The storage holds the SCRAM users it was formatted with, the brokers their listeners.
            raise LabError(
                f"the lab was set up with --security {saved_mode}; run `kdrtui lab down --purge` first "
                f"to change it to {self.security.mode}"
            )
        # A cluster running on other ports than asked for would be "reused" while clients look for it
        # elsewhere: refuse rather than silently use the wrong ports.
        saved_version = self._saved.get("kafka_version")
        if saved_version and saved_version != self.kafka_version:
            up = [alias for alias, c in self.clusters.items() if c.running_pid() is not None]
            if up:
                raise LabError(
                    f"{' and '.join(up)} run(s) Kafka {saved_version}, not {self.kafka_version}; "
                    "run `kdrtui lab down` first to change versions"
                )
        saved_ports = self._saved.get("ports", {})
        for alias, cluster in self.clusters.items():
            old = saved_ports.get(alias)
            if old is not None and old != cluster.spec.port:
                running = LabCluster(
                    ClusterSpec(alias, cluster.spec.region, old, old + 1, cluster.spec.brokers), cluster.home
                ).running_pid()
                if running is not None:
                    raise LabError(
                        f"{alias} is running on port {old} (pid {running}), not {cluster.spec.port}; "
                        "run `kdrtui lab down` first to change ports"
                    )

    def up(self, *, timeout: float = READY_TIMEOUT_S, report: Report | None = None) -> LabStatus:
        """Start whatever is not running, wait until both clusters and the edge node answer, write the plan.

        Raises:
            PrerequisiteError: Java 17+ (or Maven, when the jars are not cached) is missing.
            FetchError: the Kafka jars could not be fetched.
            LabError: a port is taken, or a broker or the edge node did not start (with its log).
        """
        say = report or (lambda _msg: None)
        self._check_running_matches()
        self.wan.prepare(self._saved, any(c.running_pid() is not None for c in self.clusters.values()))
        self.home.mkdir(parents=True, exist_ok=True)
        to_start, notes = clusters_to_start(self.clusters, say)
        if to_start:
            warn_ephemeral_ports(to_start, say)
            check_prerequisites(need_mvn=not jars.is_fetched(self.kafka_version))
            fetched = jars.fetch(self.kafka_version, report=say)
            dist = fetched.distribution
            self.security.ensure(list(self.clusters))
            # Recorded before starting, so `down` finds a half-started lab's ports too.
            self._save_state()
            notes |= start_clusters(to_start, dist, self.kafka_version, timeout, say)

        if self.security.mode != "plaintext":
            for alias, cluster in self.clusters.items():
                try:
                    grant_lab_acls(cluster.admin_config())
                except RuntimeError as exc:
                    raise LabError(f"{alias}: {exc}") from exc
        lab_topology.retire(self._retired_edges, say)  # primary-edge-1 of a lab back to cold standby
        jars.fetch(self.edge_kafka_version, report=say)  # the edge node's kafka_home; instant when cached
        for edge in self.edges:
            edge.link_kafka_libs()  # a running node too: a changed --edge-kafka-version applies now
            notes[edge.name] = start_edge(edge, self._save_state, say)
        notes["wan"] = self.wan.start(say)
        self._save_state()
        self._saved = self._load_state()
        self.write_plan()
        return dataclasses.replace(self.status(notes=notes), started=tuple(c.alias for c in to_start))

    def down(self, purge: bool = False, *, report: Report | None = None) -> None:
        """Stop the traffic generator and both brokers (SIGTERM, then SIGKILL after 20 s).

        ``purge`` also deletes the clusters' data, logs and configs, the plan and ``lab.json`` (only
        files the lab created: the lab directory itself may be shared).
        """
        say = report or (lambda _msg: None)
        for alias, traffic in self.traffics.items():
            if (pid := traffic.stop()) is not None:
                say(f"traffic on {alias}: stopped (pid {pid})")
        for edge in self.edges:
            stop_mirrormakers(edge, say)
        lab_topology.retire(self._retired_edges, say)
        stop_clusters(self.clusters, say)
        for edge in self.edges:
            stop_edge_server(edge, say)
        self.wan.stop(say)
        if purge:
            self.wan.purge()
            for cluster in self.clusters.values():
                shutil.rmtree(cluster.home, ignore_errors=True)
            for edge in (*self.edges, *self._retired_edges):
                shutil.rmtree(edge.home, ignore_errors=True)
            shutil.rmtree(self.security.home, ignore_errors=True)
            for path in (
                self.plan_path,
                self.state_path,
                *(path for traffic in self.traffics.values() for path in traffic.files),
            ):
                path.unlink(missing_ok=True)
            say(f"purged the lab's data in {self.home}")

    def kill_broker(self, alias: str, node_id: int) -> int | None:
        """Crash one broker of ``alias`` (SIGKILL its JVM; data kept; ``restore()`` restarts it). Returns
        its pid, None if it was not running.

        Raises:
            LabError: no such cluster or broker.
        """
        try:
            return self.cluster(alias).kill(node_id)
        except ClusterError as exc:
            raise LabError(str(exc)) from None

    def kill(self, alias: str) -> int | None:
        """Crash ``alias``: SIGKILL its broker JVMs (data kept; ``up()`` restarts them). Returns the
        (first) pid.

        ``alias`` may also be the edge node's name: its SSH server is killed (``up()`` restarts it).
        """
        for edge in self.edges:
            if alias == edge.name:
                return edge.kill()
        return self.cluster(alias).kill()

    # Faults --------------------------------------------------------------------------------------

    def require_set_up(self) -> None:
        """Raise :class:`LabError` unless ``up()`` has run here (``lab.json`` exists): faults need a lab."""
        if not self.state_path.exists():
            raise LabError(f"there is no lab in {self.home} yet; start the lab with `kdrtui lab up`")

    def stop_edge(self) -> tuple[int, bool] | None:
        """Stop the edge node's SSH server, so SSH to it is refused; ``restore()`` brings it back.

        MirrorMaker keeps running: its supervisor runs in a session of its own (``setsid``), outside
        the server's process tree. Returns ``(pid, clean)`` like :meth:`LabEdgeNode.stop`, None if the
        node was not running.
        """
        self.require_set_up()
        return self.edge.stop()

    def missing(self) -> tuple[str, ...]:
        """What is not running: cluster aliases, then the edge node's name."""
        down = [alias for alias, cluster in self.clusters.items() if cluster.down_brokers()]
        down += [edge.name for edge in self.edges if edge.running() is None]
        return (*down, *self.wan.missing())

    def restore(self, *, timeout: float = READY_TIMEOUT_S, report: Report | None = None) -> tuple[str, ...]:
        """Bring back whatever is down (clusters, the edge node) as ``up()`` does; return what it started.

        Returns an empty tuple, and changes nothing, when everything runs.
        """
        self.require_set_up()
        healed = ("wan partition",) if self.wan.restore() else ()  # a partitioned WAN heals
        if not (missing := self.missing()):
            return healed
        status = self.up(timeout=timeout, report=report)
        edges = [e.name for e in self.edges if status.edge_nodes[e.name].notes != ("reused",)]
        return healed + status.started + tuple(edges) + tuple(m for m in missing if m == "wan")

    def status(self, *, topics: bool = True, notes: dict[str, tuple[str, ...]] | None = None) -> LabStatus:
        """A snapshot of both clusters and the traffic generator; changes nothing.

        ``topics`` asks each running broker for its topic count (both in parallel, a few seconds at
        most when a broker hangs).
        """
        notes = notes or {}
        with ThreadPoolExecutor(max_workers=len(self.clusters)) as pool:
            futures = {
                alias: pool.submit(c.status, topics=topics, notes=notes.get(alias, ()))
                for alias, c in self.clusters.items()
            }
            clusters = {alias: f.result() for alias, f in futures.items()}
        return LabStatus(
            home=self.home,
            plan=self.plan_path,
            kafka_version=self.kafka_version,
            clusters=clusters,
            traffic=self.traffic.status(),
            traffics={alias: t.status() for alias, t in self.traffics.items()},
            edge_nodes={e.name: e.status(notes=notes.get(e.name, ())) for e in self.edges},
            security=self.security.mode,
            topology=self.topology,
            wan=self.wan.state(),
        )
