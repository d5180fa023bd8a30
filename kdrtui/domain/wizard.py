"""The topology wizard's model: the answers, their steps and checks, and the plan they make.

The wizard pane (and ``kdrtui plan new``) fill a :class:`WizardAnswers`, field by field, through
:func:`set_field`. Every check is the plan's own: the answers are turned into plan TOML and read back with
:func:`kdrtui.domain.plan.parse_plan`, the path every plan file takes, and each problem found is mapped
back to the answer it comes from. So a message shown in the wizard is the message ``kdrtui plan
validate`` would print, and a plan the wizard writes always passes it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w

from kdrtui.domain import prices
from kdrtui.domain.plan import (
    MirrorMakerKind,
    Naming,
    Plan,
    PlanInvalid,
    PlanProblem,
    SwitchMethod,
    Topology,
    parse_plan,
)
from kdrtui.domain.topologies import topology_info

WIZARD_PATH = "<wizard>"
"""The "file" named in the problems of answers that are not a plan file yet."""

KAFKA_HOME = "/usr/hdp/current/kafka-broker"
"""Where Kafka lives on an HDInsight node (edge nodes included)."""


@dataclass
class WizardAnswers:
    """Everything the wizard asks, with the defaults it offers (a cold standby, East US -> West US 2)."""

    topology: Topology = Topology.COLD_STANDBY
    plan_name: str = "kafka-dr"
    primary_region: str = "eastus"
    secondary_region: str = "westus2"
    primary_resource_group: str = "kdr-east-rg"
    secondary_resource_group: str = "kdr-west-rg"
    primary_vnet_cidr: str = "10.0.0.0/16"
    primary_subnet_cidr: str = "10.0.0.0/24"
    secondary_vnet_cidr: str = "10.1.0.0/16"
    secondary_subnet_cidr: str = "10.1.0.0/24"
    primary_cluster_name: str = "kdr-east-kafka"
    secondary_cluster_name: str = "kdr-west-kafka"
    worker_count: int = 3
    worker_vm_size: str = "Standard_D4_v2"
    head_vm_size: str = "Standard_E4_v3"
    zookeeper_vm_size: str = "Standard_A4_v2"
    disks_per_node: int = 2
    primary_storage_account: str = "kdreaststore"
    secondary_storage_account: str = "kdrweststore"
    ssh_user: str = "sshuser"
    ssh_key_file: str = ""
    """Private key for the edge nodes; empty: use the ssh-agent."""
    login_password_env: str = "KDR_LOGIN_PASSWORD"
    topics_include: str = ".*"
    """Comma-separated regular expressions."""
    topics_exclude: str = ""
    groups_include: str = ".*"
    naming: Naming = Naming.PREFIXED
    mirrormaker: MirrorMakerKind = MirrorMakerKind.MM2
    edge_node_count: int = 1
    edge_vm_size: str = "Standard_D3_v2"
    schedule_every_minutes: int | None = 60
    schedule_run_minutes: int | None = 15
    schedule_cron: str = ""
    rpo_seconds: int = 60
    rto_seconds: int = 600
    lag_warn_seconds: int = 30
    lag_crit_seconds: int = 120
    switch_method: SwitchMethod = SwitchMethod.NONE
    switch_command: str = ""
    # --- additions beyond the first API: kept so an opened plan is written back as it was ---
    primary_vnet_name: str = "kdr-east-vnet"
    secondary_vnet_name: str = "kdr-west-vnet"
    groups_exclude: str = ""
    secondary_worker_vm_size: str = ""
    """Empty: the topology's choice (see :func:`secondary_worker_size`)."""
    secondary_worker_count: int | None = None
    """None: the same as ``worker_count``."""
    secondary_disks_per_node: int | None = None
    """None: the same as ``disks_per_node``."""
    secondary_login_password_env: str = ""
    """Empty: the same variable as the primary's (``login_password_env``)."""
    primary_alias: str = "primary"
    """The primary's alias in the plan (MirrorMaker's cluster alias, the prefix of mirrored topics)."""
    secondary_alias: str = "secondary"
    input_errors: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Text :func:`set_field` could not parse, by field (the field keeps its previous value)."""
    base: Plan | None = field(default=None, compare=False, repr=False)
    """The plan these answers were read from (:func:`answers_from_plan`): the keys the wizard does not ask
    about (bootstrap servers, flow tuning, failover settings...) are taken from it."""


# --- steps, fields, labels --------------------------------------------------------------------------

STEPS: tuple[str, ...] = ("topology", "sites", "clusters", "replication", "objectives", "review")

FIELDS: dict[str, tuple[str, ...]] = {
    "topology": ("topology", "plan_name"),
    "sites": (
        "primary_region",
        "primary_resource_group",
        "primary_vnet_name",
        "primary_vnet_cidr",
        "primary_subnet_cidr",
        "secondary_region",
        "secondary_resource_group",
        "secondary_vnet_name",
        "secondary_vnet_cidr",
        "secondary_subnet_cidr",
    ),
    "clusters": (
        "primary_cluster_name",
        "primary_storage_account",
        "secondary_cluster_name",
        "secondary_storage_account",
        "worker_count",
        "secondary_worker_count",
        "worker_vm_size",
        "secondary_worker_vm_size",
        "disks_per_node",
        "secondary_disks_per_node",
        "head_vm_size",
        "zookeeper_vm_size",
        "ssh_user",
        "ssh_key_file",
        "login_password_env",
        "secondary_login_password_env",
    ),
    "replication": (
        "mirrormaker",
        "naming",
        "topics_include",
        "topics_exclude",
        "groups_include",
        "groups_exclude",
        "edge_node_count",
        "edge_vm_size",
        "schedule_every_minutes",
        "schedule_run_minutes",
        "schedule_cron",
    ),
    "objectives": (
        "rpo_seconds",
        "rto_seconds",
        "lag_warn_seconds",
        "lag_crit_seconds",
        "switch_method",
        "switch_command",
    ),
    "review": (),
}
"""Each step's fields in display order (:func:`visible_fields` drops those the topology does not use)."""

