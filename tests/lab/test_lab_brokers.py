"""A lab cluster of one or three brokers, as files and settings (no JVM): ports, the controller quorum,
fault domains, replication defaults, the plan, and what `lab up` refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdrtui.lab.cluster import ClusterSpec, LabCluster
from kdrtui.lab.lab import DR, PRIMARY, Lab, LabError
from kdrtui.services.plan_files import load_plan


def properties(cluster: LabCluster, node: int) -> dict[str, str]:
    """Broker ``node``'s ``server.properties`` as a dict (the lab writes no escapes, no continuations)."""
    text = cluster.broker(node).render_properties("3.9.1")
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def test_three_brokers_take_two_ports_each_and_list_them_all_as_bootstrap() -> None:
    spec = ClusterSpec("dr", "westus2", 29092, 29093, brokers=3)

    assert [spec.node_port(n) for n in (1, 2, 3)] == [29092, 29094, 29096]
    assert spec.ports == [29092, 29093, 29094, 29095, 29096, 29097]
    assert spec.bootstrap == "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"
    assert ClusterSpec("dr", "westus2", 29092, 29093).bootstrap == "127.0.0.1:29092"


def test_each_broker_is_a_voter_in_its_own_fault_domain_with_hdinsight_replication(tmp_path: Path) -> None:
    cluster = LabCluster(ClusterSpec("dr", "westus2", 29092, 29093, brokers=3), tmp_path / "dr")

    second = properties(cluster, 2)
    assert second["node.id"] == "2"
    assert second["controller.quorum.voters"] == "1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"
    assert second["listeners"] == "PLAINTEXT://127.0.0.1:29094,CONTROLLER://127.0.0.1:29095"
    assert second["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29094"
    assert [properties(cluster, n)["broker.rack"] for n in (1, 2, 3)] == ["fd0", "fd1", "fd2"]
    for key, value in {
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
    }.items():
        assert second[key] == value, key
    assert [b.home for b in cluster.brokers] == [tmp_path / "dr" / f"broker-{n}" for n in (1, 2, 3)]
    assert len({b.config_path for b in cluster.brokers}) == 3, "each JVM is found by its own config path"


def test_one_broker_keeps_the_layout_and_settings_of_before(tmp_path: Path) -> None:
    cluster = LabCluster(ClusterSpec("primary", "eastus", 19092, 19093), tmp_path / "primary")

    only = properties(cluster, 1)
    assert cluster.config_path == tmp_path / "primary" / "server.properties"
    assert only["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert (only["default.replication.factor"], only["min.insync.replicas"]) == ("1", "1")
    assert "broker.rack" not in only
    assert cluster.broker(1).name == "primary"
    with pytest.raises(RuntimeError, match=r"primary has 1 broker: no broker 2 \(choose primary:1\)"):
        cluster.broker(2)


def test_the_plan_of_a_three_broker_lab_lists_every_broker_and_three_replicas(tmp_path: Path) -> None:
    lab = Lab(tmp_path, primary_port=19592, dr_port=29592, brokers=3, edge_port=12922)

    lab.home.mkdir(parents=True, exist_ok=True)
    plan = load_plan(lab.write_plan())

    dr = plan.cluster(DR)
    assert dr.bootstrap_servers == ["127.0.0.1:29592", "127.0.0.1:29594", "127.0.0.1:29596"]
    assert (dr.brokers, dr.replication_factor, dr.expected_brokers) == (3, 3, 3)
    assert plan.cluster(PRIMARY).bootstrap.count(",") == 2


def test_overlapping_ranges_and_a_changed_broker_count_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"primary and dr ports overlap: 19092 and 19096 \(\+5 each\)"):
        Lab(tmp_path, primary_port=19092, dr_port=19096, brokers=3)
    with pytest.raises(ValueError, match="--brokers must be 1 or 3, not 2"):
        Lab(tmp_path, brokers=2)

    # A lab formatted with one broker per cluster cannot become a three-broker one in place.
    (tmp_path / "lab.json").write_text(json.dumps({"brokers": 1}))
    meta = tmp_path / "dr" / "data" / "meta.properties"
    meta.parent.mkdir(parents=True)
    meta.write_text("cluster.id=abc\n")
    with pytest.raises(LabError, match=r"set up with --brokers 1; run `kdrtui lab down --purge` first"):
        Lab(tmp_path, brokers=3, primary_port=19692, dr_port=29692, edge_port=12923).up()
    assert Lab(tmp_path).brokers == 1, "remembered"
