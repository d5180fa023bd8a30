"""The DR plan's model: the ``[plan]`` table, the topologies and the :class:`Plan` holding every table.

The tables live with what they describe: clusters and edge nodes in :mod:`kdrtui.domain.plan_sites`,
flows in :mod:`kdrtui.domain.plan_flows`, objectives, client switch and failover settings in
:mod:`kdrtui.domain.plan_failover`, the automated failover policy in :mod:`kdrtui.domain.plan_automation`,
the ``[azure]`` table in :mod:`kdrtui.domain.plan_azure`; the rules of single keys they share in
:mod:`kdrtui.domain.plan_fields`. Reading a plan file (and the rules that involve several keys) is
:mod:`kdrtui.domain.plan`'s, which also re-exports every model.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel

from kdrtui.domain.plan_automation import AutomationSettings
from kdrtui.domain.plan_azure import AzureSettings
from kdrtui.domain.plan_failover import ClientSwitch, FailoverSettings, Objectives
from kdrtui.domain.plan_fields import MODEL_CONFIG, rule
from kdrtui.domain.plan_flows import MirrorFlow
from kdrtui.domain.plan_sites import Cluster, EdgeNode


def _plan_name(value: str) -> str | None:
    if not 1 <= len(value) <= 64 or not value.strip():
        return f"'{value}' is {len(value)} characters; a plan name needs 1 to 64"
    return None


class Topology(StrEnum):
    """How the two sites share the work."""

    HOT_STANDBY = "hot-standby"
    """Dual ingest: applications write to both clusters and both process; nothing is mirrored."""
    COLD_STANDBY = "cold-standby"
    """Applications write to the primary only; MirrorMaker copies it in batches to an idle secondary."""
    ACTIVE_ACTIVE = "active-active"
    """Both sites take writes and MirrorMaker mirrors each into the other (prefixed topic names only)."""


class PlanInfo(BaseModel):
    """The ``[plan]`` table: the plan's name, topology and which cluster plays which role."""

    model_config = MODEL_CONFIG

    name: Annotated[str, rule(_plan_name)]
    """A short name for the plan, 1 to 64 characters (used in journals and titles)."""
    topology: Topology
    """hot-standby, cold-standby or active-active."""
    primary: str | None = None
    """Alias of the primary cluster; default: the first cluster in the file."""
    secondary: str | None = None
    """Alias of the secondary cluster; default: the first other cluster in the file."""


class Plan(BaseModel):
    """A whole DR plan file."""

    model_config = MODEL_CONFIG

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
    automation: AutomationSettings = AutomationSettings()
    """The opt-in automated failover policy ``kdrtui watch`` runs (off unless ``enabled = true``)."""

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

    def seen_from(self, where: str) -> Plan:
        """The plan as a client in ``where`` (a region, or a cluster's alias: its region) reaches the
        clusters: those of other regions through their ``remote_bootstrap_servers`` when they have them
        (``KDRTUI_REGION``). Everything else is unchanged; so is a plan without remote addresses."""
        region = self.clusters[where].region if where in self.clusters else where
        clusters = {alias: cluster.seen_from(region) for alias, cluster in self.clusters.items()}
        return self.model_copy(update={"clusters": clusters})

    def edge_nodes_for(self, alias: str) -> list[EdgeNode]:
        """The edge nodes that belong to cluster ``alias``."""
        return [node for node in self.edge_nodes if node.cluster == alias]
