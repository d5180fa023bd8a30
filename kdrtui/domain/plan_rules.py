"""Pass 3 of reading a plan: the checks that pydantic's one-key-at-a-time validation cannot make.

:func:`cross_key_problems` reads the raw TOML data (see :func:`kdrtui.domain.plan.parse_plan`), after
pass 1 (:func:`kdrtui.domain.plan_refused.strip_refused`) removed what no plan may hold, and checks
what involves several keys: flows name real clusters, VNets don't overlap, the topology has the flows it
needs (and none it must not have), the automated failover policy probes from the DR side (its rules:
:mod:`kdrtui.domain.plan_automation_rules`)... It reads the data defensively and skips values of the wrong
type, which pydantic reports, so it still runs when the rest of the file has problems. Its problems are
(key path, message) pairs, which the loader turns into lines.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from kdrtui.domain import azure_names, dns_names
from kdrtui.domain.kafka_release import parse_release
from kdrtui.domain.plan_automation_rules import automation_problems
from kdrtui.domain.plan_failover import Objectives, SwitchMethod
from kdrtui.domain.plan_flows import MirrorMakerKind, Naming
from kdrtui.domain.plan_model import Topology
from kdrtui.domain.plan_problems import Found
from kdrtui.domain.plan_sites import NETWORK_KEYS
from kdrtui.domain.safe_text import quoted, shown
from kdrtui.domain.security import ClusterSecurity, security_problems
from kdrtui.domain.toml_lines import KeyPath, format_path

# --- rules across keys ------------------------------------------------------------------------------


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _int(table: dict[str, Any], key: str, default: int) -> int | None:
    value = table.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _network(table: dict[str, Any], key: str) -> ipaddress.IPv4Network | None:
    text = _text(table, key)
    if text is None or azure_names.ipv4_cidr(text) is not None:
        return None
    return ipaddress.IPv4Network(text)


def _valid(table: dict[str, Any], key: str, check: Callable[[str], str | None]) -> str | None:
    value = _text(table, key)
    return value if value is not None and check(value) is None else None


def _vnet_id(cluster: dict[str, Any]) -> tuple[str, str] | None:
    """(resource group, VNet name), case-folded as Azure compares them; None unless both are set."""
    group, vnet = _text(cluster, "resource_group"), _text(cluster, "vnet_name")
    return (group.lower(), vnet.lower()) if group and vnet else None


_LIST_CHARS = 200
"""How much of a list of aliases a message shows."""

_HOT_STANDBY_FLOWS = (
    "hot standby uses dual ingest (applications write to both clusters), so nothing is mirrored; "
    'remove the [[flows]] or choose topology "cold-standby"'
)


class _Rules:
    """Rules that relate several keys, read defensively from the (secret-free) TOML data.

    Every rule skips values that are missing or of the wrong type: pydantic reports those.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.found: Found = []
        self.data = data
        self.info = _table(data.get("plan"))
        self.clusters = {alias: _table(value) for alias, value in _table(data.get("clusters")).items()}
        self.primary: str | None = None
        self.secondary: str | None = None

    @property
    def lab_emulator(self) -> bool:
        """The plan provisions into the lab's Azure emulator (``[azure] credential = "lab"``)."""
        return _table(self.data.get("azure")).get("credential") == "lab"

    def add(self, path: KeyPath, message: str) -> None:
        self.found.append((path, message))

    def unknown(self, alias: str) -> str:
        known = shown(", ".join(sorted(self.clusters)), _LIST_CHARS) or "(none)"
        return f"unknown cluster {quoted(alias)}; clusters are: {known}"

    def run(self) -> Found:
        if isinstance(self.data.get("clusters", {}), dict) and len(self.clusters) < 2:
            count = len(self.clusters)
            self.add(("clusters",), f"a plan needs two clusters, a primary and a secondary; found {count}")
        self.roles()
        aliases = list(self.clusters)
        for n, alias in enumerate(aliases):
            if (message := azure_names.cluster_alias(alias)) is not None:
                self.add(("clusters", alias), message)
            self.cluster(alias, self.clusters[alias])
            for earlier in aliases[:n]:
                self.cluster_pair(earlier, alias)
        self.flows()
        self.edge_nodes()
        self.objectives_and_switch()
        self.automation()
        return self.found

    def roles(self) -> None:
        """Resolve the primary and secondary aliases (None when they cannot be)."""
        named = {role: _text(self.info, role) for role in ("primary", "secondary")}
        for role, alias in named.items():
            if alias is not None and alias not in self.clusters:
                self.add(("plan", role), self.unknown(alias))
        primary = named["primary"] if named["primary"] is not None else next(iter(self.clusters), None)
        primary = primary if primary in self.clusters else None
        secondary = named["secondary"]
        if secondary is None:
            secondary = next((alias for alias in self.clusters if alias != primary), None)
        secondary = secondary if secondary in self.clusters else None
        if primary is not None and primary == secondary:
            self.add(
                ("plan", "secondary"),
                f"the secondary cluster must differ from the primary ({quoted(primary)})",
            )
            secondary = None
        self.primary, self.secondary = primary, secondary
        if primary is None or secondary is None:
            return
        region = _valid(self.clusters[primary], "region", azure_names.azure_region)
        if region is not None and region == _text(self.clusters[secondary], "region"):
            self.add(
                ("clusters", secondary, "region"),
                f"the secondary cluster is in {region} like the primary; choose another region",
            )

    def cluster(self, alias: str, cluster: dict[str, Any]) -> None:
        if isinstance(cluster.get("hdinsight"), dict):
            for key in NETWORK_KEYS:
                if _text(cluster, key) is None:
                    self.add(
                        ("clusters", alias, key),
                        f"required when [{format_path(('clusters', alias, 'hdinsight'))}] is present: "
                        "kdrtui provisions the cluster into it",
                    )
            # The lab emulator's clusters are single lab brokers of the lab's Kafka version.
            if not self.lab_emulator:
                self.hdinsight_kafka(alias, cluster)
        self.security(alias, cluster.get("security"))
        vnet, subnet = _network(cluster, "vnet_cidr"), _network(cluster, "subnet_cidr")
        if vnet is not None and subnet is not None and not subnet.subnet_of(vnet):
            self.add(
                ("clusters", alias, "subnet_cidr"), f"{subnet} is not inside the VNet's address space {vnet}"
            )

    def security(self, alias: str, table: object) -> None:
        """The keys of a ``[security]`` table that only work together (a wrong single key: pydantic)."""
        if not isinstance(table, dict):
            return
        try:
            security = ClusterSecurity.model_validate(table)
        except ValidationError:
            return
        for key, message in security_problems(security):
            self.add(("clusters", alias, "security", key), message)

    def hdinsight_kafka(self, alias: str, cluster: dict[str, Any]) -> None:
        """HDInsight 5.1 runs Kafka 3.2, and MirrorMaker's topics there need 3 replicas."""
        version = cluster.get("kafka_version", "3.2")
        if isinstance(version, str) and version not in ("3.2", "3.2.0"):
            self.add(
                ("clusters", alias, "kafka_version"),
                f'HDInsight 5.1 runs Kafka 3.2, not {shown(version)}; set kafka_version = "3.2" or remove it',
            )
        self.hdinsight_replication(alias, cluster)

    def hdinsight_replication(self, alias: str, cluster: dict[str, Any]) -> None:
        """MirrorMaker's topics on an HDInsight cluster need 3 replicas and no more than its brokers."""
        factor = _int(cluster, "replication_factor", 3)
        if factor is None:
            return
        if factor < 3:
            self.add(
                ("clusters", alias, "replication_factor"),
                f"{factor} is too few for HDInsight: its brokers require min.insync.replicas = 2, so "
                "MirrorMaker's topics need 3 replicas to survive a broker outage; use 3 or remove the key",
            )
            return
        workers = _int(_table(cluster["hdinsight"]), "worker_count", 3)
        # Fewer than 3 workers is pydantic's to report; one problem about the count is enough.
        if workers is not None and workers >= 3 and factor > workers:
            self.add(
                ("clusters", alias, "replication_factor"),
                f"{factor} replicas need {factor} brokers, but hdinsight.worker_count is {workers}",
            )

    def cluster_pair(self, a: str, b: str) -> None:
        """Rules between two clusters; problems go on the later one in the file, ``b``."""
        first, second = self.clusters[a], self.clusters[b]
        same_vnet = _vnet_id(first) is not None and _vnet_id(first) == _vnet_id(second)
        region_a, region_b = _text(first, "region"), _text(second, "region")
        if same_vnet and region_a and region_b and region_a != region_b:
            self.add(
                ("clusters", b, "vnet_name"),
                f"{quoted(second['vnet_name'])} in resource group {quoted(second['resource_group'])} is also "
                f"the VNet of cluster {quoted(a)} in {shown(region_a)}; a VNet lives in one region",
            )
        hdi_a, hdi_b = _table(first.get("hdinsight")), _table(second.get("hdinsight"))
        name_a = _valid(hdi_a, "name", azure_names.hdinsight_cluster_name)
        name_b = _valid(hdi_b, "name", azure_names.hdinsight_cluster_name)
        if name_a and name_b and name_a.lower() == name_b.lower():
            self.add(
                ("clusters", b, "hdinsight", "name"),
                f"'{name_b}' is already the name of cluster {quoted(a)}; HDInsight names are globally unique",
            )
        elif name_a and name_b and same_vnet:
            prefix = azure_names.node_name_prefix(name_b)
            if prefix == azure_names.node_name_prefix(name_a):
                self.add(
                    ("clusters", b, "hdinsight", "name"),
                    f"'{name_b}' starts with the same six characters ('{prefix}') as '{name_a}' of cluster "
                    f"{quoted(a)} in the same VNet; their node names (wn0-{prefix}...) would clash",
                )
        storage_a = _valid(hdi_a, "storage_account", azure_names.storage_account_name)
        storage_b = _valid(hdi_b, "storage_account", azure_names.storage_account_name)
        if storage_a and storage_a == storage_b:
            self.add(
                ("clusters", b, "hdinsight", "storage_account"),
                f"'{storage_b}' is already the storage account of cluster {quoted(a)}; each cluster needs "
                "its own",
            )
        net_a, net_b = _network(first, "vnet_cidr"), _network(second, "vnet_cidr")
        if net_a is not None and net_b is not None and not same_vnet and net_a.overlaps(net_b):
            self.add(
                ("clusters", b, "vnet_cidr"),
                f"{net_b} overlaps {net_a} of cluster {quoted(a)}; peered VNets need distinct address spaces",
            )

    def flows(self) -> None:
        raw = self.data.get("flows")
        flows = [_table(flow) for flow in raw] if isinstance(raw, list) else []
        pairs: dict[tuple[str, str], int] = {}
        namings: dict[int, object] = {}
        all_sound = True
        for n, flow in enumerate(flows):
            source, target = _text(flow, "source"), _text(flow, "target")
            for key, alias in (("source", source), ("target", target)):
                if alias is None or alias not in self.clusters:
                    all_sound = False
                if alias is not None and alias not in self.clusters:
                    self.add(("flows", n, key), self.unknown(alias))
            self.schedule(n, flow)
            kind = flow.get("mirrormaker", MirrorMakerKind.MM2.value)
            default = Naming.IDENTITY if kind == MirrorMakerKind.MM1 else Naming.PREFIXED
            namings[n] = naming = flow.get("naming", default.value)
            if kind == MirrorMakerKind.MM1 and naming == Naming.PREFIXED:
                self.add(
                    ("flows", n, "naming"),
                    'MirrorMaker 1 keeps topic names: use naming = "identity" with mirrormaker = "mm1"',
                )
            if source is None or target is None:
                continue
            if source == target:
                all_sound = False
                self.add(
                    ("flows", n, "target"),
                    f"the target is the source {quoted(source)}; a flow mirrors one cluster into another",
                )
            elif (source, target) in pairs:
                first = pairs[(source, target)]
                self.add(
                    ("flows", n),
                    f"repeats flows[{first}] ({shown(source)} -> {shown(target)}); put all of its topics in "
                    "one flow",
                )
            else:
                pairs[(source, target)] = n
        self.topology(bool(flows), pairs, namings, all_sound)

    def schedule(self, n: int, flow: dict[str, Any]) -> None:
        """Only a cold standby runs MirrorMaker in batches; the others mirror all the time (or not at all)."""
        topology = self.info.get("topology")
        if "schedule" not in flow or topology == Topology.COLD_STANDBY:
            return
        if topology in (Topology.HOT_STANDBY, Topology.ACTIVE_ACTIVE):
            self.add(
                ("flows", n, "schedule"),
                f'topology "{topology}" mirrors all the time (or not at all); only a cold-standby plan '
                "runs MirrorMaker in scheduled batches: remove [flows.schedule] or choose topology "
                '"cold-standby"',
            )

    def topology(
        self, any_flow: bool, pairs: dict[tuple[str, str], int], namings: dict[int, object], all_sound: bool
    ) -> None:
        """Hot standby mirrors nothing, cold standby mirrors primary -> secondary, active-active both ways."""
        topology = self.info.get("topology")
        primary, secondary = self.primary, self.secondary
        if topology == Topology.HOT_STANDBY:
            if any_flow:
                self.add(("flows",), _HOT_STANDBY_FLOWS)
            return
        if topology == Topology.ACTIVE_ACTIVE:
            for n, naming in namings.items():
                if naming == Naming.IDENTITY:
                    self.add(
                        ("flows", n, "naming"),
                        'active-active needs naming = "prefixed" on every flow: '
                        "identity naming cannot stop records looping between the clusters",
                    )
            if primary and secondary and all_sound:
                ways = ((primary, secondary), (secondary, primary))
                missing = ", ".join(f"{shown(x)} -> {shown(y)}" for x, y in ways if (x, y) not in pairs)
                if missing:
                    self.add(
                        ("flows",),
                        f"active-active needs flows in both directions between {quoted(primary)} and "
                        f"{quoted(secondary)}; missing: {missing}",
                    )
            return
        for (source, target), n in pairs.items():
            back = pairs.get((target, source))
            if back is not None and back < n and Naming.IDENTITY in (namings[n], namings[back]):
                self.add(
                    ("flows", n, "naming"),
                    f"identity naming with flows both ways between {quoted(target)} and {quoted(source)} "
                    'loops records forever; use naming = "prefixed" on both flows',
                )
        if topology != Topology.COLD_STANDBY:
            return
        if not any_flow:
            between = f" from {quoted(primary)} to {quoted(secondary)}" if primary and secondary else ""
            self.add(("flows",), f"a {topology} plan needs at least one flow; add a [[flows]] table{between}")
        elif primary and secondary and all_sound and (primary, secondary) not in pairs:
            self.add(
                ("flows",),
                f"no flow mirrors the primary {quoted(primary)} into the secondary {quoted(secondary)}",
            )

    def edge_nodes(self) -> None:
        raw = self.data.get("edge_nodes")
        names: dict[str, int] = {}
        listeners: dict[tuple[str | None, str | None, int | None], int] = {}
        for n, node in enumerate(raw if isinstance(raw, list) else []):
            node = _table(node)
            alias, name = _text(node, "cluster"), _text(node, "name")
            if alias is not None and alias not in self.clusters:
                self.add(("edge_nodes", n, "cluster"), self.unknown(alias))
            if name is not None and name in names:
                self.add(
                    ("edge_nodes", n, "name"),
                    f"{quoted(name)} is already the name of edge_nodes[{names[name]}]",
                )
            elif name is not None:
                names[name] = n
            # Several nodes of one cluster run one MirrorMaker 2 cluster, each with its own listener.
            listener = (alias, _text(node, "host"), _int(node, "mirrormaker_rest_port", 8083))
            if listener in listeners and None not in listener:
                self.add(
                    ("edge_nodes", n, "mirrormaker_rest_port"),
                    f"{listener[2]} on {listener[1]} is already the MirrorMaker REST port of "
                    f"edge_nodes[{listeners[listener]}]: give each node of {quoted(alias or '')} its own",
                )
            listeners.setdefault(listener, n)
        self.clustered_releases(raw if isinstance(raw, list) else [])

    def clustered_releases(self, nodes: list[object]) -> None:
        """Several edge nodes of one flow's target run one MirrorMaker 2 (KIP-710): 3.5+ on each."""
        flows = self.data.get("flows")
        targets = {
            _text(flow, "target")
            for flow in map(_table, flows if isinstance(flows, list) else [])
            if flow.get("mirrormaker", MirrorMakerKind.MM2.value) == MirrorMakerKind.MM2.value
        }
        tables = [_table(node) for node in nodes]
        count = {alias: [_text(t, "cluster") for t in tables].count(alias) for alias in targets}
        for n, node in enumerate(tables):
            version = _text(node, "mirrormaker_kafka")
            release = parse_release(version) if version else None
            if count.get(_text(node, "cluster"), 0) > 1 and release is not None and release < (3, 5, 0):
                self.add(
                    ("edge_nodes", n, "mirrormaker_kafka"),
                    f"{quoted(version or '')}: the {count[_text(node, 'cluster')]} edge nodes of "
                    f"{quoted(_text(node, 'cluster') or '')} run one MirrorMaker 2, which needs Kafka 3.5+ "
                    "on each (KIP-710's internal REST)",
                )

    def objectives_and_switch(self) -> None:
        objectives = _table(self.data.get("objectives"))
        defaults = Objectives.model_fields
        warn = _int(objectives, "lag_warn_seconds", defaults["lag_warn_seconds"].default)
        crit = _int(objectives, "lag_crit_seconds", defaults["lag_crit_seconds"].default)
        if warn is not None and crit is not None and warn >= crit:
            self.add(
                ("objectives", "lag_warn_seconds"), f"{warn} must be less than lag_crit_seconds ({crit})"
            )
        switch = _table(self.data.get("switch"))
        if switch.get("method") == SwitchMethod.COMMAND and _text(switch, "command") is None:
            self.add(
                ("switch", "command"),
                'required when method = "command": the shell command that points clients elsewhere',
            )
        if switch.get("method") == SwitchMethod.DNS:
            self.dns_switch(switch)

    def dns_switch(self, switch: dict[str, Any]) -> None:
        """``method = "dns"``: a zone, and a resource group for it (the failover pre-flight refuses a plan
        without the ``[azure]`` table that says how to reach it)."""
        zone = _text(switch, "zone")
        if zone is None:
            self.add(
                ("switch", "zone"),
                'required when method = "dns": the Azure Private DNS zone whose record names the active '
                "cluster's brokers (e.g. kafka.contoso.internal)",
            )
        elif isinstance(switch.get("record", "bootstrap"), str):
            problem = dns_names.fqdn_problem(str(switch.get("record", "bootstrap")), zone)
            if problem is not None:
                self.add(("switch", "record"), problem)
        clusters = _table(self.data.get("clusters"))
        for alias in _table(switch.get("addresses")):
            if alias not in clusters:
                self.add(("switch", "addresses", alias), f"no cluster {quoted(alias)} in the plan")
        groups = [_text(_table(c), "resource_group") for c in _table(self.data.get("clusters")).values()]
        if _text(switch, "resource_group") is None and not any(groups):
            self.add(
                ("switch", "resource_group"),
                'required when method = "dns" and no cluster names a resource_group: where the zone lives',
            )

    def automation(self) -> None:
        """The ``[automation]`` table (:mod:`kdrtui.domain.plan_automation_rules`)."""
        self.found += automation_problems(self.data, list(self.clusters), self.primary, self.secondary)


def cross_key_problems(data: dict[str, Any]) -> Found:
    """Check the rules that relate several keys of a parsed (secret-free) plan."""
    return _Rules(data).run()
