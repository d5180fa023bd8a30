"""ARM basics and the Microsoft.Resources and Microsoft.Storage endpoints the provisioner calls.

Resource groups: PUT (200 existing / 201 new), GET, HEAD (204 / 404), DELETE (202 + ``Location``; the
group's contents are deleted with it, clusters stopping their brokers). Storage accounts: PUT (202 +
``Location`` for a new account, 200 for an existing one), GET, DELETE (200 / 204), POST ``listKeys``
and the subscription's ``checkNameAvailability``. Names follow Azure's rules (400
``AccountNameInvalid``...), and a PUT that would move an existing resource to another region is a 409.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from kdrtui.domain import azure_names
from kdrtui.lab.azure import lro
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.lifecycle import begin_cluster_delete
from kdrtui.lab.azure.state import Record
from kdrtui.lab.azure.web import ArmError, Request, Response, as_dict, not_found

TYPES = {
    "resource_group": "Microsoft.Resources/resourceGroups",
    "storage": "Microsoft.Storage/storageAccounts",
    "vnet": "Microsoft.Network/virtualNetworks",
    "peering": "Microsoft.Network/virtualNetworks/virtualNetworkPeerings",
    "nsg": "Microsoft.Network/networkSecurityGroups",
    "nsg_rule": "Microsoft.Network/networkSecurityGroups/securityRules",
    "cluster": "Microsoft.HDInsight/clusters",
    "application": "Microsoft.HDInsight/clusters/applications",
    "dns_zone": "Microsoft.Network/privateDnsZones",
    "dns_link": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
    "dns_record": "Microsoft.Network/privateDnsZones/A",
}


def rg_id(req: Request) -> str:
    """``/subscriptions/{s}/resourceGroups/{rg}`` of the request's route."""
    return f"/subscriptions/{req.params['sub']}/resourceGroups/{req.params['rg']}"


def new_record(kind: str, arm_id: str, name: str, location: str, body: dict[str, Any]) -> Record:
    """A fresh resource record."""
    tags = as_dict(body.get("tags"))
    return {
        "id": arm_id,
        "kind": kind,
        "name": name,
        "location": location,
        "tags": tags,
        "properties": {},
        "private": {},
        "extra": {},
        "created": time.time(),
        "etag": f'W/"{uuid.uuid4()}"',
    }


def resource_json(record: Record, **overrides: Any) -> dict[str, Any]:
    """A resource as GET shows it (``overrides`` replace properties, e.g. an initial state)."""
    body: dict[str, Any] = {
        "id": record["id"],
        "name": record["name"],
        "type": TYPES[record["kind"]],
    }
    if record.get("location"):
        body["location"] = record["location"]
    if record["kind"] not in ("resource_group", "application", "peering"):
        body["etag"] = record["etag"]
    if record.get("tags"):
        body["tags"] = record["tags"]
    body.update(record.get("extra", {}))
    body["properties"] = {**record["properties"], **overrides}
    return body


def location_of(body: dict[str, Any]) -> str:
    """The body's ``location`` (400 ``LocationRequired`` when missing), normalised like ARM does."""
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    return location.replace(" ", "").lower()


def check_same_location(record: Record, location: str) -> None:
    """409 ``InvalidResourceLocation``: an existing resource cannot move to another region."""
    if record["location"] != location:
        raise ArmError(
            409,
            "InvalidResourceLocation",
            f"The resource '{record['name']}' already exists in location '{record['location']}' in "
            f"resource group. A resource with the same name cannot be created in location "
            f"'{location}'. Please select a new resource name.",
        )


def require_rg(cloud: Cloud, req: Request) -> Record:
    """The route's resource group; 404 ``ResourceGroupNotFound``, 409 while it is being deleted."""
    record = cloud.store.get(rg_id(req))
    if record is None:
        raise ArmError(
            404, "ResourceGroupNotFound", f"Resource group '{req.params['rg']}' could not be found."
        )
    if record["properties"].get("provisioningState") == "Deleting":
        raise ArmError(
            409,
            "ResourceGroupBeingDeleted",
            f"The resource group '{record['name']}' is in deprovisioning state and cannot perform this "
            "operation.",
        )
    return record


# Resource groups ---------------------------------------------------------------------------------


def put_resource_group(cloud: Cloud, req: Request) -> Response:
    """PUT a resource group: 201 created, 200 when it exists in the same region."""
    body = req.json_object()
    name = req.params["rg"]
    if problem := azure_names.resource_group_name(name):
        raise ArmError(
            400, "InvalidResourceGroup", f"The provided resource group name is invalid: {problem}."
        )
    location = location_of(body)
    existing = cloud.store.get(rg_id(req))
    if existing is not None:
        if existing["properties"].get("provisioningState") == "Deleting":
            require_rg(cloud, req)
        if existing["location"] != location:
            raise ArmError(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{location}'. The Resource group already exists in "
                f"location '{existing['location']}'.",
            )
        if isinstance(body.get("tags"), dict):
            existing["tags"] = body["tags"]
        cloud.store.save()
        return Response(200, resource_json(existing))
    record = new_record("resource_group", rg_id(req), name, location, body)
    record["properties"] = {"provisioningState": "Succeeded"}
    cloud.store.put(record)
    cloud.store.save()
    return Response(201, resource_json(record))


