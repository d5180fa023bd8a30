"""The Provisioning pane's model: what the pane needs of the provisioner, and a run's progress as data.

The pane (:mod:`kdrtui.tui.screens.provisioning`) depends on :class:`ProvisioningService` only; the real
one is ``kdrtui.services.azure.provision.Provisioning``, imported by :func:`azure_provisioning_factory`
when the pane first needs it (never at start-up: the Azure SDKs would slow the console's first paint).
:class:`ProvisioningProgress` folds the runner's events into one view per step; it imports no Textual.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kdrtui.domain.runbook import RunState, StepStatus

if TYPE_CHECKING:
    from kdrtui.domain.plan import Plan
    from kdrtui.services.runbook.runner import EventSink, RunEvent, RunResult

LOG_LINES_PER_STEP = 1000
"""Progress lines kept per step."""

PROVISION_MODULE = "kdrtui.services.azure.provision"
"""Where the real provisioner lives."""


class ProvisionStep(Protocol):
    """One provisioning step as the pane shows it."""

    @property
    def key(self) -> str:
        """Stable identifier, e.g. ``clusters``."""
        ...

    @property
    def title(self) -> str:
        """What an operator reads, e.g. "HDInsight Kafka clusters"."""
        ...


class InterruptedRun(Protocol):
    """An unfinished provisioning journal (``services.runbook.store.Journal``)."""

    path: Path

    def state(self) -> RunState:
        """The journal, replayed."""
        ...


class ProvisioningService(Protocol):
    """What the pane drives: the provisioner facade of issue 7 (``Provisioning``), or a test's fake.

    Every event of a dry run or a run goes to the ``on_event`` sink the factory was given.
    """

    @property
    def steps(self) -> Sequence[ProvisionStep]:
        """The steps, in order."""
        ...

    def interrupted(self) -> InterruptedRun | None:
        """An unfinished provisioning journal, if any (reads files; no Azure call)."""
        ...

    def last_completed(self) -> InterruptedRun | None:
        """The newest provisioning journal whose run completed, if any."""
        ...

    async def dry_run(self) -> Sequence[tuple[ProvisionStep, Sequence[str]]]:
        """What every step would create or finds already there; changes nothing."""
        ...

    async def run(self, *, resume: bool = False) -> RunResult:
        """Provision (or resume the unfinished journal) to the end, a failure or an abort."""
        ...

    def request_abort(self) -> None:
        """Stop before the next step (the current one finishes)."""
        ...


HostKeyQuestion = Callable[[str, int, str, str], Awaitable[bool]]
"""Asks the operator about an unknown SSH host key: (host, port, key type, fingerprint) -> trust it?"""

ProvisioningFactory = Callable[["Plan", "Path | None", "EventSink", HostKeyQuestion], ProvisioningService]
"""Builds the provisioner for (plan, plan file, event sink, host-key question); called in a thread, so it
may import the Azure SDKs."""


class ProvisioningUnavailable(Exception):
    """Provisioning cannot be offered here (the provisioner is missing, the plan has no file, or the
    provisioner refuses the plan)."""


def azure_provisioning_factory(
    plan: Plan, plan_path: Path | None, on_event: EventSink, ask_host_key: HostKeyQuestion
) -> ProvisioningService:
    """The real provisioner, imported now (its Azure SDKs load in a thread when it first runs: ``warm``).

    Raises:
        ProvisioningUnavailable: the provisioner cannot be imported, the plan was not read from a file, or
            the provisioner refuses the plan (no subscription, no cluster with an ``hdinsight`` table…).
    """
    try:
        if PROVISION_MODULE != "kdrtui.services.azure.provision":  # a test points it elsewhere
            importlib.import_module(PROVISION_MODULE)
        from kdrtui.services.azure.provision import Provisioning, ProvisionRefused
    except ImportError as exc:
        raise ProvisioningUnavailable(
            f"provisioning is unavailable: {PROVISION_MODULE} cannot be imported "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    if plan_path is None:
        raise ProvisioningUnavailable(
            "provisioning is unavailable: the plan was not read from a file (provisioning writes the "
            "brokers it finds back into the plan file); open it with `kdrtui --plan PATH`"
        )
    try:
        service: ProvisioningService = Provisioning(
            plan, plan_path, on_event=on_event, confirm_host_key=ask_host_key
        )
    except ProvisionRefused as exc:
        raise ProvisioningUnavailable(f"provisioning is unavailable: {exc}") from exc
    return service


def error_text(exc: BaseException) -> str:
    """An exception as the pane shows it: a refusal (``…Refused``) by its message, others with their type."""
    if type(exc).__name__.endswith("Refused"):
        return f"cannot start: {exc}"
    return f"{type(exc).__name__}: {exc}"


def duration_text(seconds: float | None) -> str:
    """``42s``, ``1m23s``, ``2h05m``; ``""`` for None."""
    if seconds is None:
        return ""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@dataclass
class ResourceView:
    """One resource a step works on, from its ``progress`` facts."""

    name: str
    """E.g. ``cluster kdrlab-dr``."""
    status: str = "running"
    """``running``, ``done``, ``failed`` or ``skipped``."""
    state: str = ""
    """Azure's own state text, e.g. ``clusterState HdInsightConfiguration``."""
    fraction: float | None = None
    """How far it is (0.0-1.0), when the provisioner can tell."""

    @property
    def progress(self) -> float:
        """0.0-1.0 for the overall bar (a finished resource counts as whole)."""
        if self.status in ("done", "skipped"):
            return 1.0
        return min(1.0, max(0.0, self.fraction or 0.0))


