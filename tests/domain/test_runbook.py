"""The runbook journal's meaning, pure: :func:`replay` over hand-written journal entries."""

from __future__ import annotations

from typing import Any

import pytest

from kdrtui.domain.runbook import Outcome, RunState, StepFailed, StepStatus, replay


def run_start(at: float, *, resumed: bool = False, **options: Any) -> dict[str, Any]:
    return {
        "event": "run-start",
        "at": at,
        "run": "r1",
        "operation": "failover",
        "plan": "lab",
        "resumed": resumed,
        "options": options,
    }


def step_start(step: str, at: float) -> dict[str, Any]:
    return {"event": "step-start", "at": at, "run": "r1", "step": step, "title": step.title()}


def step_end(step: str, at: float, status: str, summary: str = "", **facts: Any) -> dict[str, Any]:
    return {
        "event": "step-end",
        "at": at,
        "run": "r1",
        "step": step,
        "status": status,
        "summary": summary,
        "facts": facts,
    }


def run_end(at: float, outcome: str) -> dict[str, Any]:
    return {"event": "run-end", "at": at, "run": "r1", "outcome": outcome}


def test_empty_journal_is_an_empty_state() -> None:
    state = replay([])
    assert state == RunState()
    assert state.runs == 0 and state.confirmed_at is None and state.ended is None
    assert not state.complete
    assert state.facts("anything") == {}


def test_a_completed_run() -> None:
    state = replay(
        [
            run_start(100.0, force=True),
            step_start("preflight", 100.5),
            step_end("preflight", 101.0, "done", "GO", go=True),
            step_start("fence", 101.0),
            step_end("fence", 103.5, "skipped", "fence = none"),
            run_end(104.0, "completed"),
        ]
    )
    assert (state.run_id, state.operation, state.plan) == ("r1", "failover", "lab")
    assert state.options == {"force": True}
    assert state.runs == 1
    assert state.confirmed_at == 100.0
    assert state.ended == "completed" and state.complete
    assert list(state.steps) == ["preflight", "fence"]
    preflight, fence = state.steps["preflight"], state.steps["fence"]
    assert preflight.status == StepStatus.DONE and preflight.summary == "GO" and preflight.runs == 1
    assert state.facts("preflight") == {"go": True}
    assert preflight.seconds == pytest.approx(0.5)
    assert fence.status == StepStatus.SKIPPED and fence.seconds == pytest.approx(2.5)
    assert fence.facts == {}


def test_a_step_started_but_not_ended_is_running_and_counted() -> None:
    state = replay(
        [
            run_start(10.0),
            step_start("preflight", 10.0),
            step_end("preflight", 11.0, "done", "GO"),
            step_start("fence", 11.0),
        ]
    )
    fence = state.steps["fence"]
    assert fence.status == StepStatus.RUNNING
    assert fence.runs == 1
    assert fence.started_at == 11.0 and fence.ended_at is None and fence.seconds is None
    assert not fence.status.finished
    assert state.ended is None and not state.complete, "a cut run has not ended"


def test_a_resumed_step_counts_every_start_and_times_the_last() -> None:
    state = replay(
        [
            run_start(10.0),
            step_start("drain", 11.0),
            step_end("drain", 12.0, "failed", "lag 5"),
            run_end(12.0, "failed"),
            run_start(20.0, resumed=True),
            step_start("drain", 21.0),
            step_end("drain", 24.0, "done", "lag 0", lag=0),
            run_end(25.0, "completed"),
        ]
    )
    drain = state.steps["drain"]
    assert drain.runs == 2
    assert drain.status == StepStatus.DONE and drain.summary == "lag 0" and drain.facts == {"lag": 0}
    assert drain.seconds == pytest.approx(3.0)


def test_verified_keeps_the_facts_of_the_run_that_did_the_step() -> None:
    state = replay(
        [
            run_start(10.0),
            step_start("stop-mirrormaker", 11.0),
            step_end("stop-mirrormaker", 12.0, "done", "stopped 1", stopped=["edge/mm"]),
            step_start("translate-offsets", 12.0),
            run_start(30.0, resumed=True),
            {
                "event": "step-end",
                "at": 31.0,
                "run": "r1",
                "step": "stop-mirrormaker",
                "status": "verified",
                "summary": "verified (done in an earlier run): stopped 1",
            },
            step_start("translate-offsets", 31.0),
        ]
    )
    stop = state.steps["stop-mirrormaker"]
    assert stop.status == StepStatus.VERIFIED and stop.status.finished
    assert stop.summary.startswith("verified")
    assert stop.facts == {"stopped": ["edge/mm"]}, "verification does not erase what the step recorded"
    assert stop.runs == 1, "verifying is not running"
    assert stop.seconds == 1.0, "its own duration, not the time from its run to the resume"
    assert state.steps["translate-offsets"].runs == 2
    assert state.steps["translate-offsets"].status == StepStatus.RUNNING


def test_run_end_outcome_and_a_later_resume_clears_it() -> None:
    entries = [run_start(1.0), step_start("preflight", 1.0), run_end(2.0, "aborted")]
    assert replay(entries).ended == "aborted"
    assert not replay(entries).complete
    resumed = replay([*entries, run_start(5.0, resumed=True)])
    assert resumed.ended is None, "a resumed run that was cut again has not ended"
    assert replay([*entries, run_start(5.0, resumed=True), run_end(6.0, "failed")]).ended == "failed"


def test_confirmed_at_is_the_first_run_start_and_runs_counts_resumes() -> None:
    state = replay(
        [
            run_start(100.0),
            step_start("preflight", 100.0),
            run_start(200.0, resumed=True),
            step_start("preflight", 200.0),
            run_end(210.0, "failed"),
            run_start(300.0, resumed=True),
            run_end(310.0, "completed"),
        ]
    )
    assert state.confirmed_at == 100.0, "the RTO clock starts at the first confirmation"
    assert state.runs == 3
    assert state.complete


def test_confirmed_at_skips_a_run_start_without_a_time() -> None:
    first = run_start(0.0)
    del first["at"]
    state = replay([first, run_start(50.0, resumed=True)])
    assert state.confirmed_at == 50.0
    assert state.runs == 2


def test_unknown_events_are_ignored() -> None:
    state = replay([run_start(1.0), {"event": "note", "at": 2.0, "text": "hello"}, {"at": 3.0}])
    assert state.runs == 1 and state.steps == {}


def test_step_status_finished() -> None:
    assert {s for s in StepStatus if s.finished} == {StepStatus.DONE, StepStatus.SKIPPED, StepStatus.VERIFIED}


def test_outcome_and_step_failed_carry_their_facts() -> None:
    assert Outcome.done("ok", a=1) == Outcome(StepStatus.DONE, "ok", {"a": 1})
    assert Outcome.skipped("why").status == StepStatus.SKIPPED
    assert Outcome.failed("bad", b=2).facts == {"b": 2}
    exc = StepFailed("no", lag=3)
    assert str(exc) == "no" and exc.summary == "no" and exc.facts == {"lag": 3}
