"""Runbooks as data: steps with a look-first action and a verification, and the journal's meaning.

A runbook (failover, failback) is an ordered list of :class:`Step`. Each step

- ``describe``s what it would do, reading but changing nothing (``--dry-run``);
- ``run``s: looks at the world first and changes only what is not already so (idempotent), returning an
  :class:`Outcome` with the facts worth keeping (offsets committed, processes stopped, values replaced);
- ``verify``s a finished step from its recorded facts, so a resumed run re-checks it instead of
  re-running it.

The journal (JSON lines, see :mod:`kdrtui.services.runbook.journal`) records every step's start and end;
:func:`replay` turns its entries back into what a resumed run needs. This module does no I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar


class StepStatus(StrEnum):
    """Where a step is."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    VERIFIED = "verified"
    """Finished in an earlier run of the same journal and re-verified, not re-run."""

    @property
    def finished(self) -> bool:
        """Whether the runbook may go past a step in this state."""
        return self in (StepStatus.DONE, StepStatus.SKIPPED, StepStatus.VERIFIED)


@dataclass(frozen=True)
class Outcome:
    """The end of a step: done, skipped (with why) or failed (with why), and its facts."""

    status: StepStatus
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def done(cls, summary: str, **facts: Any) -> Outcome:
        return cls(StepStatus.DONE, summary, facts)

    @classmethod
    def skipped(cls, summary: str, **facts: Any) -> Outcome:
        return cls(StepStatus.SKIPPED, summary, facts)

    @classmethod
    def failed(cls, summary: str, **facts: Any) -> Outcome:
        return cls(StepStatus.FAILED, summary, facts)


class StepFailed(Exception):
    """Raised inside a step to end it as failed with a clear summary (and any facts gathered)."""

    def __init__(self, summary: str, **facts: Any) -> None:
        super().__init__(summary)
        self.summary = summary
        self.facts = facts


C = TypeVar("C")


class Step(ABC, Generic[C]):
    """One step of a runbook over a context ``C`` (the plan, clients, what earlier steps found)."""

    key: str = ""
    """Stable identifier, recorded in the journal (e.g. ``stop-mirrormaker``)."""
    title: str = ""
    """What an operator reads (e.g. "Stop MirrorMaker primary -> dr")."""

    @abstractmethod
    async def describe(self, ctx: C) -> list[str]:
        """What the step would do now, one line each; reads only, changes nothing."""

    @abstractmethod
    async def run(self, ctx: C) -> Outcome:
        """Do the step: look first, change only what is missing, verify, return the facts."""

    async def verify(self, ctx: C, facts: dict[str, Any]) -> str | None:
        """Whether a step finished earlier still holds; None when it does, else what no longer holds."""
        return None

    def undone_by(self, ctx: C) -> frozenset[str]:
        """Keys of LATER steps of this runbook that undo this step's effect (failback's replication takes
        down the fence its fence step put up). On resume, once one of them has finished this step is not
        verified against the world (its effect is gone on purpose, and re-running it would put it back):
        the later step's own verification checks the undo held."""
        return frozenset()


@dataclass
class StepRecord:
    """What the journal says about one step."""

    key: str
    status: StepStatus = StepStatus.PENDING
    summary: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None
    ended_at: float | None = None
    runs: int = 0
    """How many times the step was started (a step interrupted mid-way is started again on resume)."""

    @property
    def seconds(self) -> float | None:
        """How long the step took, when it ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass
class RunState:
    """A runbook's journal, replayed."""

    run_id: str = ""
    operation: str = ""
    plan: str = ""
    confirmed_at: float | None = None
    """When the operator confirmed (the first run's start): the RTO clock starts here."""
    runs: int = 0
    """Number of processes that worked on this journal (1 + resumes)."""
    steps: dict[str, StepRecord] = field(default_factory=dict)
    ended: str | None = None
    """``completed``, ``failed``, ``aborted`` or ``rolled-back`` (a rollback undid the run) for a journal
    whose last run ended; None if it was cut."""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether the runbook reached an end (nothing to resume): it completed, or was rolled back."""
        return self.ended in ("completed", "rolled-back")

    def facts(self, key: str) -> dict[str, Any]:
        """The recorded facts of step ``key`` (empty when it has none)."""
        record = self.steps.get(key)
        return record.facts if record is not None else {}


def replay(entries: list[dict[str, Any]]) -> RunState:
    """The state a journal's entries describe (entries in file order; unknown events are ignored)."""
    state = RunState()
    for entry in entries:
        event = entry.get("event")
        at = entry.get("at")
        if event == "run-start":
            state.run_id = str(entry.get("run", ""))
            state.operation = str(entry.get("operation", ""))
            state.plan = str(entry.get("plan", ""))
            state.options = dict(entry.get("options") or {})
            if state.confirmed_at is None and isinstance(at, (int, float)):
                state.confirmed_at = float(at)
            state.runs += 1
            state.ended = None
        elif event == "step-start":
            record = state.steps.setdefault(str(entry["step"]), StepRecord(str(entry["step"])))
            record.status = StepStatus.RUNNING
            record.runs += 1
            if isinstance(at, (int, float)):
                record.started_at, record.ended_at = float(at), None
        elif event == "step-end":
            record = state.steps.setdefault(str(entry["step"]), StepRecord(str(entry["step"])))
            record.status = StepStatus(str(entry["status"]))
            record.summary = str(entry.get("summary", ""))
            if record.status != StepStatus.VERIFIED:
                record.facts = dict(entry.get("facts") or {})
                if isinstance(at, (int, float)):
                    record.ended_at = float(at)
            # A step verified by a resume keeps the time it took when it ran: its own duration, never
            # the time from its run to the resume.
        elif event == "run-end":
            state.ended = str(entry.get("outcome", ""))
    return state
