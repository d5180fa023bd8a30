"""The DR plan file: loading, every validation rule (message and line), round trip, the command."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from kdrtui.commands.plan import plan_group
from kdrtui.domain.plan import (
    ClientSwitch,
    Cluster,
    EdgeNode,
    FailoverSettings,
    HDInsightCluster,
    MirrorFlow,
    MirrorMakerKind,
    Naming,
    Objectives,
    Plan,
    PlanInfo,
    PlanInvalid,
    PlanProblem,
    Schedule,
    Topology,
    parse_plan,
    plan_problems,
    plan_to_toml,
    summarize,
)
from kdrtui.domain.security import ClusterSecurity
from kdrtui.services.plan_files import load_plan, save_plan
from tests.samples import GOOD, HOT

DOCS = Path(__file__).parents[2] / "README.md"

# The smallest valid plan; the bad plans below edit it line for line, so line numbers stay put.
BASE = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
vnet_cidr = "10.0.0.0/16"

[clusters.dr]
region = "westus2"
vnet_cidr = "10.1.0.0/16"

[[flows]]
source = "primary"
target = "dr"
"""

# Two provisioned clusters; each bad plan below changes a line or two of it.
HDI = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
resource_group = "kdr-eastus-rg"
vnet_name = "kdr-eastus-vnet"
vnet_cidr = "10.0.0.0/16"
subnet_cidr = "10.0.0.0/24"

[clusters.primary.hdinsight]
name = "kdr-east-kafka"
storage_account = "kdreaststore"
login_password_env = "KDR_PRIMARY_LOGIN_PASSWORD"

[clusters.dr]
region = "westus2"
resource_group = "kdr-westus2-rg"
vnet_name = "kdr-westus2-vnet"
vnet_cidr = "10.1.0.0/16"
subnet_cidr = "10.1.0.0/24"

[clusters.dr.hdinsight]
name = "kdr-west-kafka"
storage_account = "kdrweststore"
login_password_env = "KDR_DR_LOGIN_PASSWORD"

