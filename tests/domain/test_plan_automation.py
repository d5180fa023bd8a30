"""The plan's ``[automation]`` table: its keys and defaults, the rules across tables, the summary line, and
the wizard's answers for it (answers -> plan -> answers)."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.domain.plan import (
    AutomationMode,
    AutomationSettings,
    PlanInvalid,
    PlanProblem,
    Topology,
    parse_plan,
    plan_problems,
    plan_to_toml,
    summarize,
)
from kdrtui.domain.plan_automation import LOCAL_VANTAGE
from kdrtui.domain.wizard import (
    CHOICES,
    FIELDS,
    HELP,
    Automation,
    WizardAnswers,
    answers_from_plan,
    build_plan,
    errors,
    field_error,
    plan_toml,
    set_field,
    step_errors,
    step_note,
    visible_fields,
)
from kdrtui.services.plan_files import load_plan
from tests.samples import GOOD, HOT

README = Path(__file__).parents[2] / "README.md"

# A cold standby with an edge node on each cluster; the [automation] tables below are appended at line 25.
PLAN = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"

[clusters.dr]
region = "westus2"

[[edge_nodes]]
name = "dr-edge-1"
cluster = "dr"
host = "10.1.0.20"
user = "sshuser"
kafka_home = "/opt/kafka"

[[edge_nodes]]
name = "primary-edge-1"
cluster = "primary"
host = "10.0.0.20"
user = "sshuser"
kafka_home = "/opt/kafka"

"""
FIRST = PLAN.count("\n") + 1
"""The line of the first line appended to :data:`PLAN`."""

FLOW = '\n[[flows]]\nsource = "primary"\ntarget = "dr"\n'


def with_automation(table: str, *, base: str = PLAN, flow: str = FLOW) -> str:
    """``base`` with ``table`` (the [automation] table, dedented) at line :data:`FIRST`, then ``flow``."""
    return base + textwrap.dedent(table) + flow


