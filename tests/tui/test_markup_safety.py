"""Text from the outside world is shown as it is, never read as markup.

A Kafka error, an exception's text, an SSH error carrying the edge node's stderr, an ARM error, a topic,
group or cluster name can hold ``[/]`` (a closing tag with nothing open: Rich and Textual raise) or
``[bold red]x[/]`` (a tag: it would be styled and lose its brackets). Each path that shows such text is
driven through Pilot with both, and must show the literal text — so the app neither crashes nor styles
it. What is checked is what the widget (or the notification) draws.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kdrtui.domain.lag import GroupLag, Health
from kdrtui.domain.plan import Plan
from kdrtui.domain.runbook import StepStatus
from kdrtui.services.ssh import RemoteCommandFailed
from kdrtui.tui.screens.dialogs import ConfirmScreen
from kdrtui.tui.screens.failover import FailoverScreen
from kdrtui.tui.screens.overview import OverviewScreen
from kdrtui.tui.screens.provisioning import ProvisioningScreen
from kdrtui.tui.screens.ssh_prompts import HostKeyScreen
from kdrtui.tui.widgets.step_tree import StepTree
from tests.tui.fake_runs import FakeOperations, FakeProvisioner, azure_plan
from tests.tui.fakes import (
    ScriptedLagSource,
    ScriptedProbes,
    UnreachableEdges,
    build_lag_app,
    edge_plan,
    fixed_app,
    sample_plan,
    snapshot,
    three_topics,
    topic,
)
from tests.tui.pilot_helpers import (
    confirm_typed,
    log_text,
    open_lag,
    row_cells,
    screen_lines,
    show_failover,
    show_provisioning,
    shown_text,
    toasts,
    until,
)

OUTSIDE = ["[/]", "[bold red]x[/]", "[$warning]x", "C:\\logs\\"]
"""What an outside string may hold: a closing tag with nothing open, a styled word, a theme variable, and a
trailing backslash (which escape() leaves to eat the closing tag after it)."""

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Journals and the DR state go to a fresh directory for every test."""
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))


def on_screen(app: object, text: str) -> bool:
    """Whether the terminal shows ``text`` on one of its rows."""
    return any(text in line for line in screen_lines(app))  # type: ignore[arg-type]


# -- the Mirror lag pane ------------------------------------------------------------------------------


@pytest.mark.parametrize("outside", OUTSIDE)
async def test_a_failed_lag_refresh_is_notified_and_shown_as_it_is(outside: str) -> None:
    source = ScriptedLagSource(three_topics())
    app = build_lag_app(source)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_lag(pilot, app)
        source.fail = RuntimeError(f"KafkaError: {outside}")
        said = f"Lag refresh failed: RuntimeError: KafkaError: {outside}"
        await until(pilot, lambda: said in toasts(app), what="the notification")
        banner = shown_text(app, "#lag-banner")
        assert f"refresh failed: RuntimeError: KafkaError: {outside} (retrying)" in banner
        assert on_screen(app, f"KafkaError: {outside}")


@pytest.mark.parametrize("outside", OUTSIDE)
async def test_topic_and_group_names_and_a_task_trace_are_shown_as_they_are(outside: str) -> None:
    group = GroupLag(
        group=f"g{outside}",
        topic=outside,
        committed=10,
        checkpointed=8,
        checkpoint_age_s=3.0,
        redeliver=2,
        skip=0,
    )
    base = snapshot(topic(outside, Health.WARN, lag=5, lag_s=40.0), topic("orders"), groups=(group,))
    trace = f"org.apache.kafka.connect.errors.ConnectException: {outside}"
    flow = replace(base.flows[0], failed_tasks=(trace,))
    app = build_lag_app(ScriptedLagSource(replace(base, flows=(flow,))))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_lag(pilot, app, rows=2)
        assert row_cells(app, f"primary->dr/{outside}", "#lag-table")[0] == outside
        assert on_screen(app, f" {outside} ")
        assert f"task failed: {trace}" in shown_text(app, "#lag-banner")
        await pilot.press("g")
        await until(pilot, lambda: shown_text(app, "#lag-detail-title").startswith("consumer groups (1)"))
        assert row_cells(app, f"primary->dr/g{outside}/{outside}", "#lag-detail")[:2] == [
            f"g{outside}",
            outside,
        ]
        await pilot.press("escape")
        await pilot.press("enter")  # the worst topic's partitions: its name in the title
        await until(pilot, lambda: "partitions" in shown_text(app, "#lag-detail-title"))
        assert shown_text(app, "#lag-detail-title").startswith(f"{outside} → primary.{outside} ")


# -- the Edge pane -----------------------------------------------------------------------------------


