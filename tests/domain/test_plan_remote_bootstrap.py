"""Clusters' ``remote_bootstrap_servers``: validation, ``Plan.seen_from`` (``KDRTUI_REGION``), and
MirrorMaker configurations that reach another region's cluster through them. Pure: no Kafka."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdrtui.domain.mirrormaker_render import render_mm1, render_mm2_properties
from kdrtui.domain.plan import EdgeNode, Plan, PlanInvalid, parse_plan
from kdrtui.services.kafka.security import security_of
from kdrtui.services.plan_files import REGION_ENV, load_plan
from tests.samples import GOOD

PRIMARY_REMOTE = ["127.0.0.1:41123", "127.0.0.1:41125"]
DR_REMOTE = ["127.0.0.1:41223"]
PRIMARY_LOCAL = "10.0.0.11:9092,10.0.0.12:9092,10.0.0.13:9092"
DR_LOCAL = "10.1.0.11:9092,10.1.0.12:9092,10.1.0.13:9092"


def _with_remote(text: str) -> str:
    text = text.replace(
        'bootstrap_servers = ["10.0.0.11:9092", "10.0.0.12:9092", "10.0.0.13:9092"]\n',
        'bootstrap_servers = ["10.0.0.11:9092", "10.0.0.12:9092", "10.0.0.13:9092"]\n'
        'remote_bootstrap_servers = ["127.0.0.1:41123", "127.0.0.1:41125"]\n',
    )
    return text.replace(
        'bootstrap_servers = "10.1.0.11:9092,10.1.0.12:9092,10.1.0.13:9092"\n',
        'bootstrap_servers = "10.1.0.11:9092,10.1.0.12:9092,10.1.0.13:9092"\n'
        'remote_bootstrap_servers = "127.0.0.1:41223"\n',
    )


@pytest.fixture(name="plan")
def plan_fixture() -> Plan:
    return parse_plan(_with_remote(GOOD.read_text(encoding="utf-8")))


def test_remote_bootstrap_servers_are_optional_and_parsed_like_bootstrap_servers(plan: Plan) -> None:
    assert plan.cluster("primary").remote_bootstrap_servers == PRIMARY_REMOTE
    assert plan.cluster("dr").remote_bootstrap_servers == DR_REMOTE  # a comma-separated string splits
    assert parse_plan(GOOD.read_text(encoding="utf-8")).cluster("dr").remote_bootstrap_servers == []


def test_a_bad_remote_address_names_the_key() -> None:
    text = _with_remote(GOOD.read_text(encoding="utf-8")).replace("127.0.0.1:41223", "no port here")
    with pytest.raises(PlanInvalid) as info:
        parse_plan(text)
    assert "remote_bootstrap_servers" in str(info.value)


def test_seen_from_a_region_uses_the_other_regions_remote_addresses(plan: Plan) -> None:
    seen = plan.seen_from("westus2")
    assert seen.cluster("primary").bootstrap == ",".join(PRIMARY_REMOTE)
    assert seen.cluster("dr").bootstrap == DR_LOCAL
    # A cluster's alias stands for its region; the original plan is untouched.
    assert plan.seen_from("primary").cluster("dr").bootstrap == ",".join(DR_REMOTE)
    assert plan.seen_from("primary").cluster("primary").bootstrap == PRIMARY_LOCAL
    assert plan.cluster("primary").bootstrap == PRIMARY_LOCAL
    # A third region reaches both through their remote addresses.
    far = plan.seen_from("northeurope")
    assert (far.cluster("primary").bootstrap, far.cluster("dr").bootstrap) == (
        ",".join(PRIMARY_REMOTE),
        ",".join(DR_REMOTE),
    )


def test_seen_from_without_remote_addresses_changes_nothing() -> None:
    plan = parse_plan(GOOD.read_text(encoding="utf-8"))
    assert plan.seen_from("westus2") == plan


def test_a_seen_plan_still_knows_each_clusters_own_addresses(plan: Plan) -> None:
    # MirrorMaker on dr's edge node, rendered in a console that sits in eastus: dr stays local to it.
    seen = plan.seen_from("eastus")
    assert seen.cluster("dr").bootstrap == ",".join(DR_REMOTE)
    assert seen.cluster("dr").bootstrap_from("westus2") == DR_LOCAL
    assert seen.cluster("primary").bootstrap_from("westus2") == ",".join(PRIMARY_REMOTE)


def test_kdrtui_region_makes_loaded_plans_reach_other_regions_remotely(
    plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "plan.toml"
    text = _with_remote(GOOD.read_text(encoding="utf-8"))
    ca = tmp_path / "ca.pem"
    ca.write_text("not really a CA\n", encoding="utf-8")
    path.write_text(
        text + f'\n[clusters.primary.security]\nprotocol = "SSL"\nca_file = "{ca}"\n', encoding="utf-8"
    )
    monkeypatch.delenv(REGION_ENV, raising=False)
    assert load_plan(path).cluster("primary").bootstrap == PRIMARY_LOCAL
    monkeypatch.setenv(REGION_ENV, "dr")
    loaded = load_plan(path)
    assert loaded.cluster("primary").bootstrap == ",".join(PRIMARY_REMOTE)
    assert loaded.cluster("dr").bootstrap == DR_LOCAL
    # The security registry is keyed by the addresses the clients will use.
    found = security_of(",".join(PRIMARY_REMOTE))
    assert found is not None and found[0] == "primary"


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_mm2_on_the_targets_edge_node_reads_the_source_through_its_remote_addresses(plan: Plan) -> None:
    props = _properties(render_mm2_properties(plan, "dr"))
    assert props["primary.bootstrap.servers"] == ",".join(sorted(PRIMARY_REMOTE))
    assert props["dr.bootstrap.servers"] == DR_LOCAL
    # Seen from anywhere, the file is the same: it is about where MirrorMaker runs.
    assert render_mm2_properties(plan.seen_from("eastus"), "dr") == render_mm2_properties(plan, "dr")
    # Without remote addresses (Azure): the bootstrap servers, as before.
    plain = _properties(render_mm2_properties(parse_plan(GOOD.read_text(encoding="utf-8")), "dr"))
    assert plain["primary.bootstrap.servers"] == PRIMARY_LOCAL


def test_mm2_on_an_edge_node_of_another_cluster_reaches_the_target_remotely(plan: Plan) -> None:
    node = EdgeNode(name="primary-edge-1", cluster="primary", host="10.0.0.20", user="u", kafka_home="/opt/k")
    nodes = [*plan.edge_nodes, node]
    props = _properties(render_mm2_properties(plan.model_copy(update={"edge_nodes": nodes}), "dr", node=node))
    assert props["primary.bootstrap.servers"] == PRIMARY_LOCAL
    assert props["dr.bootstrap.servers"] == ",".join(DR_REMOTE)


def test_mm1_reads_the_source_remotely_and_writes_the_target_locally(plan: Plan) -> None:
    flow = plan.flows[0].model_copy(update={"mirrormaker": "mm1"})
    config = render_mm1(plan.model_copy(update={"flows": [flow]}), flow)
    assert config.consumer_properties["bootstrap.servers"] == ",".join(sorted(PRIMARY_REMOTE))
    assert config.producer_properties["bootstrap.servers"] == DR_LOCAL
