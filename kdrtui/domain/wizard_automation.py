"""The topology wizard's automated failover policy: the ``[automation]`` table its answers make, where it
probes the primary from, and the objectives step's note on the trade-offs.

The answers themselves (off, advise or act; the hold-down, the largest unmirrored count and the cooldown)
are fields of :class:`~kdrtui.domain.wizard_answers.WizardAnswers`; the plan's rules for the table are
:mod:`kdrtui.domain.plan_automation_rules`'s.
"""

from __future__ import annotations

from typing import Any

from kdrtui.domain.plan_automation import LOCAL_VANTAGE, AutomationSettings
from kdrtui.domain.wizard_answers import Automation, WizardAnswers, mirrors


def edge_node_name(alias: str, number: int) -> str:
    """The name the wizard gives the ``number``-th (from 1) edge node of cluster ``alias``."""
    return f"{alias}-edge-{number}"


def dr_edge_names(answers: WizardAnswers) -> tuple[str, ...]:
    """The names of the edge nodes the wizard puts on the secondary (none for a hot standby)."""
    if not mirrors(answers):
        return ()
    count = max(answers.edge_node_count, 0)
    return tuple(edge_node_name(answers.secondary_alias, n) for n in range(1, count + 1))


def vantage_points(answers: WizardAnswers) -> list[str]:
    """Where ``kdrtui watch`` probes the primary from: ``kdrtui`` and the secondary's edge nodes.

    An opened plan's own list is kept, less the edge nodes the wizard no longer writes; but while the plan
    has no policy set, or its list is what the wizard writes for it, the list follows the edge nodes.
    """
    made = [LOCAL_VANTAGE, *dr_edge_names(answers)]
    base = answers.base
    if base is None or base.automation == AutomationSettings():
        return made
    own = list(base.automation.vantage_points)
    if own == [LOCAL_VANTAGE, *(node.name for node in base.edge_nodes_for(base.secondary_alias))]:
        return made
    return [point for point in own if point in made] or made


def quorum(answers: WizardAnswers) -> int | None:
    """The opened plan's quorum while it fits the vantage points; None: all of them."""
    base = answers.base
    if base is None or base.automation.quorum is None:
        return None
    wanted = base.automation.quorum
    return wanted if wanted <= len(vantage_points(answers)) else None


def automation_note(answers: WizardAnswers) -> str:
    """The objectives step's note on the policy: who probes, how many must agree, and what that buys."""
    points = vantage_points(answers)
    needed = quorum(answers) or len(points)
    does = "fails over" if answers.automation == Automation.ACT else "pages that it would fail over"
    many = len(points) != 1
    where = f"{needed} of {len(points)} vantage point{'s' if many else ''} ({', '.join(points)})"
    note = f"kdrtui watch {does} when {where} {'see' if many else 'sees'} the primary down for the hold-down."
    if needed > 1:
        return (
            f"{note} With a DR edge node in the quorum, a network problem at kdrtui's host alone is not "
            "taken for an outage."
        )
    if len(points) == 1:
        return f"{note} It alone decides: a network problem there looks like an outage of the primary."
    return f"{note} Any one decides: a network problem at kdrtui's host alone looks like an outage."


_AUTOMATION_ORDER = (
    "enabled",
    "mode",
    "hold_down_seconds",
    "vantage_points",
    "quorum",
    "max_rpo_records",
    "max_rpo_seconds",
    "cooldown_seconds",
)
"""The order a written ``[automation]`` table starts with (the rest follows as the opened plan had it)."""


def automation_table(answers: WizardAnswers) -> dict[str, Any] | None:
    """The ``[automation]`` table the answers give the plan; None: none (the policy is off).

    The keys the wizard does not ask about (probe interval and timeout, ``max_rpo_seconds``, the alert
    command...) are kept from the opened plan's table. Off keeps an opened plan's table that says more than
    the defaults, with ``enabled = false``.
    """
    base = answers.base.automation if answers.base is not None else AutomationSettings()
    kept = base.model_dump(mode="json", exclude_none=True)
    defaults = AutomationSettings().model_dump(mode="json", exclude_none=True)
    kept = {key: value for key, value in kept.items() if value != defaults.get(key)}
    if answers.automation == Automation.OFF:
        off = {**kept, "enabled": False}
        return off if AutomationSettings.model_validate(off) != AutomationSettings() else None
    table: dict[str, Any] = {**kept}
    table.pop("quorum", None)
    table.update(
        enabled=True,
        mode=answers.automation.value,
        hold_down_seconds=answers.automation_hold_down_seconds,
        vantage_points=vantage_points(answers),
        max_rpo_records=answers.automation_max_rpo_records,
        cooldown_seconds=answers.automation_cooldown_seconds,
    )
    needed = quorum(answers)
    if needed is not None:
        table["quorum"] = needed
    return {key: table[key] for key in _AUTOMATION_ORDER if key in table} | {
        key: value for key, value in table.items() if key not in _AUTOMATION_ORDER
    }
