"""``kdrtui check`` on the three-broker lab (RF 3, min ISR 2, racks fd0-fd2), run as an operator runs it:
each test seeds one problem on topics of its own (the mirror created on dr by hand: no MirrorMaker needed
to show the finding) and reads the findings of ``kdrtui check --json``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.plan_files import load_plan, save_plan
from kdrtui.services.readiness import cheap_blocking
from kdrtui.services.readiness.extras import checkpoint_facts
from kdrtui.services.runbook.context import FAILOVER
from kdrtui.services.runbook.failover import make_context
from kdrtui.services.runbook.preflight import Preflight
from kdrtui.services.runbook.store import RunbookStore
from tests.kafka_helpers import consume_and_commit, produce_numbered, wait_for_checkpoint
from tests.lab_helpers import lab_plan_variant, mirrormaker, run_kdrtui

pytestmark = pytest.mark.lab

Wait = Callable[..., float]


def plan_for(lab: Lab, tmp_path: Path, name: str, **node: Any) -> Path:
    """The lab plan narrowed to ``name``'s topics and groups, under a plan name of its own (a DR state
    other tests' failovers leave does not apply to it); ``node`` changes its edge node."""
    base = load_plan(lab.plan_path)
    info = base.plan.model_copy(update={"name": f"check-{name}"[:64]})
    pattern = re.escape(name) + ".*"
    path = lab_plan_variant(lab, tmp_path, flow={"topics": [pattern], "groups": [pattern]}, plan=info)
    if node:
        plan = load_plan(path)
        nodes = [n.model_copy(update=node) for n in plan.edge_nodes]
        save_plan(Plan.model_validate(plan.model_copy(update={"edge_nodes": nodes}).model_dump()), path)
    return path


def topic(
    bootstrap: str, name: str, partitions: int = 3, rf: int = 3, config: dict[str, str] | None = None
) -> None:
    admin = AdminClient(client_config(bootstrap))
    new = NewTopic(name, num_partitions=partitions, replication_factor=rf, config=config or {})
    admin.create_topics([new])[name].result(timeout=30)


def check(path: Path, wait_until: Wait) -> tuple[int, dict[str, Any]]:
    """``kdrtui check --plan path --json``: its exit code and JSON (asked again while a topic just created
    is not yet in every broker's metadata)."""
    answers: list[tuple[int, dict[str, Any]]] = []

    def answered() -> bool:
        done = run_kdrtui("check", "--plan", str(path), "--json", env={**os.environ}, timeout=120)
        assert done.returncode in (0, 1, 2), done.stdout + done.stderr
        body = json.loads(done.stdout)
        assert body["exit_code"] == done.returncode
        answers.append((done.returncode, body))
        return not any("not checked" in f["what"] for f in body["findings"] if f["check"] == "parity")

    wait_until(answered, timeout=60, interval=1, message="kdrtui check read every topic")
    return answers[-1]


def found(body: dict[str, Any], check: str, where: str) -> list[dict[str, str]]:
    return [f for f in body["findings"] if f["check"] == check and f["where"] == where]


def unexplained(body: dict[str, Any]) -> list[dict[str, str]]:
    """Findings other than the info ones every lab plan has (kdrtui does not move the clients)."""
    return [f for f in body["findings"] if not (f["severity"] == "info" and f["check"] == "switch")]


def test_a_clean_pair_is_ready(lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait) -> None:
    topic(lab3.bootstrap(PRIMARY), unique_name)
    topic(lab3.bootstrap(DR), f"{PRIMARY}.{unique_name}")
    code, body = check(plan_for(lab3, tmp_path, unique_name), wait_until)
    assert unexplained(body) == [], body
    assert code == 0 and body["counts"]["blocking"] == body["counts"]["warning"] == 0
    assert body["summary"].endswith(": READY")
    print(f"kdrtui check on lab3 (SSH read of the edge node's release included): {body['seconds']} s")