[[flows]]
source = "primary"
target = "dr"
"""

Expected = list[tuple[int, str, str]]


def edit(base: str, *changes: tuple[str, str], append: str = "") -> str:
    """Replace each ``old`` (which must occur exactly once) with ``new``, then append text."""
    text = base
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text + textwrap.dedent(append)


def problems_of(text: str) -> Expected:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(text, "p.toml")
    assert caught.value.path == "p.toml"
    return [(p.line, p.field, p.message) for p in caught.value.problems]


# --- good plans -------------------------------------------------------------------------------------


def test_good_plan_loads_with_every_section() -> None:
    plan = load_plan(GOOD)
    assert plan.plan.name == "orders-dr"
    assert plan.plan.topology is Topology.COLD_STANDBY
    assert list(plan.clusters) == ["primary", "dr"]
    assert (plan.primary_alias, plan.secondary_alias) == ("primary", "dr")
    primary = plan.cluster("primary")
    assert primary.region == "eastus"
    assert primary.hdinsight is not None and primary.hdinsight.name == "kdr-east-kafka"
    assert primary.bootstrap == "10.0.0.11:9092,10.0.0.12:9092,10.0.0.13:9092"
    # A comma-separated string is accepted for bootstrap_servers.
    assert plan.cluster("dr").bootstrap_servers == ["10.1.0.11:9092", "10.1.0.12:9092", "10.1.0.13:9092"]
    dr_hdi = plan.cluster("dr").hdinsight
    assert dr_hdi is not None
    assert (dr_hdi.worker_count, dr_hdi.worker_vm_size, dr_hdi.ssh_user) == (4, "Standard_D4_v2", "sshuser")
    assert [node.name for node in plan.edge_nodes_for("dr")] == ["dr-edge-1"]
    assert plan.edge_nodes[0].jump_host == "sshuser@kdr-west-kafka-ssh.azurehdinsight.net:22"
    flow = plan.flows[0]
    assert (flow.name, flow.naming, flow.mirrormaker) == ("primary->dr", Naming.PREFIXED, MirrorMakerKind.MM2)
    assert flow.topics_exclude == [".*-internal"]
    assert plan.objectives.rto_seconds == 900
    assert plan.switch.command == "./switch-clients.sh"


def test_minimal_plan_gets_defaults() -> None:
    plan = parse_plan(BASE)
    assert (plan.primary_alias, plan.secondary_alias) == ("primary", "dr")
    assert plan.cluster("dr").kafka_version == "3.2"
    assert plan.cluster("dr").bootstrap_servers == []
    assert plan.cluster("dr").hdinsight is None
    flow = plan.flows[0]
    assert (flow.topics, flow.groups, flow.topics_exclude) == ([".*"], [".*"], [])
    assert plan.objectives.lag_warn_seconds == 30
    assert plan.switch.method == "none"


def test_hot_standby_plan_has_no_flows() -> None:
    # Dual ingest: applications write to both clusters, so nothing is mirrored.
    plan = load_plan(HOT)
    assert plan.plan.topology is Topology.HOT_STANDBY
    assert plan.flows == [] and plan.edge_nodes == []
    assert plan_problems(plan) == []
    assert "Flows: none" in summarize(plan)
    minimal = parse_plan(
        edit(
            BASE,
            ('topology = "cold-standby"', 'topology = "hot-standby"'),
            ('[[flows]]\nsource = "primary"\ntarget = "dr"\n', ""),
        )
    )
    assert minimal.flows == [] and plan_problems(minimal) == []
    assert parse_plan(plan_to_toml(plan)) == plan


def test_hot_standby_with_flows_is_refused_in_code_too() -> None:
    plan = Plan(
        plan=PlanInfo(name="x", topology=Topology.HOT_STANDBY),
        clusters={"a": Cluster(region="eastus"), "b": Cluster(region="westus2")},
        flows=[MirrorFlow(source="a", target="b")],
    )
    assert plan_problems(plan) == [PlanProblem("<plan>", 0, "flows", HOT_STANDBY_FLOWS)]


def test_primary_can_be_named_and_secondary_defaults_to_the_other() -> None:
    text = edit(
        BASE,
        ('topology = "cold-standby"', 'topology = "cold-standby"\nprimary = "dr"'),
        ('source = "primary"\ntarget = "dr"', 'source = "dr"\ntarget = "primary"'),
    )
    plan = parse_plan(text)
    assert (plan.primary_alias, plan.secondary_alias) == ("dr", "primary")


def test_mm1_flow_defaults_to_identity_naming() -> None:
    plan = parse_plan(edit(BASE, append='mirrormaker = "mm1"\n'))
    assert plan.flows[0].naming is Naming.IDENTITY


def test_blank_optional_keys_mean_unset() -> None:
    plan = parse_plan(
        BASE
        + textwrap.dedent("""
        [[edge_nodes]]
        name = "e"
        cluster = "dr"
        host = "127.0.0.1"
        user = "me"
        key_file = ""
        jump_host = ""
        kafka_home = "/opt/kafka"
        """)
    )
    assert plan.edge_nodes[0].key_file is None and plan.edge_nodes[0].jump_host is None


def test_cluster_alias_containing_key_is_not_a_secret() -> None:
    plan = parse_plan(BASE.replace("primary", "monkey"))
    assert plan.primary_alias == "monkey"


def test_unknown_cluster_lookup_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown cluster 'x'; clusters are: dr, primary"):
        parse_plan(BASE).cluster("x")


def test_docs_example_is_a_valid_plan() -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = re.search(r"### Full example.*?```toml\n(.*?)```", text, re.DOTALL)
    assert example is not None, "README.md needs a ### Full example with a toml block"
    plan = parse_plan(example.group(1), "docs example")
    assert {c.region for c in plan.clusters.values()} == {"eastus", "westus2"}
    assert all(c.hdinsight is not None for c in plan.clusters.values())


def test_docs_mention_every_key() -> None:
    text = DOCS.read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [PlanInfo, Cluster, HDInsightCluster, EdgeNode, MirrorFlow]
    models += [Objectives, ClientSwitch, FailoverSettings, Schedule, ClusterSecurity]
    for model in models:
        for name in model.model_fields:
            # A key is documented in a table row (`name`) or as a sub-table header (....name]).
            assert f"`{name}`" in text or f".{name}]" in text, f"{model.__name__}.{name} is not documented"


# --- MirrorMaker keys: replication factor, work dir, flow intervals ---------------------------------


def test_mirrormaker_keys_have_defaults() -> None:
    plan = parse_plan(edit(BASE, append=EDGE_NODE))
    assert {alias: c.replication_factor for alias, c in plan.clusters.items()} == {"primary": 3, "dr": 3}
    assert plan.edge_nodes[0].work_dir == "~/.kdrtui"
    flow = plan.flows[0]
    assert flow.sync_group_offsets is True
    assert (flow.emit_checkpoints_seconds, flow.refresh_seconds, flow.flush_seconds) == (10, 30, 10)


def test_mirrormaker_keys_are_read_and_round_trip() -> None:
    text = edit(
        BASE,
        ('region = "eastus"', 'region = "eastus"\nreplication_factor = 1'),
        append=EDGE_NODE
        + 'work_dir = "/var/lib/kdrtui"\n'
        + '\n[[flows]]\nsource = "dr"\ntarget = "primary"\nsync_group_offsets = false\n'
        + "emit_checkpoints_seconds = 5\nrefresh_seconds = 7\nflush_seconds = 2\n",
    )
    plan = parse_plan(text)
    assert plan.cluster("primary").replication_factor == 1
    assert plan.edge_nodes[0].work_dir == "/var/lib/kdrtui"
    back = plan.flows[1]
    assert (back.sync_group_offsets, back.emit_checkpoints_seconds) == (False, 5)
    assert (back.refresh_seconds, back.flush_seconds) == (7, 2)
    assert parse_plan(plan_to_toml(plan)) == plan
    assert "replication_factor = 1" in plan_to_toml(plan)


def test_hdinsight_replication_factor_up_to_the_worker_count() -> None:
    text = edit(HDI, ('subnet_cidr = "10.1.0.0/24"', 'subnet_cidr = "10.1.0.0/24"\nreplication_factor = 4'))
    text = text.replace('name = "kdr-west-kafka"', 'name = "kdr-west-kafka"\nworker_count = 4')
    assert parse_plan(text).cluster("dr").replication_factor == 4


def test_work_dir_in_home_is_accepted() -> None:
    plan = parse_plan(edit(BASE, append=EDGE_NODE + 'work_dir = "~/mm"\n'))
    assert plan.edge_nodes[0].work_dir == "~/mm"


# --- round trip and saving ----------------------------------------------------------------------------


def test_round_trip_through_toml() -> None:
    plan = load_plan(GOOD)
    text = plan_to_toml(plan)
    assert parse_plan(text) == plan
    minimal = parse_plan(BASE)
    assert parse_plan(plan_to_toml(minimal)) == minimal
    assert "None" not in plan_to_toml(minimal) and "hdinsight" not in plan_to_toml(minimal)


def test_save_plan_writes_atomically(tmp_path: Path) -> None:
    plan = load_plan(GOOD)
    target = tmp_path / "sub" / "plan.toml"
    save_plan(plan, target)
    save_plan(plan, target)  # replacing an existing file works too
    assert load_plan(target) == plan
    assert [p.name for p in target.parent.iterdir()] == ["plan.toml"]


def test_summary_names_everything() -> None:
    lines = summarize(load_plan(GOOD))
    text = "\n".join(lines)
    assert lines[0] == "Plan orders-dr: cold-standby; primary cluster primary, secondary cluster dr"
    for needle in (
        "eastus",
        "westus2",
        "kdr-east-kafka",
        "10.0.0.11:9092",
        "primary -> dr",
        "orders.*",
        "dr-edge-1",
        "RPO 60 s",
        "critical 120 s",
        "./switch-clients.sh",
    ):
        assert needle in text
    assert "(set after provisioning)" in "\n".join(summarize(parse_plan(BASE)))


def test_plan_problems_checks_a_plan_built_in_code() -> None:
    plan = Plan(
        plan=PlanInfo(name="x", topology=Topology.COLD_STANDBY),
        clusters={"a": Cluster(region="eastus"), "b": Cluster(region="eastus")},
        flows=[MirrorFlow(source="a", target="b")],
    )
    assert plan_problems(plan) == [
        PlanProblem(
            "<plan>",
            0,
            "clusters.b.region",
            "the secondary cluster is in eastus like the primary; choose another region",
        )
    ]
    assert plan_problems(parse_plan(BASE)) == []


def test_problem_renders_as_path_line_field_message() -> None:
    problem = PlanProblem("p.toml", 7, "flows[0].target", "unknown cluster 'x'")
    assert str(problem) == "p.toml:7: flows[0].target: unknown cluster 'x'"


# --- the acceptance case ------------------------------------------------------------------------------

ACCEPTANCE = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
resource_group = "kdr-eastus-rg"
vnet_name = "kdr-eastus-vnet"
vnet_cidr = "10.0.0.0/16"
subnet_cidr = "10.0.0.0/24"

[clusters.primary.hdinsight]
name = "ab"
storage_account = "kdreaststore"
login_password_env = "KDR_PRIMARY_LOGIN_PASSWORD"

[clusters.dr]
region = "westus2"
resource_group = "kdr-westus2-rg"
vnet_name = "kdr-westus2-vnet"
vnet_cidr = "10.0.128.0/17"
subnet_cidr = "10.0.128.0/24"

[[flows]]
source = "primary"
target = "nowhere"
"""

