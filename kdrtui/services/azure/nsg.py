"""The NSG fence through ``azure-mgmt-network``: deny the Kafka ports of a cluster's subnet to the plan's
``client_cidrs``, read it back, and remove exactly what was added.

It needs only the region's Azure control plane (ARM), never the cluster's brokers. Blocking: call it in a
thread. What it does, in order, each change recorded first through ``save`` (the DR state) so an
interrupted run can always be undone:

1. read the subnet kdrtui provisions for the cluster (``[clusters.X]`` resource_group / vnet_name, subnet
   ``kafka``) and the NSG associated with it;
2. no NSG: create one (with one rule allowing every other inbound flow, as the subnet had without an NSG,
   so HDInsight's management traffic on 443 keeps flowing) and associate it with the subnet;
3. make sure the NSG has ``flushConnection`` on (else Azure applies rule changes to new flows only, and a
   producer already connected would keep writing); the value before is recorded and put back;
4. add the allow rule (the cluster's subnet, edge nodes, ``fence_allow_cidrs``) and the deny rule
   (``client_cidrs``), TCP on the Kafka ports only, below every rule already there;
5. read the NSG back and decide sample flows with :func:`kdrtui.domain.nsg_rules.decide`: a client of
   each ``client_cidrs`` denied, every allowed network allowed, on every Kafka port.

Retries (429/5xx, ``Retry-After``) are azure-core's, as for provisioning (:mod:`.clients`); errors read
``CODE: message`` (:mod:`.arm_errors`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kdrtui.domain import nsg_rules
from kdrtui.domain.plan import Cluster, Plan
from kdrtui.services.azure import bodies
from kdrtui.services.azure.arm_errors import arm_error_text
from kdrtui.services.azure.clients import AzureClients, get_or_none, raw

Save = Callable[[dict[str, Any]], None]
"""Records the fence's record (in the DR state) before the change it announces is made."""


class NsgError(RuntimeError):
    """The NSG fence could not be applied, verified or undone (the message says where and why)."""


def _where(plan: Plan, alias: str) -> tuple[Cluster, str, str]:
    """(cluster, resource group, VNet) of ``alias``'s subnet; NsgError naming the missing plan keys."""
    cluster = plan.cluster(alias)
    missing = [key for key in ("resource_group", "vnet_name", "subnet_cidr") if getattr(cluster, key) is None]
    if missing:
        raise NsgError(
            f"cluster {alias}: the NSG fence needs clusters.{alias}.{', '.join(missing)} (the subnet kdrtui "
            "provisioned the cluster in)"
        )
    return cluster, str(cluster.resource_group), str(cluster.vnet_name)


def created_nsg_name(cluster: Cluster) -> str:
    """The name of an NSG the fence creates for a cluster's subnet."""
    return f"{cluster.vnet_name}-{bodies.SUBNET_NAME}-nsg"


def _arm(what: str, call: Callable[..., Any], *args: Any) -> Any:
    from azure.core.exceptions import AzureError

    try:
        return call(*args)
    except AzureError as exc:
        raise NsgError(f"{what}: {arm_error_text(exc)}") from exc


def _wait(what: str, call: Callable[..., Any], *args: Any) -> None:
    """Start an ARM long-running operation and wait for it (the poller re-raises its failure)."""
    poller = _arm(what, call, *args)
    _arm(what, poller.result)


def _subnet(clients: AzureClients, group: str, vnet: str) -> dict[str, Any]:
    found = _arm(
        f"subnet {vnet}/{bodies.SUBNET_NAME}",
        get_or_none,
        clients.network.subnets.get,
        group,
        vnet,
        bodies.SUBNET_NAME,
    )
    if found is None:
        raise NsgError(f"subnet {vnet}/{bodies.SUBNET_NAME} in {group} does not exist")
    return dict(found)


def _nsg_of(subnet: dict[str, Any]) -> str | None:
    """The ARM id of the NSG associated with a subnet, None when there is none."""
    nsg = (subnet.get("properties") or {}).get("networkSecurityGroup") or {}
    return str(nsg["id"]) if nsg.get("id") else None


