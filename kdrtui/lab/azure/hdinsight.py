"""Microsoft.HDInsight: Kafka clusters, their edge-node applications, name checks and hosts.

A cluster PUT answers **200** with ``provisioningState InProgress`` and ``Azure-AsyncOperation`` +
``Location``. Its ``clusterState`` then moves Accepted -> ClusterStorageProvisioned ->
AzureVMConfiguration -> HdInsightConfiguration -> Running, one state per ``step_seconds``; the lab
broker behind it starts at AzureVMConfiguration and the cluster is Running only once that broker
answers (and the ``slow_cluster_seconds`` it was created with have passed). Secrets in the PUT body
(gateway and node passwords, SSH keys, storage keys) are dropped; the gateway password is kept as
an HMAC keyed with the emulator's secret, for Ambari's basic auth.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from kdrtui.domain import azure_names
from kdrtui.lab.azure import ambari, lro
from kdrtui.lab.azure.arm import location_of, new_record, require_rg, resource_json, rg_id
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.lifecycle import STAGES, begin_cluster_delete, slot
from kdrtui.lab.azure.web import ArmError, Request, Response, as_dict, not_found


def cluster_id(req: Request) -> str:
    """The route's cluster id."""
    return f"{rg_id(req)}/providers/Microsoft.HDInsight/clusters/{req.params['cluster']}"


def _public_roles(roles: list[Any]) -> list[dict[str, Any]]:
    """The compute profile's roles without passwords or SSH keys."""
    public = []
    for role in roles:
        role = as_dict(role)
        linux = as_dict(as_dict(role.get("osProfile")).get("linuxOperatingSystemProfile"))
        entry = {k: v for k, v in role.items() if k != "osProfile"}
        if linux.get("username"):
            entry["osProfile"] = {"linuxOperatingSystemProfile": {"username": linux["username"]}}
        public.append(entry)
    return public


def _validate_cluster(cloud: Cloud, req: Request, arm_id: str, props: dict[str, Any]) -> dict[str, Any]:
    name = req.params["cluster"]
    if problem := azure_names.hdinsight_cluster_name(name):
        raise ArmError(400, "InvalidClusterName", f"The cluster name is invalid: {problem}.")
    for other in cloud.store.of_kind("cluster"):
        if other["name"].lower() == name.lower() and other["id"].lower() != arm_id.lower():
            raise ArmError(409, "ClusterNameUnavailable", f"The cluster name '{name}' is already in use.")
    definition = as_dict(props.get("clusterDefinition"))
    gateway = as_dict(as_dict(definition.get("configurations")).get("gateway"))
    password = str(gateway.get("restAuthCredential.password") or "")
    if problem := azure_names.cluster_login_password(password):
        raise ArmError(400, "InvalidGatewayCredentials", f"The cluster login password is invalid: {problem}")
    roles = [as_dict(r) for r in as_dict(props.get("computeProfile")).get("roles") or []]
    workers = next((r for r in roles if str(r.get("name", "")).lower() == "workernode"), {})
    if (
        str(definition.get("kind", "")).lower() == "kafka"
        and int(workers.get("targetInstanceCount") or 0) < 3
    ):
        raise ArmError(400, "InvalidWorkerNodeCount", "A Kafka cluster needs at least 3 worker nodes.")
    vnet_id = str(as_dict(workers.get("virtualNetworkProfile")).get("id") or "")
    vnet = cloud.store.get(vnet_id) if vnet_id else None
    if vnet_id and vnet is None:
        raise ArmError(400, "InvalidNetworkConfiguration", f"Virtual network {vnet_id} was not found.")
    if vnet is not None:
        for other in cloud.store.of_kind("cluster"):
            same_vnet = str(other["private"].get("vnet_id", "")).lower() == vnet_id.lower()
            prefix = azure_names.node_name_prefix
            if same_vnet and other["id"].lower() != arm_id.lower() and prefix(other["name"]) == prefix(name):
                raise ArmError(
                    400,
                    "InvalidClusterName",
                    f"Clusters '{other['name']}' and '{name}' share virtual network {vnet['name']} and the "
                    "first six characters of their names; node host names would collide.",
                )
    return {
        "definition": definition,
        "gateway_user": str(gateway.get("restAuthCredential.username") or "admin"),
        "password": password,
        "roles": roles,
        "vnet_id": vnet_id,
        "vnet_location": vnet["location"] if vnet else None,
    }


