"""Active-active, live (`kdrtui lab up --topology active-active`): both sites take writes, each flow runs on
its target's edge node, records cross exactly once and never come back, the lag view shows both flows,
traffic runs on both sides, and the failover for active-active moves the primary's clients to dr and fails
back without touching dr's own clients or its flow. One broker per cluster (the :func:`aa_lab` fixture)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from kdrtui.commands.lab import lab_group
from kdrtui.lab import process
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka import fence
from kdrtui.services.kafka.config import client_config
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.failover import FAILBACK, FAILOVER
from kdrtui.services.runbook.operate import Operation
from kdrtui.services.runbook.runner import RunEvent
from kdrtui.services.runbook.store import RunbookStore
from tests.kafka_helpers import consume_and_commit, create_topic, everything, produce_numbered, read_to_end
from tests.lab_helpers import cli, mirrormaker_jvms

pytestmark = pytest.mark.lab

MIRROR_TIMEOUT_S = 90.0
"""How long a record may take to reach the other side (MirrorMaker's first start included)."""


def topics(bootstrap: str) -> set[str]:
    return set(AdminClient(client_config(bootstrap)).list_topics(timeout=10).topics)


def numbers(bootstrap: str, topic: str, partitions: int) -> Counter[int]:
    """How many times each sequence number is on ``topic`` (exactly once: every count is 1)."""
    return Counter(int(v) for vs in everything(bootstrap, topic, partitions).values() for v in vs)


def wait_for_numbers(
    bootstrap: str, topic: str, partitions: int, expected: set[int], wait_until: Callable[..., float]
) -> Counter[int]:
    """Wait until every number of ``expected`` is on ``topic``; return the counts seen then."""
    seen: Counter[int] = Counter()

    def arrived() -> bool:
        seen.clear()
        seen.update(numbers(bootstrap, topic, partitions))
        return expected <= set(seen)

    wait_until(arrived, timeout=MIRROR_TIMEOUT_S, interval=0.5, message=f"{len(expected)} records on {topic}")
    return seen


def read_from_committed(bootstrap: str, group: str, topic: str, partitions: int) -> set[int]:
    """The sequence numbers ``group`` reads next on ``topic`` (from its committed offsets to the end)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": group, "enable.auto.commit": False}))
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        got = read_to_end(consumer, topic, {tp.partition: max(tp.offset, 0) for tp in committed})
        return {int(v) for vs in got.values() for v in vs}
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer(client_config(bootstrap, **{"group.id": group, "enable.auto.commit": False}))
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: tp.offset for tp in found if tp.offset >= 0}
    finally:
        consumer.close()


def lag_view(plan_path: Path) -> dict[str, dict[str, Any]]:
    """`kdrtui status --plan <plan> --json`'s flows, by name."""
    result = cli("status", "--plan", str(plan_path), "--json")
    assert result.exit_code == 0, result.output
    return {f"{f['source']}->{f['target']}": f for f in json.loads(result.stdout)["flows"]}


def test_records_cross_once_never_back_and_the_lag_view_shows_both_flows(
    aa_lab: Lab, unique_name: str, wait_until: Callable[..., float]
) -> None:
    primary, dr = aa_lab.bootstrap(PRIMARY), aa_lab.bootstrap(DR)
    on_primary, on_dr = f"{unique_name}-p", f"{unique_name}-d"
    create_topic(primary, on_primary, partitions=2)
    create_topic(dr, on_dr, partitions=2)
    produce_numbered(primary, on_primary, 300)
    produce_numbered(dr, on_dr, 200, start=1000)

    # Each side's records arrive on the other exactly once, under the prefixed name.
    there = wait_for_numbers(dr, f"{PRIMARY}.{on_primary}", 2, set(range(300)), wait_until)
    back = wait_for_numbers(primary, f"{DR}.{on_dr}", 2, set(range(1000, 1200)), wait_until)
    assert set(there.values()) == {1} and sum(there.values()) == 300, "primary -> dr: once each"
    assert set(back.values()) == {1} and sum(back.values()) == 200, "dr -> primary: once each"

    # Never back: a topic made after the copies exist reaches the other side only after MirrorMaker's
    # next topic refresh, so by then any loop (primary.dr.x, dr.primary.x) would have been made too.
    marker = f"{unique_name}-marker"
    create_topic(primary, marker, partitions=1)
    create_topic(dr, marker, partitions=1)
    wait_until(lambda: f"{PRIMARY}.{marker}" in topics(dr), timeout=MIRROR_TIMEOUT_S, message="marker on dr")
    wait_until(lambda: f"{DR}.{marker}" in topics(primary), timeout=MIRROR_TIMEOUT_S, message="marker back")
    everywhere = topics(primary) | topics(dr)
    loops = sorted(t for t in everywhere if t.startswith((f"{PRIMARY}.{DR}.", f"{DR}.{PRIMARY}.")))
    assert loops == [], f"records went back: {loops}"
    assert sum(numbers(dr, f"{PRIMARY}.{on_primary}", 2).values()) == 300, "nothing more arrived"

    # The lag view (kdrtui status, as the console's lag pane reads it) shows both flows, caught up.
    def both_caught_up() -> bool:
        flows = lag_view(aa_lab.plan_path)
        mine = {name: {t["topic"]: t for t in f["topics"]} for name, f in flows.items()}
        return (
            set(flows) == {"primary->dr", "dr->primary"}
            and mine["primary->dr"].get(on_primary, {}).get("lag_records") == 0
            and mine["dr->primary"].get(on_dr, {}).get("lag_records") == 0
        )

    wait_until(both_caught_up, timeout=60, interval=1.0, message="both flows caught up in the lag view")
    flows = lag_view(aa_lab.plan_path)
    by_topic = {name: {t["topic"]: t["target_topic"] for t in f["topics"]} for name, f in flows.items()}
    assert by_topic["primary->dr"][on_primary] == f"{PRIMARY}.{on_primary}"
    assert by_topic["dr->primary"][on_dr] == f"{DR}.{on_dr}"
    assert f"{DR}.{on_dr}" not in by_topic["primary->dr"], "a copy is never counted as the flow's topic"
    assert f"{PRIMARY}.{on_primary}" not in by_topic["dr->primary"]


def test_background_traffic_runs_on_both_sides_at_once(
    aa_lab: Lab, unique_name: str, monkeypatch: pytest.MonkeyPatch, wait_until: Callable[..., float]
) -> None:
    monkeypatch.setenv("KDRTUI_LAB_DIR", str(aa_lab.home))
    runner = CliRunner()
    common = ["--background", "--rate", "20", "--topics", "1", "--partitions", "1"]
    common += ["--progress-interval", "0.5"]
    try:
        for alias in (PRIMARY, DR):
            started = runner.invoke(
                lab_group, ["traffic", "--cluster", alias, "--prefix", f"{unique_name}-{alias}", *common]
            )
            assert started.exit_code == 0, started.output
        pids = {alias: aa_lab.traffics[alias].running_pid() for alias in (PRIMARY, DR)}
        assert None not in pids.values() and pids[PRIMARY] != pids[DR], pids

        def status() -> dict[str, Any]:
            out = runner.invoke(lab_group, ["status", "--json"])
            assert out.exit_code == 0, out.output
            return dict(json.loads(out.output))

        def both_consumed() -> bool:
            traffics = status()["traffics"]
            return all((traffics[a].get("stats") or {}).get("consumed", 0) > 0 for a in (PRIMARY, DR))

        wait_until(both_consumed, timeout=60, message="both generators produced and consumed")
        data = status()
        assert data["topology"] == "active-active"
        assert {a: data["traffics"][a]["pid"] for a in (PRIMARY, DR)} == pids
        assert data["traffic"]["pid"] == pids[PRIMARY], "`traffic` stays primary's"
        # Each side's generated records cross to the other.
        wait_until(
            lambda: (
                f"{PRIMARY}.{unique_name}-{PRIMARY}-0" in topics(aa_lab.bootstrap(DR))
                and f"{DR}.{unique_name}-{DR}-0" in topics(aa_lab.bootstrap(PRIMARY))
            ),
            timeout=MIRROR_TIMEOUT_S,
            message="both generators' topics mirrored",
        )
        stopped = runner.invoke(lab_group, ["traffic", "--stop"])
        assert stopped.exit_code == 0, stopped.output
        assert f"traffic on {PRIMARY}: stopped (pid {pids[PRIMARY]})" in stopped.output
        assert f"traffic on {DR}: stopped (pid {pids[DR]})" in stopped.output
        assert not any(process.is_alive(pid) for pid in pids.values() if pid is not None)
    finally:
        for traffic in aa_lab.traffics.values():
            traffic.stop()


async def test_failover_moves_the_primarys_clients_and_fails_back(
    aa_lab: Lab, unique_name: str, tmp_path: Path, wait_until: Callable[..., float]
) -> None:
    primary, dr = aa_lab.bootstrap(PRIMARY), aa_lab.bootstrap(DR)
    plan, path, state = load_plan(aa_lab.plan_path), aa_lab.plan_path, tmp_path / "state"
    app, app_group = f"{unique_name}-app", f"{unique_name}-app-g"  # the primary's application
    local, local_group = f"{unique_name}-local", f"{unique_name}-local-g"  # dr's own application
    create_topic(primary, app, partitions=2)
    create_topic(dr, local, partitions=2)
    produce_numbered(primary, app, 200)
    produce_numbered(dr, local, 100, start=5000)
    read_on_primary = consume_and_commit(primary, app_group, app, 120)
    consume_and_commit(dr, local_group, local, 100)
    dr_group_before = committed(dr, local_group, local, 2)
    wait_for_numbers(dr, f"{PRIMARY}.{app}", 2, set(range(200)), wait_until)
    wait_for_numbers(primary, f"{DR}.{local}", 2, set(range(5000, 5100)), wait_until)
    back_jvms = mirrormaker_jvms(str(aa_lab.edges[1].work_dir))
    assert len(back_jvms) == 1, "dr -> primary runs on primary-edge-1"

    events: list[RunEvent] = []
    result = await Operation(plan, path, FAILOVER, store_root=state).run(events.append)
    assert result.outcome == "completed", "\n".join(f"{e.kind} {e.step}: {e.text}" for e in events[-12:])

    # Fenced: the primary's own topics. Not fenced: dr's copies on primary, and nothing on dr.
    assert fence.read_max_bytes(primary, [app])[app] == fence.REJECTING
    assert fence.read_max_bytes(primary, [f"{DR}.{local}"])[f"{DR}.{local}"] is None
    assert fence.read_max_bytes(dr, [local])[local] is None
    # dr -> primary was neither stopped nor restarted, and no second "reverse" deployment appeared.
    assert mirrormaker_jvms(str(aa_lab.edges[1].work_dir)) == back_jvms
    assert mirrormaker_jvms(str(aa_lab.edge.work_dir)) == [], "primary -> dr is stopped"
    # The primary's group resumes on dr at primary.<app>: with what it read on primary, nothing is missed.
    read_before = {int(v) for vs in read_on_primary.values() for v in vs}
    after = read_from_committed(dr, app_group, f"{PRIMARY}.{app}", 2)
    assert read_before | after == set(range(200))
    report = result.report
    assert report["rpo_records"] == 0 and report["rpo_measured"] is True
    assert app_group in report["groups"] and local_group not in report["groups"], report["groups"]
    assert committed(dr, local_group, local, 2) == dr_group_before, "dr's own group is left where it was"
    assert RunbookStore(plan.plan.name, path, state).load_state(PRIMARY).active == DR

    # dr keeps taking writes (its own clients and the moved ones); they still reach primary as dr.<topic>.
    produce_numbered(dr, local, 50, start=6000)
    wait_for_numbers(primary, f"{DR}.{local}", 2, set(range(5000, 5100)) | set(range(6000, 6050)), wait_until)

    events = []
    back = await Operation(plan, path, FAILBACK, store_root=state).run(events.append)
    assert back.outcome == "completed", "\n".join(f"{e.kind} {e.step}: {e.text}" for e in events[-12:])
    steps = {e.step: e for e in events if e.kind == "step-end"}
    for key in ("fence", "drain", "stop-mirrormaker"):
        assert str(steps[key].status) == "skipped" and "active-active" in steps[key].text, steps[key]
    assert fence.read_max_bytes(primary, [app])[app] is None, "the failover's fence is undone"
    assert fence.read_max_bytes(dr, [local])[local] is None, "dr was never fenced"
    assert mirrormaker_jvms(str(aa_lab.edges[1].work_dir)) == back_jvms, "dr -> primary ran throughout"
    wait_until(lambda: len(mirrormaker_jvms(str(aa_lab.edge.work_dir))) == 1, timeout=30, message="mm2-dr")
    moved = set(result.report["groups"])
    assert set(back.report["groups"]) == moved and app_group in moved, "only the failover's groups go back"
    assert local_group not in back.report["groups"]
    assert committed(dr, local_group, local, 2) == dr_group_before
    assert RunbookStore(plan.plan.name, path, state).load_state(PRIMARY).active == PRIMARY
    # The primary takes writes again, and they reach dr exactly once.
    produce_numbered(primary, app, 30, start=200)
    seen = wait_for_numbers(dr, f"{PRIMARY}.{app}", 2, set(range(230)), wait_until)
    assert set(seen.values()) == {1}, "exactly once across the failover and failback"