def _split(nsg_id: str) -> tuple[str, str]:
    """(resource group, name) of an NSG's ARM id."""
    parts = nsg_id.strip("/").split("/")
    lower = [p.lower() for p in parts]
    try:
        return parts[lower.index("resourcegroups") + 1], parts[lower.index("networksecuritygroups") + 1]
    except (ValueError, IndexError):
        raise NsgError(f"'{nsg_id}' is not an NSG's ARM id") from None


def _associate(
    clients: AzureClients, group: str, vnet: str, subnet: dict[str, Any], nsg_id: str | None
) -> None:
    """PUT the subnet with ``nsg_id`` as its NSG (None: no NSG), keeping its other properties."""
    props = {
        k: v
        for k, v in (subnet.get("properties") or {}).items()
        if k not in ("provisioningState", "networkSecurityGroup", "ipConfigurations")
    }
    if nsg_id is not None:
        props["networkSecurityGroup"] = {"id": nsg_id}
    body = {"name": bodies.SUBNET_NAME, "properties": props}
    what = f"subnet {vnet}/{bodies.SUBNET_NAME}"
    _wait(what, clients.network.subnets.begin_create_or_update, group, vnet, bodies.SUBNET_NAME, body)


def _get_nsg(clients: AzureClients, group: str, name: str) -> dict[str, Any] | None:
    return _arm(f"NSG {name}", get_or_none, clients.network.network_security_groups.get, group, name)


def _rules(nsg: dict[str, Any]) -> list[dict[str, Any]]:
    return list((nsg.get("properties") or {}).get("securityRules") or [])


def _vnets(plan: Plan) -> list[str]:
    """What the ``VirtualNetwork`` tag covers on a fenced subnet: its VNet and the plan's peered ones."""
    return [c.vnet_cidr for c in plan.clusters.values() if c.vnet_cidr]


def apply(
    clients: AzureClients, plan: Plan, alias: str, record: dict[str, Any], save: Save
) -> dict[str, Any]:
    """Put the NSG fence on ``alias``'s subnet (idempotent: a re-run finds what it did); the record.

    ``record`` is what an earlier, interrupted run recorded ({} the first time); ``save`` is called with the
    record before each change. Raises NsgError.
    """
    cluster, group, vnet = _where(plan, alias)
    record = dict(record)
    subnet = _subnet(clients, group, vnet)
    record.setdefault("subnet_id", str(subnet.get("id") or ""))
    nsg_id = _nsg_of(subnet)
    if nsg_id is None:
        name = created_nsg_name(cluster)
        record.update(created=True, resource_group=group, nsg=name)
        save(record)  # before creating: failback deletes what this names
        if _get_nsg(clients, group, name) is None:
            body = {
                "location": cluster.region,
                "tags": bodies.tags(plan.plan.name),
                "properties": {"securityRules": [nsg_rules.open_rule()], "flushConnection": True},
            }
            _wait(
                f"NSG {name}",
                clients.network.network_security_groups.begin_create_or_update,
                group,
                name,
                body,
            )
        found = _get_nsg(clients, group, name)
        if found is None:
            raise NsgError(f"NSG {name}: created, but not found when read back")
        nsg_id = str(found["id"])
        record.update(nsg_id=nsg_id, associated=True)
        save(record)
        _associate(clients, group, vnet, subnet, nsg_id)
    else:
        nsg_group, name = _split(nsg_id)
        record.setdefault("created", False)
        record.update(resource_group=nsg_group, nsg=name, nsg_id=nsg_id)
    nsg_group, name = str(record["resource_group"]), str(record["nsg"])
    nsg = _get_nsg(clients, nsg_group, name)
    if nsg is None:
        raise NsgError(f"NSG {name} (associated with subnet {vnet}/{bodies.SUBNET_NAME}) does not exist")
    props = nsg.get("properties") or {}
    if not props.get("flushConnection"):
        record.setdefault("flush_before", bool(props.get("flushConnection")))
        save(record)
        _set_flush(clients, nsg_group, name, nsg, True, nsg.get("location") or cluster.region)
    try:
        priorities = nsg_rules.free_priorities(_rules(nsg))
    except ValueError as exc:
        raise NsgError(f"NSG {name}: {exc}") from None
    wanted = nsg_rules.fence_rules(plan, alias, priorities)
    mine = {
        str(r.get("name")): r for r in _rules(nsg) if str(r.get("name", "")).startswith(nsg_rules.RULE_PREFIX)
    }
    record["rules"] = sorted(set(record.get("rules") or []) | {str(r["name"]) for r in wanted})
    record.update(
        ports=nsg_rules.kafka_ports(cluster),
        client_cidrs=list(plan.failover.client_cidrs),
        allowed=nsg_rules.allowed_sources(plan, alias),
    )
    save(record)  # before adding: failback deletes exactly these names
    for rule in wanted:
        there = mine.get(str(rule["name"]))
        if there is not None and _same_rule(there, rule, keep_priority=True):
            continue
        if there is not None:  # an earlier run's rule: keep its priority (it was free then)
            rule = {**rule, "properties": {**rule["properties"], "priority": _props(there).get("priority")}}
        _wait(
            f"security rule {rule['name']}",
            clients.network.security_rules.begin_create_or_update,
            nsg_group,
            name,
            str(rule["name"]),
            rule,
        )
    problems = verify(clients, plan, alias, record)
    if problems:
        raise NsgError(f"NSG {name}: the fence does not hold: " + "; ".join(problems[:4]))
    return record


