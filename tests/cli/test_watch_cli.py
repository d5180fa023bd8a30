"""``kdrtui watch``'s refusals and ``--ack`` (no lab: the policy's files are written as the watcher would)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.domain.timeline import EventKind
from kdrtui.services.automation.state import AutoFailover, read_last_failover, write_last_failover
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.services.timeline.store import TimelineStore
from tests.samples import GOOD

POLICY = '\n[automation]\nenabled = true\nmode = "advise"\nvantage_points = ["kdrtui"]\n'


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("USER", "alice")
    return tmp_path / "state"


def test_a_plan_with_the_policy_off_is_refused(tmp_path: Path, state: Path) -> None:
    result = CliRunner().invoke(main, ["watch", "--plan", str(GOOD)])
    assert result.exit_code == 2
    assert "automation is off" in result.output and "enabled = true" in result.output


def test_a_bad_via_names_the_option(tmp_path: Path, state: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(GOOD.read_text() + POLICY)
    for via, why in (("primary", "ALIAS=HOST:PORT"), ("nowhere=127.0.0.1:1", "no cluster nowhere")):
        result = CliRunner().invoke(main, ["watch", "--plan", str(plan), "--via", via])
        assert result.exit_code == 2 and "--via" in result.output and why in result.output, result.output


def test_ack_marks_the_last_automatic_failover_once_audits_and_records_it(
    tmp_path: Path, state: Path
) -> None:
    plan_path = tmp_path / "plan.toml"
    plan_path.write_text(GOOD.read_text() + POLICY)
    plan = load_plan(plan_path)
    store = RunbookStore(plan.plan.name, plan_path)
    nothing = CliRunner().invoke(main, ["watch", "--plan", str(plan_path), "--ack"])
    assert nothing.exit_code == 0 and "no automatic failover to acknowledge" in nothing.output
    write_last_failover(store.dir, AutoFailover("(starting)", 1.0))  # the watcher's run in progress
    running = CliRunner().invoke(main, ["watch", "--plan", str(plan_path), "--ack"])
    assert running.exit_code == 2 and "still running" in running.output
    assert read_last_failover(store.dir).acknowledged is False  # type: ignore[union-attr]
    write_last_failover(store.dir, AutoFailover("/x/journal-1-failover.jsonl", 1.0, "completed"))

    first = CliRunner().invoke(main, ["watch", "--plan", str(plan_path), "--ack"])
    assert first.exit_code == 0 and "acknowledged by alice" in first.output
    last = read_last_failover(store.dir)
    assert last is not None and last.acknowledged and last.acked_by == "alice"
    audit = [json.loads(line) for line in store.audit_path.read_text().splitlines()]
    assert [(a["action"], a["user"], a["outcome"]) for a in audit] == [
        ("automation ack", "alice", "completed")
    ]
    timeline = TimelineStore.for_plan(plan.plan.name, plan_path)
    try:
        texts = [e.text for e in timeline.events(kinds=[EventKind.AUTOMATION])]
    finally:
        timeline.close()
    assert len(texts) == 1 and "acknowledged by alice" in texts[0]

    again = CliRunner().invoke(main, ["watch", "--plan", str(plan_path), "--ack"])
    assert again.exit_code == 0 and "was acknowledged by alice at" in again.output
    assert len(store.audit_path.read_text().splitlines()) == 1


def test_a_second_watcher_of_the_plan_is_refused_naming_the_first(tmp_path: Path, state: Path) -> None:
    from kdrtui.commands.watch import WATCH_LOCK
    from kdrtui.services.runbook.lock import PlanLock

    plan_path = tmp_path / "plan.toml"
    plan_path.write_text(GOOD.read_text() + POLICY)
    plan = load_plan(plan_path)
    first = PlanLock(RunbookStore(plan.plan.name, plan_path).dir, plan.plan.name, name=WATCH_LOCK)
    first.acquire("watch")  # the first watcher (a lock in this process conflicts like another process's)
    try:
        result = CliRunner().invoke(main, ["watch", "--plan", str(plan_path), "--once"])
    finally:
        first.release()
    assert result.exit_code == 2
    assert "busy with watch by alice" in result.output, result.output
