"""What the topology wizard's answers take to run: the Azure resources, their monthly cost and the
provisioning steps (the wizard's review step)."""

from __future__ import annotations

from dataclasses import dataclass

from kdrtui.domain import prices
from kdrtui.domain.plan import (
    Topology,
)
from kdrtui.domain.wizard_answers import WizardAnswers
from kdrtui.domain.wizard_plan import (
    edge_nodes,
    secondary_disks,
    secondary_worker_size,
    secondary_workers,
    target_aliases,
)

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
    for node in edge_nodes(answers):
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
