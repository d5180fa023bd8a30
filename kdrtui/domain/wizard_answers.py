"""The topology wizard's answers and how it asks for them: steps, fields, labels, help and choices.

The checks of the answers and the plan they make are :mod:`kdrtui.domain.wizard`'s.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from kdrtui.domain.plan import (
    AutomationMode,
    MirrorMakerKind,
    Naming,
    Plan,
    SwitchMethod,
    Topology,
)
from kdrtui.domain.security import SaslMechanism, SecurityProtocol
from kdrtui.domain.topologies import topology_info


class Automation(StrEnum):
    """The wizard's one answer for the ``[automation]`` policy: off, or its mode."""

    OFF = "off"
    """No ``[automation]`` table (or the opened plan's, with ``enabled = false``)."""
    ADVISE = AutomationMode.ADVISE.value
    ACT = AutomationMode.ACT.value


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
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    """How clients and MirrorMaker connect to both clusters (a ``[security]`` table on each)."""
    security_ca_file: str = ""
    security_cert_file: str = ""
    security_key_file: str = ""
    security_mechanism: SaslMechanism = SaslMechanism.SCRAM_SHA_512
    security_username: str = "kdrtui"
    security_password_env: str = "KDR_KAFKA_PASSWORD"
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
    automation: Automation = Automation.OFF
    """The automated failover policy ``kdrtui watch`` runs: off, advise (pages only) or act."""
    automation_hold_down_seconds: int = 120
    automation_max_rpo_records: int = 0
    automation_cooldown_seconds: int = 3600
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
        "security_protocol",
        "security_ca_file",
        "security_cert_file",
        "security_key_file",
        "security_mechanism",
        "security_username",
        "security_password_env",
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
        "automation",
        "automation_hold_down_seconds",
        "automation_max_rpo_records",
        "automation_cooldown_seconds",
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
    "security_protocol": "Kafka security",
    "security_ca_file": "CA file (PEM)",
    "security_cert_file": "Client cert (mutual TLS)",
    "security_key_file": "Client key (mutual TLS)",
    "security_mechanism": "SASL mechanism",
    "security_username": "SASL user",
    "security_password_env": "SASL password env var",
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
    "automation": "Automated failover",
    "automation_hold_down_seconds": "Hold-down (seconds)",
    "automation_max_rpo_records": "Max unmirrored records",
    "automation_cooldown_seconds": "Cooldown (seconds)",
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
    "security_protocol": "PLAINTEXT, SSL (HDInsight TLS on 9093), SASL_PLAINTEXT or SASL_SSL; fence = acl",
    "security_ca_file": "PEM file of the CA that signed the brokers' certificates (absolute or ~/)",
    "security_cert_file": "Mutual TLS: the client certificate (PEM); empty: no client certificate",
    "security_key_file": "Mutual TLS: the client's private key (PEM), with the certificate",
    "security_mechanism": "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or GSSAPI (Kerberos: edit the plan)",
    "security_username": "The SASL user kdrtui and MirrorMaker connect as",
    "security_password_env": "NAME of the environment variable holding the SASL password",
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
    "switch_method": "none: you move clients; command: kdrtui runs a command; dns: a Private DNS record",
    "switch_command": "Shell command, run on your machine, that points clients at the other cluster",
    "automation": (
        "act: fails over without a person; a false alarm does too and may lose unmirrored records. "
        "advise: pages only"
    ),
    "automation_hold_down_seconds": (
        "Seconds the primary must look down before it counts (5-86400): rides out blips but adds to the RTO"
    ),
    "automation_max_rpo_records": (
        "Act only if at most this many records are unmirrored (0: lose none); otherwise only advise"
    ),
    "automation_cooldown_seconds": "No automatic failover within this many seconds of a failover or failback",
}
"""One line of help per field."""

CHOICES: dict[str, tuple[StrEnum, ...]] = {
    "topology": tuple(Topology),
    "naming": tuple(Naming),
    "mirrormaker": tuple(MirrorMakerKind),
    "switch_method": tuple(SwitchMethod),
    "security_protocol": tuple(SecurityProtocol),
    "security_mechanism": tuple(SaslMechanism),
    "automation": tuple(Automation),
}
"""The members of the fields that are a choice (the rest are free text); ``member.value`` is the text
:func:`set_field` takes."""

_ENUMS: dict[str, type[StrEnum]] = {
    "topology": Topology,
    "naming": Naming,
    "mirrormaker": MirrorMakerKind,
    "switch_method": SwitchMethod,
    "security_protocol": SecurityProtocol,
    "security_mechanism": SaslMechanism,
    "automation": Automation,
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
        "automation_hold_down_seconds",
        "automation_max_rpo_records",
        "automation_cooldown_seconds",
    }
)
_OPTIONAL_INTS = frozenset(
    {"schedule_every_minutes", "schedule_run_minutes", "secondary_worker_count", "secondary_disks_per_node"}
)
_MIRRORING_ONLY = frozenset(FIELDS["replication"]) | {"ssh_key_file"}
_SCHEDULE = frozenset({"schedule_every_minutes", "schedule_run_minutes", "schedule_cron"})
_TLS = frozenset({"security_ca_file", "security_cert_file", "security_key_file"})
_SASL = frozenset({"security_mechanism", "security_username", "security_password_env"})
_AUTOMATION_SETTINGS = frozenset(
    {"automation_hold_down_seconds", "automation_max_rpo_records", "automation_cooldown_seconds"}
)
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
        if name in _TLS and not answers.security_protocol.tls:
            return False
        if name in _SASL and not answers.security_protocol.sasl:
            return False
        if name in _AUTOMATION_SETTINGS and answers.automation == Automation.OFF:
            return False
        return not (name == "switch_command" and answers.switch_method != SwitchMethod.COMMAND)

    return tuple(name for name in FIELDS[step] if shown(name))


def step_note(answers: WizardAnswers, step: str) -> str:
    """A line to show above the step's fields (empty when there is nothing to say); the objectives step's,
    on the automated failover policy, is added by :func:`kdrtui.domain.wizard.step_note`."""
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


def store_field(answers: WizardAnswers, name: str, text: str) -> str | None:
    """Store ``text`` typed into field ``name``, parsed to the field's type; return why it cannot be parsed,
    or None (see :func:`kdrtui.domain.wizard.set_field`, which also checks the value).

    Text that cannot be parsed (a number field holding ``abc``) leaves the previous value and is reported
    until the field is set again.
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
    return None


def fields_of(steps: Iterable[str]) -> tuple[str, ...]:
    """All the fields of ``steps``, in order."""
    return tuple(name for step in steps for name in FIELDS[step])
