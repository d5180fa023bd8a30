"""The Provisioning pane (key 3) driven through Pilot with a scripted provisioner (UI behaviour only).

The fake (``tests.tui.fake_runs.FakeProvisioner``) emits the runner's events as the real provisioner does —
step-start, per-resource progress facts, step-end, run-end — keeps a real journal file for resume, and
holds or fails where the test says: nothing here waits on a timer.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kdrtui.domain.runbook import StepStatus
from kdrtui.tui.app import KdrApp
from kdrtui.tui.screens.dialogs import ConfirmScreen, TypedConfirmScreen
from kdrtui.tui.screens.provisioning import ProvisioningScreen
from kdrtui.tui.screens.provisioning_model import ProvisioningUnavailable
from kdrtui.tui.widgets.step_tree import StepsBar, StepTree
from tests.tui.fake_runs import PROVISION_STEPS, FakeProvisioner, azure_plan
from tests.tui.fakes import FIXED_NOW, fixed_app, sample_plan
from tests.tui.pilot_helpers import confirm_typed, log_text, show_provisioning, shown_text, until


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Log times are local; pin the zone so the snapshots match everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def prov(tmp_path: Path) -> FakeProvisioner:
    return FakeProvisioner(tmp_path)


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = FIXED_NOW

    def __call__(self) -> float:
        return self.now


def build(prov: FakeProvisioner, clock: Clock | None = None, **kw: Any) -> KdrApp:
    return fixed_app(azure_plan(), provisioning_factory=prov, clock=clock, **kw)


def pane(app: KdrApp) -> ProvisioningScreen:
    screen = app.screen
    assert isinstance(screen, ProvisioningScreen), screen
    return screen


def step_line(app: KdrApp, key: str) -> str:
    node = app.screen.query_one(StepTree).step_node(key)
    assert node is not None
    return str(node.label)


def children(app: KdrApp, key: str) -> list[str]:
    node = app.screen.query_one(StepTree).step_node(key)
    assert node is not None
    return [str(child.label) for child in node.children]


def shown_keys(app: KdrApp) -> set[str]:
    return {key for key, active in app.active_bindings.items() if active.enabled}


def ended(app: KdrApp) -> bool:
    screen = pane(app)
    return not screen.running and (screen.result is not None or bool(screen.run_error))


# -- the dry run ----------------------------------------------------------------------------------


async def test_dry_run_is_listed_on_entry(prov: FakeProvisioner) -> None:
    app = build(prov)
    async with app.run_test(size=(80, 24)) as pilot:
        assert prov.built == 0  # nothing is built before the pane is shown
        await show_provisioning(pilot)
        assert prov.dry_runs == 1
        for key, _ in PROVISION_STEPS:
            assert "pending" in step_line(app, key)
        assert children(app, "resource-groups") == [
            "create resource group kdr-eastus",
            "resource group kdr-westus2: exists",
        ]
        assert "dry run 18:00:00 · P provisions (type orders-dr)" in shown_text(app, "#pv-status")
        assert "0/10 steps" in shown_text(app, "#pv-count")
        assert {"P", "d"} <= shown_keys(app)
        assert not {"r", "R", "a"} & shown_keys(app)
        await pilot.press("d")
        await until(pilot, lambda: prov.dry_runs == 2, what="second dry run")


async def test_plan_without_azure_explains_what_to_add(prov: FakeProvisioner) -> None:
    app = fixed_app(sample_plan(), provisioning_factory=prov)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        text = shown_text(app, "#pv-empty")
        assert "no [azure] table" in text
        assert "kdrtui lab up --azure" in text
        assert not {"P", "r", "R", "a", "d"} & shown_keys(app)
        assert prov.built == 0


async def test_unavailable_provisioner_says_why(prov: FakeProvisioner) -> None:
    prov.refuse = ProvisioningUnavailable("provisioning is unavailable: kdrtui.services.azure.provision …")
    app = build(prov)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: bool(pane(app).unavailable), what="unavailable")
        await pilot.pause()
        assert "provisioning is unavailable" in shown_text(app, "#pv-status")
        assert not {"P", "r", "R", "a", "d"} & shown_keys(app)


# -- a run ------------------------------------------------------------------------------------------


async def test_run_goes_running_to_done_with_resources_and_progress(prov: FakeProvisioner) -> None:
    prov.hold_at = "clusters"
    clock = Clock()
    app = build(prov, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        await confirm_typed(pilot, "P", "orders")  # not the name: nothing starts
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmScreen) and prov.runs == []
        await pilot.press(*"orders-dr", "enter")
        await until(pilot, lambda: "running" in step_line(app, "clusters"), what="clusters running")
        screen = pane(app)
        assert screen.running and app.operations  # quitting asks first
        await until(pilot, lambda: any("HdInsightConfiguration" in c for c in children(app, "clusters")))
        clusters = children(app, "clusters")
        assert any(
            "cluster kdrlab-primary" in c and "50%" in c and "clusterState HdInsightConfiguration" in c
            for c in clusters
        ), clusters
        assert "done" in step_line(app, "peering") and "7s" in step_line(app, "peering")
        assert "a" in shown_keys(app) and "P" not in shown_keys(app)
        assert "step 6/10" in shown_text(app, "#pv-status")
        bar = app.screen.query_one(StepsBar)
        assert bar.total == 10 and 5 < (bar.progress or 0) < 6  # 5 steps + the clusters' fractions
        clock.now += 83  # the running step's elapsed time is live
        await until(pilot, lambda: "1m23s" in step_line(app, "clusters"), what="live elapsed")
        await until(pilot, lambda: "clusterState Accepted" in log_text(app, "#pv-log"), what="the step's log")
        prov.release.set()
        await until(pilot, lambda: ended(app), what="run end")
        await pilot.pause()
        assert screen.result is not None and screen.result.outcome == "completed"
        for key, _ in PROVISION_STEPS:
            assert "done" in step_line(app, key), step_line(app, key)
        assert "1m09s" in step_line(app, "clusters")
        assert bar.progress == 10
        assert "10/10 steps" in shown_text(app, "#pv-count")
        assert "✓ provisioned orders-dr" in shown_text(app, "#pv-status")
        assert not app.operations
        assert prov.runs == [False]


async def test_a_completed_provisioning_shows_under_the_next_dry_run(prov: FakeProvisioner) -> None:
    app = build(prov)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        await confirm_typed(pilot, "P", "orders-dr")
        await until(pilot, lambda: ended(app), what="run end")
        await pilot.press("d")  # the dry run after it: the steps keep what the journal says
        await until(pilot, lambda: prov.dry_runs == 2 and not pane(app).dry_reading, what="dry run")
        await pilot.pause()
        for key, _ in PROVISION_STEPS:
            assert "done" in step_line(app, key), step_line(app, key)
        status = shown_text(app, "#pv-status")
        # The journal's own clock (real time), then the app's.
        shape = r"provisioned \(\d\d:\d\d:\d\d\) · dry run 18:00:00 · P runs it again"
        assert re.match(shape, status), status
        assert "P" in shown_keys(app)


async def test_failed_step_shows_the_arm_error_and_r_retries(prov: FakeProvisioner) -> None:
    prov.fail_at = "clusters"
    app = build(prov)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        await confirm_typed(pilot, "P", "orders-dr")
        await until(pilot, lambda: ended(app), what="run end")
        await pilot.pause(0.4)  # the log's batch
        assert "failed" in step_line(app, "clusters")
        assert "ClusterCreationFailed" in step_line(app, "clusters")
        # Brackets in the ARM message are text, not markup.
        assert any("ClusterCreationFailed: The cluster [kdrlab-dr]" in c for c in children(app, "clusters"))
        log = log_text(app, "#pv-log")
        assert "ClusterCreationFailed" in log and "[kdrlab-dr] failed to deploy" in log
        assert "failed at clusters (r retries)" in shown_text(app, "#pv-status")
        assert "pending" in step_line(app, "edge-nodes")
        assert "r" in shown_keys(app) and not {"P", "R"} & shown_keys(app)
        await pilot.press("r")
        await until(pilot, lambda: prov.runs == [False, True] and ended(app), what="retried run")
        await pilot.pause()
        assert pane(app).result.outcome == "completed"  # type: ignore[union-attr]
        assert "verified" in step_line(app, "peering")
        assert "done" in step_line(app, "clusters")
        assert "✓ provisioned" in shown_text(app, "#pv-status")


async def test_a_requests_abort_between_steps(prov: FakeProvisioner) -> None:
    prov.hold_at = "peering"
    app = build(prov)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        await confirm_typed(pilot, "P", "orders-dr")
        await until(pilot, lambda: "running" in step_line(app, "peering"), what="peering running")
        await pilot.press("a")
        assert prov.aborts == 1
        assert "aborting after the current step" in shown_text(app, "#pv-status")
        assert "a" not in shown_keys(app)  # shown disabled once asked
        prov.release.set()
        await until(pilot, lambda: ended(app), what="run end")
        await pilot.pause()
        assert pane(app).result.outcome == "aborted"  # type: ignore[union-attr]
        assert "done" in step_line(app, "peering")
        assert "pending" in step_line(app, "clusters")
        assert "R resumes" in shown_text(app, "#pv-status")
        assert "R" in shown_keys(app) and "P" not in shown_keys(app)


async def test_interrupted_banner_and_r_resumes(prov: FakeProvisioner) -> None:
    prov.interrupt_after(5)  # killed while the clusters were being created
    app = build(prov)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        banner = shown_text(app, "#pv-banner")
        assert "interrupted provisioning (journal-provision.jsonl, 5/10 steps finished)" in banner
        assert "press R to resume" in banner
        assert "done" in step_line(app, "vnets")
        assert "R" in shown_keys(app) and "P" not in shown_keys(app)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="resume question")
        await pilot.press("y")
        await until(pilot, lambda: prov.runs == [True] and ended(app), what="resumed run")
        await pilot.pause()
        assert pane(app).result.outcome == "completed"  # type: ignore[union-attr]
        assert "verified" in step_line(app, "preflight")
        assert "done" in step_line(app, "clusters")
        assert not shown_text(app, "#pv-banner")


async def test_read_only_shows_the_dry_run_and_offers_nothing_that_changes(prov: FakeProvisioner) -> None:
    prov.interrupt_after(2)
    app = build(prov, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        assert children(app, "clusters")  # the dry run is there
        assert "resume it without --read-only" in shown_text(app, "#pv-banner")
        screen = pane(app)
        for action in ("provision", "retry", "resume", "abort"):
            assert screen.check_action(action, ()) is False
        assert not {"P", "r", "R", "a"} & shown_keys(app)
        assert "d" in shown_keys(app)
        await pilot.press("P", "R", "a")
        await pilot.pause()
        assert isinstance(app.screen, ProvisioningScreen) and prov.runs == []


async def test_read_only_without_a_journal_says_so(prov: FakeProvisioner) -> None:
    app = build(prov, read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        assert "read-only: provisioning is not offered" in shown_text(app, "#pv-status")


async def test_quitting_while_running_asks_first(prov: FakeProvisioner) -> None:
    prov.hold_at = "clusters"
    app = build(prov)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_provisioning(pilot)
        await confirm_typed(pilot, "P", "orders-dr")
        await until(pilot, lambda: "running" in step_line(app, "clusters"), what="clusters running")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="quit question")
        assert "provisioning orders-dr" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ProvisioningScreen))
        prov.release.set()
        await until(pilot, lambda: ended(app), what="run end")
        assert not app.operations


# -- snapshots --------------------------------------------------------------------------------------


async def finished_run(pilot: Pilot[None]) -> None:
    await show_provisioning(pilot)
    await confirm_typed(pilot, "P", "orders-dr")
    await until(pilot, lambda: ended(pilot.app), what="run end")  # type: ignore[arg-type]
    await pilot.pause(0.4)


def test_snapshot_finished_run_80x24(snap_compare: Any, tmp_path: Path) -> None:
    app = build(FakeProvisioner(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=finished_run)


def test_snapshot_failed_run_80x24(snap_compare: Any, tmp_path: Path) -> None:
    prov = FakeProvisioner(tmp_path)
    prov.fail_at = "clusters"
    assert snap_compare(build(prov), terminal_size=(80, 24), run_before=finished_run)


def test_snapshot_failed_run_120x40(snap_compare: Any, tmp_path: Path) -> None:
    prov = FakeProvisioner(tmp_path)
    prov.fail_at = "clusters"
    assert snap_compare(build(prov), terminal_size=(120, 40), run_before=finished_run)


def test_snapshot_dry_run_80x24(snap_compare: Any, tmp_path: Path) -> None:
    app = build(FakeProvisioner(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=show_provisioning)


def test_snapshot_without_azure_80x24(snap_compare: Any, tmp_path: Path) -> None:
    app = fixed_app(sample_plan(), provisioning_factory=FakeProvisioner(tmp_path))
    assert snap_compare(app, terminal_size=(80, 24), press=["3"])


def test_step_status_marks_cover_every_status() -> None:
    from kdrtui.tui.screens.provisioning_model import STATUS_MARKS

    assert set(STATUS_MARKS) == set(StepStatus)


# -- the real factory --------------------------------------------------------------------------------


def test_the_default_factory_says_why_when_the_provisioner_cannot_be_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kdrtui.tui.screens import provisioning_model

    monkeypatch.setattr(provisioning_model, "PROVISION_MODULE", "kdrtui.services.azure.not_there")
    with pytest.raises(ProvisioningUnavailable, match="cannot be imported"):
        provisioning_model.azure_provisioning_factory(azure_plan(), Path("p.toml"), print, ask_nothing)


async def ask_nothing(host: str, port: int, key_type: str, fingerprint: str) -> bool:
    return False


def test_the_console_does_not_import_azure_at_start_up() -> None:
    code = (
        "import sys; import kdrtui.tui.app; "
        "loaded = [m for m in sys.modules if m.startswith(('azure', 'kdrtui.services.azure'))]; "
        "print(loaded); assert not loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