ACCEPTANCE_PROBLEMS = [
    (13, "clusters.primary.hdinsight.name", "'ab' is 2 characters; an HDInsight cluster name needs 3 to 59"),
    (
        21,
        "clusters.dr.vnet_cidr",
        "10.0.128.0/17 overlaps 10.0.0.0/16 of cluster 'primary'; peered VNets need distinct address spaces",
    ),
    (26, "flows[0].target", "unknown cluster 'nowhere'; clusters are: dr, primary"),
]


def test_acceptance_three_problems_with_their_lines() -> None:
    assert problems_of(ACCEPTANCE) == ACCEPTANCE_PROBLEMS


def test_acceptance_through_the_command(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(ACCEPTANCE, encoding="utf-8")
    result = CliRunner().invoke(plan_group, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{path}:{line}: {field}: {msg}" for line, field, msg in ACCEPTANCE_PROBLEMS
    ] + ["3 problems"]


# --- bad plans: each (text, [(line, field, message)]) -----------------------------------------------

SECRET = (
    "secrets are never stored in the plan; name an environment variable (e.g. login_password_env) "
    "or use a key file/ssh-agent"
)
TOPOLOGY = "must be 'hot-standby', 'cold-standby' or 'active-active'"
HOT_STANDBY_FLOWS = (
    "hot standby uses dual ingest (applications write to both clusters), so nothing is mirrored; "
    'remove the [[flows]] or choose topology "cold-standby"'
)

# An edge node appended to BASE (lines 17-22); a key appended after it is on line 23.
EDGE_NODE = """
[[edge_nodes]]
name = "e"
cluster = "dr"
host = "127.0.0.1"
user = "me"
kafka_home = "/opt/kafka"
"""

BAD_PLANS: dict[str, tuple[str, Expected]] = {
    "unknown key": (
        edit(BASE, ('vnet_cidr = "10.0.0.0/16"', 'zone = "1"')),
        [(7, "clusters.primary.zone", "unknown key")],
    ),
    "unknown section": (
        edit(BASE, append="\n[monitoring]\nevery = 2\n"),
        [(17, "monitoring", "unknown key")],
    ),
    "password in a cluster": (
        edit(BASE, ('vnet_cidr = "10.0.0.0/16"', 'login_password = "hunter2!"')),
        [(7, "clusters.primary.login_password", SECRET)],
    ),
    "token in the plan table, name missing": (
        edit(BASE, ('name = "orders-dr"', 'api_token = "abc"')),
        [(1, "plan.name", "required key is missing"), (2, "plan.api_token", SECRET)],
    ),
    "ssh key material in an edge node": (
        edit(
            BASE,
            append="""
            [[edge_nodes]]
            name = "e"
            cluster = "dr"
            host = "127.0.0.1"
            user = "me"
            private_key = "-----BEGIN OPENSSH PRIVATE KEY-----"
            kafka_home = "/opt/kafka"
            """,
        ),
        [(22, "edge_nodes[0].private_key", SECRET)],
    ),
    "missing plan section": (
        edit(BASE, ('[plan]\nname = "orders-dr"\ntopology = "cold-standby"', "\n\n")),
        [(1, "plan", "required section [plan] is missing")],
    ),
    "bad topology": (
        edit(BASE, ('topology = "cold-standby"', 'topology = "warm"')),
        [(3, "plan.topology", f"{TOPOLOGY}, not 'warm'")],
    ),
    "plan name too long": (
        edit(BASE, ('name = "orders-dr"', f'name = "{"x" * 65}"')),
        [(2, "plan.name", f"'{'x' * 65}' is 65 characters; a plan name needs 1 to 64")],
    ),
    "missing region points at the table header": (
        edit(BASE, ('region = "westus2"', 'kafka_version = "3.2"')),
        [(9, "clusters.dr.region", "required key is missing")],
    ),
    "region written as a display name": (
        edit(BASE, ('region = "westus2"', 'region = "West US 2"')),
        [(10, "clusters.dr.region", "'West US 2' is written 'westus2' in a plan (lowercase, no spaces)")],
    ),
    "unknown region": (
        edit(BASE, ('region = "westus2"', 'region = "westus7"')),
        [(10, "clusters.dr.region", "'westus7' is not a known Azure region; did you mean 'westus'?")],
    ),
    "same region": (
        edit(BASE, ('region = "westus2"', 'region = "eastus"')),
        [
            (
                10,
                "clusters.dr.region",
                "the secondary cluster is in eastus like the primary; choose another region",
            )
        ],
    ),
    "overlapping vnets": (
        edit(BASE, ('vnet_cidr = "10.1.0.0/16"', 'vnet_cidr = "10.0.128.0/17"')),
        [
            (
                11,
                "clusters.dr.vnet_cidr",
                "10.0.128.0/17 overlaps 10.0.0.0/16 of cluster 'primary'; "
                "peered VNets need distinct address spaces",
            )
        ],
    ),
    "cidr with host bits": (
        edit(BASE, ('vnet_cidr = "10.1.0.0/16"', 'vnet_cidr = "10.1.0.1/16"')),
        [(11, "clusters.dr.vnet_cidr", "'10.1.0.1/16' has host bits set; did you mean 10.1.0.0/16?")],
    ),
    "not a cidr": (
        edit(BASE, ('vnet_cidr = "10.1.0.0/16"', 'vnet_cidr = "fd00::/8"')),
        [(11, "clusters.dr.vnet_cidr", "'fd00::/8' is not an IPv4 CIDR block like 10.0.0.0/16")],
    ),
    "subnet outside its vnet": (
        edit(BASE, ('vnet_cidr = "10.0.0.0/16"\n', 'vnet_cidr = "10.0.0.0/16"\nsubnet_cidr = "10.5.0.0/24"')),
        [
            (
                8,
                "clusters.primary.subnet_cidr",
                "10.5.0.0/24 is not inside the VNet's address space 10.0.0.0/16",
            )
        ],
    ),
    "cidr of the wrong type": (
        edit(BASE, ('vnet_cidr = "10.1.0.0/16"', "vnet_cidr = 10")),
        [(11, "clusters.dr.vnet_cidr", "must be a string, not an integer")],
    ),
    "bootstrap server without a port": (
        edit(BASE, ('vnet_cidr = "10.0.0.0/16"', 'bootstrap_servers = ["10.0.0.11:9092", "10.0.0.12"]')),
        [(7, "clusters.primary.bootstrap_servers[1]", "'10.0.0.12' is not host:port (e.g. 10.0.0.11:9092)")],
    ),
    "only one cluster": (
        edit(BASE, ('[clusters.dr]\nregion = "westus2"\nvnet_cidr = "10.1.0.0/16"', "\n\n")),
        [
            (5, "clusters", "a plan needs two clusters, a primary and a secondary; found 1"),
            (15, "flows[0].target", "unknown cluster 'dr'; clusters are: primary"),
        ],
    ),
    "bad alias": (
        BASE.replace("[clusters.dr]", '[clusters."d r"]').replace('target = "dr"', 'target = "d r"'),
        [(9, "clusters.d r", "'d r' is not a valid cluster alias: use 1 to 32 letters, digits, '_' or '-'")],
    ),
    "flow to an unknown cluster": (
        edit(BASE, ('target = "dr"', 'target = "nowhere"')),
        [(15, "flows[0].target", "unknown cluster 'nowhere'; clusters are: dr, primary")],
    ),
    "flow from a cluster to itself": (
        edit(BASE, ('target = "dr"', 'target = "primary"')),
        [
            (
                15,
                "flows[0].target",
                "the target is the source 'primary'; a flow mirrors one cluster into another",
            )
        ],
    ),
    "flow missing its target": (
        edit(BASE, ('target = "dr"', "")),
        [(13, "flows[0].target", "required key is missing")],
    ),
    "cold standby without flows": (
        edit(BASE, ('[[flows]]\nsource = "primary"\ntarget = "dr"\n', "")),
        [
            (
                1,
                "flows",
                "a cold-standby plan needs at least one flow; add a [[flows]] table from 'primary' to 'dr'",
            )
        ],
    ),
    "hot standby with a flow": (
        edit(BASE, ('topology = "cold-standby"', 'topology = "hot-standby"')),
        [(13, "flows", HOT_STANDBY_FLOWS)],
    ),
    "hot standby with flows both ways, after an edge node": (
        edit(
            BASE,
            ('topology = "cold-standby"', 'topology = "hot-standby"'),
            (
                "[[flows]]",
                '[[edge_nodes]]\nname = "e"\ncluster = "dr"\nhost = "h"\nuser = "me"\n'
                'kafka_home = "/opt/kafka"\n\n[[flows]]',
            ),
            append='\n[[flows]]\nsource = "dr"\ntarget = "primary"\n',
        ),
        [(20, "flows", HOT_STANDBY_FLOWS)],
    ),
    "standby flow in the wrong direction": (
        edit(BASE, ('source = "primary"\ntarget = "dr"', 'source = "dr"\ntarget = "primary"')),
        [(13, "flows", "no flow mirrors the primary 'primary' into the secondary 'dr'")],
    ),
    "active-active with one direction": (
        edit(BASE, ('topology = "cold-standby"', 'topology = "active-active"')),
        [
            (
                13,
                "flows",
                "active-active needs flows in both directions between 'primary' and 'dr'; "
                "missing: dr -> primary",
            )
        ],
    ),
    "active-active with identity naming": (
        edit(
            BASE,
            ('topology = "cold-standby"', 'topology = "active-active"'),
            append='naming = "identity"\n\n[[flows]]\nsource = "dr"\ntarget = "primary"\n',
        ),
        [
            (
                16,
                "flows[0].naming",
                'active-active needs naming = "prefixed" on every flow: '
                "identity naming cannot stop records looping between the clusters",
            )
        ],
    ),
    "identity naming both ways": (
        edit(BASE, append='naming = "identity"\n\n[[flows]]\nsource = "dr"\ntarget = "primary"\n'),
        [
            (
                18,
                "flows[1].naming",
                "identity naming with flows both ways between 'primary' and 'dr' loops records forever; "
                'use naming = "prefixed" on both flows',
            )
        ],
    ),
    "mm1 with prefixed naming": (
        edit(BASE, append='mirrormaker = "mm1"\nnaming = "prefixed"\n'),
        [
            (
                17,
                "flows[0].naming",
                'MirrorMaker 1 keeps topic names: use naming = "identity" with mirrormaker = "mm1"',
            )
        ],
    ),
    "bad naming value": (
        edit(BASE, append='naming = "both"\n'),
        [(16, "flows[0].naming", "must be 'prefixed' or 'identity', not 'both'")],
    ),
    "invalid topic regex in a multi-line array": (
        edit(BASE, append='topics = [\n  "orders.*",\n  "(",\n]\n'),
        [
            (
                18,
                "flows[0].topics[1]",
                "'(' is not a valid regular expression: missing ), unterminated subpattern at position 0",
            )
        ],
    ),
    "no topics": (
        edit(BASE, append="topics = []\n"),
        [(16, "flows[0].topics", 'must list at least one pattern; [".*"] mirrors every topic')],
    ),
    "duplicate flow": (
        edit(BASE, append='\n[[flows]]\nsource = "primary"\ntarget = "dr"\n'),
        [(17, "flows[1]", "repeats flows[0] (primary -> dr); put all of its topics in one flow")],
    ),
    "edge node: unknown cluster, bad port, no kafka_home": (
        edit(
            BASE,
            append="""
            [[edge_nodes]]
            name = "e"
            cluster = "nowhere"
            host = "127.0.0.1"
            port = 70000
            user = "me"
            """,
        ),
        [
            (17, "edge_nodes[0].kafka_home", "required key is missing"),
            (19, "edge_nodes[0].cluster", "unknown cluster 'nowhere'; clusters are: dr, primary"),
            (21, "edge_nodes[0].port", "must be at most 65535, not 70000"),
        ],
    ),
    "edge node: duplicate name, relative kafka_home, bad jump host": (
        edit(
            BASE,
            append="""
            [[edge_nodes]]
            name = "e"
            cluster = "dr"
            host = "10.1.0.4"
            user = "me"
            kafka_home = "/opt/kafka"

            [[edge_nodes]]
            name = "e"
            cluster = "dr"
            host = "10.1.0.5"
            user = "me"
            jump_host = "me@bastion:ssh"
            kafka_home = "opt/kafka"
            """,
        ),
        [
            (25, "edge_nodes[1].name", "'e' is already the name of edge_nodes[0]"),
            (
                29,
                "edge_nodes[1].jump_host",
                "'me@bastion:ssh' is not user@host:port (user and port optional)",
            ),
            (
                30,
                "edge_nodes[1].kafka_home",
                "'opt/kafka' must be an absolute path on the edge node (the directory holding Kafka's libs/)",
            ),
        ],
    ),
    "lag thresholds the wrong way round": (
        edit(BASE, append="\n[objectives]\nlag_warn_seconds = 300\n"),
        [(18, "objectives.lag_warn_seconds", "300 must be less than lag_crit_seconds (120)")],
    ),
    "objective of the wrong type": (
        edit(BASE, append='\n[objectives]\nrpo_seconds = "60"\nrto_seconds = 0\n'),
        [
            (18, "objectives.rpo_seconds", "must be an integer, not a string"),
            (19, "objectives.rto_seconds", "must be at least 1, not 0"),
        ],
    ),
    "switch command missing": (
        edit(BASE, append='\n[switch]\nmethod = "command"\n'),
        [
            (
                17,
                "switch.command",
                'required when method = "command": the shell command that points clients elsewhere',
            )
        ],
    ),
    "switch method unknown": (
        edit(BASE, append='\n[switch]\nmethod = "pray"\n'),
        [(18, "switch.method", "must be 'none', 'command' or 'dns', not 'pray'")],
    ),
    "primary names an unknown cluster": (
        edit(BASE, ('topology = "cold-standby"', 'topology = "cold-standby"\nprimary = "east"')),
        [(4, "plan.primary", "unknown cluster 'east'; clusters are: dr, primary")],
    ),
    "primary and secondary the same": (
        edit(BASE, ('topology = "cold-standby"', 'topology = "cold-standby"\nsecondary = "primary"')),
        [(4, "plan.secondary", "the secondary cluster must differ from the primary ('primary')")],
    ),
    "hdinsight: two-character name": (
        edit(HDI, ('name = "kdr-west-kafka"', 'name = "ab"')),
        [(25, "clusters.dr.hdinsight.name", "'ab' is 2 characters; an HDInsight cluster name needs 3 to 59")],
    ),
    "hdinsight: name with an underscore": (
        edit(HDI, ('name = "kdr-west-kafka"', 'name = "kdr_west"')),
        [(25, "clusters.dr.hdinsight.name", "'kdr_west' may contain only letters, digits and hyphens")],
    ),
    "hdinsight: same name twice": (
        edit(HDI, ('name = "kdr-west-kafka"', 'name = "KDR-east-kafka"')),
        [
            (
                25,
                "clusters.dr.hdinsight.name",
                "'KDR-east-kafka' is already the name of cluster 'primary'; "
                "HDInsight names are globally unique",
            )
        ],
    ),
    "hdinsight: shared vnet and same first six characters": (
        edit(
            HDI,
            ('resource_group = "kdr-westus2-rg"', 'resource_group = "kdr-eastus-rg"'),
            ('vnet_name = "kdr-westus2-vnet"', 'vnet_name = "kdr-eastus-vnet"'),
            ('vnet_cidr = "10.1.0.0/16"', 'vnet_cidr = "10.0.0.0/16"'),
            ('subnet_cidr = "10.1.0.0/24"', 'subnet_cidr = "10.0.1.0/24"'),
            ('name = "kdr-west-kafka"', 'name = "kdr-eastwest"'),
        ),
        [
            (
                20,
                "clusters.dr.vnet_name",
                "'kdr-eastus-vnet' in resource group 'kdr-eastus-rg' is also the VNet of cluster 'primary' "
                "in eastus; a VNet lives in one region",
            ),
            (
                25,
                "clusters.dr.hdinsight.name",
                "'kdr-eastwest' starts with the same six characters ('kdr-ea') as 'kdr-east-kafka' "
                "of cluster 'primary' in the same VNet; their node names (wn0-kdr-ea...) would clash",
            ),
        ],
    ),
    "hdinsight: storage account badly named": (
        edit(HDI, ('storage_account = "kdreaststore"', 'storage_account = "KdrEast"')),
        [
            (
                14,
                "clusters.primary.hdinsight.storage_account",
                "'KdrEast' may contain only lowercase letters and digits",
            ),
        ],
    ),
    "hdinsight: storage account shared": (
        edit(HDI, ('storage_account = "kdrweststore"', 'storage_account = "kdreaststore"')),
        [
            (
                26,
                "clusters.dr.hdinsight.storage_account",
                "'kdreaststore' is already the storage account of cluster 'primary'; "
                "each cluster needs its own",
            )
        ],
    ),
    "hdinsight: sizes, counts, version, user": (
        edit(
            HDI,
            (
                'login_password_env = "KDR_DR_LOGIN_PASSWORD"',
                'login_password_env = "KDR_DR_LOGIN_PASSWORD"\nworker_count = 2\ndisks_per_node = 17\n'
                'cluster_version = "4.0"\nssh_user = "admin"\nworker_vm_size = "D4"',
            ),
        ),
        [
            (28, "clusters.dr.hdinsight.worker_count", "must be at least 3, not 2"),
            (29, "clusters.dr.hdinsight.disks_per_node", "must be at most 16, not 17"),
            (
                30,
                "clusters.dr.hdinsight.cluster_version",
                "HDInsight '4.0' is not supported; kdrtui provisions HDInsight 5.1 (Kafka 3.2)",
            ),
            (
                31,
                "clusters.dr.hdinsight.ssh_user",
                "'admin' is a reserved user name on HDInsight; choose another, e.g. 'sshuser'",
            ),
            (32, "clusters.dr.hdinsight.worker_vm_size", "'D4' is not an Azure VM size like Standard_D4_v2"),
        ],
    ),
    "hdinsight: login password env is not a variable name, storage missing": (
        edit(
            HDI,
            ('storage_account = "kdrweststore"\n', ""),
            ('login_password_env = "KDR_DR_LOGIN_PASSWORD"', 'login_password_env = "1 PASSWORD"'),
        ),
        [
            (24, "clusters.dr.hdinsight.storage_account", "required key is missing"),
            (
                26,
                "clusters.dr.hdinsight.login_password_env",
                "'1 PASSWORD' is not an environment variable name (letters, digits and '_', "
                "not starting with a digit)",
            ),
        ],
    ),
    "hdinsight: network keys missing": (
        edit(
            HDI,
            ('resource_group = "kdr-westus2-rg"\n', ""),
            ('vnet_name = "kdr-westus2-vnet"\n', ""),
            ('subnet_cidr = "10.1.0.0/24"\n', ""),
        ),
        [
            (
                17,
                f"clusters.dr.{key}",
                "required when [clusters.dr.hdinsight] is present: kdrtui provisions the cluster into it",
            )
            for key in ("resource_group", "vnet_name", "subnet_cidr")
        ],
    ),
    "hdinsight: azure names of group and vnet": (
        edit(
            HDI,
            ('resource_group = "kdr-westus2-rg"', 'resource_group = "kdr-westus2-rg."'),
            ('vnet_name = "kdr-westus2-vnet"', 'vnet_name = "v"'),
        ),
        [
            (19, "clusters.dr.resource_group", "'kdr-westus2-rg.' must not end with a period"),
            (20, "clusters.dr.vnet_name", "'v' is 1 character; a virtual network name needs 2 to 64"),
        ],
    ),
    "hdinsight: kafka version other than 3.2": (
        edit(HDI, ('subnet_cidr = "10.1.0.0/24"', 'subnet_cidr = "10.1.0.0/24"\nkafka_version = "3.6"')),
        [
            (
                23,
                "clusters.dr.kafka_version",
                'HDInsight 5.1 runs Kafka 3.2, not 3.6; set kafka_version = "3.2" or remove it',
            )
        ],
    ),
    "replication factor zero": (
        edit(BASE, ('region = "westus2"', 'region = "westus2"\nreplication_factor = 0')),
        [(11, "clusters.dr.replication_factor", "must be at least 1, not 0")],
    ),
    "replication factor above 7": (
        edit(BASE, ('region = "eastus"', 'region = "eastus"\nreplication_factor = 8')),
        [(7, "clusters.primary.replication_factor", "must be at most 7, not 8")],
    ),
    "replication factor as a string": (
        edit(BASE, ('region = "eastus"', 'region = "eastus"\nreplication_factor = "3"')),
        [(7, "clusters.primary.replication_factor", "must be an integer, not a string")],
    ),
    "hdinsight: replication factor 1": (
        edit(HDI, ('subnet_cidr = "10.1.0.0/24"', 'subnet_cidr = "10.1.0.0/24"\nreplication_factor = 1')),
        [
            (
                23,
                "clusters.dr.replication_factor",
                "1 is too few for HDInsight: its brokers require min.insync.replicas = 2, so MirrorMaker's "
                "topics need 3 replicas to survive a broker outage; use 3 or remove the key",
            )
        ],
    ),
    "hdinsight: replication factor above the brokers": (
        edit(HDI, ('subnet_cidr = "10.1.0.0/24"', 'subnet_cidr = "10.1.0.0/24"\nreplication_factor = 5')),
        [
            (
                23,
                "clusters.dr.replication_factor",
                "5 replicas need 5 brokers, but hdinsight.worker_count is 3",
            )
        ],
    ),
    "edge node work_dir relative": (
        edit(BASE, append=EDGE_NODE + 'work_dir = "kdrtui"\n'),
        [
            (
                23,
                "edge_nodes[0].work_dir",
                "'kdrtui' must be an absolute path on the edge node, or start with ~/ "
                "(the SSH user's home directory)",
            )
        ],
    ),
    "edge node work_dir in another user's home": (
        edit(BASE, append=EDGE_NODE + 'work_dir = "~root/kdrtui"\n'),
        [
            (
                23,
                "edge_nodes[0].work_dir",
                "'~root/kdrtui' must be an absolute path on the edge node, or start with ~/ "
                "(the SSH user's home directory)",
            )
        ],
    ),
    "edge node work_dir with a newline": (
        edit(BASE, append=EDGE_NODE + 'work_dir = "/opt/kdr\\ntui"\n'),
        [(23, "edge_nodes[0].work_dir", "control characters are not allowed (\\n at position 9)")],
    ),
    "sync_group_offsets as a string": (
        edit(BASE, append='sync_group_offsets = "yes"\n'),
        [(16, "flows[0].sync_group_offsets", "must be true or false, not a string")],
    ),
    "sync_group_offsets as an integer": (
        edit(BASE, append="sync_group_offsets = 1\n"),
        [(16, "flows[0].sync_group_offsets", "must be true or false, not an integer")],
    ),
    "pattern with a comma": (
        edit(BASE, append='topics = ["orders-v{1,2}"]\n'),
        [
            (
                16,
                "flows[0].topics[0]",
                "'orders-v{1,2}' contains a comma, which MirrorMaker reads as a list separator; topic names "
                "never contain one, so write the pattern without it (e.g. x{1,2} as (x|xx))",
            )
        ],
    ),
    "flow intervals below one second": (
        edit(BASE, append="emit_checkpoints_seconds = 0\nrefresh_seconds = -5\nflush_seconds = 1.5\n"),
        [
            (16, "flows[0].emit_checkpoints_seconds", "must be at least 1, not 0"),
            (17, "flows[0].refresh_seconds", "must be at least 1, not -5"),
            (18, "flows[0].flush_seconds", "must be an integer, not a float"),
        ],
    ),
    "wrong table types": (
        'edge_nodes = "none"\n' + BASE,
        [(1, "edge_nodes", "must be an array, not a string")],
    ),
}


@pytest.mark.parametrize("case", list(BAD_PLANS))
def test_bad_plan(case: str) -> None:
    text, expected = BAD_PLANS[case]
    assert problems_of(text) == expected


def test_there_are_many_bad_plans() -> None:
    assert len(BAD_PLANS) >= 25


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = edit(
        BASE,
        ('topology = "cold-standby"', 'topology = "warm"'),
        ('region = "westus2"', 'region = "mars"'),
        ('target = "dr"', 'target = "nowhere"'),
        append='naming = "both"\n',
    )
    fields = [field for _, field, _ in problems_of(text)]
    assert fields == ["plan.topology", "clusters.dr.region", "flows[0].target", "flows[0].naming"]


# --- files and syntax ------------------------------------------------------------------------------


def test_toml_syntax_error_has_its_line() -> None:
    text = BASE.replace('region = "westus2"', "region = westus2")
    assert problems_of(text) == [
        (10, "toml", "invalid TOML: Invalid value (column 10)"),
    ]


def test_toml_duplicate_key_is_a_syntax_error() -> None:
    text = BASE.replace('region = "westus2"', 'region = "westus2"\nregion = "westus3"')
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (11, "toml") and message.startswith("invalid TOML: ")


def test_unterminated_string_at_the_end() -> None:
    [(line, field, message)] = problems_of(BASE + 'x = """never closed')
    assert (line, field) == (16, "toml") and message.startswith("invalid TOML: ")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PlanInvalid) as caught:
        load_plan(missing)
    [problem] = caught.value.problems
    assert (problem.path, problem.line, problem.field) == (str(missing), 0, "file")
    assert problem.message.startswith("no such file")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(BASE.encode() + b"\n# caf\xe9\n")
    with pytest.raises(PlanInvalid) as caught:
        load_plan(path)
    assert caught.value.problems[0].message.startswith("not UTF-8 text")