def problems_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(text, "p.toml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


# --- keys and defaults --------------------------------------------------------------------------------


def test_a_plan_without_the_table_has_the_policy_off_with_the_defaults() -> None:
    plan = parse_plan(PLAN + FLOW)
    policy = plan.automation
    assert policy == AutomationSettings()
    assert (policy.enabled, policy.mode, policy.hold_down_seconds) == (False, AutomationMode.ADVISE, 120)
    assert policy.vantage_points == [LOCAL_VANTAGE] == ["kdrtui"]
    assert (policy.quorum, policy.needed) == (None, 1)
    assert (policy.max_rpo_records, policy.max_rpo_seconds, policy.cooldown_seconds) == (0, None, 3600)
    assert (policy.probe_interval_seconds, policy.probe_timeout_seconds, policy.alert_command) == (
        5,
        10,
        None,
    )
    assert load_plan(GOOD).automation == AutomationSettings()


def test_every_key_is_read_and_round_trips() -> None:
    text = with_automation(
        """\
        [automation]
        enabled = true
        mode = "act"
        hold_down_seconds = 300
        vantage_points = ["kdrtui", "dr-edge-1"]
        quorum = 1
        max_rpo_records = 100
        max_rpo_seconds = 30
        cooldown_seconds = 600
        probe_interval_seconds = 2
        probe_timeout_seconds = 4
        alert_command = "./page.sh"
        """
    )
    policy = parse_plan(text).automation
    assert policy == AutomationSettings(
        enabled=True,
        mode=AutomationMode.ACT,
        hold_down_seconds=300,
        vantage_points=["kdrtui", "dr-edge-1"],
        quorum=1,
        max_rpo_records=100,
        max_rpo_seconds=30,
        cooldown_seconds=600,
        probe_interval_seconds=2,
        probe_timeout_seconds=4,
        alert_command="./page.sh",
    )
    assert policy.needed == 1
    plan = parse_plan(text)
    assert parse_plan(plan_to_toml(plan)) == plan
    assert "[automation]" in plan_to_toml(plan)


def test_a_blank_alert_command_is_unset() -> None:
    text = with_automation('[automation]\nalert_command = " "\n')
    assert parse_plan(text).automation.alert_command is None


# --- plan_to_toml keeps plans without the policy as they were --------------------------------------------


@pytest.mark.parametrize("path", [GOOD, HOT], ids=["good", "hot-standby"])
def test_a_plan_without_automation_is_written_without_the_table(path: Path) -> None:
    plan = load_plan(path)
    text = plan_to_toml(plan)
    assert "automation" not in text
    assert parse_plan(text) == plan
    # What plan_to_toml wrote before the table existed: the model's dump less the table.
    dumped = plan.model_dump(mode="json", exclude_none=True)
    assert "automation" in dumped
    dumped.pop("automation")
    assert text == tomli_w.dumps(dumped)


def test_a_disabled_table_is_written_only_when_it_says_more_than_the_defaults() -> None:
    defaults = parse_plan(with_automation("[automation]\nenabled = false\n"))
    assert "automation" not in plan_to_toml(defaults)
    kept = parse_plan(with_automation('[automation]\nmode = "act"\nhold_down_seconds = 60\n'))
    text = plan_to_toml(kept)
    assert '[automation]\nmode = "act"' in text.replace("enabled = false\n", "")
    assert parse_plan(text) == kept


# --- single keys (pydantic) ---------------------------------------------------------------------------

KEY_PROBLEMS: list[tuple[str, str, str]] = [
    ("enable = true", "automation.enable", "unknown key"),
    ('mode = "auto"', "automation.mode", "must be 'advise' or 'act', not 'auto'"),
    ('enabled = "yes"', "automation.enabled", "must be true or false, not a string"),
    ("hold_down_seconds = 1", "automation.hold_down_seconds", "must be at least 5, not 1"),
    ("hold_down_seconds = 86401", "automation.hold_down_seconds", "must be at most 86400, not 86401"),
    ("quorum = 0", "automation.quorum", "must be at least 1, not 0"),
    ("max_rpo_records = -1", "automation.max_rpo_records", "must be at least 0, not -1"),
    ("cooldown_seconds = 1.5", "automation.cooldown_seconds", "must be an integer, not a float"),
    ("probe_interval_seconds = 0", "automation.probe_interval_seconds", "must be at least 1, not 0"),
    ("probe_timeout_seconds = 121", "automation.probe_timeout_seconds", "must be at most 120, not 121"),
    ('vantage_points = "kdrtui"', "automation.vantage_points", "must be an array, not a string"),
]


@pytest.mark.parametrize(("line", "field", "message"), KEY_PROBLEMS, ids=[c[0] for c in KEY_PROBLEMS])
def test_a_bad_key_is_refused_at_its_line(line: str, field: str, message: str) -> None:
    assert problems_of(with_automation(f"[automation]\n{line}\n")) == [(FIRST + 1, field, message)]


def test_a_table_of_the_wrong_type_is_reported_once() -> None:
    assert problems_of('automation = "act"\n' + PLAN + FLOW) == [
        (1, "automation", "must be a table, not a string")
    ]


# --- rules across tables (plan_rules) -----------------------------------------------------------------

SECONDARY_ONLY = (
    "'kdrtui' (the machine running kdrtui watch) or an edge node of the secondary cluster (its edge "
    "nodes: dr-edge-1)"
)

RULES: list[tuple[str, str, list[tuple[int, str, str]]]] = [
    (
        "unknown vantage point",
        'vantage_points = ["kdrtui", "dr-edge-9"]',
        [
            (
                FIRST + 1,
                "automation.vantage_points[1]",
                f"'dr-edge-9' is not an edge node of the plan; a vantage point is {SECONDARY_ONLY}",
            )
        ],
    ),
    (
        "named twice",
        'vantage_points = ["dr-edge-1", "kdrtui", "dr-edge-1"]',
        [
            (
                FIRST + 1,
                "automation.vantage_points[2]",
                "'dr-edge-1' is already vantage_points[0]; name each once",
            )
        ],
    ),
    (
        "kdrtui twice",
        'vantage_points = ["kdrtui", "kdrtui"]',
        [
            (
                FIRST + 1,
                "automation.vantage_points[1]",
                "'kdrtui' is already vantage_points[0]; name each once",
            )
        ],
    ),
    (
        "an edge node of the primary",
        'vantage_points = ["kdrtui", "primary-edge-1"]',
        [
            (
                FIRST + 1,
                "automation.vantage_points[1]",
                "'primary-edge-1' is an edge node of the primary cluster 'primary': it goes down with the "
                "primary's region, so it cannot tell an outage of the primary from its own; use an edge "
                "node of the secondary 'dr' or 'kdrtui'",
            )
        ],
    ),
    (
        "no vantage point",
        "vantage_points = []",
        [
            (
                FIRST + 1,
                "automation.vantage_points",
                "name at least one vantage point: 'kdrtui' (the machine running kdrtui watch) or an edge "
                "node of the secondary cluster",
            )
        ],
    ),
    (
        "quorum above the vantage points",
        'vantage_points = ["kdrtui", "dr-edge-1"]\nquorum = 3',
        [
            (
                FIRST + 2,
                "automation.quorum",
                "3 is more than the 2 vantage points; the quorum is 1 to 2 (leave it out: all of them)",
            )
        ],
    ),
    (
        "quorum above the default vantage point",
        "quorum = 2",
        [
            (
                FIRST + 1,
                "automation.quorum",
                "2 is more than the 1 vantage point; the quorum is 1 to 1 (leave it out: all of them)",
            )
        ],
    ),
]


@pytest.mark.parametrize(("keys", "expected"), [c[1:] for c in RULES], ids=[c[0] for c in RULES])
@pytest.mark.parametrize("enabled", [True, False], ids=["enabled", "disabled"])
def test_each_rule_names_the_key_and_its_line(keys: str, expected: object, enabled: bool) -> None:
    # The rules hold whether or not the policy is enabled: a plan turned on later is already sound.
    table = f"[automation]\n{keys}\nenabled = {'true' if enabled else 'false'}\n"
    assert problems_of(with_automation(table)) == expected


def test_vantage_points_of_the_secondary_and_a_quorum_that_fits_are_accepted() -> None:
    text = with_automation(
        '[automation]\nenabled = true\nvantage_points = ["dr-edge-1", "kdrtui"]\nquorum = 2\n'
    )
    assert parse_plan(text).automation.needed == 2


def test_an_edge_node_of_a_third_cluster_is_not_a_vantage_point() -> None:
    third = PLAN + textwrap.dedent(
        """\
        [clusters.audit]
        region = "centralus"

        [[edge_nodes]]
        name = "audit-edge-1"
        cluster = "audit"
        host = "10.2.0.20"
        user = "sshuser"
        kafka_home = "/opt/kafka"

        """
    )
    line = third.count("\n") + 2
    assert problems_of(with_automation('[automation]\nvantage_points = ["audit-edge-1"]\n', base=third)) == [
        (
            line,
            "automation.vantage_points[0]",
            "'audit-edge-1' is an edge node of 'audit', not of the secondary cluster 'dr': a vantage point "
            "probes the primary from the DR side",
        )
    ]


def test_the_roles_named_in_the_plan_decide_which_edge_nodes_count() -> None:
    swapped = PLAN.replace(
        'topology = "cold-standby"', 'topology = "cold-standby"\nprimary = "dr"\nsecondary = "primary"'
    )
    text = with_automation(
        '[automation]\nvantage_points = ["primary-edge-1", "dr-edge-1"]\n',
        base=swapped,
        flow='\n[[flows]]\nsource = "dr"\ntarget = "primary"\n',
    )
    assert problems_of(text) == [
        (
            FIRST + 3,
            "automation.vantage_points[1]",
            "'dr-edge-1' is an edge node of the primary cluster 'dr': it goes down with the primary's "
            "region, so it cannot tell an outage of the primary from its own; use an edge node of the "
            "secondary 'primary' or 'kdrtui'",
        )
    ]


HOT_PLAN = """\
[plan]
name = "orders-hot"
topology = "hot-standby"

[clusters.primary]
region = "eastus"

[clusters.dr]
region = "westus2"

"""

HOT_ACT = (
    '"act" runs the failover runbook, which refuses a hot-standby plan: it mirrors nothing, so there is no '
    'flow to stop and hand over; use mode = "advise", or topology "cold-standby" or "active-active"'
)


def test_act_is_refused_for_a_hot_standby() -> None:
    text = HOT_PLAN + '[automation]\nenabled = true\nmode = "act"\n'
    assert problems_of(text) == [(HOT_PLAN.count("\n") + 3, "automation.mode", HOT_ACT)]


@pytest.mark.parametrize(
    "table",
    ['[automation]\nenabled = true\nmode = "advise"\n', '[automation]\nenabled = false\nmode = "act"\n'],
    ids=["advise", "act-disabled"],
)
def test_a_hot_standby_may_advise_or_hold_a_disabled_act(table: str) -> None:
    assert parse_plan(HOT_PLAN + table).plan.topology == Topology.HOT_STANDBY


@pytest.mark.parametrize("topology", ["cold-standby", "active-active"])
def test_act_is_accepted_for_a_topology_that_fails_over(topology: str) -> None:
    text = PLAN.replace("cold-standby", topology) + '[automation]\nenabled = true\nmode = "act"\n' + FLOW
    if topology == "active-active":
        text += '\n[[flows]]\nsource = "dr"\ntarget = "primary"\n'
    assert parse_plan(text).automation.mode == AutomationMode.ACT


def test_act_needs_two_clusters() -> None:
    text = '[plan]\nname = "solo"\ntopology = "cold-standby"\n\n[clusters.primary]\nregion = "eastus"\n\n'
    text += '[automation]\nenabled = true\nmode = "act"\n'
    found = problems_of(text)
    assert (
        10,
        "automation.mode",
        '"act" fails over from the primary to the secondary: the plan needs two clusters, found 1',
    ) in found
    assert (5, "clusters", "a plan needs two clusters, a primary and a secondary; found 1") in found


def test_the_rules_apply_to_a_plan_built_in_code() -> None:
    plan = load_plan(GOOD)
    policy = AutomationSettings(vantage_points=["kdrtui", "nowhere"], quorum=3)
    assert plan_problems(plan.model_copy(update={"automation": policy})) == [
        PlanProblem(
            "<plan>",
            0,
            "automation.vantage_points[1]",
            f"'nowhere' is not an edge node of the plan; a vantage point is {SECONDARY_ONLY}",
        ),
        PlanProblem(
            "<plan>",
            0,
            "automation.quorum",
            "3 is more than the 2 vantage points; the quorum is 1 to 2 (leave it out: all of them)",
        ),
    ]
    assert plan_problems(plan) == []


# --- the summary --------------------------------------------------------------------------------------


def _line(lines: list[str]) -> str:
    (line,) = [line for line in lines if line.startswith("Automation:")]
    return line


def test_the_summary_says_off_or_the_policy_without_the_alert_command() -> None:
    assert _line(summarize(load_plan(GOOD))) == "Automation: off"
    disabled = with_automation('[automation]\nmode = "act"\n')
    assert _line(summarize(parse_plan(disabled))) == "Automation: off"
    acting = with_automation(
        """\
        [automation]
        enabled = true
        mode = "act"
        vantage_points = ["kdrtui", "dr-edge-1"]
        alert_command = "curl -H 'Authorization: Bearer s3cr3t' https://pager.example.com"
        """
    )
    lines = summarize(parse_plan(acting))
    assert _line(lines) == (
        "Automation: act, hold-down 120 s, quorum 2 of kdrtui, dr-edge-1, max RPO 0 records / 60 s, "
        "cooldown 3600 s, alert: command set"
    )
    assert "s3cr3t" not in "\n".join(lines) and "pager" not in "\n".join(lines)
    advising = with_automation(
        "[automation]\nenabled = true\nquorum = 1\nvantage_points = ['kdrtui', 'dr-edge-1']\n"
        "max_rpo_records = 50\nmax_rpo_seconds = 15\nhold_down_seconds = 30\ncooldown_seconds = 0\n"
    )
    assert _line(summarize(parse_plan(advising))) == (
        "Automation: advise, hold-down 30 s, quorum 1 of kdrtui, dr-edge-1, max RPO 50 records / 15 s, "
        "cooldown 0 s"
    )


# --- README -------------------------------------------------------------------------------------------


def test_the_readme_documents_every_key_and_links_to_kdrtui_watch() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("### `[automation]` (optional)")
    section = text[start : text.index("\n### ", start + 1)]
    for name in AutomationSettings.model_fields:
        assert f"| `{name}` |" in section, name
    assert "(#automated-failover-kdrtui-watch)" in section


# --- the wizard ---------------------------------------------------------------------------------------


def answers(**changes: object) -> WizardAnswers:
    return dataclasses.replace(WizardAnswers(), **changes)


def test_the_objectives_step_offers_the_policy_with_its_trade_offs() -> None:
    a = WizardAnswers()
    assert (a.automation, a.automation_hold_down_seconds) == (Automation.OFF, 120)
    assert (a.automation_max_rpo_records, a.automation_cooldown_seconds) == (0, 3600)
    assert [m.value for m in CHOICES["automation"]] == ["off", "advise", "act"]
    assert FIELDS["objectives"][-4:] == (
        "automation",
        "automation_hold_down_seconds",
        "automation_max_rpo_records",
        "automation_cooldown_seconds",
    )
    # Off: only the choice; its settings appear with the policy.
    assert "automation" in visible_fields(a, "objectives")
    assert "automation_hold_down_seconds" not in visible_fields(a, "objectives")
    assert step_note(a, "objectives") == ""
    on = answers(automation=Automation.ACT)
    assert visible_fields(on, "objectives")[-3:] == FIELDS["objectives"][-3:]
    assert "false alarm" in HELP["automation"] and "unmirrored" in HELP["automation"]
    assert "pages only" in HELP["automation"]
    assert "RTO" in HELP["automation_hold_down_seconds"]
    assert step_note(on, "objectives") == (
        "kdrtui watch fails over when 2 of 2 vantage points (kdrtui, secondary-edge-1) see the primary down "
        "for the hold-down. With a DR edge node in the quorum, a network problem at kdrtui's host alone is "
        "not taken for an outage."
    )
    hot = answers(topology=Topology.HOT_STANDBY, automation=Automation.ADVISE)
    assert step_note(hot, "objectives") == (
        "kdrtui watch pages that it would fail over when 1 of 1 vantage point (kdrtui) sees the primary down "
        "for the hold-down. It alone decides: a network problem there looks like an outage of the primary."
    )


@pytest.mark.parametrize("topology", [Topology.COLD_STANDBY, Topology.ACTIVE_ACTIVE])
@pytest.mark.parametrize("choice", list(Automation))
def test_answers_make_a_plan_that_opens_to_the_same_answers(topology: Topology, choice: Automation) -> None:
    a = answers(
        topology=topology,
        automation=choice,
        edge_node_count=2,
        automation_hold_down_seconds=60,
        automation_max_rpo_records=10,
        automation_cooldown_seconds=900,
    )
    if choice == Automation.OFF:  # hidden settings keep the defaults the plan's absent table gives back
        a = answers(topology=topology, edge_node_count=2)
    plan = build_plan(a)
    text = plan_toml(a)
    if choice == Automation.OFF:
        assert "[automation]" not in text
        assert plan.automation == AutomationSettings()
    else:
        assert plan.automation == AutomationSettings(
            enabled=True,
            mode=AutomationMode(choice.value),
            hold_down_seconds=60,
            vantage_points=["kdrtui", "secondary-edge-1", "secondary-edge-2"],
            max_rpo_records=10,
            cooldown_seconds=900,
        )
        # Written after [failover] (when present) and before [azure]; the quorum left out (all).
        assert re.search(r"\[switch\][^\[]*\n\[automation\]\nenabled = true\nmode = ", text)
        assert text.index("[automation]") < text.index("[azure]") and "quorum" not in text
    assert parse_plan(text) == plan
    assert parse_plan(plan_to_toml(plan)) == plan
    again = answers_from_plan(plan)
    assert again == a
    assert build_plan(again) == plan


def test_act_on_a_hot_standby_is_refused_at_the_choice() -> None:
    a = answers(topology=Topology.HOT_STANDBY)
    assert set_field(a, "automation", "act") == HOT_ACT
    assert step_errors(a, "objectives") == {"automation": HOT_ACT}
    assert set_field(a, "automation", "advise") is None
    assert build_plan(a).automation.vantage_points == ["kdrtui"]


def test_the_settings_are_checked_like_the_other_objectives() -> None:
    a = answers(automation=Automation.ADVISE)
    assert set_field(a, "automation_hold_down_seconds", "2") == "must be at least 5, not 2"
    assert set_field(a, "automation_hold_down_seconds", "soon") == "must be a whole number, not 'soon'"
    assert a.automation_hold_down_seconds == 2  # the last parsed value stays
    assert set_field(a, "automation_hold_down_seconds", "86401") == "must be at most 86400, not 86401"
    assert set_field(a, "automation_hold_down_seconds", "90") is None
    assert set_field(a, "automation_max_rpo_records", "-1") == "must be at least 0, not -1"
    assert set_field(a, "automation_max_rpo_records", "0") is None
    assert set_field(a, "automation_cooldown_seconds", "-5") == "must be at least 0, not -5"
    assert step_errors(a, "objectives") == {"automation_cooldown_seconds": "must be at least 0, not -5"}
    assert set_field(a, "automation", "sometimes") == "must be one of off, advise, act, not 'sometimes'"
    # Turned off, the settings are hidden and written nowhere: nothing to fix.
    assert set_field(a, "automation", "off") is None
    assert errors(a) == {}
    assert field_error(a, "automation_cooldown_seconds") is None


def test_an_opened_plan_keeps_what_the_wizard_does_not_ask() -> None:
    text = with_automation(
        """\
        [automation]
        enabled = true
        hold_down_seconds = 45
        vantage_points = ["dr-edge-1", "kdrtui"]
        quorum = 1
        max_rpo_seconds = 20
        probe_interval_seconds = 3
        probe_timeout_seconds = 6
        alert_command = "./page.sh"
        """,
        base=GOOD.read_text(encoding="utf-8"),
        flow="",
    )
    plan = parse_plan(text)
    a = answers_from_plan(plan)
    assert (a.automation, a.automation_hold_down_seconds) == (Automation.ADVISE, 45)
    assert build_plan(a) == plan
    assert set_field(a, "automation", "act") is None
    acting = build_plan(a).automation
    assert acting == plan.automation.model_copy(update={"mode": AutomationMode.ACT})
    # Off keeps the table, disabled, with what it says.
    assert set_field(a, "automation", "off") is None
    off = build_plan(a).automation
    assert off == plan.automation.model_copy(update={"enabled": False})
    assert answers_from_plan(build_plan(a)).automation == Automation.OFF


def test_an_opened_plans_own_list_keeps_only_the_nodes_the_wizard_writes() -> None:
    explicit = parse_plan(
        with_automation(
            '[automation]\nenabled = true\nvantage_points = ["kdrtui"]\n',
            base=GOOD.read_text(encoding="utf-8"),
            flow="",
        )
    )
    # "kdrtui" alone, written on purpose beside a DR edge node: kept.
    assert build_plan(answers_from_plan(explicit)).automation.vantage_points == ["kdrtui"]
    # The wizard's own list follows the edge nodes, and a quorum that no longer fits becomes "all".
    a = answers(automation=Automation.ACT, edge_node_count=3)
    three = build_plan(a)
    pinned = three.model_copy(update={"automation": three.automation.model_copy(update={"quorum": 3})})
    edited = answers_from_plan(pinned)
    assert set_field(edited, "edge_node_count", "1") is None
    policy = build_plan(edited).automation
    assert (policy.vantage_points, policy.quorum) == (["kdrtui", "secondary-edge-1"], None)
    edited = answers_from_plan(pinned)
    assert set_field(edited, "edge_node_count", "2") is None
    policy = build_plan(edited).automation
    assert (policy.vantage_points, policy.quorum) == (["kdrtui", "secondary-edge-1", "secondary-edge-2"], 3)
    # A hand-picked list loses the nodes the wizard no longer writes.
    picked = three.model_copy(
        update={"automation": three.automation.model_copy(update={"vantage_points": ["secondary-edge-3"]})}
    )
    edited = answers_from_plan(picked)
    assert set_field(edited, "edge_node_count", "1") is None
    assert build_plan(edited).automation.vantage_points == ["kdrtui", "secondary-edge-1"]


def test_plan_new_takes_the_policy(tmp_path: Path) -> None:
    out = tmp_path / "plan.toml"
    args = ["plan", "new", "--topology", "cold-standby", "--primary-region", "eastus"]
    args += ["--secondary-region", "westus2", "--out", str(out), "--set", "automation=advise"]
    args += ["--set", "automation_cooldown_seconds=60"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    policy = load_plan(out).automation
    assert (policy.enabled, policy.mode, policy.cooldown_seconds) == (True, AutomationMode.ADVISE, 60)
    assert "Automation: advise, hold-down 120 s" in result.stdout
