"""The automated failover policy's decision table: pure, so every row is a unit test.

``kdrtui watch`` gathers what it saw (:class:`Facts`: each vantage point's answer about the primary, the
DR state, the lock, the DR cluster's health, the last known mirror lag, the cooldown, whether its own last
automatic failover was acknowledged) and :func:`decide` says what to do (:class:`Decision`). The rows, in
the order they are checked:

=====================================================  ===============  =======================
condition                                              state            action
=====================================================  ===============  =======================
policy not enabled                                     off              none
the DR cluster is already active                       standby          none
a failover started by automation is running            acting           none
fewer than ``quorum`` vantage points see primary down  armed            none (a close call is
                                                                        recorded: some saw it)
quorum, for less than ``hold_down_seconds``            holding          none
quorum for the hold-down, and then the first of:
  its last automatic failover not acknowledged         awaiting-ack     advise
  within ``cooldown_seconds`` of a failover/failback   cooling-down     advise
  another operation holds the plan's lock              blocked          advise
  an interrupted failover/failback journal             blocked          advise
  the DR cluster not healthy (or unknown)              blocked          advise
  the last known unmirrored records/lag unknown, or    advising         advise
  read more than MAX_LAG_AGE_S before the outage
  ... above ``max_rpo_records`` / ``max_rpo_seconds``  advising         advise
  mode ``advise``                                      advising         advise
  otherwise                                            acting           act
=====================================================  ===============  =======================

``advise`` is done once per outage (the watcher remembers which outage it advised on); ``act`` once
(the failover makes the DR cluster active, and the next one waits for a person's acknowledgement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kdrtui.domain.plan_automation import AutomationMode, AutomationSettings

MAX_LAG_AGE_S = 120.0
"""A lag read taken longer than this before the outage began says nothing of the loss: advise only."""


class Vote(StrEnum):
    """What one vantage point says of the primary."""

    UP = "up"
    """A metadata request was answered."""
    DOWN = "down"
    """The request failed or timed out: the primary is down from there."""
    UNKNOWN = "unknown"
    """The vantage point itself could not be asked (SSH to the node failed, no Kafka tool there): it
    counts neither way."""


class PolicyState(StrEnum):
    """What the policy is doing, as the console and the timeline show it."""

    OFF = "off"
    STANDBY = "standby"
    """The DR cluster is active: there is nothing to fail over to (failback is never automatic)."""
    ARMED = "armed"
    HOLDING = "holding"
    """A quorum sees the primary down; the hold-down runs."""
    ADVISING = "advising"
    AWAITING_ACK = "awaiting-ack"
    COOLING_DOWN = "cooling-down"
    BLOCKED = "blocked"
    ACTING = "acting"


class Action(StrEnum):
    NONE = "none"
    ADVISE = "advise"
    """Record and page "would fail over now" (and why it does not)."""
    ACT = "act"
    """Run the failover runbook as ``automation``, then page."""


@dataclass(frozen=True)
class Facts:
    """What the watcher knows at one evaluation."""

    now: float
    """Epoch seconds."""
    votes: dict[str, Vote]
    """Vantage point -> its answer now."""
    down_since: float | None
    """When a quorum first saw the primary down without a break since (None: no quorum now or before);
    :func:`outage_start` keeps it."""
    dr_active: bool = False
    """The DR state says the secondary is active (a failover happened)."""
    acting: bool = False
    """A failover this watcher started is running."""
    unacknowledged: str | None = None
    """Its last automatic failover, when no person acknowledged it yet (``kdrtui watch --ack``)."""
    last_operation_end: float | None = None
    """When the last failover or failback ended (epoch s), None when none did."""
    lock_holder: str | None = None
    """Who holds the plan's lock, None when free."""
    interrupted: str | None = None
    """An interrupted failover/failback journal, None when none."""
    dr_problem: str | None = None
    """Why the DR cluster is not healthy (or cannot be known), None when it is."""
    unmirrored_records: int | None = None
    """The last known records not mirrored to the DR cluster (its last lag read before the outage)."""
    unmirrored_seconds: float | None = None
    """The same read's lag in seconds."""
    lag_age_s: float | None = None
    """How long before ``down_since`` that read was taken."""


@dataclass(frozen=True)
class Decision:
    """What the policy does now, and why (one line a person reads)."""

    state: PolicyState
    action: Action
    text: str
    close_call: bool = False
    """Some vantage points see the primary down, but not a quorum (worth recording)."""
    down: list[str] = field(default_factory=list)
    """The vantage points that see the primary down now."""


def outage_start(votes: dict[str, Vote], needed: int, previous: float | None, now: float) -> float | None:
    """When the current outage began: ``previous`` while a quorum still sees the primary down (``now``
    when it just began), None as soon as it does not (a break restarts the hold-down)."""
    down = sum(1 for vote in votes.values() if vote == Vote.DOWN)
    if down < needed:
        return None
    return previous if previous is not None else now


def _seen(votes: dict[str, Vote]) -> str:
    return ", ".join(f"{name} {vote}" for name, vote in votes.items())


