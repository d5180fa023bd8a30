"""Replica health from metadata, and a cluster that answers but is DEGRADED (pure)."""

from __future__ import annotations

from kdrtui.domain.health import (
    ClusterObservation,
    ClusterView,
    Reachability,
    advance,
    expect_from_plan,
    health_block,
    state_of,
)
from kdrtui.domain.plan import parse_plan
from kdrtui.domain.replica_health import PartitionReplicas, summarize, topics_to_describe


def part(
    topic: str, n: int, leader: int, replicas: tuple[int, ...], isr: tuple[int, ...]
) -> PartitionReplicas:
    return PartitionReplicas(topic, n, leader, replicas, isr)


def test_a_full_isr_counts_nothing_and_needs_no_min_isr() -> None:
    parts = [part("orders", i, 1 + i % 3, (1, 2, 3), (1, 2, 3)) for i in range(6)]
    assert topics_to_describe(parts) == set()
    summary = summarize(parts, {})
    assert (summary.under_replicated, summary.offline, summary.under_min_isr) == (0, 0, 0)
    assert summary.unwritable == () and summary.replica_brokers == {1, 2, 3}


def test_one_broker_down_is_under_replicated_but_still_writable() -> None:
    parts = [part("orders", i, 1, (1, 2, 3), (1, 2)) for i in range(4)] + [
        part("audit", 0, 2, (2, 3), (2, 3))
    ]
    assert topics_to_describe(parts) == {"orders"}
    summary = summarize(parts, {"orders": 2})
    assert summary.under_replicated == 4 and summary.under_min_isr == 0 and summary.unwritable_count == 0


def test_two_brokers_down_are_under_min_isr_and_named_in_order() -> None:
    parts = [part("orders", i, 1, (1, 2, 3), (1,)) for i in (10, 2, 1, 0, 3, 4, 5)]
    parts.append(part("payments", 0, -1, (2, 3), (3,)))
    summary = summarize(parts, {"orders": 2, "payments": 2})
    assert summary.under_min_isr == 8 and summary.offline == 1
    assert summary.unwritable_count == 8
    assert summary.unwritable == ("orders-0", "orders-1", "orders-2", "orders-3", "orders-4")


def test_an_unreadable_min_isr_is_unknown_not_zero() -> None:
    parts = [part("orders", 0, 1, (1, 2, 3), (1,))]
    assert summarize(parts, None).under_min_isr is None
    assert summarize(parts, {"other": 2}).under_min_isr is None
    assert summarize(parts, {"orders": 1}).under_min_isr == 0


def seen(**kw: object) -> ClusterObservation:
    fields: dict[str, object] = {"brokers": 3, "brokers_expected": 3, "controller_id": 1} | kw
    return ClusterObservation(observed_at=10.0, ok=True, **fields)  # type: ignore[arg-type]


def test_a_missing_broker_or_unwritable_partitions_degrade_a_cluster_that_answers() -> None:
    assert state_of(seen()) is Reachability.UP
    assert state_of(seen(under_replicated=14)) is Reachability.UP  # a slow follower alone is not DEGRADED
    assert state_of(seen(brokers=2, under_replicated=14)) is Reachability.DEGRADED
    assert state_of(seen(offline=1, unwritable_count=1)) is Reachability.DEGRADED
    assert state_of(seen(under_min_isr=3, unwritable_count=3)) is Reachability.DEGRADED
    down = ClusterObservation(observed_at=11.0, ok=False, error="Broker transport failure")
    assert state_of(down) is Reachability.UNREACHABLE
    view = advance(ClusterView("dr"), seen(brokers=2))
    assert view.state is Reachability.DEGRADED and view.unreachable_since is None
    view = advance(view, down)
    assert view.state is Reachability.UNREACHABLE and view.unreachable_since == 11.0
    assert advance(view, seen()).state is Reachability.UP


def test_the_health_line_marks_a_derived_expectation_as_a_lower_bound() -> None:
    derived = seen(brokers=2, expected_source="derived", under_replicated=14, controller_id=1)
    assert derived.health_line() == "brokers 2/≥3 · URP 14 · offline 0 · <minISR 0 · controller 1"
    assert seen(under_min_isr=None, controller_id=None).health_line().endswith("<minISR ? · controller -")


PLAN = """\
[plan]
name = "p"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
bootstrap_servers = ["a:9092"]
brokers = 4

[clusters.dr]
region = "westus2"
bootstrap_servers = ["b:9092"]

[[flows]]
source = "primary"
target = "dr"
topics = ["orders"]
"""


def test_the_plan_s_brokers_replace_the_probe_s_lower_bound() -> None:
    plan = parse_plan(PLAN, "p.toml")
    primary = expect_from_plan(seen(brokers=3), plan.clusters["primary"])
    assert (primary.brokers_expected, primary.expected_source, primary.degraded) == (4, "plan", True)
    dr = expect_from_plan(seen(brokers=3), plan.clusters["dr"])
    assert (dr.brokers_expected, dr.expected_source, dr.degraded) == (3, "derived", False)


def test_the_status_block_of_a_degraded_and_of_an_unreachable_cluster() -> None:
    block = health_block(seen(brokers=2, under_replicated=14, unwritable=("orders-0",), unwritable_count=1))
    assert block == {
        "state": "degraded",
        "brokers_up": 2,
        "brokers_expected": 3,
        "expected_source": "derived",
        "under_replicated": 14,
        "offline": 0,
        "under_min_isr": 0,
        "unwritable": ["orders-0"],
        "controller": 1,
        "metadata": None,
        "error": None,
    }
    down = health_block(ClusterObservation(observed_at=1.0, ok=False, error="no answer"))
    assert down["state"] == "unreachable" and down["brokers_up"] is None and down["error"] == "no answer"
