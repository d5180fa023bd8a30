"""Microsoft.Network/privateDnsZones: zones, their virtual network links and A / CNAME record sets.

As ``azure-mgmt-privatedns`` (api-version 2024-06-01) expects them: a zone PUT answers 201 (new) or
200 with ``provisioningState Updating`` and an ``Azure-AsyncOperation`` (the SDK's
``begin_create_or_update`` polls it, then GETs the zone); its ``location`` must be ``global``. A link
PUT is the same, and must name an existing VNet (400 ``InvalidVirtualNetworkId``), one link per VNet
and zone (409 ``Conflict``). A zone with links cannot be deleted (400). Record sets are synchronous
(200/201), with ARM's etag semantics: ``If-Match: <etag>`` (412 when it differs) and
``If-None-Match: *`` (412 when the set exists); every change gives a new etag.

After each change the zone's content is written to ``<home>/dns/<zone>.json`` (``{"zone", "records":
{name: {"type", "ttl", "a": [...], "cname"}}, "links": [VNet ids]}``), where the lab's resolver
(:mod:`kdrtui.lab.resolve`) reads it. Each cluster's broker has a private IP in its subnet
(:func:`broker_ip`): Azure keeps the first four addresses of a subnet, so the first broker is ``.4``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import uuid
from pathlib import Path
from typing import Any

from kdrtui.domain import dns_names
from kdrtui.lab.azure import lro
from kdrtui.lab.azure.arm import new_record, require_rg, resource_json, rg_id
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.state import Record, Store
from kdrtui.lab.azure.web import ArmError, Request, Response, as_dict, not_found

ZONE_TYPE = "Microsoft.Network/privateDnsZones"
RECORD_TYPES = ("A", "CNAME")
AZURE_RESERVED = 4
"""Addresses Azure keeps at the start of every subnet (network, gateway, two for DNS)."""
DNS_DIR = "dns"


def zone_id(req: Request) -> str:
    """The route's zone id."""
    return f"{rg_id(req)}/providers/{ZONE_TYPE}/{req.params['zone']}"


def _zone(cloud: Cloud, req: Request) -> Record:
    require_rg(cloud, req)
    record = cloud.store.get(zone_id(req))
    if record is None or record["kind"] != "dns_zone":
        raise not_found("private DNS zone", req.params["zone"], "ParentResourceNotFound")
    return record


def _global(body: dict[str, Any]) -> None:
    location = str(body.get("location") or "").lower()
    if location != "global":
        raise ArmError(
            400,
            "InvalidLocation",
            f"The location '{body.get('location')}' is not valid for a private DNS zone: it must be "
            "'global'.",
        )


def _preconditions(req: Request, existing: Record | None) -> None:
    """ARM's optimistic concurrency: ``If-Match`` and ``If-None-Match: *``."""
    if_match = req.header("If-Match")
    # Clients quote the etag (RFC 7232: If-Match: "<etag>"); the resource shows it bare.
    if if_match and if_match != "*" and (existing is None or existing["etag"] != if_match.strip('"')):
        raise ArmError(
            412, "PreconditionFailed", "The etag in If-Match does not match the resource's current etag."
        )
    if if_match == "*" and existing is None:
        raise ArmError(412, "PreconditionFailed", "If-Match: * but the resource does not exist.")
    if req.header("If-None-Match") == "*" and existing is not None:
        raise ArmError(412, "PreconditionFailed", "If-None-Match: * but the resource already exists.")


# Zones -------------------------------------------------------------------------------------------


def _zone_json(cloud: Cloud, record: Record, **overrides: Any) -> dict[str, Any]:
    children = cloud.store.under(record["id"])
    links = [c for c in children if c["kind"] == "dns_link"]
    sets = [c for c in children if c["kind"] == "dns_record"]
    record["properties"].update(
        {
            "maxNumberOfRecordSets": 25000,
            "numberOfRecordSets": len(sets) + 1,  # and the zone's SOA
            "maxNumberOfVirtualNetworkLinks": 1000,
            "numberOfVirtualNetworkLinks": len(links),
            "maxNumberOfVirtualNetworkLinksWithRegistration": 100,
            "numberOfVirtualNetworkLinksWithRegistration": sum(
                1 for link in links if link["properties"].get("registrationEnabled")
            ),
        }
    )
    return resource_json(record, **overrides)