@dataclass
class LogLine:
    """One line of a step's log."""

    at: float
    """When the pane received it (the app's clock)."""
    text: str
    colour: str = ""
    """Theme colour name (``error``, ``success``…), ``""`` for none."""


@dataclass
class StepView:
    """Everything the pane shows of one step."""

    key: str
    title: str
    status: StepStatus = StepStatus.PENDING
    started_at: float | None = None
    """When it started running (the app's clock), while it runs."""
    seconds: float | None = None
    """How long it took, once it ended (None for a step verified from an earlier run)."""
    summary: str = ""
    """Its outcome (an ARM error's code and message when it failed)."""
    plan: list[str] = field(default_factory=list)
    """The dry run's lines: what it would create or found already there."""
    resources: dict[str, ResourceView] = field(default_factory=dict)
    log: list[LogLine] = field(default_factory=list)

    def elapsed(self, now: float) -> float | None:
        """Seconds so far while it runs, else how long it took."""
        if self.status is StepStatus.RUNNING and self.started_at is not None:
            return max(0.0, now - self.started_at)
        return self.seconds

    @property
    def progress(self) -> float:
        """0.0-1.0: whole when finished, the mean of its resources' fractions while it runs."""
        if self.status.finished:
            return 1.0
        if self.status is StepStatus.RUNNING and self.resources:
            return sum(r.progress for r in self.resources.values()) / len(self.resources)
        return 0.0


@dataclass
class Change:
    """What one event changed: the steps to redraw and the log lines added (step, line)."""

    steps: set[str] = field(default_factory=set)
    lines: list[tuple[str, LogLine]] = field(default_factory=list)


STATUS_MARKS: dict[StepStatus, str] = {
    StepStatus.PENDING: "·",
    StepStatus.RUNNING: "▶",
    StepStatus.DONE: "✓",
    StepStatus.SKIPPED: "↷",
    StepStatus.FAILED: "✗",
    StepStatus.VERIFIED: "✓",
}
"""Each status's mark."""

STEP_COLOURS: dict[StepStatus, str] = {
    StepStatus.PENDING: "text-muted",
    StepStatus.RUNNING: "warning",
    StepStatus.DONE: "success",
    StepStatus.SKIPPED: "text-muted",
    StepStatus.FAILED: "error",
    StepStatus.VERIFIED: "success",
}
"""Each status's theme colour."""


