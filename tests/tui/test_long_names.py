"""At 80x24, a 300-character topic or group name is shortened in the middle wherever the console shows
it: it never wraps into many rows nor pushes the rest off screen, and names sharing a long prefix stay
apart. What is checked is what the terminal shows (the app's own screenshot), not what a widget holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kdrtui.domain.divergence import DivergenceSnapshot, compare
from kdrtui.domain.lag import GroupLag, Health
from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.tui.app import KdrApp
from tests.tui.fake_runs import FakeOperation, FakeOperations
from tests.tui.fakes import (
    FIXED_NOW,
    PLAN_TEXT,
    ScriptedDivergenceSource,
    ScriptedLagSource,
    build_lag_app,
    facts,
    fixed_app,
    hot_standby_plan,
    sample_plan,
    snapshot,
    topic,
)
from tests.tui.pilot_helpers import screen_lines, until

PREFIX = "x" * 290
"""The first 290 characters of every long name: only their ends tell them apart."""
ORDERS, PAYMENTS = f"{PREFIX}-orders", f"{PREFIX}-payments"
GROUP = f"{PREFIX}-billing"

SIZE = (80, 24)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Journals and the DR state of the Failover pane go to a fresh directory."""
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path / "state"))


def shown(app: KdrApp) -> list[str]:
    lines = screen_lines(app)
    assert all(len(line) <= SIZE[0] for line in lines)
    return lines


def rows_with(lines: list[str], text: str) -> list[int]:
    return [i for i, line in enumerate(lines) if text in line]


# -- Failover pane ----------------------------------------------------------------------------------


class LongGroupOperation(FakeOperation):
    """The scripted forecast, with a line about a consumer group whose name is 300 characters long."""

    async def forecast(self) -> tuple[bool, list[str]]:
        go, lines = await super().forecast()
        at = next(i for i, line in enumerate(lines) if line.startswith("  group billing"))
        lines.insert(at, f"  group {GROUP} on orders: checkpoint 3 s old, ~7 records re-delivered")
        return go, lines


class LongGroupOperations(FakeOperations):
    def __call__(self, plan: Plan, plan_path: Path | None, operation: str, resume: bool) -> FakeOperation:
        op = super().__call__(plan, plan_path, operation, resume)
        return LongGroupOperation(self, plan, op.store, op.journal, operation, resume)


async def forecast_screen(ops: FakeOperations, expect: str) -> list[str]:
    app = fixed_app(sample_plan(), operation_factory=ops)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: any(expect in line for line in shown(app)), what="the forecast on screen")
        return shown(app)


async def test_forecast_with_a_300_character_group_keeps_the_verdict_and_the_lines_after_it() -> None:
    lines = await forecast_screen(LongGroupOperations(), "group billing on orders")
    [verdict] = rows_with(lines, "pre-flight")
    assert lines[verdict].endswith(": GO")
    [group] = rows_with(lines, "…illing on orders: checkpoint 3 s old, ~7")
    # One row: the name keeps its start and its end, and what the line says about it stays whole.
    assert lines[group].startswith("   group xxxx")
    assert lines[group].endswith("checkpoint 3 s old, ~7 records re-delivered")
    assert rows_with(lines, "group billing on orders") == [group + 1]
    assert verdict < group and rows_with(lines, "orders: 42 records, 1.5 s") == [group - 1]
    # Nothing below was pushed away: the step list is whole.
    assert rows_with(lines, "preflight") and rows_with(lines, "report ")


async def test_a_no_go_with_many_long_reasons_gives_each_reason_its_own_row() -> None:
    ops = LongGroupOperations()
    ops.go = False
    ops.reasons = f"group {GROUP} has no checkpoint; dr is unreachable: Broker transport failure"
    lines = await forecast_screen(ops, "NO-GO")
    [verdict] = rows_with(lines, "NO-GO")
    assert lines[verdict].endswith("-billing has no checkpoint;") and "x…x" in lines[verdict]
    assert lines[verdict + 1] == "   dr is unreachable: Broker transport failure"
    assert rows_with(lines, "group billing on orders")


# -- Mirror lag pane --------------------------------------------------------------------------------


