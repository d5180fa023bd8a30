"""The game day's pure parts: exact counting from sequence numbers, the RPO exposure, the objectives' pass or
fail, the verdict, and the report (its JSON valid against docs/gameday-report.schema.json, its Markdown)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from kdrtui.domain.gameday import (
    AlertFired,
    Check,
    GamedayReport,
    Measure,
    Read,
    StateChange,
    TimelineEntry,
    count_topic,
    exposure,
    objective_check,
    verdict,
)

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "gameday-report.schema.json"


def reads(*items: tuple[int, str, int]) -> list[Read]:
    return [Read(p, k, s) for p, k, s in items]


def test_a_clean_mirror_counts_nothing_lost_duplicated_or_out_of_order() -> None:
    got = count_topic(
        "t",
        "primary.t",
        produced=4,
        acked=[0, 1, 2, 3],
        reads=reads((0, "a", 0), (1, "b", 1), (0, "a", 2), (1, "b", 3)),
    )
    assert (got.produced, got.acked, got.delivered, got.lost, got.duplicated, got.out_of_order) == (
        4,
        4,
        4,
        0,
        0,
        0,
    )


def test_lost_is_acked_but_never_read_and_an_unacked_read_is_delivered_not_lost() -> None:
    got = count_topic("t", "primary.t", produced=5, acked=[0, 1, 2, 3], reads=reads((0, "a", 0), (0, "a", 4)))
    assert got.lost == 3  # 1, 2, 3
    assert got.delivered == 2  # 0 and 4 (4 arrived though its delivery report failed)
    assert got.acked == 4


def test_a_replayed_batch_counts_duplicates_not_out_of_order() -> None:
    # MirrorMaker restarted from its last committed offset and copied 1 and 2 again.
    got = count_topic(
        "t",
        "primary.t",
        produced=4,
        acked=range(4),
        reads=reads((0, "a", 0), (0, "a", 1), (0, "a", 2), (0, "a", 1), (0, "a", 2), (0, "a", 3)),
    )
    assert (got.duplicated, got.out_of_order, got.lost) == (2, 0, 0)


def test_out_of_order_is_a_first_read_below_the_last_of_its_key_on_its_partition() -> None:
    got = count_topic(
        "t",
        "primary.t",
        produced=4,
        acked=range(4),
        # key a: 0, 2, then 1 (late: out of order); key b on another partition is independent.
        reads=reads((0, "a", 0), (0, "a", 2), (1, "b", 3), (0, "a", 1)),
    )
    assert got.out_of_order == 1
    assert got.duplicated == 0
    # The same numbers on different keys are never compared.
    other = count_topic("t", "t", produced=2, acked=[0, 1], reads=reads((0, "a", 1), (0, "b", 0)))
    assert other.out_of_order == 0


def test_exposure_counts_what_was_acked_by_then_and_not_on_the_target_with_the_oldest_age() -> None:
    acked_at = {0: 100.0, 1: 101.0, 2: 102.5, 3: 110.0}
    got = exposure(acked_at, seen={0}, at=105.0)
    assert got.records == 2  # 1 and 2; 3 was acked after the failover point
    assert got.seconds == pytest.approx(4.0)  # 105 - 101
    assert exposure(acked_at, seen={0, 1, 2, 3}, at=200.0).records == 0
    assert exposure({}, seen=set(), at=1.0).seconds == 0.0


def test_objective_checks_pass_at_the_limit_fail_past_it_and_are_not_applicable_unmeasured() -> None:
    assert objective_check("rpo", 60, 60.0, "s").passed is True
    assert objective_check("rpo", 60, 60.5, "s").passed is False
    unknown = objective_check("rto", 600, None, "s", "no runbook ran")
    assert unknown.passed is None
    assert "no runbook ran" in unknown.measured


def test_the_verdict_fails_on_any_failed_check_ignores_not_applicable_and_errors_first() -> None:
    ok = Check("a", "x", "y", True)
    na = Check("b", "x", "y", None)
    bad = Check("c", "x", "y", False)
    assert verdict([ok, na]) == "pass"
    assert verdict([ok, bad, na]) == "fail"
    assert verdict([ok], error="boom") == "error"


def sample_report() -> GamedayReport:
    counts = [
        count_topic(
            "gd-x-0", "primary.gd-x-0", produced=3, acked=[0, 1, 2], reads=reads((0, "k0", 0), (0, "k0", 0))
        ),
        count_topic(
            "gd-x-1", "primary.gd-x-1", produced=2, acked=[0, 1], reads=reads((0, "k0", 0), (0, "k1", 1))
        ),
    ]
    return GamedayReport(
        scenario="mm-crash",
        summary="MirrorMaker is killed.",
        proves="Nothing | is lost.",
        plan_name="kdrtui-lab",
        plan_path="/tmp/lab/plan.toml",
        lab={"brokers": 3, "wan": "none", "topology": "cold-standby", "security": "plaintext"},
        started_at=1_700_000_000.0,
        ended_at=1_700_000_042.5,
        objectives={"rpo_seconds": 60, "rto_seconds": 600},
        timeline=[TimelineEntry(0.0, "setup", "start"), TimelineEntry(3.25, "fault", "kill -9")],
        detection=Measure(1.2),
        detection_expected="crashed",
        rpo_records=Measure(None, "no failover"),
        rpo_seconds=Measure(None, "no failover"),
        rto_seconds=Measure(12.0, "restart"),
        topics=counts,
        states=[StateChange(4.0, "flow primary->dr", "OK", "STALLED", "10 records")],
        alerts=[AlertFired(4.0, "KdrtuiFlowStalled", "flow primary->dr", "OK -> STALLED")],
        figures={"max lag seen (records)": 10, "settle (s)": None},
        checks=[objective_check("rto", 600, 12.0, "s"), Check("no-loss", "0 lost", "2 lost", False)],
    )


def test_the_json_report_is_valid_against_its_documented_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    body = json.loads(json.dumps(sample_report().to_dict()))
    validator.validate(body)
    assert body["totals"] == {
        "produced": 5,
        "acked": 5,
        "delivered": 3,
        "lost": 2,
        "duplicated": 1,
        "out_of_order": 0,
    }
    assert body["verdict"] == "fail"
    assert body["started_at"] == "2023-11-14T22:13:20.000Z"
    assert body["duration_seconds"] == 42.5
    # The schema bites: a count gone negative, an unknown verdict, a missing field are refused.
    for broken in (
        {**body, "verdict": "maybe"},
        {**body, "totals": {**body["totals"], "lost": -1}},
        {k: v for k, v in body.items() if k != "checks"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)


def test_the_markdown_report_shows_the_verdict_checks_counts_timeline_and_alerts() -> None:
    text = sample_report().to_markdown()
    assert text.startswith("# Game day: mm-crash — FAIL\n")
    assert "| no-loss | 0 lost | 2 lost | FAIL |" in text
    assert "| gd-x-0 | primary.gd-x-0 | 3 | 3 | 1 | 2 | 1 | 0 |" in text
    assert "| **total** |  | 5 | 5 | 3 | 2 | 1 | 0 |" in text
    assert "| 3.2 | fault | kill -9 |" in text
    assert "| 4.0 | KdrtuiFlowStalled | flow primary->dr | OK -> STALLED |" in text
    assert "RPO: unknown (no failover)" in text
    assert "**What it proves:** Nothing | is lost." in text  # prose is not a table cell: kept as written
    assert "- settle (s): unknown" in text
