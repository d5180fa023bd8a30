"""The DR plan's model: its problems, the rules of single keys and the pydantic models of every table.

Reading a plan file (and the rules that involve several keys) is :mod:`kdrtui.domain.plan`'s, which also
re-exports every name here.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from kdrtui.domain import azure_names
from kdrtui.domain.safe_text import quoted, shown
from kdrtui.domain.schedule import CronError, parse_cron, shortest_gap_minutes
from kdrtui.domain.toml_lines import KeyPath

# --- problems ---------------------------------------------------------------------------------------


Found = list[tuple[KeyPath, str]]
"""Problems before they get a file and a line: (key path, message)."""

# The most of each part of a problem that is printed: generous, as the messages cut what they quote.
_PATH_CHARS = 4096
_FIELD_CHARS = 400
_MESSAGE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """One thing wrong with a plan file, located by line and dotted field name."""

    path: str
    """The plan file as the user named it."""
    line: int
    """1-based line of the offending key (or of its table header when the key is missing); 0 = no line."""
    field: str
    """Dotted key path with list indices, e.g. ``clusters.dr.hdinsight.name`` or ``flows[0].target``."""
    message: str
    """What is wrong and, where possible, how to fix it."""

    def __str__(self) -> str:
        # The last safety net: whatever a message embeds, the problem prints as one line.
        return f"{shown(self.path, _PATH_CHARS)}:{self.line}: {self.describe()}"

    def describe(self) -> str:
        """``field: message`` on one line, escaped and cut (what ``str()`` prints after the place)."""
        return f"{shown(self.field, _FIELD_CHARS)}: {shown(self.message, _MESSAGE_CHARS)}"


class PlanInvalid(Exception):
    """A plan file could not be used; :attr:`problems` lists every reason, sorted by line."""

    def __init__(self, path: str, problems: list[PlanProblem]) -> None:
        self.path = path
        self.problems = problems
        count = len(problems)
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{path}: {count} problem{'s' if count != 1 else ''}\n{lines}")


# --- field rules ------------------------------------------------------------------------------------


_RULE_CHARS = 400
"""How long a rule's message may get with the value it quotes cut (it may quote parts of it, too)."""


def _safe_message(value: str, message: str) -> str:
    """``message`` with each copy of ``value`` shown escaped and cut; cut itself past a readable length.

    The naming rules quote the value they refuse as it is (``'<value>' is not ...``); a plan's value is
    outside text, so this is where it is made safe to print.
    """
    if value and shown(value) != value:
        # "'<name>' is 65 characters; ... needs 3 to 59" gives the length already.
        size = f"{len(value)} characters" not in message
        message = message.replace(f"'{value}'", quoted(value, size=size)).replace(value, shown(value))
    return shown(message, _RULE_CHARS)


def _rule(check: Callable[[str], str | None]) -> AfterValidator:
    """Turn a naming rule (value -> message or None) into a pydantic validator."""

    def run(value: str) -> str:
        message = check(value)
        if message is not None:
            raise ValueError(_safe_message(value, message))
        return value

    return AfterValidator(run)


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _plan_name(value: str) -> str | None:
    if not 1 <= len(value) <= 64 or not value.strip():
        return f"'{value}' is {len(value)} characters; a plan name needs 1 to 64"
    return None


def _kafka_version(value: str) -> str | None:
    if re.fullmatch(r"\d+\.\d+(\.\d+)?", value):
        return None
    return f"'{value}' is not a Kafka version like 3.2"


def _hdinsight_version(value: str) -> str | None:
    if value == "5.1":
        return None
    return f"HDInsight '{value}' is not supported; kdrtui provisions HDInsight 5.1 (Kafka 3.2)"


def _remote_path(value: str) -> str | None:
    if value.startswith(("/", "~")):
        return None
    return f"'{value}' must be an absolute path on the edge node (the directory holding Kafka's libs/)"


