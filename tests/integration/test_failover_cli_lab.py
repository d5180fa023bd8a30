"""`kdrtui failover|failback` from a shell, against the lab, for what changes nothing: the dry run (text and
JSON), a refused confirmation, a resume with nothing to resume. MirrorMaker is never started here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import PRIMARY, Lab
from kdrtui.services.kafka import fence
from kdrtui.services.runbook.store import RunbookStore
from tests.kafka_helpers import create_topic, produce_numbered
from tests.lab_helpers import cli, dr_plan

pytestmark = pytest.mark.lab

TITLES = [
    "Pre-flight",
    "Fence",
    "Drain",
    "Stop MirrorMaker",
    "Translate consumer group offsets",
    "Switch clients",
    "Replication",
    "Report",
]
"""How each step's title starts, in order."""


def assert_nothing_recorded(plan: Plan, path: Path, state_dir: Path) -> None:
    store = RunbookStore(plan.plan.name, path, state_dir)
    assert store.journals() == [], "no journal"
    assert not store.state_path.exists(), "no DR state"
    assert not (state_dir / "audit.log").exists(), "no audit line"


def test_dry_run_prints_every_step_and_changes_nothing(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes")
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=2)
    produce_numbered(primary, unique_name, 20)

    result = cli("failover", "--plan", str(path), "--dry-run")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    numbered = [i for i, line in enumerate(lines) if line.startswith("[")]
    assert len(numbered) == len(TITLES), result.stdout
    for n, (i, title) in enumerate(zip(numbered, TITLES, strict=True), 1):
        assert lines[i].startswith(f"[{n}] {title}"), lines[i]
        what = lines[i + 1]
        assert what.startswith("    ") and what.strip(), f"step {n} says what it would do: {lines[i : i + 2]}"
    assert lines[-1] == "dry run: nothing was changed"
    fence_lines = lines[numbered[1] + 1 : numbered[2]]
    assert any("max.message.bytes = 1" in line and unique_name in line for line in fence_lines), fence_lines
    assert any(f"failover {PRIMARY} -> " in line for line in lines[numbered[0] + 1 : numbered[1]])

    assert_nothing_recorded(plan, path, state_dir)
    assert fence.read_max_bytes(primary, [unique_name]) == {unique_name: None}, "primary is not fenced"


def test_dry_run_json_lists_the_8_steps(lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes")
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=1)

    result = cli("failover", "--plan", str(path), "--dry-run", "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    steps = answer["dry_run"]
    assert [s["step"] for s in steps] == [
        "preflight",
        "fence",
        "drain",
        "stop-mirrormaker",
        "translate-offsets",
        "switch-clients",
        "replication",
        "report",
    ]
    for step, title in zip(steps, TITLES, strict=True):
        assert step["title"].startswith(title)
        assert isinstance(step["would"], list) and all(isinstance(line, str) for line in step["would"])
    assert_nothing_recorded(plan, path, state_dir)
    assert fence.read_max_bytes(lab.bootstrap(PRIMARY), [unique_name]) == {unique_name: None}


def test_wrong_name_typed_does_not_start(lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes")
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=1)

    result = cli("failover", "--plan", str(path), input="nope\n")

    assert result.exit_code == 2, result.output
    assert "GO" in result.stdout, "the forecast is shown before the question"
    assert "Type the name of the cluster" in result.stdout
    assert "failover not started" in result.stderr and "'nope'" in result.stderr
    assert_nothing_recorded(plan, path, state_dir)
    assert fence.read_max_bytes(lab.bootstrap(PRIMARY), [unique_name]) == {unique_name: None}


def test_resume_with_nothing_to_resume_is_refused(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name)

    result = cli("failback", "--plan", str(path), "--resume")

    assert result.exit_code == 2, result.output
    assert "nothing to resume" in result.stderr
    assert_nothing_recorded(plan, path, state_dir)
