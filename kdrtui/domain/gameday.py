"""Game days, as values: exact record counting from sequence numbers, the objectives' pass or fail, and the
report a scenario leaves (:class:`GamedayReport`, JSON per ``docs/gameday-report.schema.json`` and
Markdown for an audit).

Pure: the services (:mod:`kdrtui.services.gameday`) produce the traffic, read the target and time the
faults; this module only counts and judges what they recorded.

Counting (per topic, from what the producer's delivery reports acknowledged and what a verifier read on
the target, each record carrying its topic's sequence number):

- *acked*: sequence numbers whose delivery report succeeded (``acks=all``);
- *delivered*: distinct sequence numbers read on the target;
- *lost*: acked but never read on the target;
- *duplicated*: reads of a sequence number beyond its first (MirrorMaker 2 is at-least-once);
- *out of order*: first reads of a sequence number lower than the last one read for the same key on
  the same partition (a re-delivery of a number already read counts as duplicated, not out of order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
"""Version of the JSON report's layout (``docs/gameday-report.schema.json``)."""

PASS = "pass"
FAIL = "fail"
ERROR = "error"
VERDICTS = (PASS, FAIL, ERROR)


@dataclass(frozen=True, slots=True)
class Read:
    """One record read on the target."""

    partition: int
    key: str
    seq: int


@dataclass(frozen=True, slots=True)
class TopicCounts:
    """The exact counts of one traffic topic."""

    topic: str
    """The source topic."""
    target_topic: str
    """Its name on the target (``primary.<topic>`` with prefixed naming)."""
    produced: int
    """Records handed to the producer."""
    acked: int
    """Records the producer's delivery reports acknowledged."""
    delivered: int
    """Distinct sequence numbers read on the target."""
    lost: int
    """Acknowledged but never read on the target."""
    duplicated: int
    """Reads beyond the first of a sequence number."""
    out_of_order: int
    """First reads lower than the last read of their key on their partition."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def count_topic(
    topic: str, target_topic: str, *, produced: int, acked: Iterable[int], reads: Iterable[Read]
) -> TopicCounts:
    """Count one topic exactly (see the module's definitions); ``reads`` in the order they were read."""
    acked_set = set(acked)
    seen: set[int] = set()
    duplicated = 0
    out_of_order = 0
    last: dict[tuple[int, str], int] = {}
    for read in reads:
        if read.seq in seen:
            duplicated += 1
            continue
        seen.add(read.seq)
        where = (read.partition, read.key)
        previous = last.get(where)
        if previous is not None and read.seq < previous:
            out_of_order += 1
        else:
            last[where] = read.seq
    return TopicCounts(
        topic=topic,
        target_topic=target_topic,
        produced=produced,
        acked=len(acked_set),
        delivered=len(seen),
        lost=len(acked_set - seen),
        duplicated=duplicated,
        out_of_order=out_of_order,
    )


@dataclass(frozen=True, slots=True)
class Exposure:
    """Records acknowledged on the source but not (yet) on the target at one moment: an RPO."""

    records: int
    """How many."""
    seconds: float
    """Age of the oldest of them at that moment (0 when there are none)."""


def exposure(acked_at: Mapping[int, float], seen: Iterable[int], at: float) -> Exposure:
    """Records acknowledged (``acked_at``: seq -> when, epoch s) at or before ``at`` that are not in
    ``seen``, and the age of the oldest at ``at``."""
    seen_set = set(seen)
    missing = [when for seq, when in acked_at.items() if when <= at and seq not in seen_set]
    if not missing:
        return Exposure(0, 0.0)
    return Exposure(len(missing), max(0.0, at - min(missing)))


@dataclass(frozen=True, slots=True)
class Check:
    """One pass/fail judgement of a report: an objective of the plan, or what the scenario expects."""

    name: str
    """Short name (``rpo``, ``rto``, ``no-loss``, ``detected``, ``restored``...)."""
    expected: str
    """What passing means, in words (``<= 60 s``)."""
    measured: str
    """What was measured, in words; ``unknown (why)`` when it could not be."""
    passed: bool | None
    """True pass, False fail, None not applicable (does not change the verdict)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def objective_check(name: str, limit: int, measured: float | None, unit: str, why: str = "") -> Check:
    """``measured <= limit`` as a check; ``measured`` None is not applicable (``why`` says why)."""
    if measured is None:
        return Check(name, f"<= {limit} {unit}", f"not measured ({why or 'not applicable'})", None)
    return Check(name, f"<= {limit} {unit}", f"{_num(measured)} {unit}", measured <= limit)


def verdict(checks: Iterable[Check], error: str | None = None) -> str:
    """``error`` when the run broke, ``fail`` when a check failed, else ``pass``."""
    if error is not None:
        return ERROR
    return FAIL if any(c.passed is False for c in checks) else PASS


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of a run, ``t`` seconds after it started."""

    t: float
    phase: str
    """``setup``, ``traffic``, ``fault``, ``observe``, ``runbook``, ``restore``, ``settle``, ``report``."""
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"t": round(self.t, 3), "phase": self.phase, "text": self.text}


