"""Microsoft.Network: virtual networks with their subnets, and virtual network peerings.

VNet PUT answers 201 (new) or 200 with ``provisioningState Updating`` and an ``Azure-AsyncOperation``;
subnets must lie inside the address space (400 ``NetcfgSubnetRangeOutsideVnet``). A peering PUT
checks that the two address spaces do not overlap (400 ``VnetAddressSpacesOverlap``); one side
peered is ``Initiated``, both sides ``Connected``, and deleting one side leaves the other
``Disconnected``.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from kdrtui.domain import azure_names
from kdrtui.lab.azure import lro
from kdrtui.lab.azure.arm import (
    check_same_location,
    location_of,
    new_record,
    require_rg,
    resource_json,
    rg_id,
)
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.state import Record
from kdrtui.lab.azure.web import ArmError, Request, Response, as_dict, not_found

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def vnet_id(req: Request) -> str:
    """The route's VNet id."""
    return f"{rg_id(req)}/providers/Microsoft.Network/virtualNetworks/{req.params['vnet']}"


def _prefixes(record: Record) -> list[Network]:
    space = record["properties"].get("addressSpace", {})
    return [ipaddress.ip_network(p, strict=False) for p in space.get("addressPrefixes", [])]


def _network(text: object, what: str) -> Network:
    try:
        return ipaddress.ip_network(str(text), strict=True)
    except ValueError:
        raise ArmError(
            400,
            "InvalidAddressPrefixFormatting",
            f"Address prefix {text} of {what} is not formatted correctly.",
        ) from None


def _nsg_ref(subnet: dict[str, Any]) -> dict[str, Any]:
    """A subnet's NSG association as GET shows it ({} when it has none; see kdrtui.lab.azure.nsg)."""
    nsg = subnet.get("networkSecurityGroup")
    return {"networkSecurityGroup": {"id": nsg}} if nsg else {}


def _vnet_json(cloud: Cloud, record: Record, **overrides: Any) -> dict[str, Any]:
    body = resource_json(record, **overrides)
    body["properties"]["subnets"] = [
        {
            "id": f"{record['id']}/subnets/{s['name']}",
            "name": s["name"],
            "type": "Microsoft.Network/virtualNetworks/subnets",
            "etag": record["etag"],
            "properties": {"addressPrefix": s["addressPrefix"], "provisioningState": "Succeeded"}
            | _nsg_ref(s),
        }
        for s in record["private"]["subnets"]
    ]
    body["properties"]["virtualNetworkPeerings"] = [
        _peering_json(cloud, p) for p in cloud.store.under(record["id"]) if p["kind"] == "peering"
    ]
    return body


def put_vnet(cloud: Cloud, req: Request) -> Response:
    """PUT a virtual network with its subnets."""
    body = req.json_object()
    require_rg(cloud, req)
    name = req.params["vnet"]
    if problem := azure_names.vnet_name(name):
        raise ArmError(400, "InvalidResourceName", f"Resource name {name} is invalid: {problem}.")
    location = location_of(body)
    props = as_dict(body.get("properties"))
    space = props.get("addressSpace") or {}
    prefixes = [_network(p, name) for p in space.get("addressPrefixes") or []]
    if not prefixes:
        raise ArmError(400, "InvalidAddressSpace", f"Virtual network {name} has no address prefixes.")
    subnets = []
    for subnet in props.get("subnets") or []:
        sub_name = subnet.get("name", "")
        sub_props = subnet.get("properties") or {}
        prefix = _network(sub_props.get("addressPrefix") or subnet.get("addressPrefix"), f"subnet {sub_name}")
        if not any(prefix.subnet_of(p) for p in prefixes if p.version == prefix.version):  # type: ignore[arg-type]
            raise ArmError(
                400,
                "NetcfgSubnetRangeOutsideVnet",
                f"Subnet '{sub_name}' is not valid because its IP address range is outside the IP "
                f"address range of virtual network '{name}'.",
            )
        entry = {"name": sub_name, "addressPrefix": str(prefix)}
        if nsg_ref := (sub_props.get("networkSecurityGroup") or {}).get("id"):
            entry["networkSecurityGroup"] = str(nsg_ref)  # the NSG association (see kdrtui.lab.azure.nsg)
        subnets.append(entry)
    arm_id = vnet_id(req)
    existing = cloud.store.get(arm_id)
    if existing is not None:
        check_same_location(existing, location)
        record = existing
    else:
        record = new_record("vnet", arm_id, name, location, body)
        record["properties"]["resourceGuid"] = str(uuid.uuid4())
    record["properties"]["provisioningState"] = "Succeeded"
    record["properties"]["addressSpace"] = {"addressPrefixes": [str(p) for p in prefixes]}
    record["properties"]["enableDdosProtection"] = False
    record["private"]["subnets"] = subnets
    cloud.store.put(record)
    op = lro.new_operation(cloud.store, arm_id, "create")
    cloud.store.save()
    return Response(
        200 if existing else 201,
        _vnet_json(cloud, record, provisioningState="Updating"),
        lro.operation_headers(req, op),
    )


