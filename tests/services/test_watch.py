"""``kdrtui watch``'s loop on scripted vantage points (no lab: probes answer as told, the failover command
is a real process printing the runbook's JSON answer): what it publishes, records, pages and runs."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from kdrtui.domain.automation import PolicyState, Vote
from kdrtui.domain.plan import Plan
from kdrtui.domain.timeline import EventKind
from kdrtui.services.automation.probes import ProbeAnswer, read_probe_output
from kdrtui.services.automation.state import acknowledge, read_last_failover, read_state
from kdrtui.services.automation.watch import Watcher
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.lag_memory import RememberedLag
from kdrtui.services.timeline.store import TimelineStore
from tests.samples import GOOD


class Scripted:
    def __init__(self, name: str, vote: Vote = Vote.UP) -> None:
        self.name = name
        self.vote = vote

    async def ask(self) -> ProbeAnswer:
        return ProbeAnswer(self.vote, f"scripted {self.vote}")

    async def close(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


ANSWER = {
    "outcome": "completed",
    "journal": "/x/journal-1-failover.jsonl",
    "report": {"actor": "automation", "from": "primary", "to": "dr", "rpo_records": None,
               "rpo_measured": False, "rpo_bound_records": 3, "rpo_bound_age_s": 4.0, "rto_seconds": 12.5},
}  # fmt: skip


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(
        GOOD.read_text()
        + '\n[automation]\nenabled = true\nmode = "act"\nhold_down_seconds = 30\n'
        + 'vantage_points = ["kdrtui", "dr-edge-1"]\nmax_rpo_records = 10\ncooldown_seconds = 0\n'
        + f'alert_command = "cat >> {tmp_path / "pages"}; echo >> {tmp_path / "pages"}"\n'
    )
    return path


def watcher(plan: Plan, path: Path, clock: Clock, tmp_path: Path) -> tuple[Watcher, list[Scripted]]:
    probes = [Scripted("kdrtui"), Scripted("dr-edge-1")]
    command = [sys.executable, "-c", f"import json; print(json.dumps({json.dumps(ANSWER)!r} and {ANSWER!r}))"]
    w = Watcher(plan, path, probes=list(probes), clock=clock, failover_command=command)
    w._dr_problem = lambda: None  # type: ignore[method-assign]
    return w, probes


def remember(w: Watcher, records: int, at: float) -> None:
    from kdrtui.services.runbook import lag_memory

    lag = RememberedLag("primary", "dr", at, records, 1.0, {"orders": records})
    path = lag_memory._path(w.store, "primary", "dr")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lag.to_dict()))


def events(plan: Plan, path: Path) -> list[str]:
    store = TimelineStore.for_plan(plan.plan.name, path)
    try:
        return [e.text for e in reversed(store.events(kinds=[EventKind.AUTOMATION], raw=True))]
    finally:
        store.close()


def test_an_outage_held_down_with_a_quorum_acts_once_pages_and_then_waits_for_an_ack(
    plan_file: Path, tmp_path: Path
) -> None:
    plan = load_plan(plan_file)
    clock = Clock()
    w, probes = watcher(plan, plan_file, clock, tmp_path)

    async def scenario() -> list[str]:
        w._open_timeline()
        states = [str((await w.evaluate()).state)]
        remember(w, 3, clock.now)
        for probe in probes:
            probe.vote = Vote.DOWN
        clock.now += 1
        states.append(str((await w.evaluate()).state))
        clock.now += 31
        states.append(str((await w.evaluate()).state))
        await w.wait_acting()
        clock.now += 5
        states.append(str((await w.evaluate()).state))
        return states

    states = asyncio.run(scenario())
    # Afterwards the outage goes on but the run is its own and unacknowledged: never a second one.
    assert states == ["armed", "holding", "acting", "awaiting-ack"]
    last = read_last_failover(w.store.dir)
    assert last is not None and last.outcome == "completed" and not last.acknowledged
    assert last.report and last.report["actor"] == "automation"
    published = read_state(w.store.dir)
    assert published is not None and published.votes == {"kdrtui": "down", "dr-edge-1": "down"}
    pages = [json.loads(line) for line in (tmp_path / "pages").read_text().splitlines() if line.strip()]
    assert [p["what"] for p in pages] == ["acted"]
    assert "RTO 12.5 s" in pages[0]["text"] and pages[0]["report"]["actor"] == "automation"
    assert (
        "RPO not measured, estimated 3 records (the lag read 4 s before primary went away" in pages[0]["text"]
    )
    texts = events(plan, plan_file)
    assert any("armed -> holding" in t for t in texts)
    assert any("failing over now" in t for t in texts)
    assert any(t.startswith("automatic failover primary -> dr completed") for t in texts)


def test_an_unacknowledged_automatic_failover_blocks_the_next_until_ack(
    plan_file: Path, tmp_path: Path
) -> None:
    plan = load_plan(plan_file)
    clock = Clock()
    w, probes = watcher(plan, plan_file, clock, tmp_path)
    from kdrtui.services.automation.state import AutoFailover, write_last_failover

    write_last_failover(
        w.store.dir, AutoFailover("/x/journal-0-failover.jsonl", clock.now - 900, "completed")
    )
    remember(w, 3, clock.now)
    for probe in probes:
        probe.vote = Vote.DOWN

    async def two() -> tuple[str, str]:
        first = await w.evaluate()
        clock.now += 31
        second = await w.evaluate()
        return str(first.state), str(second.state)

    assert asyncio.run(two()) == ("holding", str(PolicyState.AWAITING_ACK))
    pages = [json.loads(line) for line in (tmp_path / "pages").read_text().splitlines() if line.strip()]
    assert [p["what"] for p in pages] == ["advise"]
    acked = acknowledge(w.store.dir)
    assert acked is not None and acked.acknowledged and acked.acked_by

    async def after_ack() -> str:
        clock.now += 2
        decision = await w.evaluate()
        await w.wait_acting()
        return str(decision.state)

    assert asyncio.run(after_ack()) == "acting"


def test_a_backlog_above_max_rpo_records_advises_once_per_outage(plan_file: Path, tmp_path: Path) -> None:
    plan = load_plan(plan_file)
    clock = Clock()
    w, probes = watcher(plan, plan_file, clock, tmp_path)
    remember(w, 500, clock.now)
    for probe in probes:
        probe.vote = Vote.DOWN

    async def run() -> list[str]:
        seen = []
        for _ in range(5):
            seen.append(str((await w.evaluate()).state))
            clock.now += 10
        return seen

    assert asyncio.run(run()) == ["holding", "holding", "holding", "advising", "advising"]
    assert read_last_failover(w.store.dir) is None
    state = read_state(w.store.dir)
    assert state is not None and state.state == "advising" and "500 records" in state.text
    pages = [json.loads(line) for line in (tmp_path / "pages").read_text().splitlines() if line.strip()]
    assert [p["what"] for p in pages] == ["advise"]


@pytest.mark.parametrize(
    ("output", "vote"),
    [
        ("rc=0\nbrokers=3\n---out---\n", Vote.UP),
        # Cut by the node's deadline (the JVM too slow to start): it says nothing of the primary.
        ("rc=124\nbrokers=0\n---out---\n", Vote.UNKNOWN),
        (
            'rc=1\nbrokers=0\n---out---\nException in thread "main" java.lang.RuntimeException: Request '
            "METADATA failed on brokers List(127.0.0.1:1 (id: -1 rack: null))\n",
            Vote.DOWN,
        ),
        (
            "rc=1\nbrokers=0\n---out---\norg.apache.kafka.common.errors.SaslAuthenticationException: x\n",
            Vote.UNKNOWN,
        ),
        ("rc=0\nbrokers=0\n---out---\n", Vote.UNKNOWN),
        ("rc=nojava\n", Vote.UNKNOWN),
        ("rc=noclass\n", Vote.UNKNOWN),
        ("", Vote.UNKNOWN),
    ],
)
def test_the_edge_probe_output(output: str, vote: Vote) -> None:
    assert read_probe_output(output, 10).vote == vote
