"""The clusters' health in ``kdrtui status``: text lines, the JSON block and the exit code."""

from __future__ import annotations

from typing import Any

from kdrtui.commands.status_health import health_exit, health_json, health_lines
from kdrtui.domain.health import ClusterObservation


def seen(**kw: Any) -> ClusterObservation:
    fields: dict[str, Any] = {
        "brokers": 3,
        "brokers_expected": 3,
        "expected_source": "plan",
        "controller_id": 2,
    }
    return ClusterObservation(observed_at=1.0, ok=True, **(fields | kw))


DOWN = ClusterObservation(observed_at=1.0, ok=False, error="Broker transport failure")


def test_every_cluster_up_exits_0_and_says_so() -> None:
    clusters = {"primary": seen(), "dr": seen()}
    assert health_exit(clusters) == 0
    assert health_lines(clusters) == [
        "dr UP  brokers 3/3 · URP 0 · offline 0 · <minISR 0 · controller 2",
        "primary UP  brokers 3/3 · URP 0 · offline 0 · <minISR 0 · controller 2",
    ]


def test_a_degraded_cluster_exits_at_least_1_and_names_its_unwritable_partitions() -> None:
    names = tuple(f"orders-{i}" for i in range(5))
    clusters = {
        "primary": seen(),
        "dr": seen(brokers=1, under_replicated=7, under_min_isr=7, unwritable=names, unwritable_count=7),
    }
    assert health_exit(clusters) == 1
    assert health_lines(clusters)[:2] == [
        "dr DEGRADED  brokers 1/3 · URP 7 · offline 0 · <minISR 7 · controller 2",
        "  7 partitions offline or under min.insync.replicas: "
        "orders-0, orders-1, orders-2, orders-3, orders-4, … +2 more",
    ]
    block = health_json(clusters)["dr"]
    assert (block["state"], block["brokers_up"], block["brokers_expected"], block["under_min_isr"]) == (
        "degraded",
        1,
        3,
        7,
    )
    assert health_exit({"primary": seen(brokers=2), "dr": DOWN}) == 2
    assert [line.split()[0] for line in health_lines({"primary": seen(), "dr": DOWN})] == ["primary"]