def get_vnet(cloud: Cloud, req: Request) -> Response:
    """GET a virtual network (with its subnets and peerings)."""
    require_rg(cloud, req)
    record = cloud.store.get(vnet_id(req))
    if record is None:
        raise not_found("virtual network", req.params["vnet"])
    return Response(200, _vnet_json(cloud, record))


def get_subnet(cloud: Cloud, req: Request) -> Response:
    """GET one subnet of a virtual network."""
    record = cloud.store.get(vnet_id(req))
    subnets = {s["name"].lower(): s for s in record["private"]["subnets"]} if record else {}
    if record is None or req.params["subnet"].lower() not in subnets:
        raise not_found("subnet", req.params["subnet"], "NotFound")
    subnet = subnets[req.params["subnet"].lower()]
    return Response(
        200, _vnet_json(cloud, record)["properties"]["subnets"][list(subnets).index(subnet["name"].lower())]
    )


def delete_vnet(cloud: Cloud, req: Request) -> Response:
    """DELETE a virtual network (400 ``InUseSubnetCannotBeDeleted`` while a cluster uses it)."""
    require_rg(cloud, req)
    arm_id = vnet_id(req)
    record = cloud.store.get(arm_id)
    if record is None:
        return Response(204)
    for cluster in cloud.store.of_kind("cluster"):
        if str(cluster["private"].get("vnet_id", "")).lower() == arm_id.lower():
            raise ArmError(
                400,
                "InUseSubnetCannotBeDeleted",
                f"Subnet of virtual network {record['name']} is in use by cluster {cluster['name']} "
                "and cannot be deleted.",
            )
    for peering in cloud.store.under(arm_id):
        _drop_peering(cloud, peering)
    cloud.store.delete(arm_id)
    op = lro.new_operation(cloud.store, arm_id, "delete")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op))


# Peerings ----------------------------------------------------------------------------------------


def peering_id(req: Request) -> str:
    """The route's peering id."""
    return f"{vnet_id(req)}/virtualNetworkPeerings/{req.params['peering']}"


def _reverse(cloud: Cloud, peering: Record) -> Record | None:
    """The remote VNet's peering back to this peering's VNet, if there is one."""
    local_vnet = peering["id"].rsplit("/virtualNetworkPeerings/", 1)[0].lower()
    remote = str(peering["private"]["remote_id"]).lower()
    for other in cloud.store.under(remote):
        if other["kind"] == "peering" and str(other["private"]["remote_id"]).lower() == local_vnet:
            return other
    return None


def _peering_json(cloud: Cloud, record: Record) -> dict[str, Any]:
    body = resource_json(record)
    body["etag"] = record["etag"]
    remote = cloud.store.get(record["private"]["remote_id"])
    if remote is not None:
        body["properties"]["remoteAddressSpace"] = remote["properties"]["addressSpace"]
    return body


