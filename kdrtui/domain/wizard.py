"""The topology wizard's model: the answers, their steps and checks, and the plan they make.

The wizard pane (and ``kdrtui plan new``) fill a :class:`WizardAnswers`, field by field, through
:func:`set_field`. Every check is the plan's own: the answers are turned into plan TOML and read back with
:func:`kdrtui.domain.plan.parse_plan`, the path every plan file takes, and each problem found is mapped
back to the answer it comes from. So a message shown in the wizard is the message ``kdrtui plan
validate`` would print, and a plan the wizard writes always passes it.

The answers and their fields live in :mod:`kdrtui.domain.wizard_answers`, the answers as plan data (and
back) in :mod:`kdrtui.domain.wizard_plan` (the automated failover policy's table in
:mod:`kdrtui.domain.wizard_automation`), what the plan takes to run in :mod:`kdrtui.domain.wizard_review`;
this module checks the answers and builds the plan, and re-exports all of them (writing the plan file:
:func:`kdrtui.services.plan_files.write_plan`).
"""

from __future__ import annotations

import re

import tomli_w

from kdrtui.domain.plan import (
    Plan,
    PlanInvalid,
    PlanProblem,
    Topology,
    parse_plan,
)
from kdrtui.domain.topologies import topology_info
from kdrtui.domain.wizard_answers import (
    CHOICES,
    FIELD_NAMES,
    FIELDS,
    HELP,
    LABELS,
    STEPS,
    Automation,
    WizardAnswers,
    field_text,
    fields_of,
    mirrors,
    store_field,
    visible_fields,
)
from kdrtui.domain.wizard_answers import step_note as answers_note
from kdrtui.domain.wizard_automation import automation_note, automation_table, vantage_points
from kdrtui.domain.wizard_plan import (
    COLD_STANDBY_SECONDARY_WORKER_VM_SIZE,
    KAFKA_HOME,
    answers_from_plan,
    default_subnet,
    edge_host,
    edge_nodes,
    plan_data,
    secondary_disks,
    secondary_password_env,
    secondary_worker_size,
    secondary_workers,
    target_aliases,
)
from kdrtui.domain.wizard_review import (
    Resource,
    monthly_cost,
    provisioning_steps,
    resources,
    unpriced,
)

__all__ = [
    "CHOICES",
    "COLD_STANDBY_SECONDARY_WORKER_VM_SIZE",
    "FIELDS",
    "FIELD_NAMES",
    "HELP",
    "KAFKA_HOME",
    "LABELS",
    "STEPS",
    "WIZARD_PATH",
    "Automation",
    "Resource",
    "WizardAnswers",
    "answer_field",
    "answers_from_plan",
    "automation_note",
    "automation_table",
    "build_plan",
    "default_subnet",
    "edge_host",
    "edge_nodes",
    "errors",
    "field_error",
    "field_text",
    "fields_of",
    "mirrors",
    "monthly_cost",
    "plan_data",
    "plan_toml",
    "problems",
    "provisioning_steps",
    "resources",
    "secondary_disks",
    "secondary_password_env",
    "secondary_worker_size",
    "secondary_workers",
    "set_field",
    "step_errors",
    "step_note",
    "store_field",
    "target_aliases",
    "unpriced",
    "vantage_points",
    "visible_fields",
]
"""The wizard's model in one import: this module's checks and plan file, and the names of
:mod:`~kdrtui.domain.wizard_answers`, :mod:`~kdrtui.domain.wizard_plan`,
:mod:`~kdrtui.domain.wizard_automation` and :mod:`~kdrtui.domain.wizard_review`."""

WIZARD_PATH = "<wizard>"
"""The "file" named in the problems of answers that are not a plan file yet."""


def step_note(answers: WizardAnswers, step: str) -> str:
    """A line to show above the step's fields (empty when there is nothing to say): the topology's and the
    replication's (:func:`kdrtui.domain.wizard_answers.step_note`), and on the objectives step the automated
    failover policy's while it is not off (:func:`~kdrtui.domain.wizard_automation.automation_note`)."""
    if step == "objectives" and answers.automation != Automation.OFF:
        return automation_note(answers)
    return answers_note(answers, step)