@dataclass(frozen=True, slots=True)
class StateChange:
    """What kdrtui showed changed (a flow's or topic's health, a cluster's state), ``t`` s into the run."""

    t: float
    subject: str
    """``flow primary->dr``, ``topic primary->dr/gd-x-0``, ``cluster primary``, ``mirrormaker dr-edge-1``."""
    old: str | None
    new: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "t": round(self.t, 3),
            "subject": self.subject,
            "old": self.old,
            "new": self.new,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class AlertFired:
    """An alert the state change would fire: a rule of ``dashboards/alerts.yml`` whose condition became
    true (the rule's ``for:`` hold is not waited for), and kdrtui's own health-change alert."""

    t: float
    rule: str
    subject: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"t": round(self.t, 3), "rule": self.rule, "subject": self.subject, "text": self.text}


@dataclass(frozen=True, slots=True)
class Measure:
    """A duration or amount measured in a run, with why it is missing when it is."""

    value: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        value = None if self.value is None else round(self.value, 3)
        return {"value": value, "note": self.note}


@dataclass
class GamedayReport:
    """What one run of one scenario did and found."""

    scenario: str
    summary: str
    proves: str
    plan_name: str
    plan_path: str
    lab: dict[str, Any]
    """The lab's shape: brokers, wan, topology, security."""
    started_at: float
    """Epoch seconds."""
    ended_at: float
    objectives: dict[str, int]
    """The plan's ``rpo_seconds`` and ``rto_seconds``."""
    timeline: list[TimelineEntry] = field(default_factory=list)
    detection: Measure = field(default_factory=lambda: Measure(None, "no fault was injected"))
    """Seconds from the fault's injection to the first sample showing the expected state."""
    detection_expected: str = ""
    """The state looked for."""
    rpo_records: Measure = field(default_factory=lambda: Measure(None, "not measured"))
    rpo_seconds: Measure = field(default_factory=lambda: Measure(None, "not measured"))
    rto_seconds: Measure = field(default_factory=lambda: Measure(None, "no runbook ran"))
    topics: list[TopicCounts] = field(default_factory=list)
    states: list[StateChange] = field(default_factory=list)
    alerts: list[AlertFired] = field(default_factory=list)
    figures: dict[str, float | int | str | None] = field(default_factory=dict)
    """Scenario-specific figures (max lag seen, MirrorMaker pids...)."""
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    """Why the run broke (the verdict is then ``error``)."""

    @property
    def verdict(self) -> str:
        """``pass``, ``fail`` or ``error``."""
        return verdict(self.checks, self.error)

    @property
    def passed(self) -> bool:
        """The verdict is ``pass``."""
        return self.verdict == PASS

    def totals(self) -> dict[str, int]:
        """Every topic's counts summed."""
        keys = ("produced", "acked", "delivered", "lost", "duplicated", "out_of_order")
        return {k: sum(getattr(t, k) for t in self.topics) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (``docs/gameday-report.schema.json``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "scenario": self.scenario,
            "summary": self.summary,
            "proves": self.proves,
            "plan": {"name": self.plan_name, "path": self.plan_path},
            "lab": dict(self.lab),
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "duration_seconds": round(self.ended_at - self.started_at, 3),
            "objectives": dict(self.objectives),
            "timeline": [e.to_dict() for e in self.timeline],
            "detection": {"expected": self.detection_expected, **self.detection.to_dict()},
            "rpo": {"records": self.rpo_records.to_dict(), "seconds": self.rpo_seconds.to_dict()},
            "rto": self.rto_seconds.to_dict(),
            "topics": [t.to_dict() for t in self.topics],
            "totals": self.totals(),
            "states": [s.to_dict() for s in self.states],
            "alerts": [a.to_dict() for a in self.alerts],
            "figures": dict(self.figures),
            "checks": [c.to_dict() for c in self.checks],
            "verdict": self.verdict,
            "error": self.error,
        }

    def to_markdown(self) -> str:
        """The report as Markdown, readable as evidence for an audit."""
        return "\n".join(_markdown(self)) + "\n"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _measure(m: Measure, unit: str) -> str:
    if m.value is None:
        return f"unknown ({m.note})" if m.note else "unknown"
    text = f"{_num(m.value)} {unit}".rstrip()
    return f"{text} ({m.note})" if m.note else text


def _markdown(r: GamedayReport) -> list[str]:
    mark = {True: "PASS", False: "FAIL", None: "n/a"}
    lab = ", ".join(f"{k} {v}" for k, v in r.lab.items())
    lines = [
        f"# Game day: {r.scenario} — {r.verdict.upper()}",
        "",
        f"{r.summary}",
        "",
        f"**What it proves:** {r.proves}",
        "",
        "| | |",
        "|---|---|",
        f"| Scenario | `{r.scenario}` |",
        f"| Plan | {_cell(r.plan_name)} (`{_cell(r.plan_path)}`) |",
        f"| Lab | {_cell(lab)} |",
        f"| Started | {_iso(r.started_at)} |",
        f"| Ended | {_iso(r.ended_at)} ({_num(round(r.ended_at - r.started_at, 1))} s) |",
        f"| Objectives | RPO {r.objectives.get('rpo_seconds')} s, RTO {r.objectives.get('rto_seconds')} s |",
        f"| Verdict | **{r.verdict.upper()}** |",
    ]
    if r.error:
        lines.append(f"| Error | {_cell(r.error)} |")
    lines += ["", "## Results", "", "| Check | Expected | Measured | Result |", "|---|---|---|---|"]
    lines += [
        f"| {_cell(c.name)} | {_cell(c.expected)} | {_cell(c.measured)} | {mark[c.passed]} |"
        for c in r.checks
    ]
    lines += [
        "",
        "## Measurements",
        "",
        f"- Detection ({_cell(r.detection_expected or 'expected state')}): {_measure(r.detection, 's')}",
        f"- RPO: {_measure(r.rpo_records, 'records')}; {_measure(r.rpo_seconds, 's')}",
        f"- RTO: {_measure(r.rto_seconds, 's')}",
    ]
    lines += [f"- {k}: {v if v is not None else 'unknown'}" for k, v in r.figures.items()]
    lines += [
        "",
        "## Records per topic",
        "",
        "Counted exactly from sequence numbers: acked = acknowledged to the producer (acks=all); "
        "lost = acked but never read on the target; duplicated = read more than once; out of order = "
        "first read after a higher number of the same key and partition.",
        "",
        "| Topic | Target topic | Produced | Acked | Delivered | Lost | Duplicated | Out of order |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in [*r.topics, None]:
        if t is None:
            tot = r.totals()
            if len(r.topics) < 2:
                break
            row = ["**total**", "", *(str(tot[k]) for k in tot)]
        else:
            row = [t.topic, t.target_topic, *map(str, (t.produced, t.acked, t.delivered, t.lost))]
            row += [str(t.duplicated), str(t.out_of_order)]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    lines += ["", "## Timeline", "", "| t (s) | Phase | Event |", "|---:|---|---|"]
    lines += [f"| {e.t:.1f} | {e.phase} | {_cell(e.text)} |" for e in r.timeline]
    lines += ["", "## What kdrtui showed", ""]
    if r.states:
        lines += ["| t (s) | Subject | From | To | Detail |", "|---:|---|---|---|---|"]
        lines += [
            f"| {s.t:.1f} | {_cell(s.subject)} | {_cell(s.old or '-')} | {_cell(s.new)} | {_cell(s.detail)} |"
            for s in r.states
        ]
    else:
        lines.append("No state change was seen.")
    lines += ["", "## Alerts that would fire", ""]
    if r.alerts:
        lines += ["| t (s) | Rule | Subject | Why |", "|---:|---|---|---|"]
        lines += [f"| {a.t:.1f} | {a.rule} | {_cell(a.subject)} | {_cell(a.text)} |" for a in r.alerts]
    else:
        lines.append("None.")
    return lines