def _work_dir(value: str) -> str | None:
    if any(ord(char) < 32 for char in value):
        return "must not contain control characters (a newline, a tab...)"
    if value.startswith("/") or value.startswith("~/"):
        return None
    return (
        f"'{value}' must be an absolute path on the edge node, or start with ~/ "
        "(the SSH user's home directory)"
    )


def _regex(value: str) -> str | None:
    if "," in value:
        # MirrorMaker reads its pattern lists (and MM1 its --include) split at commas.
        return (
            f"'{value}' contains a comma, which MirrorMaker reads as a list separator; topic names never "
            "contain one, so write the pattern without it (e.g. x{1,2} as (x|xx))"
        )
    try:
        with warnings.catch_warnings():
            # "Possible nested set" and friends: fine for Java's regex engine, noise on a terminal.
            warnings.simplefilter("ignore")
            re.compile(value)
    except (re.error, OverflowError) as exc:  # OverflowError: a repeat count like x{99999999999}
        return f"'{value}' is not a valid regular expression: {shown(str(exc))}"
    except RecursionError:  # Python's regex parser recurses once per nested group
        return f"'{value}' is not a usable regular expression: its groups are nested too deep"
    return None


Text = Annotated[str, _rule(_non_empty)]
Pattern = Annotated[str, _rule(_regex)]
NETWORK_KEYS = ("resource_group", "vnet_name", "vnet_cidr", "subnet_cidr")
"""A cluster's network keys: optional, but required when kdrtui provisions it on HDInsight."""


def _blank_to_none(value: object) -> object:
    """Optional keys written as ``""`` mean "not set"."""
    return None if isinstance(value, str) and not value.strip() else value


# --- the model --------------------------------------------------------------------------------------


class Topology(StrEnum):
    """How the two sites share the work."""

    HOT_STANDBY = "hot-standby"
    """Dual ingest: applications write to both clusters and both process; nothing is mirrored."""
    COLD_STANDBY = "cold-standby"
    """Applications write to the primary only; MirrorMaker copies it in batches to an idle secondary."""
    ACTIVE_ACTIVE = "active-active"
    """Both sites take writes and MirrorMaker mirrors each into the other (prefixed topic names only)."""


class Naming(StrEnum):
    """How mirrored topics are named on the target."""

    PREFIXED = "prefixed"
    """``DefaultReplicationPolicy``: ``orders`` on A becomes ``A.orders`` on B; prevents cycles."""
    IDENTITY = "identity"
    """``IdentityReplicationPolicy``: names are kept; one direction at a time only."""


class MirrorMakerKind(StrEnum):
    """Which MirrorMaker runs a flow."""

    MM2 = "mm2"
    """MirrorMaker 2 (Connect based): checkpoints, offset translation, heartbeats."""
    MM1 = "mm1"
    """Legacy MirrorMaker 1 (Kafka up to 3.9): a consumer/producer pair, names kept."""


class SwitchMethod(StrEnum):
    """How clients are moved to the other cluster during failover."""

    NONE = "none"
    """kdrtui does not move clients; the runbook tells the operator to."""
    COMMAND = "command"
    """Run ``switch.command`` (a shell command) on the operator's machine."""
    DNS = "dns"
    """Clients resolve bootstrap servers through DNS that the operator repoints."""


_MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class PlanInfo(BaseModel):
    """The ``[plan]`` table: the plan's name, topology and which cluster plays which role."""

    model_config = _MODEL_CONFIG

    name: Annotated[str, _rule(_plan_name)]
    """A short name for the plan, 1 to 64 characters (used in journals and titles)."""
    topology: Topology
    """hot-standby, cold-standby or active-active."""
    primary: str | None = None
    """Alias of the primary cluster; default: the first cluster in the file."""
    secondary: str | None = None
    """Alias of the secondary cluster; default: the first other cluster in the file."""


