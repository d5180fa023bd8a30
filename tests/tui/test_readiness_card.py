"""The Overview's Readiness card (a scripted check; UI behaviour only): the verdict with the counts by
severity and the worst findings at 80x24, a check again on ``c``, and a check that fails said as such."""

from __future__ import annotations

import threading
from pathlib import Path

from kdrtui.domain.plan import Plan
from kdrtui.domain.readiness import Finding, Severity
from kdrtui.tui.widgets.cluster_card import ClusterCard
from kdrtui.tui.widgets.readiness_card import ReadinessCard
from tests.tui.fakes import fixed_app, sample_plan
from tests.tui.pilot_helpers import until

FINDINGS = [
    Finding(
        Severity.BLOCKING,
        "parity",
        "2 partition(s), primary: orders has 3: records of partitions 2..2 have nowhere to go",
        "dr: primary.orders",
        "kafka-topics.sh --alter --partitions 3 on the mirror",
    ),
    Finding(
        Severity.WARNING,
        "replication",
        "replication factor 2 (< 3): a second broker lost takes partitions offline",
        "primary: payments",
        "raise it to 3",
    ),
    Finding(Severity.WARNING, "mm-release", "MirrorMaker 3.2.0 (< 3.5) ...", "edge node dr-edge-1", "x"),
    Finding(Severity.INFO, "switch", "kdrtui does not move the clients", "switch none", ""),
]


class ScriptedCheck:
    """A readiness check that answers what the test says; counts its runs."""

    def __init__(self, findings: list[Finding] | None = None, error: str | None = None) -> None:
        self.findings = findings
        self.error = error
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, plan: Plan, path: Path | None) -> list[Finding]:
        with self.lock:
            self.calls += 1
        if self.error is not None:
            raise RuntimeError(self.error)
        return list(self.findings or [])


def text(app: object) -> str:
    return str(app.screen.query_one(ReadinessCard).render())  # type: ignore[attr-defined]


async def test_the_card_counts_by_severity_and_lists_the_worst_findings_at_80x24() -> None:
    check = ScriptedCheck(FINDINGS)
    app = fixed_app(sample_plan(), readiness_check=check)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "NOT READY" in text(app), what="the card shows the check")
        card = app.screen.query_one(ReadinessCard)
        lines = text(app).splitlines()
        assert lines[0].startswith("✖ NOT READY · 1 blocking · 2 warn · 1 info · ")
        assert lines[1].startswith("✖ dr: primary.orders: 2 partition(s), primary: orders has 3")
        assert lines[2].startswith("▲ primary: payments: replication factor 2 (< 3)")
        assert len(lines) == 3 and card.border_subtitle == "+1 more (kdrtui check) · c check now"
        assert card.has_class("blocking") and not card.has_class("ready")
        # It fits: inside the screen above the footer, and the cluster cards are still whole.
        assert card.region.bottom <= 23 and card.region.width <= 80
        for cluster in app.screen.query(ClusterCard):
            assert cluster.region.bottom <= card.region.y
        assert check.calls == 1
        await pilot.press("c")
        await until(pilot, lambda: check.calls == 2, what="c runs the check again")


async def test_a_clean_check_is_ready_and_a_failed_one_says_why() -> None:
    check = ScriptedCheck([FINDINGS[-1]])
    app = fixed_app(sample_plan(), readiness_check=check)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "READY" in text(app), what="the card shows the check")
        assert text(app).startswith("● READY · 0 blocking · 0 warn · 1 info")
        assert app.screen.query_one(ReadinessCard).has_class("ready")
        check.error = "dr: cannot connect"
        await pilot.press("c")
        await until(pilot, lambda: "check failed" in text(app), what="the failure shown")
        assert "RuntimeError: dr: cannot connect" in text(app)


async def test_no_card_without_a_readiness_check() -> None:
    app = fixed_app(sample_plan())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.screen.query(ReadinessCard)
