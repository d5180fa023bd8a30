"""Failover and failback on the lab: real brokers, real MirrorMaker 2 over real SSH, real consumers and
producers. Each test has its own topic, group, MirrorMaker work dir and runbook state; each leaves every
MirrorMaker it started stopped and every fence undone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka import fence
from kdrtui.services.kafka.config import client_config
from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.runbook.failover import FAILBACK, FAILOVER, report_lines
from kdrtui.services.runbook.operate import Operation
from kdrtui.services.runbook.runner import RunEvent
from kdrtui.services.runbook.store import RunbookStore
from tests.kafka_helpers import (
    Partitions,
    Traffic,
    consume_and_commit,
    create_topic,
    everything,
    flat,
    produce_numbered,
    read_to_end,
    wait_for_checkpoint,
)
from tests.lab_helpers import dr_plan, mirrormaker

pytestmark = pytest.mark.lab

OFFSET_LAG_MAX = 100
"""MirrorMaker 2's offset.lag.max: translated offsets may re-deliver up to this many records per partition."""


def read_from_committed(bootstrap: str, group: str, topic: str, partitions: int) -> Partitions:
    """Everything of ``topic`` from ``group``'s committed offsets to the end (what the group reads next)."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": group, "enable.auto.commit": False}))
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return read_to_end(consumer, topic, {tp.partition: max(tp.offset, 0) for tp in committed})
    finally:
        consumer.close()


async def test_graceful_failover_with_traffic_then_failback(
    lab: Lab, tmp_path: Path, unique_name: str, mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60)
    mirrormakers_stopped.append(plan)
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    topic, group = unique_name, f"{unique_name}-app"
    create_topic(primary, topic, partitions=3)
    initial = produce_numbered(primary, topic, 600)
    # The application's group read part of the topic on primary before anything else happened.
    before = consume_and_commit(primary, group, topic, 250)
    committed = {p: len(vs) for p, vs in before.items()}
    await mirrormaker(plan, f"{PRIMARY}->{DR}", start=True)
    traffic = Traffic(primary, topic, "live")
    traffic.start()
    try:
        wait_for_checkpoint(dr, group, topic, committed)
        events: list[RunEvent] = []
        op = Operation(plan, path, FAILOVER, store_root=tmp_path / "state")
        result = await op.run(events.append)
        assert result.outcome == "completed", "\n".join(f"{e.kind} {e.step}: {e.text}" for e in events[-12:])
    finally:
        traffic.stop()
    assert traffic.acked, "the traffic produced nothing before the fence"
    assert traffic.failed > 0, "writes after the fence must fail"

    # 0 lost: every record acknowledged by primary is on dr.
    mirrored = everything(dr, f"{PRIMARY}.{topic}", 3)
    assert flat(initial) | traffic.acked <= flat(mirrored)
    # The group resumes on dr from its translated offsets: with what it read on primary, it sees every record.
    after = read_from_committed(dr, group, f"{PRIMARY}.{topic}", 3)
    assert flat(before) | flat(after) >= flat(initial) | traffic.acked
    duplicates = {p: len(set(before.get(p, [])) & set(after[p])) for p in range(3)}
    assert all(d <= OFFSET_LAG_MAX for d in duplicates.values()), duplicates
    report = result.report
    assert report["rpo_records"] == 0 and report["rpo_measured"] is True
    assert report["groups"][group]["partitions"] == len(committed)
    assert report["groups"][group]["duplicates"] <= OFFSET_LAG_MAX * len(committed)
    assert 0 < report["rto_seconds"] < 60
    store = RunbookStore(plan.plan.name, path, tmp_path / "state")
    assert store.load_state(PRIMARY).active == DR
    assert fence.read_max_bytes(primary, [topic])[topic] == 1, "primary stays fenced until failback"

    # During the outage, producers write the topic on dr; reverse replication carries it to primary.
    on_dr = produce_numbered(dr, topic, 400, start=10_000)
    events = []
    back = await Operation(plan, path, FAILBACK, store_root=tmp_path / "state").run(events.append)
    assert back.outcome == "completed", "\n".join(f"{e.kind} {e.step}: {e.text}" for e in events[-12:])
    # No record lost: everything written on dr is on primary (as dr.<topic>).
    assert flat(on_dr) <= flat(everything(primary, f"{DR}.{topic}", 3))
    assert fence.read_max_bytes(primary, [topic])[topic] is None, "the fence is undone"
    assert store.load_state(PRIMARY).active == PRIMARY
    acks_all = produce_numbered(primary, topic, 10, start=20_000)  # primary takes writes again
    assert sum(len(v) for v in acks_all.values()) == 10
    assert await _states(plan) == ["running"], "the original direction runs again"


async def remembered_lag(plan: Plan, path: Path, state: Path, records: int) -> None:
    """Read the forward flow's lag as the console or `kdrtui status` would (and so remember it)."""
    op = Operation(plan, path, FAILOVER, store_root=state)
    try:
        snapshot = await op.ctx.lag.read()
    finally:
        await op.close()
    assert snapshot.flows[0].lag_records == records, snapshot.flows[0]


