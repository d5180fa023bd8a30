"""What the Game day pane says, without Textual: which lab a plan is, why a scenario cannot run there, the
report's summary and where it goes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kdrtui.domain.gameday import Check, Measure, TopicCounts
from kdrtui.services.gameday.scenario import Scenario
from kdrtui.services.runbook.plan_dir import plan_dir
from kdrtui.tui.screens import gameday_model as model
from tests.tui.fakes import sample_plan
from tests.tui.gameday_helpers import STARTED, FakeRunner, Waiter, lab_plan_path, scenarios


def scenario(*needs: str) -> Scenario:
    return Scenario("s", "what happens", "what it proves", frozenset(needs), False, lambda ctx: None)


def test_only_a_labs_own_plan_is_a_lab(tmp_path: Path) -> None:
    plan_path = lab_plan_path(tmp_path)
    assert model.lab_home_of(plan_path) == plan_path.parent.resolve()
    (plan_path.parent / "lab.json").unlink()
    assert model.lab_home_of(plan_path) is None  # a plan.toml anywhere is not a lab
    other = tmp_path / "lab" / "orders.toml"
    other.write_text("", encoding="utf-8")
    assert model.lab_home_of(other) is None
    assert model.lab_home_of(None) is None


def test_the_lab_offers_what_its_lab_json_says(tmp_path: Path) -> None:
    facts = model.read_lab(sample_plan(), lab_plan_path(tmp_path, brokers=3))
    assert facts.refusal is None and facts.has == frozenset({"three-brokers"})
    assert facts.shape == "3 brokers per cluster · no WAN · cold-standby"
    assert model.why_not(scenario("three-brokers"), facts) is None
    assert model.why_not(scenario("wan", "three-brokers"), facts) == (
        "needs a WAN, which this lab has not (kdrtui lab up --wan-latency-ms 35)"
    )
    one = model.read_lab(sample_plan(), lab_plan_path(tmp_path / "one", brokers=1))
    assert model.why_not(scenario("three-brokers", "active-active"), one) == (
        "needs the active-active lab and three brokers per cluster, which this lab has not "
        "(kdrtui lab up --topology active-active; kdrtui lab up --brokers 3)"
    )


def test_no_plan_or_another_plan_is_refused_plainly(tmp_path: Path) -> None:
    assert model.read_lab(None, None).refusal == model.NO_PLAN
    refusal = model.read_lab(sample_plan(), tmp_path / "orders-dr.toml").refusal
    assert refusal is not None and refusal.startswith("plan orders-dr: game days run only on the lab")
    assert model.why_not(scenario(), model.read_lab(None, None)) == model.NO_PLAN


def test_a_report_with_a_loss_says_what_failed(tmp_path: Path) -> None:
    runner = FakeRunner(scenarios(Waiter()))
    report = runner(
        "fake-quick", lab_home=tmp_path, plan_path=tmp_path / "plan.toml", on_event=None, cancel=None
    )
    report = dataclasses.replace(
        report,
        topics=[TopicCounts("gd-a-0", "primary.gd-a-0", 400, 400, 397, 3, 0, 0)],
        checks=[
            Check("rpo", "<= 60 s", "1.3 s", True),
            Check(
                "no-loss",
                "0 acknowledged records lost",
                "3 lost: the last records MirrorMaker had not copied",
                False,
            ),
            Check("rto", "<= 300 s", "not measured (no runbook ran)", None),
        ],
        rto_seconds=Measure(None, "no runbook ran"),
    )
    paths = (tmp_path / "gameday" / "x.md", tmp_path / "gameday" / "x.json")
    lines = model.report_lines(report, paths, 60)
    assert lines[0] == ("✗ FAIL · fake-quick in 7.5 s", "error")
    assert lines[1] == ("report: x.md (and .json)", "text-muted")
    where, colour = lines[2]  # a long directory keeps its start and its end
    assert colour == "text-muted" and len(where) == 60 and "…" in where
    assert where.startswith("in /") and where.endswith("_says0/gameday")
    assert ("✓ passed: rpo", "success") in lines
    failed = [text for text, colour in lines if colour == "error"][1:-1]  # not the verdict nor the counts
    assert failed == [
        "✗ no-loss: 3 lost: the last records MirrorMaker had not",
        "  copied (expected 0 acknowledged records lost)",
    ]
    assert all(len(text) <= 60 for text in failed)
    assert lines[-1] == (
        "records: 400 acked · 397 delivered · 3 lost · 0 duplicated · 0 out of order",
        "error",
    )
    assert "RPO: 12 records / 1.3 s · RTO: unknown (no runbook ran)" in [text for text, _ in lines]
    written = model.report_lines(report, (), 60, "PermissionError: [Errno 13] denied")
    assert ("report not written: PermissionError: [Errno 13] denied", "error") in written


def test_reports_go_beside_the_plans_journals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    plan_path = lab_plan_path(tmp_path)
    md, data = model.report_paths(sample_plan(), plan_path, "mm-crash", STARTED)
    assert md.parent == plan_dir("orders-dr", plan_path) / "gameday"
    assert md.name == "mm-crash-20251125T175825Z.md"  # the run's start, UTC
    assert data == md.with_suffix(".json")
    runner = FakeRunner(scenarios(Waiter()))
    report = runner("fake-quick", lab_home=tmp_path, plan_path=plan_path, on_event=None, cancel=None)
    model.write_report(report, (md, data))
    assert json.loads(data.read_text(encoding="utf-8"))["scenario"] == "fake-quick"
    assert md.read_text(encoding="utf-8") == report.to_markdown()
    assert sorted(p.name for p in md.parent.iterdir()) == sorted([md.name, data.name])  # no .tmp left
