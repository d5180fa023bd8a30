"""Where a plan's Kafka runs: its clusters (and how kdrtui provisions them on HDInsight) and edge nodes."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field, PrivateAttr, StrictInt, field_validator

from kdrtui.domain import azure_names
from kdrtui.domain.kafka_release import NODE, mirrormaker_kafka_rule
from kdrtui.domain.plan_fields import MODEL_CONFIG, Text, blank_to_none, rule
from kdrtui.domain.security import ClusterSecurity

NETWORK_KEYS = ("resource_group", "vnet_name", "vnet_cidr", "subnet_cidr")
"""A cluster's network keys: optional, but required when kdrtui provisions it on HDInsight."""


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


class HDInsightCluster(BaseModel):
    """How kdrtui provisions a cluster on Azure HDInsight (absent for clusters it does not provision)."""

    model_config = MODEL_CONFIG

    name: Annotated[str, rule(azure_names.hdinsight_cluster_name)]
    """HDInsight cluster name: 3-59 letters, digits and hyphens, globally unique."""
    cluster_version: Annotated[str, rule(_hdinsight_version)] = "5.1"
    """HDInsight version; only 5.1 (Kafka 3.2) is supported."""
    worker_count: Annotated[StrictInt, Field(ge=3)] = 3
    """Number of worker nodes (Kafka brokers), at least 3."""
    worker_vm_size: Annotated[str, rule(azure_names.vm_size)] = "Standard_D4_v2"
    """VM size of the worker (broker) nodes."""
    head_vm_size: Annotated[str, rule(azure_names.vm_size)] = "Standard_E4_v3"
    """VM size of the two head nodes."""
    zookeeper_vm_size: Annotated[str, rule(azure_names.vm_size)] = "Standard_A4_v2"
    """VM size of the three ZooKeeper nodes."""
    disks_per_node: Annotated[StrictInt, Field(ge=1, le=16)] = 2
    """Managed data disks per worker node, 1 to 16."""
    storage_account: Annotated[str, rule(azure_names.storage_account_name)]
    """The cluster's own storage account: 3-24 lowercase letters and digits."""
    ssh_user: Annotated[str, rule(azure_names.ssh_user_name)] = "sshuser"
    """SSH user on the cluster's nodes; not a reserved name."""
    login_password_env: Annotated[str, rule(azure_names.env_var_name)]
    """Name of the environment variable holding the cluster login (Ambari) password."""


