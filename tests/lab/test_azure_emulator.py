"""The lab's HTTPS Azure emulator, driven by the real Azure SDK clients (and requests for Ambari).

One emulator per module (its own port and port bases, home under tmp); each test uses resource
names of its own. One Kafka cluster (``cluster`` fixture) is created once and shared by the tests
that need a running broker; the last test deletes it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError
from azure.mgmt.hdinsight import HDInsightManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from confluent_kafka.admin import AdminClient

from kdrtui.lab import jars, process
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.plan import SUBSCRIPTION_ID
from kdrtui.services.azure.credential import StaticTokenCredential
from tests.conftest import require_java, reserved_port, wait_until

pytestmark = pytest.mark.lab

TEST_AZURE_PORT = 18543
TEST_PORT_BASE = 19492
TEST_EDGE_PORT_BASE = 12432
PASSWORD = "Lab-Passw0rd!" + secrets.token_hex(4)


@dataclass
class Clients:
    """The four SDK clients, pointed at the emulator."""

    resources: ResourceManagementClient
    storage: StorageManagementClient
    network: NetworkManagementClient
    hdinsight: HDInsightManagementClient


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureEmulator]:
    """The emulator, up for the whole module; stopped with everything it started at the end."""
    require_java()
    jars.fetch()
    with reserved_port(TEST_AZURE_PORT) as port:
        emu = AzureEmulator(
            tmp_path_factory.mktemp("azure"), port, TEST_PORT_BASE, TEST_EDGE_PORT_BASE, step_seconds=0.3
        )
        try:
            emu.up(fetch=False)
            yield emu
        finally:
            emu.down()


@pytest.fixture(scope="module")
def clients(emulator: AzureEmulator) -> Clients:
    """Real SDK clients trusting the emulator's CA, polling without delay."""
    kw: dict[str, Any] = {
        "base_url": emulator.endpoint,
        "connection_verify": str(emulator.ca_file),
        "polling_interval": 0,
    }
    cred = StaticTokenCredential()
    return Clients(
        ResourceManagementClient(cred, SUBSCRIPTION_ID, **kw),
        StorageManagementClient(cred, SUBSCRIPTION_ID, **kw),
        NetworkManagementClient(cred, SUBSCRIPTION_ID, **kw),
        HDInsightManagementClient(cred, SUBSCRIPTION_ID, **kw),
    )


def _name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def _vnet_body(location: str, cidr: str, subnet: str) -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "addressSpace": {"addressPrefixes": [cidr]},
            "subnets": [{"name": "default", "properties": {"addressPrefix": subnet}}],
        },
    }


def cluster_body(location: str, vnet_id: str, *, version: str = "5.1", name: str = "c") -> dict[str, Any]:
    """An HDInsight 5.1 Kafka cluster definition as the provisioner sends it (with its secrets)."""

    def role(role_name: str, count: int, size: str) -> dict[str, Any]:
        return {
            "name": role_name,
            "targetInstanceCount": count,
            "hardwareProfile": {"vmSize": size},
            "osProfile": {"linuxOperatingSystemProfile": {"username": "sshuser", "password": PASSWORD}},
            "virtualNetworkProfile": {"id": vnet_id, "subnet": f"{vnet_id}/subnets/default"},
        }

    workers = role("workernode", 3, "Standard_D4_v2") | {"dataDisksGroups": [{"disksPerNode": 2}]}
    gateway = {
        "restAuthCredential.isEnabled": True,
        "restAuthCredential.username": "admin",
        "restAuthCredential.password": PASSWORD,
    }
    return {
        "location": location,
        "properties": {
            "clusterVersion": version,
            "osType": "Linux",
            "tier": "Standard",
            "clusterDefinition": {
                "kind": "kafka",
                "componentVersion": {"Kafka": "3.2"},
                "configurations": {"gateway": gateway},
            },
            "computeProfile": {
                "roles": [
                    role("headnode", 2, "Standard_E4_v3"),
                    workers,
                    role("zookeepernode", 3, "Standard_A4_v2"),
                ]
            },
            "storageProfile": {
                "storageaccounts": [
                    {"name": "x.blob.core.windows.net", "isDefault": True, "container": name, "key": PASSWORD}
                ]
            },
        },
    }


