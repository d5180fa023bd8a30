"""``[switch] method = "dns"``: zone, record, TTL, resource group and addresses, refused as Azure would."""

from __future__ import annotations

import pytest

from kdrtui.domain import dns_names
from kdrtui.domain.plan import PlanInvalid, SwitchMethod, parse_plan, summarize
from tests.samples import GOOD

AZURE = '\n[azure]\nsubscription_id = "6a1f0b3c-4d2e-4f5a-9b8c-7d6e5f4a3b2c"\n'


def _plan(switch: str, *, azure: bool = True) -> str:
    text = GOOD.read_text(encoding="utf-8")
    head, _, _ = text.partition("[switch]")
    return head + "[switch]\n" + switch + (AZURE if azure else "")


def _problems(text: str) -> dict[str, str]:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(text)
    return {p.field: p.message for p in caught.value.problems}


def test_a_dns_switch_loads_with_its_defaults() -> None:
    plan = parse_plan(_plan('method = "dns"\nzone = "kafka.contoso.internal"\n'))
    assert plan.switch.method == SwitchMethod.DNS
    assert (plan.switch.zone, plan.switch.record, plan.switch.ttl_seconds) == (
        "kafka.contoso.internal",
        "bootstrap",
        10,
    )
    assert plan.switch.resource_group is None
    assert plan.switch.addresses == {}


def test_addresses_per_cluster_load() -> None:
    plan = parse_plan(
        _plan(
            'method = "dns"\nzone = "kafka.contoso.internal"\nrecord = "@"\nttl_seconds = 60\n'
            'resource_group = "dns-rg"\n[switch.addresses]\nprimary = ["10.0.0.4", "10.0.0.5"]\n'
        )
    )
    assert plan.switch.addresses == {"primary": ["10.0.0.4", "10.0.0.5"]}
    assert (plan.switch.record, plan.switch.ttl_seconds, plan.switch.resource_group) == ("@", 60, "dns-rg")


def test_dns_without_a_zone_is_refused_naming_switch_zone() -> None:
    problems = _problems(_plan('method = "dns"\n'))
    assert "switch.zone" in problems
    assert problems["switch.zone"].startswith('required when method = "dns"')


def test_dns_without_an_azure_table_loads_for_the_pre_flight_to_refuse() -> None:
    plan = parse_plan(_plan('method = "dns"\nzone = "kafka.contoso.internal"\n', azure=False))
    assert plan.azure is None


@pytest.mark.parametrize(
    ("key", "line", "why"),
    [
        ("switch.zone", 'zone = "internal"', "has 1 label(s)"),
        ("switch.zone", 'zone = "-bad.contoso.internal"', "label '-bad'"),
        ("switch.zone", f'zone = "{"a" * 64}.internal"', "1 to 63"),
        ("switch.record", 'record = "bootstrap."', "relative to the zone"),
        ("switch.record", 'record = "boot strap"', "label 'boot strap'"),
        ("switch.ttl_seconds", "ttl_seconds = 0", "at least 1"),
        ("switch.ttl_seconds", "ttl_seconds = 2147483648", "at most 2147483647"),
        ("switch.resource_group", 'resource_group = "bad/rg"', "bad/rg"),
        ("switch.addresses.primary[0]", '[switch.addresses]\nprimary = ["127.0.0.1"]', "not a broker's"),
        ("switch.addresses.primary[0]", '[switch.addresses]\nprimary = ["kafka-1"]', "not an IPv4 address"),
        ("switch.addresses.east", '[switch.addresses]\neast = ["10.0.0.4"]', "no cluster 'east'"),
    ],
)
def test_bad_dns_values_are_refused_naming_the_field(key: str, line: str, why: str) -> None:
    text = _plan('method = "dns"\n' + ('zone = "kafka.contoso.internal"\n' if "zone" not in line else ""))
    head, _, tail = text.partition("[azure]")
    problems = _problems(head.rstrip("\n") + "\n" + line + "\n\n[azure]" + tail)
    assert key in problems, problems
    assert why in problems[key]


def test_the_record_and_zone_may_not_make_a_name_over_253_characters() -> None:
    zone = ".".join(["a" * 60] * 4)  # 243 characters
    assert dns_names.zone_name(zone) is None
    problems = _problems(_plan(f'method = "dns"\nzone = "{zone}"\nrecord = "bootstrap-x"\n'))
    assert "at most 253" in problems["switch.record"]


def test_record_fqdn() -> None:
    assert dns_names.record_fqdn("bootstrap", "kafka.contoso.internal.") == "bootstrap.kafka.contoso.internal"
    assert dns_names.record_fqdn("@", "kafka.contoso.internal") == "kafka.contoso.internal"


def test_the_summary_names_the_record_clients_bootstrap_by() -> None:
    plan = parse_plan(_plan('method = "dns"\nzone = "kafka.contoso.internal"\n'))
    assert "Client switch: dns: bootstrap.kafka.contoso.internal (Azure Private DNS" in "\n".join(
        summarize(plan)
    )
