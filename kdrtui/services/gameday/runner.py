"""Run one scenario on the lab, unattended, and return its report (:func:`run_scenario`, blocking: the CLI
calls it directly, the console from a thread worker).

Before the run: the plan must be the lab's own (``<lab>/plan.toml``) with the lab running, the lab must
have what the scenario needs (else :class:`GamedayError` naming the ``kdrtui lab up`` option), and
MirrorMaker must run. After it, whatever happened, the lab is restored (processes up, WAN healed,
MirrorMaker running) and the report checks that the active cluster is the one it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kdrtui.domain.gameday import GamedayReport, objective_check
from kdrtui.services.gameday.context import Cancelled, GamedayContext, GamedayError, GamedayEvent
from kdrtui.services.gameday.scenario import NEEDS_OPTION, Scenario

SETTLE_AFTER_ERROR_S = 30.0
"""How long a broken run's report waits for the records still on their way (not when cancelled)."""

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.lab.lab import Lab


def scenario_named(name: str) -> Scenario:
    """The scenario called ``name``; :class:`GamedayError` listing the names otherwise."""
    from kdrtui.services.gameday.scenarios import SCENARIOS

    try:
        return SCENARIOS[name]
    except KeyError:
        raise GamedayError(f"no scenario {name!r}; scenarios: {', '.join(sorted(SCENARIOS))}") from None


def missing_needs(scenario: Scenario, lab: Lab) -> list[str]:
    """The needs of ``scenario`` the lab lacks, each with the ``kdrtui lab up`` option that provides it."""
    have = set()
    if lab.brokers >= 3:
        have.add("three-brokers")
    wan = getattr(lab, "wan", None)
    if wan is not None and getattr(wan, "enabled", False):
        have.add("wan")
    if getattr(lab, "topology", "cold-standby") == "active-active":
        have.add("active-active")
    return [f"{need}: `{NEEDS_OPTION[need]}`" for need in sorted(scenario.needs - have)]


def open_lab(lab_home: Path, plan_path: Path) -> tuple[Lab, Plan]:
    """The running lab at ``lab_home`` whose plan is ``plan_path``, and that plan; :class:`GamedayError` with
    what to do otherwise."""
    from kdrtui.domain.plan import PlanInvalid
    from kdrtui.lab.lab import Lab
    from kdrtui.services.plan_files import load_plan

    lab = Lab(lab_home)
    if not lab.state_path.exists():
        raise GamedayError(f"there is no lab in {lab_home}: start one with `kdrtui lab up`")
    if Path(plan_path).resolve() != lab.plan_path.resolve():
        raise GamedayError(
            f"{plan_path} is not a running lab's plan: game days run on the lab "
            f"(`--plan lab`, {lab.plan_path})"
        )
    down = lab.missing()
    if down:
        raise GamedayError(
            f"the lab is not fully running ({', '.join(down)} down): run `kdrtui lab up` first"
        )
    try:
        plan = load_plan(lab.plan_path)
    except PlanInvalid as exc:
        raise GamedayError(f"the lab's plan is invalid: {exc}") from None
    return lab, plan


def _active(plan: Plan, plan_path: Path) -> str:
    from kdrtui.services.runbook.store import RunbookStore

    return RunbookStore(plan.plan.name, plan_path).load_state(plan.primary_alias, plan.clusters).active


def preflight(scenario: Scenario, lab: Lab, plan: Plan) -> None:
    """Refuse (:class:`GamedayError`) a lab lacking a need, or one whose MirrorMaker does not run."""
    from kdrtui.services.gameday import mirrormaker
    from kdrtui.services.runbook.operate import current_plan

    missing = missing_needs(scenario, lab)
    if missing:
        raise GamedayError(f"scenario {scenario.name} needs what the lab lacks: {'; '.join(missing)}")
    not_running = [s for s in mirrormaker.statuses(current_plan(plan, lab.plan_path)) if not s.active]
    if not_running:
        names = ", ".join(f"{s.node} ({s.state})" for s in not_running)
        raise GamedayError(f"MirrorMaker does not run on {names}: start it with `kdrtui mm start --plan lab`")