def put_zone(cloud: Cloud, req: Request) -> Response:
    """PUT a zone: 201/200 + ``Updating`` + LRO headers."""
    body = req.json_object()
    require_rg(cloud, req)
    name = req.params["zone"]
    if problem := dns_names.zone_name(name):
        raise ArmError(400, "BadRequest", f"The zone name is invalid: {problem}.")
    _global(body)
    arm_id = zone_id(req)
    existing = cloud.store.get(arm_id)
    _preconditions(req, existing)
    record = existing or new_record("dns_zone", arm_id, name.lower(), "global", body)
    if existing is not None:
        record["tags"] = as_dict(body.get("tags"))
        record["etag"] = str(uuid.uuid4())
    else:
        record["etag"] = str(uuid.uuid4())
        record["properties"] = {"internalId": uuid.uuid4().hex}
    record["properties"]["provisioningState"] = "Succeeded"
    cloud.store.put(record)
    op = lro.new_operation(cloud.store, arm_id, "create")
    cloud.store.save()
    write_zone_file(cloud.home, cloud.store, record)
    return Response(
        200 if existing else 201,
        _zone_json(cloud, record, provisioningState="Updating"),
        lro.operation_headers(req, op),
    )


def get_zone(cloud: Cloud, req: Request) -> Response:
    """GET a zone."""
    return Response(200, _zone_json(cloud, _zone(cloud, req)))


def delete_zone(cloud: Cloud, req: Request) -> Response:
    """DELETE a zone (its record sets go with it): 202 + LRO; 204 when there is none; 400 while linked."""
    require_rg(cloud, req)
    record = cloud.store.get(zone_id(req))
    if record is None:
        return Response(204)
    _preconditions(req, record)
    children = cloud.store.under(record["id"])
    if any(c["kind"] == "dns_link" for c in children):
        raise ArmError(
            400,
            "BadRequest",
            f"The private DNS zone '{record['name']}' has virtual network links; delete them before the "
            "zone.",
        )
    for child in children:
        cloud.store.delete(child["id"])
    cloud.store.delete(record["id"])
    op = lro.new_operation(cloud.store, record["id"], "delete")
    cloud.store.save()
    zone_file(cloud.home, record["name"]).unlink(missing_ok=True)
    return Response(202, None, lro.operation_headers(req, op))


# Virtual network links ---------------------------------------------------------------------------


def link_id(req: Request) -> str:
    """The route's link id."""
    return f"{zone_id(req)}/virtualNetworkLinks/{req.params['link']}"


def put_link(cloud: Cloud, req: Request) -> Response:
    """PUT a virtual network link: 201/200 + ``Updating`` + LRO headers."""
    body = req.json_object()
    zone = _zone(cloud, req)
    _global(body)
    props = as_dict(body.get("properties"))
    vnet_id = str(as_dict(props.get("virtualNetwork")).get("id") or "")
    vnet = cloud.store.get(vnet_id) if vnet_id else None
    if vnet is None or vnet["kind"] != "vnet":
        raise ArmError(
            400, "InvalidVirtualNetworkId", f"The virtual network '{vnet_id or '(none)'}' does not exist."
        )
    arm_id = link_id(req)
    existing = cloud.store.get(arm_id)
    _preconditions(req, existing)
    for other in cloud.store.under(zone["id"]):
        same = str(other["properties"].get("virtualNetwork", {}).get("id", "")).lower() == vnet_id.lower()
        if other["kind"] == "dns_link" and same and other["id"].lower() != arm_id.lower():
            raise ArmError(
                409,
                "Conflict",
                f"The virtual network {vnet['name']} is already linked to zone {zone['name']} by "
                f"{other['name']}.",
            )
    record = existing or new_record("dns_link", arm_id, req.params["link"], "global", body)
    record["tags"] = as_dict(body.get("tags"))
    record["etag"] = str(uuid.uuid4())
    record["properties"] = {
        "virtualNetwork": {"id": vnet["id"]},
        "registrationEnabled": bool(props.get("registrationEnabled", False)),
        "virtualNetworkLinkState": "Completed",
        "provisioningState": "Succeeded",
    }
    cloud.store.put(record)
    op = lro.new_operation(cloud.store, arm_id, "create")
    cloud.store.save()
    write_zone_file(cloud.home, cloud.store, zone)
    return Response(
        200 if existing else 201,
        resource_json(record, provisioningState="Updating", virtualNetworkLinkState="InProgress"),
        lro.operation_headers(req, op),
    )


