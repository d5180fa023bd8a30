"""The RPO figure a region-down failover gives when its source cannot be read: the flow's last lag read,
said as an estimate (it bounds nothing: MirrorMaker may have copied some of those records since, and the
producers written more), never as "at least"."""

from __future__ import annotations

from kdrtui.services.runbook.forecast import bound_text
from kdrtui.services.runbook.report_step import report_lines


def test_the_last_lag_read_is_an_estimate_with_its_age_and_why() -> None:
    text = bound_text(432, 12.4, "primary")
    assert text.startswith("estimated 432 records (the lag read 12 s before primary went away")
    assert "copied some since" in text and "written more" in text
    assert "at least" not in text


def test_no_lag_ever_read_is_unknown() -> None:
    assert bound_text(None, None, "primary") == "unknown: no lag of primary was ever read here"


def test_the_report_says_not_measured_and_estimates_per_topic() -> None:
    report = {
        "operation": "failover",
        "from": "primary",
        "to": "dr",
        "rpo_records": None,
        "rpo_measured": False,
        "rpo_bound_records": 7,
        "rpo_bound_age_s": 3.0,
        "rpo_bound_topics": {"orders": 5, "payments": 2},
        "rto_seconds": 21.5,
        "rpo_topics": {},
        "groups": {},
        "refused_groups": [],
    }
    lines = report_lines(report)
    assert lines[1].startswith("RPO achieved: not measured (primary unreachable): estimated 7 records")
    assert "  estimated 5 records on orders (at that lag read)" in lines
    assert "  estimated 2 records on payments (at that lag read)" in lines
    assert not any("at least" in line for line in lines)
