"""``split-brain``: an active-active lab (``primary -> dr`` and ``dr -> primary``, prefixed names) where both
sides write the same keys of the same topics; the WAN between them drops for :data:`PARTITION_S` seconds,
both sides keep taking writes, then the link heals and both flows catch up.

What it counts, exactly, from the records' sequence numbers and produce times:

- per topic and key, the writes each side took during the partition; a key written on both sides while
  neither could see the other's writes is a *conflict* (the two sides' histories of that key diverged:
  which write is "last" depends on which copy a reader reads last);
- both directions' records lost, duplicated and out of order once healed (each side's writes must reach
  the other exactly once, and never come back: no ``primary.dr.<topic>``).

What kdrtui shows: both flows falling behind in ``kdrtui status`` while the link is down (the observer's
states and alerts), and — the divergence view (``kdrtui status`` of a hot standby) read on this plan —
each topic compared by name across the clusters: the local topics' record counts (each side's own
writes), the copies as topics on one side only. It has no per-key view: conflicts are not shown by
kdrtui, and the ``conflicts-shown`` check says so (not applicable, never a pass).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from kdrtui.domain.gameday import TopicCounts, count_topic
from kdrtui.services.gameday.context import GamedayContext, bootstrap_of, target_topic
from kdrtui.services.gameday.operator import read_to_end
from kdrtui.services.gameday.scenario import Scenario
from kdrtui.services.gameday.traffic import KEYS, SequencedTraffic, Verifier

PARTITION_S = 30.0
"""How long the WAN is down."""


def _flow(ctx: GamedayContext, source: str) -> Any:
    found = [f for f in ctx.running.flows if f.source == source]
    if not found:
        raise RuntimeError(f"the plan has no flow from {source}: split-brain needs an active-active plan")
    return found[0]


def keyed(acked: dict[int, float], since: float, until: float) -> Counter[str]:
    """Writes per key (``k<seq % KEYS>``) acknowledged with a produce time in ``[since, until]``."""
    return Counter(f"k{seq % KEYS}" for seq, at in acked.items() if since <= at <= until)


def run(ctx: GamedayContext) -> None:
    """The scenario (see the module)."""
    primary, secondary = ctx.plan.primary_alias, ctx.plan.secondary_alias
    forward, back = _flow(ctx, primary), _flow(ctx, secondary)
    wan = ctx.lab.wan
    ctx.start_traffic()  # primary's writers, read on dr as primary.<topic>
    other = SequencedTraffic(
        bootstrap_of(ctx.plan, secondary), list(ctx.traffic.topics), rate=ctx.traffic.rate
    )
    other.create_topics()
    reader = Verifier(bootstrap_of(ctx.plan, primary), {t: target_topic(back, t) for t in other.topics})
    other.start()
    reader.start()
    try:
        ctx.mark(f"traffic on {secondary} too: the same topics and keys, {other.rate:g} records/s", "traffic")
        ctx.wait_until(
            lambda: all(reader.seen(t) for t in other.topics), 90, f"records of {secondary} on {primary}"
        )
        ctx.mark(
            f"mirrored both ways: {secondary}'s records read on {primary} "
            f"({', '.join(reader.targets.values())})"
        )
        ctx.on_restore("WAN healed", wan.reset)
        wan.partition(PARTITION_S)
        since = round(time.time(), 3)  # to the ms, like the records' produce times: the figure is exact
        ctx.fault(f"WAN partitioned for {PARTITION_S:g} s (both ways); both sides keep writing the same keys")
        names = (f"{forward.source}->{forward.target}", f"{back.source}->{back.target}")
        ctx.detected(
            "kdrtui shows both flows behind (not OK)",
            lambda s: all(s.flows.get(n) not in ("OK", "IDLE", None) for n in names),
            PARTITION_S + 30,
        )
        ctx.wait_until(lambda: not wan.state().partitioned, PARTITION_S + 30, "the WAN healing by itself")
        until = round(time.time(), 3)
        ctx.mark(f"WAN healed after {until - since:.1f} s")
        # Healed: both flows catch up, then both sides stop writing and everything is read on the other side.
        ctx.wait_caught_up(180, f"{primary}'s partition writes on {secondary}")
        pending = {t: set(other.acked(t)) for t in other.topics}
        took = ctx.wait_until(
            lambda: all(pending[t] <= reader.seen(t) for t in other.topics),
            180,
            f"{secondary}'s writes on {primary}",
        )
        ctx.mark(f"caught up: {secondary}'s partition writes on {primary} ({took:.1f} s)")
        other.stop()
        ctx.settle()
        ctx.wait_until(
            lambda: reader.missing(other.acked) == 0, 90, f"every record of {secondary} on {primary}"
        )
        read_to_end(
            ctx, reader, bootstrap_of(ctx.plan, primary), other.topics, f"the copies on {primary} read"
        )
    finally:
        other.stop(flush_s=5.0)
        reader.stop()
    back_counts = [
        count_topic(
            t, reader.targets[t], produced=other.produced(t), acked=other.acked(t), reads=reader.reads(t)
        )
        for t in other.topics
    ]
    _report(ctx, other, back_counts, since, until, names)


def _report(
    ctx: GamedayContext,
    other: SequencedTraffic,
    back_counts: list[TopicCounts],
    since: float,
    until: float,
    names: tuple[str, str],
) -> None:
    primary, secondary = ctx.plan.primary_alias, ctx.plan.secondary_alias
    ctx.figure("partition start (epoch s)", since)
    ctx.figure("partition end (epoch s)", until)
    conflicting_keys = 0
    records = {primary: 0, secondary: 0}
    per_key: list[str] = []
    for topic in ctx.traffic.topics:
        mine = keyed(ctx.traffic.acked(topic), since, until)
        theirs = keyed(other.acked(topic), since, until)
        records[primary] += sum(mine.values())
        records[secondary] += sum(theirs.values())
        both = sorted(set(mine) & set(theirs), key=lambda k: int(k[1:]))
        conflicting_keys += len(both)
        per_key.append(f"{topic}: " + " ".join(f"{k} {mine[k]}/{theirs[k]}" for k in both))
    ctx.figure(f"writes on {primary} during the partition", records[primary])
    ctx.figure(f"writes on {secondary} during the partition", records[secondary])
    ctx.figure("keys written on both sides during the partition (conflicts)", conflicting_keys)
    ctx.figure(f"conflicting writes per key ({primary}/{secondary})", "; ".join(per_key))
    forward_counts = ctx.verifier.counts(ctx.traffic)
    for label, counts in (
        (f"{primary}->{secondary}", forward_counts),
        (f"{secondary}->{primary}", back_counts),
    ):
        ctx.figure(f"{label}: acked", sum(c.acked for c in counts))
        ctx.figure(f"{label}: lost", sum(c.lost for c in counts))
        ctx.figure(f"{label}: duplicated", sum(c.duplicated for c in counts))
        ctx.figure(f"{label}: out of order", sum(c.out_of_order for c in counts))
    lost = sum(c.lost for c in [*forward_counts, *back_counts])
    ooo = sum(c.out_of_order for c in [*forward_counts, *back_counts])
    during_records, during_seconds = ctx.max_lag(ctx.fault_at or 0.0)
    ctx.figure("max lag during the partition (records)", during_records)
    ctx.figure("max lag during the partition (s)", round(during_seconds, 1))
    ctx.measure_rpo(time.time(), "no failover: acknowledged records missing on the other side once healed")
    ctx.set_rto(None, "nothing fails over in a split brain: no runbook ran")
    ctx.check(
        "detected",
        "both flows shown behind while the link is down",
        f"after {ctx.detection.value:.1f} s" if ctx.detection.value is not None else "not seen",
        ctx.detection.value is not None,
    )
    ctx.check(
        "converged",
        "once healed each side holds every write of the other, exactly once in order per key",
        f"{lost} lost, {ooo} out of order (both directions)",
        lost == 0 and ooo == 0,
    )
    loops = _loops(ctx)
    ctx.check(
        "no-loop", "no copy of a copy (primary.dr.<topic>, dr.primary.<topic>)", loops or "none", not loops
    )
    shown = _divergence(ctx)
    ctx.figure("divergence view", shown)
    ctx.check(
        "conflicts-shown",
        "kdrtui shows which keys were written on both sides",
        f"{conflicting_keys} conflicting keys (counted by the scenario); kdrtui's divergence view: {shown}; "
        "it compares topics by name, with no per-key view",
        None,
    )


def _loops(ctx: GamedayContext) -> str:
    primary, secondary = ctx.plan.primary_alias, ctx.plan.secondary_alias
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config

    found = []
    for alias in (primary, secondary):
        topics = AdminClient(client_config(bootstrap_of(ctx.plan, alias))).list_topics(timeout=10).topics
        for topic in ctx.traffic.topics:
            for loop in (f"{primary}.{secondary}.{topic}", f"{secondary}.{primary}.{topic}"):
                if loop in topics:
                    found.append(f"{loop} on {alias}")
    return ", ".join(found)


def _divergence(ctx: GamedayContext) -> str:
    """What kdrtui's divergence view shows for the run's topics, as one line."""
    from kdrtui.services.kafka.divergence_engine import DivergenceEngine

    engine = DivergenceEngine(ctx.plan)
    try:
        snapshot = engine.refresh()
    finally:
        engine.close()
    mine = set(ctx.traffic.topics)
    primary, secondary = ctx.plan.primary_alias, ctx.plan.secondary_alias
    wanted = mine | {f"{primary}.{t}" for t in mine} | {f"{secondary}.{t}" for t in mine}
    parts = []
    for t in sorted((t for t in snapshot.topics if t.topic in wanted), key=lambda t: t.topic):
        p = "-" if t.primary is None else t.primary.records
        s = "-" if t.secondary is None else t.secondary.records
        parts.append(f"{t.topic} {p}/{s} Δ{t.records_delta:+} {t.health}")
    return "; ".join(parts) or f"no topic of the run ({snapshot.error or 'nothing read'})"


SCENARIO = Scenario(
    name="split-brain",
    summary=f"Active-active: both sides write the same keys while the WAN is down for {PARTITION_S:g} s, "
    "then it heals and both flows catch up.",
    proves="What a split brain leaves behind, counted exactly: the keys both sides wrote while they could "
    "not see each other (conflicts), that once healed each side holds every write of the other exactly once "
    "and nothing loops back, and what kdrtui's views show of it (the flows behind; the divergence view per "
    "topic, with no per-key conflicts).",
    needs=frozenset({"active-active", "wan"}),
    long=True,
    run=run,
)
