"""Microsoft.Network: network security groups, their security rules, and a subnet's NSG association.

As ``azure-mgmt-network`` expects: NSG and rule PUTs answer 201 (new) or 200 with ``provisioningState
Updating`` and an ``Azure-AsyncOperation``; DELETE answers 202 (+ LRO headers) or 204 when there is
nothing. A PUT of an NSG with ``securityRules`` replaces its rules (ARM's behaviour). Rules are checked
as Azure does (priority 100-4096, one priority per direction: 400 ``SecurityRuleConflict``...). An NSG
associated with a subnet cannot be deleted (400 ``InUseNetworkSecurityGroupCannotBeDeleted``). A subnet
PUT (``properties.networkSecurityGroup.id``) associates or dissociates an NSG.

The rules are enforced on the lab by :mod:`kdrtui.lab.azure.gate`, through :func:`subnet_rules`.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from kdrtui.domain import nsg_rules
from kdrtui.lab.azure import lro
from kdrtui.lab.azure.arm import location_of, new_record, require_rg, resource_json, rg_id
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.network import vnet_id
from kdrtui.lab.azure.state import Record
from kdrtui.lab.azure.web import ArmError, Request, Response, as_dict, not_found

ACCESS = ("Allow", "Deny")
DIRECTIONS = ("Inbound", "Outbound")
PROTOCOLS = ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")


def nsg_id(req: Request) -> str:
    """The route's NSG id."""
    return f"{rg_id(req)}/providers/Microsoft.Network/networkSecurityGroups/{req.params['nsg']}"


def _rule_records(cloud: Cloud, nsg: Record) -> list[Record]:
    return sorted(
        (r for r in cloud.store.under(nsg["id"]) if r["kind"] == "nsg_rule"),
        key=lambda r: int(r["properties"].get("priority") or 0),
    )


def _rule_json(record: Record) -> dict[str, Any]:
    body = resource_json(record)
    body["properties"]["provisioningState"] = "Succeeded"
    return body


def _subnets_using(cloud: Cloud, arm_id: str) -> list[str]:
    ids = []
    for vnet in cloud.store.of_kind("vnet"):
        for subnet in vnet["private"]["subnets"]:
            if str(subnet.get("networkSecurityGroup") or "").lower() == arm_id.lower():
                ids.append(f"{vnet['id']}/subnets/{subnet['name']}")
    return ids


def _nsg_json(cloud: Cloud, record: Record, **overrides: Any) -> dict[str, Any]:
    body = resource_json(record, **overrides)
    body["properties"]["securityRules"] = [_rule_json(r) for r in _rule_records(cloud, record)]
    body["properties"]["defaultSecurityRules"] = [
        {**rule, "id": f"{record['id']}/defaultSecurityRules/{rule['name']}"}
        for rule in nsg_rules.DEFAULT_INBOUND
    ]
    body["properties"]["subnets"] = [{"id": s} for s in _subnets_using(cloud, record["id"])]
    return body


