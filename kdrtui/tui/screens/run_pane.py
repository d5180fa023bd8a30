"""The pane of a journaled run: what the Failover and Provisioning panes share, and what a new runbook
(a rollback, a game day) builds on.

A run goes through one worker: the pane's :meth:`RunPane.execute` builds its service and runs it, telling
the app when the run holds the console (:meth:`RunPane.hold`, so quitting asks first); every runner event
arrives as a :class:`~kdrtui.tui.messages.RunEventPosted` message and the end as a
:class:`~kdrtui.tui.messages.RunEnded` message, whatever thread sent them. The run's state is kept in
reactives — ``running``, ``aborting``, ``result``, ``run_error`` — whose watchers redraw the pane and
refresh its keys. ``a`` aborts between steps (through what the pane gave :meth:`RunPane.abortable`); the
typed confirmation of a start, the yes/no question of a resume, the lock they respect, the empty pane of a
plan with nothing to run and the banner's words while a run goes are the same everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Static

from kdrtui.services.runbook.runner import RunEvent
from kdrtui.tui.messages import RunEnded, RunEventPosted, RunOutcome, RunTicket
from kdrtui.tui.screens.base import ModeScreen
from kdrtui.tui.screens.dialogs import ConfirmScreen, TypedConfirmScreen

R = TypeVar("R")
"""What starts a run (the pane's own request: an operation and how, resume or not…)."""

ABORT_NOTE = "abort requested: stopping after the current step"
"""The log line of an abort request."""


class NotStarted(Exception):
    """The run did not start; its message says why (shown as it is)."""


def running_text(what: str, keys: Sequence[str], current: str | None, name: str | None = None) -> str:
    """A going run's banner: ``<what> · step 3/8 <name> · a aborts`` (``name``: the current step's, its
    key by default; no step while none runs)."""
    where = ""
    if current is not None and current in keys:
        where = f" · step {keys.index(current) + 1}/{len(keys)} {name or current}"
    return f"{what}{where} · a aborts"


class RunPane(ModeScreen, Generic[R]):
    """A mode whose runs are journaled: steps, banner, log, typed confirmation, abort, resume, retry."""

    RUN_ID: ClassVar[str] = "run"
    """The id the run holds the console under (the app asks before quitting while it does)."""
    PREFIX: ClassVar[str] = "run"
    """First part of the ids of the pane's widgets (``<PREFIX>-empty`` for a plan with nothing to run)."""
    PREVIEW_GROUP: ClassVar[str] = ""
    """The worker group of what the pane shows before a run (a forecast, a dry run): cancelled when a run
    starts."""

    running: var[bool] = var(False, init=False, bindings=True)
    """Whether a run is going (start and resume hidden, abort offered)."""
    aborting: var[bool] = var(False, init=False, bindings=True)
    """Whether an abort was requested (abort shown disabled)."""
    result: var[Any] = var(None, init=False, bindings=True)
    """How the last run of this session ended (a ``RunResult`` or an ``OperationResult``)."""
    run_error: var[str] = var("", init=False, bindings=True)
    """Why the last run could not start or crashed."""

    def __init__(self) -> None:
        super().__init__()
        self.ticket: RunTicket | None = None
        """The run whose events the pane shows."""
        self._ticker: Timer | None = None
        self._abort: Callable[[], None] | None = None

    # -- what each runbook brings -------------------------------------------------------------------

    def empty_reason(self) -> str | None:
        """Why the plan gives this pane nothing to run (shown instead of the pane), or None."""
        return None

    def compose_run(self) -> ComposeResult:
        """The pane's widgets, when the plan gives it something to run."""
        yield from ()

    async def execute(self, request: R, ticket: RunTicket) -> RunOutcome:
        """Build the run's service and run it to its outcome, posting its events with :meth:`sink`; call
        :meth:`hold` once the run holds the console. Raise :class:`NotStarted` when it cannot start."""
        raise NotImplementedError

    def apply_event(self, event: RunEvent, ticket: RunTicket) -> None:
        """Show one runner event of a live run or dry run."""
        raise NotImplementedError

    def note(self, text: str, colour: str = "") -> None:
        """A line of the pane's own (an abort request, a crash) in the log."""
        raise NotImplementedError

    def error_text(self, exc: Exception) -> str:
        """What the pane says of an exception that stopped a run."""
        return f"stopped by an error: {type(exc).__name__}: {exc}"

    def redraw(self) -> None:
        """Draw the run's state (banner, status, keys): called whenever it changes."""

    def tick(self) -> None:
        """Once a second while a run goes: the running step's elapsed time."""

    async def settle(self, message: RunEnded) -> None:
        """After a run ended, before the state says so: read again what the run changed (a journal, the
        DR state, the plan file)."""

    def run_ended(self, message: RunEnded) -> None:
        """After a run ended and the state says so: show how (notify, report), look again what is next."""

    # -- layout and state ---------------------------------------------------------------------------

    @property
    def runnable(self) -> bool:
        """Whether the plan gives this pane something to run at all."""
        return self.empty_reason() is None

    def compose_body(self) -> ComposeResult:
        reason = self.empty_reason()
        if reason is not None:
            yield Static(Text(reason), id=f"{self.PREFIX}-empty")
            return
        yield from self.compose_run()

    def resume_hint(self, keys: str) -> str:
        """`` — <keys>`` after the banner of a run to resume, or where to resume it under ``--read-only``."""
        return " — resume it without --read-only" if self.read_only else f" — {keys}"

    def watch_running(self, running: bool) -> None:
        if self._ticker is not None:
            (self._ticker.resume if running else self._ticker.pause)()
        self.redraw()

    def watch_aborting(self) -> None:
        self.redraw()

    def watch_result(self) -> None:
        self.redraw()

    def watch_run_error(self) -> None:
        self.redraw()

    def start_ticking(self) -> None:
        """Call :meth:`tick` once a second while a run goes (from the pane's ``on_mount``)."""
        self._ticker = self.set_interval(1.0, self.tick, pause=not self.running, name=f"{self.RUN_ID}-tick")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False  # read-only
        if action == "abort":
            if not self.running:
                return False
            return None if self.aborting else True
        return True

    # -- keys ---------------------------------------------------------------------------------------

    def confirm_typed(
        self, operation: str, dialog: Callable[[], TypedConfirmScreen], then: Callable[[], None]
    ) -> None:
        """Ask the typed confirmation ``dialog()`` builds, then ``then()`` if the name was typed in full and
        nothing runs; not while a run goes or another operation holds the plan (``operation``: what this
        one is called in its lock)."""
        if self.running or not self.runnable or self.refused_by_lock(operation):
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed and not self.running:
                then()

        self.app.push_screen(dialog(), answered)

    def confirm(self, operation: str, question: str, then: Callable[[], None]) -> None:
        """Ask a yes/no ``question`` (a resume, a rollback), then ``then()`` on yes if nothing runs; not while
        a run goes or another operation holds the plan (``operation``: what this one is called in its
        lock)."""
        if self.running or self.refused_by_lock(operation):
            return

        def answered(yes: bool | None) -> None:
            if yes and not self.running:
                then()

        self.app.push_screen(ConfirmScreen(question), answered)

    def action_abort(self) -> None:
        """Abort between steps (the running step finishes; R resumes later)."""
        if not self.running or self.aborting:
            return
        if self._abort is not None:
            self._abort()
        self.aborting = True
        self.note(ABORT_NOTE, "warning")

    # -- running ------------------------------------------------------------------------------------

    def sink(self, ticket: RunTicket) -> Callable[[RunEvent], None]:
        """Where a run's service sends its events (any thread may call it)."""

        def post(event: RunEvent) -> None:
            self.post_message(RunEventPosted(ticket, event))

        return post

    def start_run(self, request: R) -> None:
        """Start a run: what the pane showed before a run stops, the state says so at once, the worker
        builds and runs it."""
        if self.PREVIEW_GROUP:
            self.workers.cancel_group(self, self.PREVIEW_GROUP)
        if self.ticket is not None:
            self.ticket.live = False
        self.ticket = RunTicket()
        self.result, self.run_error = None, ""
        self.aborting = False
        self.running = True
        self.run_job(request, self.ticket)

    def hold(self, ticket: RunTicket, description: str) -> None:
        """The run holds the console from now on (quitting asks first, naming ``description``)."""
        ticket.held = True
        self.kdr_app.begin_operation(self.RUN_ID, description)

    def abortable(self, abort: Callable[[], None]) -> None:
        """``abort()`` stops the running service between steps: ``a`` calls it from now on until the run
        ends (at once, when an abort was asked while the service was being built)."""
        self._abort = abort
        if self.aborting:
            abort()

    @work(exclusive=True, group="journaled-run", exit_on_error=False)
    async def run_job(self, request: R, ticket: RunTicket) -> None:
        """Build and run; the end, how it went, is posted after every event of the run."""
        outcome: RunOutcome | None = None
        error = ""
        try:
            outcome = await self.execute(request, ticket)
        except asyncio.CancelledError:
            raise  # the app is closing: nothing left to draw
        except NotStarted as exc:
            error = str(exc)
        except Exception as exc:
            error = self.error_text(exc)
        finally:
            self._abort = None
            if ticket.held:
                self.kdr_app.end_operation(self.RUN_ID)
        self.post_message(RunEnded(ticket, outcome, error))

    def on_run_event_posted(self, message: RunEventPosted) -> None:
        if message.ticket.live:
            self.apply_event(message.event, message.ticket)

    async def on_run_ended(self, message: RunEnded) -> None:
        if message.ticket is not self.ticket:
            return
        self.result, self.run_error = message.outcome, message.error
        await self.settle(message)
        self.aborting = False
        self.running = False
        self.run_ended(message)