def _props(rule: dict[str, Any]) -> dict[str, Any]:
    return dict(rule.get("properties") or {})


def _same_rule(there: dict[str, Any], wanted: dict[str, Any], *, keep_priority: bool = False) -> bool:
    keys = ("access", "protocol", "direction", "sourceAddressPrefixes", "destinationPortRanges")
    a, b = _props(there), _props(wanted)
    if not keep_priority and a.get("priority") != b.get("priority"):
        return False
    return all(
        sorted(map(str, a.get(k) or [])) == sorted(map(str, b.get(k) or []))
        if isinstance(b.get(k), list)
        else str(a.get(k, "")).lower() == str(b.get(k, "")).lower()
        for k in keys
    )


def verify(clients: AzureClients, plan: Plan, alias: str, record: dict[str, Any]) -> list[str]:
    """What is wrong with the fence as Azure has it now (read back): [] when it holds."""
    cluster, group, vnet = _where(plan, alias)
    name, nsg_group = str(record.get("nsg") or ""), str(record.get("resource_group") or group)
    subnet = _subnet(clients, group, vnet)
    nsg_id = _nsg_of(subnet)
    if nsg_id is None or _split(nsg_id)[1].lower() != name.lower():
        return [
            f"subnet {vnet}/{bodies.SUBNET_NAME} is not associated with NSG {name} "
            f"(it has {nsg_id or 'none'})"
        ]
    nsg = _get_nsg(clients, nsg_group, name)
    if nsg is None:
        return [f"NSG {name} is gone"]
    rules = _rules(nsg)
    names = {str(r.get("name")) for r in rules}
    problems = [f"rule {n} is missing" for n in record.get("rules") or [] if n not in names]
    if not (nsg.get("properties") or {}).get("flushConnection"):
        problems.append("flushConnection is off: connections already open would outlive the fence")
    ports = nsg_rules.kafka_ports(cluster)
    allowed = nsg_rules.allowed_sources(plan, alias)
    destination = _broker_address(cluster)
    for cidr in plan.failover.client_cidrs:
        sample = nsg_rules.sample_address(cidr, allowed)
        if sample is None:
            problems.append(f"client_cidrs {cidr} lies inside the allowed networks: nothing there is denied")
            continue
        for port in ports:
            decision = nsg_rules.decide(rules, sample, destination, port, vnet=_vnets(plan))
            if decision.allowed:
                problems.append(
                    f"a client at {sample} still reaches port {port} (rule {decision.rule} allows it)"
                )
                break
    for cidr in allowed:
        sample = nsg_rules.sample_address(cidr)
        decision = nsg_rules.decide(rules, str(sample), destination, ports[0], vnet=_vnets(plan))
        if not decision.allowed:
            problems.append(f"{cidr} (allowed) is denied port {ports[0]} by rule {decision.rule}")
    return problems