# --- the command -----------------------------------------------------------------------------------


def test_validate_prints_the_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(plan_group, ["validate", str(GOOD)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"{GOOD}: valid"
    assert "Plan orders-dr: cold-standby" in result.output


def test_validate_missing_file_exits_2_without_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(plan_group, ["validate", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.splitlines()[-1] == "1 problem"


def test_validate_lab_reads_the_labs_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDRTUI_LAB_DIR", str(tmp_path))
    (tmp_path / "plan.toml").write_text(BASE, encoding="utf-8")
    result = CliRunner().invoke(plan_group, ["validate", "lab"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{tmp_path / 'plan.toml'}: valid")


def test_validate_sorts_problems_by_line(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(BAD_PLANS["token in the plan table, name missing"][0], encoding="utf-8")
    result = CliRunner().invoke(plan_group, ["validate", str(path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert [line.split(":")[1] for line in lines[:-1]] == ["1", "2"]
    assert lines[-1] == "2 problems"


# --- layering --------------------------------------------------------------------------------------


def test_domain_imports_no_heavy_packages() -> None:
    code = (
        "import sys, kdrtui.domain, kdrtui.domain.plan, kdrtui.domain.azure_names, kdrtui.commands.plan\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'confluent_kafka', 'asyncssh', 'azure')]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


# --- line numbers in unusual TOML ------------------------------------------------------------------


def test_lines_inside_inline_tables_and_after_multiline_strings() -> None:
    text = edit(
        HDI,
        (
            '[clusters.dr.hdinsight]\nname = "kdr-west-kafka"\nstorage_account = "kdrweststore"\n'
            'login_password_env = "KDR_DR_LOGIN_PASSWORD"\n',
            '[clusters.dr.hdinsight]\n"name" = """\nkdr-west-kafka"""\nstorage_account = "KDR"\n'
            'login_password_env = "KDR_DR_LOGIN_PASSWORD"\n',
        ),
        append='topics = [ "a", { x = 1 } ]\n',
    )
    assert problems_of(text) == [
        (27, "clusters.dr.hdinsight.storage_account", "'KDR' may contain only lowercase letters and digits"),
        (33, "flows[0].topics[1]", "must be a string, not a table"),
    ]


def test_inline_table_keys_point_at_their_line() -> None:
    text = edit(
        BASE,
        (
            'vnet_cidr = "10.1.0.0/16"',
            'vnet_cidr = "10.1.0.0/16"\nhdinsight = { name = "ab", storage_account = "s1x", '
            'login_password_env = "P" }',
        ),
    )
    found = problems_of(text)
    assert (
        12,
        "clusters.dr.hdinsight.name",
        "'ab' is 2 characters; an HDInsight cluster name needs 3 to 59",
    ) in found


def test_dotted_keys_and_quoted_table_names() -> None:
    text = BASE.replace(
        '[clusters.dr]\nregion = "westus2"', '[ clusters . "dr" ]\nregion = "westus2"\nhdinsight.name = 5'
    )
    found = problems_of(text)
    assert (11, "clusters.dr.hdinsight.name", "must be a string, not an integer") in found
    assert (9, "clusters.dr.hdinsight.storage_account", "required key is missing") not in found
    assert (11, "clusters.dr.hdinsight.storage_account", "required key is missing") in found