def put_cluster(cloud: Cloud, req: Request) -> Response:
    """PUT a cluster: 200 + InProgress + LRO headers; 409 for a change of an immutable property."""
    body = req.json_object()
    require_rg(cloud, req)
    arm_id = cluster_id(req)
    props = as_dict(body.get("properties"))
    location = location_of(body)
    checked = _validate_cluster(cloud, req, arm_id, props)
    if checked["vnet_location"] and checked["vnet_location"] != location:
        raise ArmError(
            400,
            "InvalidNetworkConfiguration",
            f"The virtual network is in {checked['vnet_location']}, the cluster in {location}: they must be "
            "in the same region.",
        )
    definition = checked["definition"]
    existing = cloud.store.get(arm_id)
    if existing is not None:
        state = existing["properties"]["provisioningState"]
        if state in ("InProgress", "Deleting"):
            raise ArmError(
                409, "Conflict", f"Cluster '{existing['name']}' has an operation in progress ({state})."
            )
        old = existing["properties"]
        changed = [
            what
            for what, before, after in (
                ("location", existing["location"], location),
                ("clusterVersion", old.get("clusterVersion"), props.get("clusterVersion")),
                ("osType", old.get("osType"), props.get("osType", "Linux")),
                (
                    "kind",
                    old["clusterDefinition"].get("kind", "").lower(),
                    str(definition.get("kind", "")).lower(),
                ),
            )
            if before != after
        ]
        if changed:
            raise ArmError(
                409,
                "Conflict",
                f"Cluster '{existing['name']}' already exists; its {', '.join(changed)} cannot be changed.",
            )
        if state == "Succeeded":
            op = lro.new_operation(cloud.store, arm_id, "create", gate="create")
            cloud.store.save()
            return Response(200, resource_json(existing), lro.operation_headers(req, op))
    record = existing or new_record("cluster", arm_id, req.params["cluster"], location, body)
    name = record["name"]
    kind = str(definition.get("kind", "")).lower()
    storage = [
        {k: v for k, v in as_dict(a).items() if k.lower() not in ("key", "msiresourceid", "saskey")}
        for a in as_dict(props.get("storageProfile")).get("storageaccounts") or []
    ]
    record["properties"] = {
        "clusterVersion": props.get("clusterVersion"),
        "clusterHdpVersion": "5.1.3000.0",
        "osType": props.get("osType", "Linux"),
        "tier": props.get("tier", "Standard"),
        "clusterId": uuid.uuid4().hex,
        "clusterDefinition": {
            "kind": definition.get("kind"),
            "componentVersion": as_dict(definition.get("componentVersion")),
            "blueprint": f"https://blueprints.azurehdinsight.net/{kind}-5.1.json",
        },
        "computeProfile": {"roles": _public_roles(checked["roles"])},
        "storageProfile": {"storageaccounts": storage},
        "provisioningState": "InProgress",
        "clusterState": STAGES[0],
        "createdDate": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "quotaInfo": {"coresUsed": 0},
        "minSupportedTlsVersion": "1.2",
        "connectivityEndpoints": [
            {"name": "SSH", "protocol": "TCP", "location": "127.0.0.1", "port": cloud.port},
            {"name": "HTTPS", "protocol": "TCP", "location": "127.0.0.1", "port": cloud.port},
        ],
    }
    taken = record["private"].get("slot")
    record["private"] = {
        "slot": slot(cloud, "cluster") if taken is None else taken,
        "started": time.time(),
        "slow": cloud.faults.slow_cluster_seconds,
        "fail": cloud.faults.fail_cluster is not None and cloud.faults.fail_cluster.lower() == name.lower(),
        "kafka": str(definition.get("kind", "")).lower() == "kafka",
        "broker_requested": False,
        "vnet_id": checked["vnet_id"],
        "gateway_user": checked["gateway_user"],
        "gateway_password_hmac": cloud.password_digest(checked["password"]),
        "kafka_state": "STARTED",
    }
    cloud.store.put(record)
    ambari.initial_configs(cloud, record)
    op = lro.new_operation(cloud.store, arm_id, "create", gate="create")
    cloud.store.save()
    return Response(200, resource_json(record), lro.operation_headers(req, op))


def get_cluster(cloud: Cloud, req: Request) -> Response:
    """GET a cluster."""
    require_rg(cloud, req)
    record = cloud.store.get(cluster_id(req))
    if record is None:
        raise not_found("cluster", req.params["cluster"])
    return Response(200, resource_json(record))


def delete_cluster(cloud: Cloud, req: Request) -> Response:
    """DELETE a cluster: 202 + LRO headers; 204 when there is none."""
    require_rg(cloud, req)
    record = cloud.store.get(cluster_id(req))
    if record is None:
        return Response(204)
    begin_cluster_delete(cloud, record)
    op = lro.new_operation(cloud.store, record["id"], "delete", gate="delete")
    cloud.store.save()
    return Response(202, None, lro.operation_headers(req, op))


def list_hosts(cloud: Cloud, req: Request) -> Response:
    """POST listHosts: the cluster's nodes by role (``hn0-<first6>``, ``wn0-<first6>``, ...)."""
    require_rg(cloud, req)
    record = cloud.store.get(cluster_id(req))
    if record is None:
        raise not_found("cluster", req.params["cluster"])
    prefix = azure_names.node_name_prefix(record["name"])
    hosts = []
    for role in record["properties"]["computeProfile"]["roles"]:
        short = {"headnode": "hn", "workernode": "wn", "zookeepernode": "zk"}.get(str(role.get("name")), "en")
        for i in range(int(role.get("targetInstanceCount") or 1)):
            host = f"{short}{i}-{prefix}"
            hosts.append({"name": host, "fqdn": f"{host}.{record['name']}.lab.internal.cloudapp.net"})
    return Response(200, hosts)


def check_name(cloud: Cloud, req: Request) -> Response:
    """POST Microsoft.HDInsight/locations/{loc}/checkNameAvailability."""
    name = str(req.json_object().get("name", ""))
    if problem := azure_names.hdinsight_cluster_name(name):
        return Response(200, {"nameAvailable": False, "reason": "InvalidName", "message": problem})
    if any(c["name"].lower() == name.lower() for c in cloud.store.of_kind("cluster")):
        return Response(
            200, {"nameAvailable": False, "reason": "AlreadyExists", "message": f"{name} is already in use."}
        )
    return Response(200, {"nameAvailable": True})
