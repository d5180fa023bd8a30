"""``kdrtui gameday``: the list, and the refusals (exit 2, nothing changed): an unknown scenario, a plan that
is not a running lab's, a need the lab lacks (naming the ``kdrtui lab up`` option that provides it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.lab.lab import Lab
from kdrtui.services.gameday import scenarios
from kdrtui.services.gameday.scenario import Scenario


def test_list_names_every_scenario_with_its_needs() -> None:
    result = CliRunner().invoke(main, ["gameday", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = {s["name"]: s for s in json.loads(result.output)}
    assert {"mm-crash", "broker-loss", "wan-partition", "wan-degraded"} <= set(listed)
    assert listed["broker-loss"]["needs"] == ["three-brokers"]
    assert listed["wan-partition"]["needs"] == ["wan"] and listed["wan-partition"]["long"] is True
    text = CliRunner().invoke(main, ["gameday", "list"]).output
    assert "kdrtui lab up --wan-latency-ms 35" in text


def test_an_unknown_scenario_is_refused_with_the_names() -> None:
    result = CliRunner().invoke(main, ["gameday", "run", "meteor", "--plan", "lab"])
    assert result.exit_code == 2
    assert "no scenario 'meteor'" in result.output and "mm-crash" in result.output


def test_a_plan_that_is_not_a_running_labs_is_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text('[plan]\nname = "x"\n')
    result = CliRunner().invoke(main, ["gameday", "run", "mm-crash", "--plan", str(plan)])
    assert result.exit_code == 2
    assert f"there is no lab in {tmp_path}" in result.output


@pytest.mark.lab
def test_a_copy_of_the_labs_plan_is_not_the_lab_and_a_missing_need_names_its_option(
    gameday_lab: Lab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"KDRTUI_LAB_DIR": str(gameday_lab.home)}
    # A plan beside a lab.json that is not the lab's plan file.
    copy = gameday_lab.home / "copy-of-plan.toml"
    shutil.copy(gameday_lab.plan_path, copy)
    try:
        result = CliRunner().invoke(main, ["gameday", "run", "mm-crash", "--plan", str(copy)], env=env)
    finally:
        copy.unlink()
    assert result.exit_code == 2
    assert "is not a running lab's plan" in result.output and "--plan lab" in result.output

    needy = Scenario("needs-aa", "s", "p", frozenset({"active-active"}), False, lambda ctx: None)
    monkeypatch.setitem(scenarios.SCENARIOS, "needs-aa", needy)
    result = CliRunner().invoke(main, ["gameday", "run", "needs-aa", "--plan", "lab"], env=env)
    assert result.exit_code == 2, result.output
    assert "active-active: `kdrtui lab up --topology active-active`" in result.output