def set_field(answers: WizardAnswers, name: str, text: str) -> str | None:
    """Store ``text`` typed into field ``name`` (parsed to the field's type); return its error or None.

    Text that cannot be parsed (a number field holding ``abc``) leaves the previous value and is reported
    until the field is set again. Otherwise the error is :func:`field_error`'s.
    """
    unparsed = store_field(answers, name, text)
    return unparsed if unparsed is not None else field_error(answers, name)


# --- checking -----------------------------------------------------------------------------------------

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

_CLUSTER_KEYS = {
    "region": "region",
    "resource_group": "resource_group",
    "vnet_name": "vnet_name",
    "vnet_cidr": "vnet_cidr",
    "subnet_cidr": "subnet_cidr",
}
_HDINSIGHT_KEYS = {
    "name": "{role}_cluster_name",
    "storage_account": "{role}_storage_account",
    "worker_count": "worker_count",
    "worker_vm_size": "worker_vm_size",
    "head_vm_size": "head_vm_size",
    "zookeeper_vm_size": "zookeeper_vm_size",
    "disks_per_node": "disks_per_node",
    "ssh_user": "ssh_user",
    "login_password_env": "login_password_env",
}
_FLOW_KEYS = {
    "topics": "topics_include",
    "topics_exclude": "topics_exclude",
    "groups": "groups_include",
    "groups_exclude": "groups_exclude",
    "naming": "naming",
    "mirrormaker": "mirrormaker",
}
_SECURITY_KEYS = {
    "protocol": "security_protocol",
    "ca_file": "security_ca_file",
    "cert_file": "security_cert_file",
    "key_file": "security_key_file",
    "mechanism": "security_mechanism",
    "username": "security_username",
    "password_env": "security_password_env",
    "password_file": "security_password_env",
}
_AUTOMATION_KEYS = {
    "hold_down_seconds": "automation_hold_down_seconds",
    "max_rpo_records": "automation_max_rpo_records",
    "cooldown_seconds": "automation_cooldown_seconds",
}
"""The ``[automation]`` keys the wizard asks about; a problem of any other key is shown at its choice."""
_SCHEDULE_KEYS = {
    "every_minutes": "schedule_every_minutes",
    "run_minutes": "schedule_run_minutes",
    "cron": "schedule_cron",
}


def _split_path(dotted: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _PATH_PART.findall(dotted)]


def _schedule_field(message: str) -> str:
    """The answer a [flows.schedule] table-level message is about."""
    if "not both" in message:
        return "schedule_cron"
    if message.startswith("run_minutes"):
        return "schedule_run_minutes"
    return "schedule_every_minutes"


def answer_field(answers: WizardAnswers, problem: PlanProblem) -> str:
    """The wizard field a plan problem is about (the plan's own key path when no field matches)."""
    parts = _split_path(problem.field)
    roles = {answers.primary_alias: "primary", answers.secondary_alias: "secondary"}
    head = parts[0] if parts else ""
    if head == "plan" and len(parts) == 2:
        return {"name": "plan_name", "topology": "topology", "secondary": "secondary_alias"}.get(
            str(parts[1]), problem.field
        )
    if head == "clusters" and len(parts) >= 3 and parts[1] in roles:
        role = roles[str(parts[1])]
        key = str(parts[2])
        if key in _CLUSTER_KEYS:
            return f"{role}_{_CLUSTER_KEYS[key]}"
        if key == "security":
            name = str(parts[3]) if len(parts) >= 4 else "protocol"
            return _SECURITY_KEYS.get(name, "security_protocol")
        if key == "replication_factor":
            own_count = role == "secondary" and answers.secondary_worker_count is not None
            return "secondary_worker_count" if own_count else "worker_count"
        if key == "hdinsight" and len(parts) >= 4 and str(parts[3]) in _HDINSIGHT_KEYS:
            own = {
                "worker_vm_size": answers.secondary_worker_vm_size.strip() != "",
                "login_password_env": answers.secondary_login_password_env.strip() != "",
                "worker_count": answers.secondary_worker_count is not None,
                "disks_per_node": answers.secondary_disks_per_node is not None,
            }
            if role == "secondary" and own.get(str(parts[3]), False):
                return f"secondary_{parts[3]}"
            return _HDINSIGHT_KEYS[str(parts[3])].format(role=role)
    if head == "clusters" and len(parts) == 2 and parts[1] in roles:
        return f"{roles[str(parts[1])]}_alias"
    if head == "edge_nodes" and len(parts) >= 3:
        return {"user": "ssh_user", "key_file": "ssh_key_file"}.get(str(parts[2]), "edge_node_count")
    if head == "flows" and len(parts) >= 3:
        key = str(parts[2])
        if key in _FLOW_KEYS:
            return _FLOW_KEYS[key]
        if key == "schedule":
            if len(parts) >= 4 and str(parts[3]) in _SCHEDULE_KEYS:
                return _SCHEDULE_KEYS[str(parts[3])]
            return _schedule_field(problem.message)
    if head == "objectives" and len(parts) == 2:
        return str(parts[1])
    if head == "automation":
        return _AUTOMATION_KEYS.get(str(parts[1]), "automation") if len(parts) >= 2 else "automation"
    if head == "switch" and len(parts) == 2:
        # The DNS switch's keys are not asked (they are kept from the plan opened): shown at the method.
        fields = {"method": "switch_method", "command": "switch_command", "zone": "switch_method"}
        return fields.get(str(parts[1]), problem.field)
    return problem.field


