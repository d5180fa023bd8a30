"""The DR plan the lab writes: the agreed TOML shape, and accepted by kdrtui's own plan loader."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kdrtui.lab.lab import Lab

EXPECTED_FLOW = {
    "source": "primary",
    "target": "dr",
    "topics": [".*"],
    "topics_exclude": ["__.*", "mm2-.*", ".*[.]internal", "heartbeats", ".*[.]heartbeats"],
    "groups": [".*"],
    "naming": "prefixed",
    "mirrormaker": "mm2",
    "refresh_seconds": 5,
    "emit_checkpoints_seconds": 5,
    "flush_seconds": 2,
}


def test_plan_file_has_the_agreed_shape(tmp_path: Path) -> None:
    lab = Lab(tmp_path, primary_port=21092, dr_port=22092)

    data = tomllib.loads(lab.write_plan().read_text())

    assert data["plan"] == {
        "name": "kdrtui-lab",
        "topology": "cold-standby",
        "primary": "primary",
        "secondary": "dr",
    }
    assert data["clusters"]["primary"] == {
        "region": "eastus",
        "resource_group": "kdrtui-lab-eastus",
        "vnet_name": "kdrtui-lab-eastus-vnet",
        "vnet_cidr": "10.0.0.0/16",
        "subnet_cidr": "10.0.0.0/24",
        "bootstrap_servers": ["127.0.0.1:21092"],
        "kafka_version": "3.9.1",
        "brokers": 1,
        "replication_factor": 1,
    }
    assert data["clusters"]["dr"] == {
        "region": "westus2",
        "resource_group": "kdrtui-lab-westus2",
        "vnet_name": "kdrtui-lab-westus2-vnet",
        "vnet_cidr": "10.1.0.0/16",
        "subnet_cidr": "10.1.0.0/24",
        "bootstrap_servers": ["127.0.0.1:22092"],
        "kafka_version": "3.9.1",
        "brokers": 1,
        "replication_factor": 1,
    }
    assert data["flows"] == [EXPECTED_FLOW]
    assert data["objectives"] == {
        "rpo_seconds": 60,
        "rto_seconds": 600,
        "lag_warn_seconds": 30,
        "lag_crit_seconds": 120,
    }
    assert data["switch"] == {"method": "none"}


def test_constructing_a_lab_writes_nothing(tmp_path: Path) -> None:
    Lab(tmp_path / "lab")
    assert not (tmp_path / "lab").exists()


@pytest.mark.lab
def test_session_lab_plan_is_accepted_by_load_plan(lab: Lab) -> None:
    plan_module = pytest.importorskip("kdrtui.services.plan_files")

    plan = plan_module.load_plan(lab.plan_path)

    assert plan.cluster("primary").bootstrap_servers == [lab.bootstrap("primary")]
    assert plan.cluster("dr").bootstrap_servers == [lab.bootstrap("dr")]
    assert plan.cluster("dr").region == "westus2"


def test_an_automation_table_added_to_the_plan_survives_the_next_up(tmp_path: Path) -> None:
    from kdrtui.services.plan_files import load_plan

    lab = Lab(tmp_path, primary_port=21092, dr_port=22092)
    path = lab.write_plan()
    path.write_text(
        path.read_text() + '\n[automation]\nenabled = true\nmode = "advise"\nvantage_points = ["kdrtui"]\n'
    )
    lab.write_plan()  # what the next `kdrtui lab up` does
    plan = load_plan(path)
    assert plan.automation.enabled and plan.automation.vantage_points == ["kdrtui"]
    path.write_text(path.read_text().replace("\n[automation]", "\n[automation]\nbroken = ["))  # bad TOML
    lab.write_plan()  # what cannot be read is not kept, and the lab's plan is whole again
    assert "automation" not in tomllib.loads(path.read_text())
    assert load_plan(path).automation.enabled is False