def _rpo_problem(policy: AutomationSettings, facts: Facts, rpo_seconds: int) -> str | None:
    """Why the known loss forbids acting, None when it is within the policy's limits."""
    if facts.unmirrored_records is None:
        return (
            "the unmirrored records before the outage are unknown (no lag read was kept): "
            "the loss cannot be bounded"
        )
    if facts.lag_age_s is not None and facts.lag_age_s > MAX_LAG_AGE_S:
        return (
            f"the last lag read was taken {facts.lag_age_s:.0f} s before the outage (more than "
            f"{MAX_LAG_AGE_S:.0f} s): the loss cannot be bounded"
        )
    limit_s = policy.max_rpo_seconds if policy.max_rpo_seconds is not None else rpo_seconds
    age = f" (read {facts.lag_age_s:.0f} s before the outage)" if facts.lag_age_s is not None else ""
    if facts.unmirrored_records > policy.max_rpo_records:
        return (
            f"{facts.unmirrored_records} records were not mirrored{age}, above max_rpo_records "
            f"{policy.max_rpo_records}"
        )
    if facts.unmirrored_seconds is not None and facts.unmirrored_seconds > limit_s:
        return f"the mirror lag was {facts.unmirrored_seconds:.1f} s{age}, above {limit_s} s"
    return None


def decide(policy: AutomationSettings, facts: Facts, *, rpo_seconds: int = 60) -> Decision:
    """The decision table (see the module). ``rpo_seconds``: the plan's objective, the default of
    ``max_rpo_seconds``."""
    down = [name for name, vote in facts.votes.items() if vote == Vote.DOWN]
    needed = policy.needed
    if not policy.enabled:
        return Decision(PolicyState.OFF, Action.NONE, "automation is off ([automation] enabled = false)")
    if facts.acting:
        return Decision(PolicyState.ACTING, Action.NONE, "automatic failover running", down=down)
    if facts.dr_active:
        return Decision(
            PolicyState.STANDBY,
            Action.NONE,
            "the DR cluster is active: nothing to fail over (failback is never automatic)",
            down=down,
        )
    seen = _seen(facts.votes)
    if facts.down_since is None or len(down) < needed:
        if down:
            return Decision(
                PolicyState.ARMED,
                Action.NONE,
                f"primary down from {len(down)} of {len(facts.votes)} vantage points, quorum {needed}: "
                f"no outage ({seen})",
                close_call=True,
                down=down,
            )
        quiet = f"primary up ({seen})"
        if facts.unacknowledged:
            return Decision(
                PolicyState.AWAITING_ACK,
                Action.NONE,
                f"{quiet}; its last automatic failover ({facts.unacknowledged}) awaits `kdrtui watch --ack`",
                down=down,
            )
        if _cooldown(policy, facts):
            left = policy.cooldown_seconds - (facts.now - (facts.last_operation_end or facts.now))
            return Decision(
                PolicyState.COOLING_DOWN, Action.NONE, f"{quiet}; cooling down, {left:.0f} s left", down=down
            )
        return Decision(PolicyState.ARMED, Action.NONE, quiet, down=down)
    held = facts.now - facts.down_since
    if held < policy.hold_down_seconds:
        return Decision(
            PolicyState.HOLDING,
            Action.NONE,
            f"primary down from {len(down)} of {len(facts.votes)} vantage points for {held:.0f} s "
            f"(hold-down {policy.hold_down_seconds} s)",
            down=down,
        )
    outage = f"primary down from {len(down)} of {len(facts.votes)} vantage points for {held:.0f} s"
    guards: list[tuple[str | None, PolicyState, str]] = [
        (
            facts.unacknowledged,
            PolicyState.AWAITING_ACK,
            f"its last automatic failover ({facts.unacknowledged}) is not acknowledged: "
            "`kdrtui watch --ack` once a person has looked",
        ),
        (
            _cooldown(policy, facts),
            PolicyState.COOLING_DOWN,
            f"a failover or failback ended {_ago(facts)} ago, within cooldown_seconds "
            f"{policy.cooldown_seconds}",
        ),
        (facts.lock_holder, PolicyState.BLOCKED, f"the plan is busy: {facts.lock_holder}"),
        (
            facts.interrupted,
            PolicyState.BLOCKED,
            f"an interrupted run must be resumed or rolled back first ({facts.interrupted})",
        ),
        (facts.dr_problem, PolicyState.BLOCKED, f"the DR cluster is not healthy: {facts.dr_problem}"),
    ]
    for reason, state, text in guards:
        if reason:
            return Decision(state, Action.ADVISE, f"{outage}; would fail over, but {text}", down=down)
    rpo = _rpo_problem(policy, facts, rpo_seconds)
    if rpo is not None:
        return Decision(
            PolicyState.ADVISING, Action.ADVISE, f"{outage}; would fail over, but {rpo}", down=down
        )
    if policy.mode == AutomationMode.ADVISE:
        return Decision(
            PolicyState.ADVISING,
            Action.ADVISE,
            f"{outage}; would fail over now (mode advise: nothing is changed)",
            down=down,
        )
    return Decision(PolicyState.ACTING, Action.ACT, f"{outage}; failing over now", down=down)


def _cooldown(policy: AutomationSettings, facts: Facts) -> str | None:
    if facts.last_operation_end is None:
        return None
    return "cooling" if facts.now - facts.last_operation_end < policy.cooldown_seconds else None


def _ago(facts: Facts) -> str:
    if facts.last_operation_end is None:
        return "?"
    return f"{facts.now - facts.last_operation_end:.0f} s"