class HDInsightCluster(BaseModel):
    """How kdrtui provisions a cluster on Azure HDInsight (absent for clusters it does not provision)."""

    model_config = _MODEL_CONFIG

    name: Annotated[str, _rule(azure_names.hdinsight_cluster_name)]
    """HDInsight cluster name: 3-59 letters, digits and hyphens, globally unique."""
    cluster_version: Annotated[str, _rule(_hdinsight_version)] = "5.1"
    """HDInsight version; only 5.1 (Kafka 3.2) is supported."""
    worker_count: Annotated[StrictInt, Field(ge=3)] = 3
    """Number of worker nodes (Kafka brokers), at least 3."""
    worker_vm_size: Annotated[str, _rule(azure_names.vm_size)] = "Standard_D4_v2"
    """VM size of the worker (broker) nodes."""
    head_vm_size: Annotated[str, _rule(azure_names.vm_size)] = "Standard_E4_v3"
    """VM size of the two head nodes."""
    zookeeper_vm_size: Annotated[str, _rule(azure_names.vm_size)] = "Standard_A4_v2"
    """VM size of the three ZooKeeper nodes."""
    disks_per_node: Annotated[StrictInt, Field(ge=1, le=16)] = 2
    """Managed data disks per worker node, 1 to 16."""
    storage_account: Annotated[str, _rule(azure_names.storage_account_name)]
    """The cluster's own storage account: 3-24 lowercase letters and digits."""
    ssh_user: Annotated[str, _rule(azure_names.ssh_user_name)] = "sshuser"
    """SSH user on the cluster's nodes; not a reserved name."""
    login_password_env: Annotated[str, _rule(azure_names.env_var_name)]
    """Name of the environment variable holding the cluster login (Ambari) password."""


