"""The plan's ``[azure]`` table: where and as whom kdrtui provisions."""

from __future__ import annotations

import pytest

from kdrtui.domain.plan import AzureCredentialKind, PlanInvalid, parse_plan

BASE = """
[plan]
name = "p"
topology = "hot-standby"

[clusters.primary]
region = "eastus"
bootstrap_servers = ["a:9092"]

[clusters.dr]
region = "westus2"
bootstrap_servers = ["b:9092"]
"""


def test_defaults_are_real_azure() -> None:
    plan = parse_plan(BASE + '\n[azure]\nsubscription_id = "12345678-1234-1234-1234-123456789abc"\n')
    assert plan.azure is not None
    assert plan.azure.endpoint == "https://management.azure.com"
    assert plan.azure.credential == AzureCredentialKind.DEFAULT
    assert plan.azure.polling_interval_seconds == 30
    assert not plan.azure.is_loopback


def test_a_plan_without_azure_has_none() -> None:
    assert parse_plan(BASE).azure is None


def test_lab_credential_on_loopback() -> None:
    plan = parse_plan(BASE + '\n[azure]\nendpoint = "https://127.0.0.1:18443"\ncredential = "lab"\n')
    assert plan.azure is not None and plan.azure.is_loopback
    assert plan.azure.subscription_id is None


@pytest.mark.parametrize(
    ("table", "field", "message"),
    [
        ('subscription_id = "nope"', "azure.subscription_id", "'nope' is not a subscription ID"),
        ('endpoint = "http://127.0.0.1:80"', "azure.endpoint", "is not an https:// endpoint"),
        ('credential = "lab"', "azure", "only goes to a loopback endpoint, not https://management.azure.com"),
        ('credential = "mine"', "azure.credential", "'default' or 'lab'"),
        ("polling_interval_seconds = -1", "azure.polling_interval_seconds", "must be at least 0, not -1"),
        ('client_secret = "x"', "azure.client_secret", "secrets are never stored in the plan"),
    ],
)
def test_bad_azure_table_names_the_field(table: str, field: str, message: str) -> None:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(BASE + "\n[azure]\n" + table + "\n", "p.toml")
    problems = caught.value.problems
    assert [p.field for p in problems] == [field], problems
    assert message in problems[0].message
    assert problems[0].line == (14 if field == "azure" else 15)
