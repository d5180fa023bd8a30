"""What the console's Overview and ``kdrtui status`` say of the automated failover policy: one line
(``Automation: armed (act): primary up (kdrtui up)``) and a JSON block, from the plan's ``[automation]``
table and what ``kdrtui watch`` published (:mod:`kdrtui.services.automation.state`).

- the policy is not enabled: ``Automation: off`` (no file is read);
- enabled, nothing published: ``Automation: act — kdrtui watch not running``;
- published, but stale (the watcher stopped): ``Automation: not running (kdrtui watch last wrote 42 s
  ago: armed)``;
- otherwise the watcher's state, mode and why: ``Automation: holding (act): ...``.

Each line has a tone (:attr:`AutomationStatus.tone`) the console colours it by.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kdrtui.domain.automation import PolicyState
from kdrtui.domain.health import coarse_age
from kdrtui.services.automation.state import AutoFailover, PublishedState, read_last_failover, read_state

if TYPE_CHECKING:
    from pathlib import Path

    from kdrtui.domain.plan import Plan

NOT_RUNNING = "kdrtui watch not running"
"""What is said of an enabled policy no watcher ever published a state for."""
TONES: dict[str, str] = {
    PolicyState.OFF: "off",
    PolicyState.STANDBY: "neutral",
    PolicyState.ARMED: "ok",
    PolicyState.HOLDING: "warn",
    PolicyState.ADVISING: "warn",
    PolicyState.AWAITING_ACK: "warn",
    PolicyState.COOLING_DOWN: "warn",
    PolicyState.BLOCKED: "warn",
    PolicyState.ACTING: "crit",
}
"""Each published state's tone (a state this version does not know: ``warn``). The tones: ``off`` (not
enabled), ``neutral``, ``ok``, ``warn`` (also: no watcher runs) and ``crit``."""


@dataclass(frozen=True)
class AutomationStatus:
    """The policy as the plan sets it and as its watcher last published it, at :attr:`now`."""

    enabled: bool
    mode: str
    """The plan's ``[automation] mode`` (``advise`` or ``act``)."""
    published: PublishedState | None = None
    """The watcher's latest evaluation; None when none was published (or it cannot be read)."""
    last_failover: AutoFailover | None = None
    """The watcher's last automatic failover, None when there was none."""
    now: float = 0.0
    """When this was read (epoch s): what :attr:`stale` and the ages are measured from."""

    @property
    def state(self) -> str | None:
        """``off`` when the policy is not enabled, else the published state (None: none published)."""
        if not self.enabled:
            return str(PolicyState.OFF)
        return None if self.published is None else self.published.state

    @property
    def stale(self) -> bool:
        """The watcher published a state but stopped writing (False when it never published one)."""
        return self.published is not None and self.published.stale(self.now)

    @property
    def running(self) -> bool:
        """A watcher publishes its evaluations now."""
        return self.published is not None and not self.stale

    @property
    def tone(self) -> str:
        """``off``, ``neutral``, ``ok``, ``warn`` or ``crit`` (see :data:`TONES`)."""
        if not self.enabled:
            return "off"
        if self.published is None or self.stale:
            return "warn"
        return TONES.get(self.published.state, "warn")

    def text(self, coarse: bool = False) -> str:
        """What follows ``Automation: ``. ``coarse``: a stale state's age in :func:`coarse_age` steps (a
        live screen repaints it every 5 s, then every minute, not at every read)."""
        if not self.enabled:
            return "off"
        published = self.published
        if published is None:
            return f"{self.mode} — {NOT_RUNNING}"
        if coarse and published.stale(self.now):
            age = coarse_age(max(0.0, self.now - published.updated_at), fresh=0)
            return f"not running (kdrtui watch last wrote {age} ago: {published.state})"
        return " ".join(published.line(self.now).split())  # one line, whatever the watcher wrote

    def line(self, coarse: bool = False) -> str:
        """``Automation: ...``: what the Overview and ``kdrtui status`` show."""
        return f"Automation: {self.text(coarse)}"

    def to_dict(self) -> dict[str, Any]:
        """``kdrtui status --json``'s ``automation`` block: ``{"enabled": false}`` when it is off."""
        if not self.enabled:
            return {"enabled": False}
        published, last = self.published, self.last_failover
        return {
            "enabled": True,
            "mode": self.mode,
            "state": self.state,
            "text": NOT_RUNNING if published is None else published.text,
            "stale": self.stale,
            "running": self.running,
            "updated_at": None if published is None else published.updated_at,
            "last_failover": None
            if last is None
            else {**last.to_dict(), "name": last.name, "acknowledged": last.acknowledged},
        }


def read_automation(plan: Plan, plan_path: Path | None, now: float | None = None) -> AutomationStatus:
    """The policy's status now (blocking: reads two small files of the plan's runbook directory when the
    policy is enabled, none otherwise)."""
    from kdrtui.services.runbook.store import RunbookStore

    settings = plan.automation
    now = time.time() if now is None else now
    if not settings.enabled:
        return AutomationStatus(False, str(settings.mode), now=now)
    directory = RunbookStore(plan.plan.name, plan_path).dir
    return AutomationStatus(
        True, str(settings.mode), read_state(directory), read_last_failover(directory), now
    )
