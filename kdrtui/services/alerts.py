"""The alert hook: log every health change of a flow or topic, and optionally run a command for it.

:func:`health_changes` is pure; :class:`AlertHook` logs one line per change on the ``kdrtui.alerts``
logger and, when configured, runs the user's command with the change in its environment. It blocks (up
to 10 s per command), so it is called from the lag pane's thread worker, never on the UI loop.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass

from kdrtui.domain.lag import FlowLag, LagSnapshot
from kdrtui.domain.lag_health import Health

COMMAND_TIMEOUT_S = 10.0
"""How long an alert command may run before it is killed."""

LOGGER = logging.getLogger("kdrtui.alerts")


@dataclass(frozen=True, slots=True)
class HealthChange:
    """A flow's or a topic's health moved from ``old`` to ``new``."""

    flow: str
    """``source->target``."""
    topic: str | None
    """Source topic name; None for the flow as a whole."""
    old: Health | None
    """Health in the previous snapshot; None when it was not there (first snapshot, new topic)."""
    new: Health
    """Health now."""
    lag_records: int
    """Records behind now."""
    lag_seconds: float
    """Seconds behind now."""

    def describe(self) -> str:
        """One log line: ``primary->dr/orders: OK -> CRIT (1200 records, 130.0 s)``."""
        what = self.flow if self.topic is None else f"{self.flow}/{self.topic}"
        old = "-" if self.old is None else str(self.old)
        return f"{what}: {old} -> {self.new} ({self.lag_records} records, {self.lag_seconds:.1f} s)"

    def env(self) -> dict[str, str]:
        """The ``KDRTUI_ALERT_*`` variables a command sees."""
        return {
            "KDRTUI_ALERT_FLOW": self.flow,
            "KDRTUI_ALERT_TOPIC": self.topic or "",
            "KDRTUI_ALERT_OLD": "" if self.old is None else str(self.old),
            "KDRTUI_ALERT_NEW": str(self.new),
            "KDRTUI_ALERT_LAG_RECORDS": str(self.lag_records),
            "KDRTUI_ALERT_LAG_SECONDS": f"{self.lag_seconds:.1f}",
        }


def _flow_name(flow: FlowLag) -> str:
    return f"{flow.source}->{flow.target}"


def health_changes(previous: LagSnapshot | None, current: LagSnapshot) -> list[HealthChange]:
    """Every flow and topic whose health differs from ``previous``, flows first, in snapshot order.

    Without a previous snapshot (or for a flow or topic that was not in it) only what is not OK is
    reported, with ``old`` None: starting the console on a broken mirror alerts, a healthy one does not.
    Topics that disappeared are not reported.
    """
    before_flows = {_flow_name(f): f for f in previous.flows} if previous is not None else {}
    changes: list[HealthChange] = []
    topic_changes: list[HealthChange] = []
    for flow in current.flows:
        name = _flow_name(flow)
        old_flow = before_flows.get(name)
        old_health = None if old_flow is None else old_flow.health
        if not _same(old_health, flow.health):
            changes.append(
                HealthChange(name, None, old_health, flow.health, flow.lag_records, flow.lag_seconds)
            )
        old_topics = {t.topic: t.health for t in old_flow.topics} if old_flow is not None else {}
        for topic in flow.topics:
            old = old_topics.get(topic.topic)
            if _same(old, topic.health):
                continue
            topic_changes.append(
                HealthChange(name, topic.topic, old, topic.health, topic.lag_records, topic.lag_seconds)
            )
    return changes + topic_changes


_FINE = frozenset({Health.OK, Health.IDLE})
"""Healths that need nobody: a scheduled flow goes OK -> IDLE -> OK with every batch, unremarked."""


def _same(old: Health | None, new: Health) -> bool:
    """No alert from ``old`` to ``new``: unchanged, fine to fine, or first seen fine."""
    return old == new or (new in _FINE and (old is None or old in _FINE))


class AlertHook:
    """Logs each health change and runs ``command`` (a shell command line) for it when one is set."""

    def __init__(self, command: str | None, logger: logging.Logger | None = None) -> None:
        self.command = command or None
        """Shell command run once per change, or None to only log."""
        self.logger = logger or LOGGER
        """Where the one-line descriptions go."""

    def __call__(self, previous: LagSnapshot | None, current: LagSnapshot) -> list[HealthChange]:
        """Handle the changes from ``previous`` to ``current`` (blocking); returns them."""
        changes = health_changes(previous, current)
        for change in changes:
            self.notify(change)
        return changes

    def notify(self, change: HealthChange) -> None:
        """Log one change and run the command for it; a failing command is logged, never raised."""
        level = logging.INFO if change.new in _FINE else logging.WARNING
        self.logger.log(level, "health %s", change.describe())
        if self.command is None:
            return
        try:
            done = subprocess.run(
                self.command,
                shell=True,
                env={**os.environ, **change.env()},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.logger.error("alert command timed out after %.0f s: %s", COMMAND_TIMEOUT_S, self.command)
            return
        except OSError as exc:
            self.logger.error("alert command could not run (%s): %s", exc, self.command)
            return
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()[-300:]
            self.logger.error("alert command exited %d: %s %s", done.returncode, self.command, err)
