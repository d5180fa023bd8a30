"""Pass 3's rules of the ``[automation]`` table: the ones that involve other tables.

:mod:`kdrtui.domain.plan_rules` runs them with the rest of pass 3, on the raw (secret-free) TOML data and
the primary and secondary it resolved; like the other rules they skip values of the wrong type, which
pydantic reports. Checked whenever the table is present, enabled or not (a policy turned on later is
already sound):

- each vantage point is ``kdrtui`` (the machine running ``kdrtui watch``) or an edge node of the
  secondary cluster, named once: an edge node of the primary goes down with the primary's region;
- the quorum is at most the number of vantage points (at least 1: pydantic's);
- ``enabled = true`` with ``mode = "act"`` runs the failover runbook, which needs two clusters and a flow
  from the primary into the secondary: a hot standby has none (the runbook refuses it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kdrtui.domain.plan_automation import LOCAL_VANTAGE, AutomationMode
from kdrtui.domain.plan_model import Topology
from kdrtui.domain.plan_problems import Found
from kdrtui.domain.safe_text import quoted, shown, shown_int

_LIST_CHARS = 200
"""How much of a list of edge nodes a message shows."""

_LOCAL = f"{quoted(LOCAL_VANTAGE)} (the machine running kdrtui watch)"


def _text(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    return value if isinstance(value, str) and value.strip() else None


def automation_problems(
    data: dict[str, Any], clusters: Sequence[str], primary: str | None, secondary: str | None
) -> Found:
    """The problems of the plan's ``[automation]`` table with the other tables (none without it).

    ``clusters`` are the plan's cluster aliases, ``primary`` and ``secondary`` its roles (None when they
    cannot be resolved: the rules that need them are skipped).
    """
    table = data.get("automation")
    if not isinstance(table, dict):
        return []
    found: Found = []
    points = table.get("vantage_points", [LOCAL_VANTAGE])
    if isinstance(points, list):
        found += _vantage_points(data, points, clusters, primary, secondary)
        quorum, count = table.get("quorum"), len(points)
        if isinstance(quorum, int) and not isinstance(quorum, bool) and count and quorum > count:
            found.append(
                (
                    ("automation", "quorum"),
                    f"{shown_int(quorum)} is more than the {count} vantage point{'s' if count != 1 else ''}; "
                    f"the quorum is 1 to {count} (leave it out: all of them)",
                )
            )
    if table.get("enabled") is True and table.get("mode") == AutomationMode.ACT:
        found += _act(data, clusters)
    return found


def _vantage_points(
    data: dict[str, Any],
    points: list[object],
    clusters: Sequence[str],
    primary: str | None,
    secondary: str | None,
) -> Found:
    """Each vantage point is ``kdrtui`` or an edge node of the secondary, named once."""
    if not points:
        message = f"name at least one vantage point: {_LOCAL} or an edge node of the secondary cluster"
        return [(("automation", "vantage_points"), message)]
    nodes = data.get("edge_nodes")
    cluster_of: dict[str, str | None] = {}
    for node in nodes if isinstance(nodes, list) else []:
        name = _text(node, "name") if isinstance(node, dict) else None
        if name is not None:
            cluster_of.setdefault(name, _text(node, "cluster"))
    found: Found = []
    seen: dict[str, int] = {}
    for n, point in enumerate(points):
        if not isinstance(point, str) or not point.strip():
            continue  # pydantic's
        path = ("automation", "vantage_points", n)
        if point in seen:
            found.append((path, f"{quoted(point)} is already vantage_points[{seen[point]}]; name each once"))
            continue
        seen[point] = n
        if point == LOCAL_VANTAGE:
            continue
        if point not in cluster_of:
            dr_nodes = [name for name, alias in cluster_of.items() if secondary and alias == secondary]
            known = shown(", ".join(dr_nodes), _LIST_CHARS) or "none"
            found.append(
                (
                    path,
                    f"{quoted(point)} is not an edge node of the plan; a vantage point is {_LOCAL} or an "
                    f"edge node of the secondary cluster (its edge nodes: {known})",
                )
            )
            continue
        alias = cluster_of[point]
        if alias is None or alias not in clusters or secondary is None or alias == secondary:
            continue  # an unknown cluster is reported at the edge node
        if alias == primary:
            message = (
                f"{quoted(point)} is an edge node of the primary cluster {quoted(alias)}: it goes down with "
                "the primary's region, so it cannot tell an outage of the primary from its own; use an edge "
                f"node of the secondary {quoted(secondary)} or {quoted(LOCAL_VANTAGE)}"
            )
        else:
            message = (
                f"{quoted(point)} is an edge node of {quoted(alias)}, not of the secondary cluster "
                f"{quoted(secondary)}: a vantage point probes the primary from the DR side"
            )
        found.append((path, message))
    return found


def _act(data: dict[str, Any], clusters: Sequence[str]) -> Found:
    """``mode = "act"`` runs the failover runbook: it needs two clusters and a flow to fail over."""
    found: Found = []
    info = data.get("plan")
    if isinstance(info, dict) and info.get("topology") == Topology.HOT_STANDBY:
        found.append(
            (
                ("automation", "mode"),
                '"act" runs the failover runbook, which refuses a hot-standby plan: it mirrors nothing, so '
                'there is no flow to stop and hand over; use mode = "advise", or topology "cold-standby" '
                'or "active-active"',
            )
        )
    if isinstance(data.get("clusters", {}), dict) and len(clusters) < 2:
        found.append(
            (
                ("automation", "mode"),
                '"act" fails over from the primary to the secondary: the plan needs two clusters, '
                f"found {len(clusters)}",
            )
        )
    return found