def get_link(cloud: Cloud, req: Request) -> Response:
    """GET a virtual network link."""
    _zone(cloud, req)
    record = cloud.store.get(link_id(req))
    if record is None:
        raise not_found("virtual network link", req.params["link"])
    return Response(200, resource_json(record))


def delete_link(cloud: Cloud, req: Request) -> Response:
    """DELETE a virtual network link: 202 + LRO; 204 when there is none."""
    zone = _zone(cloud, req)
    record = cloud.store.get(link_id(req))
    if record is None:
        return Response(204)
    _preconditions(req, record)
    cloud.store.delete(record["id"])
    op = lro.new_operation(cloud.store, record["id"], "delete")
    cloud.store.save()
    write_zone_file(cloud.home, cloud.store, zone)
    return Response(202, None, lro.operation_headers(req, op))


# Record sets -------------------------------------------------------------------------------------


def _record_type(req: Request) -> str:
    kind = req.params["rtype"].upper()
    if kind not in RECORD_TYPES:
        raise ArmError(400, "BadRequest", f"Record type {req.params['rtype']} is not emulated (A, CNAME).")
    return kind


def record_id(req: Request) -> str:
    """The route's record set id (its type in upper case)."""
    return f"{zone_id(req)}/{_record_type(req)}/{req.params['record']}"


def _record_json(zone: Record, record: Record) -> dict[str, Any]:
    body = resource_json(record)
    body["properties"]["fqdn"] = dns_names.record_fqdn(record["name"], zone["name"]) + "."
    return body


