"""The DNS switch's pure parts: which addresses name a cluster, where the zone lives, what is written,
and which steps a provisioning and a destroy of a plan show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w

from kdrtui.domain.plan import Plan
from kdrtui.lab.azure import plan as lab_plan
from kdrtui.services.azure import private_dns
from kdrtui.services.azure.clients import AzureClients
from kdrtui.services.azure.destroy import Destroy
from kdrtui.services.azure.provision import provision_steps
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore

DNS_STEPS = ["dns-zone", "dns-links", "dns-record"]


def _plan(
    tmp_path: Path, switch: dict[str, Any] | None = None, **clusters: dict[str, Any]
) -> tuple[Plan, Path]:
    data = lab_plan.render(tmp_path, port=18999, port_base=19992, edge_port_base=12992, kafka_version="3.9.1")
    if switch is not None:
        data["switch"] = switch
    for alias, changes in clusters.items():
        data["clusters"][alias].update(changes)
    path = tmp_path / "plan.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return load_plan(path), path


DNS = {"method": "dns", "zone": "Kafka.Contoso.Internal."}


def test_the_zone_lives_in_the_secondary_s_group_unless_the_plan_says(tmp_path: Path) -> None:
    plan, _ = _plan(tmp_path, DNS)
    assert (private_dns.zone_group(plan), private_dns.zone_name(plan)) == (
        "kdrlab-westus2",
        "kafka.contoso.internal",
    )
    assert private_dns.fqdn(plan) == "bootstrap.kafka.contoso.internal"
    plan, _ = _plan(tmp_path, DNS | {"resource_group": "dns-rg", "record": "@"})
    assert (private_dns.zone_group(plan), private_dns.fqdn(plan)) == ("dns-rg", "kafka.contoso.internal")


def test_a_cluster_s_addresses_come_from_its_bootstrap_servers_or_the_plan(tmp_path: Path) -> None:
    servers = {"bootstrap_servers": ["10.1.0.4:9092", "10.1.0.5:9092", "10.1.0.4:9093"]}
    plan, _ = _plan(tmp_path, DNS, dr=servers)
    assert private_dns.addresses(plan, "dr") == ["10.1.0.4", "10.1.0.5"]  # once each, in order
    with pytest.raises(private_dns.DnsSwitchError, match="no bootstrap_servers yet"):
        private_dns.addresses(plan, "primary")
    plan, _ = _plan(tmp_path, DNS, primary={"bootstrap_servers": ["wn0-kdrlab:9092"]})
    with pytest.raises(private_dns.DnsSwitchError, match=r"\[switch.addresses\] primary"):
        private_dns.addresses(plan, "primary")
    plan, _ = _plan(
        tmp_path,
        DNS | {"addresses": {"primary": ["10.0.0.9"]}},
        primary={"bootstrap_servers": ["127.0.0.1:9092"]},
    )
    assert private_dns.addresses(plan, "primary") == ["10.0.0.9"]


def test_what_is_written(tmp_path: Path) -> None:
    plan, _ = _plan(tmp_path, DNS | {"ttl_seconds": 30})
    assert private_dns.record_body(plan, "dr", ["10.1.0.4"]) == {
        "properties": {
            "ttl": 30,
            "metadata": {"kdrtuicluster": "dr", "kdrtuiplan": "kdrtui-lab-azure"},
            "aRecords": [{"ipv4Address": "10.1.0.4"}],
        }
    }
    link = private_dns.link_body("sub", plan, plan.cluster("dr"))
    assert link["location"] == "global" and link["properties"]["registrationEnabled"] is False
    assert link["properties"]["virtualNetwork"]["id"].endswith("/virtualNetworks/kdrlab-westus2-vnet")
    assert [alias for alias, _c in private_dns.linked_clusters(plan)] == ["primary", "dr"]


def test_the_dns_steps_appear_only_for_a_plan_switching_by_dns(tmp_path: Path) -> None:
    plain, plain_path = _plan(tmp_path)
    assert not set(DNS_STEPS) & {s.key for s in provision_steps(plain)}
    (tmp_path / "dns").mkdir()
    dns, dns_path = _plan(tmp_path / "dns", DNS)
    keys = [s.key for s in provision_steps(dns)]
    assert keys[keys.index("bootstrap") + 1 : keys.index("mirrormaker")] == DNS_STEPS
    for plan, path, shown in ((plain, plain_path, False), (dns, dns_path, True)):
        destroy = Destroy(
            plan, path, clients=AzureClients(plan), store=RunbookStore(plan.plan.name, path, tmp_path)
        )
        deletes = [s.key for s in destroy.steps]
        assert (deletes[1:4] == ["dns-record", "dns-links", "dns-zone"]) is shown, deletes