LABELS: dict[str, str] = {
    "topology": "Topology",
    "plan_name": "Plan name",
    "primary_region": "Primary region",
    "primary_resource_group": "Primary resource group",
    "primary_vnet_name": "Primary VNet name",
    "primary_vnet_cidr": "Primary VNet CIDR",
    "primary_subnet_cidr": "Primary subnet CIDR",
    "secondary_region": "Secondary region",
    "secondary_resource_group": "Second. resource group",
    "secondary_vnet_name": "Secondary VNet name",
    "secondary_vnet_cidr": "Secondary VNet CIDR",
    "secondary_subnet_cidr": "Secondary subnet CIDR",
    "primary_cluster_name": "Primary cluster name",
    "primary_storage_account": "Primary storage account",
    "secondary_cluster_name": "Secondary cluster name",
    "secondary_storage_account": "Second. storage account",
    "worker_count": "Worker nodes (brokers)",
    "worker_vm_size": "Worker VM size",
    "secondary_worker_vm_size": "Secondary worker VM size",
    "secondary_worker_count": "Secondary worker nodes",
    "secondary_disks_per_node": "Secondary disks/worker",
    "disks_per_node": "Disks per worker",
    "head_vm_size": "Head node VM size",
    "zookeeper_vm_size": "ZooKeeper VM size",
    "ssh_user": "SSH user",
    "ssh_key_file": "SSH key file",
    "login_password_env": "Login password env var",
    "secondary_login_password_env": "Secondary password env",
    "mirrormaker": "MirrorMaker",
    "naming": "Topic naming",
    "topics_include": "Topics",
    "topics_exclude": "Topics excluded",
    "groups_include": "Consumer groups",
    "groups_exclude": "Groups excluded",
    "edge_node_count": "Edge nodes per target",
    "edge_vm_size": "Edge node VM size",
    "schedule_every_minutes": "Batch every (minutes)",
    "schedule_run_minutes": "Batch runs (minutes)",
    "schedule_cron": "Batch start (cron)",
    "rpo_seconds": "RPO (seconds)",
    "rto_seconds": "RTO (seconds)",
    "lag_warn_seconds": "Lag warning (seconds)",
    "lag_crit_seconds": "Lag critical (seconds)",
    "switch_method": "Client switch",
    "switch_command": "Switch command",
}
"""A short label (at most 24 characters) per field."""

HELP: dict[str, str] = {
    "topology": "hot-standby: dual ingest; cold-standby: scheduled batches; active-active: both ways",
    "plan_name": "A short name for the plan, 1 to 64 characters",
    "primary_region": "Azure region of the primary site, programmatic name (eastus, not East US)",
    "primary_resource_group": "Resource group for the primary cluster, its VNet and storage (1-90 chars)",
    "primary_vnet_name": "Virtual network of the primary cluster (2-64 letters, digits, _ . -)",
    "primary_vnet_cidr": "Address space of the primary VNet, e.g. 10.0.0.0/16; must not overlap the other",
    "primary_subnet_cidr": "Subnet of the primary cluster's nodes, inside its VNet, e.g. 10.0.0.0/24",
    "secondary_region": "Azure region of the secondary site; must differ from the primary's",
    "secondary_resource_group": "Resource group for the secondary cluster, its VNet and storage",
    "secondary_vnet_name": "Virtual network of the secondary cluster (2-64 letters, digits, _ . -)",
    "secondary_vnet_cidr": "Address space of the secondary VNet, e.g. 10.1.0.0/16; must not overlap",
    "secondary_subnet_cidr": "Subnet of the secondary cluster's nodes, inside its VNet, e.g. 10.1.0.0/24",
    "primary_cluster_name": "3-59 letters, digits, hyphens; globally unique; first six chars name the nodes",
    "primary_storage_account": "3-24 lowercase letters and digits, globally unique; one per cluster",
    "secondary_cluster_name": "3-59 letters, digits, hyphens; globally unique; not the primary's name",
    "secondary_storage_account": "3-24 lowercase letters and digits, globally unique; not the primary's",
    "worker_count": "Kafka brokers per cluster: at least 3 (MirrorMaker's topics need 3 replicas)",
    "worker_vm_size": "Azure VM size of the brokers, e.g. Standard_D4_v2",
    "secondary_worker_count": "Brokers of the secondary cluster, at least 3; empty: the same as the primary",
    "secondary_disks_per_node": "Managed disks per secondary broker, 1 to 16; empty: the same as the primary",
    "secondary_worker_vm_size": "Empty: the primary's; for a cold standby's idle DR cluster, Standard_D3_v2",
    "disks_per_node": "Managed data disks per broker, 1 to 16",
    "head_vm_size": "Azure VM size of the two head nodes, e.g. Standard_E4_v3",
    "zookeeper_vm_size": "Azure VM size of the three ZooKeeper nodes, e.g. Standard_A4_v2",
    "ssh_user": "SSH user on the cluster nodes; not a reserved name (admin, root, hadoop, kafka...)",
    "ssh_key_file": "Private key for the edge nodes (~ allowed); empty: use the ssh-agent",
    "login_password_env": "NAME of the environment variable holding the cluster login password",
    "secondary_login_password_env": "The secondary cluster's login password variable; empty: the same",
    "mirrormaker": "mm2 (MirrorMaker 2: checkpoints, offset translation) or mm1 (legacy)",
    "naming": "prefixed: orders becomes primary.orders (loop-safe); identity keeps names, one way only",
    "topics_include": "Comma-separated regular expressions of the topics to mirror; .* is every topic",
    "topics_exclude": "Comma-separated regular expressions of topics not to mirror",
    "groups_include": "Comma-separated regexes of the consumer groups whose offsets are translated",
    "groups_exclude": "Comma-separated regular expressions of consumer groups to leave out",
    "edge_node_count": "Edge nodes that run MirrorMaker on each target cluster",
    "edge_vm_size": "Azure VM size of the edge nodes, e.g. Standard_D3_v2",
    "schedule_every_minutes": "Start a MirrorMaker batch every this many minutes (empty: use cron)",
    "schedule_run_minutes": "How long each batch runs, in minutes; less than the interval",
    "schedule_cron": "Instead of an interval: 5-field cron for each batch start, e.g. 0 * * * *",
    "rpo_seconds": "Recovery point objective: data loss tolerated, in seconds of lag",
    "rto_seconds": "Recovery time objective: time allowed to fail over, in seconds",
    "lag_warn_seconds": "Replication lag shown as a warning; less than the critical lag",
    "lag_crit_seconds": "Replication lag shown as critical",
    "switch_method": "none: you move clients; command: kdrtui runs a command; dns: you repoint DNS",
    "switch_command": "Shell command, run on your machine, that points clients at the other cluster",
}
"""One line of help per field."""

