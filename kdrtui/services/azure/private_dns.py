"""The DNS client switch's Azure side: the Private DNS zone, its links to the clusters' VNets, the record.

``[switch] method = "dns"`` keeps one record set, ``<record>.<zone>``, of **A records: the private IPs of
the active cluster's brokers**. Not a CNAME: a CNAME would have to name something that resolves in both
VNets, and HDInsight's broker host names (``wn0-<name>.<guid>.<region>.internal.cloudapp.net``) resolve
only inside their own VNet (Azure-provided DNS is per VNet, peering does not share it) — which is why
kdrtui advertises the brokers by IP in the first place. A records hand clients every broker for their
bootstrap (Java and librdkafka clients try each address of a name). The zone is linked to every
cluster's VNet without auto-registration, so clients in either region resolve the same record.

All calls are blocking (run them in a thread); errors are azure-core's (``arm_error_text`` reads them).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kdrtui.domain import dns_names
from kdrtui.domain.plan import Cluster, Plan
from kdrtui.services.azure.clients import AzureClients, get_or_none, raw

RECORD_TYPE = "A"
LOCATION = "global"
"""Private DNS zones and their links are global resources."""
PLAN_TAG = "kdrtui-plan"
CLUSTER_KEY = "kdrtuicluster"
"""Record-set metadata: which cluster of the plan the record names (the switch's read-back checks it).
Letters only: the safest metadata name across Azure DNS's rules."""
PLAN_KEY = "kdrtuiplan"


class DnsSwitchError(RuntimeError):
    """The plan cannot say what the DNS switch writes (no zone, no addresses for a cluster)."""


def zone_name(plan: Plan) -> str:
    """``[switch] zone``; DnsSwitchError when unset."""
    if not plan.switch.zone:
        raise DnsSwitchError('switch.zone: required for method = "dns"')
    return plan.switch.zone.removesuffix(".").lower()


def zone_group(plan: Plan) -> str:
    """Where the zone lives: ``[switch] resource_group``, else the secondary cluster's resource group.

    The secondary's, because ARM keeps a resource group's metadata in the group's region: when the
    primary's region is down, a zone in the primary's group may not be writable just when the failover
    must repoint it.
    """
    if plan.switch.resource_group:
        return plan.switch.resource_group
    for alias in (plan.secondary_alias, *plan.clusters):
        group = plan.cluster(alias).resource_group
        if group:
            return group
    raise DnsSwitchError('switch.resource_group: required for method = "dns" when no cluster names one')


def fqdn(plan: Plan) -> str:
    """The name clients bootstrap by: ``<record>.<zone>``."""
    return dns_names.record_fqdn(plan.switch.record, zone_name(plan))


def addresses(plan: Plan, alias: str) -> list[str]:
    """The A records naming cluster ``alias``: ``[switch.addresses] <alias>``, else the hosts of its
    ``bootstrap_servers`` (provisioning writes the brokers' private IPs there), in order, once each.

    Raises:
        DnsSwitchError: a host is not an IPv4 address clients could reach (a name, loopback), or none.
    """
    listed = plan.switch.addresses.get(alias)
    if listed:
        return list(dict.fromkeys(listed))
    hosts = [server.rsplit(":", 1)[0].strip("[]") for server in plan.cluster(alias).bootstrap_servers]
    found: list[str] = []
    for host in hosts:
        problem = dns_names.ipv4_address(host)
        if problem is not None:
            raise DnsSwitchError(
                f"clusters.{alias}.bootstrap_servers: {problem}; an A record needs the brokers' private IPs: "
                f"set [switch.addresses] {alias} = [...]"
            )
        found.append(str(ipaddress.IPv4Address(host)))
    if not found:
        raise DnsSwitchError(
            f"cluster {alias} has no bootstrap_servers yet (provisioning writes them): nothing to point "
            f"{fqdn(plan)} at"
        )
    return list(dict.fromkeys(found))


def link_name(cluster: Cluster) -> str:
    """The virtual network link of ``cluster``'s VNet (1-80 characters)."""
    return f"{cluster.resource_group}-{cluster.vnet_name}"[:80]


def vnet_id(subscription: str, cluster: Cluster) -> str:
    """The ARM id of ``cluster``'s VNet."""
    return (
        f"/subscriptions/{subscription}/resourceGroups/{cluster.resource_group}"
        f"/providers/Microsoft.Network/virtualNetworks/{cluster.vnet_name}"
    )


def linked_clusters(plan: Plan) -> list[tuple[str, Cluster]]:
    """(alias, cluster) of each distinct VNet the zone is linked to (clusters with a resource group and a
    VNet name), in plan order."""
    seen: dict[tuple[str, str], tuple[str, Cluster]] = {}
    for alias, cluster in plan.clusters.items():
        if cluster.resource_group and cluster.vnet_name:
            seen.setdefault((cluster.resource_group.lower(), cluster.vnet_name.lower()), (alias, cluster))
    return list(seen.values())


# -- reads and writes (blocking) ----------------------------------------------------------------------


def get_zone(clients: AzureClients, plan: Plan) -> dict[str, Any] | None:
    """The zone's REST body; None when it does not exist."""
    return get_or_none(clients.private_dns.private_zones.get, zone_group(plan), zone_name(plan))


def get_link(clients: AzureClients, plan: Plan, cluster: Cluster) -> dict[str, Any] | None:
    """The link of ``cluster``'s VNet; None when it does not exist."""
    api = clients.private_dns.virtual_network_links
    return get_or_none(api.get, zone_group(plan), zone_name(plan), link_name(cluster))


def get_record(clients: AzureClients, plan: Plan) -> dict[str, Any] | None:
    """The record set's REST body; None when it does not exist."""
    api = clients.private_dns.record_sets
    return get_or_none(api.get, zone_group(plan), zone_name(plan), RECORD_TYPE, plan.switch.record)


def record_addresses(body: dict[str, Any] | None) -> list[str]:
    """The IPs of an A record set's body (``properties.aRecords[].ipv4Address``)."""
    props = (body or {}).get("properties") or {}
    return [str(a.get("ipv4Address")) for a in props.get("aRecords") or [] if a.get("ipv4Address")]


def record_cluster(body: dict[str, Any] | None) -> str | None:
    """Which cluster the record set's metadata says it names (kdrtui writes it)."""
    metadata = ((body or {}).get("properties") or {}).get("metadata") or {}
    value = metadata.get(CLUSTER_KEY)
    return str(value) if value else None


def zone_body(plan: Plan) -> dict[str, Any]:
    """A zone's PUT body."""
    return {"location": LOCATION, "tags": {PLAN_TAG: plan.plan.name}}


def link_body(subscription: str, plan: Plan, cluster: Cluster) -> dict[str, Any]:
    """A link's PUT body: the cluster's VNet, no auto-registration (the zone holds kdrtui's record only)."""
    return {
        "location": LOCATION,
        "tags": {PLAN_TAG: plan.plan.name},
        "properties": {
            "virtualNetwork": {"id": vnet_id(subscription, cluster)},
            "registrationEnabled": False,
        },
    }


def record_body(plan: Plan, alias: str, ips: list[str]) -> dict[str, Any]:
    """The record set's PUT body: A records ``ips`` naming cluster ``alias``, the plan's TTL."""
    return {
        "properties": {
            "ttl": plan.switch.ttl_seconds,
            "metadata": {CLUSTER_KEY: alias, PLAN_KEY: plan.plan.name},
            "aRecords": [{"ipv4Address": ip} for ip in ips],
        }
    }


def write_record(clients: AzureClients, plan: Plan, alias: str, ips: list[str]) -> dict[str, Any]:
    """Point the record at ``ips`` (cluster ``alias``), then read it back; the body read back.

    Optimistic concurrency as ARM offers it: the PUT carries the etag just read (``If-Match``), or
    ``If-None-Match: *`` when the set does not exist, so a concurrent change fails (412) instead of being
    overwritten unseen.

    Raises:
        DnsSwitchError: the record read back does not hold ``ips``.
        azure.core.exceptions.AzureError: the ARM call failed.
    """
    from azure.core import MatchConditions

    api = clients.private_dns.record_sets
    group, zone = zone_group(plan), zone_name(plan)
    current = get_record(clients, plan)
    condition: dict[str, Any] = (
        {"etag": current.get("etag"), "match_condition": MatchConditions.IfNotModified}
        if current is not None and current.get("etag")
        else {"match_condition": MatchConditions.IfMissing}
    )
    raw(
        api.create_or_update,
        group,
        zone,
        RECORD_TYPE,
        plan.switch.record,
        record_body(plan, alias, ips),
        **condition,
    )
    back = get_record(clients, plan)
    held = record_addresses(back)
    if sorted(held) != sorted(ips):
        raise DnsSwitchError(
            f"{fqdn(plan)} read back holds {', '.join(held) or 'nothing'}, not {', '.join(ips)} ({alias})"
        )
    assert back is not None
    return back


def zone_readiness(clients: AzureClients, plan: Plan) -> list[str]:
    """What keeps the DNS switch from working, in words ([] when usable): the zone missing, a cluster's
    VNet not linked (or linked with auto-registration), the record missing or naming no cluster of the
    plan. Blocking: a GET of the zone, of each link and of the record set."""
    try:
        zone, group = zone_name(plan), zone_group(plan)
    except DnsSwitchError as exc:
        return [str(exc)]
    if get_zone(clients, plan) is None:
        return [
            f"Private DNS zone {zone} does not exist in resource group {group} (kdrtui provision makes it)"
        ]
    problems = []
    for alias, cluster in linked_clusters(plan):
        link = get_link(clients, plan, cluster)
        props = (link or {}).get("properties") or {}
        linked = str((props.get("virtualNetwork") or {}).get("id") or "").lower()
        if link is None or linked != vnet_id(clients.subscription_id, cluster).lower():
            problems.append(f"zone {zone} is not linked to the VNet {cluster.vnet_name} of cluster {alias}")
        elif props.get("virtualNetworkLinkState") not in (None, "Completed"):
            problems.append(
                f"the link of zone {zone} to VNet {cluster.vnet_name} is {props['virtualNetworkLinkState']}"
            )
    record = get_record(clients, plan)
    if record is None:
        problems.append(f"record {fqdn(plan)} (A) does not exist (kdrtui provision writes it)")
    else:
        held = sorted(record_addresses(record))
        known = {}
        for alias in plan.clusters:
            try:
                known[alias] = sorted(addresses(plan, alias))
            except DnsSwitchError as exc:
                problems.append(str(exc))
        if held not in known.values():
            problems.append(
                f"record {fqdn(plan)} holds {', '.join(held) or 'no address'}: no cluster of the plan has "
                "these brokers"
            )
    return problems