def _plan_problems(answers: WizardAnswers) -> list[PlanProblem]:
    try:
        parse_plan(tomli_w.dumps(plan_data(answers)), WIZARD_PATH)
    except PlanInvalid as exc:
        return exc.problems
    return []


def _all_visible(answers: WizardAnswers) -> set[str]:
    return {name for step in STEPS for name in visible_fields(answers, step)}


def problems(answers: WizardAnswers) -> list[PlanProblem]:
    """Every problem with the answers, each named by its wizard field (line 0), in field order."""
    visible = _all_visible(answers)
    found = [
        PlanProblem(WIZARD_PATH, 0, name, message)
        for name, message in answers.input_errors.items()
        if name in visible
    ]
    typed = {p.field for p in found}
    seen: set[tuple[str, str]] = set()
    for problem in _plan_problems(answers):
        name = answer_field(answers, problem)
        if name not in typed and (name, problem.message) not in seen:
            seen.add((name, problem.message))
            found.append(PlanProblem(WIZARD_PATH, 0, name, problem.message))
    order = {name: n for n, name in enumerate(name for step in STEPS for name in FIELDS[step])}
    return sorted(found, key=lambda p: order.get(p.field, len(order)))


def errors(answers: WizardAnswers) -> dict[str, str]:
    """The first problem of each field that has one, by field."""
    found: dict[str, str] = {}
    for problem in problems(answers):
        found.setdefault(problem.field, problem.message)
    return found


def field_error(answers: WizardAnswers, name: str) -> str | None:
    """What is wrong with field ``name`` (the message ``kdrtui plan validate`` would give), or None."""
    return errors(answers).get(name)


def step_errors(answers: WizardAnswers, step: str) -> dict[str, str]:
    """The errors of the fields ``step`` shows; for the review step, every error."""
    found = errors(answers)
    if step == "review":
        return found
    shown = visible_fields(answers, step)
    return {name: message for name, message in found.items() if name in shown}


# --- plan ---------------------------------------------------------------------------------------------


def plan_toml(answers: WizardAnswers) -> str:
    """The plan file the answers make: a short header comment, then the plan (raises PlanInvalid)."""
    plan = build_plan(answers)
    info = topology_info(plan.plan.topology)
    header = [f"# {plan.plan.name}: {info.title.lower()}. {info.sentence}"]
    if plan.plan.topology == Topology.HOT_STANDBY:
        header.append(
            "# Applications write every record to both clusters (dual ingest), so there are no [[flows]]."
        )
    header.append("# Written by the kdrtui wizard; check it with 'kdrtui plan validate'.")
    return "\n".join(header) + "\n\n" + tomli_w.dumps(plan_data(answers))


def build_plan(answers: WizardAnswers) -> Plan:
    """The plan the answers describe, read back through the plan file checks; raise PlanInvalid listing
    every problem (each named by its wizard field) when there are any."""
    found = problems(answers)
    if found:
        raise PlanInvalid(WIZARD_PATH, found)
    return parse_plan(tomli_w.dumps(plan_data(answers)), WIZARD_PATH)
