"""The ARM request bodies a provisioning sends, built from the plan (pure: no SDK, no I/O).

Bodies are REST-shaped dicts (``properties.clusterDefinition``...), which every azure-mgmt client accepts.
One carries secrets: the cluster body (the login password, in the gateway and each role, and the storage
key). No body is shown, logged or journaled: a step builds it for the one call that sends it.
"""

from __future__ import annotations

from typing import Any

from kdrtui.domain.plan import Cluster, EdgeNode, HDInsightCluster

CLUSTER_VERSION = "5.1"
KAFKA_COMPONENT_VERSION = "3.2"
HEAD_NODES = 2
ZOOKEEPER_NODES = 3
SUBNET_NAME = "kafka"
STORAGE_SKU = "Standard_LRS"
EDGE_VM_SIZE = "Standard_D3_v2"
EDGE_SCRIPT_URI = (
    "https://raw.githubusercontent.com/Azure/azure-quickstart-templates/master/quickstarts/"
    "microsoft.hdinsight/hdinsight-linux-add-edge-node/scripts/EmptyNodeSetup.sh"
)
"""Microsoft's empty edge-node install script (an edge node needs one script action)."""


def vnet_id(subscription: str, resource_group: str, vnet: str) -> str:
    """The ARM id of a VNet."""
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Network/virtualNetworks/{vnet}"
    )


def subnet_id(subscription: str, resource_group: str, vnet: str) -> str:
    """The ARM id of the cluster subnet kdrtui makes in a VNet."""
    return f"{vnet_id(subscription, resource_group, vnet)}/subnets/{SUBNET_NAME}"


PLAN_TAG = "kdrtui-plan"
"""The tag naming the plan a resource was created for."""


def tags(plan_name: str) -> dict[str, str]:
    """Tags on everything kdrtui creates (which plan made it)."""
    return {PLAN_TAG: plan_name}


def resource_group_body(region: str, plan_name: str) -> dict[str, Any]:
    """PUT body of a resource group."""
    return {"location": region, "tags": tags(plan_name)}


def storage_body(region: str, plan_name: str) -> dict[str, Any]:
    """PUT body of a cluster's storage account (StorageV2, locally redundant)."""
    return {"location": region, "kind": "StorageV2", "sku": {"name": STORAGE_SKU}, "tags": tags(plan_name)}


def vnet_body(cluster: Cluster, plan_name: str) -> dict[str, Any]:
    """PUT body of a cluster's VNet with its one subnet."""
    return {
        "location": cluster.region,
        "tags": tags(plan_name),
        "properties": {
            "addressSpace": {"addressPrefixes": [cluster.vnet_cidr]},
            "subnets": [{"name": SUBNET_NAME, "properties": {"addressPrefix": cluster.subnet_cidr}}],
        },
    }


def peering_name(vnet: str, remote_vnet: str) -> str:
    """The name of the peering from ``vnet`` to ``remote_vnet``."""
    return f"{vnet}-to-{remote_vnet}"[:80]


def peering_body(remote_vnet_id: str) -> dict[str, Any]:
    """PUT body of one side of a VNet peering."""
    return {
        "properties": {
            "remoteVirtualNetwork": {"id": remote_vnet_id},
            "allowVirtualNetworkAccess": True,
            "allowForwardedTraffic": False,
            "allowGatewayTransit": False,
            "useRemoteGateways": False,
        }
    }


def _role(
    name: str, count: int, vm_size: str, ssh_user: str, password: str, vnet: str, subnet: str
) -> dict[str, Any]:
    return {
        "name": name,
        "targetInstanceCount": count,
        "hardwareProfile": {"vmSize": vm_size},
        "osProfile": {"linuxOperatingSystemProfile": {"username": ssh_user, "password": password}},
        "virtualNetworkProfile": {"id": vnet, "subnet": subnet},
    }


def cluster_body(
    cluster: Cluster,
    *,
    plan_name: str,
    subscription: str,
    password: str,
    storage_host: str,
    storage_key: str,
) -> dict[str, Any]:
    """PUT body of an HDInsight 5.1 Kafka cluster (REFERENCE §4). Holds secrets: never log it as is."""
    hdi: HDInsightCluster | None = cluster.hdinsight
    if hdi is None or cluster.resource_group is None or cluster.vnet_name is None:
        raise ValueError("the cluster has no [hdinsight] table or network keys")
    vnet = vnet_id(subscription, cluster.resource_group, cluster.vnet_name)
    subnet = subnet_id(subscription, cluster.resource_group, cluster.vnet_name)
    worker = _role("workernode", hdi.worker_count, hdi.worker_vm_size, hdi.ssh_user, password, vnet, subnet)
    worker["dataDisksGroups"] = [{"disksPerNode": hdi.disks_per_node}]
    return {
        "location": cluster.region,
        "tags": tags(plan_name),
        "properties": {
            "clusterVersion": CLUSTER_VERSION,
            "osType": "Linux",
            "tier": "Standard",
            "clusterDefinition": {
                "kind": "kafka",
                "componentVersion": {"Kafka": KAFKA_COMPONENT_VERSION},
                "configurations": {
                    "gateway": {
                        "restAuthCredential.isEnabled": True,
                        "restAuthCredential.username": "admin",
                        "restAuthCredential.password": password,
                    }
                },
            },
            "computeProfile": {
                "roles": [
                    _role("headnode", HEAD_NODES, hdi.head_vm_size, hdi.ssh_user, password, vnet, subnet),
                    worker,
                    _role(
                        "zookeepernode",
                        ZOOKEEPER_NODES,
                        hdi.zookeeper_vm_size,
                        hdi.ssh_user,
                        password,
                        vnet,
                        subnet,
                    ),
                ]
            },
            "storageProfile": {
                "storageaccounts": [
                    {"name": storage_host, "isDefault": True, "container": hdi.name, "key": storage_key}
                ]
            },
        },
    }


def edge_node_body(node: EdgeNode) -> dict[str, Any]:
    """PUT body of an edge node: an HDInsight ``CustomApplication`` with one ``edgenode`` role."""
    return {
        "properties": {
            "applicationType": "CustomApplication",
            "computeProfile": {
                "roles": [
                    {
                        "name": "edgenode",
                        "targetInstanceCount": 1,
                        "hardwareProfile": {"vmSize": EDGE_VM_SIZE},
                    }
                ]
            },
            "installScriptActions": [
                {
                    "name": f"{node.name}-setup"[:60],
                    "uri": EDGE_SCRIPT_URI,
                    "parameters": "",
                    "roles": ["edgenode"],
                }
            ],
        }
    }


def component_version_ok(cluster: dict[str, Any]) -> bool:
    """Whether a cluster's GET body says Kafka 3.2 on HDInsight 5.1 (component keys in any case)."""
    props = cluster.get("properties") or {}
    versions = (props.get("clusterDefinition") or {}).get("componentVersion") or {}
    kafka = {k.lower(): str(v) for k, v in versions.items()}.get("kafka", KAFKA_COMPONENT_VERSION)
    version = str(props.get("clusterVersion") or CLUSTER_VERSION)
    return version.startswith(CLUSTER_VERSION) and kafka.startswith(KAFKA_COMPONENT_VERSION)