def _check_rule(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """A rule's properties as stored; ArmError 400 as Azure words it for a bad one."""
    access = str(props.get("access", ""))
    direction = str(props.get("direction", ""))
    protocol = str(props.get("protocol", ""))
    priority = props.get("priority")
    if access.capitalize() not in ACCESS:
        raise ArmError(
            400, "SecurityRuleInvalidAccess", f"Security rule {name} has invalid Access {access!r}."
        )
    if direction.capitalize() not in DIRECTIONS:
        raise ArmError(
            400, "SecurityRuleInvalidDirection", f"Security rule {name} has invalid Direction {direction!r}."
        )
    if protocol.capitalize() not in PROTOCOLS and protocol != "*":
        raise ArmError(
            400, "SecurityRuleInvalidProtocol", f"Security rule {name} has invalid Protocol {protocol!r}."
        )
    if not isinstance(priority, int) or isinstance(priority, bool) or not 100 <= priority <= 4096:
        raise ArmError(
            400,
            "SecurityRuleInvalidPriority",
            f"Security rule {name} has invalid Priority. Value provided: {priority}. Allowed range 100-4096.",
        )
    for key in ("sourceAddressPrefixes", "destinationAddressPrefixes"):
        for prefix in props.get(key) or []:
            text = str(prefix)
            if "/" in text or text[:1].isdigit():
                try:
                    ipaddress.ip_network(text, strict=False)
                except ValueError:
                    raise ArmError(
                        400,
                        "SecurityRuleInvalidAddressPrefix",
                        f"Security rule {name} has invalid Address prefix. Value provided: {text}",
                    ) from None
    stored = {k: v for k, v in props.items() if k != "provisioningState"}
    stored.update(access=access.capitalize(), direction=direction.capitalize())
    return stored


def _conflict(cloud: Cloud, nsg: Record, name: str, props: dict[str, Any]) -> None:
    for other in _rule_records(cloud, nsg):
        same = other["name"].lower() == name.lower()
        o = other["properties"]
        if not same and o.get("priority") == props["priority"] and o.get("direction") == props["direction"]:
            raise ArmError(
                400,
                "SecurityRuleConflict",
                f"Security rule {name} conflicts with rule {other['name']}. Rules cannot have the same "
                "Priority and Direction.",
            )


def _store_rule(cloud: Cloud, nsg: Record, name: str, props: dict[str, Any]) -> tuple[Record, bool]:
    checked = _check_rule(name, props)
    _conflict(cloud, nsg, name, checked)
    arm_id = f"{nsg['id']}/securityRules/{name}"
    existing = cloud.store.get(arm_id)
    record = existing or new_record("nsg_rule", arm_id, name, "", {})
    record["properties"] = checked
    cloud.store.put(record)
    return record, existing is not None


def put_nsg(cloud: Cloud, req: Request) -> Response:
    """PUT a network security group (its ``securityRules``, when given, replace the ones it has)."""
    body = req.json_object()
    require_rg(cloud, req)
    arm_id = nsg_id(req)
    location = location_of(body)
    props = as_dict(body.get("properties"))
    existing = cloud.store.get(arm_id)
    record = existing or new_record("nsg", arm_id, req.params["nsg"], location, body)
    if existing is None:
        record["properties"]["resourceGuid"] = str(uuid.uuid4())
    else:
        record["tags"] = as_dict(body.get("tags")) or record.get("tags", {})
    record["properties"]["flushConnection"] = bool(props.get("flushConnection", False))
    record["properties"]["provisioningState"] = "Succeeded"
    cloud.store.put(record)
    if "securityRules" in props:
        wanted = [as_dict(r) for r in props.get("securityRules") or []]
        names = {str(r.get("name", "")).lower() for r in wanted}
        for old in _rule_records(cloud, record):
            if old["name"].lower() not in names:
                cloud.store.delete(old["id"])
        for rule in wanted:
            _store_rule(cloud, record, str(rule.get("name", "")), as_dict(rule.get("properties")))
    op = lro.new_operation(cloud.store, arm_id, "create")
    cloud.store.save()
    return Response(
        200 if existing else 201,
        _nsg_json(cloud, record, provisioningState="Updating"),
        lro.operation_headers(req, op),
    )


def get_nsg(cloud: Cloud, req: Request) -> Response:
    """GET a network security group with its rules, default rules and subnets."""
    require_rg(cloud, req)
    record = cloud.store.get(nsg_id(req))
    if record is None:
        raise not_found("network security group", req.params["nsg"], "NotFound")
    return Response(200, _nsg_json(cloud, record))


def delete_nsg(cloud: Cloud, req: Request) -> Response:
    """DELETE a network security group (400 while a subnet uses it)."""
    require_rg(cloud, req)
    arm_id = nsg_id(req)
    record = cloud.store.get(arm_id)
    if record is None:
        return Response(204)
    used = _subnets_using(cloud, arm_id)
    if used:
        raise ArmError(
            400,
            "InUseNetworkSecurityGroupCannotBeDeleted",
            f"Network security group {arm_id} cannot be deleted because it is in use by the following "
            f"resources: {', '.join(used)}.",
        )
    for rule in _rule_records(cloud, record):
        cloud.store.delete(rule["id"])
    cloud.store.delete(arm_id)
    op = lro.new_operation(cloud.store, arm_id, "delete")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op))


def _rule_id(req: Request) -> str:
    return f"{nsg_id(req)}/securityRules/{req.params['rule']}"


def put_rule(cloud: Cloud, req: Request) -> Response:
    """PUT one security rule of an NSG."""
    body = req.json_object()
    require_rg(cloud, req)
    nsg = cloud.store.get(nsg_id(req))
    if nsg is None:
        raise not_found("network security group", req.params["nsg"], "NotFound")
    record, existed = _store_rule(cloud, nsg, req.params["rule"], as_dict(body.get("properties")))
    op = lro.new_operation(cloud.store, record["id"], "create")
    cloud.store.save()
    answer = resource_json(record, provisioningState="Updating")
    return Response(200 if existed else 201, answer, lro.operation_headers(req, op))


