"""The DR plan: which clusters, which edge nodes, what is mirrored where, and what "healthy" means.

A plan is a TOML file a person can edit by hand (``the README's 'The DR plan file'`` documents every key).
:func:`parse_plan` reads one's text and either returns a :class:`Plan` or raises :class:`PlanInvalid`
listing *every* problem it found, each with the line it is on (reading and writing the file itself is
:mod:`kdrtui.services.plan_files`'s job). Checking happens in three passes over the parsed TOML, all of
which always run:

1. what no plan may hold is refused and removed: keys that look like secrets (``password``,
   ``token``...), keys and strings with control characters, integers beyond 64 bits, deep nesting;
2. pydantic checks each key on its own (types, ranges, Azure naming rules): the models here;
3. the rules that involve several keys (flows name real clusters, VNets don't overlap, the topology has
   the flows it needs...).

Pass 1 lives in :mod:`kdrtui.domain.plan_refused`, pass 2's models in :mod:`kdrtui.domain.plan_model`
(and the modules it names), pass 3 in :mod:`kdrtui.domain.plan_rules`; this module holds the parsing and
the summary, and re-exports the models.

Whatever the text, loading never raises anything but :class:`PlanInvalid`: what ``tomllib`` cannot
survive (deep nesting, huge integers) is caught by :mod:`kdrtui.domain.toml_limits` first, and every
value a problem quotes is escaped and cut (:mod:`kdrtui.domain.safe_text`), so each problem prints as
one line starting with ``PATH:LINE:``.
"""

from __future__ import annotations

import logging
import re
import tomllib
from datetime import date, datetime, time

import tomli_w
from pydantic import (
    ValidationError,
)
from pydantic_core import ErrorDetails

from kdrtui.domain import dns_names
from kdrtui.domain.plan_automation import AutomationMode, AutomationSettings
from kdrtui.domain.plan_azure import AzureCredentialKind, AzureSettings
from kdrtui.domain.plan_failover import ClientSwitch, FailoverSettings, FenceMethod, Objectives, SwitchMethod
from kdrtui.domain.plan_flows import MirrorFlow, MirrorMakerKind, Naming, Schedule
from kdrtui.domain.plan_model import Plan, PlanInfo, Topology
from kdrtui.domain.plan_problems import Found, PlanInvalid, PlanProblem
from kdrtui.domain.plan_refused import strip_refused
from kdrtui.domain.plan_rules import cross_key_problems
from kdrtui.domain.plan_sites import NETWORK_KEYS, Cluster, EdgeNode, HDInsightCluster
from kdrtui.domain.safe_text import escape, quoted, shown, shown_int
from kdrtui.domain.toml_limits import LONG_INTEGER_MESSAGE, NESTING_MESSAGE, long_integer_line, text_problem
from kdrtui.domain.toml_lines import KeyPath, LineIndex, format_path, line_index

_log = logging.getLogger(__name__)

__all__ = [
    "NETWORK_KEYS",
    "AutomationMode",
    "AutomationSettings",
    "AzureCredentialKind",
    "AzureSettings",
    "ClientSwitch",
    "Cluster",
    "EdgeNode",
    "FailoverSettings",
    "FenceMethod",
    "Found",
    "HDInsightCluster",
    "MirrorFlow",
    "MirrorMakerKind",
    "Naming",
    "Objectives",
    "Plan",
    "PlanInfo",
    "PlanInvalid",
    "PlanProblem",
    "Schedule",
    "SwitchMethod",
    "Topology",
    "automation_text",
    "locate_problems",
    "parse_plan",
    "plan_problems",
    "plan_to_toml",
    "summarize",
]

# --- loading ----------------------------------------------------------------------------------------


