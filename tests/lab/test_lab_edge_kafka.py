"""``kdrtui lab up --edge-kafka-version``: the edge node's kafka_home holds another Kafka release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdrtui.lab import jars
from kdrtui.lab.lab import Lab


def test_the_edge_kafka_version_defaults_to_the_clusters_and_is_remembered(tmp_path: Path) -> None:
    home = tmp_path / "lab"
    assert Lab(home).edge_kafka_version == jars.DEFAULT_KAFKA_VERSION
    home.mkdir()
    (home / "lab.json").write_text(json.dumps({"kafka_version": "3.9.1", "edge_kafka_version": "3.2.0"}))
    remembered = Lab(home)
    assert (remembered.kafka_version, remembered.edge_kafka_version) == ("3.9.1", "3.2.0")
    assert remembered.edge.kafka_libs == jars.distribution("3.2.0").libs
    assert Lab(home, edge_kafka_version="3.9.1").edge.kafka_libs == jars.distribution("3.9.1").libs


def test_the_edge_kafka_home_links_the_chosen_release(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab", edge_kafka_version="3.2.0")
    lab.edge.link_kafka_libs()
    assert (lab.edge.kafka_home / "libs").resolve() == jars.distribution("3.2.0").libs.resolve()
    moved = Lab(tmp_path / "lab", edge_kafka_version="3.9.1")
    moved.edge.link_kafka_libs()
    assert (moved.edge.kafka_home / "libs").resolve() == jars.distribution("3.9.1").libs.resolve()


def test_a_bad_edge_kafka_version_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^--edge-kafka-version: not a Kafka release version: '3\.2'"):
        Lab(tmp_path / "lab", edge_kafka_version="3.2")
