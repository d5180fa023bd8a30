"""Cluster health on the HDInsight-shaped lab (three brokers per cluster, replication factor 3,
``min.insync.replicas`` 2): a dr broker killed, what the probe, ``kdrtui status --json`` and the failover
pre-flight say, and the way back once it is restarted.

Partitions under ``min.insync.replicas`` come from a topic of this test that asks for 3 in-sync replicas,
with one broker down: killing a second broker of the lab would not show them, because each lab broker is
also a KRaft controller, and two down of three voters leave no quorum to record any ISR change (the
metadata freezes as it was). On HDInsight 5.1 (ZooKeeper) the controller does not go with the brokers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kdrtui.domain.health import ClusterObservation, Reachability, expect_from_plan, state_of
from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import DR, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.probe import KafkaClusterProbe
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.failover import FAILOVER, make_context
from kdrtui.services.runbook.preflight import Preflight
from kdrtui.services.runbook.store import RunbookStore
from tests.lab_helpers import cli, dr_plan

pytestmark = pytest.mark.lab

Wait = Callable[..., float]


def create_topic(bootstrap: str, topic: str, partitions: int = 3, **config: str) -> None:
    """``topic`` with three replicas (``config``: topic settings such as ``min.insync.replicas``)."""
    admin = AdminClient(client_config(bootstrap))
    new = NewTopic(topic, num_partitions=partitions, replication_factor=3, config=config)
    admin.create_topics([new])[topic].result(30)


class Observer:
    """The console's probe of one cluster, with the brokers the plan expects."""

    def __init__(self, plan: Plan, alias: str) -> None:
        self.cluster = plan.clusters[alias]
        self.probe = KafkaClusterProbe(self.cluster.bootstrap, timeout_s=5.0)
        self.last: ClusterObservation | None = None

    def observe(self) -> ClusterObservation:
        self.last = expect_from_plan(self.probe.observe(), self.cluster)
        return self.last

    def healthy(self) -> bool:
        seen = self.observe()
        return state_of(seen) is Reachability.UP and seen.brokers == 3 and seen.under_replicated == 0


@pytest.fixture
def dr_observer(lab3: Lab, wait_until: Wait) -> Iterator[Observer]:
    """A probe of lab3's dr cluster; after the test, every broker is back and every partition in sync."""
    observer = Observer(load_plan(lab3.plan_path), DR)
    try:
        yield observer
    finally:
        lab3.restore()
        wait_until(observer.healthy, timeout=120, interval=1.0, message="dr back to 3/3 brokers and 0 URP")
        observer.probe.close()


async def preflight(plan: Plan, path: Path) -> dict[str, object]:
    """The failover's pre-flight facts now (nothing changed)."""
    ctx = make_context(plan, RunbookStore(plan.plan.name, path), FAILOVER)
    try:
        return await Preflight().forecast(ctx)
    finally:
        await ctx.close()