def _toml_type(value: object) -> str:
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        ((datetime, date, time), "a date/time"),
    )
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _pydantic_message(error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error["input"]
    what = quoted(value) if isinstance(value, str) else _toml_type(value)
    if kind == "missing":
        if len(error["loc"]) == 1:
            return f"required section [{error['loc'][0]}] is missing"
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str(ctx["error"])
    if kind == "enum":
        return f"must be {ctx['expected']}, not {what}"
    if kind == "string_type":
        return f"must be a string, not {_toml_type(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be an integer, not {_toml_type(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {_toml_type(value)}"
    if kind == "list_type":
        return f"must be an array, not {_toml_type(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a table, not {_toml_type(value)}"
    bounds = {"greater_than_equal": ("ge", "at least"), "less_than_equal": ("le", "at most")}
    if kind in bounds:
        key, words = bounds[kind]
        number = shown_int(value) if isinstance(value, int) else _toml_type(value)
        return f"must be {words} {ctx[key]}, not {number}"
    return shown(str(error["msg"]), 200)


def _syntax_problem(path: str, text: str, exc: tomllib.TOMLDecodeError) -> PlanProblem:
    message = str(exc)
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if where:
        line = int(where.group(1))
        message = f"{message[: where.start()]} (column {where.group(2)})"
    else:
        line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        message = re.sub(r"\s*\(at end of document\)$", " at the end of the file", message)
    return PlanProblem(path, line, "toml", f"invalid TOML: {shown(message, 200)}")


def _problems(path: str, index: LineIndex | None, found: Found) -> list[PlanProblem]:
    problems: list[PlanProblem] = []
    seen: set[tuple[KeyPath, str]] = set()
    for key, message in found:
        if (key, message) in seen:
            continue
        seen.add((key, message))
        line = index.line_of(key) if index is not None else 0
        problems.append(PlanProblem(path, line, format_path(key), message))
    return sorted(problems, key=lambda p: p.line)


def locate_problems(text: str, path: str, found: Found) -> list[PlanProblem]:
    """``found`` (key, message) as problems at their lines of the plan ``text`` read from ``path`` (for
    checks made outside this module, e.g. that the files a plan names can be read)."""
    return _problems(escape(path), line_index(text), found)


def _read_toml(text: str, path: str) -> dict[str, object]:
    """Parse ``text``, or raise :class:`PlanInvalid` with the line to blame."""
    beyond = text_problem(text)
    if beyond is not None:
        line, message = beyond
        raise PlanInvalid(path, [PlanProblem(path, line, "toml", message)])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanInvalid(path, [_syntax_problem(path, text, exc)]) from None
    except ValueError:
        # int() refuses more than 4,300 digits; anything else is not ours to explain.
        where = long_integer_line(text)
        if where is None:
            raise
        raise PlanInvalid(path, [PlanProblem(path, where, "toml", LONG_INTEGER_MESSAGE)]) from None
    except RecursionError:
        # text_problem keeps nesting shallow; should it ever miss a way to nest, this is the same problem.
        raise PlanInvalid(path, [PlanProblem(path, 0, "toml", NESTING_MESSAGE)]) from None


def _beneath(key: KeyPath, refused: set[KeyPath]) -> bool:
    return any(key[:n] in refused for n in range(len(key) + 1))


def _check(text: str, path: str) -> Plan:
    raw = _read_toml(text, path)
    found: Found = []
    data = strip_refused(raw, (), found)
    # A refused key or value was reported and removed: what later passes say of it (required, not a
    # known region...) would only repeat that, or quote what was refused.
    refused = {key for key, _ in found}
    later: Found = []
    plan: Plan | None = None
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        later.extend((tuple(error["loc"]), _pydantic_message(error)) for error in exc.errors())
    later.extend(cross_key_problems(data))
    found.extend(problem for problem in later if not _beneath(problem[0], refused))
    if found or plan is None:
        raise PlanInvalid(path, _problems(path, line_index(text), found))
    return plan


def parse_plan(text: str, path: str = "<plan>") -> Plan:
    """Read a plan from TOML text; raise :class:`PlanInvalid` listing every problem.

    Nothing else is raised, whatever ``text`` holds: an error kdrtui did not foresee becomes a problem
    naming it (and is logged with its traceback at debug level), never a crash.
    """
    shown_path = escape(path)
    try:
        return _check(text, shown_path)
    except PlanInvalid:
        raise
    except Exception as exc:
        _log.debug("checking the plan %s failed", shown_path, exc_info=True)
        message = (
            f"kdrtui could not check this file ({type(exc).__name__}: {_error_text(exc)}); "
            "please report this bug"
        )
        raise PlanInvalid(shown_path, [PlanProblem(shown_path, 0, "file", message)]) from exc


def _error_text(exc: BaseException) -> str:
    try:
        return shown(str(exc), 200)
    except Exception:  # an exception whose str() fails says nothing more than its type
        return "no description"


def plan_problems(plan: Plan, path: str = "<plan>") -> list[PlanProblem]:
    """The cross-field problems of a plan built in code (by the wizard, say); line 0 throughout.

    Field-level rules already hold for any :class:`Plan` instance; this adds the rules that relate
    several keys, exactly as :func:`parse_plan` applies them.
    """
    return _problems(path, None, cross_key_problems(plan.model_dump(mode="json", exclude_none=True)))


def plan_to_toml(plan: Plan) -> str:
    """The plan as TOML text (keys that are not set are left out); :func:`parse_plan` reads it back.

    The ``[automation]`` table is left out while it is all defaults (off), so a plan that never had one
    is written as it was.
    """
    data = plan.model_dump(mode="json", exclude_none=True)
    if plan.automation == AutomationSettings():
        data.pop("automation", None)
    return tomli_w.dumps(data)


# --- summary ----------------------------------------------------------------------------------------


def summarize(plan: Plan) -> list[str]:
    """The one-screen summary ``kdrtui plan validate`` prints for a valid plan."""
    lines = [
        f"Plan {plan.plan.name}: {plan.plan.topology}; primary cluster {plan.primary_alias}, "
        f"secondary cluster {plan.secondary_alias}",
        "Clusters:",
    ]
    width = max(len(alias) for alias in plan.clusters)
    for alias, cluster in plan.clusters.items():
        where = cluster.region
        if cluster.hdinsight is not None:
            hdi = cluster.hdinsight
            where += f", HDInsight {hdi.name} ({hdi.worker_count} x {hdi.worker_vm_size})"
        if cluster.vnet_cidr:
            where += f", VNet {cluster.vnet_cidr}"
        bootstrap = ", ".join(cluster.bootstrap_servers) or "(set after provisioning)"
        lines.append(f"  {alias:<{width}}  {where}, Kafka {cluster.kafka_version}, bootstrap {bootstrap}")
    lines.append("Flows:" if plan.flows else "Flows: none")
    for flow in plan.flows:
        topics = ", ".join(flow.topics) + (
            f" except {', '.join(flow.topics_exclude)}" if flow.topics_exclude else ""
        )
        groups = ", ".join(flow.groups) or "none"
        lines.append(
            f"  {flow.source} -> {flow.target}  {flow.mirrormaker}, {flow.naming} names, "
            f"topics {topics}, groups {groups}"
        )
    lines.append("Edge nodes:" if plan.edge_nodes else "Edge nodes: none")
    for node in plan.edge_nodes:
        via = f" via {node.jump_host}" if node.jump_host else ""
        login = f"{node.user}@{node.host}:{node.port}{via}"
        lines.append(f"  {node.name} ({node.cluster})  {login}, Kafka in {node.kafka_home}")
    goals = plan.objectives
    lines.append(
        f"Objectives: RPO {goals.rpo_seconds} s, RTO {goals.rto_seconds} s, "
        f"lag warning {goals.lag_warn_seconds} s, critical {goals.lag_crit_seconds} s"
    )
    lines.append(f"Automation: {automation_text(plan)}")
    switch = (
        f"command: {plan.switch.command}"
        if plan.switch.method == SwitchMethod.COMMAND
        else plan.switch.method
    )
    if plan.switch.method == SwitchMethod.DNS and plan.switch.zone:
        name = dns_names.record_fqdn(plan.switch.record, plan.switch.zone)
        switch = f"dns: {name} (Azure Private DNS, A records of the active cluster's brokers)"
    lines.append(f"Client switch: {switch}")
    fence = plan.failover.fence_text
    if FenceMethod.NSG in plan.failover.fences:
        fence += f" (NSG rule denies the Kafka ports to {', '.join(plan.failover.client_cidrs)})"
    lines.append(f"Fence: {fence}")
    return lines


def automation_text(plan: Plan) -> str:
    """The ``[automation]`` policy in one line: "off", or its mode, hold-down, quorum, RPO and cooldown.

    The alert command is never shown (it may carry a token on its command line): only that one is set.
    """
    policy = plan.automation
    if not policy.enabled:
        return "off"
    rpo_seconds = policy.max_rpo_seconds
    if rpo_seconds is None:
        rpo_seconds = plan.objectives.rpo_seconds
    text = (
        f"{policy.mode}, hold-down {policy.hold_down_seconds} s, quorum {policy.needed} of "
        f"{', '.join(policy.vantage_points)}, max RPO {policy.max_rpo_records} records / {rpo_seconds} s, "
        f"cooldown {policy.cooldown_seconds} s"
    )
    return text + (", alert: command set" if policy.alert_command else "")
