"""The emulator's network security groups, driven by the real ``azure-mgmt-network`` client, and their
enforcement on a real lab broker through its NSG gate (:mod:`kdrtui.lab.azure.gate`).

One emulator for the module (its own ports), one Kafka cluster in a subnet for the gate tests.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import tomli_w
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.hdinsight import HDInsightManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.domain import nsg_rules
from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.lab import jars
from kdrtui.lab.azure import gate
from kdrtui.lab.azure import plan as azure_plan
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.plan import SUBSCRIPTION_ID
from kdrtui.services.azure import nsg
from kdrtui.services.azure.clients import AzureClients
from kdrtui.services.azure.credential import StaticTokenCredential
from tests.conftest import require_java, reserved_port, wait_until

pytestmark = pytest.mark.lab

TEST_AZURE_PORT = 18447
TEST_PORT_BASE = 19252
TEST_EDGE_PORT_BASE = 12252
RG = "nsgtest"
LOCATION = "eastus"
VNET = "nsgtest-vnet"
SUBNET_PREFIX = "10.0.0.0/24"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureEmulator]:
    require_java()
    jars.fetch()
    with reserved_port(TEST_AZURE_PORT) as port:
        emu = AzureEmulator(
            tmp_path_factory.mktemp("azure-nsg"), port, TEST_PORT_BASE, TEST_EDGE_PORT_BASE, step_seconds=0.3
        )
        try:
            emu.up(fetch=False)
            yield emu
        finally:
            emu.down()


@pytest.fixture(scope="module")
def network(emulator: AzureEmulator) -> NetworkManagementClient:
    kw: dict[str, Any] = {
        "base_url": emulator.endpoint,
        "connection_verify": str(emulator.ca_file),
        "polling_interval": 0,
    }
    cred = StaticTokenCredential()
    resources = ResourceManagementClient(cred, SUBSCRIPTION_ID, **kw)
    resources.resource_groups.create_or_update(RG, {"location": LOCATION})
    client = NetworkManagementClient(cred, SUBSCRIPTION_ID, **kw)
    body = {
        "location": LOCATION,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": "kafka", "properties": {"addressPrefix": SUBNET_PREFIX}}],
        },
    }
    client.virtual_networks.begin_create_or_update(RG, VNET, body).result()
    return client


@pytest.fixture(scope="module")
def gated(emulator: AzureEmulator, network: NetworkManagementClient) -> tuple[str, str]:
    """A running Kafka cluster in the subnet: (its plain bootstrap, its gate's bootstrap)."""
    kw: dict[str, Any] = {
        "base_url": emulator.endpoint,
        "connection_verify": str(emulator.ca_file),
        "polling_interval": 0,
    }
    hdi = HDInsightManagementClient(StaticTokenCredential(), SUBSCRIPTION_ID, **kw)
    vnet_id = network.virtual_networks.get(RG, VNET).id
    hdi.clusters.begin_create(RG, "nsgtest-kafka", _kafka_body(vnet_id)).result()
    plain = f"127.0.0.1:{TEST_PORT_BASE}"
    return plain, f"127.0.0.1:{gate.gate_port(TEST_PORT_BASE)}"


PASSWORD = "Lab-Passw0rd!" + secrets.token_hex(4)


def _kafka_body(vnet_id: str) -> dict[str, Any]:
    """A Kafka cluster whose workers are in the subnet ``kafka`` (secrets as the provisioner sends them)."""

    def role(name: str, count: int) -> dict[str, Any]:
        return {
            "name": name,
            "targetInstanceCount": count,
            "hardwareProfile": {"vmSize": "Standard_D4_v2"},
            "osProfile": {"linuxOperatingSystemProfile": {"username": "sshuser", "password": PASSWORD}},
            "virtualNetworkProfile": {"id": vnet_id, "subnet": f"{vnet_id}/subnets/kafka"},
        }

    gateway = {
        "restAuthCredential.isEnabled": True,
        "restAuthCredential.username": "admin",
        "restAuthCredential.password": PASSWORD,
    }
    return {
        "location": LOCATION,
        "properties": {
            "clusterVersion": "5.1",
            "osType": "Linux",
            "clusterDefinition": {
                "kind": "kafka",
                "componentVersion": {"Kafka": "3.2"},
                "configurations": {"gateway": gateway},
            },
            "computeProfile": {
                "roles": [
                    role("headnode", 2),
                    role("workernode", 3) | {"dataDisksGroups": [{"disksPerNode": 1}]},
                ]
            },
            "storageProfile": {"storageaccounts": [{"name": "x.blob.core.windows.net", "isDefault": True}]},
        },
    }


def _nsg_body(rules: list[dict[str, Any]], flush: bool = True) -> dict[str, Any]:
    return {"location": LOCATION, "properties": {"securityRules": rules, "flushConnection": flush}}


def _deny(cidr: str, priority: int = 200) -> dict[str, Any]:
    return {
        "name": "deny-kafka",
        "properties": {
            "protocol": "Tcp",
            "sourceAddressPrefixes": [cidr],
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRanges": ["9092", "9093"],
            "access": "Deny",
            "priority": priority,
            "direction": "Inbound",
        },
    }


def _associate(network: NetworkManagementClient, nsg_id: str | None) -> Any:
    props: dict[str, Any] = {"addressPrefix": SUBNET_PREFIX}
    if nsg_id:
        props["networkSecurityGroup"] = {"id": nsg_id}
    return network.subnets.begin_create_or_update(RG, VNET, "kafka", {"properties": props}).result()


def test_nsg_and_rules_through_the_sdk(network: NetworkManagementClient) -> None:
    name = f"nsg{secrets.token_hex(3)}"
    nsg = network.network_security_groups.begin_create_or_update(RG, name, _nsg_body([])).result()
    assert nsg.name == name and nsg.flush_connection is True
    assert [r.name for r in nsg.default_security_rules] == [r["name"] for r in nsg_rules.DEFAULT_INBOUND]
    rule = network.security_rules.begin_create_or_update(
        RG, name, "deny-kafka", _deny("10.0.1.0/24")
    ).result()
    assert (rule.access, rule.priority, rule.source_address_prefixes) == ("Deny", 200, ["10.0.1.0/24"])
    read = network.network_security_groups.get(RG, name)
    assert [r.name for r in read.security_rules] == ["deny-kafka"]
    clash = dict(_deny("10.0.2.0/24"), name="other")
    with pytest.raises(HttpResponseError, match="SecurityRuleConflict"):
        network.security_rules.begin_create_or_update(RG, name, "other", clash).result()
    with pytest.raises(HttpResponseError, match="SecurityRuleInvalidPriority"):
        network.security_rules.begin_create_or_update(RG, name, "low", _deny("10.0.2.0/24", 50)).result()
    network.security_rules.begin_delete(RG, name, "deny-kafka").result()
    with pytest.raises(ResourceNotFoundError):
        network.security_rules.get(RG, name, "deny-kafka")
    network.network_security_groups.begin_delete(RG, name).result()
    with pytest.raises(ResourceNotFoundError):
        network.network_security_groups.get(RG, name)


def test_subnet_association_and_in_use_delete(network: NetworkManagementClient) -> None:
    name = f"nsg{secrets.token_hex(3)}"
    nsg = network.network_security_groups.begin_create_or_update(RG, name, _nsg_body([])).result()
    subnet = _associate(network, nsg.id)
    assert subnet.network_security_group.id.lower() == nsg.id.lower()
    assert network.subnets.get(RG, VNET, "kafka").network_security_group.id.lower() == nsg.id.lower()
    assert [s.id for s in network.network_security_groups.get(RG, name).subnets] == [subnet.id]
    with pytest.raises(HttpResponseError, match="InUseNetworkSecurityGroupCannotBeDeleted"):
        network.network_security_groups.begin_delete(RG, name).result()
    assert _associate(network, None).network_security_group is None
    network.network_security_groups.begin_delete(RG, name).result()


def _produces(bootstrap: str, timeout: float = 6.0) -> bool:
    producer = Producer(
        {"bootstrap.servers": bootstrap, "message.timeout.ms": int(timeout * 1000), "socket.timeout.ms": 3000}
    )
    failures: list[Any] = []
    producer.produce("gate-test", b"x", on_delivery=lambda err, _msg: failures.append(err) if err else None)
    left = producer.flush(timeout + 2)
    return left == 0 and not failures


def _answers(bootstrap: str) -> bool:
    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=3)
    except KafkaException:
        return False
    return True


