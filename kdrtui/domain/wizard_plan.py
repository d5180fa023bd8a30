"""The topology wizard's answers as plan data, and back: the plan TOML's tables built from
:class:`~kdrtui.domain.wizard_answers.WizardAnswers`, and the answers that make an existing plan.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kdrtui.domain.kafka_release import SHIPPED_KAFKA_VERSION
from kdrtui.domain.plan import (
    Plan,
    Topology,
)
from kdrtui.domain.plan_failover import FenceMethod
from kdrtui.domain.security import ClusterSecurity, SaslMechanism, SecurityProtocol
from kdrtui.domain.wizard_answers import Automation, WizardAnswers
from kdrtui.domain.wizard_automation import automation_table, edge_node_name

KAFKA_HOME = "/usr/hdp/current/kafka-broker"
"""Where Kafka lives on an HDInsight node (edge nodes included)."""


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
    security = security_table(answers, base.get("security", {}))
    if security is None:
        cluster.pop("security", None)
    else:
        cluster["security"] = security
    return cluster


def security_table(answers: WizardAnswers, base: dict[str, Any]) -> dict[str, Any] | None:
    """The ``[security]`` table the answers give each cluster (None: PLAINTEXT).

    The keys the wizard does not ask about (``verify_hostname``, ``key_password_env``, MirrorMaker's own
    user, ``password_file``...) are kept from the opened plan's table while they still apply.
    """
    protocol = answers.security_protocol
    if protocol == SecurityProtocol.PLAINTEXT:
        return None
    # What the opened plan had, less what the chosen protocol cannot use.
    unused = (() if protocol.tls else _TLS_ONLY) + (() if protocol.sasl else _SASL_ONLY)
    table = {key: value for key, value in base.items() if key not in unused}
    table["protocol"] = protocol.value
    if protocol.tls:
        for key in ("ca_file", "cert_file", "key_file"):
            table[key] = getattr(answers, f"security_{key}").strip()
        if not table["cert_file"]:
            table["key_password_env"] = ""
    if protocol.sasl:
        table["mechanism"] = answers.security_mechanism.value
        if answers.security_mechanism != SaslMechanism.GSSAPI:
            table["username"] = answers.security_username.strip()
            # An empty answer keeps an opened plan's password_file.
            if answers.security_password_env.strip() or "password_file" not in table:
                table["password_env"] = answers.security_password_env.strip()
                table.pop("password_file", None)
    table = {key: value for key, value in table.items() if value != ""}
    return {key: table[key] for key in _SECURITY_ORDER if key in table} | {
        key: value for key, value in table.items() if key not in _SECURITY_ORDER
    }


_TLS_ONLY = ("ca_file", "cert_file", "key_file", "key_password_env", "verify_hostname")
"""Keys only SSL and SASL_SSL use."""
_SASL_ONLY = (
    "mechanism",
    "username",
    "password_env",
    "password_file",
    "mirrormaker_username",
    "mirrormaker_password_env",
    "mirrormaker_password_file",
    "principal",
    "keytab",
    "service_name",
)
"""Keys only SASL_PLAINTEXT and SASL_SSL use."""
_SECURITY_ORDER = ("protocol", "ca_file", "cert_file", "key_file", "mechanism", "username", "password_env")
"""The order a written table starts with (the rest follows as the opened plan had it)."""


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


def edge_nodes(answers: WizardAnswers) -> list[dict[str, Any]]:
    """The plan's ``[[edge_nodes]]`` tables (keeping what an edited plan says of a node it had)."""
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
            name = edge_node_name(alias, n)
            node = {
                "name": name,
                "cluster": alias,
                "host": edge_host(name, cluster_names[alias]),
                "user": answers.ssh_user,
                "kafka_home": KAFKA_HOME,
                # New nodes run MirrorMaker from the release kdrtui ships (HDInsight 5.1's own is 3.2.0,
                # whose MirrorMaker 2 translates offsets wrongly); an edited plan keeps its choice.
                "mirrormaker_kafka": SHIPPED_KAFKA_VERSION,
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
        if base.azure is not None:
            data["azure"] = _dump(base.azure)
    else:
        # A new plan is one kdrtui provisions: where and as whom (the subscription comes from
        # AZURE_SUBSCRIPTION_ID until the file names one).
        data["azure"] = {"credential": "default"}
        if answers.security_protocol != SecurityProtocol.PLAINTEXT:
            # Secured clusters have an authorizer: the ACL fence refuses every writer but kdrtui and
            # MirrorMaker, transactional producers included.
            data["failover"] = {"fence": FenceMethod.ACL.value}
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
    data["edge_nodes"] = edge_nodes(answers)
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
    if answers.base is not None:  # the DNS switch's keys (zone, record...) are not asked: kept
        kept = answers.base.switch.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        data["switch"].update({k: v for k, v in kept.items() if k not in ("method", "command")})
    automation = automation_table(answers)
    if automation is not None:
        data["automation"] = automation
    order = (
        "plan",
        "clusters",
        "edge_nodes",
        "flows",
        "objectives",
        "switch",
        "failover",
        "automation",
        "azure",
    )
    return {key: data[key] for key in order if key in data}


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
        if role == "primary" and cluster.security is not None:
            _read_security(answers, cluster.security)
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
    policy = plan.automation
    answers.automation = Automation(policy.mode.value) if policy.enabled else Automation.OFF
    answers.automation_hold_down_seconds = policy.hold_down_seconds
    answers.automation_max_rpo_records = policy.max_rpo_records
    answers.automation_cooldown_seconds = policy.cooldown_seconds
    return answers


def _read_security(answers: WizardAnswers, security: ClusterSecurity) -> None:
    """The wizard's security answers from the primary's ``[security]`` table."""
    answers.security_protocol = security.protocol
    answers.security_ca_file = security.ca_file or ""
    answers.security_cert_file = security.cert_file or ""
    answers.security_key_file = security.key_file or ""
    if security.mechanism is not None:
        # A table without SASL leaves the wizard's SASL defaults, for a switch to SASL later.
        answers.security_mechanism = security.mechanism
        answers.security_username = security.username or ""
        # A plan reading the password from a file keeps it (an empty answer means "as the plan says").
        answers.security_password_env = security.password_env or ""


def default_subnet(vnet_cidr: str) -> str | None:
    """The first /24 of a VNet address space (the whole space when it is smaller); None if not a CIDR."""
    try:
        network = ipaddress.IPv4Network(vnet_cidr)
    except ValueError:
        return None
    if network.prefixlen >= 24:
        return str(network)
    return str(next(network.subnets(new_prefix=24)))