def test_a_replication_factor_1_topic_is_blocking(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    topic(lab3.bootstrap(PRIMARY), unique_name, rf=1, config={"min.insync.replicas": "1"})
    topic(lab3.bootstrap(DR), f"{PRIMARY}.{unique_name}")
    code, body = check(plan_for(lab3, tmp_path, unique_name), wait_until)
    (rf,) = found(body, "replication", f"{PRIMARY}: {unique_name}")
    assert rf["severity"] == "blocking" and rf["what"].startswith("replication factor 1 (< 3)"), rf
    assert code == 2 and body["summary"].endswith("NOT READY")
    assert found(body, "replication", f"{DR}: {PRIMARY}.{unique_name}") == []  # the mirror has 3


def test_a_config_drift_between_source_and_mirror_warns(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    topic(lab3.bootstrap(PRIMARY), unique_name, config={"retention.ms": "3600000"})
    topic(lab3.bootstrap(DR), f"{PRIMARY}.{unique_name}", config={"cleanup.policy": "compact"})
    code, body = check(plan_for(lab3, tmp_path, unique_name), wait_until)
    (drift,) = found(body, "parity", f"{DR}: {PRIMARY}.{unique_name}")
    assert drift["severity"] == "warning", drift
    assert "retention.ms 604800000 (source 3600000)" in drift["what"], drift
    assert "cleanup.policy compact (source delete)" in drift["what"], drift
    assert code == 1 and unexplained(body) == [drift]


def test_a_mirror_with_fewer_partitions_and_a_missing_mirror_are_blocking(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    topic(lab3.bootstrap(PRIMARY), f"{unique_name}-a", partitions=3)
    topic(lab3.bootstrap(DR), f"{PRIMARY}.{unique_name}-a", partitions=2)
    topic(lab3.bootstrap(PRIMARY), f"{unique_name}-b")  # never mirrored
    code, body = check(plan_for(lab3, tmp_path, unique_name), wait_until)
    (fewer,) = found(body, "parity", f"{DR}: {PRIMARY}.{unique_name}-a")
    assert fewer["severity"] == "blocking" and fewer["what"].startswith("2 partition(s)"), fewer
    assert "partitions 2..2 have nowhere to go" in fewer["what"]
    (missing,) = found(body, "mirror", f"{DR}: {PRIMARY}.{unique_name}-b")
    assert missing["severity"] == "blocking" and missing["what"].startswith("no mirror of"), missing
    assert code == 2


def test_an_old_mirrormaker_release_warns(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    topic(lab3.bootstrap(PRIMARY), unique_name)
    topic(lab3.bootstrap(DR), f"{PRIMARY}.{unique_name}")
    path = plan_for(lab3, tmp_path, unique_name, mirrormaker_kafka="3.2.0")
    code, body = check(path, wait_until)
    (node,) = {n["where"] for n in body["findings"] if n["check"] == "mm-release"}
    (old,) = [f for f in body["findings"] if f["check"] == "mm-release"]
    assert old["severity"] == "warning" and old["what"].startswith("MirrorMaker 3.2.0 (< 3.5)"), old
    assert node.startswith("edge node ")
    assert code == 1 and unexplained(body) == [old]


def test_the_table_fits_80_columns_and_exits_like_the_json(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    topic(lab3.bootstrap(PRIMARY), unique_name, rf=2)
    path = plan_for(lab3, tmp_path, unique_name)
    check(path, wait_until)
    done = run_kdrtui("check", "--plan", str(path), env={**os.environ}, timeout=120)
    lines = done.stdout.splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    # RF 2 warns, and so does its min.insync.replicas 2 (= RF: one broker down stops acks=all writes);
    # the mirror is missing.
    assert lines.count(f"warning   {PRIMARY}: {unique_name}") == 2, done.stdout
    assert f"blocking  {DR}: {PRIMARY}.{unique_name}" in lines
    assert lines[-1].startswith("1 blocking, 2 warnings, ") and lines[-1].endswith("NOT READY")


async def forecast(plan_path: Path, *, force: bool = False) -> dict[str, Any]:
    """The failover's pre-flight facts now (nothing changed)."""
    plan = load_plan(plan_path)
    ctx = make_context(plan, RunbookStore(plan.plan.name, plan_path), FAILOVER, force=force)
    try:
        return await Preflight().forecast(ctx)
    finally:
        await ctx.close()


async def test_the_failover_preflight_says_no_go_for_a_short_mirror_unless_forced(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    topic(lab3.bootstrap(PRIMARY), unique_name, partitions=3)
    topic(lab3.bootstrap(DR), f"{PRIMARY}.{unique_name}", partitions=2)
    path = plan_for(lab3, tmp_path, unique_name)
    check(path, wait_until)  # every broker knows both topics
    started = time.monotonic()
    facts = await forecast(path)
    took = time.monotonic() - started
    (reason,) = [r for r in facts["reasons"] if r.startswith("readiness:")]
    assert reason.startswith(f"readiness: {DR}: {PRIMARY}.{unique_name}: 2 partition(s)"), reason
    assert not facts["go"] and facts["readiness"][0]["check"] == "parity"
    forced = await forecast(path, force=True)
    assert reason in forced["accepted"] and reason not in forced["reasons"]
    started = time.monotonic()
    (short,) = cheap_blocking(load_plan(path), load_plan(path).flows[0])
    print(
        f"pre-flight with the readiness reads: {took:.2f} s; its readiness share alone: "
        f"{time.monotonic() - started:.2f} s"
    )
    assert short.where == f"{DR}: {PRIMARY}.{unique_name}"


async def test_the_preflight_has_no_readiness_reason_for_a_pair_in_parity(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    topic(lab3.bootstrap(PRIMARY), unique_name, rf=2)  # RF 2: check warns, the pre-flight does not stop
    topic(lab3.bootstrap(DR), f"{PRIMARY}.{unique_name}")
    path = plan_for(lab3, tmp_path, unique_name)
    check(path, wait_until)
    facts = await forecast(path)
    assert facts["readiness"] == [] and not [r for r in facts["reasons"] if r.startswith("readiness")]


def test_a_group_that_moved_since_a_checkpoint_older_than_the_rpo_warns(
    lab3: Lab, tmp_path: Path, unique_name: str, wait_until: Wait
) -> None:
    primary, dr = lab3.bootstrap(PRIMARY), lab3.bootstrap(DR)
    group = f"{unique_name}-g"
    topic(primary, unique_name)
    path = plan_for(lab3, tmp_path, unique_name)
    plan = load_plan(path)
    plan = plan.model_copy(update={"objectives": plan.objectives.model_copy(update={"rpo_seconds": 3})})
    save_plan(plan, path)
    (flow,) = plan.flows
    produce_numbered(primary, unique_name, 30)
    asyncio.run(mirrormaker(plan, flow.name, start=True))
    try:
        got = consume_and_commit(primary, group, unique_name, 30)
        wait_for_checkpoint(dr, group, unique_name, {p: len(records) for p, records in got.items()})
    finally:
        asyncio.run(mirrormaker(plan, flow.name, start=False))

    def idle_and_old() -> bool:  # the newest checkpoint ages past the RPO while the group stays put
        facts = checkpoint_facts(flow, primary, dr, 10)
        (mine,) = [g for g in facts.groups if g.group == group]
        return mine.age_s is not None and mine.age_s > 3 and mine.moved is False

    wait_until(idle_and_old, timeout=30, interval=0.5, message="the checkpoint older than the RPO")
    code, body = check(path, wait_until)
    assert found(body, "checkpoints", f"{flow.name}: group {group}") == [], body  # nothing to checkpoint
    assert code == 0, body

    produce_numbered(primary, unique_name, 10, start=30)
    consume_and_commit(primary, group, unique_name, 10)  # it moves on; MirrorMaker is stopped
    code, body = check(path, wait_until)
    (stale,) = found(body, "checkpoints", f"{flow.name}: group {group}")
    assert stale["severity"] == "warning" and "(RPO 3 s) and the group moved since" in stale["what"], stale
    assert code == 1
