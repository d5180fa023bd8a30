"""The NSG fence end to end on the Azure DR lab: ``kdrtui failover`` / ``failback`` run as an operator runs
them, the emulator's NSGs read back through the real ``azure-mgmt-network`` client, and the emulator's
gate enforcing them on the lab broker (:mod:`kdrtui.lab.azure.gate`).

Who is who on 127.0.0.1: a client through the broker's gate stands for an application at
``gate.CLIENT_ADDRESS`` (10.0.1.10, inside the plan's ``client_cidrs``); kdrtui and the edge nodes use the
plan's bootstrap (the broker's own listener), which stands for the addresses the fence allows.

Each test works on a copy of the provisioned plan (its own DR state and journals) with ``[switch] method
= "none"`` (the DNS tests own the record) and its own ``[failover]``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import requests
import tomli_w
from azure.core.exceptions import ResourceNotFoundError
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from kdrtui.domain import nsg_rules
from kdrtui.domain.plan import Plan
from kdrtui.services.azure.clients import AzureClients
from kdrtui.services.kafka import fence
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore
from tests.azure_lab_helpers import AzureDrLab, through_gate
from tests.conftest import wait_until
from tests.kafka_helpers import create_topic, produce_numbered

pytestmark = pytest.mark.lab

CLIENTS = "10.0.1.0/24"
"""The plan's client_cidrs: the gate's traffic (10.0.1.10) is in it."""
KDRTUI = "10.9.9.9/32"
"""The plan's fence_allow_cidrs (kdrtui's own address)."""


def _copy(lab: AzureDrLab, where: Path, fences: list[str] | str) -> Path:
    """The provisioned plan, copied with its login-password file, switch none and ``fences``."""
    where.mkdir(parents=True, exist_ok=True)
    data = tomllib.loads(lab.plan_path.read_text(encoding="utf-8"))
    data["switch"] = {"method": "none"}
    data["failover"] = {
        "fence": fences,
        "client_cidrs": [CLIENTS],
        "fence_allow_cidrs": [KDRTUI],
        "drain_timeout_seconds": 60,
    }
    path = where / "plan.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    shutil.copy(lab.plan_path.parent / "login-password", where / "login-password")
    return path


def _answers(bootstrap: str) -> bool:
    try:
        AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000}).list_topics(timeout=4)
    except KafkaException:
        return False
    return True


def _subnet_nsg(plan: Plan, alias: str) -> Any:
    """The NSG on ``alias``'s subnet as the real SDK reads it back (None when there is none)."""
    cluster = plan.cluster(alias)
    clients = AzureClients(plan)
    try:
        subnet = clients.network.subnets.get(cluster.resource_group, cluster.vnet_name, "kafka")
        if subnet.network_security_group is None:
            return None
        name = subnet.network_security_group.id.rsplit("/", 1)[-1]
        return clients.network.network_security_groups.get(cluster.resource_group, name)
    finally:
        clients.close()


def _kafka_state(lab: AzureDrLab, plan: Plan, alias: str, state: str) -> None:
    """Stop (INSTALLED) or start (STARTED) the cluster's Kafka through the emulator's Ambari."""
    hdi = plan.cluster(alias).hdinsight
    assert hdi is not None
    password = (lab.plan_path.parent / "login-password").read_text().strip()
    base = f"{lab.emulator.endpoint}/api/v1/clusters/{hdi.name}"
    kw: dict[str, Any] = {"auth": ("admin", password), "verify": str(lab.emulator.ca_file), "timeout": 10}
    body = {"RequestInfo": {"context": f"{state} Kafka"}, "Body": {"ServiceInfo": {"state": state}}}
    answer = requests.put(
        f"{base}/services/KAFKA", data=json.dumps(body), headers={"X-Requested-By": "ambari"}, **kw
    )
    assert answer.status_code == 202, answer.text
    number = answer.json()["Requests"]["id"]

    def completed() -> bool:
        info = requests.get(f"{base}/requests/{number}", **kw).json()["Requests"]
        return bool(info["request_status"] == "COMPLETED")

    wait_until(completed, 90, 0.3, message=f"Kafka {state} on {alias}")


def _fence_notes(plan: Plan, path: Path, lab: AzureDrLab, operation: str) -> list[str]:
    """The fence methods journaled one by one (``step-note`` with ``fence_method``) by the last run."""
    store = RunbookStore(plan.plan.name, path, lab.state_dir)
    journal = store.journals([operation])[-1]
    return [
        e["fence_method"] for e in journal.entries() if e.get("event") == "step-note" and "fence_method" in e
    ]