CHOICES: dict[str, tuple[StrEnum, ...]] = {
    "topology": tuple(Topology),
    "naming": tuple(Naming),
    "mirrormaker": tuple(MirrorMakerKind),
    "switch_method": tuple(SwitchMethod),
}
"""The members of the fields that are a choice (the rest are free text); ``member.value`` is the text
:func:`set_field` takes."""

_ENUMS: dict[str, type[StrEnum]] = {
    "topology": Topology,
    "naming": Naming,
    "mirrormaker": MirrorMakerKind,
    "switch_method": SwitchMethod,
}
_INTS = frozenset(
    {
        "worker_count",
        "disks_per_node",
        "edge_node_count",
        "rpo_seconds",
        "rto_seconds",
        "lag_warn_seconds",
        "lag_crit_seconds",
    }
)
_OPTIONAL_INTS = frozenset(
    {"schedule_every_minutes", "schedule_run_minutes", "secondary_worker_count", "secondary_disks_per_node"}
)
_MIRRORING_ONLY = frozenset(FIELDS["replication"]) | {"ssh_key_file"}
_SCHEDULE = frozenset({"schedule_every_minutes", "schedule_run_minutes", "schedule_cron"})
FIELD_NAMES: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(WizardAnswers) if f.name not in ("input_errors", "base")
)
"""Every answer :func:`set_field` takes, in declaration order."""
_ANSWER_FIELDS = frozenset(FIELD_NAMES)


def mirrors(answers: WizardAnswers) -> bool:
    """Whether the topology runs MirrorMaker (all but hot standby)."""
    return answers.topology != Topology.HOT_STANDBY


def visible_fields(answers: WizardAnswers, step: str) -> tuple[str, ...]:
    """The fields of ``step`` that the chosen topology uses, in display order."""

    def shown(name: str) -> bool:
        if name in _MIRRORING_ONLY and not mirrors(answers):
            return False
        if name in _SCHEDULE and answers.topology != Topology.COLD_STANDBY:
            return False
        return not (name == "switch_command" and answers.switch_method != SwitchMethod.COMMAND)

    return tuple(name for name in FIELDS[step] if shown(name))


def step_note(answers: WizardAnswers, step: str) -> str:
    """A line to show above the step's fields (empty when there is nothing to say)."""
    if step == "topology":
        info = topology_info(answers.topology)
        return f"{info.title}: {info.sentence}"
    if step == "replication" and not mirrors(answers):
        return "Hot standby mirrors nothing: applications write to both clusters (dual ingest)."
    if step == "replication" and answers.topology == Topology.ACTIVE_ACTIVE:
        return "Active-active mirrors both ways and needs prefixed topic names."
    if step == "replication":
        return "Cold standby: MirrorMaker copies the primary into the secondary in scheduled batches."
    return ""


# --- reading and writing single fields ----------------------------------------------------------------


def field_text(answers: WizardAnswers, name: str) -> str:
    """The value of field ``name`` as an input shows it."""
    value = getattr(answers, name)
    if value is None:
        return ""
    return str(value.value if isinstance(value, StrEnum) else value)