@pytest.mark.parametrize("outside", OUTSIDE)
async def test_an_ssh_error_with_the_nodes_stderr_is_shown_as_it_is(outside: str) -> None:
    error = RemoteCommandFailed("ls", 1, f"ls: cannot access {outside}\n", "10.1.0.20", 22)
    edges = UnreachableEdges(error)
    app = fixed_app(edge_plan(), manager_factory=edges)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("6")
        said = f"cannot access {outside}"
        await until(pilot, lambda: said in shown_text(app, "#edge-log-title"), what="the error")
        assert shown_text(app, "#edge-log-title") == str(error)
        assert on_screen(app, said)


# -- the Failover pane -------------------------------------------------------------------------------


@pytest.mark.parametrize("outside", OUTSIDE)
async def test_a_failover_steps_error_is_shown_as_it_is(outside: str) -> None:
    ops = FakeOperations()
    ops.statuses["drain"] = StepStatus.FAILED
    ops.failure = f"KafkaException: {outside}"
    app = fixed_app(sample_plan(), operation_factory=ops)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await show_failover(pilot, ops)
        await confirm_typed(pilot, "F", "dr")
        error = f"drain failed KafkaException: {outside}"

        def ended() -> bool:
            screen = app.screen
            return isinstance(screen, FailoverScreen) and screen.result is not None and not screen.running

        await until(pilot, ended, what="the run's end")
        assert f"failover primary -> dr failed: {error}" in toasts(app)
        assert str(app.screen.query_one("#fo-steps").get_cell("drain", "summary")) == error  # type: ignore[attr-defined]
        assert f"✗ drain failed: {error}" in log_text(app, "#fo-log")
        assert f"failed at drain: {error}" in shown_text(app, "#fo-banner")


# -- the Provisioning pane ---------------------------------------------------------------------------


@pytest.mark.parametrize("outside", OUTSIDE)
async def test_a_provisioning_arm_error_is_shown_and_notified_as_it_is(outside: str, tmp_path: Path) -> None:
    prov = FakeProvisioner(tmp_path)
    prov.fail_at = prov.hold_at = "clusters"
    prov.error = f"cluster kdrlab-dr: ClusterCreationFailed: {outside}"
    app = fixed_app(azure_plan(), provisioning_factory=prov)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await show_provisioning(pilot)
        await confirm_typed(pilot, "P", "orders-dr")
        await until(pilot, lambda: prov.runs == [False], what="the run")
        await pilot.press("1")  # elsewhere in the console, the end is notified
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen), what="the Overview")
        prov.release.set()
        said = f"provisioning failed at clusters: {prov.error}"
        await until(pilot, lambda: said in toasts(app), what="the notification")
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, ProvisioningScreen))
        assert f"✗ failed at clusters (r retries): {prov.error}" in shown_text(app, "#pv-status")
        node = app.screen.query_one(StepTree).step_node("clusters")
        assert node is not None
        assert str(node.children[-1].label) == prov.error
        # The log is drawn in batches (every ~250 ms) once the pane shows again.
        await until(pilot, lambda: prov.error in log_text(app, "#pv-log"), timeout=10, what="the log line")


# -- the Overview and the dialogs --------------------------------------------------------------------


@pytest.mark.parametrize("outside", OUTSIDE)
async def test_a_clusters_probe_error_is_shown_as_it_is(outside: str) -> None:
    probes = ScriptedProbes()
    probes.down.add("dr")
    probes.error = f"KafkaError{{code=_TRANSPORT,val=-195,str={outside}}}"
    app = fixed_app(sample_plan(), probes=probes)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: "UNREACHABLE" in shown_text(app, "#cluster-dr"), what="dr down")
        assert f"error      {probes.error}" in shown_text(app, "#cluster-dr")


@pytest.mark.parametrize("outside", OUTSIDE)
async def test_questions_show_outside_names_as_they_are(outside: str, tmp_path: Path) -> None:
    plan: Plan = sample_plan()
    app = fixed_app(plan)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.begin_operation("mm-start", f"start {outside} on edge-1")
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert (
            shown_text(app, "#confirm-question") == f"Still running: start {outside} on edge-1. Quit anyway?"
        )
        await pilot.press("n")
        app.end_operation("mm-start")
        app.push_screen(HostKeyScreen(f"edge{outside}", 22, f"ssh-ed25519{outside}", f"SHA256:{outside}"))
        await until(pilot, lambda: isinstance(app.screen, HostKeyScreen))
        await pilot.pause()
        assert on_screen(app, f"edge{outside}:22")
        assert on_screen(app, f"ssh-ed25519{outside} key fingerprint:")
        assert on_screen(app, f"SHA256:{outside}")