class Cluster(BaseModel):
    """One Kafka cluster, at one site, known in the plan by its alias."""

    model_config = MODEL_CONFIG

    region: Annotated[str, rule(azure_names.azure_region)]
    """Azure region (programmatic name, e.g. eastus)."""
    resource_group: Annotated[str, rule(azure_names.resource_group_name)] | None = None
    """Resource group holding the cluster, its VNet and storage."""
    vnet_name: Annotated[str, rule(azure_names.vnet_name)] | None = None
    """Virtual network the cluster is placed in."""
    vnet_cidr: Annotated[str, rule(azure_names.ipv4_cidr)] | None = None
    """Address space of the VNet; must not overlap a peered cluster's."""
    subnet_cidr: Annotated[str, rule(azure_names.ipv4_cidr)] | None = None
    """Subnet of the cluster's nodes; inside vnet_cidr."""
    bootstrap_servers: list[Annotated[str, rule(azure_names.host_port)]] = []
    """Broker addresses (host:port); empty until the cluster is provisioned."""
    remote_bootstrap_servers: list[Annotated[str, rule(azure_names.host_port)]] = []
    """Broker addresses (host:port) clients in another region use, when they differ from
    ``bootstrap_servers`` (a listener behind a WAN proxy or gateway; the lab's WAN writes its proxies here).
    MirrorMaker on an edge node of another region's cluster, and kdrtui with ``KDRTUI_REGION`` set to
    another region, connect through these. Empty (as on Azure, where peered VNets reach the brokers
    directly): everyone uses ``bootstrap_servers``."""
    kafka_version: Annotated[str, rule(_kafka_version)] = "3.2"
    """Kafka version the brokers run."""
    replication_factor: Annotated[StrictInt, Field(ge=1, le=7)] = 3
    """Replication factor of the topics MirrorMaker creates on this cluster (mirrored topics and its
    internal topics), 1 to 7. HDInsight brokers require min.insync.replicas 2, so 3 there; 1 for a
    single-broker lab cluster."""
    brokers: Annotated[StrictInt, Field(ge=1, le=200)] | None = None
    """Brokers the cluster should have (on HDInsight, its worker nodes); the console shows brokers up out
    of this. Absent: the HDInsight worker count when provisioned, else the brokers its replicas name."""
    hdinsight: HDInsightCluster | None = None
    """Provisioning settings, when kdrtui provisions this cluster on HDInsight."""

    @property
    def expected_brokers(self) -> int | None:
        """How many brokers the plan says the cluster has: ``brokers``, else the HDInsight worker count,
        else None (unknown from the plan)."""
        if self.brokers is not None:
            return self.brokers
        return self.hdinsight.worker_count if self.hdinsight is not None else None

    security: ClusterSecurity | None = None
    """How clients connect (TLS, mutual TLS, SASL); absent means PLAINTEXT."""

    @field_validator(*NETWORK_KEYS, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("bootstrap_servers", "remote_bootstrap_servers", mode="before")
    @classmethod
    def _split_bootstrap(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers as Kafka clients take them: comma-separated."""
        return ",".join(self.bootstrap_servers)

    _home_bootstrap: list[str] | None = PrivateAttr(default=None)
    """``bootstrap_servers`` as the plan file has them, when :meth:`seen_from` replaced them."""

    def bootstrap_from(self, region: str | None) -> str:
        """The bootstrap servers for a client in ``region``: ``remote_bootstrap_servers`` when the client
        is in another region and they are set, else the plan file's ``bootstrap_servers``. None: a client
        of no known region."""
        if region is not None and region != self.region and self.remote_bootstrap_servers:
            return ",".join(self.remote_bootstrap_servers)
        return ",".join(self._home_bootstrap or self.bootstrap_servers)

    def seen_from(self, region: str) -> Cluster:
        """This cluster as a client in ``region`` reaches it: ``bootstrap_servers`` replaced by
        ``remote_bootstrap_servers`` when the cluster stands elsewhere and has them, else itself."""
        if region == self.region or not self.remote_bootstrap_servers:
            return self
        seen = self.model_copy(update={"bootstrap_servers": list(self.remote_bootstrap_servers)})
        seen._home_bootstrap = list(self._home_bootstrap or self.bootstrap_servers)
        return seen


class EdgeNode(BaseModel):
    """A machine reached over SSH that runs MirrorMaker next to a cluster."""

    model_config = MODEL_CONFIG

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
    jump_host: Annotated[str, rule(azure_names.jump_host)] | None = None
    """Optional SSH jump host, user@host:port."""
    kafka_home: Annotated[str, rule(_remote_path)]
    """Directory on the node where Kafka's libs/ are."""
    work_dir: Annotated[str, rule(_work_dir)] = "~/.kdrtui"
    """Directory on the node for kdrtui's MirrorMaker files (``<work_dir>/mm/<deployment>``): an
    absolute path, or one starting with ``~/``."""
    mirrormaker_rest_port: Annotated[StrictInt, Field(ge=1, le=65535)] | None = None
    """Port of MirrorMaker 2's internal REST listener on this node (KIP-710; default 8083), used only when
    several edge nodes of the cluster run one MirrorMaker 2 cluster; the others reach it at ``host``."""
    mirrormaker_kafka: Annotated[str, rule(mirrormaker_kafka_rule)] = NODE
    """The Kafka release MirrorMaker runs from: ``node`` (the jars in ``kafka_home``) or a release such as
    ``3.9.1``, whose jars kdrtui uploads to ``<work_dir>/kafka/<version>/libs``."""

    @field_validator("key_file", "known_hosts", "jump_host", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return blank_to_none(value)