def set_field(answers: WizardAnswers, name: str, text: str) -> str | None:
    """Store ``text`` typed into field ``name`` (parsed to the field's type); return its error or None.

    Text that cannot be parsed (a number field holding ``abc``) leaves the previous value and is reported
    until the field is set again. Otherwise the error is :func:`field_error`'s.
    """
    if name not in _ANSWER_FIELDS:
        raise KeyError(f"unknown wizard field '{name}'")
    value = text.strip()
    answers.input_errors.pop(name, None)
    parsed: object = value
    if name in _ENUMS:
        enum = _ENUMS[name]
        try:
            parsed = enum(value)
        except ValueError:
            choices = ", ".join(CHOICES[name])
            answers.input_errors[name] = f"must be one of {choices}, not '{value}'"
            return answers.input_errors[name]
    elif name in _INTS or name in _OPTIONAL_INTS:
        if name in _OPTIONAL_INTS and not value:
            parsed = None
        elif re.fullmatch(r"[+-]?\d+", value):
            parsed = int(value)
        else:
            shown = f"'{value}'" if value else "nothing"
            answers.input_errors[name] = f"must be a whole number, not {shown}"
            return answers.input_errors[name]
    setattr(answers, name, parsed)
    return field_error(answers, name)


# --- answers -> plan data -----------------------------------------------------------------------------