async def _states(plan: Plan) -> list[str]:
    manager = MirrorMakerManager(plan)
    try:
        return [str((await manager.status(dep, with_drift=False)).state) for dep in await manager.select()]
    finally:
        await manager.close()


async def test_region_down_failover_goes_on_without_the_primary(
    lab: Lab, tmp_path: Path, unique_name: str, mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes")
    mirrormakers_stopped.append(plan)
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    topic, group = unique_name, f"{unique_name}-app"
    create_topic(primary, topic, partitions=2)
    produce_numbered(primary, topic, 200)
    before = consume_and_commit(primary, group, topic, 80)
    committed = {p: len(vs) for p, vs in before.items()}
    await mirrormaker(plan, f"{PRIMARY}->{DR}", start=True)
    wait_for_checkpoint(dr, group, topic, committed)
    deadline = time.monotonic() + 60
    while sum(len(v) for v in everything(dr, f"{PRIMARY}.{topic}", 2).values()) < 200:
        assert time.monotonic() < deadline, "MirrorMaker never mirrored the 200 records"
        time.sleep(0.5)
    # MirrorMaker falls behind by 432 records, and someone watching the lag (status, the console) saw it:
    # its last fresh read is kept, and is all a failover can know once the primary is gone.
    await mirrormaker(plan, f"{PRIMARY}->{DR}", start=False)
    produce_numbered(primary, topic, 432, start=10_000)
    await remembered_lag(plan, path, tmp_path / "state", 432)

    lab.kill(PRIMARY)  # the primary region goes dark
    try:
        forecast = Operation(plan, path, FAILOVER, store_root=tmp_path / "state")
        go, lines = await forecast.forecast()
        await forecast.close()
        assert go, lines
        assert any(line.startswith(f"{PRIMARY}: UNREACHABLE") for line in lines), lines
        result = await Operation(plan, path, FAILOVER, store_root=tmp_path / "state").run()
        assert result.outcome == "completed", result.error
    finally:
        lab.up()
    assert result.state is not None
    steps = {record.key: (str(record.status), record.summary) for record in result.state.steps.values()}
    assert steps["fence"][0] == "skipped" and "unreachable" in steps["fence"][1]
    assert steps["drain"][0] == "skipped" and steps["replication"][0] == "skipped"
    # Never a confident 0: unknown, with the best bound known and its age.
    report = result.report
    assert report["rpo_records"] is None and report["rpo_measured"] is False
    assert report["rpo_bound_records"] == 432 and report["rpo_bound_topics"] == {topic: 432}
    assert 0 <= report["rpo_bound_age_s"] < 120
    assert any("estimated 432 records (the lag read" in line for line in report_lines(report))
    # The group resumes on dr from its checkpoint: nothing it had not read is skipped.
    after = read_from_committed(dr, group, f"{PRIMARY}.{topic}", 2)
    everything_on_dr = everything(dr, f"{PRIMARY}.{topic}", 2)
    assert flat(before) | flat(after) == flat(everything_on_dr)
    assert all(len(set(before.get(p, [])) & set(after[p])) <= OFFSET_LAG_MAX for p in range(2))
