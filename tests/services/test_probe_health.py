"""The probe's mapping from a cluster's metadata to its health (fake metadata, no Kafka)."""

from __future__ import annotations

from kdrtui.domain.health import Reachability, health_block, state_of
from kdrtui.services.kafka.probe import KafkaClusterProbe
from tests.services.fakes import FakeHealthAdmin, FakeMetadata, FakePartition, FakeTopic


def orders(isr: list[int], leader: int = 1, count: int = 3) -> FakeTopic:
    return FakeTopic("orders", [FakePartition(i, leader, [1, 2, 3], isr) for i in range(count)])


def offsets() -> FakeTopic:
    return FakeTopic("__consumer_offsets", [FakePartition(0, 1, [1, 2, 3], [1, 2, 3])])


def probe(metadata: FakeMetadata, min_isr: dict[str, int]) -> tuple[KafkaClusterProbe, FakeHealthAdmin]:
    admin = FakeHealthAdmin(metadata, min_isr)
    return KafkaClusterProbe("fake:9092", admin=admin), admin


def test_a_healthy_cluster_describes_no_config() -> None:
    client, admin = probe(FakeMetadata([1, 2, 3], [orders([1, 2, 3]), offsets()]), {})
    seen = client.observe()
    assert seen.ok and state_of(seen) is Reachability.UP
    assert (seen.brokers, seen.brokers_expected, seen.expected_source) == (3, 3, "derived")
    assert (seen.topics, seen.controller_id, seen.under_replicated, seen.under_min_isr) == (1, 1, 0, 0)
    assert admin.described == []


def test_a_broker_missing_from_the_metadata_but_named_by_replicas_degrades_the_cluster() -> None:
    client, admin = probe(FakeMetadata([1, 2], [orders([1, 2]), offsets()]), {"orders": 2})
    seen = client.observe()
    assert state_of(seen) is Reachability.DEGRADED
    assert (seen.brokers, seen.brokers_expected, seen.missing_brokers) == (2, 3, 1)
    assert (seen.under_replicated, seen.offline, seen.under_min_isr, seen.unwritable) == (3, 0, 0, ())
    assert admin.described == ["orders"]


def test_min_isr_is_remembered_and_partitions_below_it_are_named() -> None:
    client, admin = probe(FakeMetadata([1], [orders([1]), offsets()], controller_id=1), {"orders": 2})
    first = client.observe()
    assert first.under_min_isr == 3 and first.unwritable == ("orders-0", "orders-1", "orders-2")
    client.observe()
    assert admin.described == ["orders"]  # the second probe used the remembered value


def test_an_offline_partition_and_an_unreadable_min_isr() -> None:
    topic = FakeTopic("payments", [FakePartition(0, -1, [2, 3], [3]), FakePartition(1, 1, [1, 2], [1])])
    client, _ = probe(FakeMetadata([1], [topic], controller_id=-1), {})
    seen = client.observe()
    assert (seen.offline, seen.under_min_isr, seen.controller_id) == (1, None, None)
    assert seen.unwritable == ("payments-0",) and seen.brokers_expected == 3
    assert state_of(seen) is Reachability.DEGRADED


def test_on_kraft_the_metadata_controller_is_not_shown_as_the_active_one() -> None:
    metadata = FakeMetadata([1, 2, 3], [orders([1, 2, 3])], controller_id=2)
    kraft = FakeHealthAdmin(metadata, {}, "broker,controller")
    seen = KafkaClusterProbe("fake:9092", admin=kraft).observe()
    assert seen.kraft is True and seen.controller_text() == "KRaft"
    assert seen.health_line().endswith("controller KRaft")
    assert health_block(seen)["controller"] is None and health_block(seen)["metadata"] == "kraft"

    zookeeper = FakeHealthAdmin(FakeMetadata([1, 2, 3], [orders([1, 2, 3])], controller_id=2), {}, "")
    seen = KafkaClusterProbe("fake:9092", admin=zookeeper).observe()
    assert seen.kraft is False and seen.controller_text() == "2"
    assert health_block(seen)["controller"] == 2 and health_block(seen)["metadata"] == "zookeeper"


def test_an_unreadable_mode_is_asked_again_later_and_shows_the_metadata_controller() -> None:
    admin = FakeHealthAdmin(FakeMetadata([1], [orders([1], count=1)], controller_id=1), {}, None)
    client = KafkaClusterProbe("fake:9092", admin=admin)
    seen = client.observe()
    assert seen.kraft is None and seen.controller_text() == "1"
    admin.process_roles = "broker"
    assert client.observe().kraft is None, "not asked again at once"