def _patterns(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def edge_host(node_name: str, cluster_name: str) -> str:
    """The SSH host of an HDInsight edge node application."""
    return f"{node_name}.{cluster_name}-ssh.azurehdinsight.net"


def target_aliases(answers: WizardAnswers) -> tuple[str, ...]:
    """The aliases of the clusters MirrorMaker writes into (where the edge nodes go)."""
    if answers.topology == Topology.HOT_STANDBY:
        return ()
    if answers.topology == Topology.COLD_STANDBY:
        return (answers.secondary_alias,)
    return (answers.primary_alias, answers.secondary_alias)


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def _site(answers: WizardAnswers, role: str) -> dict[str, Any]:
    get = lambda key: getattr(answers, f"{role}_{key}")  # noqa: E731
    alias = get("alias")
    base: dict[str, Any] = {}
    if answers.base is not None and alias in answers.base.clusters:
        base = _dump(answers.base.clusters[alias])
        if "hdinsight" not in base:
            # Not an HDInsight cluster (the lab's single broker): its broker-specific settings do not
            # carry over to the HDInsight cluster the wizard describes.
            for key in ("replication_factor", "kafka_version"):
                base.pop(key, None)
    hdinsight: dict[str, Any] = {**base.get("hdinsight", {})}
    hdinsight.update(
        name=get("cluster_name"),
        worker_count=answers.worker_count if role == "primary" else secondary_workers(answers),
        worker_vm_size=answers.worker_vm_size if role == "primary" else secondary_worker_size(answers),
        head_vm_size=answers.head_vm_size,
        zookeeper_vm_size=answers.zookeeper_vm_size,
        disks_per_node=answers.disks_per_node if role == "primary" else secondary_disks(answers),
        storage_account=get("storage_account"),
        ssh_user=answers.ssh_user,
        login_password_env=(
            answers.login_password_env if role == "primary" else secondary_password_env(answers)
        ),
    )
    cluster = {**base}
    cluster.update(
        region=get("region"),
        resource_group=get("resource_group"),
        vnet_name=get("vnet_name"),
        vnet_cidr=get("vnet_cidr"),
        subnet_cidr=get("subnet_cidr"),
        hdinsight=hdinsight,
    )
    return cluster


COLD_STANDBY_SECONDARY_WORKER_VM_SIZE = "Standard_D3_v2"
"""The brokers of a cold standby's DR cluster when not chosen: it is idle but for the batches."""


def secondary_worker_size(answers: WizardAnswers) -> str:
    """The secondary's broker VM size: as chosen, else the primary's (a hot standby and active-active
    need two fully sized clusters), or a smaller one for a cold standby."""
    if answers.secondary_worker_vm_size.strip():
        return answers.secondary_worker_vm_size.strip()
    if answers.topology == Topology.COLD_STANDBY:
        return COLD_STANDBY_SECONDARY_WORKER_VM_SIZE
    return answers.worker_vm_size


def secondary_workers(answers: WizardAnswers) -> int:
    """The secondary's broker count."""
    return answers.worker_count if answers.secondary_worker_count is None else answers.secondary_worker_count


def secondary_disks(answers: WizardAnswers) -> int:
    """The secondary's managed disks per broker."""
    return (
        answers.disks_per_node
        if answers.secondary_disks_per_node is None
        else answers.secondary_disks_per_node
    )


def secondary_password_env(answers: WizardAnswers) -> str:
    """The variable holding the secondary cluster's login password."""
    return answers.secondary_login_password_env.strip() or answers.login_password_env


def _flow(answers: WizardAnswers, source: str, target: str) -> dict[str, Any]:
    flow: dict[str, Any] = {}
    if answers.base is not None:
        for old in answers.base.flows:
            if (old.source, old.target) == (source, target):
                flow = _dump(old)
    flow.pop("schedule", None)
    flow.update(
        source=source,
        target=target,
        topics=_patterns(answers.topics_include),
        topics_exclude=_patterns(answers.topics_exclude),
        groups=_patterns(answers.groups_include),
        groups_exclude=_patterns(answers.groups_exclude),
        naming=answers.naming.value,
        mirrormaker=answers.mirrormaker.value,
    )
    if answers.topology == Topology.COLD_STANDBY:
        schedule: dict[str, Any] = {}
        if answers.schedule_every_minutes is not None:
            schedule["every_minutes"] = answers.schedule_every_minutes
        if answers.schedule_run_minutes is not None:
            schedule["run_minutes"] = answers.schedule_run_minutes
        if answers.schedule_cron.strip():
            schedule["cron"] = answers.schedule_cron.strip()
        if schedule:
            flow["schedule"] = schedule
    return flow


def _edge_nodes(answers: WizardAnswers) -> list[dict[str, Any]]:
    old = {node.name: _dump(node) for node in answers.base.edge_nodes} if answers.base else {}
    old_names = {
        alias: cluster.hdinsight.name
        for alias, cluster in (answers.base.clusters.items() if answers.base else ())
        if cluster.hdinsight is not None
    }
    cluster_names = {
        answers.primary_alias: answers.primary_cluster_name,
        answers.secondary_alias: answers.secondary_cluster_name,
    }
    nodes: list[dict[str, Any]] = []
    for alias in target_aliases(answers):
        for n in range(1, max(answers.edge_node_count, 0) + 1):
            name = f"{alias}-edge-{n}"
            node = {
                "name": name,
                "cluster": alias,
                "host": edge_host(name, cluster_names[alias]),
                "user": answers.ssh_user,
                "kafka_home": KAFKA_HOME,
            }
            kept = old.get(name, {})
            if kept.get("host") == edge_host(name, old_names.get(alias, "")):
                kept = {**kept, "host": node["host"]}  # the generated host follows a renamed cluster
            node = {**node, **kept}
            node.update(name=name, cluster=alias, user=answers.ssh_user)
            node.pop("key_file", None)
            if answers.ssh_key_file.strip():
                node["key_file"] = answers.ssh_key_file.strip()
            nodes.append(node)
    return nodes


def plan_data(answers: WizardAnswers) -> dict[str, Any]:
    """The plan the answers describe, as TOML data (before any checking)."""
    base = answers.base
    data: dict[str, Any] = {}
    if base is not None:
        data.update(
            failover=_dump(base.failover),
        )
    primary, secondary = answers.primary_alias, answers.secondary_alias
    data["plan"] = {
        "name": answers.plan_name,
        "topology": answers.topology.value,
        "primary": primary,
        "secondary": secondary,
    }
    data["clusters"] = {primary: _site(answers, "primary")}
    if secondary != primary:
        data["clusters"][secondary] = _site(answers, "secondary")
    data["edge_nodes"] = _edge_nodes(answers)
    if answers.topology == Topology.COLD_STANDBY:
        data["flows"] = [_flow(answers, primary, secondary)]
    elif answers.topology == Topology.ACTIVE_ACTIVE:
        data["flows"] = [_flow(answers, primary, secondary), _flow(answers, secondary, primary)]
    else:
        data["flows"] = []
    data["objectives"] = {
        "rpo_seconds": answers.rpo_seconds,
        "rto_seconds": answers.rto_seconds,
        "lag_warn_seconds": answers.lag_warn_seconds,
        "lag_crit_seconds": answers.lag_crit_seconds,
    }
    data["switch"] = {"method": answers.switch_method.value, "command": answers.switch_command}
    order = ("plan", "clusters", "edge_nodes", "flows", "objectives", "switch", "failover")
    return {key: data[key] for key in order if key in data}


# --- checking -----------------------------------------------------------------------------------------

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

_CLUSTER_KEYS = {
    "region": "region",
    "resource_group": "resource_group",
    "vnet_name": "vnet_name",
    "vnet_cidr": "vnet_cidr",
    "subnet_cidr": "subnet_cidr",
}
_HDINSIGHT_KEYS = {
    "name": "{role}_cluster_name",
    "storage_account": "{role}_storage_account",
    "worker_count": "worker_count",
    "worker_vm_size": "worker_vm_size",
    "head_vm_size": "head_vm_size",
    "zookeeper_vm_size": "zookeeper_vm_size",
    "disks_per_node": "disks_per_node",
    "ssh_user": "ssh_user",
    "login_password_env": "login_password_env",
}
_FLOW_KEYS = {
    "topics": "topics_include",
    "topics_exclude": "topics_exclude",
    "groups": "groups_include",
    "groups_exclude": "groups_exclude",
    "naming": "naming",
    "mirrormaker": "mirrormaker",
}
_SCHEDULE_KEYS = {
    "every_minutes": "schedule_every_minutes",
    "run_minutes": "schedule_run_minutes",
    "cron": "schedule_cron",
}


def _split_path(dotted: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _PATH_PART.findall(dotted)]


def _schedule_field(message: str) -> str:
    """The answer a [flows.schedule] table-level message is about."""
    if "not both" in message:
        return "schedule_cron"
    if message.startswith("run_minutes"):
        return "schedule_run_minutes"
    return "schedule_every_minutes"


def answer_field(answers: WizardAnswers, problem: PlanProblem) -> str:
    """The wizard field a plan problem is about (the plan's own key path when no field matches)."""
    parts = _split_path(problem.field)
    roles = {answers.primary_alias: "primary", answers.secondary_alias: "secondary"}
    head = parts[0] if parts else ""
    if head == "plan" and len(parts) == 2:
        return {"name": "plan_name", "topology": "topology", "secondary": "secondary_alias"}.get(
            str(parts[1]), problem.field
        )
    if head == "clusters" and len(parts) >= 3 and parts[1] in roles:
        role = roles[str(parts[1])]
        key = str(parts[2])
        if key in _CLUSTER_KEYS:
            return f"{role}_{_CLUSTER_KEYS[key]}"
        if key == "replication_factor":
            own_count = role == "secondary" and answers.secondary_worker_count is not None
            return "secondary_worker_count" if own_count else "worker_count"
        if key == "hdinsight" and len(parts) >= 4 and str(parts[3]) in _HDINSIGHT_KEYS:
            own = {
                "worker_vm_size": answers.secondary_worker_vm_size.strip() != "",
                "login_password_env": answers.secondary_login_password_env.strip() != "",
                "worker_count": answers.secondary_worker_count is not None,
                "disks_per_node": answers.secondary_disks_per_node is not None,
            }
            if role == "secondary" and own.get(str(parts[3]), False):
                return f"secondary_{parts[3]}"
            return _HDINSIGHT_KEYS[str(parts[3])].format(role=role)
    if head == "clusters" and len(parts) == 2 and parts[1] in roles:
        return f"{roles[str(parts[1])]}_alias"
    if head == "edge_nodes" and len(parts) >= 3:
        return {"user": "ssh_user", "key_file": "ssh_key_file"}.get(str(parts[2]), "edge_node_count")
    if head == "flows" and len(parts) >= 3:
        key = str(parts[2])
        if key in _FLOW_KEYS:
            return _FLOW_KEYS[key]
        if key == "schedule":
            if len(parts) >= 4 and str(parts[3]) in _SCHEDULE_KEYS:
                return _SCHEDULE_KEYS[str(parts[3])]
            return _schedule_field(problem.message)
    if head == "objectives" and len(parts) == 2:
        return str(parts[1])
    if head == "switch" and len(parts) == 2:
        return {"method": "switch_method", "command": "switch_command"}.get(str(parts[1]), problem.field)
    return problem.field


def _plan_problems(answers: WizardAnswers) -> list[PlanProblem]:
    try:
        parse_plan(tomli_w.dumps(plan_data(answers)), WIZARD_PATH)
    except PlanInvalid as exc:
        return exc.problems
    return []


def _all_visible(answers: WizardAnswers) -> set[str]:
    return {name for step in STEPS for name in visible_fields(answers, step)}


def problems(answers: WizardAnswers) -> list[PlanProblem]:
    """Every problem with the answers, each named by its wizard field (line 0), in field order."""
    visible = _all_visible(answers)
    found = [
        PlanProblem(WIZARD_PATH, 0, name, message)
        for name, message in answers.input_errors.items()
        if name in visible
    ]
    typed = {p.field for p in found}
    seen: set[tuple[str, str]] = set()
    for problem in _plan_problems(answers):
        name = answer_field(answers, problem)
        if name not in typed and (name, problem.message) not in seen:
            seen.add((name, problem.message))
            found.append(PlanProblem(WIZARD_PATH, 0, name, problem.message))
    order = {name: n for n, name in enumerate(name for step in STEPS for name in FIELDS[step])}
    return sorted(found, key=lambda p: order.get(p.field, len(order)))


def errors(answers: WizardAnswers) -> dict[str, str]:
    """The first problem of each field that has one, by field."""
    found: dict[str, str] = {}
    for problem in problems(answers):
        found.setdefault(problem.field, problem.message)
    return found


def field_error(answers: WizardAnswers, name: str) -> str | None:
    """What is wrong with field ``name`` (the message ``kdrtui plan validate`` would give), or None."""
    return errors(answers).get(name)


def step_errors(answers: WizardAnswers, step: str) -> dict[str, str]:
    """The errors of the fields ``step`` shows; for the review step, every error."""
    found = errors(answers)
    if step == "review":
        return found
    shown = visible_fields(answers, step)
    return {name: message for name, message in found.items() if name in shown}


# --- plan ---------------------------------------------------------------------------------------------


def plan_toml(answers: WizardAnswers) -> str:
    """The plan file the answers make: a short header comment, then the plan (raises PlanInvalid)."""
    plan = build_plan(answers)
    info = topology_info(plan.plan.topology)
    header = [f"# {plan.plan.name}: {info.title.lower()}. {info.sentence}"]
    if plan.plan.topology == Topology.HOT_STANDBY:
        header.append(
            "# Applications write every record to both clusters (dual ingest), so there are no [[flows]]."
        )
    header.append("# Written by the kdrtui wizard; check it with 'kdrtui plan validate'.")
    return "\n".join(header) + "\n\n" + tomli_w.dumps(plan_data(answers))


def build_plan(answers: WizardAnswers) -> Plan:
    """The plan the answers describe, read back through the plan file checks; raise PlanInvalid listing
    every problem (each named by its wizard field) when there are any."""
    found = problems(answers)
    if found:
        raise PlanInvalid(WIZARD_PATH, found)
    return parse_plan(tomli_w.dumps(plan_data(answers)), WIZARD_PATH)


def write_plan(answers: WizardAnswers, path: str | Path, *, force: bool = False) -> Plan:
    """Write the plan to ``path`` atomically; raise PlanInvalid, or FileExistsError unless ``force``."""
    text = plan_toml(answers)
    plan = build_plan(answers)
    target = Path(path).expanduser()
    if target.exists() and not force:
        raise FileExistsError(f"{path} already exists; use another name or overwrite it (--force)")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return plan


def answers_from_plan(plan: Plan) -> WizardAnswers:
    """The answers that make ``plan``, to open and edit it in the wizard.

    Keys the wizard does not ask about are kept (see :attr:`WizardAnswers.base`); a cluster without an
    ``[hdinsight]`` table gets the wizard's defaults for it.
    """
    answers = WizardAnswers(base=plan)
    primary_alias, secondary_alias = plan.primary_alias, plan.secondary_alias
    answers.topology = plan.plan.topology
    answers.plan_name = plan.plan.name
    answers.primary_alias, answers.secondary_alias = primary_alias, secondary_alias
    for role, alias in (("primary", primary_alias), ("secondary", secondary_alias)):
        cluster = plan.clusters[alias]
        setattr(answers, f"{role}_region", cluster.region)
        for key in ("resource_group", "vnet_name", "vnet_cidr", "subnet_cidr"):
            value = getattr(cluster, key)
            if value is not None:
                setattr(answers, f"{role}_{key}", value)
        hdi = cluster.hdinsight
        if hdi is None:
            continue
        setattr(answers, f"{role}_cluster_name", hdi.name)
        setattr(answers, f"{role}_storage_account", hdi.storage_account)
        if role == "primary":
            answers.worker_count = hdi.worker_count
            answers.worker_vm_size = hdi.worker_vm_size
            answers.head_vm_size = hdi.head_vm_size
            answers.zookeeper_vm_size = hdi.zookeeper_vm_size
            answers.disks_per_node = hdi.disks_per_node
            answers.ssh_user = hdi.ssh_user
            answers.login_password_env = hdi.login_password_env
        else:
            # Stored only when it differs from what an empty answer gives.
            answers.secondary_worker_vm_size = (
                "" if hdi.worker_vm_size == secondary_worker_size(answers) else hdi.worker_vm_size
            )
            answers.secondary_worker_count = (
                None if hdi.worker_count == answers.worker_count else hdi.worker_count
            )
            answers.secondary_disks_per_node = (
                None if hdi.disks_per_node == answers.disks_per_node else hdi.disks_per_node
            )
            answers.secondary_login_password_env = (
                "" if hdi.login_password_env == answers.login_password_env else hdi.login_password_env
            )
    flow = next((f for f in plan.flows if (f.source, f.target) == (primary_alias, secondary_alias)), None)
    flow = flow or (plan.flows[0] if plan.flows else None)
    if flow is not None:
        answers.topics_include = ",".join(flow.topics)
        answers.topics_exclude = ",".join(flow.topics_exclude)
        answers.groups_include = ",".join(flow.groups)
        answers.groups_exclude = ",".join(flow.groups_exclude)
        answers.naming = flow.naming
        answers.mirrormaker = flow.mirrormaker
        if plan.plan.topology == Topology.COLD_STANDBY:  # elsewhere the defaults stay, for a switch back
            schedule = flow.schedule
            answers.schedule_every_minutes = schedule.every_minutes if schedule else None
            answers.schedule_run_minutes = schedule.run_minutes if schedule else None
            answers.schedule_cron = (schedule.cron or "") if schedule else ""
    targets = target_aliases(answers)
    if targets:
        counts = [len(plan.edge_nodes_for(alias)) for alias in targets]
        answers.edge_node_count = max(counts)
        keys = [node.key_file for node in plan.edge_nodes if node.key_file]
        answers.ssh_key_file = keys[0] if keys else ""
    answers.rpo_seconds = plan.objectives.rpo_seconds
    answers.rto_seconds = plan.objectives.rto_seconds
    answers.lag_warn_seconds = plan.objectives.lag_warn_seconds
    answers.lag_crit_seconds = plan.objectives.lag_crit_seconds
    answers.switch_method = plan.switch.method
    answers.switch_command = plan.switch.command
    return answers


def default_subnet(vnet_cidr: str) -> str | None:
    """The first /24 of a VNet address space (the whole space when it is smaller); None if not a CIDR."""
    try:
        network = ipaddress.IPv4Network(vnet_cidr)
    except ValueError:
        return None
    if network.prefixlen >= 24:
        return str(network)
    return str(next(network.subnets(new_prefix=24)))


# --- what it takes to run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """One Azure resource (or group of nodes) the plan provisions."""

    kind: str
    name: str
    region: str
    monthly_usd: float | None
    """Estimated monthly cost; None when not priced (billed per use, or an unknown VM size)."""
    detail: str = ""
    """What it is made of, e.g. "3 x Standard_D4_v2" or "10.0.0.0/16"."""


def resources(answers: WizardAnswers) -> list[Resource]:
    """The Azure resources the plan provisions, with estimated monthly costs from :mod:`prices`."""
    sites = [
        (
            "primary",
            answers.primary_alias,
            answers.primary_region,
            answers.primary_resource_group,
            answers.primary_vnet_name,
        ),
        (
            "secondary",
            answers.secondary_alias,
            answers.secondary_region,
            answers.secondary_resource_group,
            answers.secondary_vnet_name,
        ),
    ]
    out: list[Resource] = []
    groups_seen: set[str] = set()
    for _role, _alias, region, group, _vnet in sites:
        if group.lower() not in groups_seen:
            groups_seen.add(group.lower())
            out.append(Resource("resource group", group, region, 0.0))
    for role, _alias, region, _group, _vnet in sites:
        account = getattr(answers, f"{role}_storage_account")
        out.append(
            Resource("storage account", account, region, prices.STORAGE_ACCOUNT_MONTHLY, "StorageV2, LRS")
        )
    for role, _alias, region, _group, vnet in sites:
        out.append(Resource("virtual network", vnet, region, 0.0, getattr(answers, f"{role}_vnet_cidr")))
        out.append(
            Resource("subnet", f"{vnet}/default", region, 0.0, getattr(answers, f"{role}_subnet_cidr"))
        )
    (_, _, region_a, _, vnet_a), (_, _, region_b, _, vnet_b) = sites
    traffic = f"${prices.VNET_PEERING_PER_GB}/GB each way; traffic not estimated"
    out.append(Resource("VNet peering", f"{vnet_a}-to-{vnet_b}", region_a, None, traffic))
    out.append(Resource("VNet peering", f"{vnet_b}-to-{vnet_a}", region_b, None, traffic))
    for role, _alias, region, _group, _vnet in sites:
        name = getattr(answers, f"{role}_cluster_name")
        out.append(Resource("HDInsight Kafka cluster", name, region, None, "HDInsight 5.1, Kafka 3.2"))
        primary = role == "primary"
        workers = answers.worker_vm_size if primary else secondary_worker_size(answers)
        count = answers.worker_count if primary else secondary_workers(answers)
        nodes = (
            ("head nodes", answers.head_vm_size, prices.HEAD_NODES),
            ("worker nodes", workers, count),
            ("ZooKeeper nodes", answers.zookeeper_vm_size, prices.ZOOKEEPER_NODES),
        )
        for kind, size, many in nodes:
            out.append(Resource(kind, name, region, prices.nodes_monthly(size, many), f"{many} x {size}"))
        disks = count * (answers.disks_per_node if primary else secondary_disks(answers))
        out.append(
            Resource(
                "managed disks", name, region, prices.disks_monthly(disks), f"{disks} x 1 TiB standard HDD"
            )
        )
    regions = {
        answers.primary_alias: answers.primary_region,
        answers.secondary_alias: answers.secondary_region,
    }
    for node in _edge_nodes(answers):
        out.append(
            Resource(
                "edge node",
                node["name"],
                regions[node["cluster"]],
                prices.nodes_monthly(answers.edge_vm_size, 1),
                f"1 x {answers.edge_vm_size}",
            )
        )
    return out


def monthly_cost(answers: WizardAnswers) -> tuple[float, str]:
    """The estimated monthly USD of everything priced in :func:`resources`, and the price table's date."""
    total = sum(r.monthly_usd for r in resources(answers) if r.monthly_usd is not None)
    return round(total, 2), prices.PRICE_TABLE_DATE


def unpriced(answers: WizardAnswers) -> list[Resource]:
    """Resources whose cost the estimate leaves out (per-use billing, VM sizes not in the table)."""
    return [r for r in resources(answers) if r.monthly_usd is None and r.kind != "HDInsight Kafka cluster"]


def provisioning_steps(answers: WizardAnswers) -> list[str]:
    """What provisioning the plan does, in order (the source document's steps, corrected)."""
    a = answers
    steps = [
        f"Create resource group {a.primary_resource_group} in {a.primary_region} and "
        f"{a.secondary_resource_group} in {a.secondary_region}",
        f"Create storage account {a.primary_storage_account} in {a.primary_region} and "
        f"{a.secondary_storage_account} in {a.secondary_region} (one per cluster)",
        f"Create VNet {a.primary_vnet_name} ({a.primary_vnet_cidr}, subnet {a.primary_subnet_cidr}) and "
        f"{a.secondary_vnet_name} ({a.secondary_vnet_cidr}, subnet {a.secondary_subnet_cidr})",
        f"Peer {a.primary_vnet_name} with {a.secondary_vnet_name} and {a.secondary_vnet_name} with "
        f"{a.primary_vnet_name}; wait until both peerings are Connected",
        f"Create HDInsight 5.1 Kafka clusters {a.primary_cluster_name} and {a.secondary_cluster_name} in "
        f"parallel ({a.worker_count} x {a.worker_vm_size} and {secondary_workers(a)} x "
        f"{secondary_worker_size(a)} brokers); wait until both are Running",
    ]
    cluster_names = {a.primary_alias: a.primary_cluster_name, a.secondary_alias: a.secondary_cluster_name}
    targets = target_aliases(a)
    if targets and a.edge_node_count > 0:
        on = " and ".join(cluster_names[alias] for alias in targets)
        steps.append(f"Create {a.edge_node_count} edge node(s) ({a.edge_vm_size}) on {on}")
    steps += [
        "On both clusters, through Ambari: advertise each broker's IP address (advertised.listeners = "
        "PLAINTEXT://<ip>:9092), listen on all interfaces (listeners = PLAINTEXT://0.0.0.0:9092), "
        "then restart Kafka",
        "Read the brokers' IP addresses from Ambari and write them into the plan as bootstrap_servers",
    ]
    if a.topology == Topology.COLD_STANDBY:
        when = "on the schedule" if _has_schedule(a) else "and keep it running"
        steps.append(
            f"Deploy MirrorMaker ({a.mirrormaker.value}) on the edge node of {a.secondary_cluster_name} "
            f"and start it {when}, mirroring {a.primary_alias} -> {a.secondary_alias}"
        )
    elif a.topology == Topology.ACTIVE_ACTIVE:
        steps.append(
            f"Deploy MirrorMaker ({a.mirrormaker.value}) on the edge nodes of both clusters and start it, "
            f"mirroring {a.primary_alias} -> {a.secondary_alias} and back (prefixed names)"
        )
    else:
        steps.append("Point the applications at both clusters (dual ingest); nothing is mirrored")
    return steps


def _has_schedule(answers: WizardAnswers) -> bool:
    return answers.schedule_every_minutes is not None or bool(answers.schedule_cron.strip())


def fields_of(steps: Iterable[str]) -> tuple[str, ...]:
    """All the fields of ``steps``, in order."""
    return tuple(name for step in steps for name in FIELDS[step])