def _dropped(sock: socket.socket) -> bool:
    """The other side closed or reset ``sock``."""
    sock.settimeout(0.2)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_gate_enforces_the_subnets_nsg(network: NetworkManagementClient, gated: tuple[str, str]) -> None:
    plain, through_gate = gated
    admin = AdminClient({"bootstrap.servers": plain})
    for future in admin.create_topics([NewTopic("gate-test", 1, 1)]).values():
        future.result(10)
    assert _produces(through_gate), "no NSG: the client through the gate is served"
    # A connection open before the rule: dropped once the rule stands (the NSG has flushConnection on).
    held = socket.create_connection(("127.0.0.1", gate.gate_port(TEST_PORT_BASE)), timeout=5)
    assert not _dropped(held)
    name = f"nsg{secrets.token_hex(3)}"
    nsg = network.network_security_groups.begin_create_or_update(
        RG, name, _nsg_body([_deny(f"{gate.CLIENT_ADDRESS}/32")])
    ).result()
    _associate(network, nsg.id)
    wait_until(lambda: _dropped(held), timeout=5, message="the open connection dropped")
    held.close()
    assert not _answers(through_gate), "a client in the denied CIDR is refused"
    assert _answers(plain), "kdrtui's path (the plan's bootstrap) still reaches the broker"
    network.security_rules.begin_delete(RG, name, "deny-kafka").result()
    wait_until(lambda: _answers(through_gate), timeout=10, message="the gate open again")
    assert _produces(through_gate)
    _associate(network, None)
    network.network_security_groups.begin_delete(RG, name).result()