def _network(clients: Clients, location: str, cidr: str = "10.9.0.0/16") -> tuple[str, str]:
    """A fresh resource group with one VNet; returns (resource group, VNet id)."""
    rg = _name("rg-")
    clients.resources.resource_groups.create_or_update(rg, {"location": location})
    subnet = cidr.replace("/16", "/24")
    vnet = clients.network.virtual_networks.begin_create_or_update(
        rg, "vnet", _vnet_body(location, cidr, subnet)
    ).result()
    return rg, str(vnet.id)


@dataclass
class Cluster:
    """The module's shared Kafka cluster."""

    rg: str
    name: str
    vnet_id: str
    bootstrap: str


@pytest.fixture(scope="module")
def cluster(clients: Clients) -> Cluster:
    """A Kafka cluster created through the SDK and Running (its lab broker answers)."""
    rg, vnet_id = _network(clients, "westus2")
    name = _name("kafka-")
    poller = clients.hdinsight.clusters.begin_create(rg, name, cluster_body("westus2", vnet_id, name=name))
    result = poller.result()
    assert result.properties.cluster_state == "Running"
    assert result.properties.provisioning_state == "Succeeded"
    return Cluster(rg, name, vnet_id, f"127.0.0.1:{TEST_PORT_BASE}")


def _topics(bootstrap: str) -> set[str] | None:
    try:
        return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2).topics)
    except Exception:
        return None


def _ambari(emulator: AzureEmulator, cluster: Cluster) -> Callable[..., requests.Response]:
    def call(
        method: str, tail: str = "", *, auth: tuple[str, str] | None = None, **kw: Any
    ) -> requests.Response:
        return requests.request(
            method,
            f"{emulator.endpoint}/api/v1/clusters/{cluster.name}{tail}",
            auth=auth or ("admin", PASSWORD),
            verify=str(emulator.ca_file),
            timeout=10,
            **kw,
        )

    return call


# Resource groups, storage, networks ----------------------------------------------------------------


def test_resource_group_create_exists_delete(clients: Clients, emulator: AzureEmulator) -> None:
    groups = clients.resources.resource_groups
    rg = _name("rg-")
    assert groups.check_existence(rg) is False
    created = groups.create_or_update(rg, {"location": "East US"})
    assert (created.name, created.location) == (rg, "eastus")
    assert groups.check_existence(rg) is True
    with pytest.raises(ResourceExistsError) as conflict:
        groups.create_or_update(rg, {"location": "westus2"})
    assert conflict.value.error is not None and conflict.value.error.code == "InvalidResourceGroupLocation"
    groups.begin_delete(rg).result()
    assert groups.check_existence(rg) is False
    statuses = [(r["method"], r["status"]) for r in emulator.requests() if r["path"].lower().endswith(rg)]
    assert ("HEAD", 404) in statuses and ("PUT", 201) in statuses and ("DELETE", 202) in statuses


