"""The automated failover policy's decision table (pure): every row, and the hold-down's reset."""

from __future__ import annotations

import pytest

from kdrtui.domain.automation import MAX_LAG_AGE_S, Action, Facts, PolicyState, Vote, decide, outage_start
from kdrtui.domain.plan_automation import AutomationMode, AutomationSettings

NOW = 1_000_000.0
UP, DOWN, UNKNOWN = Vote.UP, Vote.DOWN, Vote.UNKNOWN


def policy(**keys: object) -> AutomationSettings:
    base: dict[str, object] = {
        "enabled": True,
        "mode": "act",
        "hold_down_seconds": 30,
        "vantage_points": ["kdrtui", "dr-edge-1"],
        "max_rpo_records": 100,
        "cooldown_seconds": 600,
    }
    base.update(keys)
    return AutomationSettings.model_validate(base)


def outage(**keys: object) -> Facts:
    """Both vantage points see the primary down for 40 s; lag 10 records, 2 s, read 3 s before."""
    base: dict[str, object] = {
        "now": NOW,
        "votes": {"kdrtui": DOWN, "dr-edge-1": DOWN},
        "down_since": NOW - 40,
        "unmirrored_records": 10,
        "unmirrored_seconds": 2.0,
        "lag_age_s": 3.0,
    }
    base.update(keys)
    return Facts(**base)  # type: ignore[arg-type]


def test_every_guard_holding_in_act_mode_acts() -> None:
    decision = decide(policy(), outage())
    assert (decision.state, decision.action) == (PolicyState.ACTING, Action.ACT)
    assert decision.down == ["kdrtui", "dr-edge-1"]
    assert "failing over now" in decision.text


def test_advise_mode_only_advises() -> None:
    decision = decide(policy(mode="advise"), outage())
    assert (decision.state, decision.action) == (PolicyState.ADVISING, Action.ADVISE)
    assert "mode advise" in decision.text


def test_off_does_nothing_whatever_it_sees() -> None:
    decision = decide(policy(enabled=False), outage())
    assert (decision.state, decision.action) == (PolicyState.OFF, Action.NONE)


def test_the_dr_cluster_already_active_is_standby() -> None:
    decision = decide(policy(), outage(dr_active=True))
    assert (decision.state, decision.action) == (PolicyState.STANDBY, Action.NONE)


def test_a_running_automatic_failover_is_not_started_twice() -> None:
    assert decide(policy(), outage(acting=True)).action == Action.NONE


def test_within_the_hold_down_it_holds() -> None:
    decision = decide(policy(), outage(down_since=NOW - 29))
    assert (decision.state, decision.action) == (PolicyState.HOLDING, Action.NONE)
    assert "29 s (hold-down 30 s)" in decision.text


def test_no_quorum_is_a_close_call_not_an_outage() -> None:
    facts = outage(votes={"kdrtui": DOWN, "dr-edge-1": UP}, down_since=None)
    decision = decide(policy(), facts)
    assert (decision.state, decision.action, decision.close_call) == (PolicyState.ARMED, Action.NONE, True)
    assert "1 of 2 vantage points, quorum 2" in decision.text


def test_an_unknown_vantage_point_does_not_count_towards_the_quorum() -> None:
    votes = {"kdrtui": DOWN, "dr-edge-1": UNKNOWN}
    assert outage_start(votes, 2, None, NOW) is None
    assert outage_start(votes, 1, None, NOW) == NOW


def test_the_hold_down_restarts_after_a_break() -> None:
    down = {"kdrtui": DOWN, "dr-edge-1": DOWN}
    first = outage_start(down, 2, None, NOW)
    assert outage_start(down, 2, first, NOW + 10) == NOW
    assert outage_start({"kdrtui": DOWN, "dr-edge-1": UP}, 2, first, NOW + 12) is None
    assert outage_start(down, 2, None, NOW + 14) == NOW + 14


@pytest.mark.parametrize(
    ("facts", "state", "words"),
    [
        ({"unacknowledged": "journal-x"}, PolicyState.AWAITING_ACK, "not acknowledged"),
        ({"last_operation_end": NOW - 100}, PolicyState.COOLING_DOWN, "cooldown_seconds 600"),
        ({"lock_holder": "failover by alice"}, PolicyState.BLOCKED, "busy: failover by alice"),
        ({"interrupted": "journal-y"}, PolicyState.BLOCKED, "interrupted"),
        ({"dr_problem": "dr has 2 of 3 brokers"}, PolicyState.BLOCKED, "not healthy: dr has 2 of 3"),
        ({"unmirrored_records": None}, PolicyState.ADVISING, "cannot be bounded"),
        ({"lag_age_s": MAX_LAG_AGE_S + 1}, PolicyState.ADVISING, "cannot be bounded"),
        ({"unmirrored_records": 101}, PolicyState.ADVISING, "101 records were not mirrored"),
        ({"unmirrored_seconds": 61.0}, PolicyState.ADVISING, "above 60 s"),
    ],
)
def test_each_guard_turns_acting_into_advice(
    facts: dict[str, object], state: PolicyState, words: str
) -> None:
    decision = decide(policy(), outage(**facts), rpo_seconds=60)
    assert (decision.state, decision.action) == (state, Action.ADVISE)
    assert words in decision.text and "would fail over, but" in decision.text


def test_the_limits_are_inclusive_and_max_rpo_seconds_overrides_the_objective() -> None:
    assert decide(policy(), outage(unmirrored_records=100)).action == Action.ACT
    assert decide(policy(max_rpo_seconds=120), outage(unmirrored_seconds=100.0), rpo_seconds=60).action == (
        Action.ACT
    )


def test_a_cooldown_past_its_end_no_longer_blocks() -> None:
    assert decide(policy(), outage(last_operation_end=NOW - 601)).action == Action.ACT


def test_quiet_states_when_the_primary_is_up() -> None:
    up = {"kdrtui": UP, "dr-edge-1": UP}
    assert decide(policy(), outage(votes=up, down_since=None)).state == PolicyState.ARMED
    waiting = decide(policy(), outage(votes=up, down_since=None, unacknowledged="j"))
    assert (waiting.state, waiting.action) == (PolicyState.AWAITING_ACK, Action.NONE)
    cooling = decide(policy(), outage(votes=up, down_since=None, last_operation_end=NOW - 100))
    assert (cooling.state, cooling.action) == (PolicyState.COOLING_DOWN, Action.NONE)
    assert "500 s left" in cooling.text


def test_quorum_defaults_to_every_vantage_point() -> None:
    assert policy().needed == 2
    assert policy(quorum=1).needed == 1
    assert AutomationSettings().mode == AutomationMode.ADVISE and not AutomationSettings().enabled