class ProvisioningProgress:
    """The steps of one provisioning and where each is, folded from the runner's events."""

    def __init__(self, steps: Sequence[tuple[str, str]]) -> None:
        self.steps: dict[str, StepView] = {key: StepView(key, title) for key, title in steps}
        """Every step by key, in order."""
        self.current: str | None = None
        """The step running now."""
        self.failed: str | None = None
        """The step the last run failed at."""
        self.ended: str = ""
        """The run-end text of the last run (``completed``, ``failed: …``), ``""`` while none ended."""

    @property
    def keys(self) -> list[str]:
        """Step keys, in order."""
        return list(self.steps)

    def same_steps(self, steps: Sequence[tuple[str, str]]) -> bool:
        """Whether ``steps`` are this progress's steps (same keys and titles, same order)."""
        return [(v.key, v.title) for v in self.steps.values()] == list(steps)

    # -- the dry run and an interrupted journal -------------------------------------------------------

    def set_plan(self, lines: dict[str, list[str]]) -> None:
        """The dry run's lines per step (steps without lines keep none)."""
        for key, view in self.steps.items():
            view.plan = list(lines.get(key, []))

    def start_run(self) -> None:
        """Every step pending again, without resources or summary, for a new run (keeps the dry run)."""
        for view in self.steps.values():
            view.status, view.started_at, view.seconds, view.summary = StepStatus.PENDING, None, None, ""
            view.resources.clear()
        self.current, self.failed, self.ended = None, None, ""

    def show_dry_run(self, lines: dict[str, list[str]], journal: RunState | None) -> None:
        """A new dry run: every step pending with its ``lines`` (per step key), then marked as ``journal``
        (an interrupted run's, or the last completed run's) says."""
        self.start_run()
        self.set_plan(lines)
        if journal is not None:
            self.show_journal(journal)

    def show_journal(self, state: RunState) -> None:
        """Mark the steps an interrupted run finished (or failed) as its journal says."""
        for key, record in state.steps.items():
            view = self.steps.get(key)
            if view is None or view.status is not StepStatus.PENDING:
                continue
            if record.status.finished or record.status is StepStatus.FAILED:
                view.status, view.summary, view.seconds = record.status, record.summary, record.seconds

    # -- a run ----------------------------------------------------------------------------------------

    def apply(self, event: RunEvent, now: float, *, dry_run: bool = False) -> Change:
        """Fold one runner event in (``dry_run``: only log its progress lines)."""
        change = Change()
        view = self.steps.get(event.step)
        if dry_run:
            if view is not None and event.kind == "progress" and event.text:
                self._log(change, view, LogLine(now, f"dry run: {event.text}", "text-muted"))
            return change
        if event.kind == "run-end":
            self.ended = event.text or "ended"
            self.current = None
            return change
        if view is None:
            return change
        if event.kind == "step-start":
            view.status, view.started_at, view.seconds, view.summary = StepStatus.RUNNING, now, None, ""
            view.resources.clear()
            self.current = view.key
            change.steps.add(view.key)
            self._log(change, view, LogLine(now, f"▶ {view.title}", "warning"))
        elif event.kind == "progress":
            self._progress(change, view, event, now)
        elif event.kind == "step-end":
            status = event.status or StepStatus.DONE
            view.status, view.summary = status, event.text
            view.seconds = event.seconds
            if status is StepStatus.FAILED:
                self.failed = view.key
            if self.current == view.key:
                self.current = None
            change.steps.add(view.key)
            colour = {StepStatus.FAILED: "error", StepStatus.SKIPPED: "text-muted"}.get(status, "success")
            self._log(change, view, LogLine(now, f"{STATUS_MARKS[status]} {status}: {event.text}", colour))
        return change

    def _progress(self, change: Change, view: StepView, event: RunEvent, now: float) -> None:
        facts = event.facts or {}
        name = str(facts.get("resource", "") or "")
        if not name:
            for line in (event.text or "").splitlines():
                self._log(change, view, LogLine(now, line))
            return
        resource = view.resources.get(name)
        before = None if resource is None else (resource.status, resource.state)
        if resource is None:
            resource = view.resources[name] = ResourceView(name)
        resource.status = str(facts.get("status") or resource.status)
        resource.state = str(facts.get("state") or resource.state)
        fraction = facts.get("fraction")
        if isinstance(fraction, int | float):
            resource.fraction = float(fraction)
        change.steps.add(view.key)
        # A poll that changed nothing but the fraction logs nothing: the tree shows the fraction.
        if before == (resource.status, resource.state):
            return
        colour = {"failed": "error", "done": "success"}.get(resource.status, "")
        if event.text:
            for line in event.text.splitlines():
                self._log(change, view, LogLine(now, line, colour))
        else:
            state = f" ({resource.state})" if resource.state else ""
            self._log(change, view, LogLine(now, f"{name}: {resource.status}{state}", colour))

    @staticmethod
    def _log(change: Change, view: StepView, line: LogLine) -> None:
        view.log.append(line)
        if len(view.log) > LOG_LINES_PER_STEP:
            del view.log[: len(view.log) - LOG_LINES_PER_STEP]
        change.lines.append((view.key, line))

    # -- totals -----------------------------------------------------------------------------------------

    @property
    def finished(self) -> int:
        """Steps done, skipped or verified."""
        return sum(1 for v in self.steps.values() if v.status.finished)

    def overall(self) -> float:
        """Progress in steps: those finished plus the running one's resource fractions."""
        return sum(v.progress for v in self.steps.values())

    def count_text(self, now: float | None) -> str:
        """``4/10 steps``, and ``· 2m 05s`` of the run so far as of ``now`` (None: a dry run, no time)."""
        count = f"{self.finished}/{len(self.steps)} steps"
        return count if now is None else f"{count} · {duration_text(self.elapsed(now))}"

    def elapsed(self, now: float) -> float:
        """Seconds the steps of this run took so far (the running one included)."""
        return sum(v.elapsed(now) or 0.0 for v in self.steps.values())
