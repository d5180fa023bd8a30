"""The emulator's Azure Private DNS (zones, virtual network links, A / CNAME record sets), driven by the
real ``azure-mgmt-privatedns`` client, and the lab resolver reading what the zones hold.

No broker runs here: the zones only need resource groups and VNets. The broker private IP rule is
checked on the emulator's store directly.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from kdrtui.lab import resolve
from kdrtui.lab.azure import private_dns
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.plan import SUBSCRIPTION_ID
from kdrtui.lab.azure.state import Store
from kdrtui.services.azure.credential import StaticTokenCredential
from tests.conftest import reserved_port

pytestmark = pytest.mark.lab

TEST_AZURE_PORT = 18363
TEST_PORT_BASE = 19292
TEST_EDGE_PORT_BASE = 12532
RG = "dnsrg"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureEmulator]:
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
def kw(emulator: AzureEmulator) -> dict[str, Any]:
    return {"base_url": emulator.endpoint, "connection_verify": str(emulator.ca_file), "polling_interval": 0}


@pytest.fixture(scope="module")
def dns(kw: dict[str, Any]) -> PrivateDnsManagementClient:
    return PrivateDnsManagementClient(StaticTokenCredential(), SUBSCRIPTION_ID, **kw)


@pytest.fixture(scope="module")
def vnets(kw: dict[str, Any]) -> dict[str, str]:
    """Two VNets in one resource group: name -> id."""
    cred = StaticTokenCredential()
    ResourceManagementClient(cred, SUBSCRIPTION_ID, **kw).resource_groups.create_or_update(
        RG, {"location": "eastus"}
    )
    network = NetworkManagementClient(cred, SUBSCRIPTION_ID, **kw)
    ids = {}
    for name, cidr in (("east", "10.0.0.0/16"), ("west", "10.1.0.0/16")):
        body = {
            "location": "eastus",
            "properties": {
                "addressSpace": {"addressPrefixes": [cidr]},
                "subnets": [{"name": "default", "properties": {"addressPrefix": cidr.replace("/16", "/24")}}],
            },
        }
        ids[name] = network.virtual_networks.begin_create_or_update(RG, name, body).result().id
    return ids


def _zone(dns: PrivateDnsManagementClient) -> str:
    name = f"k{secrets.token_hex(3)}.contoso.internal"
    poller = dns.private_zones.begin_create_or_update(RG, name, {"location": "global"})
    zone = poller.result()
    assert zone.name == name and zone.provisioning_state == "Succeeded"
    return name


def _a(ips: list[str], ttl: int = 10) -> dict[str, Any]:
    return {"properties": {"ttl": ttl, "aRecords": [{"ipv4Address": ip} for ip in ips]}}


def test_a_zone_is_created_through_the_lro_read_and_deleted(
    dns: PrivateDnsManagementClient, vnets: Any
) -> None:
    name = _zone(dns)
    zone = dns.private_zones.get(RG, name)
    assert (zone.location, zone.number_of_record_sets, zone.number_of_virtual_network_links) == (
        "global",
        1,
        0,
    )
    dns.private_zones.begin_delete(RG, name).result()
    with pytest.raises(ResourceNotFoundError):
        dns.private_zones.get(RG, name)


def test_a_zone_outside_global_or_with_a_bad_name_is_refused(
    dns: PrivateDnsManagementClient, vnets: Any
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        dns.private_zones.begin_create_or_update(RG, "x.contoso.internal", {"location": "eastus"}).result()
    assert caught.value.error is not None and caught.value.error.code == "InvalidLocation"
    with pytest.raises(HttpResponseError) as caught:
        dns.private_zones.begin_create_or_update(RG, "internal", {"location": "global"}).result()
    assert caught.value.status_code == 400


def test_links_name_existing_vnets_once_and_hold_the_zone(
    dns: PrivateDnsManagementClient, vnets: dict[str, str]
) -> None:
    name = _zone(dns)
    for vnet, vnet_id in vnets.items():
        body = {
            "location": "global",
            "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": False},
        }
        link = dns.virtual_network_links.begin_create_or_update(RG, name, f"{vnet}-link", body).result()
        assert (link.virtual_network.id, link.registration_enabled) == (vnet_id, False)
        assert link.virtual_network_link_state == "Completed"
    assert dns.private_zones.get(RG, name).number_of_virtual_network_links == 2
    twice = {"location": "global", "properties": {"virtualNetwork": {"id": vnets["east"]}}}
    with pytest.raises(HttpResponseError) as caught:
        dns.virtual_network_links.begin_create_or_update(RG, name, "again", twice).result()
    assert caught.value.status_code == 409
    missing = {"location": "global", "properties": {"virtualNetwork": {"id": vnets["east"] + "x"}}}
    with pytest.raises(HttpResponseError) as caught:
        dns.virtual_network_links.begin_create_or_update(RG, name, "nowhere", missing).result()
    assert caught.value.error is not None and caught.value.error.code == "InvalidVirtualNetworkId"
    with pytest.raises(HttpResponseError):  # a linked zone cannot be deleted
        dns.private_zones.begin_delete(RG, name).result()
    for vnet in vnets:
        dns.virtual_network_links.begin_delete(RG, name, f"{vnet}-link").result()
    with pytest.raises(ResourceNotFoundError):
        dns.virtual_network_links.get(RG, name, "east-link")
    dns.private_zones.begin_delete(RG, name).result()


def test_a_record_set_is_written_read_back_and_guarded_by_its_etag(
    dns: PrivateDnsManagementClient, vnets: Any, emulator: AzureEmulator
) -> None:
    name = _zone(dns)
    first = dns.record_sets.create_or_update(RG, name, "A", "bootstrap", _a(["10.0.0.4", "10.0.0.5"]))
    assert [a.ipv4_address for a in first.a_records] == ["10.0.0.4", "10.0.0.5"]
    assert first.fqdn == f"bootstrap.{name}." and first.ttl == 10 and first.etag
    with pytest.raises(ResourceExistsError):  # 412: someone created it already
        dns.record_sets.create_or_update(
            RG, name, "A", "bootstrap", _a(["10.1.0.4"]), match_condition=MatchConditions.IfMissing
        )
    second = dns.record_sets.create_or_update(
        RG,
        name,
        "A",
        "bootstrap",
        _a(["10.1.0.4"]),
        etag=first.etag,
        match_condition=MatchConditions.IfNotModified,
    )
    assert second.etag != first.etag
    with pytest.raises(ResourceModifiedError):  # 412: the etag read before is stale
        dns.record_sets.create_or_update(
            RG,
            name,
            "A",
            "bootstrap",
            _a(["10.0.0.4"]),
            etag=first.etag,
            match_condition=MatchConditions.IfNotModified,
        )
    read = dns.record_sets.get(RG, name, "A", "bootstrap")
    assert [a.ipv4_address for a in read.a_records] == ["10.1.0.4"]
    data = json.loads(private_dns.zone_file(emulator.home, name).read_text(encoding="utf-8"))
    assert data["records"]["bootstrap"] == {"type": "A", "ttl": 10, "a": ["10.1.0.4"], "cname": None}
    assert resolve.resolve(emulator.home, f"bootstrap.{name}").addresses == ["10.1.0.4"]
    with pytest.raises(HttpResponseError) as caught:
        dns.record_sets.create_or_update(RG, name, "A", "bad", _a(["10.0.0.300"]))
    assert caught.value.status_code == 400
    dns.record_sets.delete(RG, name, "A", "bootstrap")
    with pytest.raises(ResourceNotFoundError):
        dns.record_sets.get(RG, name, "A", "bootstrap")
    with pytest.raises(resolve.ResolveError, match="NXDOMAIN"):
        resolve.resolve(emulator.home, f"bootstrap.{name}")
    dns.private_zones.begin_delete(RG, name).result()
    assert not private_dns.zone_file(emulator.home, name).exists()


def test_the_resolver_follows_a_cname_in_the_zones(
    dns: PrivateDnsManagementClient, vnets: Any, emulator: AzureEmulator
) -> None:
    name = _zone(dns)
    dns.record_sets.create_or_update(RG, name, "A", "dr", _a(["10.1.0.4"], ttl=30))
    cname = {"properties": {"ttl": 5, "cnameRecord": {"cname": f"dr.{name}"}}}
    assert (
        dns.record_sets.create_or_update(RG, name, "CNAME", "kafka", cname).cname_record.cname == f"dr.{name}"
    )
    answer = resolve.resolve(emulator.home, f"KAFKA.{name}.")
    assert (answer.addresses, answer.ttl, answer.chain) == (["10.1.0.4"], 30, [f"kafka.{name}"])
    with pytest.raises(HttpResponseError) as caught:  # a CNAME shares its name with nothing
        dns.record_sets.create_or_update(RG, name, "A", "kafka", _a(["10.0.0.4"]))
    assert caught.value.status_code == 409


def test_each_cluster_s_broker_has_the_next_free_private_ip_of_its_subnet(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.json")
    vnet = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v"
    store.put(
        {
            "id": vnet,
            "kind": "vnet",
            "name": "v",
            "private": {"subnets": [{"name": "default", "addressPrefix": "10.2.0.0/24"}]},
        }
    )

    def cluster(name: str, created: float, subnet: str = "default") -> dict[str, Any]:
        role = {
            "name": "workernode",
            "virtualNetworkProfile": {"id": vnet, "subnet": f"{vnet}/subnets/{subnet}"},
        }
        record = {
            "id": f"/c/{name}",
            "kind": "cluster",
            "name": name,
            "created": created,
            "properties": {"computeProfile": {"roles": [role]}},
            "private": {},
        }
        store.put(record)
        return record

    first, second, elsewhere = cluster("a", 1.0), cluster("b", 2.0), cluster("c", 3.0, "other")
    assert private_dns.broker_ip(store, first) == "10.2.0.4"  # .0-.3 are Azure's
    assert private_dns.broker_ip(store, second) == "10.2.0.5"
    assert private_dns.broker_ip(store, elsewhere) is None
