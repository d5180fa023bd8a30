"""A dated, approximate price table for estimating what a DR plan costs to run on Azure HDInsight.

Shipped in the package so estimates work offline. The numbers are approximations and go stale: every
estimate shows :data:`PRICE_TABLE_DATE` and :data:`SOURCE` says where to check them.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_TABLE_DATE = "2026-11-01"
"""When the prices below were last compared with Azure's."""

SOURCE = (
    "Approximation of Azure pay-as-you-go list prices (USD, Linux) for HDInsight Kafka nodes in US regions "
    "(VM price plus the HDInsight surcharge), standard managed disks and storage; check them against the "
    "Azure pricing calculator (https://azure.microsoft.com/pricing/calculator/) before you budget."
)

HOURS_PER_MONTH = 730
"""Azure's billing month."""

CURRENCY = "USD"


@dataclass(frozen=True)
class NodePrice:
    """Hourly price of one HDInsight node of a VM size."""

    vcpus: int
    vm_hourly: float
    """The VM itself (Linux, pay-as-you-go)."""
    hdinsight_hourly: float
    """The HDInsight surcharge on top of the VM."""

    @property
    def hourly(self) -> float:
        """What one node costs per hour on HDInsight."""
        return round(self.vm_hourly + self.hdinsight_hourly, 4)


HDINSIGHT_SURCHARGE_PER_VCPU_HOUR = 0.04
"""Approximate HDInsight surcharge per vCPU-hour, added to the VM price."""


def _node(vcpus: int, vm_hourly: float) -> NodePrice:
    return NodePrice(vcpus, vm_hourly, round(vcpus * HDINSIGHT_SURCHARGE_PER_VCPU_HOUR, 4))


NODE_PRICES: dict[str, NodePrice] = {
    # General purpose, Dv2 (the HDInsight Kafka defaults for brokers and edge nodes)
    "Standard_D3_v2": _node(4, 0.293),
    "Standard_D4_v2": _node(8, 0.585),
    "Standard_D5_v2": _node(16, 1.170),
    # Memory optimised, Dv2 (common HDInsight head nodes)
    "Standard_D12_v2": _node(4, 0.371),
    "Standard_D13_v2": _node(8, 0.741),
    "Standard_D14_v2": _node(16, 1.482),
    # Memory optimised, Ev3 (the HDInsight Kafka default head node)
    "Standard_E2_v3": _node(2, 0.126),
    "Standard_E4_v3": _node(4, 0.252),
    "Standard_E8_v3": _node(8, 0.504),
    "Standard_E16_v3": _node(16, 1.008),
    # Av2 (the HDInsight Kafka default ZooKeeper node)
    "Standard_A2_v2": _node(2, 0.091),
    "Standard_A4_v2": _node(4, 0.191),
    "Standard_A8_v2": _node(8, 0.400),
    # General purpose, Dav4 (AMD)
    "Standard_D4a_v4": _node(4, 0.192),
    "Standard_D8a_v4": _node(8, 0.384),
    "Standard_D16a_v4": _node(16, 0.768),
}
"""Per VM size (as Azure spells it; looked up case-insensitively)."""

MANAGED_DISK_MONTHLY = 40.96
"""One 1 TiB standard HDD managed disk (S30), the kind HDInsight Kafka gives its brokers, per month."""

STORAGE_ACCOUNT_MONTHLY = 5.00
"""A cluster's default storage account (StorageV2, LRS) with a few GB of logs and metadata, per month."""

VNET_PEERING_PER_GB = 0.035
"""Global VNet peering, per GB in each direction (zone 1). Traffic is not estimated: it depends on how
much is mirrored."""

HEAD_NODES = 2
"""HDInsight Kafka always has two head nodes."""
ZOOKEEPER_NODES = 3
"""HDInsight Kafka always has three ZooKeeper nodes."""

_BY_FOLDED = {size.lower(): price for size, price in NODE_PRICES.items()}


def node_price(vm_size: str) -> NodePrice | None:
    """The price of one HDInsight node of ``vm_size``; None when the table does not know the size."""
    return _BY_FOLDED.get(vm_size.lower())


def node_hourly(vm_size: str) -> float | None:
    """Hourly USD of one HDInsight node of ``vm_size`` (VM plus surcharge), None if unknown."""
    price = node_price(vm_size)
    return None if price is None else price.hourly


def nodes_monthly(vm_size: str, count: int) -> float | None:
    """Monthly USD of ``count`` HDInsight nodes of ``vm_size``, None if the size is unknown."""
    hourly = node_hourly(vm_size)
    return None if hourly is None else round(hourly * HOURS_PER_MONTH * count, 2)


def disks_monthly(count: int) -> float:
    """Monthly USD of ``count`` broker managed disks."""
    return round(MANAGED_DISK_MONTHLY * count, 2)


def monthly_cost(
    worker_vm_size: str,
    worker_count: int,
    head_vm_size: str,
    zookeeper_vm_size: str,
    disks_per_node: int,
) -> float | None:
    """Monthly USD of one HDInsight Kafka cluster (nodes, broker disks and its storage account).

    None when a VM size is not in the table.
    """
    parts = (
        nodes_monthly(worker_vm_size, worker_count),
        nodes_monthly(head_vm_size, HEAD_NODES),
        nodes_monthly(zookeeper_vm_size, ZOOKEEPER_NODES),
    )
    if any(part is None for part in parts):
        return None
    known = [part for part in parts if part is not None]
    return round(sum(known) + disks_monthly(worker_count * disks_per_node) + STORAGE_ACCOUNT_MONTHLY, 2)
