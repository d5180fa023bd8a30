"""The automated failover policy rehearsed (``kdrtui watch`` as its own process on the lab):

- ``auto-region-loss``: the region goes dark with the policy in ``act`` mode: it fails over by itself
  within hold-down + RTO, the report names ``automation``, it pages, and it does not act again before a
  person acknowledges (``kdrtui watch --ack``); the rest is ``region-loss`` (RPO counted exactly, the
  primary back, failback by a person).
- ``auto-blip``: a WAN partition shorter than the hold-down, seen from both vantage points: nothing.
- ``auto-no-quorum``: the console host loses its own link to the primary (a proxy only it uses) for
  longer than the hold-down while the DR edge node still reaches it: nothing (no quorum), a close call
  recorded.
- ``auto-rpo-advise``: MirrorMaker stopped, the backlog above ``max_rpo_records``, then the region goes
  dark: the policy advises (pages "would fail over, but...") and changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from typing import Any

from kdrtui.domain.plan_automation import LOCAL_VANTAGE
from kdrtui.services.gameday import mirrormaker
from kdrtui.services.gameday.context import GamedayContext
from kdrtui.services.gameday.outage import (
    detected_check,
    fail_back,
    failback_checks,
    lose_primary,
    primary_back,
    rto_checks,
)
from kdrtui.services.gameday.policy import PolicyRun, free_port
from kdrtui.services.gameday.scenario import Scenario

HOLD_DOWN_S = 10
"""The act scenarios' hold-down: short, so the run is short; the blip scenarios' is longer than the blip."""
INTERVAL_S = 2
TIMEOUT_S = 5


def _dr_edges(ctx: GamedayContext) -> list[str]:
    return [n.name for n in ctx.plan.edge_nodes if n.cluster == ctx.plan.secondary_alias]


def _active(ctx: GamedayContext) -> str:
    from kdrtui.services.runbook.store import RunbookStore

    plan = ctx.plan
    return RunbookStore(plan.plan.name, ctx.plan_path).load_state(plan.primary_alias, plan.clusters).active


def _installed(ctx: GamedayContext, hold_down_s: int, vantage: list[str], **keys: Any) -> PolicyRun:
    """The lab's plan given the run's policy: act mode, every vantage point needed (the quorum's
    default), no cooldown (an earlier run's failback must not count), RPO limits out of the way unless
    ``keys`` say otherwise."""
    table: dict[str, Any] = {
        "mode": "act",
        "hold_down_seconds": hold_down_s,
        "vantage_points": vantage,
        "max_rpo_records": 100_000,
        "max_rpo_seconds": 3600,
        "cooldown_seconds": 0,
        "probe_interval_seconds": INTERVAL_S,
        "probe_timeout_seconds": TIMEOUT_S,
        **keys,
    }
    policy = PolicyRun(ctx, **table)
    policy.install()
    return policy


def _no_failover_checks(ctx: GamedayContext, policy: PolicyRun, active: str) -> None:
    after = _active(ctx)
    ctx.check("no-failover", f"{active} still active", f"{after} active", after == active)
    last = policy.last_failover()
    ctx.check(
        "no-automatic-failover",
        "kdrtui watch started no failover",
        "none" if last is None else f"{last.name}: {last.outcome}",
        last is None,
    )
    acted = [p for p in policy.paged() if '"what": "acted"' in p]
    ctx.check("no-act-page", "no page saying it acted", f"{len(acted)} such pages", not acted)


def _ack(ctx: GamedayContext) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "kdrtui", "watch", "--plan", str(ctx.plan_path), "--ack"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ctx.mark(f"operator: kdrtui watch --ack: {out.stdout.strip() or out.stderr.strip()}", "runbook")
    return out.stdout


# -- auto-region-loss -------------------------------------------------------------------------------


def run_region_loss(ctx: GamedayContext) -> None:
    """``auto-region-loss`` (see the module)."""
    vantage = [LOCAL_VANTAGE, *_dr_edges(ctx)]
    policy = _installed(ctx, HOLD_DOWN_S, vantage)
    policy.start()
    outage = lose_primary(
        ctx, lambda c: policy.wait_failover(c, HOLD_DOWN_S + ctx.plan.objectives.rto_seconds + 120)
    )
    assert ctx.fault_at is not None
    took = outage.failover.ended - ctx.fault_at
    for what, starts in (("holding", "armed -> holding"), ("acting", "holding -> acting")):
        seen = policy.first_event(starts)
        ctx.figure(f"fault -> policy {what} (s)", None if seen is None else round(seen - ctx.fault_at, 1))
    limit = HOLD_DOWN_S + INTERVAL_S + TIMEOUT_S + ctx.plan.objectives.rto_seconds
    ctx.figure("fault -> automatic failover completed (s)", round(took, 1))
    ctx.check(
        "automatic-failover",
        f"kdrtui watch fails over by itself within hold-down + probe + RTO ({limit} s)",
        f"{outage.failover.outcome} {took:.1f} s after the kill",
        outcome_ok := outage.failover.outcome == "completed" and took <= limit,
    )
    report = outage.failover.report
    ctx.check(
        "report-names-automation",
        "the runbook's report names automation as the actor",
        f"actor: {report.get('actor')}",
        report.get("actor") == "automation",
    )
    pages = [json.loads(p) for p in policy.paged()]
    acted = [p for p in pages if p.get("what") == "acted"]
    ctx.check(
        "paged",
        "the alert command was run once it acted, with the outcome",
        f"{len(acted)} 'acted' pages: {acted[0]['text'] if acted else '-'}",
        bool(acted) and "completed" in acted[0]["text"],
    )
    rto_checks(ctx, outage)
    detected_check(ctx)
    back = primary_back(ctx, outage)
    lost = sum(len(v) for v in outage.lost.values())
    ctx.check(
        "rpo-exact",
        "the primary's log holds every acknowledged record the DR cluster lacks (nothing acked vanished)",
        f"{lost} acknowledged records missing on the DR cluster",
        all(outage.lost[t] <= back.unmirrored[t] for t in outage.lost),
    )
    failback = fail_back(ctx, outage, back)
    failback_checks(ctx, back, failback, back.unmirrored)
    # The primary is active again and still "down"-free: the policy must wait for a person.
    policy.wait_state("awaiting-ack", 60, "the policy awaiting acknowledgement after the failback")
    said = policy.state()
    ctx.check(
        "awaits-ack",
        "after its automatic failover the policy waits for `kdrtui watch --ack`",
        f"{said.state if said else '-'}",
        said is not None and said.state == "awaiting-ack",
    )
    _ack(ctx)
    policy.wait_state("armed", 60, "the policy armed again after --ack")
    ctx.check("armed-after-ack", "armed again once acknowledged", "armed", True)
    events = policy.events()
    ctx.figure("policy events", len(events))
    ctx.check(
        "on-the-timeline",
        "holding, acting, the outcome and the acknowledgement are on the timeline (kind automation)",
        "; ".join(e[:60] for e in events[-6:]),
        any("-> holding" in e for e in events)
        and any("failing over now" in e for e in events)
        and any("acknowledged by" in e for e in events)
        and outcome_ok,
    )


# -- auto-blip --------------------------------------------------------------------------------------

BLIP_S = 15.0
BLIP_HOLD_DOWN_S = 45


def run_blip(ctx: GamedayContext) -> None:
    """``auto-blip`` (see the module)."""
    wan = ctx.lab.wan
    active = _active(ctx)
    vantage = [LOCAL_VANTAGE, *_dr_edges(ctx)]
    policy = _installed(ctx, BLIP_HOLD_DOWN_S, vantage)
    # This machine stands in the DR region: it reaches the primary across the WAN, as the edge node does.
    policy.start(region=ctx.plan.cluster(ctx.plan.secondary_alias).region)
    ctx.start_traffic(records=200)
    ctx.wait_acked(200, "200 records acknowledged")
    ctx.on_restore("WAN healed", wan.reset)
    wan.partition(BLIP_S)
    ctx.fault(f"WAN partitioned for {BLIP_S:g} s (shorter than the hold-down, {BLIP_HOLD_DOWN_S} s)")
    policy.wait_state("holding", BLIP_S + 15, "the policy holding down (a quorum sees the primary down)")
    held = ctx.mark("the policy holds down: every vantage point sees the primary down")
    ctx.set_detection("the policy holding down", held - (ctx.fault_at or held))
    ctx.wait_until(lambda: not wan.state().partitioned, BLIP_S + 30, "the WAN healing by itself")
    policy.wait_state("armed", 60, "the policy armed again")
    ctx.mark("the policy armed again: the blip was shorter than the hold-down")
    # Past the hold-down counted from the fault: had it not reset, it would have acted by now.
    remaining = BLIP_HOLD_DOWN_S + 2 * INTERVAL_S - (ctx.now() - (ctx.fault_at or 0))
    if remaining > 0:
        until = (ctx.fault_at or 0) + BLIP_HOLD_DOWN_S + 2 * INTERVAL_S
        ctx.wait_until(
            lambda: ctx.now() >= until, remaining + 5, "the hold-down's end, counted from the fault"
        )
    ctx.set_rto(None, "nothing fails over in a blip: no runbook ran")
    ctx.allow(200)
    ctx.wait_caught_up(120, "the blip's records mirrored")
    ctx.measure_rpo(time.time(), "no failover: acknowledged records missing on the target once settled")
    seen = policy.states_seen()
    ctx.figure("policy states", " -> ".join(seen))
    ctx.check(
        "held-then-armed",
        "the policy held down while every vantage point saw the primary down, then re-armed",
        " -> ".join(seen) or "-",
        "holding" in seen and seen[-1] == "armed" and "acting" not in seen,
    )
    _no_failover_checks(ctx, policy, active)


# -- auto-no-quorum ---------------------------------------------------------------------------------

NO_QUORUM_HOLD_DOWN_S = 15
CUT_S = 40.0


def run_no_quorum(ctx: GamedayContext) -> None:
    """``auto-no-quorum`` (see the module)."""
    from kdrtui.lab.toxiproxy import ToxiproxyApi

    active = _active(ctx)
    primary = ctx.plan.primary_alias
    api = ToxiproxyApi(ctx.lab.wan.api_port)
    # The console host's own link to the primary: a proxy per bootstrap server that only it uses.
    links: list[tuple[str, int]] = []
    for n, server in enumerate(ctx.plan.cluster(primary).bootstrap_servers, 1):
        port = free_port()
        name = f"gameday-console-{ctx.run_id}-{n}"
        api.request("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{port}", "upstream": server})
        links.append((name, port))

    def remove_links() -> None:
        for name, _port in links:
            with contextlib.suppress(Exception):  # gone already
                api.request("DELETE", f"/proxies/{name}")

    ctx.on_restore("the console host's link removed", remove_links)
    via = ",".join(f"127.0.0.1:{port}" for _name, port in links)
    vantage = [LOCAL_VANTAGE, *_dr_edges(ctx)]
    policy = _installed(ctx, NO_QUORUM_HOLD_DOWN_S, vantage)
    policy.start("--via", f"{primary}={via}")
    ctx.start_traffic(records=200)
    ctx.wait_acked(200, "200 records acknowledged")
    for name, _port in links:
        api.request("POST", f"/proxies/{name}", {"enabled": False})
    ctx.fault(f"the console host's link to {primary} cut for {CUT_S:g} s (the DR edge node's is not)")
    ctx.wait_until(
        lambda: any(e.startswith("close call") for e in policy.events()),
        30,
        "a close call on the timeline (the console host sees the primary down, the edge node does not)",
    )
    seen_at = ctx.mark("close call recorded: primary down from the console host only")
    ctx.set_detection("a close call recorded", seen_at - (ctx.fault_at or seen_at))
    cut_end = (ctx.fault_at or 0) + CUT_S
    ctx.wait_until(lambda: ctx.now() >= cut_end, CUT_S + 10, "the cut's end (longer than the hold-down)")
    state = policy.state()
    votes = state.votes if state else {}
    ctx.figure("votes at the cut's end", ", ".join(f"{k} {v}" for k, v in votes.items()))
    for name, _port in links:
        api.request("POST", f"/proxies/{name}", {"enabled": True})
    ctx.mark(f"the console host's link to {primary} back")
    ctx.set_rto(None, "nothing fails over without a quorum: no runbook ran")
    ctx.allow(200)
    ctx.wait_caught_up(120, "the records mirrored")
    ctx.measure_rpo(time.time(), "no failover: acknowledged records missing on the target once settled")
    seen = policy.states_seen()
    ctx.check(
        "split-vote",
        "during the cut the console host said down and the DR edge node up",
        ", ".join(f"{k} {v}" for k, v in votes.items()),
        votes.get(LOCAL_VANTAGE) == "down" and all(v == "up" for k, v in votes.items() if k != LOCAL_VANTAGE),
    )
    ctx.check(
        "never-held",
        "without a quorum the policy never held down nor acted",
        " -> ".join(seen) or "armed throughout",
        "holding" not in seen and "acting" not in seen,
    )
    _no_failover_checks(ctx, policy, active)


# -- auto-rpo-advise --------------------------------------------------------------------------------

MAX_RPO_RECORDS = 50


def run_rpo_advise(ctx: GamedayContext) -> None:
    """``auto-rpo-advise`` (see the module)."""
    active = _active(ctx)
    primary = ctx.plan.primary_alias
    policy = _installed(ctx, HOLD_DOWN_S, [LOCAL_VANTAGE], max_rpo_records=MAX_RPO_RECORDS)
    policy.start()
    from kdrtui.services.runbook.lag_memory import recall

    ctx.start_traffic(records=100)
    ctx.wait_acked(100, "100 records acknowledged")
    mirrormaker.stop_all(ctx.running, lambda _m: None)
    ctx.on_restore("MirrorMaker running again", lambda: mirrormaker.start_all(ctx.running, lambda _m: None))
    ctx.mark("MirrorMaker stopped: the backlog grows")
    ctx.allow(600)
    ctx.wait_until(
        lambda: (
            (r := recall(policy.store, primary, ctx.plan.secondary_alias)) is not None
            and r.lag_records > 4 * MAX_RPO_RECORDS
            and time.time() - r.taken_at < 10
        ),
        120,
        f"the watcher's lag read above {4 * MAX_RPO_RECORDS} records",
    )
    remembered = recall(policy.store, primary, ctx.plan.secondary_alias)
    assert remembered is not None
    ctx.figure("unmirrored records at the last lag read", remembered.lag_records)
    ctx.traffic.stop(flush_s=1.0)
    ctx.on_restore(f"{primary}'s brokers started again", ctx.lab.restore)
    ctx.lab.kill(primary)
    ctx.fault(f"SIGKILL every broker of {primary}, {remembered.lag_records} records unmirrored")
    policy.wait_state("advising", HOLD_DOWN_S + 60, "the policy advising (the loss above max_rpo_records)")
    advised = ctx.mark("the policy advises and does not act")
    ctx.set_detection("the policy advising", advised - (ctx.fault_at or advised))
    ctx.wait_until(lambda: any('"what": "advise"' in p for p in policy.paged()), 40, "the advice paged")
    # A few more evaluations: it stays advising, never acting.
    stop_at = ctx.now() + 4 * INTERVAL_S
    ctx.wait_until(lambda: ctx.now() >= stop_at, 30, "four more evaluations")
    state = policy.state()
    ctx.set_rto(None, "the policy only advised: no runbook ran")
    ctx.check(
        "advised",
        f"the policy advises, naming max_rpo_records {MAX_RPO_RECORDS}",
        state.text if state else "-",
        state is not None and state.state == "advising" and "max_rpo_records" in state.text,
    )
    pages = [json.loads(p) for p in policy.paged()]
    ctx.check(
        "advice-paged",
        "one advice page for the outage",
        f"{len([p for p in pages if p.get('what') == 'advise'])} advice pages",
        len([p for p in pages if p.get("what") == "advise"]) == 1,
    )
    _no_failover_checks(ctx, policy, active)
    policy.stop()
    started = ctx.lab.restore()
    ctx.mark(f"{primary} back: restarted {', '.join(started) or 'nothing'}", "restore")
    mirrormaker.start_all(ctx.running, lambda _m: None)
    ctx.mark("MirrorMaker started again")
    ctx.measure_rpo(time.time(), "no failover: nothing lost once the primary is back")


SCENARIOS = (
    Scenario(
        name="auto-region-loss",
        summary="The primary's brokers are killed with `kdrtui watch` in act mode: it fails over by itself, "
        "pages, and waits for a person's --ack; then the primary returns and a person fails back.",
        proves="The automated policy fails over a real regional outage within hold-down + RTO, through the "
        "operator's runbook (report and audit name automation), and never acts again unacknowledged.",
        needs=frozenset(),
        long=True,
        run=run_region_loss,
    ),
    Scenario(
        name="auto-blip",
        summary=f"A {BLIP_S:g} s WAN partition, shorter than the policy's {BLIP_HOLD_DOWN_S} s hold-down, "
        "seen from both vantage points.",
        proves="A blip shorter than the hold-down fails nothing over: the policy holds down, then re-arms.",
        needs=frozenset({"wan"}),
        long=True,
        run=run_blip,
    ),
    Scenario(
        name="auto-no-quorum",
        summary="The console host's own link to the primary is cut for longer than the hold-down while the "
        "DR edge node still reaches it.",
        proves="Without a quorum of vantage points nothing fails over: the close call is recorded.",
        needs=frozenset({"wan"}),
        long=True,
        run=run_no_quorum,
    ),
    Scenario(
        name="auto-rpo-advise",
        summary=f"MirrorMaker stopped, the backlog above max_rpo_records ({MAX_RPO_RECORDS}), then the "
        "region goes dark with the policy in act mode.",
        proves="Known unmirrored records above the policy's limit make it advise, never act.",
        needs=frozenset(),
        long=True,
        run=run_rpo_advise,
    ),
)
"""The automation scenarios."""
