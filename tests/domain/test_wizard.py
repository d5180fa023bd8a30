"""The wizard's model: answers -> a plan that validates, the plan's own messages per field, resources."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kdrtui.domain import prices
from kdrtui.domain.plan import (
    MirrorMakerKind,
    Naming,
    PlanInvalid,
    SwitchMethod,
    Topology,
    parse_plan,
    plan_to_toml,
)
from kdrtui.domain.wizard import (
    CHOICES,
    FIELD_NAMES,
    FIELDS,
    HELP,
    LABELS,
    STEPS,
    Resource,
    WizardAnswers,
    answers_from_plan,
    build_plan,
    default_subnet,
    errors,
    field_error,
    field_text,
    monthly_cost,
    plan_toml,
    provisioning_steps,
    resources,
    set_field,
    step_errors,
    visible_fields,
)
from kdrtui.services.plan_files import load_plan, write_plan
from tests.samples import PLANS


def answers(**changes: object) -> WizardAnswers:
    return dataclasses.replace(WizardAnswers(), **changes)


# --- the API's shape ----------------------------------------------------------------------------------


SUB = "12345678-1234-1234-1234-123456789abc"


def test_steps_fields_labels_and_help_cover_every_answer() -> None:
    assert STEPS == ("topology", "sites", "clusters", "replication", "objectives", "review")
    assert set(FIELDS) == set(STEPS)
    shown = [name for step in STEPS for name in FIELDS[step]]
    assert len(shown) == len(set(shown))
    assert set(shown) == set(FIELD_NAMES) - {"primary_alias", "secondary_alias"}
    for name in shown:
        assert 0 < len(LABELS[name]) <= 24, name
        assert HELP[name] and "\n" not in HELP[name], name
        assert len(HELP[name]) <= 110, name


def test_the_defaults_are_the_documented_ones() -> None:
    a = WizardAnswers()
    assert a.topology == Topology.COLD_STANDBY
    assert (a.primary_region, a.secondary_region) == ("eastus", "westus2")
    assert (a.primary_vnet_cidr, a.secondary_vnet_cidr) == ("10.0.0.0/16", "10.1.0.0/16")
    assert (a.worker_count, a.worker_vm_size, a.edge_vm_size) == (3, "Standard_D4_v2", "Standard_D3_v2")
    assert (a.schedule_every_minutes, a.schedule_run_minutes, a.schedule_cron) == (60, 15, "")
    assert a.ssh_key_file == "" and a.login_password_env == "KDR_LOGIN_PASSWORD"
    assert errors(a) == {}


def test_visible_fields_follow_the_topology() -> None:
    hot = answers(topology=Topology.HOT_STANDBY)
    assert visible_fields(hot, "replication") == ()
    assert "ssh_key_file" not in visible_fields(hot, "clusters")
    cold = answers(topology=Topology.COLD_STANDBY)
    assert "schedule_every_minutes" in visible_fields(cold, "replication")
    assert "edge_node_count" in visible_fields(cold, "replication")
    active = answers(topology=Topology.ACTIVE_ACTIVE)
    assert "schedule_cron" not in visible_fields(active, "replication")
    assert "topics_include" in visible_fields(active, "replication")
    assert "switch_command" not in visible_fields(cold, "objectives")
    assert "switch_command" in visible_fields(answers(switch_method=SwitchMethod.COMMAND), "objectives")
    assert visible_fields(cold, "review") == ()


def test_choices_are_the_enum_members() -> None:
    assert CHOICES["topology"] == tuple(Topology)
    assert [m.value for m in CHOICES["naming"]] == ["prefixed", "identity"]


# --- each topology makes a plan that validates and round-trips ------------------------------------------


@pytest.mark.parametrize("topology", list(Topology))
def test_each_topology_builds_a_valid_plan_that_round_trips(topology: Topology, tmp_path: Path) -> None:
    a = answers(topology=topology)
    plan = build_plan(a)
    assert plan.plan.topology == topology
    # The text written (with its header comment) reads back to the same plan, as does plan_to_toml's.
    assert parse_plan(plan_toml(a)) == plan
    assert parse_plan(plan_to_toml(plan)) == plan
    # Opening the plan in the wizard gives answers that make the same plan, and the same answers.
    again = answers_from_plan(plan)
    assert build_plan(again) == plan
    assert again == a
    # Written to disk, `kdrtui plan validate` (load_plan) accepts it.
    path = tmp_path / "plan.toml"
    assert write_plan(a, path) == plan
    assert load_plan(path) == plan


def test_a_new_plan_is_one_kdrtui_provisions_and_an_edited_one_keeps_its_azure_table() -> None:
    plan = build_plan(answers(topology=Topology.COLD_STANDBY))
    assert plan.azure is not None and plan.azure.credential == "default"
    assert plan.azure.endpoint == "https://management.azure.com"
    without = load_plan(PLANS / "good.toml")
    assert without.azure is None
    assert build_plan(answers_from_plan(without)).azure is None
    lab = without.model_copy(update={"azure": plan.azure.model_copy(update={"subscription_id": SUB})})
    assert build_plan(answers_from_plan(lab)).azure == lab.azure


def test_hot_standby_mirrors_nothing_and_says_apps_write_to_both() -> None:
    a = answers(topology=Topology.HOT_STANDBY)
    plan = build_plan(a)
    assert plan.flows == [] and plan.edge_nodes == []
    assert "write every record to both clusters" in plan_toml(a)


def test_cold_standby_has_one_scheduled_flow_into_the_secondary() -> None:
    plan = build_plan(answers(schedule_every_minutes=30, schedule_run_minutes=10))
    (flow,) = plan.flows
    assert (flow.source, flow.target) == ("primary", "secondary")
    assert flow.schedule is not None
    assert (flow.schedule.every_minutes, flow.schedule.run_minutes, flow.schedule.cron) == (30, 10, None)
    (node,) = plan.edge_nodes
    assert node.cluster == "secondary"
    assert node.host == "secondary-edge-1.kdr-west-kafka-ssh.azurehdinsight.net"
    assert node.kafka_home == "/usr/hdp/current/kafka-broker"
    assert node.user == "sshuser" and node.key_file is None


def test_cold_standby_with_cron_or_without_schedule() -> None:
    cron = build_plan(answers(schedule_every_minutes=None, schedule_cron="0 * * * *"))
    schedule = cron.flows[0].schedule
    assert schedule is not None and (schedule.cron, schedule.run_minutes) == ("0 * * * *", 15)
    assert answers_from_plan(cron).schedule_cron == "0 * * * *"
    always = build_plan(answers(schedule_every_minutes=None, schedule_run_minutes=None))
    assert always.flows[0].schedule is None
    assert build_plan(answers_from_plan(always)) == always


def test_active_active_mirrors_both_ways_on_both_clusters_edge_nodes() -> None:
    plan = build_plan(answers(topology=Topology.ACTIVE_ACTIVE, edge_node_count=2, ssh_key_file="~/.ssh/k"))
    assert [(f.source, f.target) for f in plan.flows] == [("primary", "secondary"), ("secondary", "primary")]
    assert all(f.naming == Naming.PREFIXED and f.schedule is None for f in plan.flows)
    assert [n.name for n in plan.edge_nodes] == [
        "primary-edge-1",
        "primary-edge-2",
        "secondary-edge-1",
        "secondary-edge-2",
    ]
    assert {n.key_file for n in plan.edge_nodes} == {"~/.ssh/k"}


def test_patterns_are_comma_separated_lists() -> None:
    a = answers(topics_include="orders.*, payments", topics_exclude=".*-internal", groups_include="")
    flow = build_plan(a).flows[0]
    assert (flow.topics, flow.topics_exclude, flow.groups) == (["orders.*", "payments"], [".*-internal"], [])
    assert answers_from_plan(build_plan(a)).topics_include == "orders.*,payments"


def test_no_password_is_ever_written() -> None:
    text = plan_toml(answers(topology=Topology.ACTIVE_ACTIVE))
    assert 'login_password_env = "KDR_LOGIN_PASSWORD"' in text
    assert "password =" not in text


@pytest.mark.parametrize("name", ["good.toml", "hot-standby.toml"])
def test_opening_a_hand_written_plan_keeps_what_the_wizard_does_not_ask(name: str) -> None:
    # Aliases, bootstrap servers, flow tuning, an edge node's own host and jump host, failover settings...
    plan = load_plan(PLANS / name)
    assert build_plan(answers_from_plan(plan)) == plan


def test_an_edited_plan_changes_only_what_was_edited() -> None:
    plan = load_plan(PLANS / "good.toml")
    a = answers_from_plan(plan)
    assert (a.primary_alias, a.secondary_alias) == ("primary", "dr")
    assert (a.worker_count, a.secondary_worker_count) == (3, 4)
    assert set_field(a, "rpo_seconds", "30") is None
    edited = build_plan(a)
    assert edited.objectives.rpo_seconds == 30
    assert edited.model_copy(update={"objectives": plan.objectives}) == plan
    assert edited.edge_nodes[0].host == "10.1.0.20"  # not a generated host: kept


def test_the_secondary_may_be_sized_on_its_own() -> None:
    a = answers(secondary_worker_count=5, secondary_disks_per_node=4)
    secondary = build_plan(a).clusters["secondary"].hdinsight
    assert secondary is not None and (secondary.worker_count, secondary.disks_per_node) == (5, 4)
    workers = [r for r in resources(a) if r.kind == "worker nodes"]
    assert [w.detail for w in workers] == ["3 x Standard_D4_v2", "5 x Standard_D3_v2"]
    assert [r.detail for r in resources(a) if r.kind == "managed disks"][1] == "20 x 1 TiB standard HDD"
    assert answers_from_plan(build_plan(a)) == a
    assert set_field(a, "secondary_worker_count", "2") == "must be at least 3, not 2"
    assert field_error(a, "worker_count") is None
    assert set_field(a, "secondary_worker_count", "") is None
    assert a.secondary_worker_count is None


def test_the_readme_example_opens_and_writes_back_unchanged() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("```toml", readme.index("### Full example")) + len("```toml")
    plan = parse_plan(readme[start : readme.index("```", start)])
    assert build_plan(answers_from_plan(plan)) == plan


# --- the plan's own messages, per field ------------------------------------------------------------------

SAME_SIX = dict(
    secondary_region="eastus",
    secondary_resource_group="kdr-east-rg",
    secondary_vnet_name="kdr-east-vnet",
    secondary_vnet_cidr="10.0.0.0/16",
    secondary_subnet_cidr="10.0.1.0/24",
    secondary_cluster_name="kdr-eastern",
)

BAD_INPUTS: list[tuple[dict[str, object], str, str]] = [
    (
        {"secondary_region": "eastus"},
        "secondary_region",
        "the secondary cluster is in eastus like the primary; choose another region",
    ),
    (
        {"secondary_region": "West US 2"},
        "secondary_region",
        "'West US 2' is written 'westus2' in a plan (lowercase, no spaces)",
    ),
    (
        {"secondary_vnet_cidr": "10.0.128.0/17", "secondary_subnet_cidr": "10.0.128.0/24"},
        "secondary_vnet_cidr",
        "10.0.128.0/17 overlaps 10.0.0.0/16 of cluster 'primary'; peered VNets need distinct address spaces",
    ),
    (
        {"primary_subnet_cidr": "10.2.0.0/24"},
        "primary_subnet_cidr",
        "10.2.0.0/24 is not inside the VNet's address space 10.0.0.0/16",
    ),
    (
        {"primary_vnet_cidr": "10.0.0.1/16"},
        "primary_vnet_cidr",
        "'10.0.0.1/16' has host bits set; did you mean 10.0.0.0/16?",
    ),
    (
        {"primary_cluster_name": "ab"},
        "primary_cluster_name",
        "'ab' is 2 characters; an HDInsight cluster name needs 3 to 59",
    ),
    (
        {"primary_cluster_name": "kdr_east"},
        "primary_cluster_name",
        "'kdr_east' may contain only letters, digits and hyphens",
    ),
    (
        {"secondary_cluster_name": "kdr-east-kafka"},
        "secondary_cluster_name",
        "'kdr-east-kafka' is already the name of cluster 'primary'; HDInsight names are globally unique",
    ),
    (
        SAME_SIX,
        "secondary_cluster_name",
        "'kdr-eastern' starts with the same six characters ('kdr-ea') as 'kdr-east-kafka' of cluster "
        "'primary' in the same VNet; their node names (wn0-kdr-ea...) would clash",
    ),
    ({"worker_count": 2}, "worker_count", "must be at least 3, not 2"),
    ({"disks_per_node": 0}, "disks_per_node", "must be at least 1, not 0"),
    (
        {"primary_storage_account": "KdrEast"},
        "primary_storage_account",
        "'KdrEast' may contain only lowercase letters and digits",
    ),
    (
        {"secondary_storage_account": "kdreaststore"},
        "secondary_storage_account",
        "'kdreaststore' is already the storage account of cluster 'primary'; each cluster needs its own",
    ),
    (
        {"ssh_user": "admin"},
        "ssh_user",
        "'admin' is a reserved user name on HDInsight; choose another, e.g. 'sshuser'",
    ),
    (
        {"login_password_env": "1PASS"},
        "login_password_env",
        "'1PASS' is not an environment variable name (letters, digits and '_', not starting with a digit)",
    ),
    (
        {"worker_vm_size": "D4_v2"},
        "worker_vm_size",
        "'D4_v2' is not an Azure VM size like Standard_D4_v2",
    ),
    (
        {"topology": Topology.ACTIVE_ACTIVE, "naming": Naming.IDENTITY},
        "naming",
        'active-active needs naming = "prefixed" on every flow: '
        "identity naming cannot stop records looping between the clusters",
    ),
    (
        {"mirrormaker": MirrorMakerKind.MM1},
        "naming",
        'MirrorMaker 1 keeps topic names: use naming = "identity" with mirrormaker = "mm1"',
    ),
    (
        {"topics_include": "orders["},
        "topics_include",
        "'orders[' is not a valid regular expression: unterminated character set at position 6",
    ),
    (
        {"schedule_run_minutes": 60},
        "schedule_run_minutes",
        "run_minutes (60) must be less than every_minutes (60)",
    ),
    (
        {"schedule_cron": "0 * * * *"},
        "schedule_cron",
        "give every_minutes or cron, not both",
    ),
    (
        {"lag_warn_seconds": 120},
        "lag_warn_seconds",
        "120 must be less than lag_crit_seconds (120)",
    ),
    (
        {"switch_method": SwitchMethod.COMMAND},
        "switch_command",
        'required when method = "command": the shell command that points clients elsewhere',
    ),
    (
        {"plan_name": ""},
        "plan_name",
        "'' is 0 characters; a plan name needs 1 to 64",
    ),
]


@pytest.mark.parametrize(("changes", "name", "message"), BAD_INPUTS, ids=[c[1] for c in BAD_INPUTS])
def test_each_bad_input_gets_the_plans_own_message(
    changes: dict[str, object], name: str, message: str
) -> None:
    a = answers(**changes)
    assert field_error(a, name) == message
    step = next(step for step in STEPS if name in FIELDS[step])
    assert step_errors(a, step)[name] == message
    assert step_errors(a, "review")[name] == message
    with pytest.raises(PlanInvalid) as caught:
        build_plan(a)
    assert (name, message) in [(p.field, p.message) for p in caught.value.problems]


def test_build_plan_lists_every_problem_by_wizard_field() -> None:
    a = answers(secondary_region="eastus", worker_count=2, primary_cluster_name="ab")
    with pytest.raises(PlanInvalid) as caught:
        build_plan(a)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["secondary_region", "primary_cluster_name", "worker_count"]
    assert all(p.line == 0 for p in caught.value.problems)


def test_a_field_the_topology_hides_raises_nothing() -> None:
    a = answers(topology=Topology.HOT_STANDBY, naming=Naming.IDENTITY, schedule_run_minutes=999)
    assert errors(a) == {}
    assert set_field(a, "edge_node_count", "lots") == "must be a whole number, not 'lots'"
    assert errors(a) == {}  # not shown, not in the plan: nothing to fix
    assert step_errors(a, "replication") == {}


# --- set_field ---------------------------------------------------------------------------------------


def test_set_field_parses_numbers_and_reports_non_numbers() -> None:
    a = WizardAnswers()
    assert set_field(a, "worker_count", " 5 ") is None
    assert a.worker_count == 5
    assert set_field(a, "worker_count", "5x") == "must be a whole number, not '5x'"
    assert a.worker_count == 5  # the last good value stays
    assert field_error(a, "worker_count") == "must be a whole number, not '5x'"
    assert set_field(a, "worker_count", "") == "must be a whole number, not nothing"
    assert set_field(a, "worker_count", "2") == "must be at least 3, not 2"
    assert a.worker_count == 2
    assert set_field(a, "worker_count", "4") is None
    assert field_error(a, "worker_count") is None


def test_set_field_optional_numbers_may_be_empty() -> None:
    a = WizardAnswers()
    assert set_field(a, "schedule_every_minutes", "") == "give every_minutes (with run_minutes) or cron"
    assert a.schedule_every_minutes is None
    assert set_field(a, "schedule_cron", "30 * * * *") is None
    assert errors(a) == {}
    assert field_text(a, "schedule_every_minutes") == ""


def test_set_field_enums_and_text() -> None:
    a = WizardAnswers()
    assert set_field(a, "topology", "active-active") is None
    assert a.topology is Topology.ACTIVE_ACTIVE
    assert set_field(a, "topology", "warm") == (
        "must be one of hot-standby, cold-standby, active-active, not 'warm'"
    )
    assert a.topology is Topology.ACTIVE_ACTIVE
    assert set_field(a, "naming", "identity") == (
        'active-active needs naming = "prefixed" on every flow: '
        "identity naming cannot stop records looping between the clusters"
    )
    assert set_field(a, "primary_cluster_name", " kdr-east2 ") is None
    assert a.primary_cluster_name == "kdr-east2"
    assert field_text(a, "topology") == "active-active"
    assert field_text(a, "worker_count") == "3"
    with pytest.raises(KeyError):
        set_field(a, "nonsense", "1")


def test_default_subnet_is_the_first_slash_24() -> None:
    assert default_subnet("10.5.0.0/16") == "10.5.0.0/24"
    assert default_subnet("10.5.0.0/26") == "10.5.0.0/26"
    assert default_subnet("nope") is None


# --- resources, cost, steps ------------------------------------------------------------------------------


def _kinds(found: list[Resource]) -> list[str]:
    return [r.kind for r in found]


@pytest.mark.parametrize(
    ("topology", "edge_nodes"),
    [(Topology.HOT_STANDBY, 0), (Topology.COLD_STANDBY, 1), (Topology.ACTIVE_ACTIVE, 2)],
)
def test_resources_for_each_topology(topology: Topology, edge_nodes: int) -> None:
    found = resources(answers(topology=topology))
    kinds = _kinds(found)
    assert kinds.count("resource group") == 2
    assert kinds.count("storage account") == 2
    assert kinds.count("virtual network") == 2 and kinds.count("subnet") == 2
    assert kinds.count("VNet peering") == 2
    assert kinds.count("HDInsight Kafka cluster") == 2
    assert kinds.count("worker nodes") == 2 and kinds.count("managed disks") == 2
    assert kinds.count("edge node") == edge_nodes
    workers = next(r for r in found if r.kind == "worker nodes")
    assert workers.detail == "3 x Standard_D4_v2"
    assert workers.monthly_usd == pytest.approx(3 * 730 * (0.585 + 8 * 0.04))
    disks = next(r for r in found if r.kind == "managed disks")
    assert disks.detail == "6 x 1 TiB standard HDD"
    peering = next(r for r in found if r.kind == "VNet peering")
    assert peering.monthly_usd is None and "traffic not estimated" in peering.detail


@pytest.mark.parametrize("topology", list(Topology))
def test_monthly_cost_sums_the_priced_resources_and_names_the_table_date(topology: Topology) -> None:
    a = answers(topology=topology)
    total, dated = monthly_cost(a)
    assert dated == prices.PRICE_TABLE_DATE == "2026-11-01"
    assert total == pytest.approx(sum(r.monthly_usd or 0.0 for r in resources(a)), abs=0.01)
    full = prices.monthly_cost("Standard_D4_v2", 3, "Standard_E4_v3", "Standard_A4_v2", 2)
    small = prices.monthly_cost("Standard_D3_v2", 3, "Standard_E4_v3", "Standard_A4_v2", 2)
    assert full is not None and small is not None
    # A cold standby's DR cluster is idle but for the batches: smaller brokers unless chosen otherwise.
    secondary = small if topology == Topology.COLD_STANDBY else full
    edge = {Topology.HOT_STANDBY: 0, Topology.COLD_STANDBY: 1, Topology.ACTIVE_ACTIVE: 2}[topology]
    edge_cost = edge * (prices.nodes_monthly("Standard_D3_v2", 1) or 0.0)
    assert total == pytest.approx(full + secondary + edge_cost, abs=0.05)


def test_the_cold_standby_is_the_cheapest_unless_its_dr_cluster_is_fully_sized() -> None:
    cost = {t: monthly_cost(answers(topology=t))[0] for t in Topology}
    assert cost[Topology.COLD_STANDBY] < cost[Topology.HOT_STANDBY] < cost[Topology.ACTIVE_ACTIVE]
    full = answers(secondary_worker_vm_size="Standard_D4_v2")
    assert monthly_cost(full)[0] > cost[Topology.HOT_STANDBY]
    assert build_plan(full).clusters["secondary"].hdinsight.worker_vm_size == "Standard_D4_v2"  # type: ignore[union-attr]
    assert answers_from_plan(build_plan(full)).secondary_worker_vm_size == "Standard_D4_v2"
    assert answers_from_plan(build_plan(WizardAnswers())).secondary_worker_vm_size == ""


def test_each_cluster_may_name_its_own_password_variable() -> None:
    a = answers(secondary_login_password_env="KDR_DR_PASSWORD")
    plan = build_plan(a)
    assert [c.hdinsight.login_password_env for c in plan.clusters.values()] == [  # type: ignore[union-attr]
        "KDR_LOGIN_PASSWORD",
        "KDR_DR_PASSWORD",
    ]
    assert answers_from_plan(plan) == a
    bad = answers(secondary_login_password_env="9X")
    assert field_error(bad, "secondary_login_password_env") == (
        "'9X' is not an environment variable name (letters, digits and '_', not starting with a digit)"
    )
    assert field_error(bad, "login_password_env") is None


def test_cost_grows_with_workers_and_skips_unknown_sizes() -> None:
    small, _ = monthly_cost(WizardAnswers())
    big, _ = monthly_cost(answers(worker_count=6))
    assert big > small
    odd = resources(answers(worker_vm_size="Standard_Z99_v9"))
    assert next(r for r in odd if r.kind == "worker nodes").monthly_usd is None
    assert prices.node_hourly("standard_d4_v2") == prices.node_hourly("Standard_D4_v2")


def test_the_price_table_knows_the_defaults_and_says_where_it_comes_from() -> None:
    a = WizardAnswers()
    for size in (a.worker_vm_size, a.head_vm_size, a.zookeeper_vm_size, a.edge_vm_size, "Standard_D4a_v4"):
        price = prices.node_price(size)
        assert price is not None and price.hdinsight_hourly > 0, size
    assert "pricing calculator" in prices.SOURCE and "HDInsight" in prices.SOURCE


@pytest.mark.parametrize("topology", list(Topology))
def test_provisioning_steps_in_order(topology: Topology) -> None:
    steps = provisioning_steps(answers(topology=topology))
    text = "\n".join(steps)

    def at(words: str) -> int:
        return next(n for n, step in enumerate(steps) if words in step)

    assert at("resource group") < at("storage account") < at("Create VNet") < at("Peer") < at("in parallel")
    assert "Connected" in steps[at("Peer")]
    assert "kdr-east-kafka" in steps[at("in parallel")] and "kdr-west-kafka" in steps[at("in parallel")]
    assert at("in parallel") < at("Ambari") < at("bootstrap_servers")
    ambari = steps[at("Ambari")]
    assert "advertise" in ambari and "0.0.0.0:9092" in ambari and "restart" in ambari
    if topology == Topology.HOT_STANDBY:
        assert "MirrorMaker" not in text and "edge node" not in text
    else:
        assert at("edge node") < at("Ambari")
        assert at("bootstrap_servers") < at("MirrorMaker")
        assert steps[-1].startswith("Deploy MirrorMaker")
    assert "Spark" not in text


# --- the plan rule the wizard relies on ---------------------------------------------------------------

SCHEDULED = """\
[plan]
name = "p"
topology = "TOPOLOGY"