def test_storage_account(clients: Clients) -> None:
    rg = _name("rg-")
    clients.resources.resource_groups.create_or_update(rg, {"location": "eastus"})
    accounts = clients.storage.storage_accounts
    name = _name("labst")
    body = {"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
    account = accounts.begin_create(rg, name, body).result()
    assert account.name == name
    assert accounts.get_properties(rg, name).location == "eastus"
    keys = accounts.list_keys(rg, name)["keys"]
    assert [k["keyName"] for k in keys] == ["key1", "key2"] and keys[0]["value"]
    taken = accounts.check_name_availability({"name": name, "type": "Microsoft.Storage/storageAccounts"})
    assert (taken["nameAvailable"], taken["reason"]) == (False, "AlreadyExists")
    with pytest.raises(HttpResponseError) as bad:
        accounts.begin_create(rg, "Bad_Name", body).result()
    assert bad.value.status_code == 400 and bad.value.error is not None
    assert bad.value.error.code == "AccountNameInvalid"
    accounts.delete(rg, name)
    assert accounts.check_name_availability({"name": name, "type": "x"})["nameAvailable"] is True


def test_vnet_peering_initiated_then_connected_and_overlap_rejected(clients: Clients) -> None:
    rg = _name("rg-")
    clients.resources.resource_groups.create_or_update(rg, {"location": "eastus"})
    vnets, peerings = clients.network.virtual_networks, clients.network.virtual_network_peerings
    a = vnets.begin_create_or_update(rg, "va", _vnet_body("eastus", "10.20.0.0/16", "10.20.0.0/24")).result()
    b = vnets.begin_create_or_update(rg, "vb", _vnet_body("eastus", "10.21.0.0/16", "10.21.0.0/24")).result()
    assert [s.name for s in vnets.get(rg, "va").properties.subnets] == ["default"]

    def peer(local: str, remote_id: str) -> Any:
        body = {"properties": {"remoteVirtualNetwork": {"id": remote_id}, "allowVirtualNetworkAccess": True}}
        return peerings.begin_create_or_update(rg, local, f"{local}-peer", body).result()

    assert peer("va", str(b.id)).properties.peering_state == "Initiated"
    assert peer("vb", str(a.id)).properties.peering_state == "Connected"
    assert peerings.get(rg, "va", "va-peer").properties.peering_state == "Connected"

    overlap = vnets.begin_create_or_update(rg, "vc", _vnet_body("eastus", "10.20.128.0/17", "10.20.128.0/24"))
    with pytest.raises(HttpResponseError) as rejected:
        peer("va", str(overlap.result().id))
    assert rejected.value.status_code == 400 and rejected.value.error is not None
    assert rejected.value.error.code == "VnetAddressSpacesOverlap"

    peerings.begin_delete(rg, "vb", "vb-peer").result()
    assert peerings.get(rg, "va", "va-peer").properties.peering_state == "Disconnected"
    vnets.begin_delete(rg, "vc").result()


def test_unauthenticated_and_versionless_requests_are_refused(emulator: AzureEmulator) -> None:
    url = f"{emulator.endpoint}/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/any"
    no_token = requests.get(
        url, params={"api-version": "2025-04-01"}, verify=str(emulator.ca_file), timeout=5
    )
    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "AuthenticationFailed"
    no_version = requests.get(
        url, headers={"Authorization": "Bearer lab-token"}, verify=str(emulator.ca_file), timeout=5
    )
    assert (
        no_version.status_code == 400 and no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    )


def test_sdk_raises_client_authentication_error_without_token(emulator: AzureEmulator) -> None:
    client = ResourceManagementClient(
        StaticTokenCredential(" "),
        SUBSCRIPTION_ID,
        base_url=emulator.endpoint,
        connection_verify=str(emulator.ca_file),
    )
    with pytest.raises(ClientAuthenticationError):
        client.resource_groups.get("anything")


def test_throttling_storm_is_ridden_out(clients: Clients, emulator: AzureEmulator) -> None:
    # azure-core retries a bad status 3 times by default (retry_status); a storm of 5 needs more.
    before = len(emulator.requests())
    emulator.faults(throttle=3, retry_after=1)
    rg = _name("rg-")
    assert clients.resources.resource_groups.create_or_update(rg, {"location": "eastus"}).name == rg
    assert [r["status"] for r in emulator.requests(before)] == [429] * 3 + [201]

    patient = ResourceManagementClient(
        StaticTokenCredential(),
        SUBSCRIPTION_ID,
        base_url=emulator.endpoint,
        connection_verify=str(emulator.ca_file),
        retry_status=10,
    )
    before = len(emulator.requests())
    emulator.faults(throttle=5, retry_after=1)
    assert patient.resource_groups.create_or_update(rg, {"location": "eastus"}).name == rg
    assert [r["status"] for r in emulator.requests(before)] == [429] * 5 + [200]
    assert emulator.faults()["throttle"] == 0


def test_500s_are_retried(clients: Clients, emulator: AzureEmulator) -> None:
    rg = _name("rg-")
    emulator.faults(errors_500=1)
    assert clients.resources.resource_groups.create_or_update(rg, {"location": "eastus"}).name == rg


# HDInsight -----------------------------------------------------------------------------------------


def test_cluster_reaches_running_with_a_real_broker(cluster: Cluster, clients: Clients) -> None:
    got = clients.hdinsight.clusters.get(cluster.rg, cluster.name)
    assert got.properties.cluster_state == "Running"
    assert got.properties.cluster_definition.kind == "kafka"
    https = [e for e in got.properties.connectivity_endpoints if e.name == "HTTPS"]
    assert https and https[0].location == "127.0.0.1"
    assert _topics(cluster.bootstrap) is not None
    hosts = clients.hdinsight.virtual_machines.list_hosts(cluster.rg, cluster.name)
    assert f"wn0-{cluster.name[:6]}" in {h.name for h in hosts}


def test_no_secret_is_echoed_stored_or_logged(
    cluster: Cluster, emulator: AzureEmulator, clients: Clients
) -> None:
    raw = clients.hdinsight.clusters.get(
        cluster.rg, cluster.name, cls=lambda resp, *_: resp.http_response.text()
    )
    assert PASSWORD not in raw and cluster.name in raw
    for path in (emulator.state_path, emulator.requests_path, emulator.log_file):
        assert PASSWORD not in path.read_text(encoding="utf-8"), path
    for path in (emulator.state_path, emulator.home / "emulator.secret"):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_conflicting_put_is_409(cluster: Cluster, clients: Clients) -> None:
    body = cluster_body("westus2", cluster.vnet_id, version="4.0", name=cluster.name)
    with pytest.raises(ResourceExistsError) as conflict:
        clients.hdinsight.clusters.begin_create(cluster.rg, cluster.name, body)
    assert conflict.value.status_code == 409 and conflict.value.error is not None
    assert conflict.value.error.code == "Conflict"
    with pytest.raises(HttpResponseError) as bad:
        clients.hdinsight.clusters.begin_create(cluster.rg, "-bad-", body)
    assert bad.value.error is not None and bad.value.error.code == "InvalidClusterName"
    available = clients.hdinsight.locations.check_name_availability("westus2", {"name": cluster.name})
    assert (available.name_available, available.reason) == (False, "AlreadyExists")


def test_second_put_while_in_progress_is_409(clients: Clients, emulator: AzureEmulator) -> None:
    rg, vnet_id = _network(clients, "eastus", "10.30.0.0/16")
    name = _name("slow-")
    emulator.faults(slow_cluster_seconds=30, fail_cluster=None)
    try:
        clients.hdinsight.clusters.begin_create(rg, name, cluster_body("eastus", vnet_id), polling=False)
    finally:
        emulator.faults(slow_cluster_seconds=0)
    with pytest.raises(ResourceExistsError):
        clients.hdinsight.clusters.begin_create(rg, name, cluster_body("eastus", vnet_id), polling=False)
    assert clients.hdinsight.clusters.get(rg, name).properties.provisioning_state == "InProgress"
    clients.resources.resource_groups.begin_delete(rg).result()
    assert not clients.resources.resource_groups.check_existence(rg)


def test_failing_cluster_lro_raises_its_arm_error(clients: Clients, emulator: AzureEmulator) -> None:
    rg, vnet_id = _network(clients, "eastus", "10.31.0.0/16")
    name = _name("doomed-")
    emulator.faults(fail_cluster=name)
    try:
        with pytest.raises(HttpResponseError) as failed:
            clients.hdinsight.clusters.begin_create(rg, name, cluster_body("eastus", vnet_id)).result()
    finally:
        emulator.clear_faults()
    assert "ClusterCreationFailed" in str(failed.value)
    got = clients.hdinsight.clusters.get(rg, name)
    assert (got.properties.provisioning_state, got.properties.cluster_state) == ("Failed", "Error")
    assert got.properties.errors[0].code == "ClusterCreationFailed"
    clients.hdinsight.clusters.begin_delete(rg, name).result()


def test_edge_node_application_starts_an_ssh_node_pinned_by_the_plan(
    cluster: Cluster, clients: Clients, emulator: AzureEmulator
) -> None:
    import asyncssh

    home = emulator.home / "edges" / "dr-edge-1"
    pinned = (home / "known_hosts").read_text().split()[-1]
    body = {
        "properties": {
            "applicationType": "CustomApplication",
            "computeProfile": {"roles": [{"name": "edgenode", "targetInstanceCount": 1}]},
            "installScriptActions": [
                {"name": "noop", "uri": "https://example.invalid/noop.sh", "roles": ["edgenode"]}
            ],
        }
    }
    app = clients.hdinsight.applications.begin_create(cluster.rg, cluster.name, "dr-edge-1", body).result()
    assert (app.properties.provisioning_state, app.properties.application_state) == ("Succeeded", "Running")
    endpoint = app.properties.ssh_endpoints[0]
    assert (endpoint.location, endpoint.destination_port) == ("127.0.0.1", 22)

    busy = home / "work" / "busy.sh"

    async def login() -> tuple[str, int]:
        async with asyncssh.connect(
            "127.0.0.1",
            endpoint.public_port,
            known_hosts=str(home / "known_hosts"),
            client_keys=[str(home / "id_ed25519")],
        ) as conn:
            ok = str((await conn.run("echo ok", check=True)).stdout).strip()
            # Something left running on the node, detached from the session (as MirrorMaker is).
            start = (
                f"mkdir -p {busy.parent} && printf 'while :; do sleep 1; done\\n' > {busy}; "
                f"setsid sh {busy} > /dev/null 2>&1 < /dev/null & echo $!"
            )
            pid = int(str((await asyncio.wait_for(conn.run(start, check=True), 30)).stdout).strip())
            return ok, pid

    ok, pid = asyncio.run(login())
    assert ok == "ok"
    assert process.is_ours(pid, [str(busy)])
    assert (home / "known_hosts").read_text().split()[-1] == pinned
    clients.hdinsight.applications.begin_delete(cluster.rg, cluster.name, "dr-edge-1").result()
    wait_until(lambda: not _listening(endpoint.public_port), 20, message="edge node stopped")
    # The node's VM is gone, and with it what ran there.
    wait_until(lambda: not process.is_ours(pid, [str(busy)]), 20, message="the node's processes stopped")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


def test_ambari_configs_and_hosts(cluster: Cluster, emulator: AzureEmulator) -> None:
    ambari = _ambari(emulator, cluster)
    assert ambari("GET", auth=("admin", "wrong")).status_code == 401
    desired = ambari("GET", params={"fields": "Clusters/desired_configs"}).json()["Clusters"][
        "desired_configs"
    ]
    tag = desired["kafka-broker"]["tag"]
    items = ambari("GET", "/configurations", params={"type": "kafka-broker", "tag": tag}).json()["items"]
    props = items[0]["properties"]
    assert props["listeners"] == f"PLAINTEXT://localhost:{cluster.bootstrap.rsplit(':', 1)[1]}"
    env = ambari("GET", "/configurations", params={"type": "kafka-env", "tag": desired["kafka-env"]["tag"]})
    assert "{{kafka_log_dir}}" in env.json()["items"][0]["properties"]["content"]

    change = {
        "Clusters": {"desired_config": {"type": "kafka-broker", "tag": "version2", "properties": props}}
    }
    assert ambari("PUT", data=json.dumps(change)).status_code == 400  # no X-Requested-By
    put = ambari("PUT", data=json.dumps(change), headers={"X-Requested-By": "ambari"})
    assert put.status_code == 200
    desired = ambari("GET", params={"fields": "Clusters/desired_configs"}).json()["Clusters"][
        "desired_configs"
    ]
    assert desired["kafka-broker"]["tag"] == "version2"

    component = ambari("GET", "/services/KAFKA/components/KAFKA_BROKER").json()
    host = component["host_components"][0]["HostRoles"]["host_name"]
    assert host == f"wn0-{cluster.name[:6]}"
    assert ambari("GET", f"/hosts/{host}").json()["Hosts"]["ip"] == "127.0.0.1"


def test_ambari_restart_really_restarts_the_broker(cluster: Cluster, emulator: AzureEmulator) -> None:
    ambari = _ambari(emulator, cluster)
    headers = {"X-Requested-By": "ambari"}

    def set_state(state: str) -> None:
        body = {"RequestInfo": {"context": f"{state} Kafka"}, "Body": {"ServiceInfo": {"state": state}}}
        answer = ambari("PUT", "/services/KAFKA", data=json.dumps(body), headers=headers)
        assert answer.status_code == 202
        number = answer.json()["Requests"]["id"]

        def completed() -> bool:
            info = ambari("GET", f"/requests/{number}").json()["Requests"]
            assert info["request_status"] in ("IN_PROGRESS", "COMPLETED")
            return bool(info["request_status"] == "COMPLETED")

        wait_until(completed, 60, 0.2, message=f"Kafka {state}")

    def stale() -> bool:
        roles = ambari("GET", "/services/KAFKA/components/KAFKA_BROKER").json()["host_components"]
        return bool(roles[0]["HostRoles"]["stale_configs"])

    # A changed config leaves the running broker stale until Kafka restarts (as Ambari reports it).
    tags = ambari("GET", params={"fields": "Clusters/desired_configs"}).json()["Clusters"]["desired_configs"]
    env_tag = tags["kafka-env"]["tag"]
    env = ambari("GET", "/configurations", params={"type": "kafka-env", "tag": env_tag}).json()
    props = env["items"][0]["properties"] | {"kafka_log_dir": "/var/log/kafka-restart-test"}
    tag = f"restart{secrets.token_hex(3)}"
    change = {"Clusters": {"desired_config": {"type": "kafka-env", "tag": tag, "properties": props}}}
    assert ambari("PUT", data=json.dumps(change), headers=headers).status_code == 200
    assert stale()
    set_state("INSTALLED")
    assert not _listening(int(cluster.bootstrap.rsplit(":", 1)[1]))
    set_state("STARTED")
    assert _topics(cluster.bootstrap) is not None
    assert not stale()


def test_emulator_restart_keeps_state_and_brings_brokers_back(
    cluster: Cluster, clients: Clients, emulator: AzureEmulator
) -> None:
    emulator.down(stop_resources=False)
    from kdrtui.lab.azure.runtime import Runtime

    Runtime(emulator.home, port_base=TEST_PORT_BASE).broker(cluster.name, 0).kill()
    emulator.up(fetch=False)
    assert clients.hdinsight.clusters.get(cluster.rg, cluster.name).properties.cluster_state == "Running"
    wait_until(lambda: _topics(cluster.bootstrap) is not None, 60, 0.5, message="broker restarted")


def test_plan_loads(emulator: AzureEmulator) -> None:
    from kdrtui.services.plan_files import load_plan

    plan = load_plan(emulator.plan_path)
    assert plan.azure is not None and plan.azure.endpoint == emulator.endpoint
    assert [n.name for n in plan.edge_nodes] == ["dr-edge-1"]
    assert Path(plan.azure.ca_file or "") == emulator.ca_file.resolve()


def test_delete_cluster_stops_its_broker(cluster: Cluster, clients: Clients, emulator: AzureEmulator) -> None:
    clients.hdinsight.clusters.begin_delete(cluster.rg, cluster.name).result()
    assert not _listening(int(cluster.bootstrap.rsplit(":", 1)[1]))
    assert not (emulator.home / "clusters" / cluster.name).exists()
    with pytest.raises(HttpResponseError) as gone:
        clients.hdinsight.clusters.get(cluster.rg, cluster.name)
    assert gone.value.status_code == 404
