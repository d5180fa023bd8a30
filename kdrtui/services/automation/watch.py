"""``kdrtui watch``: the automated failover policy as a long-lived process.

Every ``probe_interval_seconds`` it asks each vantage point whether the primary is up
(:mod:`~kdrtui.services.automation.probes`), gathers what the decision table needs (the DR state, the
plan's lock, an interrupted journal, the DR cluster's health, the last known mirror lag, the cooldown, its
own last automatic failover and whether a person acknowledged it), runs
:func:`kdrtui.domain.automation.decide`, publishes the result (:mod:`~kdrtui.services.automation.state`)
and records on the plan's timeline every change of state, every close call and every decision.

Meanwhile it reads the forward flow's lag (so the last unmirrored records before an outage are known:
:mod:`kdrtui.services.runbook.lag_memory`). When it acts, it runs ``kdrtui failover --plan P --yes --json
--actor automation`` — the operator's runbook, with its lock, journal, pre-flight, fence and report — in
a process of its own, then pages with the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kdrtui.domain.automation import Action, Decision, Facts, PolicyState, Vote, decide, outage_start
from kdrtui.domain.plan import Plan
from kdrtui.domain.timeline import Event, EventKind
from kdrtui.services.automation.probes import Probe, ProbeAnswer, build_probes
from kdrtui.services.automation.state import (
    AutoFailover,
    PublishedState,
    read_last_failover,
    write_last_failover,
    write_state,
)
from kdrtui.services.runbook.store import RunbookStore

LOGGER = logging.getLogger("kdrtui.watch")

ALERT_TIMEOUT_S = 30.0
"""How long the alert command may run before it is killed."""
FAILOVER_TIMEOUT_S = 1800.0
"""A failover the watcher started and still running after this long is killed (its journal resumes it)."""
SUBJECT = "automation"
"""The timeline subject of every event the policy records."""


@dataclass
class Memory:
    """What the watcher carries from one evaluation to the next."""

    down_since: float | None = None
    last: Decision | None = None
    advised_outage: float | None = None
    """The outage (its ``down_since``) it already advised on: once per outage."""
    close_streak: bool = False
    """The previous evaluation was a close call (recorded once per streak)."""
    acting: bool = False


def _severity(state: PolicyState) -> str:
    if state in (PolicyState.ACTING,):
        return "crit"
    if state in (
        PolicyState.HOLDING,
        PolicyState.ADVISING,
        PolicyState.BLOCKED,
        PolicyState.AWAITING_ACK,
        PolicyState.COOLING_DOWN,
    ):
        return "warn"
    return "info"


class Watcher:
    """The policy of one plan (see the module)."""

    def __init__(
        self,
        plan: Plan,
        plan_path: Path,
        *,
        via: dict[str, str] | None = None,
        probes: list[Probe] | None = None,
        clock: Callable[[], float] = time.time,
        failover_command: list[str] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.plan_path = plan_path
        self.policy = plan.automation
        self.store = RunbookStore(plan.plan.name, plan_path)
        self.clock = clock
        self.memory = Memory()
        self.say = say or (lambda line: LOGGER.info("%s", line))
        self._manager: Any = None
        if probes is None:
            from kdrtui.services.mirrormaker.manager import MirrorMakerManager

            self._manager = MirrorMakerManager(plan)
            probes = build_probes(plan, self._manager, via)
        self.probes = probes
        self.failover_command = failover_command or [
            sys.executable, "-m", "kdrtui", "failover", "--plan", str(plan_path), "--yes", "--json",
            "--actor", "automation",
        ]  # fmt: skip
        self._timeline: Any = None
        self._lag: Any = None
        self._dr_probe: Any = None
        self._acting_task: asyncio.Task[None] | None = None

    # -- the loop ------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, once: bool = False) -> Decision | None:
        """Evaluate every interval until ``stop`` is set (or once); returns the last decision."""
        self._open_timeline()
        lag_task = None if once else asyncio.create_task(self._lag_loop(stop))
        self._record(
            f"kdrtui watch started on {socket.gethostname()} (pid {os.getpid()}): mode {self.policy.mode}, "
            f"vantage points {', '.join(self.policy.vantage_points)}, quorum {self.policy.needed}, "
            f"hold-down {self.policy.hold_down_seconds} s",
            "info",
        )
        try:
            while True:
                started = time.monotonic()
                decision = await self.evaluate()
                if once or stop.is_set():
                    return decision
                wait = max(0.2, self.policy.probe_interval_seconds - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
                if stop.is_set():
                    return decision
        finally:
            if lag_task is not None:
                lag_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await lag_task
            if self._acting_task is not None and not self._acting_task.done():
                self.say("a failover it started is still running: it runs on in its own process")
            self._record("kdrtui watch stopped", "info")
            await self.close()

    async def close(self) -> None:
        if self._manager is not None:
            await self._manager.close()
        for probe in self.probes:
            await probe.close()
        for client in (self._lag, self._dr_probe):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        self._lag = self._dr_probe = None

    # -- one evaluation ------------------------------------------------------------------------------

    async def ask_all(self) -> dict[str, ProbeAnswer]:
        answers = await asyncio.gather(*(probe.ask() for probe in self.probes), return_exceptions=True)
        found: dict[str, ProbeAnswer] = {}
        for probe, answer in zip(self.probes, answers, strict=True):
            if isinstance(answer, BaseException):
                found[probe.name] = ProbeAnswer(Vote.UNKNOWN, f"probe failed: {answer}")
            else:
                found[probe.name] = answer
        return found

    async def evaluate(self) -> Decision:
        """Ask, decide, publish, record, and act or advise when the decision says so."""
        answers = await self.ask_all()
        now = self.clock()
        votes = {name: answer.vote for name, answer in answers.items()}
        memory = self.memory
        memory.down_since = outage_start(votes, self.policy.needed, memory.down_since, now)
        facts = await self._facts(now, votes, memory.down_since)
        decision = decide(self.policy, facts, rpo_seconds=self.plan.objectives.rpo_seconds)
        self._publish(decision, votes, now)
        self._note(decision, answers)
        if decision.action == Action.ADVISE and memory.advised_outage != memory.down_since:
            memory.advised_outage = memory.down_since
            self._record(decision.text, "crit")
            await self.page(decision, "advise")
        elif decision.action == Action.ACT and not memory.acting:
            memory.advised_outage = memory.down_since
            memory.acting = True
            self._record(f"{decision.text}: running `kdrtui failover --actor automation`", "crit")
            self._acting_task = asyncio.create_task(self._act(decision))
        memory.last = decision
        return decision

    async def _facts(self, now: float, votes: dict[str, Vote], down_since: float | None) -> Facts:
        from kdrtui.services.runbook.lag_memory import recall
        from kdrtui.services.runbook.operate import interrupted

        primary, secondary = self.plan.primary_alias, self.plan.secondary_alias
        try:
            state = self.store.load_state(primary, self.plan.clusters)
            dr_active = state.active != primary
            since = state.since
        except Exception as exc:  # an unreadable DR state: never act on a guess
            return Facts(now, votes, down_since, dr_problem=f"the DR state cannot be read: {exc}")
        last = read_last_failover(self.store.dir)
        unacked = last.name if last is not None and not last.acknowledged else None
        facts = Facts(
            now,
            votes,
            down_since,
            dr_active=dr_active,
            acting=self.memory.acting,
            unacknowledged=unacked,
            last_operation_end=since,
        )
        if down_since is None or now - down_since < self.policy.hold_down_seconds:
            return facts  # the rest is only read when it can change what is done
        holder = self.store.lock().holder()
        pending = interrupted(self.plan, self.plan_path)
        remembered = recall(self.store, primary, secondary)
        return replace(
            facts,
            lock_holder=holder.describe() if holder is not None else None,
            interrupted=str(pending[1]) if pending is not None else None,
            dr_problem=await asyncio.to_thread(self._dr_problem),
            unmirrored_records=None if remembered is None else remembered.lag_records,
            unmirrored_seconds=None if remembered is None else remembered.lag_seconds,
            lag_age_s=None if remembered is None else max(0.0, down_since - remembered.taken_at),
        )

    def _dr_problem(self) -> str | None:
        """Why the DR cluster cannot take the load now (unreachable, brokers missing, partitions without
        enough in-sync replicas), None when it can."""
        from kdrtui.domain.health import expect_from_plan, unwritable_reason
        from kdrtui.services.kafka.probe import KafkaClusterProbe

        secondary = self.plan.secondary_alias
        cluster = self.plan.cluster(secondary)
        if self._dr_probe is None:
            self._dr_probe = KafkaClusterProbe(",".join(cluster.bootstrap_servers), timeout_s=10.0)
        obs = expect_from_plan(self._dr_probe.observe(), cluster)
        if not obs.ok:
            return f"{secondary} unreachable: {obs.error or 'no answer'}"
        if obs.brokers_expected is not None and obs.brokers < obs.brokers_expected:
            return f"{secondary} has {obs.brokers} of {obs.brokers_expected} brokers"
        return unwritable_reason(secondary, obs, "clients")

    # -- lag -----------------------------------------------------------------------------------------

    async def _lag_loop(self, stop: asyncio.Event) -> None:
        """Read the forward flow's lag every interval while the primary answers (kept by lag_memory)."""
        from kdrtui.services.runbook.lag_memory import remember

        while not stop.is_set():
            if self.memory.down_since is None and not self.memory.acting:
                try:
                    snapshot = await asyncio.to_thread(self._read_lag)
                    if snapshot is not None:
                        remember(self.store, snapshot)
                except Exception:
                    LOGGER.debug("lag read failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.policy.probe_interval_seconds)

    def _read_lag(self) -> Any:
        from kdrtui.services.kafka.lag_engine import LagEngine

        primary, secondary = self.plan.primary_alias, self.plan.secondary_alias
        flows = [f for f in self.plan.flows if f.source == primary and f.target == secondary]
        if not flows:
            return None
        if self._lag is None:
            self._lag = LagEngine(self.plan.model_copy(update={"flows": flows}))
        return self._lag.refresh()

    # -- acting --------------------------------------------------------------------------------------

    async def _act(self, decision: Decision) -> None:
        started = self.clock()
        record = AutoFailover(journal="(starting)", started_at=started)
        write_last_failover(self.store.dir, record)
        outcome, answer, error = "error", {}, ""
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.failover_command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), FAILOVER_TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                out, err = await proc.communicate()
                error = f"killed after {FAILOVER_TIMEOUT_S:.0f} s"
            try:
                answer = json.loads(out.decode("utf-8", "replace") or "{}")
            except ValueError:
                answer = {}
            outcome = str(answer.get("outcome") or f"exit {proc.returncode}")
            if not answer:
                error = error or " ".join(err.decode("utf-8", "replace").strip().splitlines()[-2:])
        except OSError as exc:
            error = str(exc)
        finally:
            self.memory.acting = False
        journal = str(answer.get("journal") or "(none)")
        report = answer.get("report") or {}
        write_last_failover(
            self.store.dir,
            replace(record, journal=journal, outcome=outcome, ended_at=self.clock(), report=report or None),
        )
        if outcome == "completed":
            rpo = report.get("rpo_records")
            from kdrtui.services.runbook.forecast import bound_text

            # The runbook's own wording: measured, or its estimate said as one (or unknown), never a guess.
            rpo_text = (
                f"{rpo} records (measured)"
                if rpo is not None and report.get("rpo_measured")
                else "not measured, "
                + bound_text(
                    report.get("rpo_bound_records"), report.get("rpo_bound_age_s"), str(report.get("from"))
                )
            )
            text = (
                f"automatic failover {report.get('from')} -> {report.get('to')} completed: RPO {rpo_text}, "
                f"RTO {report.get('rto_seconds')} s; `kdrtui watch --ack` once a person has looked"
            )
        else:
            text = (
                f"automatic failover {outcome}: {error or 'see its journal'} ({journal}); a person must act"
            )
        self._record(text, "crit")
        await self.page(
            Decision(PolicyState.ACTING, Action.ACT, text, down=decision.down), "acted", report=report
        )

    # -- publishing, recording, paging ---------------------------------------------------------------

    def _publish(self, decision: Decision, votes: dict[str, Vote], now: float) -> None:
        published = PublishedState(
            state=str(decision.state),
            text=decision.text,
            mode=str(self.policy.mode),
            updated_at=now,
            interval_s=float(self.policy.probe_interval_seconds),
            votes={name: str(vote) for name, vote in votes.items()},
            down_since=self.memory.down_since,
            pid=os.getpid(),
            host=socket.gethostname(),
        )
        try:
            write_state(self.store.dir, published)
        except OSError as exc:
            LOGGER.warning("cannot publish the policy's state: %s", exc)

    def _note(self, decision: Decision, answers: dict[str, ProbeAnswer]) -> None:
        """Record a change of state, and the first evaluation of each close call."""
        last = self.memory.last
        if decision.close_call and not self.memory.close_streak:
            seen = "; ".join(f"{name}: {a.vote} ({a.detail})" for name, a in answers.items())
            self._record(f"close call: {decision.text.split(' (', 1)[0]} ({seen})", "warn")
        self.memory.close_streak = decision.close_call
        if last is None or last.state != decision.state:
            was = "-" if last is None else str(last.state)
            self._record(f"{was} -> {decision.state} ({decision.text})", _severity(decision.state))
        if last is None or (last.state, last.text) != (decision.state, decision.text):
            self.say(f"{decision.state}: {decision.text}")  # a quiet journal: what changed only

    def _open_timeline(self) -> None:
        from kdrtui.services.timeline.store import TimelineStore, TimelineUnavailable

        if self._timeline is None:
            try:
                self._timeline = TimelineStore.for_plan(self.plan.plan.name, self.plan_path)
            except TimelineUnavailable as exc:
                LOGGER.warning("watch: no incident timeline: %s", exc)

    def _record(self, text: str, severity: str) -> None:
        LOGGER.info("%s", text)
        if self._timeline is None:
            return
        try:
            self._timeline.record(
                [Event(self.clock(), EventKind.AUTOMATION, SUBJECT, text, severity, source="watch")]
            )
        except Exception as exc:
            LOGGER.warning("watch: timeline write failed: %s", exc)

    async def page(self, decision: Decision, what: str, report: dict[str, Any] | None = None) -> None:
        """Run the policy's alert command (if any) with the decision on stdin as JSON."""
        command = self.policy.alert_command
        if not command:
            return
        body = {
            "plan": self.plan.plan.name,
            "what": what,
            "state": str(decision.state),
            "text": decision.text,
            "down": decision.down,
            "mode": str(self.policy.mode),
            "at": round(self.clock(), 3),
            "report": report or None,
        }
        env = {
            **os.environ,
            "KDRTUI_AUTOMATION_STATE": str(decision.state),
            "KDRTUI_AUTOMATION_WHAT": what,
            "KDRTUI_AUTOMATION_TEXT": decision.text,
            "KDRTUI_AUTOMATION_PLAN": self.plan.plan.name,
        }
        try:
            proc = await asyncio.create_subprocess_shell(
                command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            try:
                _out, err = await asyncio.wait_for(
                    proc.communicate(json.dumps(body, default=str).encode()), ALERT_TIMEOUT_S
                )
            except TimeoutError:
                proc.kill()
                await proc.wait()
                self._record(f"alert command killed after {ALERT_TIMEOUT_S:.0f} s", "warn")
                return
            if proc.returncode != 0:
                tail = " ".join(err.decode("utf-8", "replace").strip().splitlines()[-1:])[:200]
                self._record(f"alert command exited {proc.returncode}: {tail}", "warn")
            else:
                self._record(f"paged ({what})", "info")
        except OSError as exc:
            self._record(f"alert command could not run: {exc}", "warn")

    async def wait_acting(self) -> None:
        """Wait for a failover it started (tests, and a watch stopping)."""
        if self._acting_task is not None:
            await self._acting_task