def _broker_address(cluster: Cluster) -> str:
    """An address in the cluster's subnet standing for its brokers (Azure keeps .0-.3 for itself)."""
    import ipaddress

    network = ipaddress.ip_network(str(cluster.subnet_cidr), strict=False)
    return str(network.network_address + 4)


def undo(clients: AzureClients, plan: Plan, alias: str, record: dict[str, Any], save: Save) -> None:
    """Remove exactly what :func:`apply` recorded: its rules, the flushConnection it turned on, the NSG it
    created (dissociated first). Idempotent; ``save`` gets the record after each part is undone."""
    from azure.core.exceptions import ResourceNotFoundError

    _cluster, group, vnet = _where(plan, alias)
    record = dict(record)
    name, nsg_group = str(record.get("nsg") or ""), str(record.get("resource_group") or group)
    if not name:
        return
    rules_api = clients.network.security_rules
    for rule in list(record.get("rules") or []):
        try:
            _wait(f"security rule {rule}", rules_api.begin_delete, nsg_group, name, rule)
        except NsgError as exc:
            if not isinstance(exc.__cause__, ResourceNotFoundError):
                raise
        record["rules"] = [r for r in record.get("rules") or [] if r != rule]
        save(record)
    if record.get("created"):
        subnet = _subnet(clients, group, vnet)
        there = _nsg_of(subnet)
        if there is not None and _split(there)[1].lower() == name.lower():
            _associate(clients, group, vnet, subnet, None)
        record["associated"] = False
        save(record)
        _wait(f"NSG {name}", clients.network.network_security_groups.begin_delete, nsg_group, name)
    elif "flush_before" in record and not record["flush_before"]:
        nsg = _get_nsg(clients, nsg_group, name)
        if nsg is not None:
            _set_flush(clients, nsg_group, name, nsg, False, nsg.get("location"))
        record.pop("flush_before", None)
        save(record)


def left(clients: AzureClients, plan: Plan, alias: str, record: dict[str, Any]) -> list[str]:
    """What of a fence ``record`` is still in Azure (after :func:`undo`: [] when all is gone)."""
    name, nsg_group = str(record.get("nsg") or ""), str(record.get("resource_group") or "")
    if not name:
        return []
    nsg = _get_nsg(clients, nsg_group, name)
    if nsg is None:
        return []
    if record.get("created"):
        return [f"NSG {name} (created by the fence)"]
    names = {str(r.get("name")) for r in _rules(nsg)}
    return [f"rule {n} on NSG {name}" for n in record.get("rules") or [] if n in names]


def nsg_readiness(clients: AzureClients, plan: Plan, alias: str) -> list[str]:
    """Whether the NSG fence could be put on ``alias``'s subnet now: the subnet can be read, its NSG (or
    the resource group a new one would go into) can be read, and it has two free priorities; [] when
    usable. Changes nothing."""
    try:
        _cluster, group, vnet = _where(plan, alias)
        subnet = _subnet(clients, group, vnet)
        nsg_id = _nsg_of(subnet)
        if nsg_id is None:
            _arm(f"resource group {group}", raw, clients.resource.resource_groups.get, group)
            return []
        nsg_group, name = _split(nsg_id)
        nsg = _get_nsg(clients, nsg_group, name)
        if nsg is None:
            return [
                f"cluster {alias}: subnet {vnet}/{bodies.SUBNET_NAME} names NSG {name}, which cannot be read"
            ]
        nsg_rules.free_priorities(_rules(nsg))
    except NsgError as exc:
        return [f"cluster {alias}: {exc}"]
    except ValueError as exc:
        return [f"cluster {alias}: NSG {name}: {exc}"]
    return []


def _set_flush(
    clients: AzureClients, group: str, name: str, nsg: dict[str, Any], flush: bool, location: Any
) -> None:
    """PUT the NSG back as read (its rules, tags) with ``flushConnection`` = ``flush``, and wait."""
    body = {
        "location": location,
        "tags": nsg.get("tags") or {},
        "properties": {"securityRules": _rules(nsg), "flushConnection": flush},
    }
    _wait(f"NSG {name}", clients.network.network_security_groups.begin_create_or_update, group, name, body)