def long_lag_app() -> KdrApp:
    source = ScriptedLagSource(
        snapshot(
            topic(ORDERS, Health.WARN, lag=60, lag_s=40.0),
            topic(PAYMENTS, Health.CRIT, lag=900, lag_s=150.0),
            topic("refunds"),
            groups=(GroupLag(GROUP, ORDERS, 120_000, 119_950, 4.0, 50, 0),),
        )
    )
    return build_lag_app(source, interval=3600)


async def test_lag_table_keeps_one_row_per_300_character_topic_and_its_header() -> None:
    app = long_lag_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: len(rows_with(shown(app), "…")) == 2, what="two long topics")
        lines = shown(app)
        assert lines[1].startswith(" active: primary · RPO if you fail over now")
        [header] = rows_with(lines, "topic")
        columns = "topic prt src end repl lag lag s in/s trend health"
        assert lines[header].split() == columns.split()
        body = lines[header + 1 : header + 4]
        # Worst first, one row each, and the two long names differ on screen by their ends.
        assert body[0].split()[0] == "xxxxxxx…yments" and body[0].split()[-1] == "CRIT"
        assert body[1].split()[0] == "xxxxxxx…orders" and body[1].split()[-1] == "WARN"
        assert body[2].split()[0] == "refunds"

        await pilot.press("enter")
        await until(pilot, lambda: bool(rows_with(shown(app), "partitions")), what="the partitions")
        [title] = rows_with(shown(app), "partitions")
        assert shown(app)[title].endswith("(primary->dr): partitions · Esc: back")
        assert "…payments → primary.x" in shown(app)[title]

        await pilot.press("escape", "g")
        await until(pilot, lambda: bool(rows_with(shown(app), "consumer groups (1)")), what="the groups")
        lines = shown(app)
        [row] = rows_with(lines, "…illing")
        group, topic = lines[row].split()[:2]
        assert group.endswith("…illing") and topic.endswith("…rders")
        assert lines[row].split()[-1] == "0"  # the last column (skip) is still on screen


# -- divergence (hot standby) -----------------------------------------------------------------------


def long_divergence() -> DivergenceSnapshot:
    primary = {ORDERS: facts(1000, 1.0), PAYMENTS: facts(5250, 1.0)}
    dr = {ORDERS: facts(1000, 1.0), PAYMENTS: facts(5000, 41.0)}
    return DivergenceSnapshot(
        taken_at=FIXED_NOW,
        primary="primary",
        secondary="dr",
        topics=compare(primary, dr, now=FIXED_NOW, warn_s=30, crit_s=120, names=("primary", "dr")),
    )


async def test_divergence_table_and_title_shorten_300_character_topics() -> None:
    divergence = ScriptedDivergenceSource(long_divergence())
    app: Any = build_lag_app(
        ScriptedLagSource(snapshot()),
        plan=hot_standby_plan(),
        interval=3600,
        divergence_source_factory=divergence,
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: len(rows_with(shown(app), "…")) == 2, what="two long topics")
        lines = shown(app)
        assert rows_with(lines, "hot standby (dual ingest)") == [1]
        [header] = rows_with(lines, "health")
        assert lines[header].split()[0] == "topic"
        names = [lines[header + 1].split()[0], lines[header + 2].split()[0]]
        assert names == ["xxxxxxx…yments", "xxxxxxx…orders"]

        await pilot.press("enter")
        await until(pilot, lambda: bool(rows_with(shown(app), "partitions ·")), what="the partitions")
        [title] = rows_with(shown(app), "partitions ·")
        assert shown(app)[title].endswith("-payments: partitions · WARN · Esc: back")
        assert "x…x" in shown(app)[title]


# -- Overview ----------------------------------------------------------------------------------------


def plan_with_long_patterns() -> Plan:
    text = PLAN_TEXT.replace('topics = ["orders.*", "payments"]', f'topics = ["{ORDERS}", "{PAYMENTS}"]')
    return parse_plan(text, "orders-dr.toml")


async def test_overview_flow_shortens_300_character_topic_patterns() -> None:
    app = fixed_app(plan_with_long_patterns())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(rows_with(shown(app), "Flows")), what="the flows")
        lines = shown(app)
        [flows] = rows_with(lines, "Flows")
        flow = " ".join(line.strip() for line in lines[flows + 1 : flows + 3])
        assert flow.endswith("topics xxxxxxxxxxxx…xxxx-orders, xxxxxxxxxxxx…xx-payments"), flow
        assert not lines[flows + 3].strip()  # two rows, no more