def test_without_flush_connection_open_connections_live_on(
    network: NetworkManagementClient, gated: tuple[str, str]
) -> None:
    """Azure applies a rule change to new flows only unless the NSG has flushConnection: so does the gate."""
    held = socket.create_connection(("127.0.0.1", gate.gate_port(TEST_PORT_BASE)), timeout=5)
    name = f"nsg{secrets.token_hex(3)}"
    nsg = network.network_security_groups.begin_create_or_update(
        RG, name, _nsg_body([_deny(f"{gate.CLIENT_ADDRESS}/32")], flush=False)
    ).result()
    _associate(network, nsg.id)
    try:
        wait_until(lambda: not _answers(gated[1]), timeout=5, message="new connections refused")
        assert not _dropped(held), "the connection opened before the rule is still up"
    finally:
        held.close()
        _associate(network, None)
        network.network_security_groups.begin_delete(RG, name).result()


# --- the fence's service (kdrtui.services.azure.nsg) against the emulator --------------------------------


def _plan(emulator: AzureEmulator, plain: str) -> Plan:
    data = azure_plan.render(
        emulator.home,
        port=emulator.port,
        port_base=TEST_PORT_BASE,
        edge_port_base=TEST_EDGE_PORT_BASE,
        kafka_version=jars.DEFAULT_KAFKA_VERSION,
    )
    primary = data["clusters"]["primary"]
    primary.update(resource_group=RG, vnet_name=VNET, vnet_cidr="10.0.0.0/16", subnet_cidr=SUBNET_PREFIX)
    primary["bootstrap_servers"] = [plain]
    data["failover"] = {"fence": "nsg", "client_cidrs": ["10.0.1.0/24"], "fence_allow_cidrs": ["10.9.9.9/32"]}
    return parse_plan(tomli_w.dumps(data))


def _gate_denied(through_gate: str) -> bool:
    return not _answers(through_gate)


