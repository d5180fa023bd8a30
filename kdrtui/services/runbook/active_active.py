"""The failover and failback of an active-active plan: both flows run all the time, both sites take writes.

A failover of an active-active plan moves ONE site's clients (the primary's) to the other; the other
site's own clients never move and never stop. So, for ``primary -> dr``:

- **fenced**: the primary's own topics, the ones ``primary -> dr`` mirrors (by the plan's ``[failover]
  fence``), so the moved producers cannot go on writing there. **Not fenced**: the copies of dr's topics
  on primary (``dr.orders``: ``dr -> primary`` keeps writing them), MirrorMaker's and Kafka's internal
  topics, and nothing at all on dr (its own clients keep writing its topics).
- ``primary -> dr`` is drained and stopped (the RPO is measured there: records of the primary's own topics
  that never reached ``primary.*`` on dr). ``dr -> primary`` is neither stopped nor restarted: it already
  runs, so the failover's "replication in the new direction" finds it running and leaves it, and no second
  "reverse" flow is derived (the plan's own flow is the reverse).
- offsets: the primary's groups resume on dr at ``primary.orders`` (checkpoints, offset syncs, as for a
  cold standby) and, for what they read of dr's own topics through their copies (``dr.orders`` on primary),
  at ``orders`` on dr (``dr -> primary``'s offset syncs mapped back, :func:`origin_offsets`; only while the
  primary answers: no checkpoint covers those copies).

The failback ``dr -> primary`` brings those clients home without touching dr's own:

- it fences nothing on dr and neither drains nor stops ``dr -> primary`` (what the moved producers write on
  dr until they are switched back reaches primary as ``dr.*`` through that running flow: nothing is lost);
- it translates the offsets of only the groups the failover moved (its journal's translate step,
  :func:`moved_groups`): ``primary.orders`` on dr -> ``orders`` on primary, ``orders`` on dr ->
  ``dr.orders`` on primary (dr's own groups stay where they are);
- it undoes the failover's fence on primary and starts ``primary -> dr`` again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kdrtui.domain.plan import Plan, Topology
from kdrtui.services.runbook.context import FAILBACK, FAILOVER, DrContext


def is_active_active(plan: Plan) -> bool:
    """The plan's topology is active-active (both flows are the plan's own and run all the time)."""
    return plan.plan.topology == Topology.ACTIVE_ACTIVE


def failback_keeps_flowing(ctx: DrContext) -> str | None:
    """Why the fence, drain and stop steps leave the DR side alone in this run (a failback of an
    active-active plan), or None when they run as usual."""
    if ctx.operation != FAILBACK or not is_active_active(ctx.plan):
        return None
    return (
        f"active-active: {ctx.source} keeps its own writers and MirrorMaker {ctx.stop_flow.name} keeps "
        f"running (what the moved clients still write on {ctx.source} reaches {ctx.target} through it)"
    )


def moved_groups(ctx: DrContext) -> set[str] | None:
    """The consumer groups the failover that made the DR side active moved there (its journal's translate
    step), None when that is unknown (no such journal): a failback then moves every group it finds."""
    run = ctx.state().run
    if not run:
        return None
    for journal in ctx.store.journals([FAILOVER]):
        if journal.run_id != run:
            continue
        record = journal.state().steps.get("translate-offsets")
        groups = (record.facts or {}).get("groups") if record is not None else None
        return set(groups) if isinstance(groups, dict) else None
    return None


def origin_positions(committed: Mapping[tuple[str, int], int], target: str) -> dict[tuple[str, int], int]:
    """A group's committed offsets on the copies the source holds of ``target``'s own topics
    (``<target>.orders``): what it read of the target's topics, through the other flow."""
    prefix = f"{target}."
    return {(t, p): o for (t, p), o in committed.items() if t.startswith(prefix) and len(t) > len(prefix)}


def origin_offsets(
    positions: Mapping[str, Mapping[tuple[str, int], int]],
    target: str,
    syncs: Mapping[tuple[str, int], list[Any]],
) -> dict[str, dict[str, int]]:
    """Per group, ``{"orders:0": offset}`` on ``target``: each position on ``<target>.orders`` (a copy made
    by the flow ``target -> source``) mapped back to the original topic through that flow's offset syncs
    (keyed by the original topic and partition), conservatively (never past what the group read).
    Partitions no sync covers yet are left out."""
    from kdrtui.services.kafka.translate import best_upstream

    prefix = f"{target}."
    found: dict[str, dict[str, int]] = {}
    for group, position in sorted(positions.items()):
        for (topic, partition), offset in sorted(position.items()):
            original = topic.removeprefix(prefix)
            upstream = best_upstream(offset, None, list(syncs.get((original, partition), [])))
            if upstream is not None:
                found.setdefault(group, {})[f"{original}:{partition}"] = upstream
    return found


def not_on_target(
    origin: Mapping[str, Mapping[str, int]], committed: Mapping[str, Mapping[tuple[str, int], int]]
) -> dict[str, dict[str, int]]:
    """:func:`origin_offsets` without the groups that already read those topics on the target (a committed
    offset on any of them): a group of the target's own (MirrorMaker's group offset sync copies it to the
    source under the same name) keeps its position there; the failover never moves it, least of all
    backwards."""
    kept: dict[str, dict[str, int]] = {}
    for group, offsets in origin.items():
        topics = {key.rpartition(":")[0] for key in offsets}
        if not any(topic in topics for topic, _partition in committed.get(group, {})):
            kept[group] = dict(offsets)
    return kept


def merge_origin(by_group: dict[str, dict[str, Any]], origin: Mapping[str, Mapping[str, int]]) -> None:
    """Add :func:`origin_offsets` to the translate step's per-group plan (in place)."""
    how = "committed offsets on the copies mapped back (offset syncs of the other flow)"
    for group, offsets in origin.items():
        entry = by_group.setdefault(group, {"offsets": {}, "how": how, "duplicates": 0})
        entry["offsets"].update(offsets)
        if entry["how"] != how:
            entry["how"] += f"; {len(offsets)} partition(s) of copies mapped back (other flow's syncs)"