def run_scenario(
    name: str,
    *,
    lab_home: Path,
    plan_path: Path,
    on_event: Callable[[GamedayEvent], None] | None = None,
    cancel: threading.Event | None = None,
) -> GamedayReport:
    """Run scenario ``name`` on the lab at ``lab_home`` and return its report.

    Raises:
        GamedayError: the scenario cannot run here (nothing was changed). A scenario that breaks once
            started does not raise: its report's verdict is ``error`` and says why.
    """
    from kdrtui.services.mirrormaker.manager import MirrorMakerError
    from kdrtui.services.runbook.store import StateInvalid
    from kdrtui.services.ssh.errors import SshError

    scenario = scenario_named(name)
    lab, plan = open_lab(Path(lab_home), Path(plan_path))
    try:
        preflight(scenario, lab, plan)
        active_before = _active(plan, lab.plan_path)
        ctx = GamedayContext(scenario, lab, plan, lab.plan_path, on_event=on_event, cancel=cancel)
    except (StateInvalid, MirrorMakerError, SshError) as exc:  # nothing was changed yet
        raise GamedayError(f"cannot start {scenario.name}: {exc}") from None
    ctx.mark(f"scenario {scenario.name} on {plan.plan.name} (active: {active_before})", "setup")
    error: str | None = None
    try:
        scenario.run(ctx)
    except Cancelled:
        error = "cancelled"
        ctx.mark("cancelled", "report")
    except Exception as exc:  # the report says why; the lab is restored below
        error = f"{type(exc).__name__}: {exc}"
        ctx.mark(f"error: {error}", "report")
    finally:
        ctx.close()
        problems = ctx.restore()
    if error is not None:
        _settle_after_error(ctx)
    active_after = _active(plan, lab.plan_path)
    ctx.check(
        "restored",
        f"lab as found: processes up, WAN healed, MirrorMaker running, {active_before} active",
        "; ".join(problems) if problems else f"all up, {active_after} active",
        not problems and active_after == active_before,
    )
    return _report(ctx, error)


def _settle_after_error(ctx: GamedayContext) -> None:
    """A run that broke (or was cancelled) stopped its traffic wherever it was: with the lab restored, give
    the records still on their way a bounded chance to arrive, so 'lost' means lost, or say it does not."""
    if not any(ctx.traffic.produced(t) for t in ctx.traffic.topics):
        return
    if not ctx.cancelled.is_set():
        ctx.verifier = ctx.verifier.restarted()
        ctx.verifier.start()
        deadline = time.monotonic() + SETTLE_AFTER_ERROR_S
        while time.monotonic() < deadline and ctx.verifier.missing(ctx.traffic.acked):
            time.sleep(0.5)
        ctx.verifier.stop()
        if not ctx.verifier.missing(ctx.traffic.acked):
            ctx.figure("counts", "settled after the run broke: every acknowledged record arrived")
            return
    ctx.figure("counts", "taken when the run broke, before it settled: 'lost' = not arrived by then")


def _report(ctx: GamedayContext, error: str | None) -> GamedayReport:
    objectives = ctx.plan.objectives
    produced = any(ctx.traffic.produced(t) for t in ctx.traffic.topics)
    counts = ctx.verifier.counts(ctx.traffic) if produced else []
    checks = list(ctx.checks)
    rpo_note = ctx.rpo_seconds.note
    checks.insert(0, objective_check("rpo", objectives.rpo_seconds, ctx.rpo_seconds.value, "s", rpo_note))
    checks.insert(1, objective_check("rto", objectives.rto_seconds, ctx.rto.value, "s", ctx.rto.note))
    if ctx.verifier.errors:
        ctx.figure("verifier errors", len(ctx.verifier.errors))
        ctx.figure("verifier's first error", ctx.verifier.errors[0][:200])
    if ctx.observer.errors:
        ctx.figure("observer refreshes failed", len(ctx.observer.errors))
    ctx.mark("report written", "report")
    return GamedayReport(
        scenario=ctx.scenario.name,
        summary=ctx.scenario.summary,
        proves=ctx.scenario.proves,
        plan_name=ctx.plan.plan.name,
        plan_path=str(ctx.plan_path),
        lab=ctx.lab_shape(),
        started_at=ctx.started_at,
        ended_at=time.time(),
        objectives={"rpo_seconds": objectives.rpo_seconds, "rto_seconds": objectives.rto_seconds},
        timeline=list(ctx.timeline),
        detection=ctx.detection,
        detection_expected=ctx.detection_expected,
        rpo_records=ctx.rpo_records,
        rpo_seconds=ctx.rpo_seconds,
        rto_seconds=ctx.rto,
        topics=counts,
        states=list(ctx.observer.states),
        alerts=list(ctx.observer.alerts),
        figures=dict(ctx.figures),
        checks=checks,
        error=error,
    )
