"""``kdrtui events`` on a timeline written by the real store: newest first, the window and the filters,
JSON, the Markdown write-up (summary, table, lag chart, the failover's report), and bad input naming the
option and why."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.domain.timeline import Event, EventKind, minute_of
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.services.timeline.store import TimelineStore
from tests.samples import GOOD


@pytest.fixture(name="plan")
def plan_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "plan.toml"
    shutil.copy(GOOD, path)
    return path


def _plan_name(plan: Path) -> str:
    from kdrtui.services.plan_files import load_plan

    return load_plan(plan).plan.name


def _fill(plan: Path, now: float) -> TimelineStore:
    store = TimelineStore.for_plan(_plan_name(plan), plan)
    minute = minute_of(now) - 1800
    store.record(
        [
            Event(now - 3 * 3600, EventKind.CLUSTER, "dr", "dr: UP -> UNREACHABLE (old news)", "crit"),
            Event(
                minute + 65,
                EventKind.HEALTH,
                "primary->dr",
                "primary->dr: OK -> CRIT (1200 records, 130.0 s)",
                "crit",
                "primary->dr",
                "console",
            ),
            Event(
                minute + 70,
                EventKind.HEALTH,
                "primary->dr",
                "primary->dr: OK -> CRIT (1300 records, 131.0 s)",
                "crit",
                "primary->dr",
                "exporter",
            ),
            Event(
                minute + 120,
                EventKind.MIRRORMAKER,
                "edge-1/mm2-dr",
                "edge-1/mm2-dr: MirrorMaker running -> crashed (exit 137)",
                "crit",
                None,
                "status",
            ),
            Event(
                minute + 600,
                EventKind.HEALTH,
                "primary->dr",
                "primary->dr: CRIT -> OK (0 records, 0.0 s)",
                "info",
                "primary->dr",
                "console",
            ),
        ]
    )
    for n, records in enumerate([0, 400, 1200, 800, 0]):
        store.record_lag(
            minute + 60 * n + 5, "primary->dr", records, records / 10, "CRIT" if records else "OK"
        )
    return store


def test_text_newest_first_in_the_window_each_change_once(plan: Path) -> None:
    now = time.time()
    _fill(plan, now).close()
    result = CliRunner().invoke(main, ["events", "--plan", str(plan)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("  ")[-2].strip() for line in lines] == [
        "primary->dr: CRIT -> OK (0 records, 0.0 s)",
        "edge-1/mm2-dr: MirrorMaker running -> crashed (exit 137)",
        "primary->dr: OK -> CRIT (1200 records, 130.0 s)",
    ]  # the exporter's record of the same change is shown once, the 3 h old event is outside 2h
    assert lines[1].endswith("[status]") and "  crit  mirrormaker  " in lines[1]
    wide = CliRunner().invoke(main, ["events", "--plan", str(plan), "--since", "4h", "--kind", "cluster"])
    assert wide.output.splitlines()[0].endswith("dr: UP -> UNREACHABLE (old news)  []")
    assert len(wide.output.splitlines()) == 1


def test_json_events_lag_and_flow_filter(plan: Path) -> None:
    now = time.time()
    _fill(plan, now).close()
    result = CliRunner().invoke(main, ["events", "--plan", str(plan), "--json", "--flow", "primary->dr"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {"plan", "since", "until", "events", "lag_minutes", "runs"}
    assert [e["text"].split(" (")[0] for e in body["events"]] == [
        "primary->dr: CRIT -> OK",
        "primary->dr: OK -> CRIT",
    ]
    assert set(body["events"][0]) == {"at", "time", "kind", "subject", "text", "severity", "flow", "source"}
    rows = body["lag_minutes"]["primary->dr"]
    assert [r["max_records"] for r in rows] == [0, 400, 1200, 800, 0]
    assert now - 7200 - 1 <= body["since"] <= now - 7200 + 5
    none = CliRunner().invoke(
        main, ["events", "--plan", str(plan), "--json", "--since", "2h", "--until", "1h"]
    )
    assert json.loads(none.output)["events"] == []


def test_markdown_write_up_with_the_failover_report(plan: Path) -> None:
    now = time.time()
    _fill(plan, now).close()
    runbooks = RunbookStore(_plan_name(plan), plan)
    journal = runbooks.new_journal("failover")
    journal.write("run-start", operation="failover", plan="demo", resumed=False, options={})
    report = {
        "operation": "failover",
        "from": "primary",
        "to": "dr",
        "rpo_records": 12,
        "rpo_seconds": 3.0,
        "rpo_measured": True,
        "rpo_topics": {"orders": 12},
        "rpo_bound_records": None,
        "rpo_bound_age_s": None,
        "rpo_bound_topics": {},
        "lost_records": 0,
        "lost_topics": {},
        "rto_seconds": 41.5,
        "groups": {},
        "refused_groups": [],
        "divergent": {},
    }
    journal.write(
        "step-end", step="report", status="done", summary="RPO 12 records", facts=report, seconds=0.1
    )
    journal.write("run-end", outcome="completed", step=None, error="")
    result = CliRunner().invoke(main, ["events", "--plan", str(plan), "--markdown"])
    assert result.exit_code == 0, result.output
    text = result.output
    for heading in (
        "## Summary",
        "## Timeline",
        "## Lag over time",
        "### primary->dr",
        "## Failover",
        "## Impact",
        "## Root cause",
        "## Actions",
    ):
        assert f"\n{heading}\n" in text, heading
    assert "- Worst health per flow: primary->dr CRIT" in text
    assert "primary->dr: 1,200 records at" in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "Time (UTC)" not in line]
    assert "OK -> CRIT" in table[0] and "MirrorMaker running -> crashed" in table[1]  # oldest first
    assert "failover started (plan demo)" in table[3] and "| failover |" in table[3]
    assert table[-1].startswith("| ") and "failover completed" in table[-1]
    chart = text.split("### primary->dr\n\n```\n", 1)[1].split("```", 1)[0].splitlines()
    assert chart[0].startswith("records  ") and chart[0].endswith("peak 1,200")
    assert "█" in chart[0] and "·" in chart[0]
    assert "RTO achieved: 41.5 s from confirmation to clients switched" in text
    assert "RPO achieved: 12 records not mirrored (measured)" in text
    assert f"### failover {journal.run_id}" in text and "completed" in text


def test_bad_input_names_the_option_and_why(plan: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["events", "--plan", str(plan), "--since", "yesterday"])
    assert bad.exit_code == 2
    assert (
        "--since" in bad.output and "neither a duration (90s, 30m, 2h, 3d, 1w) nor an ISO time" in bad.output
    )
    late = runner.invoke(main, ["events", "--plan", str(plan), "--until", "soonish"])
    assert late.exit_code == 2 and "--until" in late.output
    both = runner.invoke(main, ["events", "--plan", str(plan), "--json", "--markdown"])
    assert both.exit_code == 2 and "--json and --markdown" in both.output
    flow = runner.invoke(main, ["events", "--plan", str(plan), "--flow", "a->b"])
    assert flow.exit_code == 2 and "--flow" in flow.output and "primary->dr" in flow.output
    kind = runner.invoke(main, ["events", "--plan", str(plan), "--kind", "weather"])
    assert kind.exit_code == 2 and "--kind" in kind.output
    order = runner.invoke(main, ["events", "--plan", str(plan), "--since", "1h", "--until", "2h"])
    assert order.exit_code == 2 and "--since" in order.output and "after --until" in order.output
    empty = runner.invoke(main, ["events", "--plan", str(plan)])
    assert empty.exit_code == 0 and empty.output.startswith("no events between ")


def test_automation_events_by_kind_in_text_json_and_the_write_up(plan: Path) -> None:
    now = time.time()
    store = _fill(plan, now)
    store.record(
        [
            Event(
                now - 600,
                EventKind.AUTOMATION,
                "automation",
                "armed -> holding (a quorum sees the primary down: kdrtui down)",
                "warn",
                None,
                "watch",
            ),
            Event(
                now - 480,
                EventKind.AUTOMATION,
                "automation",
                "holding -> advising (mode advise: would fail over to dr now)",
                "warn",
                None,
                "watch",
            ),
        ]
    )
    store.close()
    runner = CliRunner()
    text = runner.invoke(main, ["events", "--plan", str(plan), "--kind", "automation"])
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert len(lines) == 2 and all("  warn  automation   " in line for line in lines)
    assert lines[0].endswith("holding -> advising (mode advise: would fail over to dr now)  [watch]")
    body = json.loads(
        runner.invoke(main, ["events", "--plan", str(plan), "--json", "--kind", "automation"]).output
    )
    assert [(e["kind"], e["subject"], e["severity"], e["source"]) for e in body["events"]] == [
        ("automation", "automation", "warn", "watch")
    ] * 2
    both = runner.invoke(
        main, ["events", "--plan", str(plan), "--kind", "automation", "--kind", "mirrormaker"]
    )
    assert [line.split()[3] for line in both.output.splitlines()] == [
        "automation",
        "automation",
        "mirrormaker",
    ]
    write_up = runner.invoke(main, ["events", "--plan", str(plan), "--markdown"]).output
    assert (
        "- Automation (kdrtui watch): 2 events, the last: "
        "holding -> advising (mode advise: would fail over to dr now)\n" in write_up
    )
    rows = [line for line in write_up.splitlines() if "| automation |" in line]
    assert len(rows) == 2 and "| warn | armed -> holding" in rows[0] and rows[0].endswith("| watch |")
    assert (
        "Automation (kdrtui watch)"
        not in runner.invoke(main, ["events", "--plan", str(plan), "--markdown", "--kind", "health"]).output
    )
