"""`kdrtui provision` and `kdrtui destroy` from a shell, with the real Azure SDK clients, against the lab's
HTTPS Azure emulator (`kdrtui lab up --azure`, on ports and a home of this module's own).

One emulator for the module; the tests run in file order and share what they provision: the overlap and
failed-LRO tests use plans of their own, then one provisioning is killed mid-clusters and resumed through
a 429 storm, records are mirrored on what it made, a second run changes nothing, and destroy removes it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kdrtui.domain.plan import Plan
from kdrtui.domain.runbook import StepFailed
from kdrtui.lab import jars
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.plan import PLAN_NAME
from kdrtui.services.azure.clients import AzureClients, raw
from kdrtui.services.azure.context import ProvisionContext
from kdrtui.services.azure.network import Peering, ResourceGroups, VirtualNetworks
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore
from tests.conftest import require_java, reserved_port, wait_until
from tests.kafka_helpers import consume_partitions, create_topic, produce_numbered

pytestmark = pytest.mark.lab

TEST_AZURE_PORT = 18643
TEST_PORT_BASE = 19692
TEST_EDGE_PORT_BASE = 12632


@dataclass
class AzureLab:
    """The emulator, its plan, and the environment a `kdrtui` subprocess runs in."""

    emulator: AzureEmulator
    plan_path: Path
    env: dict[str, str]
    state_dir: Path

    def kdrtui(
        self, *args: str, timeout: float = 240, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m kdrtui ...`` as an operator runs it."""
        return subprocess.run(
            [sys.executable, "-m", "kdrtui", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self.emulator.requests(since)

    def resources(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.emulator.call("GET", "/_emulator/resources")
        return found


@pytest.fixture(scope="module")
def azure_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureLab]:
    """`kdrtui lab up --azure` in a lab dir of the module's own, on the module's own ports."""
    require_java()
    jars.fetch()
    root = tmp_path_factory.mktemp("provision")
    lab_dir, state_dir = root / "lab", root / "state"
    home = lab_dir / "azure"
    home.mkdir(parents=True)
    (home / "emulator.json").write_text(json.dumps({"step_seconds": 0.3}))  # no option for it
    env = {k: v for k, v in os.environ.items() if k != "KDRTUI_LAB_LOGIN_PASSWORD"}
    env |= {"KDRTUI_LAB_DIR": str(lab_dir), "KDRTUI_STATE_DIR": str(state_dir)}
    with reserved_port(TEST_AZURE_PORT) as port:
        emulator = AzureEmulator(home)
        lab = AzureLab(emulator, home / "plan.toml", env, state_dir)
        try:
            up = lab.kdrtui(
                "lab",
                "up",
                "--azure",
                "--azure-port",
                str(port),
                "--broker-base-port",
                str(TEST_PORT_BASE),
                "--edge-base-port",
                str(TEST_EDGE_PORT_BASE),
            )
            assert up.returncode == 0, up.stdout + up.stderr
            lab.emulator = AzureEmulator(home)
            assert lab.emulator.port == port and lab.emulator.port_base == TEST_PORT_BASE
            assert lab.emulator.edge_port_base == TEST_EDGE_PORT_BASE
            yield lab
        finally:
            AzureEmulator(home).down()


def variant(lab: AzureLab, name: str, **replace: str) -> Path:
    """The emulator's plan with every ``kdrlab`` name renamed (``kdr<name>``) and ``replace`` applied,
    written beside it (where the lab's login-password file is)."""
    text = lab.plan_path.read_text()
    text = text.replace("kdrlab", f"kdr{name}").replace(PLAN_NAME, f"kdrtui-{name}")
    for old, new in replace.items():
        text = text.replace(old, new)
    path = lab.plan_path.with_name(f"{name}-plan.toml")
    path.write_text(text)
    return path


def test_overlapping_cidrs_are_refused(azure_lab: AzureLab) -> None:
    plan = variant(azure_lab, "ovl", **{'vnet_cidr = "10.1.0.0/16"': 'vnet_cidr = "10.0.0.0/15"'})
    refused = azure_lab.kdrtui("provision", "--plan", str(plan), "--yes")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "10.0.0.0/15" in refused.stderr and "10.0.0.0/16" in refused.stderr
    assert not [r for r in azure_lab.requests() if "kdrovl" in r["path"]], "Azure was not called"

    # Forced past the plan rules, the peering step shows the emulator's 400 with its code.
    data = tomllib.loads(plan.read_text())
    forced = Plan.model_validate(data)  # the model only: the cross-key rules are skipped
    ctx = ProvisionContext(forced, plan, AzureClients(forced))

    async def steps() -> str:
        for step in (ResourceGroups(), VirtualNetworks()):
            await step.run(ctx)
        try:
            await Peering().run(ctx)
        except StepFailed as exc:
            return exc.summary
        return "no error"

    try:
        assert "VnetAddressSpacesOverlap" in asyncio.run(steps())
    finally:
        for group in ("kdrovl-eastus", "kdrovl-westus2"):
            ctx.clients.resource.resource_groups.begin_delete(group).result()
        ctx.clients.close()


def test_a_failed_cluster_lro_shows_its_arm_code(azure_lab: AzureLab) -> None:
    plan = variant(azure_lab, "fail")
    azure_lab.emulator.faults(fail_cluster="kdrfail-primary")
    try:
        failed = azure_lab.kdrtui("provision", "--plan", str(plan), "--yes")
    finally:
        azure_lab.emulator.clear_faults()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    # The ARM error as an operator reads it: the resource, then CODE: message on one line.
    assert "cluster kdrfail-primary: ClusterCreationFailed: Cluster creation failed" in failed.stdout
    assert "HttpResponseError" not in failed.stdout + failed.stderr
    assert "kdrtui provision --resume" in failed.stderr
    # Azure cannot repair a failed cluster: the retry deletes it and creates it again, then finishes.
    retried = azure_lab.kdrtui("provision", "--plan", str(plan), "--resume")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "kdrfail-primary: running (deleting the failed cluster to create it again)" in retried.stdout
    clusters = [r for r in azure_lab.resources() if "kdrfail" in r["id"] and r["kind"] == "cluster"]
    assert len(clusters) == 2 and all(c["clusterState"] == "Running" for c in clusters), clusters
    gone = azure_lab.kdrtui("destroy", "--plan", str(plan), "--confirm", "kdrtui-fail")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not [r for r in azure_lab.resources() if "kdrfail" in r["id"]]


def test_killed_mid_clusters_resume_finishes_through_a_429_storm(azure_lab: AzureLab) -> None:
    path = variant(azure_lab, "kill")
    plan = str(path)
    store = RunbookStore("kdrtui-kill", path, azure_lab.state_dir)
    mark = len(azure_lab.requests())
    azure_lab.emulator.faults(slow_cluster_seconds=30)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdrtui", "provision", "--plan", plan, "--yes"],
        env=azure_lab.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def clusters_running() -> bool:
        journals = store.journals(["provision"])
        put = any(
            r["method"] == "PUT" and "/clusters/kdrkill-dr" in r["path"] for r in azure_lab.requests(mark)
        )
        return put and bool(journals) and "clusters" in journals[-1].state().steps

    try:
        wait_until(clusters_running, timeout=90, message="the clusters step running")
    finally:
        proc.kill()
        proc.wait()
    azure_lab.emulator.faults(slow_cluster_seconds=0, throttle=10, retry_after=1)
    storm = len(azure_lab.requests())
    resumed = azure_lab.kdrtui("provision", "--plan", plan, "--resume", "--yes")
    azure_lab.emulator.clear_faults()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "completed" in resumed.stdout
    throttled = [r for r in azure_lab.requests(storm) if r["status"] == 429]
    assert len(throttled) >= 10, "the storm happened and was ridden out"
    puts = Counter(
        r["path"]
        for r in azure_lab.requests(mark)
        if r["method"] == "PUT" and r["path"].startswith("/subscriptions/")
    )
    assert puts and all(n == 1 for n in puts.values()), f"no resource PUT twice: {puts}"
    provisioned = load_plan(path)
    assert provisioned.cluster("primary").bootstrap_servers and provisioned.cluster("dr").bootstrap_servers
    assert provisioned.edge_nodes[0].host == "127.0.0.1"
    gone = azure_lab.kdrtui("destroy", "--plan", plan, "--confirm", "kdrtui-kill")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not [r for r in azure_lab.resources() if "kdrkill" in r["id"]]


def test_lab_up_azure_then_provision_yes_creates_everything(azure_lab: AzureLab) -> None:
    # Two operators start it at the same moment: one provisions, the other is refused at once.
    command = [sys.executable, "-m", "kdrtui", "provision", "--plan", "lab-azure", "--yes"]
    both = [
        subprocess.Popen(
            command, env=azure_lab.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=240) for process in both]
    assert sorted(p.returncode for p in both) == [0, 2], outputs
    made = next(
        subprocess.CompletedProcess(p.args, p.returncode, out, err)
        for p, (out, err) in zip(both, outputs, strict=True)
        if p.returncode == 0
    )
    refused = next(err for p, (_out, err) in zip(both, outputs, strict=True) if p.returncode == 2)
    winner = next(p for p in both if p.returncode == 0)
    assert "busy with provision by" in refused and f"pid {winner.pid}" in refused, refused
    assert "Traceback" not in refused
    audit = [json.loads(line) for line in (azure_lab.state_dir / "audit.log").read_text().splitlines()]
    provisions = [a for a in audit if a["action"] == "provision" and a["plan"] == PLAN_NAME]
    assert [a["outcome"] for a in provisions] == ["started", "completed"], provisions
    kinds = Counter(r["kind"] for r in azure_lab.resources() if "kdrlab" in r["id"])
    assert kinds == {
        "resource_group": 2,
        "storage": 2,
        "vnet": 2,
        "peering": 2,
        "cluster": 2,
        "application": 1,
    }, kinds
    states = {r["name"]: r for r in azure_lab.resources() if "kdrlab" in r["id"]}
    assert states["kdrlab-primary"]["clusterState"] == states["kdrlab-dr"]["clusterState"] == "Running"
    assert all(r["peeringState"] == "Connected" for r in states.values() if r["kind"] == "peering")
    assert states["dr-edge-1"]["applicationState"] == "Running"
    mm = azure_lab.kdrtui("mm", "status", "--plan", "lab-azure", "--json")
    assert mm.returncode == 0, mm.stdout + mm.stderr
    assert [d["state"] for d in json.loads(mm.stdout)["deployments"]] == ["running"]

    # No secret reached the output, the journals, the audit or the log, nor the plan or the lab's files.
    password = (azure_lab.plan_path.parent / "login-password").read_text().strip()
    plan = load_plan(azure_lab.plan_path)
    clients = AzureClients(plan)
    try:
        keys = [
            str(key["value"])
            for cluster in plan.clusters.values()
            if cluster.hdinsight is not None
            for key in raw(
                clients.storage.storage_accounts.list_keys,
                cluster.resource_group,
                cluster.hdinsight.storage_account,
            )["keys"]
        ]
    finally:
        clients.close()
    secrets = [password, *keys]
    assert all(len(secret) >= 10 for secret in secrets)
    assert not [x for x in secrets if x in made.stdout + made.stderr + refused]
    own = {"login-password", "emulator.secret"}
    files = [
        f
        for root in (azure_lab.state_dir, azure_lab.plan_path.parent)
        for f in root.rglob("*")
        if f.is_file() and f.name not in own and f.suffix != ".jar" and f.stat().st_size < 50_000_000
    ]
    assert any(f.name.endswith(".jsonl") and "journal" in f.name for f in files), "journals were read"
    leaked = [str(f) for f in files for x in secrets if x.encode() in f.read_bytes()]
    assert leaked == [], leaked


def test_records_are_mirrored_and_status_reports_lag(azure_lab: AzureLab) -> None:
    plan = load_plan(azure_lab.plan_path)
    primary, dr = plan.cluster("primary").bootstrap, plan.cluster("dr").bootstrap
    topic = f"orders-{os.getpid()}"
    create_topic(primary, topic, partitions=2)
    produce_numbered(primary, topic, 200)
    got = consume_partitions(dr, f"primary.{topic}", 2, 200, timeout=90)
    assert sum(map(len, got.values())) == 200

    def lag_reported() -> dict[str, Any] | None:
        status = azure_lab.kdrtui("status", "--plan", str(azure_lab.plan_path), "--json", timeout=60)
        if not status.stdout.strip():
            return None
        flows = json.loads(status.stdout)["flows"]
        topics = [t for f in flows for t in f["topics"] if t["topic"] == topic]
        return topics[0] if topics else None

    wait_until(lag_reported, timeout=60, interval=1, message=f"status --json reporting {topic}")
    row = lag_reported()
    assert row is not None and row["lag_records"] is not None


def test_failover_and_failback_run_on_what_was_provisioned(azure_lab: AzureLab) -> None:
    plan = str(azure_lab.plan_path)
    dr = load_plan(azure_lab.plan_path).cluster("dr").bootstrap
    over = azure_lab.kdrtui("failover", "--plan", plan, "--yes", "--json", timeout=180)
    assert over.returncode == 0, over.stdout + over.stderr
    assert json.loads(over.stdout)["outcome"] == "completed"
    topic = f"after-failover-{os.getpid()}"
    create_topic(dr, topic, partitions=1)
    produce_numbered(dr, topic, 50)  # written on dr while it is active
    back = azure_lab.kdrtui("failback", "--plan", plan, "--yes", "--json", timeout=180)
    assert back.returncode == 0, back.stdout + back.stderr
    assert json.loads(back.stdout)["outcome"] == "completed"
    primary = load_plan(azure_lab.plan_path).cluster("primary").bootstrap
    got = consume_partitions(primary, f"dr.{topic}", 1, 50, timeout=90)
    assert sum(map(len, got.values())) == 50, "what dr took during the outage reached primary"


def test_running_again_puts_nothing(azure_lab: AzureLab) -> None:
    mark = len(azure_lab.requests())
    again = azure_lab.kdrtui("provision", "--plan", str(azure_lab.plan_path), "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    new = azure_lab.requests(mark)
    assert new, "it looked"
    assert [r for r in new if r["method"] == "PUT"] == [], (
        "no PUT: nothing created, no Ambari change or restart"
    )
    assert "already running" in again.stdout


def test_destroy_removes_what_was_made(azure_lab: AzureLab) -> None:
    plan = str(azure_lab.plan_path)
    before = azure_lab.resources()
    wrong = azure_lab.kdrtui("destroy", "--plan", plan, "--confirm", "not-the-name")
    assert wrong.returncode == 2 and "nothing was deleted" in wrong.stderr
    assert azure_lab.resources() == before
    gone = azure_lab.kdrtui("destroy", "--plan", plan, "--confirm", PLAN_NAME)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert azure_lab.resources() == []
    status = azure_lab.emulator.status()
    assert not any(b["up"] for b in status.brokers.values()), status.brokers
    assert not any(e["up"] for e in status.edges.values()), status.edges
    # What provisioning wrote into the plan file is taken out again (the comments stay).
    after = load_plan(azure_lab.plan_path)
    assert [c.bootstrap_servers for c in after.clusters.values()] == [[], []]
    node = after.edge_nodes[0]
    assert (node.host, node.port) == ("dr-edge-1.kdrlab-dr-ssh.azurehdinsight.net", 22)
    assert azure_lab.plan_path.read_text().startswith("# The kdrtui lab's Azure plan")
