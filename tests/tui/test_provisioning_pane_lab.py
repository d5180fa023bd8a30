"""The Provisioning pane (key 3) against the real provisioner, the real Azure SDK clients and the lab's
HTTPS Azure emulator: the dry run on entry, then `P` provisions two clusters (real lab brokers) and an
edge node (a real SSH server) and starts MirrorMaker, all shown live in the step tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kdrtui.lab import jars
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.plan import PLAN_NAME
from kdrtui.services.azure.provision import provision_steps
from kdrtui.services.plan_files import load_plan
from kdrtui.tui.app import make_app
from kdrtui.tui.screens.dialogs import TypedConfirmScreen
from kdrtui.tui.screens.provisioning import ProvisioningScreen
from kdrtui.tui.widgets.cluster_card import ClusterCard
from kdrtui.tui.widgets.step_tree import StepTree
from tests.conftest import require_java, reserved_port
from tests.tui.pilot_helpers import shown_text, until

pytestmark = pytest.mark.lab

TEST_AZURE_PORT = 18743
TEST_PORT_BASE = 19792
TEST_EDGE_PORT_BASE = 12732
CLUSTER_STATES = tuple(
    f"clusterState {state}"
    for state in ("Accepted", "ClusterStorageProvisioned", "AzureVMConfiguration", "HdInsightConfiguration")
)
STEPS = [step.key for step in provision_steps()]


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureEmulator]:
    require_java()
    jars.fetch()
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    with reserved_port(TEST_AZURE_PORT) as port:
        emu = AzureEmulator(tmp_path / "azure", port, TEST_PORT_BASE, TEST_EDGE_PORT_BASE, step_seconds=0.3)
        try:
            emu.up(fetch=False)
            yield emu
        finally:
            emu.down()


def step_label(screen: ProvisioningScreen, key: str) -> str:
    node = screen.query_one(StepTree).step_node(key)
    assert node is not None
    return str(node.label)


def resources(screen: ProvisioningScreen, key: str) -> list[str]:
    node = screen.query_one(StepTree).step_node(key)
    assert node is not None
    return [str(child.label) for child in node.children]


async def test_the_pane_provisions_the_lab_azure_plan(emulator: AzureEmulator) -> None:
    plan_path = emulator.plan_path
    app = make_app(load_plan(plan_path), plan_path, refresh_interval=1.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, ProvisioningScreen)
        await until(pilot, lambda: screen.dry_run_at is not None, timeout=30, what="the dry run")
        await pilot.pause()
        assert "create resource group kdrlab-eastus in eastus" in resources(screen, "resource-groups")
        clusters = resources(screen, "clusters")
        assert any("create HDInsight 5.1 Kafka 3.2 cluster kdrlab-dr" in r for r in clusters), clusters
        assert f"P provisions (type {PLAN_NAME})" in shown_text(app, "#pv-status")
        assert emulator.status().brokers == {}  # a dry run creates nothing

        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, TypedConfirmScreen), what="confirmation")
        await pilot.press(*PLAN_NAME, "enter")
        await until(pilot, lambda: "running" in step_label(screen, "clusters"), timeout=60, what="clusters")
        await until(
            pilot,
            lambda: any(state in r for r in resources(screen, "clusters") for state in CLUSTER_STATES),
            timeout=30,
            what="the clusters' Azure state",
        )
        await until(pilot, lambda: not screen.running, timeout=150, what="the end of the run")
        await pilot.pause()
        outcome = screen.result.outcome if screen.result is not None else None
        assert outcome == "completed", shown_text(app, "#pv-status")
        for key in STEPS:
            assert "done" in step_label(screen, key), step_label(screen, key)
        assert sum("clusterState Running" in r for r in resources(screen, "clusters")) == 2
        assert "10/10 steps" in shown_text(app, "#pv-count")
        assert f"✓ provisioned {PLAN_NAME}" in shown_text(app, "#pv-status")

        # The console now works on the provisioned clusters: the Overview probes them (real brokers).
        assert app.plan is not None and all(c.bootstrap_servers for c in app.plan.clusters.values())
        await pilot.press("1")
        await until(
            pilot,
            lambda: sum("● UP" in str(card.render()) for card in app.screen.query(ClusterCard)) == 2,
            timeout=30,
            what="both provisioned clusters UP in the Overview",
        )

    # What the pane did is real: the plan now names the provisioned brokers, which answer.
    plan = load_plan(plan_path)
    assert all(cluster.bootstrap_servers for cluster in plan.clusters.values())
    status = emulator.status()
    assert len(status.brokers) == 2 and all(b["up"] for b in status.brokers.values()), status.brokers
    assert all(e["up"] for e in status.edges.values()), status.edges
