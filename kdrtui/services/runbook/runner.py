"""Runs a runbook's steps in order, journaling each, resuming from a journal, reporting as it goes.

- A fresh run writes ``run-start`` (with the options), then per step ``step-start`` and ``step-end``
  (status, summary, facts), then ``run-end``.
- ``resume`` reads the journal: a step that finished (done/skipped/verified) is re-verified from its facts
  (``step-end`` with status ``verified``) and its facts carried on; a step that was started but never
  ended, or whose verification fails, is run again (steps look before they change, so this is safe).
  A finished step whose effect a LATER finished step undid on purpose (:meth:`Step.undone_by`) is not
  verified against the world and never re-run: its effect is gone as planned, and the later step's own
  verification checks that.
- A step records what it is about to change with ``ctx.note(**facts)`` (journaled, fsynced, as
  ``step-note``) before it changes it, so the journal says what a run killed mid-step may have done.
- An abort request is honoured between steps: ``run-end`` ``aborted``, resumable.
- Everything an operator should see goes to ``on_event`` (the console, the CLI printer, tests).
- Rehearsal hook: with ``KDRTUI_CRASH_AFTER_STEP=<step key>`` in its environment, the process kills
  itself (SIGKILL) right after journaling that step's end — a crash at a step boundary, on demand.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kdrtui.domain.runbook import Outcome, RunState, Step, StepFailed, StepStatus
from kdrtui.services.runbook.store import Journal

C = TypeVar("C")


@dataclass(frozen=True)
class RunEvent:
    """Something an operator should see: a step started or ended, a progress line, the run ended."""

    kind: str
    """``run-start``, ``step-start``, ``progress``, ``step-end``, ``run-end``."""
    step: str = ""
    title: str = ""
    status: StepStatus | None = None
    text: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None


EventSink = Callable[[RunEvent], None]

CRASH_AFTER_STEP_ENV = "KDRTUI_CRASH_AFTER_STEP"
"""Names a step key: the process SIGKILLs itself right after journaling that step's end (rehearsals)."""
DESCRIBE_TIMEOUT_S = 60.0
"""A dry run's step that has not said what it would do within this long says it cannot tell."""


@dataclass
class RunResult:
    """How a run ended."""

    outcome: str
    """``completed``, ``failed`` or ``aborted``."""
    state: RunState
    failed_step: str | None = None
    error: str = ""


class Facts:
    """The facts of finished steps, readable by later steps (``ctx.facts["stop-mirrormaker"]``)."""

    def __init__(self) -> None:
        self.by_step: dict[str, dict[str, Any]] = {}

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self.by_step.get(key, {})