def get_rule(cloud: Cloud, req: Request) -> Response:
    """GET one security rule."""
    require_rg(cloud, req)
    record = cloud.store.get(_rule_id(req))
    if record is None:
        raise not_found("security rule", req.params["rule"], "NotFound")
    return Response(200, _rule_json(record))


def delete_rule(cloud: Cloud, req: Request) -> Response:
    """DELETE one security rule (204 when there is none)."""
    require_rg(cloud, req)
    record = cloud.store.get(_rule_id(req))
    if record is None:
        return Response(204)
    cloud.store.delete(record["id"])
    op = lro.new_operation(cloud.store, record["id"], "delete")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op))


def put_subnet(cloud: Cloud, req: Request) -> Response:
    """PUT a subnet of an existing VNet: its NSG association (its address prefix cannot change here)."""
    body = req.json_object()
    require_rg(cloud, req)
    vnet = cloud.store.get(vnet_id(req))
    if vnet is None:
        raise not_found("virtual network", req.params["vnet"])
    subnets = {s["name"].lower(): s for s in vnet["private"]["subnets"]}
    name = req.params["subnet"]
    subnet = subnets.get(name.lower())
    props = as_dict(body.get("properties"))
    if subnet is None:
        raise ArmError(
            400, "InvalidRequestFormat", f"The lab emulator creates subnet {name} only with its VNet."
        )
    prefix = props.get("addressPrefix")
    if prefix is not None and str(prefix) != subnet["addressPrefix"]:
        raise ArmError(
            400,
            "InUseSubnetCannotBeUpdated",
            f"Subnet {name}: the lab emulator does not change address prefixes.",
        )
    nsg_ref = str(as_dict(props.get("networkSecurityGroup")).get("id") or "")
    if nsg_ref:
        nsg = cloud.store.get(nsg_ref)
        if nsg is None or nsg["kind"] != "nsg":
            raise ArmError(
                400,
                "InvalidResourceReference",
                f"Resource {nsg_ref} referenced by subnet {name} was not found.",
            )
        if nsg["location"] != vnet["location"]:
            raise ArmError(
                400,
                "NetworkSecurityGroupInDifferentLocation",
                f"Network security group {nsg_ref} is in {nsg['location']}, the subnet's VNet in "
                f"{vnet['location']}.",
            )
        subnet["networkSecurityGroup"] = nsg["id"]
    else:
        subnet.pop("networkSecurityGroup", None)
    vnet["etag"] = f'W/"{uuid.uuid4()}"'
    op = lro.new_operation(cloud.store, f"{vnet['id']}/subnets/{subnet['name']}", "create")
    cloud.store.save()
    return Response(200, subnet_json(vnet, subnet, "Updating"), lro.operation_headers(req, op))


def subnet_json(vnet: Record, subnet: dict[str, Any], state: str = "Succeeded") -> dict[str, Any]:
    """A subnet as GET shows it (with its NSG when it has one)."""
    props: dict[str, Any] = {"addressPrefix": subnet["addressPrefix"], "provisioningState": state}
    if subnet.get("networkSecurityGroup"):
        props["networkSecurityGroup"] = {"id": subnet["networkSecurityGroup"]}
    return {
        "id": f"{vnet['id']}/subnets/{subnet['name']}",
        "name": subnet["name"],
        "type": "Microsoft.Network/virtualNetworks/subnets",
        "etag": vnet["etag"],
        "properties": props,
    }


def subnet_rules(cloud: Cloud, vnet_arm_id: str, subnet: str) -> tuple[list[dict[str, Any]], bool] | None:
    """The custom rules of the NSG on a subnet and its ``flushConnection``; None when it has no NSG."""
    vnet = cloud.store.get(vnet_arm_id)
    if vnet is None:
        return None
    found = next((s for s in vnet["private"]["subnets"] if s["name"].lower() == subnet.lower()), None)
    if found is None or not found.get("networkSecurityGroup"):
        return None
    nsg = cloud.store.get(found["networkSecurityGroup"])
    if nsg is None:
        return None
    rules = [{"name": r["name"], "properties": dict(r["properties"])} for r in _rule_records(cloud, nsg)]
    return rules, bool(nsg["properties"].get("flushConnection"))
