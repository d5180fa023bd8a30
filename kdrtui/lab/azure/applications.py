"""HDInsight applications: edge nodes on a cluster, each backed by a lab SSH edge node.

PUT answers 200 with ``provisioningState InProgress`` (``applicationState Installing``) and LRO
headers; the application is ``Succeeded``/``Running`` once its edge node's SSH server answers. Its
``sshEndpoints`` are ``[{location: "127.0.0.1", destinationPort: 22, publicPort: <edge port>}]``.
The cluster must be Running (409 ``Conflict`` otherwise).
"""

from __future__ import annotations

import time

from kdrtui.lab.azure import lro
from kdrtui.lab.azure.arm import new_record, require_rg, resource_json
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.hdinsight import cluster_id
from kdrtui.lab.azure.lifecycle import slot as free_slot
from kdrtui.lab.azure.state import Record
from kdrtui.lab.azure.web import ArmError, Request, Response, as_dict, not_found


def app_id(req: Request) -> str:
    """The route's application id."""
    return f"{cluster_id(req)}/applications/{req.params['app']}"


def _cluster(cloud: Cloud, req: Request) -> Record:
    require_rg(cloud, req)
    record = cloud.store.get(cluster_id(req))
    if record is None:
        raise not_found("cluster", req.params["cluster"])
    return record


def put_application(cloud: Cloud, req: Request) -> Response:
    """PUT an edge-node application: 200 + InProgress + LRO headers; starts its SSH edge node."""
    body = req.json_object()
    cluster = _cluster(cloud, req)
    arm_id = app_id(req)
    name = req.params["app"]
    if not name.replace("-", "").isalnum() or len(name) > 40:
        raise ArmError(400, "InvalidApplicationName", f"The application name '{name}' is invalid.")
    existing = cloud.store.get(arm_id)
    if existing is not None:
        state = existing["properties"]["provisioningState"]
        if state in ("InProgress", "Deleting"):
            raise ArmError(409, "Conflict", f"Application '{name}' has an operation in progress ({state}).")
        if state == "Succeeded":
            op = lro.new_operation(cloud.store, arm_id, "create", gate="create")
            cloud.store.save()
            return Response(200, resource_json(existing), lro.operation_headers(req, op))
    if cluster["properties"].get("clusterState") != "Running":
        raise ArmError(
            409,
            "Conflict",
            f"Cluster '{cluster['name']}' is {cluster['properties'].get('clusterState')}; applications can "
            "only be installed on a Running cluster.",
        )
    props = as_dict(body.get("properties"))
    slot = existing["private"]["slot"] if existing else free_slot(cloud, "application")
    record = existing or new_record("application", arm_id, name, "", body)
    port = cloud.runtime.edge_port_base + slot
    record["properties"] = {
        "applicationType": props.get("applicationType", "CustomApplication"),
        "computeProfile": {
            "roles": [
                {k: v for k, v in as_dict(r).items() if k != "osProfile"}
                for r in as_dict(props.get("computeProfile")).get("roles") or []
            ]
        },
        "installScriptActions": [
            {k: v for k, v in as_dict(a).items() if k in ("name", "uri", "roles")}
            for a in props.get("installScriptActions") or []
        ],
        "sshEndpoints": [{"location": "127.0.0.1", "destinationPort": 22, "publicPort": port}],
        "httpsEndpoints": [],
        "provisioningState": "InProgress",
        "applicationState": "Installing",
        "createdDate": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "marketplaceIdentifier": "EmptyNode",
    }
    record["private"] = {"slot": slot, "started": time.time(), "cluster": cluster["name"]}
    cloud.store.put(record)
    cloud.runtime.start_edge(name, cluster["name"], slot)
    op = lro.new_operation(cloud.store, arm_id, "create", gate="create")
    cloud.store.save()
    return Response(200, resource_json(record), lro.operation_headers(req, op))


def get_application(cloud: Cloud, req: Request) -> Response:
    """GET an application."""
    _cluster(cloud, req)
    record = cloud.store.get(app_id(req))
    if record is None:
        raise not_found("application", req.params["app"])
    return Response(200, resource_json(record))


def list_applications(cloud: Cloud, req: Request) -> Response:
    """GET the cluster's applications."""
    cluster = _cluster(cloud, req)
    apps = [resource_json(a) for a in cloud.store.under(cluster["id"]) if a["kind"] == "application"]
    return Response(200, {"value": apps})


def delete_application(cloud: Cloud, req: Request) -> Response:
    """DELETE an application: 202 + LRO headers; its edge node stops."""
    cluster = _cluster(cloud, req)
    record = cloud.store.get(app_id(req))
    if record is None:
        return Response(204)
    if record["properties"]["provisioningState"] != "Deleting":
        record["properties"]["provisioningState"] = "Deleting"
        cloud.runtime.stop_edge(record["name"], cluster["name"], record["private"]["slot"], purge=True)
    op = lro.new_operation(cloud.store, record["id"], "delete", gate="delete")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op))
