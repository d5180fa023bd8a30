"""Typed messages that workers post to the UI (``post_message`` is thread-safe)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from textual.message import Message

from kdrtui.domain.health import ClusterObservation

if TYPE_CHECKING:
    from kdrtui.services.runbook.runner import RunEvent


class RunOutcome(Protocol):
    """How a run ended (``RunResult`` of the runner, ``OperationResult`` of a failover)."""

    @property
    def outcome(self) -> str:
        """``completed``, ``failed`` or ``aborted``."""
        ...

    @property
    def error(self) -> str:
        """Why it failed or stopped; ``""`` when it completed."""
        ...


class ClusterObserved(Message):
    """A probe of one cluster finished (successfully or not)."""

    def __init__(self, alias: str, observation: ClusterObservation) -> None:
        super().__init__()
        self.alias = alias
        """The cluster's alias in the plan."""
        self.observation = observation
        """What the probe saw."""


class RunTicket:
    """One run (or dry run) of a journaled pane: its events count only while the pane holds it live."""

    def __init__(self, kind: str = "run") -> None:
        self.kind = kind
        """``run`` or ``dry-run``."""
        self.live = True
        """False once a newer run or dry run took its place (its late events are dropped)."""
        self.held = False
        """Whether the run got as far as holding the console (it was built and started)."""


class RunEventPosted(Message):
    """A runner event of one run or dry run (post it from any thread)."""

    def __init__(self, ticket: RunTicket, event: RunEvent) -> None:
        super().__init__()
        self.ticket = ticket
        """Which run sent it."""
        self.event = event
        """What happened: a step started or ended, progress, the run's start or end."""


class RunEnded(Message):
    """A run ended (posted after all its events); ``outcome`` is None when it could not start or crashed."""

    def __init__(self, ticket: RunTicket, outcome: RunOutcome | None, error: str) -> None:
        super().__init__()
        self.ticket = ticket
        """Which run ended."""
        self.outcome = outcome
        """How it ended (``outcome``: ``completed``, ``failed``, ``aborted``…)."""
        self.error = error
        """Why it could not start or crashed; ``""`` when it ran to an outcome."""


class Replaceable(Message):
    """A reading of which only the newest matters: a newer pending one replaces it unseen (toolong)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, type(self))