def get_resource_group(cloud: Cloud, req: Request) -> Response:
    """GET (200 / 404) and HEAD (204 / 404) of a resource group."""
    record = cloud.store.get(rg_id(req))
    if record is None:
        raise not_found("resource group", req.params["rg"], "ResourceGroupNotFound")
    if req.method == "HEAD":
        return Response(204)
    return Response(200, resource_json(record))


def delete_resource_group(cloud: Cloud, req: Request) -> Response:
    """DELETE a resource group: 202 + Location; its contents go first (clusters stop their brokers)."""
    record = cloud.store.get(rg_id(req))
    if record is None:
        raise not_found("resource group", req.params["rg"], "ResourceGroupNotFound")
    if record["properties"].get("provisioningState") != "Deleting":
        record["properties"]["provisioningState"] = "Deleting"
        for cluster in cloud.store.under(record["id"]):
            if cluster["kind"] == "cluster":
                begin_cluster_delete(cloud, cluster)
    op = lro.new_operation(cloud.store, record["id"], "delete", gate="delete")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op, async_header=False))


# Storage -----------------------------------------------------------------------------------------


def storage_id(req: Request) -> str:
    """The route's storage account id."""
    return f"{rg_id(req)}/providers/Microsoft.Storage/storageAccounts/{req.params['name']}"


def _storage_name_problem(cloud: Cloud, name: str, own_id: str | None = None) -> tuple[str, str] | None:
    """``(reason, message)`` when ``name`` cannot be used for a new account, else None."""
    if azure_names.storage_account_name(name):
        return (
            "AccountNameInvalid",
            f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
            "characters in length and use numbers and lower-case letters only.",
        )
    for other in cloud.store.of_kind("storage"):
        if other["name"].lower() == name.lower() and other["id"].lower() != (own_id or "").lower():
            return ("AlreadyExists", f"The storage account named {name} is already taken.")
    return None


def put_storage(cloud: Cloud, req: Request) -> Response:
    """PUT a storage account: 202 + Location for a new one, 200 when it exists alike."""
    body = req.json_object()
    require_rg(cloud, req)
    name = req.params["name"]
    arm_id = storage_id(req)
    problem = _storage_name_problem(cloud, name, arm_id)
    if problem is not None:
        reason, message = problem
        if reason == "AccountNameInvalid":
            raise ArmError(400, "AccountNameInvalid", message)
        raise ArmError(409, "StorageAccountAlreadyTaken", message)
    location = location_of(body)
    existing = cloud.store.get(arm_id)
    if existing is not None:
        check_same_location(existing, location)
        return Response(200, resource_json(existing))
    sku = as_dict(body.get("sku"))
    if not sku.get("name"):
        raise ArmError(400, "MissingRequiredProperty", "The sku property is required.")
    record = new_record("storage", arm_id, name, location, body)
    record["extra"] = {
        "kind": body.get("kind", "StorageV2"),
        "sku": {"name": sku["name"], "tier": "Premium" if "Premium" in sku["name"] else "Standard"},
    }
    endpoint = f"https://{name}.{{}}.core.windows.net/"
    props = as_dict(body.get("properties"))
    record["properties"] = {
        "provisioningState": "Succeeded",
        "creationTime": time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime()),
        "primaryLocation": location,
        "statusOfPrimary": "available",
        "supportsHttpsTrafficOnly": props.get("supportsHttpsTrafficOnly", True),
        "isHnsEnabled": bool(props.get("isHnsEnabled", False)),
        "primaryEndpoints": {
            kind: endpoint.format(kind) for kind in ("blob", "dfs", "file", "queue", "table")
        },
    }
    cloud.store.put(record)
    op = lro.new_operation(cloud.store, arm_id, "create")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op, async_header=False) | {"Retry-After": "0"})


def get_storage(cloud: Cloud, req: Request) -> Response:
    """GET a storage account's properties."""
    require_rg(cloud, req)
    record = cloud.store.get(storage_id(req))
    if record is None:
        raise not_found("storage account", req.params["name"])
    return Response(200, resource_json(record))


def delete_storage(cloud: Cloud, req: Request) -> Response:
    """DELETE a storage account: 200, or 204 when there was none."""
    require_rg(cloud, req)
    if cloud.store.delete(storage_id(req)) is None:
        return Response(204)
    cloud.store.save()
    return Response(200)


def list_storage_keys(cloud: Cloud, req: Request) -> Response:
    """POST listKeys: the account's two keys (derived, never stored)."""
    require_rg(cloud, req)
    record = cloud.store.get(storage_id(req))
    if record is None:
        raise not_found("storage account", req.params["name"])
    keys = [
        {"keyName": key, "value": cloud.storage_key(record["name"], key), "permissions": "FULL"}
        for key in ("key1", "key2")
    ]
    return Response(200, {"keys": keys})


def check_storage_name(cloud: Cloud, req: Request) -> Response:
    """POST Microsoft.Storage/checkNameAvailability."""
    body = req.json_object()
    name = str(body.get("name", ""))
    problem = _storage_name_problem(cloud, name)
    if problem is None:
        return Response(200, {"nameAvailable": True})
    reason, message = problem
    return Response(200, {"nameAvailable": False, "reason": reason, "message": message})