def test_the_fence_creates_verifies_and_removes_exactly_its_nsg(
    emulator: AzureEmulator, network: NetworkManagementClient, gated: tuple[str, str]
) -> None:
    plain, through_gate = gated
    plan = _plan(emulator, plain)
    clients = AzureClients(plan)
    saved: list[dict[str, Any]] = []
    try:
        record = nsg.apply(clients, plan, "primary", {}, lambda r: saved.append(dict(r)))
        assert record["created"] is True and record["nsg"] == "nsgtest-vnet-kafka-nsg"
        assert saved[0]["created"] is True and "rules" not in saved[0], "recorded before it was created"
        assert saved[-1]["rules"] == [nsg_rules.ALLOW_RULE, nsg_rules.DENY_RULE]
        subnet = network.subnets.get(RG, VNET, "kafka")
        assert subnet.network_security_group.id.lower().endswith("/nsgtest-vnet-kafka-nsg")
        read = network.network_security_groups.get(RG, record["nsg"])
        assert read.flush_connection is True
        by_name = {r.name: r for r in read.security_rules}
        assert by_name[nsg_rules.DENY_RULE].source_address_prefixes == ["10.0.1.0/24"]
        assert by_name[nsg_rules.ALLOW_RULE].source_address_prefixes == [
            "10.0.0.0/24",
            "10.1.0.0/24",
            "10.9.9.9/32",
        ]
        assert by_name[nsg_rules.OPEN_RULE].priority == 4096
        assert nsg.verify(clients, plan, "primary", record) == []
        wait_until(lambda: _gate_denied(through_gate), timeout=5, message="the gated client refused")
        assert _answers(plain), "kdrtui's path still reaches the broker"
        again = nsg.apply(clients, plan, "primary", record, lambda r: None)
        assert again["rules"] == record["rules"], "a re-run adds nothing"
        nsg.undo(clients, plan, "primary", record, lambda r: saved.append(dict(r)))
        assert nsg.left(clients, plan, "primary", record) == []
        assert network.subnets.get(RG, VNET, "kafka").network_security_group is None
        with pytest.raises(ResourceNotFoundError):
            network.network_security_groups.get(RG, record["nsg"])
        wait_until(lambda: _answers(through_gate), timeout=10, message="the gated client served again")
        assert nsg.nsg_readiness(clients, plan, "primary") == []
    finally:
        clients.close()


def test_an_existing_nsg_keeps_its_rules_and_an_allow_before_the_deny_fails_the_fence(
    emulator: AzureEmulator, network: NetworkManagementClient, gated: tuple[str, str]
) -> None:
    plain, _through_gate = gated
    plan = _plan(emulator, plain)
    clients = AzureClients(plan)
    name = f"nsg{secrets.token_hex(3)}"
    theirs = dict(_deny("192.0.2.0/24", 300), name="theirs")
    existing = network.network_security_groups.begin_create_or_update(
        RG, name, _nsg_body([theirs], flush=False)
    ).result()
    _associate(network, existing.id)
    try:
        record = nsg.apply(clients, plan, "primary", {}, lambda r: None)
        assert (record["created"], record["flush_before"]) == (False, False)
        nsg.undo(clients, plan, "primary", record, lambda r: None)
        read = network.network_security_groups.get(RG, name)
        assert [r.name for r in read.security_rules] == ["theirs"] and read.flush_connection is False
        # An operator's allow rule at priority 100 lets the clients through whatever the fence adds.
        allow_all = {
            "name": "allow-kafka",
            "properties": {
                "protocol": "Tcp",
                "sourceAddressPrefix": "*",
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "9092",
                "access": "Allow",
                "priority": 100,
                "direction": "Inbound",
            },
        }
        network.security_rules.begin_create_or_update(RG, name, "allow-kafka", allow_all).result()
        with pytest.raises(nsg.NsgError, match="allow-kafka allows it"):
            nsg.apply(clients, plan, "primary", {}, lambda r: None)
    finally:
        for rule in (nsg_rules.ALLOW_RULE, nsg_rules.DENY_RULE):
            network.security_rules.begin_delete(RG, name, rule).result()
        _associate(network, None)
        network.network_security_groups.begin_delete(RG, name).result()
        clients.close()
