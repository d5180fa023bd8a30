"""The runbook runner over fake steps, and the runbook store: journals (fsynced JSON lines, resume),
DR state, audit log. No Kafka, no SSH: a tiny context and steps that record what was asked of them."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kdrtui.domain.runbook import Outcome, Step, StepFailed, StepStatus
from kdrtui.services.runbook.operate import resumable
from kdrtui.services.runbook.runner import Facts, RunEvent, Runner
from kdrtui.services.runbook.store import DrState, Journal, RunbookStore, StateInvalid


@dataclass
class Ctx:
    """What the fake steps work on: the runner's facts and say, and a record of every call."""

    facts: Facts = field(default_factory=Facts)
    say: Callable[[str], None] = lambda _text: None
    note: Callable[..., None] = lambda **_facts: None
    calls: list[str] = field(default_factory=list)
    seen: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Step key -> the earlier steps' facts it saw when it ran."""
    verified: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Step key -> the facts its verify was given."""


class Fake(Step[Ctx]):
    """A step that says something, records its calls, and ends as told."""

    def __init__(
        self,
        key: str,
        result: Outcome | BaseException | Callable[[Ctx], Outcome] | None = None,
        problem: str | BaseException | None = None,
        describe: list[str] | BaseException | None = None,
        undone_by: frozenset[str] = frozenset(),
    ) -> None:
        self.key = key
        self.title = f"Step {key}"
        self.result = result
        self.problem = problem
        self.lines = describe
        self.undoers = undone_by

    def undone_by(self, ctx: Ctx) -> frozenset[str]:
        return self.undoers

    async def describe(self, ctx: Ctx) -> list[str]:
        ctx.calls.append(f"describe:{self.key}")
        if isinstance(self.lines, BaseException):
            raise self.lines
        return self.lines if self.lines is not None else [f"would do {self.key}"]

    async def run(self, ctx: Ctx) -> Outcome:
        ctx.calls.append(f"run:{self.key}")
        ctx.seen[self.key] = {k: dict(v) for k, v in ctx.facts.by_step.items()}
        ctx.say(f"working on {self.key}")
        if isinstance(self.result, BaseException):
            raise self.result
        if callable(self.result):
            return self.result(ctx)
        return self.result or Outcome.done(f"{self.key} done", made=self.key)

    async def verify(self, ctx: Ctx, facts: dict[str, Any]) -> str | None:
        ctx.calls.append(f"verify:{self.key}")
        ctx.verified[self.key] = dict(facts)
        if isinstance(self.problem, BaseException):
            raise self.problem
        return self.problem


class Clock:
    """Time that moves one second per reading."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def runner(
    steps: list[Fake], journal: Journal, ctx: Ctx | None = None, events: list[RunEvent] | None = None
) -> Runner[Ctx]:
    sink = events.append if events is not None else None
    return Runner("failover", "test-plan", steps, ctx or Ctx(), journal, sink, clock=Clock())


def journal_at(tmp_path: Path, name: str = "journal-1-failover-abcd.jsonl") -> Journal:
    return Journal(tmp_path / "runbooks" / name, clock=Clock())


def events_of(journal: Journal) -> list[tuple[str, str]]:
    return [(e["event"], e.get("step") or "") for e in journal.entries()]


# --- a fresh run ----------------------------------------------------------------------------------