async def test_one_dr_broker_down_is_degraded_but_the_failover_may_go(
    lab3: Lab, dr_observer: Observer, unique_name: str, wait_until: Wait, tmp_path: Path, state_dir: Path
) -> None:
    create_topic(lab3.bootstrap(DR), unique_name, partitions=6)
    plan, path = dr_plan(lab3, tmp_path, unique_name)
    assert plan.clusters[DR].expected_brokers == 3
    wait_until(dr_observer.healthy, timeout=60, interval=1.0, message="dr healthy before the kill")

    assert lab3.kill_broker(DR, 3) is not None, "dr's broker 3 was running"

    def degraded() -> bool:
        seen = dr_observer.observe()
        return state_of(seen) is Reachability.DEGRADED and seen.brokers == 2 and seen.under_replicated >= 6

    wait_until(degraded, timeout=90, interval=1.0, message="dr DEGRADED with its ISRs shrunk")
    seen = dr_observer.last
    assert seen is not None
    assert (seen.brokers, seen.brokers_expected, seen.expected_source) == (2, 3, "plan")
    assert (seen.offline, seen.under_min_isr, seen.unwritable_count) == (0, 0, 0)
    assert seen.controller_id in (1, 2) and seen.kraft is True, "the lab runs KRaft"

    # kdrtui status probes dr afresh (a new client: another broker's metadata, which may follow the
    # controller a moment late): asked again, with a deadline, until it has seen what the observer saw.
    answers: list[Any] = []

    def status_degraded() -> bool:
        result = cli("status", "--plan", str(path), "--json")
        answers.append((result.exit_code, json.loads(result.stdout)["clusters"][DR]))
        return bool(answers[-1][1]["state"] == "degraded")

    wait_until(
        status_degraded,
        timeout=60,
        interval=1.0,
        message=lambda: (
            f"kdrtui status: dr degraded (last {answers[-1:]}; brokers' views "
            f"{lab3.cluster(DR).broker_views()})"
        ),
    )
    code, block = answers[-1]
    assert code >= 1
    assert (block["brokers_up"], block["brokers_expected"], block["expected_source"]) == (2, 3, "plan")
    assert block["under_replicated"] > 0 and block["offline"] == 0 and block["under_min_isr"] == 0

    # The pre-flight probes dr afresh too: asked again, with a deadline, as kdrtui status was.
    deadline = time.monotonic() + 60
    facts = await preflight(plan, path)
    while facts["target_health"]["state"] != "degraded" and time.monotonic() < deadline:  # type: ignore[index]
        await asyncio.sleep(1.0)
        facts = await preflight(plan, path)
    assert facts["target_reachable"] and facts["target_unwritable"] is None
    assert facts["target_health"]["state"] == "degraded", facts["target_health"]  # type: ignore[index]
    assert not [r for r in facts["reasons"] if "min.insync.replicas" in r or "offline" in r], facts["reasons"]  # type: ignore[attr-defined]


async def test_partitions_under_min_isr_on_dr_are_a_no_go_naming_them(
    lab3: Lab, dr_observer: Observer, unique_name: str, wait_until: Wait, tmp_path: Path, state_dir: Path
) -> None:
    create_topic(lab3.bootstrap(DR), unique_name, partitions=3, **{"min.insync.replicas": "3"})
    try:
        await _min_isr_no_go(lab3, dr_observer, unique_name, wait_until, tmp_path)
    finally:  # the shared lab3 must not keep a topic that is under min ISR whenever a broker is down
        admin = AdminClient(client_config(lab3.bootstrap(DR)))
        admin.delete_topics([unique_name])[unique_name].result(30)


async def _min_isr_no_go(
    lab3: Lab, dr_observer: Observer, unique_name: str, wait_until: Wait, tmp_path: Path
) -> None:
    plan, path = dr_plan(lab3, tmp_path, unique_name)
    wait_until(dr_observer.healthy, timeout=60, interval=1.0, message="dr healthy before the kill")

    lab3.kill_broker(DR, 2)

    def below_min_isr() -> bool:
        seen = dr_observer.observe()
        return seen.ok and (seen.under_min_isr or 0) >= 3

    wait_until(below_min_isr, timeout=90, interval=1.0, message="dr partitions under min.insync.replicas")
    seen = dr_observer.last
    assert seen is not None and state_of(seen) is Reachability.DEGRADED
    assert {f"{unique_name}-{p}" for p in range(3)} <= set(seen.unwritable)

    # The pre-flight probes dr afresh (another broker's metadata, the topic configs read again): asked
    # again, with a deadline, while its own read has not yet seen what the observer saw.
    deadline = time.monotonic() + 60
    facts = await preflight(plan, path)
    while facts["go"] and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        facts = await preflight(plan, path)
    assert not facts["go"], facts.get("target_health")
    reasons = [r for r in facts["reasons"] if "min.insync.replicas" in r]  # type: ignore[attr-defined]
    assert len(reasons) == 1, facts["reasons"]
    assert reasons[0].startswith("dr: ") and f"{unique_name}-0" in reasons[0]
    assert reasons[0].endswith("the DR cluster cannot take acks=all writes")
