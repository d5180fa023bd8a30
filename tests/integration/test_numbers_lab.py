"""Figures a failover reports, on the lab off the happy path: real brokers, real MirrorMaker 2 over real SSH.

- a failover that stops after its fence is rolled back (fence down, MirrorMaker running again), and the
  messages after a NO-GO or a failure suggest only commands that work;
- with the source unreachable the RPO is never a confident 0: null, not measured, the best bound known;
- failback names the records the DR cluster never got, and delivers them late or exports and skips them;
- the pre-flight's re-delivery forecast, the translate step's figure and the records a group really
  reads again are one number.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka import fence
from kdrtui.services.kafka.config import client_config
from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.runbook.failover import FAILOVER
from kdrtui.services.runbook.operate import Operation
from kdrtui.services.runbook.store import RunbookStore
from tests.kafka_helpers import (
    consume_and_commit,
    create_topic,
    everything,
    produce_numbered,
    produce_transactions,
    wait_for_checkpoint,
)
from tests.lab_helpers import dr_plan, mirrormaker, run_kdrtui

pytestmark = pytest.mark.lab

PARTITIONS = 3
"""Partitions of the topic a transaction is open on during a failover."""


@pytest.fixture
def env(state_dir: Path) -> dict[str, str]:
    """The environment of the ``kdrtui`` processes a test starts: the runbook state of this test only."""
    return {**os.environ, "KDRTUI_STATE_DIR": str(state_dir)}


def mirrored_count(bootstrap: str, topic: str, partitions: int) -> int:
    return sum(len(v) for v in everything(bootstrap, topic, partitions).values())


def wait_mirrored(lab: Lab, topic: str, partitions: int, count: int) -> None:
    deadline = time.monotonic() + 90
    while mirrored_count(lab.bootstrap(DR), f"{PRIMARY}.{topic}", partitions) < count:
        assert time.monotonic() < deadline, f"MirrorMaker never mirrored {count} records of {topic}"
        time.sleep(0.5)


def mm_pid(plan: Plan) -> int:
    async def read() -> int:
        manager = MirrorMakerManager(plan)
        try:
            (dep,) = await manager.select(flow=f"{PRIMARY}->{DR}")
            status = await manager.status(dep, with_drift=False)
            assert status.pid is not None, status
            return status.pid
        finally:
            await manager.close()

    return asyncio.run(read())


def mm_running(plan: Plan) -> bool:
    async def read() -> bool:
        manager = MirrorMakerManager(plan)
        try:
            (dep,) = await manager.select(flow=f"{PRIMARY}->{DR}")
            return str((await manager.status(dep, with_drift=False)).state) == "running"
        finally:
            await manager.close()

    return asyncio.run(read())


# --- 3. a failover that stops after the fence can be rolled back -------------------------------------


def test_a_failed_or_cut_failover_is_rolled_back_and_only_working_commands_are_suggested(
    lab: Lab, tmp_path: Path, unique_name: str, env: dict[str, str], mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=3)
    mirrormakers_stopped.append(plan)
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=2)
    produce_numbered(primary, unique_name, 40)
    store = RunbookStore(plan.plan.name, path)

    # A NO-GO changes nothing: no --resume, no --rollback offered.
    no_go = run_kdrtui("failover", "--plan", str(path), "--yes", env=env)
    assert no_go.returncode == 1 and "NO-GO" in no_go.stdout, no_go.stdout + no_go.stderr
    assert "nothing was changed" in no_go.stderr and "--resume" not in no_go.stderr
    assert "--rollback" not in no_go.stderr
    nothing = run_kdrtui("failover", "--plan", str(path), "--rollback", "--yes", env=env)
    assert nothing.returncode == 2 and "nothing to roll back" in nothing.stderr

    # A drain that cannot finish (MirrorMaker frozen): the run fails after the fence.
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=True))
    wait_mirrored(lab, unique_name, 2, 40)
    pid = mm_pid(plan)
    os.kill(pid, signal.SIGSTOP)
    try:
        produce_numbered(primary, unique_name, 60, start=40)
        failed = run_kdrtui("failover", "--plan", str(path), "--yes", env=env)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "lag still" in failed.stdout and "drain" in failed.stdout
        assert "--resume" in failed.stderr and "--rollback" in failed.stderr, failed.stderr
        assert fence.read_max_bytes(primary, [unique_name]) == {unique_name: 1}, "left fenced"

        back = run_kdrtui("failover", "--plan", str(path), "--rollback", "--yes", "--json", env=env)
        assert back.returncode == 0, back.stdout + back.stderr
        steps = {s["step"]: s["status"] for s in json.loads(back.stdout)["steps"]}
        assert steps == {
            "rollback-check": "done",
            "unfence": "done",
            "restart-mirrormaker": "done",
            "close-run": "done",
        }, steps
    finally:
        os.kill(pid, signal.SIGCONT)
    assert fence.read_max_bytes(primary, [unique_name]) == {unique_name: None}, "writes taken again"
    produce_numbered(primary, unique_name, 5, start=100)
    assert store.load_state(PRIMARY).active == PRIMARY and not store.load_state(PRIMARY).fenced
    again = run_kdrtui("failover", "--plan", str(path), "--resume", "--yes", env=env)
    assert again.returncode == 2 and "nothing to resume" in again.stderr

    # Cut after MirrorMaker was stopped: the rollback starts it again.
    cut = run_kdrtui(
        "failover", "--plan", str(path), "--yes", env={**env, "KDRTUI_CRASH_AFTER_STEP": "stop-mirrormaker"}
    )
    assert cut.returncode == -signal.SIGKILL, cut.stdout + cut.stderr
    assert not mm_running(plan)
    back = run_kdrtui("failover", "--plan", str(path), "--rollback", "--yes", env=env)
    assert back.returncode == 0, back.stdout + back.stderr
    assert mm_running(plan), "MirrorMaker runs again"
    assert fence.read_max_bytes(primary, [unique_name]) == {unique_name: None}
    audit = [json.loads(line) for line in (tmp_path / "state" / "audit.log").read_text().splitlines()]
    assert [a["outcome"] for a in audit if "--rollback" in a["action"]] == [
        "started",
        "completed",
        "started",
        "completed",
    ]


# --- 5. failback names the divergence ---------------------------------------------------------------


def test_failback_counts_the_divergent_records_then_skips_them_after_exporting(
    lab: Lab, tmp_path: Path, unique_name: str, env: dict[str, str], mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60)
    mirrormakers_stopped.append(plan)
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    create_topic(primary, unique_name, partitions=2)
    produce_numbered(primary, unique_name, 100)
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=True))
    wait_mirrored(lab, unique_name, 2, 100)
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=False))
    unmirrored = produce_numbered(primary, unique_name, 37, start=1000)  # never reach dr
    refused = run_kdrtui("failover", "--plan", str(path), "--dry-run", env=env)
    assert "not running" in refused.stdout and "37 records" in refused.stdout, "NO-GO without --force"
    forced = run_kdrtui("failover", "--plan", str(path), "--yes", "--force", "--json", env=env)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    answer = json.loads(forced.stdout)
    assert answer["report"]["rpo_records"] == 37 and answer["report"]["rpo_topics"] == {unique_name: 37}
    assert answer["report"]["rpo_measured"] is True
    assert {s["step"]: s["status"] for s in answer["steps"]}["drain"] == "skipped", "--force: no drain"

    dry = run_kdrtui("failback", "--plan", str(path), "--dry-run", env=env)
    assert dry.returncode == 0
    assert f"divergent: 37 records on {PRIMARY} never reached {DR} ({unique_name}: 37)" in dry.stdout, (
        dry.stdout
    )

    back = run_kdrtui("failback", "--plan", str(path), "--yes", "--json", "--divergent=skip", env=env)
    assert back.returncode == 0, back.stdout + back.stderr
    report = json.loads(back.stdout)["report"]
    assert report["divergent"]["records"] == 37 and report["divergent"]["choice"] == "skip"
    exported: dict[str, int] = report["divergent"]["exported"]
    assert sum(exported.values()) == 37
    lines = [json.loads(line) for file in exported for line in Path(file).read_text().splitlines()]
    assert sorted(int(r["value"]) for r in lines) == sorted(int(v) for vs in unmirrored.values() for v in vs)
    assert all(
        {"key", "value", "headers", "timestamp", "partition", "offset", "topic"} <= r.keys() for r in lines
    )
    by_partition = {p: [r["offset"] for r in lines if r["partition"] == p] for p in unmirrored}
    assert all(offsets == sorted(offsets) for offsets in by_partition.values())

    # MirrorMaker runs again from after them: new records arrive, the skipped ones never do.
    after = produce_numbered(primary, unique_name, 20, start=2000)
    wait_mirrored(lab, unique_name, 2, 120)
    on_dr = {v for vs in everything(dr, f"{PRIMARY}.{unique_name}", 2).values() for v in vs}
    assert not on_dr & {v for vs in unmirrored.values() for v in vs}, "the skipped records were copied"
    assert {v for vs in after.values() for v in vs} <= on_dr


def test_failback_delivers_the_divergent_records_late_by_default(
    lab: Lab, tmp_path: Path, unique_name: str, env: dict[str, str], mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60)
    mirrormakers_stopped.append(plan)
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    create_topic(primary, unique_name, partitions=1)
    produce_numbered(primary, unique_name, 50)
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=True))
    wait_mirrored(lab, unique_name, 1, 50)
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=False))
    late = produce_numbered(primary, unique_name, 12, start=500)
    assert run_kdrtui("failover", "--plan", str(path), "--yes", "--force", env=env).returncode == 0
    back = run_kdrtui("failback", "--plan", str(path), "--yes", "--json", env=env)
    assert back.returncode == 0, back.stdout + back.stderr
    report = json.loads(back.stdout)["report"]
    assert report["divergent"] == {"choice": "deliver", "records": 12, "topics": {unique_name: 12}}
    assert f"divergent: 12 records on {PRIMARY} never reached {DR}: delivered to {DR} late" in back.stderr
    wait_mirrored(lab, unique_name, 1, 62)
    on_dr = {v for vs in everything(dr, f"{PRIMARY}.{unique_name}", 1).values() for v in vs}
    assert {v for vs in late.values() for v in vs} <= on_dr


# --- 8. the forecast equals what the runbook does --------------------------------------------------------


def read_again(bootstrap: str, group: str, topic: str, read_on_primary: set[bytes]) -> int:
    """Records ``group`` reads on ``bootstrap`` from its committed offset that it had read on primary."""
    consumer = Consumer(client_config(bootstrap, **{"group.id": group, "enable.auto.commit": False}))
    try:
        (committed,) = consumer.committed([TopicPartition(topic, 0)], timeout=10)
        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, committed.offset)])
        seen: list[bytes] = []
        deadline = time.monotonic() + 60
        while committed.offset + len(seen) < high:
            assert time.monotonic() < deadline
            seen += [m.value() or b"" for m in consumer.consume(1000, 0.5) if m.error() is None]
        return sum(1 for value in seen if value in read_on_primary)
    finally:
        consumer.close()


def test_the_forecast_the_translate_step_and_the_records_read_again_are_one_number(
    lab: Lab, tmp_path: Path, unique_name: str, env: dict[str, str], mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", reverse_replication=False)
    mirrormakers_stopped.append(plan)
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    topic, group = unique_name, f"{unique_name}-app"
    create_topic(primary, topic, partitions=1)
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=True))
    # Records arrive while MirrorMaker runs, so it writes offset syncs along the way (a real topic).
    for batch in range(8):
        produce_numbered(primary, topic, 500, start=batch * 500)
    read = consume_and_commit(primary, group, topic, 2000)  # the group is at 2,000 of 4,000
    wait_mirrored(lab, topic, 1, 4000)
    wait_for_checkpoint(dr, group, topic, {0: 2000})

    op = Operation(plan, path, FAILOVER)

    async def forecast() -> tuple[bool, list[str]]:
        try:
            return await op.forecast()
        finally:
            await op.close()

    go, lines = asyncio.run(forecast())
    assert go, lines
    (line,) = [line for line in lines if line.strip().startswith(f"group {group}:")]
    forecast_reads = int(line.split(": ")[1].split(" read again")[0].replace(",", ""))
    status = run_kdrtui("status", "--plan", str(path), "--json", env=env)
    groups = json.loads(status.stdout.splitlines()[-1])["flows"][0]["groups"]
    status_reads = sum(g["redeliver"] for g in groups if g["group"] == group)

    result = run_kdrtui("failover", "--plan", str(path), "--yes", "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    step_reads = json.loads(result.stdout)["report"]["groups"][group]["duplicates"]
    really = read_again(dr, group, f"{PRIMARY}.{topic}", {v for vs in read.values() for v in vs})

    assert forecast_reads == status_reads == step_reads == really, (
        forecast_reads,
        status_reads,
        step_reads,
        really,
    )
    assert really <= 100, "at most offset.lag.max records read again"


# --- 2. a failover with a transaction open ---------------------------------------------------------------


def committed_values(bootstrap: str, topic: str, partitions: int) -> set[bytes]:
    """Every record a read_committed reader sees in ``topic``."""
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": "check-committed",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            },
        )
    )
    try:
        if topic not in consumer.list_topics(timeout=10).topics:
            return set()  # MirrorMaker has not created it yet
        ends = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)
        ]
        consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        seen: set[bytes] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            batch = [m for m in consumer.consume(1000, 0.5) if m.error() is None]
            seen |= {m.value() or b"" for m in batch}
            positions = consumer.position([TopicPartition(topic, p) for p in range(partitions)])
            if not batch and all(tp.offset >= end for tp, end in zip(positions, ends, strict=True)):
                break
        return seen
    finally:
        consumer.close()


def stable_equals_high(bootstrap: str, topic: str, partitions: int) -> bool:
    from confluent_kafka import IsolationLevel
    from confluent_kafka.admin import AdminClient, OffsetSpec

    admin = AdminClient(client_config(bootstrap))
    wanted = {TopicPartition(topic, p): OffsetSpec.latest() for p in range(partitions)}

    def ends(level: IsolationLevel) -> list[int]:
        return [f.result(15).offset for f in admin.list_offsets(wanted, isolation_level=level).values()]

    return ends(IsolationLevel.READ_COMMITTED) == ends(IsolationLevel.READ_UNCOMMITTED)


def test_a_failover_with_a_transaction_open_completes_and_leaves_nothing_hanging(
    lab: Lab, tmp_path: Path, unique_name: str, env: dict[str, str], mirrormakers_stopped: list[Plan]
) -> None:
    from confluent_kafka import Producer

    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60)
    mirrormakers_stopped.append(plan)
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    create_topic(primary, unique_name, partitions=PARTITIONS)
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=True))
    committed, aborted = produce_transactions(primary, unique_name, f"{unique_name}-tx", PARTITIONS)
    want = {v for vs in committed.values() for v in vs}
    deadline = time.monotonic() + 90
    while not want <= committed_values(dr, f"{PRIMARY}.{unique_name}", PARTITIONS):
        assert time.monotonic() < deadline, "the committed transactions never reached dr"
        time.sleep(1)

    # A second producer opens a transaction and goes silent (a client stopped for the failover).
    silent = Producer(
        client_config(
            primary, **{"transactional.id": f"{unique_name}-silent", "transaction.timeout.ms": 10000}
        )
    )
    silent.init_transactions(30)
    silent.begin_transaction()
    for n in range(5):
        silent.produce(unique_name, key=f"s{n}", value=f"open-{n}")
    assert silent.flush(30) == 0
    assert not stable_equals_high(primary, unique_name, PARTITIONS), "a transaction is open"
    failover = run_kdrtui("failover", "--plan", str(path), "--yes", "--json", env=env)
    assert failover.returncode == 0, failover.stdout + failover.stderr
    assert "open transaction" in failover.stderr, "the fence waited for it"
    steps = {s["step"]: s["status"] for s in json.loads(failover.stdout)["steps"]}
    assert steps["drain"] == "done", steps
    on_dr = committed_values(dr, f"{PRIMARY}.{unique_name}", PARTITIONS)
    assert want <= on_dr and not on_dr & {v for vs in aborted.values() for v in vs}
    assert not {v for v in on_dr if v.startswith(b"open-")}, "the silent transaction was never committed"

    failback = run_kdrtui("failback", "--plan", str(path), "--yes", env=env)
    assert failback.returncode == 0, failback.stdout + failback.stderr
    assert stable_equals_high(primary, unique_name, PARTITIONS), "no transaction left hanging on primary"
    del silent
