"""``lab up --azure`` rewrites the lab-azure plan but keeps what ``kdrtui provision`` wrote into it."""

from __future__ import annotations

from pathlib import Path

from kdrtui.lab.azure import plan as azure_plan
from kdrtui.services.plan_files import load_plan


def _render(home: Path) -> dict[str, object]:
    return azure_plan.render(home, port=18999, port_base=19992, edge_port_base=12992, kafka_version="3.9.1")


def test_a_fresh_plan_has_no_bootstrap_servers(tmp_path: Path) -> None:
    path = azure_plan.write(tmp_path / "plan.toml", _render(tmp_path))
    plan = load_plan(path)
    assert [c.bootstrap_servers for c in plan.clusters.values()] == [[], []]
    assert plan.edge_nodes[0].host == "dr-edge-1.kdrlab-dr-ssh.azurehdinsight.net"


def test_rewriting_keeps_provisioned_endpoints(tmp_path: Path) -> None:
    path = azure_plan.write(tmp_path / "plan.toml", _render(tmp_path))
    text = path.read_text(encoding="utf-8")
    # What the provisioner's bootstrap step writes.
    text = text.replace("bootstrap_servers = []", 'bootstrap_servers = ["127.0.0.1:19992"]', 1)
    text = text.replace(
        'host = "dr-edge-1.kdrlab-dr-ssh.azurehdinsight.net"\nport = 22', 'host = "127.0.0.1"\nport = 12992'
    )
    path.write_text(text, encoding="utf-8")

    azure_plan.write(path, _render(tmp_path))

    plan = load_plan(path)
    assert plan.clusters["primary"].bootstrap_servers == ["127.0.0.1:19992"]
    assert plan.clusters["dr"].bootstrap_servers == []
    assert (plan.edge_nodes[0].host, plan.edge_nodes[0].port) == ("127.0.0.1", 12992)


def test_an_unreadable_old_plan_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text("this is [not toml", encoding="utf-8")
    azure_plan.write(path, _render(tmp_path))
    assert load_plan(path).plan.name == "kdrtui-lab-azure"
