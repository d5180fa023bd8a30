"""The failover pre-flight on what the probes see of the target: partitions under min.insync.replicas
(or offline) are a NO-GO reason; a broker down with every partition still at min ISR only a line."""

from __future__ import annotations

from typing import Any

from kdrtui.domain.health import ClusterObservation
from kdrtui.services.runbook.context import FAILOVER
from kdrtui.services.runbook.failover import make_context
from kdrtui.services.runbook.forecast import forecast_lines
from kdrtui.services.runbook.store import RunbookStore
from tests.services.fakes import NoMirrorMakers, observed_context, preflight_without_kafka
from tests.tui.fakes import sample_plan

SOURCE_DOWN = ClusterObservation(observed_at=1.0, ok=False, error="Broker transport failure")


def dr(**kw: Any) -> ClusterObservation:
    fields: dict[str, Any] = {
        "brokers": 3,
        "brokers_expected": 3,
        "expected_source": "plan",
        "controller_id": 1,
    }
    return ClusterObservation(observed_at=1.0, ok=True, **(fields | kw))


async def forecast(target: ClusterObservation, *, force: bool = False) -> tuple[dict[str, Any], list[str]]:
    plan = sample_plan()
    ctx = make_context(
        plan,
        RunbookStore(plan.plan.name, None),
        FAILOVER,
        force=force,
        manager_factory=lambda _p: NoMirrorMakers(),
    )
    ctx = observed_context(ctx, {"primary": SOURCE_DOWN, "dr": target})
    facts = await preflight_without_kafka().forecast(ctx)
    return facts, forecast_lines(ctx, facts)


async def test_a_healthy_target_is_go() -> None:
    facts, _ = await forecast(dr())
    assert facts["go"], facts["reasons"]
    assert facts["target_health"]["state"] == "up" and facts["degraded"] == {}


async def test_one_broker_down_with_every_partition_at_min_isr_is_a_line_not_a_no_go() -> None:
    facts, lines = await forecast(dr(brokers=2, under_replicated=14))
    assert facts["go"], facts["reasons"]
    assert facts["target_health"]["state"] == "degraded"
    assert "dr: DEGRADED: brokers 2/3 · URP 14 · offline 0 · <minISR 0 · controller 1" in lines


async def test_partitions_under_min_isr_on_the_target_are_a_no_go_naming_them() -> None:
    names = ("orders-0", "orders-1", "orders-2", "orders-3", "orders-4")
    target = dr(brokers=1, under_replicated=12, under_min_isr=12, unwritable=names, unwritable_count=12)
    facts, _ = await forecast(target)
    assert not facts["go"]
    assert facts["reasons"] == [
        "dr: 12 partitions have fewer in-sync replicas than min.insync.replicas "
        "(orders-0, orders-1, orders-2, orders-3, orders-4, …): the DR cluster cannot take acks=all writes"
    ]
    forced, _ = await forecast(target, force=True)
    assert forced["go"] and forced["accepted"] == facts["reasons"]


async def test_an_offline_partition_is_a_no_go_too() -> None:
    facts, _ = await forecast(dr(offline=1, unwritable=("payments-0",), unwritable_count=1))
    assert facts["reasons"] == [
        "dr: 1 partition is offline (no leader) (payments-0): the DR cluster cannot take acks=all writes"
    ]