def _drop_peering(cloud: Cloud, peering: Record) -> None:
    reverse = _reverse(cloud, peering)
    if reverse is not None:
        reverse["properties"]["peeringState"] = "Disconnected"
        reverse["properties"]["peeringSyncLevel"] = "LocalAndRemoteNotInSync"
    cloud.store.delete(peering["id"])


def put_peering(cloud: Cloud, req: Request) -> Response:
    """PUT a peering: Initiated until the remote side peers back, then both Connected."""
    body = req.json_object()
    require_rg(cloud, req)
    vnet = cloud.store.get(vnet_id(req))
    if vnet is None:
        raise not_found("virtual network", req.params["vnet"])
    props = as_dict(body.get("properties"))
    remote_id = str((props.get("remoteVirtualNetwork") or {}).get("id") or "")
    arm_id = peering_id(req)
    remote = cloud.store.get(remote_id) if remote_id else None
    if remote is None or remote["kind"] != "vnet":
        raise ArmError(
            400,
            "RemoteVnetNotFound",
            f"Cannot create or update peering {arm_id}: remote virtual network {remote_id or '(none)'} "
            "does not exist.",
        )
    for local_prefix in _prefixes(vnet):
        for remote_prefix in _prefixes(remote):
            if local_prefix.overlaps(remote_prefix):
                raise ArmError(
                    400,
                    "VnetAddressSpacesOverlap",
                    f"Cannot create or update peering {arm_id}. Virtual networks {vnet['id']} and "
                    f"{remote['id']} cannot be peered because their address spaces overlap. "
                    f"Overlapping address prefixes: {local_prefix}, {remote_prefix}",
                )
    existing = cloud.store.get(arm_id)
    if existing is not None and str(existing["private"]["remote_id"]).lower() != remote_id.lower():
        raise ArmError(
            409,
            "Conflict",
            f"Peering {arm_id} already peers with {existing['private']['remote_id']}; its remote virtual "
            "network cannot be changed.",
        )
    record = existing or new_record("peering", arm_id, req.params["peering"], "", body)
    record["private"]["remote_id"] = remote["id"]
    record["properties"].update(
        {
            "provisioningState": "Succeeded",
            "remoteVirtualNetwork": {"id": remote["id"]},
            "allowVirtualNetworkAccess": bool(props.get("allowVirtualNetworkAccess", True)),
            "allowForwardedTraffic": bool(props.get("allowForwardedTraffic", False)),
            "allowGatewayTransit": bool(props.get("allowGatewayTransit", False)),
            "useRemoteGateways": bool(props.get("useRemoteGateways", False)),
        }
    )
    cloud.store.put(record)
    reverse = _reverse(cloud, record)
    for side in (record, reverse) if reverse is not None else (record,):
        side["properties"]["peeringState"] = "Connected" if reverse is not None else "Initiated"
        side["properties"]["peeringSyncLevel"] = "FullyInSync" if reverse is not None else "RemoteNotInSync"
    op = lro.new_operation(cloud.store, arm_id, "create")
    cloud.store.save()
    return Response(
        200 if existing else 201,
        _peering_json(cloud, record)
        | {"properties": {**record["properties"], "provisioningState": "Updating"}},
        lro.operation_headers(req, op),
    )


def get_peering(cloud: Cloud, req: Request) -> Response:
    """GET a peering (its ``peeringState``)."""
    require_rg(cloud, req)
    record = cloud.store.get(peering_id(req))
    if record is None:
        raise not_found("virtual network peering", req.params["peering"], "NotFound")
    return Response(200, _peering_json(cloud, record))


def delete_peering(cloud: Cloud, req: Request) -> Response:
    """DELETE a peering: the remote side's peering becomes Disconnected."""
    require_rg(cloud, req)
    record = cloud.store.get(peering_id(req))
    if record is None:
        return Response(204)
    _drop_peering(cloud, record)
    op = lro.new_operation(cloud.store, record["id"], "delete")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op))
