"""The DNS client switch end to end on the Azure DR lab: the emulator's Private DNS through the real
``azure-mgmt-privatedns`` client, the lab's brokers behind the record's private IPs, and ``kdrtui failover``
/ ``failback`` run as an operator runs them.

A client here "bootstraps by the name": it resolves ``bootstrap.kafka.kdrlab.internal`` with the lab's
resolver (the zone's A records, each mapped to the lab broker behind that private IP) and dials what it
gets, as a client in a linked VNet would dial the private IPs Azure's resolver answers.
"""

from __future__ import annotations

import json
import secrets
import time

import pytest
from confluent_kafka.admin import AdminClient

from kdrtui.services.azure import private_dns
from kdrtui.services.azure.clients import AzureClients
from kdrtui.services.kafka.config import client_config
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore
from tests.azure_lab_helpers import FQDN, ZONE, AzureDrLab, broker_ip, through_gate
from tests.conftest import wait_until
from tests.kafka_helpers import consume_partitions, create_topic, produce_numbered

pytestmark = pytest.mark.lab


def _record(lab: AzureDrLab) -> tuple[list[str], str | None, int]:
    """The record as the real SDK reads it back: (A records, the cluster its metadata names, TTL)."""
    plan = load_plan(lab.plan_path)
    clients = AzureClients(plan)
    try:
        body = private_dns.get_record(clients, plan)
    finally:
        clients.close()
    assert body is not None
    return private_dns.record_addresses(body), private_dns.record_cluster(body), body["properties"]["ttl"]


def _topics(bootstrap: str) -> set[str]:
    admin = AdminClient(client_config(bootstrap))
    return set(admin.list_topics(timeout=15).topics)


def test_provisioning_makes_the_zone_linked_to_both_vnets_and_the_record_names_primary(
    azure_dr_lab: AzureDrLab,
) -> None:
    lab = azure_dr_lab
    plan = load_plan(lab.plan_path)
    kinds = [r["kind"] for r in lab.resources() if "privatednszones" in r["id"].lower()]
    assert sorted(kinds) == ["dns_link", "dns_link", "dns_record", "dns_zone"], kinds
    primary_ip = broker_ip(plan.cluster("primary").subnet_cidr or "")
    assert _record(lab) == ([primary_ip], "primary", 10)
    assert lab.resolve() == [primary_ip]
    assert lab.bootstrap_by_name() == through_gate(plan.cluster("primary").bootstrap)
    clients = AzureClients(plan)
    try:
        assert private_dns.zone_readiness(clients, plan) == []
    finally:
        clients.close()
    status = json.loads((lab.home / "dns" / f"{ZONE}.json").read_text(encoding="utf-8"))
    assert len(status["links"]) == 2
    # What an operator asks the lab: the name, its records, and the broker a lab client dials.
    asked = lab.kdrtui("lab", "resolve", FQDN, "--json")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    answer = json.loads(asked.stdout)
    assert (answer["addresses"], answer["ttl"], answer["bootstrap"]) == (
        [primary_ip],
        10,
        through_gate(plan.cluster("primary").bootstrap),
    )
    unknown = lab.kdrtui("lab", "resolve", f"nothing.{ZONE}")
    assert unknown.returncode == 1 and "NXDOMAIN" in unknown.stderr

    # A second provisioning finds everything as it is and changes nothing.
    again = lab.kdrtui("provision", "--plan", str(lab.plan_path), "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert _record(lab) == ([primary_ip], "primary", 10)


def test_failover_points_the_name_at_dr_and_failback_back_at_primary(azure_dr_lab: AzureDrLab) -> None:
    lab = azure_dr_lab
    plan = load_plan(lab.plan_path)
    # A client by the name reaches each broker through its NSG gate (kdrtui.lab.azure.gate).
    primary, dr = (through_gate(plan.cluster(a).bootstrap) for a in ("primary", "dr"))
    primary_ip, dr_ip = (broker_ip(plan.cluster(a).subnet_cidr or "") for a in ("primary", "dr"))

    # Before: a client bootstrapping by the name writes and reads on primary.
    by_name = lab.bootstrap_by_name()
    assert by_name == primary
    topic = f"dns-{secrets.token_hex(3)}"
    create_topic(by_name, topic, partitions=2)
    produce_numbered(by_name, topic, 30)
    assert sum(map(len, consume_partitions(by_name, topic, 2, 30, timeout=30).values())) == 30
    assert topic in _topics(primary)
    # MirrorMaker (provisioned on dr-edge-1) mirrors it before the failover, or the pre-flight says NO-GO.
    consume_partitions(dr, f"primary.{topic}", 2, 30, timeout=120)
    only_on_dr = f"dr-only-{secrets.token_hex(3)}"
    create_topic(dr, only_on_dr, partitions=1)
    assert only_on_dr not in _topics(by_name)

    started = time.monotonic()
    over = lab.kdrtui("failover", "--plan", str(lab.plan_path), "--yes", "--json", timeout=600)
    assert over.returncode == 0, over.stdout + over.stderr
    took = time.monotonic() - started
    report = json.loads(over.stdout)
    switch = next(s for s in report["steps"] if s["step"] == "switch-clients")
    assert f"{FQDN} -> {dr_ip}, read back" in switch["summary"], switch
    store = RunbookStore(plan.plan.name, lab.plan_path, lab.state_dir)
    journaled = store.journals(["failover"])[-1].state().facts("switch-clients")["dns"]
    assert (journaled["before"], journaled["addresses"], journaled["changed"]) == (
        [primary_ip],
        [dr_ip],
        True,
    )

    # The record names dr: read back through the real SDK, and through the lab's resolver.
    assert _record(lab) == ([dr_ip], "dr", 10)
    assert lab.resolve() == [dr_ip]
    by_name = lab.bootstrap_by_name()
    assert by_name == dr
    assert only_on_dr in _topics(by_name), "a client bootstrapping by the name reaches dr"
    produce_numbered(by_name, only_on_dr, 5)
    assert sum(map(len, consume_partitions(by_name, only_on_dr, 1, 5, timeout=30).values())) == 5
    print(f"failover with the DNS switch took {took:.1f} s")

    # Reverse replication (started by the failover) mirrors both topics back before the failback's pre-flight.
    consume_partitions(primary, f"dr.{only_on_dr}", 1, 5, timeout=120)
    wait_until(lambda: f"dr.{topic}" in _topics(primary), timeout=120, message=f"dr.{topic} on primary")
    back = lab.kdrtui("failback", "--plan", str(lab.plan_path), "--yes", "--json", timeout=600)
    assert back.returncode == 0, back.stdout + back.stderr
    assert _record(lab) == ([primary_ip], "primary", 10)
    wait_until(lambda: lab.resolve() == [primary_ip], timeout=5, message=f"{FQDN} back on primary")
    assert lab.bootstrap_by_name() == primary
    assert only_on_dr not in _topics(lab.bootstrap_by_name()), "the name reaches primary again"