async def test_fresh_run_journals_every_step_and_emits_events_in_order(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    events: list[RunEvent] = []
    ctx = Ctx()
    result = await runner(
        [Fake("a"), Fake("b", Outcome.skipped("nothing to do", why="none"))], journal, ctx, events
    ).run(options={"force": True})

    assert result.outcome == "completed" and result.failed_step is None and result.error == ""
    assert result.state.complete and result.state.runs == 1
    assert events_of(journal) == [
        ("run-start", ""),
        ("step-start", "a"),
        ("step-end", "a"),
        ("step-start", "b"),
        ("step-end", "b"),
        ("run-end", ""),
    ]
    entries = journal.entries()
    assert all(e["run"] == journal.run_id == "1-failover-abcd" for e in entries)
    start = entries[0]
    assert start["operation"] == "failover" and start["plan"] == "test-plan"
    assert start["resumed"] is False and start["options"] == {"force": True}
    assert entries[1]["title"] == "Step a"
    assert entries[2]["status"] == "done" and entries[2]["facts"] == {"made": "a"}
    assert entries[2]["summary"] == "a done" and entries[2]["seconds"] == 1.0
    assert entries[4]["status"] == "skipped" and entries[4]["facts"] == {"why": "none"}
    assert entries[5]["outcome"] == "completed" and entries[5]["step"] is None

    assert [(e.kind, e.step) for e in events] == [
        ("run-start", ""),
        ("step-start", "a"),
        ("progress", "a"),
        ("step-end", "a"),
        ("step-start", "b"),
        ("progress", "b"),
        ("step-end", "b"),
        ("run-end", ""),
    ]
    assert events[0].text == "starting"
    assert events[2].text == "working on a" and events[2].status == StepStatus.RUNNING
    end_a = events[3]
    assert end_a.status == StepStatus.DONE and end_a.title == "Step a" and end_a.facts == {"made": "a"}
    assert end_a.seconds == 1.0
    assert events[6].status == StepStatus.SKIPPED and events[6].text == "nothing to do"
    assert events[-1].text == "completed"

    assert ctx.calls == ["run:a", "run:b"]
    assert ctx.seen["b"] == {"a": {"made": "a"}}, "a later step reads an earlier step's facts"
    assert ctx.facts["b"] == {"why": "none"} and ctx.facts["never"] == {}


async def test_step_failed_ends_the_run_there(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    events: list[RunEvent] = []
    ctx = Ctx()
    steps = [Fake("a"), Fake("b", StepFailed("lag is 5", lag=5)), Fake("c")]
    result = await runner(steps, journal, ctx, events).run()

    assert result.outcome == "failed" and result.failed_step == "b" and result.error == "lag is 5"
    assert ctx.calls == ["run:a", "run:b"], "nothing after the failed step runs"
    assert events_of(journal)[-2:] == [("step-end", "b"), ("run-end", "b")]
    end_b, run_end = journal.entries()[-2:]
    assert end_b["status"] == "failed" and end_b["summary"] == "lag is 5" and end_b["facts"] == {"lag": 5}
    assert run_end["outcome"] == "failed" and run_end["error"] == "lag is 5"
    assert "c" not in result.state.steps
    assert result.state.steps["b"].status == StepStatus.FAILED
    assert result.state.ended == "failed" and not result.state.complete
    assert events[-1].kind == "run-end" and events[-1].text == "failed: lag is 5"


async def test_an_outcome_failed_also_ends_the_run(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    ctx = Ctx()
    result = await runner([Fake("a", Outcome.failed("no")), Fake("b")], journal, ctx).run()
    assert result.outcome == "failed" and result.failed_step == "a" and ctx.calls == ["run:a"]


async def test_an_unexpected_exception_is_a_failed_step_named_by_its_type(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    events: list[RunEvent] = []
    ctx = Ctx()
    result = await runner([Fake("a", KeyError("topic")), Fake("b")], journal, ctx, events).run()

    assert result.outcome == "failed" and result.failed_step == "a"
    assert result.error == "KeyError: 'topic'"
    assert ctx.calls == ["run:a"]
    end_a = journal.entries()[-2]
    assert end_a["event"] == "step-end" and end_a["status"] == "failed"
    assert end_a["summary"] == "KeyError: 'topic'" and end_a["facts"] == {}
    assert [e.kind for e in events][-2:] == ["step-end", "run-end"]
    assert events[-2].status == StepStatus.FAILED


# --- resume ---------------------------------------------------------------------------------------


def cut_run(journal: Journal) -> None:
    """The journal of a run killed while step b ran: a done (facts), b started, never ended."""
    journal.write("run-start", operation="failover", plan="test-plan", resumed=False, options={"force": True})
    journal.write("step-start", step="a", title="Step a")
    journal.write("step-end", step="a", status="done", summary="a done", facts={"stopped": ["mm"]}, seconds=1)
    journal.write("step-start", step="b", title="Step b")


async def test_resume_verifies_finished_steps_and_reruns_the_cut_one(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    cut_run(journal)
    cut = journal.state()
    assert cut.ended is None and cut.steps["b"].status == StepStatus.RUNNING

    ctx = Ctx()
    events: list[RunEvent] = []
    result = await runner([Fake("a"), Fake("b"), Fake("c")], journal, ctx, events).run(resume=True)

    assert result.outcome == "completed"
    assert ctx.calls == ["verify:a", "run:b", "run:c"], "step a is re-verified, not re-run"
    assert ctx.verified["a"] == {"stopped": ["mm"]}
    assert ctx.seen["b"] == {"a": {"stopped": ["mm"]}}, "the verified step's facts reach later steps"
    assert ctx.facts["a"] == {"stopped": ["mm"]}
    state = result.state
    assert state.runs == 2 and state.complete
    assert state.options == {"force": True}, "a resume keeps the first run's options"
    assert state.steps["a"].status == StepStatus.VERIFIED and state.steps["a"].runs == 1
    assert state.steps["a"].facts == {"stopped": ["mm"]}
    assert state.steps["b"].status == StepStatus.DONE and state.steps["b"].runs == 2
    assert state.steps["c"].runs == 1
    starts = [e for e in journal.entries() if e["event"] == "run-start"]
    assert [s["resumed"] for s in starts] == [False, True]
    assert starts[1]["options"] == {"force": True}
    assert state.confirmed_at == starts[0]["at"], "the RTO clock starts at the first run"
    verified = [e for e in journal.entries() if e["event"] == "step-end" and e["status"] == "verified"]
    assert [v["step"] for v in verified] == ["a"]
    assert verified[0]["summary"] == "verified (done in an earlier run): a done"

    assert events[0].text == "resuming"
    assert [(e.kind, e.step, e.status) for e in events[1:2]] == [("step-end", "a", StepStatus.VERIFIED)]


async def test_a_second_resume_still_has_the_facts_of_the_first_run(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    cut_run(journal)
    first = await runner([Fake("a"), Fake("b", StepFailed("still lagging"))], journal).run(resume=True)
    assert first.outcome == "failed"
    ctx = Ctx()
    again = await runner([Fake("a"), Fake("b")], journal, ctx).run(resume=True)
    assert again.outcome == "completed"
    assert ctx.calls == ["verify:a", "run:b"]
    assert ctx.verified["a"] == {"stopped": ["mm"]} and ctx.facts["a"] == {"stopped": ["mm"]}
    assert again.state.runs == 3 and again.state.steps["b"].runs == 3


async def test_a_step_whose_verification_fails_is_run_again(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    cut_run(journal)
    ctx = Ctx()
    events: list[RunEvent] = []
    result = await runner([Fake("a", problem="mm is running again"), Fake("b")], journal, ctx, events).run(
        resume=True
    )
    assert result.outcome == "completed"
    assert ctx.calls == ["verify:a", "run:a", "run:b"]
    assert result.state.steps["a"].status == StepStatus.DONE and result.state.steps["a"].runs == 2
    assert ctx.facts["a"] == {"made": "a"}, "the new run's facts replace the old ones"
    progress = [e.text for e in events if e.kind == "progress" and e.step == "a"]
    assert progress[0] == "re-running: mm is running again"


async def test_a_verification_that_raises_is_a_failed_verification(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    cut_run(journal)
    ctx = Ctx()
    events: list[RunEvent] = []
    result = await runner([Fake("a", problem=OSError("ssh down")), Fake("b")], journal, ctx, events).run(
        resume=True
    )
    assert result.outcome == "completed" and ctx.calls == ["verify:a", "run:a", "run:b"]
    assert any(e.text == "re-running: OSError: ssh down" for e in events)


async def test_a_failed_step_is_run_again_on_resume_without_verification(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    failed = await runner([Fake("a"), Fake("b", StepFailed("no"))], journal).run()
    assert failed.outcome == "failed"
    ctx = Ctx()
    result = await runner([Fake("a"), Fake("b")], journal, ctx).run(resume=True)
    assert result.outcome == "completed" and ctx.calls == ["verify:a", "run:b"]


# --- abort ----------------------------------------------------------------------------------------


async def test_abort_stops_before_the_next_step_and_a_resume_completes_it(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    ctx = Ctx()
    events: list[RunEvent] = []
    steps = [Fake("a"), Fake("b"), Fake("c")]
    the_runner = runner(steps, journal, ctx, events)

    def abort_while_running(_ctx: Ctx) -> Outcome:
        the_runner.request_abort()  # the operator presses abort while step a runs
        return Outcome.done("a done", made="a")

    steps[0].result = abort_while_running
    result = await the_runner.run()

    assert result.outcome == "aborted" and result.failed_step == "b"
    assert "aborted by the operator" in result.error
    assert ctx.calls == ["run:a"], "the current step finishes; the next does not start"
    assert result.state.steps["a"].status == StepStatus.DONE
    assert result.state.ended == "aborted" and not result.state.complete
    assert journal.entries()[-1]["outcome"] == "aborted"
    assert events[-1].kind == "run-end" and events[-1].text.startswith("aborted")
    assert the_runner.current is None

    again = Ctx()
    resumed = await runner([Fake("a"), Fake("b"), Fake("c")], journal, again).run(resume=True)
    assert resumed.outcome == "completed"
    assert again.calls == ["verify:a", "run:b", "run:c"]


async def test_abort_before_the_first_step_runs_nothing(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    ctx = Ctx()
    the_runner = runner([Fake("a")], journal, ctx)
    the_runner.request_abort()
    result = await the_runner.run()
    assert result.outcome == "aborted" and result.failed_step == "a" and ctx.calls == []
    assert events_of(journal) == [("run-start", ""), ("run-end", "a")]


async def test_a_step_a_later_finished_step_undid_is_neither_verified_nor_run_again(tmp_path: Path) -> None:
    """Failback's fence is taken down by its replication step: after a crash past replication, a resume
    must not find "the fence is gone" and put it back."""
    journal = journal_at(tmp_path)
    journal.write("run-start", operation="failback", plan="test-plan", resumed=False, options={})
    for key in ("fence", "replication"):
        journal.write("step-start", step=key, title=key)
        journal.write("step-end", step=key, status="done", summary=f"{key} done", facts={"k": key})
    ctx = Ctx()
    steps = [
        Fake("fence", problem="no longer fenced", undone_by=frozenset({"replication"})),
        Fake("replication"),
        Fake("report"),
    ]
    result = await runner(steps, journal, ctx).run(resume=True)

    assert result.outcome == "completed"
    assert ctx.calls == ["verify:replication", "run:report"], "the fence is neither re-checked nor re-run"
    assert ctx.facts["fence"] == {"k": "fence"}, "its facts still reach later steps"
    ends = [e for e in journal.entries() if e["event"] == "step-end" and e["step"] == "fence"]
    assert ends[-1]["status"] == "verified" and "undone by replication" in ends[-1]["summary"]


async def test_an_undoing_step_not_finished_yet_leaves_the_step_verified_as_usual(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    journal.write("run-start", operation="failback", plan="test-plan", resumed=False, options={})
    journal.write("step-start", step="fence", title="fence")
    journal.write("step-end", step="fence", status="done", summary="fenced", facts={})
    journal.write("step-start", step="replication", title="replication")  # cut mid-way
    ctx = Ctx()
    fence = Fake("fence", problem="no longer fenced", undone_by=frozenset({"replication"}))
    steps = [fence, Fake("replication")]
    result = await runner(steps, journal, ctx).run(resume=True)
    assert result.outcome == "completed"
    assert ctx.calls == ["verify:fence", "run:fence", "run:replication"], "not undone yet: re-checked"


async def test_a_note_is_journaled_before_the_step_ends(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)

    def noting(ctx: Ctx) -> Outcome:
        ctx.note(state={"active": "dr"})
        return Outcome.done("noted")

    await runner([Fake("a", noting)], journal).run()
    kinds = [(e["event"], e.get("step")) for e in journal.entries()]
    assert kinds.index(("step-note", "a")) < kinds.index(("step-end", "a"))
    (note,) = [e for e in journal.entries() if e["event"] == "step-note"]
    assert note["state"] == {"active": "dr"}


# --- dry run --------------------------------------------------------------------------------------


async def test_a_dry_run_step_that_raises_says_it_cannot_tell_and_the_others_go_on(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    steps = [
        Fake("a", describe=RuntimeError('KafkaError{code=_TRANSPORT,val=-195,str="dr down"}\nline 2')),
        Fake("b", describe=KeyError("offsets")),
        Fake("c"),
    ]
    planned = await runner(steps, journal).dry_run()
    lines = {step.key: lines for step, lines in planned}
    kafka_error = 'KafkaError{code=_TRANSPORT,val=-195,str="dr down"}\\nline 2'
    assert lines["a"] == [f"cannot tell: RuntimeError: {kafka_error}"]
    assert lines["b"] == ["cannot tell: KeyError: 'offsets'"]
    assert lines["c"] == ["would do c"]
    assert not journal.path.exists()


async def test_dry_run_writes_nothing_and_returns_what_each_step_would_do(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    ctx = Ctx()
    steps = [
        Fake("a", describe=["stop x", "stop y"]),
        Fake("b", describe=StepFailed("dr unreachable")),
        Fake("c"),
    ]
    planned = await runner(steps, journal, ctx).dry_run()
    assert [(step.key, lines) for step, lines in planned] == [
        ("a", ["stop x", "stop y"]),
        ("b", ["cannot tell: dr unreachable"]),
        ("c", ["would do c"]),
    ]
    assert ctx.calls == ["describe:a", "describe:b", "describe:c"], "describe only: nothing runs"
    assert not journal.path.exists()
    assert not (tmp_path / "runbooks").exists()


# --- journal --------------------------------------------------------------------------------------


def test_journal_lines_are_appended_json_private_to_the_user(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    entry = journal.write("run-start", operation="failover", status=StepStatus.DONE)
    assert entry["event"] == "run-start" and entry["run"] == journal.run_id and entry["at"] == 1001.0
    journal.write("run-end", outcome="completed")
    lines = journal.path.read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["run-start", "run-end"]
    assert json.loads(lines[0])["status"] == "done"
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600


def test_journal_ignores_a_line_cut_by_a_crash(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    cut_run(journal)
    with open(journal.path, "a") as handle:  # the process died half-way through writing step-end b
        handle.write('{"event": "step-end", "step": "b", "status": "do')
    entries = journal.entries()
    assert [e["event"] for e in entries] == ["run-start", "step-start", "step-end", "step-start"]
    assert journal.state().steps["b"].status == StepStatus.RUNNING


def test_journal_written_after_a_cut_line_keeps_the_new_entry(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    cut_run(journal)
    with open(journal.path, "a") as handle:
        handle.write('{"event": "step-end", "step": "b", "status": "do')
    journal.write("run-start", operation="failover", plan="test-plan", resumed=True, options={})
    entries = journal.entries()
    assert [e["event"] for e in entries][-1] == "run-start", "the resume's entry is not glued to the cut line"
    assert journal.state().runs == 2


def test_reading_a_missing_journal_is_empty(tmp_path: Path) -> None:
    journal = journal_at(tmp_path)
    assert journal.entries() == [] and journal.state().runs == 0


# --- store: journals to resume ----------------------------------------------------------------------


def store_at(tmp_path: Path) -> RunbookStore:
    plan_path = tmp_path / "plan.toml"
    plan_path.write_text("")
    return RunbookStore("my plan/prod", plan_path, root=tmp_path / "state")


def test_store_dir_is_per_plan_file(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.dir.parent == tmp_path / "state" / "runbooks"
    assert store.dir.name.startswith("my_plan_prod-")
    assert store.audit_path == tmp_path / "state" / "audit.log"
    other = tmp_path / "other" / "plan.toml"
    assert RunbookStore("my plan/prod", other, root=tmp_path / "state").dir != store.dir
    assert RunbookStore("my plan/prod", tmp_path / "plan.toml", root=tmp_path / "state").dir == store.dir


def test_incomplete_and_resumable(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.journals() == [] and store.incomplete() is None and resumable(store) is None

    # A NO-GO pre-flight: the run failed, but nothing was changed: not something to resume.
    no_go = store.new_journal("failover", clock=lambda: 1_000_000.0)
    no_go.write("run-start", operation="failover", plan="p", resumed=False, options={})
    no_go.write("step-start", step="preflight", title="Pre-flight")
    no_go.write("step-end", step="preflight", status="failed", summary="NO-GO: dr unreachable", facts={})
    no_go.write("run-end", outcome="failed", step="preflight", error="NO-GO")
    newest = store.incomplete()
    assert newest is not None and newest.path == no_go.path
    assert resumable(store) is None

    # A run that got past the pre-flight and was cut: resumable.
    cut = store.new_journal("failover", clock=lambda: 2_000_000.0)
    cut.write("run-start", operation="failover", plan="p", resumed=False, options={})
    cut.write("step-start", step="preflight", title="Pre-flight")
    cut.write("step-end", step="preflight", status="done", summary="GO", facts={})
    cut.write("step-start", step="fence", title="Fence")
    assert [j.path for j in store.journals()] == [no_go.path, cut.path], "oldest first"
    pending = resumable(store)
    assert pending is not None and pending.path == cut.path

    # Completed: nothing to resume (older incomplete journals do not count).
    cut.write("run-end", outcome="completed", step=None, error="")
    assert store.incomplete() is None and resumable(store) is None


def test_an_aborted_run_is_resumable_once_it_got_past_the_preflight(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    journal = store.new_journal("failback", clock=lambda: 1_000_000.0)
    journal.write("run-start", operation="failback", plan="p", resumed=False, options={})
    journal.write("step-start", step="preflight", title="Pre-flight")
    journal.write("step-end", step="preflight", status="done", summary="GO", facts={})
    journal.write("run-end", outcome="aborted", step="fence", error="aborted by the operator")
    assert resumable(store) is None, "aborted before the fence: nothing was changed, start afresh"

    journal.write("run-start", operation="failback", plan="p", resumed=True, options={})
    journal.write("step-start", step="fence", title="Fence")
    journal.write("step-end", step="fence", status="done", summary="fenced", facts={})
    journal.write("run-end", outcome="aborted", step="drain", error="aborted by the operator")
    pending = resumable(store)
    assert pending is not None and pending.state().operation == "failback"


# --- store: DR state ------------------------------------------------------------------------------


def test_dr_state_round_trip(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    assert store.load_state("primary") == DrState(active="primary"), "never switched: the default"
    state = DrState(
        active="dr",
        since=1234.5,
        operation="failover",
        fenced={"primary": {"method": "reject-writes", "topics": {"orders": None, "pay": 2048}}},
        reverse_flow="dr->primary",
    )
    store.save_state(state)
    assert store.load_state("primary") == state
    assert [p.name for p in store.dir.iterdir()] == ["state.json"], "no temp file left behind"
    assert json.loads(store.state_path.read_text())["active"] == "dr"
    store.save_state(DrState(active="primary", operation="failback"))
    back = store.load_state("primary")
    assert back.active == "primary" and back.fenced == {} and back.reverse_flow is None


def test_dr_state_cut_short_is_said_never_guessed(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.dir.mkdir(parents=True)
    store.state_path.write_text('{"active": "dr", ')
    with pytest.raises(StateInvalid) as raised:
        store.load_state("primary")
    assert "state.json: not JSON" in str(raised.value)


# --- store: audit log -----------------------------------------------------------------------------


def test_audit_line_says_who_did_what_and_how_it_ended_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("SSH_CLIENT", "10.0.0.7 52311 22")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "hunter2-secret")
    store = store_at(tmp_path)
    store.audit("failover primary->dr", "prod", "started", journal="/j.jsonl", force=False)
    store.audit("failover primary->dr", "prod", "completed", journal="/j.jsonl")
    text = store.audit_path.read_text()
    assert "hunter2" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert set(first) == {"at", "time", "user", "ssh_client", "action", "plan", "outcome", "journal", "force"}
    assert first["user"] == "alice" and first["ssh_client"] == "10.0.0.7 52311 22"
    assert first["action"] == "failover primary->dr" and first["plan"] == "prod"
    assert first["outcome"] == "started" and first["force"] is False
    assert second["outcome"] == "completed"
    assert first["time"].endswith("Z") and isinstance(first["at"], float)
    assert stat.S_IMODE(store.audit_path.stat().st_mode) == 0o600


def test_audit_without_user_env_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("SSH_CLIENT", raising=False)
    store = store_at(tmp_path)
    store.audit("failback", "prod", "failed")
    (line,) = store.audit_path.read_text().splitlines()
    entry = json.loads(line)
    assert entry["user"] and entry["ssh_client"] == ""
    assert os.path.isfile(store.audit_path)