class Cluster(BaseModel):
    """One Kafka cluster, at one site, known in the plan by its alias."""

    model_config = _MODEL_CONFIG

    region: Annotated[str, _rule(azure_names.azure_region)]
    """Azure region (programmatic name, e.g. eastus)."""
    resource_group: Annotated[str, _rule(azure_names.resource_group_name)] | None = None
    """Resource group holding the cluster, its VNet and storage."""
    vnet_name: Annotated[str, _rule(azure_names.vnet_name)] | None = None
    """Virtual network the cluster is placed in."""
    vnet_cidr: Annotated[str, _rule(azure_names.ipv4_cidr)] | None = None
    """Address space of the VNet; must not overlap a peered cluster's."""
    subnet_cidr: Annotated[str, _rule(azure_names.ipv4_cidr)] | None = None
    """Subnet of the cluster's nodes; inside vnet_cidr."""
    bootstrap_servers: list[Annotated[str, _rule(azure_names.host_port)]] = []
    """Broker addresses (host:port); empty until the cluster is provisioned."""
    kafka_version: Annotated[str, _rule(_kafka_version)] = "3.2"
    """Kafka version the brokers run."""
    replication_factor: Annotated[StrictInt, Field(ge=1, le=7)] = 3
    """Replication factor of the topics MirrorMaker creates on this cluster (mirrored topics and its
    internal topics), 1 to 7. HDInsight brokers require min.insync.replicas 2, so 3 there; 1 for a
    single-broker lab cluster."""
    hdinsight: HDInsightCluster | None = None
    """Provisioning settings, when kdrtui provisions this cluster on HDInsight."""

    @field_validator(*NETWORK_KEYS, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return _blank_to_none(value)

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split_bootstrap(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers as Kafka clients take them: comma-separated."""
        return ",".join(self.bootstrap_servers)


class EdgeNode(BaseModel):
    """A machine reached over SSH that runs MirrorMaker next to a cluster."""

    model_config = _MODEL_CONFIG

    name: Text
    """A name for the node, unique in the plan."""
    cluster: Text
    """Alias of the cluster the node belongs to (MirrorMaker runs near its target)."""
    host: Text
    """Host name or IP address to SSH to."""
    port: Annotated[StrictInt, Field(ge=1, le=65535)] = 22
    """SSH port."""
    user: Text
    """SSH user."""
    key_file: str | None = None
    """Private key file; the ssh-agent is used when absent."""
    known_hosts: str | None = None
    """known_hosts file pinning the node's host key."""
    jump_host: Annotated[str, _rule(azure_names.jump_host)] | None = None
    """Optional SSH jump host, user@host:port."""
    kafka_home: Annotated[str, _rule(_remote_path)]
    """Directory on the node where Kafka's libs/ are."""
    work_dir: Annotated[str, _rule(_work_dir)] = "~/.kdrtui"
    """Directory on the node for kdrtui's MirrorMaker files (``<work_dir>/mm/<deployment>``): an
    absolute path, or one starting with ``~/``."""

    @field_validator("key_file", "known_hosts", "jump_host", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return _blank_to_none(value)


def _cron(text: str) -> str | None:
    try:
        parse_cron(text)
    except CronError as exc:
        return str(exc)
    except ValueError:  # int() refuses a number of more than 4,300 digits
        return f"'{text}' holds a number far too long for a minute, hour, day or month"
    return None


class Schedule(BaseModel):
    """When MirrorMaker runs for a cold-standby flow: every N minutes for M minutes, or a cron expression."""

    model_config = _MODEL_CONFIG

    every_minutes: Annotated[StrictInt, Field(ge=1, le=10080)] | None = None
    """Start a batch every this many minutes."""
    run_minutes: Annotated[StrictInt, Field(ge=1, le=1440)] | None = None
    """How long each batch runs; less than every_minutes."""
    cron: Annotated[str, _rule(_cron)] | None = None
    """A 5-field cron expression for the start of each batch (instead of every_minutes)."""

    @model_validator(mode="after")
    def _one_way(self) -> Schedule:
        if self.cron is None and self.every_minutes is None:
            raise ValueError("give every_minutes (with run_minutes) or cron")
        if self.cron is not None and self.every_minutes is not None:
            raise ValueError("give every_minutes or cron, not both")
        if self.run_minutes is None:
            raise ValueError("run_minutes is required: how long each batch runs")
        if self.every_minutes is not None and self.run_minutes >= self.every_minutes:
            raise ValueError(
                f"run_minutes ({self.run_minutes}) must be less than every_minutes ({self.every_minutes})"
            )
        if self.cron is not None:
            gap = shortest_gap_minutes(parse_cron(self.cron))
            if self.run_minutes >= gap:
                raise ValueError(
                    f"run_minutes ({self.run_minutes}) must be less than the shortest time between two "
                    f"starts of cron {quoted(self.cron)} ({gap} min), or batches would overlap"
                )
        return self


class MirrorFlow(BaseModel):
    """Replication of topics and consumer-group offsets from one cluster to another."""

    model_config = _MODEL_CONFIG

    source: Text
    """Alias of the cluster mirrored from."""
    target: Text
    """Alias of the cluster mirrored into."""
    topics: list[Pattern] = [".*"]
    """Regular expressions of the topics to mirror."""
    topics_exclude: list[Pattern] = []
    """Regular expressions of topics not to mirror."""
    groups: list[Pattern] = [".*"]
    """Regular expressions of the consumer groups whose offsets are translated."""
    groups_exclude: list[Pattern] = []
    """Regular expressions of groups not to translate."""
    naming: Naming = Naming.PREFIXED
    """prefixed (A.orders) or identity (orders); default identity for mm1 flows."""
    mirrormaker: MirrorMakerKind = MirrorMakerKind.MM2
    """mm2 or mm1."""
    sync_group_offsets: StrictBool = True
    """MM2: write translated offsets into the target's consumer groups (only groups with no active
    members there), so consumers that fail over resume near where they were."""
    emit_checkpoints_seconds: Annotated[StrictInt, Field(ge=1)] = 10
    """MM2: seconds between consumer-group checkpoints (and group offset syncs)."""
    refresh_seconds: Annotated[StrictInt, Field(ge=1)] = 30
    """Seconds between looks for new topics and groups on the source (MM2's topic and group refresh;
    MM1's consumer metadata refresh)."""
    flush_seconds: Annotated[StrictInt, Field(ge=1)] = 10
    """Seconds between commits of the replicated position (MM2's offset flush on the target, MM1's
    offset commit): how much is re-sent after a restart."""
    schedule: Schedule | None = None
    """Cold standby: run MirrorMaker in scheduled batches instead of all the time."""

    @model_validator(mode="before")
    @classmethod
    def _mm1_keeps_names(cls, data: object) -> object:
        # MirrorMaker 1 cannot rename topics, so its natural default is identity naming.
        if isinstance(data, dict) and "naming" not in data and data.get("mirrormaker") == "mm1":
            return {**data, "naming": Naming.IDENTITY.value}
        return data

    @field_validator("topics")
    @classmethod
    def _some_topics(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('must list at least one pattern; [".*"] mirrors every topic')
        return value

    @property
    def name(self) -> str:
        """``source->target``, the name MirrorMaker 2 gives the flow."""
        return f"{self.source}->{self.target}"


class Objectives(BaseModel):
    """Recovery objectives and the lag thresholds the console colours by."""

    model_config = _MODEL_CONFIG

    rpo_seconds: Annotated[StrictInt, Field(ge=1)] = 60
    """Recovery point objective: data loss tolerated, in seconds of lag."""
    rto_seconds: Annotated[StrictInt, Field(ge=1)] = 600
    """Recovery time objective: time allowed to fail over, in seconds."""
    lag_warn_seconds: Annotated[StrictInt, Field(ge=1)] = 30
    """Replication lag shown as a warning; less than lag_crit_seconds."""
    lag_crit_seconds: Annotated[StrictInt, Field(ge=1)] = 120
    """Replication lag shown as critical."""


class ClientSwitch(BaseModel):
    """How client applications are pointed at the other cluster on failover."""

    model_config = _MODEL_CONFIG

    method: SwitchMethod = SwitchMethod.NONE
    """none, command or dns."""
    command: str = ""
    """Shell command, run for method = "command", that points clients at the other cluster."""


class FenceMethod(StrEnum):
    """How the old primary is kept from taking writes during a failover."""

    NONE = "none"
    """Nothing is fenced: applications must stop writing to the old primary themselves."""
    REJECT_WRITES = "reject-writes"
    """``max.message.bytes = 1`` on the mirrored topics: the brokers refuse every write, whatever its acks."""
    ACLS = "acls"
    """Deny-write ACLs on the mirrored topics (needs an authorizer on the brokers)."""


def _no_min_isr(value: object) -> object:
    if value == "min-isr":
        raise ValueError(
            "'min-isr' does not fence: brokers cap the effective min.insync.replicas at the replication "
            "factor, so acks=all writes still succeed; use 'reject-writes'"
        )
    return value


class FailoverSettings(BaseModel):
    """How the failover and failback runbooks behave."""

    model_config = _MODEL_CONFIG

    fence: Annotated[FenceMethod, BeforeValidator(_no_min_isr)] = FenceMethod.NONE
    """none, reject-writes or acls: how the old primary is fenced when it is reachable."""
    drain_timeout_seconds: Annotated[StrictInt, Field(ge=1)] = 300
    """How long the drain step waits for the mirror lag to reach 0."""
    reverse_replication: StrictBool = True
    """Start mirroring back (new primary -> old primary, prefixed names) when the old primary is reachable."""
    fallback_rewind_seconds: Annotated[StrictInt, Field(ge=0)] = 300
    """A group with no checkpoint starts this many seconds before the failover (by record timestamps)."""


def _subscription_id(value: str) -> str | None:
    if re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value):
        return None
    return f"'{value}' is not a subscription ID (a GUID like 00000000-0000-0000-0000-000000000000)"


def _arm_endpoint(value: str) -> str | None:
    if re.fullmatch(r"https://[A-Za-z0-9.\-\[\]:]+/?", value):
        return None
    return f"'{value}' is not an https:// endpoint like https://management.azure.com"


class AzureCredentialKind(StrEnum):
    """How kdrtui authenticates to Azure Resource Manager."""

    DEFAULT = "default"
    """``DefaultAzureCredential``: environment, managed identity, Azure CLI login... (real Azure)."""
    LAB = "lab"
    """A fixed token for the lab's Azure emulator; only allowed with a loopback ``endpoint``."""


class AzureSettings(BaseModel):
    """The ``[azure]`` table: where and as whom kdrtui provisions (needed by ``kdrtui provision``)."""

    model_config = _MODEL_CONFIG

    subscription_id: Annotated[str, _rule(_subscription_id)] | None = None
    """Subscription ID (a GUID); when absent, the ``AZURE_SUBSCRIPTION_ID`` environment variable."""
    endpoint: Annotated[str, _rule(_arm_endpoint)] = "https://management.azure.com"
    """Azure Resource Manager endpoint (the lab's emulator is ``https://127.0.0.1:<port>``)."""
    ca_file: str | None = None
    """A CA bundle (PEM) to trust for ``endpoint`` and Ambari, e.g. the lab emulator's ``ca.pem``."""
    credential: AzureCredentialKind = AzureCredentialKind.DEFAULT
    """``default`` (DefaultAzureCredential) or ``lab`` (the lab emulator's token)."""
    polling_interval_seconds: Annotated[StrictInt, Field(ge=0, le=300)] = 30
    """Seconds between polls of a long-running operation (Azure's ``Retry-After`` wins when it is sent)."""

    @field_validator("subscription_id", "ca_file", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return _blank_to_none(value)

    @model_validator(mode="after")
    def _lab_only_on_loopback(self) -> AzureSettings:
        if self.credential == AzureCredentialKind.LAB and not self.is_loopback:
            raise ValueError(
                f"credential 'lab' is the lab emulator's token and only goes to a loopback endpoint, "
                f'not {shown(self.endpoint)}; use credential = "default" for Azure'
            )
        return self

    @property
    def is_loopback(self) -> bool:
        """The endpoint is on this machine (the lab's emulator)."""
        host = self.endpoint.removeprefix("https://").split("/")[0]
        host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
        return host in {"127.0.0.1", "localhost", "[::1]"}


class Plan(BaseModel):
    """A whole DR plan file."""

    model_config = _MODEL_CONFIG

    plan: PlanInfo
    """Name, topology and roles."""
    clusters: dict[str, Cluster] = {}
    """The clusters by alias, in file order."""
    edge_nodes: list[EdgeNode] = []
    """Machines that run MirrorMaker."""
    flows: list[MirrorFlow] = []
    """What is mirrored from where to where."""
    objectives: Objectives = Objectives()
    """Recovery objectives and lag thresholds."""
    switch: ClientSwitch = ClientSwitch()
    """How clients are moved on failover."""
    failover: FailoverSettings = FailoverSettings()
    """Fencing, drain timeout and reverse replication of the failover runbook."""
    azure: AzureSettings | None = None
    """Where and as whom ``kdrtui provision`` works; absent for plans kdrtui does not provision."""

    @property
    def primary_alias(self) -> str:
        """The primary cluster's alias (``plan.primary``, else the first cluster)."""
        return self.plan.primary or next(iter(self.clusters))

    @property
    def secondary_alias(self) -> str:
        """The secondary cluster's alias (``plan.secondary``, else the first cluster that isn't primary)."""
        if self.plan.secondary:
            return self.plan.secondary
        primary = self.primary_alias
        return next(alias for alias in self.clusters if alias != primary)

    def cluster(self, alias: str) -> Cluster:
        """The cluster called ``alias``; KeyError names the known aliases."""
        try:
            return self.clusters[alias]
        except KeyError:
            known = ", ".join(sorted(self.clusters))
            raise KeyError(f"unknown cluster '{alias}'; clusters are: {known}") from None

    def edge_nodes_for(self, alias: str) -> list[EdgeNode]:
        """The edge nodes that belong to cluster ``alias``."""
        return [node for node in self.edge_nodes if node.cluster == alias]