[clusters.a]
region = "eastus"

[clusters.b]
region = "westus2"

[[flows]]
source = "a"
target = "b"

[flows.schedule]
every_minutes = 60
run_minutes = 15

[[flows]]
source = "b"
target = "a"
"""


def test_a_schedule_is_only_allowed_in_a_cold_standby_plan() -> None:
    parse_plan(SCHEDULED.replace("TOPOLOGY", "cold-standby"))
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(SCHEDULED.replace("TOPOLOGY", "active-active"), "p.toml")
    (problem,) = caught.value.problems
    assert str(problem) == (
        'p.toml:15: flows[0].schedule: topology "active-active" mirrors all the time (or not at all); '
        "only a cold-standby plan runs MirrorMaker in scheduled batches: remove [flows.schedule] or "
        'choose topology "cold-standby"'
    )


def test_opening_a_plan_of_plain_brokers_describes_hdinsight_clusters() -> None:
    """The lab's plan has single-broker clusters (replication factor 1, no [hdinsight]): the wizard's
    HDInsight clusters do not inherit those broker settings, so every step is clean."""
    from kdrtui.domain.plan import parse_plan
    from kdrtui.domain.wizard import STEPS, answers_from_plan, build_plan, step_errors

    lab_like = parse_plan(
        '[plan]\nname = "kdrtui-lab"\ntopology = "cold-standby"\n'
        '[clusters.primary]\nregion = "eastus"\nbootstrap_servers = ["127.0.0.1:19092"]\n'
        'replication_factor = 1\nkafka_version = "3.9"\n'
        '[clusters.dr]\nregion = "westus2"\nbootstrap_servers = ["127.0.0.1:29092"]\nreplication_factor = 1\n'
        '[[flows]]\nsource = "primary"\ntarget = "dr"\n'
    )
    answers = answers_from_plan(lab_like)
    assert {step: step_errors(answers, step) for step in STEPS} == {step: {} for step in STEPS}
    plan = build_plan(answers)
    assert plan.clusters["primary"].replication_factor == 3
    assert plan.clusters["primary"].bootstrap_servers == ["127.0.0.1:19092"]