def test_nsg_fence_goes_up_with_the_brokers_down_holds_and_is_removed_on_failback(
    azure_dr_lab: AzureDrLab, tmp_path: Path
) -> None:
    lab = azure_dr_lab
    path = _copy(lab, tmp_path / "nsg", "nsg")
    plan = load_plan(path)
    primary = plan.cluster("primary").bootstrap
    gated = through_gate(primary)
    assert _answers(gated), "before: a client through the gate is served"
    _kafka_state(lab, plan, "primary", "INSTALLED")
    try:
        assert not _answers(primary), "the old primary's brokers do not answer kdrtui"
        over = lab.kdrtui("failover", "--plan", str(path), "--yes", "--force", "--json", timeout=600)
    finally:
        _kafka_state(lab, plan, "primary", "STARTED")
    assert over.returncode == 0, over.stdout + over.stderr
    report = json.loads(over.stdout)
    step = next(s for s in report["steps"] if s["step"] == "fence")
    assert step["status"] == "done" and "nsg fence on primary's subnet" in step["summary"], step
    print(f"NSG fence with primary's brokers down: fence step {step['seconds']} s")
    assert _fence_notes(plan, path, lab, "failover") == ["nsg"]

    # The rule as Azure holds it, read back with the real SDK.
    nsg = _subnet_nsg(plan, "primary")
    assert nsg is not None and nsg.flush_connection is True
    rules = {r.name: r for r in nsg.security_rules}
    assert rules[nsg_rules.DENY_RULE].access == "Deny"
    assert rules[nsg_rules.DENY_RULE].source_address_prefixes == [CLIENTS]
    assert KDRTUI in rules[nsg_rules.ALLOW_RULE].source_address_prefixes
    state = json.loads((RunbookStore(plan.plan.name, path, lab.state_dir).state_path).read_text())
    assert state["fenced"]["primary"]["nsg"]["created"] is True
    assert state["fenced"]["primary"]["nsg"]["rules"] == [nsg_rules.ALLOW_RULE, nsg_rules.DENY_RULE]

    # The brokers are back: kdrtui (and the edge nodes) reach them, a client in client_cidrs does not.
    wait_until(lambda: _answers(primary), timeout=60, message="primary's broker answers kdrtui again")
    assert not _answers(gated), "a client in client_cidrs is refused by the NSG rule"

    back = lab.kdrtui("failback", "--plan", str(path), "--yes", "--force", "--json", timeout=600)
    assert back.returncode == 0, back.stdout + back.stderr
    steps = {s["step"]: s for s in json.loads(back.stdout)["steps"]}
    print(
        f"failback: its own NSG fence of dr {steps['fence']['seconds']} s; replication (both NSG fences "
        f"removed, MirrorMaker started) {steps['replication']['seconds']} s"
    )
    assert _subnet_nsg(plan, "primary") is None, "the NSG the fence created is gone, the subnet as before"
    assert _subnet_nsg(plan, "dr") is None, "failback's own fence of dr is gone too"
    clients = AzureClients(plan)
    try:
        with pytest.raises(ResourceNotFoundError):
            clients.network.network_security_groups.get(
                plan.cluster("primary").resource_group, state["fenced"]["primary"]["nsg"]["nsg"]
            )
    finally:
        clients.close()
    wait_until(lambda: _answers(gated), timeout=10, message="the client served again")
    state = json.loads((RunbookStore(plan.plan.name, path, lab.state_dir).state_path).read_text())
    assert state["active"] == "primary" and state["fenced"] == {}


def test_combined_fence_both_go_up_both_journaled_both_undone(
    azure_dr_lab: AzureDrLab, tmp_path: Path
) -> None:
    lab = azure_dr_lab
    path = _copy(lab, tmp_path / "both", ["reject-writes", "nsg"])
    plan = load_plan(path)
    primary, dr = plan.cluster("primary").bootstrap, plan.cluster("dr").bootstrap
    topic = f"nsgboth-{secrets.token_hex(3)}"
    create_topic(primary, topic, partitions=1)
    produce_numbered(primary, topic, 10)
    wait_until(
        lambda: f"primary.{topic}" in AdminClient({"bootstrap.servers": dr}).list_topics(timeout=5).topics,
        timeout=120,
        message="the topic mirrored to dr",
    )
    over = lab.kdrtui("failover", "--plan", str(path), "--yes", "--force", "--json", timeout=600)
    assert over.returncode == 0, over.stdout + over.stderr
    step = next(s for s in json.loads(over.stdout)["steps"] if s["step"] == "fence")
    assert "reject-writes fence" in step["summary"] and "nsg fence" in step["summary"], step
    print(f"reject-writes + nsg fence step: {step['seconds']} s")
    assert _fence_notes(plan, path, lab, "failover") == ["reject-writes", "nsg"]
    state = json.loads((RunbookStore(plan.plan.name, path, lab.state_dir).state_path).read_text())
    record = state["fenced"]["primary"]
    assert record["method"] == "reject-writes" and topic in record["topics"] and record["nsg"]["created"]
    assert fence.fenced_topics(primary, "reject-writes", [topic]) == [topic]
    assert _subnet_nsg(plan, "primary") is not None
    assert not _answers(through_gate(primary))

    back = lab.kdrtui("failback", "--plan", str(path), "--yes", "--force", "--json", timeout=600)
    assert back.returncode == 0, back.stdout + back.stderr
    assert fence.fenced_topics(primary, "reject-writes", [topic]) == [], "writes taken again"
    assert _subnet_nsg(plan, "primary") is None and _subnet_nsg(plan, "dr") is None
    wait_until(lambda: _answers(through_gate(primary)), timeout=10, message="the client served again")
    state = json.loads((RunbookStore(plan.plan.name, path, lab.state_dir).state_path).read_text())
    assert state["fenced"] == {}
