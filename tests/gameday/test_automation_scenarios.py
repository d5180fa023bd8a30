"""The automated failover policy rehearsed on the game days' lab: ``kdrtui watch`` as its own process,
the lab's plan given an ``[automation]`` table for each run (see
:mod:`kdrtui.services.gameday.scenarios.automation`). Each run's reports are kept as evidence; the checks
are read from the report, and the DR state is read again here. The blip, no-quorum and advise-only runs
are in the default suite (a few minutes on the game days' lab, shared with mm-crash and broker-loss); the
region-loss cycle in act mode runs with the other long ones (`make gameday`)."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kdrtui.lab.lab import PRIMARY, Lab
from kdrtui.services.gameday.runner import run_scenario
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore
from tests.gameday_helpers import schema

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def run(lab: Lab, name: str, keep: Path) -> tuple[dict[str, Any], str]:
    """Run ``name``; its reports are kept in ``keep``, and in ``$KDRTUI_GAMEDAY_REPORTS`` when set (`make
    gameday` sets it)."""
    report = run_scenario(name, lab_home=lab.home, plan_path=lab.plan_path)
    markdown = report.to_markdown()
    body = json.loads(json.dumps(report.to_dict()))
    stems = [keep / name]
    if where := os.environ.get("KDRTUI_GAMEDAY_REPORTS"):
        stems.append(Path(where) / f"{name}-{report.started_at:.0f}")
    for stem in stems:
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".md").write_text(markdown, encoding="utf-8")
        stem.with_suffix(".json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    jsonschema.Draft202012Validator(schema()).validate(body)
    assert not lab.missing(), "the scenario left part of the lab down"
    assert "automation" not in tomllib.loads(lab.plan_path.read_text()), "the run left its policy in the plan"
    return body, markdown


def checks(body: dict[str, Any]) -> dict[str, bool | None]:
    return {c["name"]: c["passed"] for c in body["checks"]}


def active(lab: Lab) -> str:
    plan = load_plan(lab.plan_path)
    return RunbookStore(plan.plan.name, lab.plan_path).load_state(plan.primary_alias, plan.clusters).active


@pytest.mark.gameday  # the whole region-loss cycle (failover, the primary back, failback): `make gameday`
def test_region_loss_in_act_mode_fails_over_by_itself_names_automation_and_waits_for_an_ack(
    gameday_lab: Lab, tmp_path: Path
) -> None:
    body, markdown = run(gameday_lab, "auto-region-loss", tmp_path)
    verdicts = checks(body)
    for name in ("automatic-failover", "report-names-automation", "paged", "awaits-ack", "armed-after-ack",
                 "on-the-timeline", "failback-no-loss", "rpo-exact"):  # fmt: skip
        assert verdicts.get(name) is True, f"{name}:\n{markdown}"
    assert body["verdict"] == "pass", markdown
    assert active(gameday_lab) == PRIMARY


def test_a_partition_shorter_than_the_hold_down_fails_nothing_over(wan_lab: Lab, tmp_path: Path) -> None:
    body, markdown = run(wan_lab, "auto-blip", tmp_path)
    assert checks(body)["held-then-armed"] is True, markdown
    assert checks(body)["no-automatic-failover"] is True, markdown
    assert body["verdict"] == "pass", markdown
    assert active(wan_lab) == PRIMARY


def test_the_console_host_alone_seeing_the_primary_down_is_no_quorum(wan_lab: Lab, tmp_path: Path) -> None:
    body, markdown = run(wan_lab, "auto-no-quorum", tmp_path)
    verdicts = checks(body)
    assert verdicts["split-vote"] is True, markdown
    assert verdicts["never-held"] is True, markdown
    assert verdicts["no-automatic-failover"] is True, markdown
    assert body["verdict"] == "pass", markdown
    assert active(wan_lab) == PRIMARY


def test_unmirrored_records_above_max_rpo_records_make_it_advise_only(
    gameday_lab: Lab, tmp_path: Path
) -> None:
    body, markdown = run(gameday_lab, "auto-rpo-advise", tmp_path)
    verdicts = checks(body)
    assert verdicts["advised"] is True, markdown
    assert verdicts["advice-paged"] is True, markdown
    assert verdicts["no-failover"] is True, markdown
    assert body["verdict"] == "pass", markdown
    assert active(gameday_lab) == PRIMARY