class Runner(Generic[C]):
    """One runbook over one context.

    Args:
        operation: ``failover`` / ``failback`` (journal and audit).
        plan_name: the plan's name (journal).
        steps: the steps, in order.
        ctx: what the steps work on; it must have a ``facts: Facts`` attribute, a
            ``say: Callable[[str], None]`` the runner points at the current step's progress and a
            ``note: Callable[..., None]`` it points at the journal (``step-note`` of the current step).
        journal: where to record (a new one, or the one to resume).
        on_event: receives every :class:`RunEvent` (from the event loop's thread).
    """

    def __init__(
        self,
        operation: str,
        plan_name: str,
        steps: Sequence[Step[C]],
        ctx: C,
        journal: Journal,
        on_event: EventSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.operation = operation
        self.plan_name = plan_name
        self.steps = list(steps)
        self.ctx = ctx
        self.journal = journal
        self._on_event = on_event or (lambda event: None)
        self._clock = clock
        self.abort_requested = asyncio.Event()
        self.current: str | None = None

    def _emit(self, event: RunEvent) -> None:
        self._on_event(event)

    def _say_for(self, step: Step[C]) -> Callable[[str], None]:
        def say(text: str) -> None:
            self._emit(RunEvent("progress", step.key, step.title, StepStatus.RUNNING, text))

        return say

    def _note_for(self, step: Step[C]) -> Callable[..., None]:
        def note(**facts: Any) -> None:
            self.journal.write("step-note", step=step.key, **facts)

        return note

    def _point_at(self, step: Step[C]) -> None:
        self.current = step.key
        self.ctx.say = self._say_for(step)  # type: ignore[attr-defined]
        self.ctx.note = self._note_for(step)  # type: ignore[attr-defined]

    def request_abort(self) -> None:
        """Stop before the next step (the current one finishes: steps are not cut half-way)."""
        self.abort_requested.set()

    async def dry_run(self) -> list[tuple[Step[C], list[str]]]:
        """What every step would do now; writes nothing."""
        plan: list[tuple[Step[C], list[str]]] = []
        for step in self.steps:
            self._point_at(step)
            self.ctx.note = lambda **_facts: None  # type: ignore[attr-defined]  # a dry run journals nothing
            try:
                lines = await asyncio.wait_for(step.describe(self.ctx), DESCRIBE_TIMEOUT_S)
            except StepFailed as exc:
                lines = [f"cannot tell: {exc.summary}"]
            except TimeoutError:
                lines = [f"cannot tell: no answer within {DESCRIBE_TIMEOUT_S:.0f} s"]
            except Exception as exc:  # a dry run reports what it could not read; it never crashes
                lines = [f"cannot tell: {_one_line(exc)}"]
            plan.append((step, lines))
        return plan

    async def run(self, *, resume: bool = False, options: dict[str, Any] | None = None) -> RunResult:
        """Run (or resume) the runbook to its end, a failure, or an abort between steps."""
        previous = self.journal.state() if resume else RunState()
        self.journal.write(
            "run-start",
            operation=self.operation,
            plan=self.plan_name,
            resumed=resume,
            options=options or previous.options,
        )
        self._emit(RunEvent("run-start", text="resuming" if resume else "starting"))
        facts: Facts = self.ctx.facts  # type: ignore[attr-defined]
        finished = {key for key, record in previous.steps.items() if record.status.finished}
        for step in self.steps:
            if self.abort_requested.is_set():
                return self._end("aborted", step.key, "aborted by the operator before this step")
            self._point_at(step)
            record = previous.steps.get(step.key)
            undone = sorted(step.undone_by(self.ctx) & finished) if record is not None else []
            if record is not None and record.status.finished and undone:
                # Its effect was taken away on purpose by a later step: re-checking (or re-doing) it now
                # would put back what that step removed. The later step verifies the undo.
                facts.by_step[step.key] = record.facts
                summary = f"done in an earlier run, then undone by {', '.join(undone)} as planned"
                self.journal.write("step-end", step=step.key, status=StepStatus.VERIFIED, summary=summary)
                self._emit(RunEvent("step-end", step.key, step.title, StepStatus.VERIFIED, summary))
                continue
            if record is not None and record.status.finished:
                problem = await self._verify(step, record.facts)
                if problem is None:
                    facts.by_step[step.key] = record.facts
                    summary = f"verified (done in an earlier run): {record.summary}"
                    self.journal.write("step-end", step=step.key, status=StepStatus.VERIFIED, summary=summary)
                    self._emit(RunEvent("step-end", step.key, step.title, StepStatus.VERIFIED, summary))
                    continue
                self._emit(
                    RunEvent("progress", step.key, step.title, StepStatus.RUNNING, f"re-running: {problem}")
                )
            outcome = await self._run_step(step)
            if outcome.status == StepStatus.FAILED:
                return self._end("failed", step.key, outcome.summary)
            facts.by_step[step.key] = outcome.facts
        return self._end("completed", None, "")

    async def _verify(self, step: Step[C], facts: dict[str, Any]) -> str | None:
        try:
            return await step.verify(self.ctx, facts)
        except StepFailed as exc:
            return exc.summary
        except Exception as exc:  # a verification that cannot run is not a verification
            return _one_line(exc)

    async def _run_step(self, step: Step[C]) -> Outcome:
        started = self._clock()
        self.journal.write("step-start", step=step.key, title=step.title)
        self._emit(RunEvent("step-start", step.key, step.title, StepStatus.RUNNING))
        try:
            outcome = await step.run(self.ctx)
        except StepFailed as exc:
            outcome = Outcome.failed(exc.summary, **exc.facts)
        except asyncio.CancelledError:
            self.journal.write("step-end", step=step.key, status=StepStatus.FAILED, summary="cancelled")
            raise
        except Exception as exc:
            outcome = Outcome.failed(_one_line(exc))
        seconds = self._clock() - started
        self.journal.write(
            "step-end",
            step=step.key,
            status=outcome.status,
            summary=outcome.summary,
            facts=outcome.facts,
            seconds=round(seconds, 3),
        )
        if os.environ.get(CRASH_AFTER_STEP_ENV) == step.key:
            os.kill(os.getpid(), signal.SIGKILL)  # the rehearsal hook: a crash right at this boundary
        self._emit(
            RunEvent(
                "step-end", step.key, step.title, outcome.status, outcome.summary, outcome.facts, seconds
            )
        )
        return outcome

    def _end(self, outcome: str, step: str | None, error: str) -> RunResult:
        self.journal.write("run-end", outcome=outcome, step=step, error=error)
        self.current = None
        self._emit(RunEvent("run-end", step or "", text=outcome if not error else f"{outcome}: {error}"))
        return RunResult(outcome, self.journal.state(), step if outcome != "completed" else None, error)


def _one_line(exc: BaseException) -> str:
    """``TypeName: message`` on one line (a broker's or a node's text may carry newlines); a secret the
    plan names that cannot be read says only that (its message names the cluster and the key)."""
    from kdrtui.domain.safe_text import shown
    from kdrtui.services.kafka.security import SecurityError

    return shown(str(exc) if isinstance(exc, SecurityError) else f"{type(exc).__name__}: {exc}", 400)