def _record_properties(kind: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    ttl = props.get("ttl")
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl <= dns_names.TTL_MAX:
        raise ArmError(400, "BadRequest", f"The TTL of record set {name} must be 0 to {dns_names.TTL_MAX}.")
    out: dict[str, Any] = {"ttl": ttl, "isAutoRegistered": False}
    if isinstance(props.get("metadata"), dict):
        out["metadata"] = {str(k): str(v) for k, v in props["metadata"].items()}
    if kind == "A":
        addresses = []
        for item in props.get("aRecords") or []:
            text = str(as_dict(item).get("ipv4Address") or "")
            try:
                ipaddress.IPv4Address(text)
            except ValueError:
                raise ArmError(400, "BadRequest", f"'{text}' is not a valid IPv4 address.") from None
            addresses.append({"ipv4Address": text})
        out["aRecords"] = addresses
    else:
        cname = str(as_dict(props.get("cnameRecord")).get("cname") or "")
        if not cname:
            raise ArmError(400, "BadRequest", f"The CNAME record set {name} needs cnameRecord.cname.")
        out["cnameRecord"] = {"cname": cname}
    return out


def put_record(cloud: Cloud, req: Request) -> Response:
    """PUT a record set (synchronous): 201 new, 200 replaced; 412 on a failed precondition."""
    body = req.json_object()
    zone = _zone(cloud, req)
    kind = _record_type(req)
    name = req.params["record"]
    if problem := dns_names.record_name(name):
        raise ArmError(400, "BadRequest", f"The record set name is invalid: {problem}.")
    arm_id = record_id(req)
    existing = cloud.store.get(arm_id)
    _preconditions(req, existing)
    others = [
        c
        for c in cloud.store.under(zone["id"])
        if c["kind"] == "dns_record"
        and c["name"].lower() == name.lower()
        and c["id"].lower() != arm_id.lower()
    ]
    if others and (kind == "CNAME" or others[0]["private"]["type"] == "CNAME"):
        raise ArmError(
            409, "Conflict", f"A CNAME record set cannot share the name {name} with another record set."
        )
    record = existing or new_record("dns_record", arm_id, name, "", body)
    record["location"] = ""
    record["private"]["type"] = kind
    record["extra"] = {"type": f"{ZONE_TYPE}/{kind}"}
    record["properties"] = _record_properties(kind, name, as_dict(body.get("properties")))
    record["etag"] = str(uuid.uuid4())
    cloud.store.put(record)
    cloud.store.save()
    write_zone_file(cloud.home, cloud.store, zone)
    return Response(200 if existing else 201, _record_json(zone, record))


def get_record(cloud: Cloud, req: Request) -> Response:
    """GET a record set."""
    zone = _zone(cloud, req)
    record = cloud.store.get(record_id(req))
    if record is None:
        raise not_found("record set", req.params["record"])
    return Response(200, _record_json(zone, record))


def delete_record(cloud: Cloud, req: Request) -> Response:
    """DELETE a record set: 200, or 204 when there is none."""
    zone = _zone(cloud, req)
    record = cloud.store.get(record_id(req))
    if record is None:
        return Response(204)
    _preconditions(req, record)
    cloud.store.delete(record["id"])
    cloud.store.save()
    write_zone_file(cloud.home, cloud.store, zone)
    return Response(200)


# What the lab resolves ---------------------------------------------------------------------------


def zone_file(home: Path, zone: str) -> Path:
    """Where the emulator writes what zone ``zone`` holds."""
    return home / DNS_DIR / f"{zone.lower().removesuffix('.')}.json"


def write_zone_file(home: Path, store: Store, zone: Record) -> None:
    """Write ``zone``'s records and links to :func:`zone_file` (atomically)."""
    children = store.under(zone["id"])
    records = {}
    for child in children:
        if child["kind"] != "dns_record":
            continue
        props = child["properties"]
        records[child["name"].lower()] = {
            "type": child["private"]["type"],
            "ttl": props.get("ttl"),
            "a": [a["ipv4Address"] for a in props.get("aRecords") or []],
            "cname": (props.get("cnameRecord") or {}).get("cname"),
        }
    links = sorted(c["properties"]["virtualNetwork"]["id"] for c in children if c["kind"] == "dns_link")
    data = {"zone": zone["name"], "id": zone["id"], "records": records, "links": links}
    path = zone_file(home, zone["name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def broker_ip(store: Store, cluster: Record) -> str | None:
    """The private IP of ``cluster``'s broker: the first address Azure hands out in its subnet (``.4``),
    after those of the clusters created before it in the same subnet; None without a VNet profile."""
    subnet = _subnet_of(store, cluster)
    if subnet is None:
        return None
    network, subnet_id = subnet
    earlier = [
        c
        for c in store.of_kind("cluster")
        if (s := _subnet_of(store, c)) is not None and s[1] == subnet_id and c["created"] < cluster["created"]
    ]
    return str(network.network_address + AZURE_RESERVED + len(earlier))


def _subnet_of(store: Store, cluster: Record) -> tuple[ipaddress.IPv4Network, str] | None:
    roles = cluster["properties"].get("computeProfile", {}).get("roles") or []
    workers: dict[str, Any] = next((r for r in roles if str(r.get("name", "")).lower() == "workernode"), {})
    profile = as_dict(workers.get("virtualNetworkProfile"))
    vnet = store.get(str(profile.get("id") or ""))
    subnet_name = str(profile.get("subnet") or "").rsplit("/", 1)[-1].lower()
    if vnet is None:
        return None
    for subnet in vnet["private"].get("subnets") or []:
        if subnet["name"].lower() == subnet_name:
            network = ipaddress.ip_network(subnet["addressPrefix"])
            if isinstance(network, ipaddress.IPv4Network):
                return network, f"{vnet['id'].lower()}/subnets/{subnet_name}"
    return None


_Z = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Network/privateDnsZones/(?P<zone>[^/]+)"
)
_LINK = _Z + r"/virtualNetworkLinks/(?P<link>[^/]+)"
_SET = _Z + r"/(?P<rtype>A|AAAA|CNAME|MX|PTR|SOA|SRV|TXT)/(?P<record>[^/]+)"

ROUTES = [
    ("PUT", _Z, put_zone),
    ("GET", _Z, get_zone),
    ("DELETE", _Z, delete_zone),
    ("PUT", _LINK, put_link),
    ("GET", _LINK, get_link),
    ("DELETE", _LINK, delete_link),
    ("PUT", _SET, put_record),
    ("GET", _SET, get_record),
    ("DELETE", _SET, delete_record),
]
"""The server's routes of this module (method, path pattern, handler)."""
