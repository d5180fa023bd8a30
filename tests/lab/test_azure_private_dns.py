"""The emulator's Azure Private DNS (zones, virtual network links, A / CNAME record sets), driven by the
real ``azure-mgmt-privatedns`` client, and the lab resolver reading what the zones hold.

No broker runs here: the zones only need resource groups and VNets. The broker private IP rule is
checked on the emulator's store directly.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
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

from kdrtui.domain.plan import Plan
from kdrtui.domain.runbook import Outcome, StepFailed, StepStatus
from kdrtui.lab import resolve
from kdrtui.lab.azure import plan as lab_plan
from kdrtui.lab.azure import private_dns as emulated_dns
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.plan import SUBSCRIPTION_ID
from kdrtui.lab.azure.state import Store
from kdrtui.services.azure import private_dns
from kdrtui.services.azure.clients import AzureClients
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.credential import StaticTokenCredential
from kdrtui.services.azure.destroy import DELETABLE, DNS_KEYS, DeleteKind
from kdrtui.services.azure.dns_steps import DnsLinks, DnsRecord, DnsZone
from kdrtui.services.azure.network import ResourceGroups, VirtualNetworks
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.context import DrContext
from kdrtui.services.runbook.dns_switch import dns_preflight, point_record, record_problem
from kdrtui.services.runbook.store import RunbookStore
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
    data = json.loads(emulated_dns.zone_file(emulator.home, name).read_text(encoding="utf-8"))
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
    assert not emulated_dns.zone_file(emulator.home, name).exists()


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
    assert emulated_dns.broker_ip(store, first) == "10.2.0.4"  # .0-.3 are Azure's
    assert emulated_dns.broker_ip(store, second) == "10.2.0.5"
    assert emulated_dns.broker_ip(store, elsewhere) is None


# -- kdrtui's side: the provisioning steps, the failover's switch, readiness, destroy -----------------


@pytest.fixture
def dns_plan(emulator: AzureEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Plan:
    """The lab-azure plan of this emulator, switched by DNS (a zone of this test's own), with its
    resource groups and VNets made through kdrtui's own steps."""
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    data = lab_plan.render(
        emulator.home,
        port=emulator.port,
        port_base=TEST_PORT_BASE,
        edge_port_base=TEST_EDGE_PORT_BASE,
        kafka_version="3.9.1",
    )
    data["switch"] = {
        "method": "dns",
        "zone": f"k{secrets.token_hex(3)}.kdrlab.internal",
        "addresses": {"primary": ["10.0.0.4"], "dr": ["10.1.0.4"]},
    }
    path = tmp_path / "plan.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    plan = load_plan(path)
    ctx = ProvisionContext(plan, path, AzureClients(plan))
    try:
        asyncio.run(_run(ctx, ResourceGroups(), VirtualNetworks()))
    finally:
        ctx.clients.close()
    return plan


async def _run(ctx: ProvisionContext, *steps: Any) -> list[Outcome]:
    return [await step.run(ctx) for step in steps]


def _puts(emulator: AzureEmulator, since: int, zone: str) -> list[str]:
    return [r["path"] for r in emulator.requests(since) if r["method"] == "PUT" and zone in r["path"].lower()]


def test_provisioning_steps_make_the_zone_links_and_record_once(
    dns_plan: Plan, emulator: AzureEmulator, tmp_path: Path
) -> None:
    ctx = ProvisionContext(dns_plan, tmp_path / "plan.toml", AzureClients(dns_plan))
    zone = dns_plan.switch.zone or ""
    try:
        mark = len(emulator.requests())
        first = asyncio.run(_run(ctx, DnsZone(), DnsLinks(), DnsRecord()))
        assert [o.status for o in first] == [StepStatus.DONE] * 3
        group = "kdrlab-westus2"  # the secondary's resource group: the default
        assert first[0].facts["created"] == [[group, zone]]
        assert len(first[1].facts["created"]) == 2
        assert first[2].facts["addresses"] == ["10.0.0.4"] and first[2].facts["active"] == "primary"
        assert len(_puts(emulator, mark, zone)) == 4  # zone, two links, the record
        assert private_dns.zone_readiness(ctx.clients, dns_plan) == []
        assert resolve.resolve(emulator.home, f"bootstrap.{zone}").addresses == ["10.0.0.4"]

        mark = len(emulator.requests())
        again = asyncio.run(_run(ctx, DnsZone(), DnsLinks(), DnsRecord()))
        assert [o.status for o in again] == [StepStatus.SKIPPED] * 3
        assert _puts(emulator, mark, zone) == [], "a second run changes nothing"

        # Readiness says what is missing, in words.
        link = private_dns.link_name(dns_plan.cluster("dr"))
        ctx.clients.private_dns.virtual_network_links.begin_delete(group, zone, link).result()
        assert private_dns.zone_readiness(ctx.clients, dns_plan) == [
            f"zone {zone} is not linked to the VNet kdrlab-westus2-vnet of cluster dr"
        ]
        asyncio.run(_run(ctx, DnsLinks()))

        # Destroy deletes what the steps made: the record, the links, then the zone.
        made = {
            step.key: out.facts["created"]
            for step, out in zip((DnsZone, DnsLinks, DnsRecord), first, strict=True)
        }
        for key in DNS_KEYS:
            kind = DELETABLE[key]
            asyncio.run(DeleteKind(key, kind.title, made[key]).run(ctx))
        assert private_dns.get_zone(ctx.clients, dns_plan) is None
        assert private_dns.zone_readiness(ctx.clients, dns_plan) == [
            f"Private DNS zone {zone} does not exist in resource group {group} (kdrtui provision makes it)"
        ]
    finally:
        ctx.clients.close()


def test_the_failover_switch_points_the_record_reads_it_back_and_never_writes_twice(
    dns_plan: Plan, emulator: AzureEmulator, tmp_path: Path
) -> None:
    ctx = ProvisionContext(dns_plan, tmp_path / "plan.toml", AzureClients(dns_plan))
    try:
        asyncio.run(_run(ctx, DnsZone(), DnsLinks(), DnsRecord()))
    finally:
        ctx.clients.close()
    flow = dns_plan.flows[0]
    store = RunbookStore(dns_plan.plan.name, tmp_path / "plan.toml")
    notes: list[dict[str, Any]] = []
    run = DrContext(
        dns_plan, store, "failover", "primary", "dr", flow, flow, note=lambda **f: notes.append(f)
    )
    zone = dns_plan.switch.zone or ""

    mark = len(emulator.requests())
    done = asyncio.run(point_record(run))
    assert done == {
        "fqdn": f"bootstrap.{zone}",
        "addresses": ["10.1.0.4"],
        "before": ["10.0.0.4"],
        "changed": True,
    }
    assert notes == [
        {"dns": {"fqdn": f"bootstrap.{zone}", "before": ["10.0.0.4"], "want": ["10.1.0.4"], "cluster": "dr"}}
    ]
    assert asyncio.run(record_problem(run)) is None
    assert resolve.resolve(emulator.home, f"bootstrap.{zone}").addresses == ["10.1.0.4"]

    again = asyncio.run(point_record(run))  # a resumed run: the record names dr already
    assert again["changed"] is False and len(_puts(emulator, mark, zone)) == 1, "one write only"

    # Someone points it elsewhere: the step's verification says so.
    kw = {"base_url": emulator.endpoint, "connection_verify": str(emulator.ca_file), "polling_interval": 0}
    other = PrivateDnsManagementClient(StaticTokenCredential(), SUBSCRIPTION_ID, **kw)
    other.record_sets.create_or_update("kdrlab-westus2", zone, "A", "bootstrap", _a(["10.9.9.9"]))
    assert asyncio.run(record_problem(run)) == f"bootstrap.{zone} holds 10.9.9.9, not dr's 10.1.0.4"

    # Failback points it back, through a burst of throttling (retried as provisioning's calls are).
    back = DrContext(dns_plan, store, "failback", "dr", "primary", flow, flow)
    storm = len(emulator.requests())
    emulator.faults(throttle=3, retry_after=1)
    try:
        assert asyncio.run(point_record(back))["addresses"] == ["10.0.0.4"]
    finally:
        emulator.clear_faults()
    assert sum(r["status"] == 429 for r in emulator.requests(storm)) == 3
    assert resolve.resolve(emulator.home, f"bootstrap.{zone}").addresses == ["10.0.0.4"]

    # An ARM error fails the step with CODE: message, never a stack of HTTP details.
    gone = dns_plan.model_copy(
        update={"switch": dns_plan.switch.model_copy(update={"zone": "missing.kdrlab.internal"})}
    )
    with pytest.raises(StepFailed) as failed:
        asyncio.run(point_record(DrContext(gone, store, "failover", "primary", "dr", flow, flow)))
    assert failed.value.summary.startswith("bootstrap.missing.kdrlab.internal: ParentResourceNotFound: "), (
        failed.value.summary
    )


def test_the_pre_flight_refuses_a_dns_plan_it_cannot_carry_out(dns_plan: Plan) -> None:
    assert dns_preflight(dns_plan, "dr") == []
    no_azure = dns_plan.model_copy(update={"azure": None})
    assert "[azure] table" in dns_preflight(no_azure, "dr")[0]
    loopback = dns_plan.model_copy(update={"switch": dns_plan.switch.model_copy(update={"addresses": {}})})
    (problem,) = dns_preflight(loopback, "dr")
    assert "cluster dr has no bootstrap_servers yet" in problem
    dr = dns_plan.cluster("dr").model_copy(update={"bootstrap_servers": ["127.0.0.1:19302"]})
    loopback = loopback.model_copy(update={"clusters": {**dns_plan.clusters, "dr": dr}})
    (problem,) = dns_preflight(loopback, "dr")
    assert "clusters.dr.bootstrap_servers" in problem and "[switch.addresses] dr" in problem
