"""Step 8 of a failover or failback: the report of what it achieved — RPO (records not mirrored at
cutover), RTO (confirmation -> clients switched), the groups moved, the divergent records — and its lines."""

from __future__ import annotations

import time
from typing import Any

from kdrtui.domain.runbook import Outcome, Step
from kdrtui.services.runbook.context import DrContext


class Report(Step[DrContext]):
    """Say what the run achieved (:func:`report_lines`) and journal it (:func:`build_report`)."""

    key = "report"
    title = "Report: RPO and RTO achieved"

    async def describe(self, ctx: DrContext) -> list[str]:
        return ["RPO (records not mirrored at cutover), RTO (confirmation -> clients switched), step times"]

    async def run(self, ctx: DrContext) -> Outcome:
        report = build_report(ctx)
        for line in report_lines(report):
            ctx.say(line)
        rpo = "unknown" if report["rpo_records"] is None else f"{report['rpo_records']:,} records"
        return Outcome.done(f"RPO {rpo}, RTO {report['rto_seconds']:.1f} s", **report)


def build_report(ctx: DrContext) -> dict[str, Any]:
    """The run's report from its steps' facts: RPO measured (or its bound), RTO, groups, divergent."""
    stop = ctx.facts["stop-mirrormaker"]
    switch = ctx.facts["switch-clients"]
    switched_at = switch.get("switched_at") or time.time()
    return {
        "operation": ctx.operation,
        "actor": ctx.actor or "operator",
        "from": ctx.source,
        "to": ctx.target,
        # Measured, or None (never a 0 that was not measured) with the best bound known.
        "rpo_records": None if stop.get("rpo_records") is None else int(stop["rpo_records"]),
        "rpo_seconds": None if stop.get("rpo_seconds") is None else float(stop["rpo_seconds"]),
        "rpo_measured": bool(stop.get("rpo_measured", False)),
        "rpo_topics": {t: v[0] for t, v in stop.get("rpo_topics", {}).items() if v and v[0]},
        "rpo_bound_records": stop.get("rpo_bound_records"),
        "rpo_bound_age_s": stop.get("rpo_bound_age_s"),
        "rpo_bound_topics": dict(stop.get("rpo_bound_topics") or {}),
        # Active-active failback: the flow from the old side was left running, nothing is left behind.
        "keeps_flowing": stop.get("keeps_flowing"),
        "lost_records": stop.get("lost_records"),
        "lost_topics": dict(stop.get("lost_topics") or {}),
        "rto_seconds": round(max(0.0, float(switched_at) - ctx.confirmed_at), 3),
        "groups": {
            g: {"partitions": len(e["offsets"]), "duplicates": e.get("duplicates", 0), "how": e["how"]}
            for g, e in ctx.facts["translate-offsets"].get("groups", {}).items()
        },
        "refused_groups": ctx.facts["translate-offsets"].get("refused", []),
        "divergent": dict(ctx.facts["replication"].get("divergent") or {}),
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report (:func:`build_report`) as lines for a person."""
    from kdrtui.services.runbook.forecast import bound_text

    if report.get("rpo_records") is not None and report.get("rpo_measured"):
        rpo = f"RPO achieved: {report['rpo_records']:,} records not mirrored (measured)"
    elif report.get("keeps_flowing"):
        rpo = (
            f"RPO: nothing left behind: MirrorMaker {report['keeps_flowing']} keeps running (active-active), "
            f"so what {report['from']} took reaches {report['to']} as it is mirrored"
        )
    else:
        bound = bound_text(report.get("rpo_bound_records"), report.get("rpo_bound_age_s"), report["from"])
        rpo = f"RPO achieved: not measured ({report['from']} unreachable): {bound}"
    lines = [
        f"{report['operation']} {report['from']} -> {report['to']} complete"
        + (f" (started by {report['actor']})" if report.get("actor") not in (None, "operator") else ""),
        rpo,
        f"RTO achieved: {report['rto_seconds']:.1f} s from confirmation to clients switched",
    ]
    for topic, records in sorted(report["rpo_topics"].items()):
        lines.append(f"  lost on {topic}: {records:,} records")
    if report.get("lost_records"):
        lines.append(
            f"also lost before failing over: {report['lost_records']:,} records deleted on {report['from']} "
            "(retention, delete_records) before MirrorMaker copied them"
        )
        for topic, records in sorted((report.get("lost_topics") or {}).items()):
            lines.append(f"  deleted unmirrored on {topic}: {records:,} records")
    for topic, records in sorted((report.get("rpo_bound_topics") or {}).items()):
        lines.append(f"  estimated {records:,} records on {topic} (at that lag read)")
    for group, entry in sorted(report["groups"].items()):
        lines.append(
            f"  group {group}: {entry['partitions']} partition(s), ~{entry['duplicates']:,} duplicates"
        )
    for group in report["refused_groups"]:
        lines.append(f"  group {group}: NOT moved (active on the target)")
    divergent = report.get("divergent") or {}
    if divergent.get("records"):
        what = (
            f"exported to {', '.join(sorted(divergent.get('exported', {}))[:3])} and skipped"
            if divergent.get("choice") == "skip"
            else f"delivered to {report['from']} late by MirrorMaker"
        )
        count, there, here = divergent["records"], report["to"], report["from"]
        lines.append(f"divergent: {count:,} records on {there} never reached {here}: {what}")
    return lines
