"""``region-loss`` and ``zombie-primary`` run unattended on the game days' lab; their figures are checked
against the test's own count: a consumer of its own reads the DR cluster's copies at the cutover (while the
scenario reports its RPO, MirrorMaker stopped), and every topic on both clusters once the run is over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.gameday.context import GamedayEvent
from kdrtui.services.gameday.runner import run_scenario
from kdrtui.services.gameday.scenarios.zombie_primary import ZOMBIE_FIRST_SEQ, ZOMBIE_RECORDS
from tests.gameday_helpers import Held, read_topic, schema

pytestmark = [pytest.mark.lab, pytest.mark.gameday, pytest.mark.timeout(900)]


class Cutover:
    """The test's own read of the DR cluster's copies when the scenario reports its RPO (MirrorMaker is
    stopped by then: nothing more arrives until failback)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.held: dict[str, Held] = {}
        self.events: list[GamedayEvent] = []

    def __call__(self, event: GamedayEvent) -> None:
        self.events.append(event)
        if event.phase == "observe" and event.text.startswith("RPO:"):
            for topic in self._topics():
                self.held[topic] = read_topic(self.lab.bootstrap(DR), f"{PRIMARY}.{topic}")

    def _topics(self) -> list[str]:
        first = next(e.text for e in self.events if e.phase == "traffic")
        prefix = first.split(" topics ", 1)[1].split("..", 1)[0].rsplit("-", 1)[0]
        return [f"{prefix}-{i}" for i in range(2)]


def run(lab: Lab, name: str, keep: Path) -> tuple[dict[str, Any], Cutover, str]:
    """Run ``name``; its reports are kept in ``keep`` (``<name>.md``, ``<name>.json``) as evidence."""
    cutover = Cutover(lab)
    report = run_scenario(name, lab_home=lab.home, plan_path=lab.plan_path, on_event=cutover)
    (keep / f"{name}.md").write_text(report.to_markdown(), encoding="utf-8")
    (keep / f"{name}.json").write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    body = json.loads(json.dumps(report.to_dict()))
    jsonschema.Draft202012Validator(schema()).validate(body)
    assert cutover.held, "the scenario never reported its RPO:\n" + report.to_markdown()
    assert not lab.missing(), "the scenario left part of the lab down"
    return body, cutover, report.to_markdown()


def checks(body: dict[str, Any]) -> dict[str, bool | None]:
    return {c["name"]: c["passed"] for c in body["checks"]}


def check_outage_counts(lab: Lab, body: dict[str, Any], cutover: Cutover, *, zombie: int = 0) -> None:
    """The report's figures against the test's own counts of the primary's log, the DR cluster's copies at
    the cutover and after failback, and the records written on the DR cluster and carried back."""
    figures = body["figures"]
    on_primary = {t: read_topic(lab.bootstrap(PRIMARY), t) for t in cutover.held}
    traffic = {t: frozenset(s for s in held.seqs if s < ZOMBIE_FIRST_SEQ) for t, held in on_primary.items()}
    rows = {row["topic"]: row for row in body["topics"]}
    assert set(rows) == set(cutover.held)
    never_mirrored = 0
    for topic, at_cutover in cutover.held.items():
        row = rows[topic]
        assert row["delivered"] == at_cutover.distinct, (row, at_cutover)
        assert row["duplicated"] == at_cutover.duplicated, (row, at_cutover)
        assert row["lost"] <= len(traffic[topic] - at_cutover.seqs), row
        never_mirrored += len(traffic[topic] - at_cutover.seqs)
        assert on_primary[topic].duplicated == 0, f"{topic}: the idempotent producer wrote a record twice"
    # What the primary holds = what was acknowledged there + what it wrote without the ack reaching us.
    acked = sum(row["acked"] for row in body["topics"])
    unacked = figures[f"records on {PRIMARY} never acknowledged (its log)"]
    assert acked + unacked == sum(len(s) for s in traffic.values())
    assert figures[f"records on {PRIMARY} never mirrored (its log)"] == never_mirrored
    assert body["rpo"]["records"]["value"] == sum(row["lost"] for row in body["topics"])
    assert body["rpo"]["records"]["value"] <= never_mirrored <= body["rpo"]["records"]["value"] + unacked
    # Failback: the DR cluster now holds everything the primary does (late for what it lacked).
    for topic, held in on_primary.items():
        assert read_topic(lab.bootstrap(DR), f"{PRIMARY}.{topic}").seqs == held.seqs, topic
    assert figures["failback: divergent records (runbook)"] == never_mirrored + zombie
    # The outage's records written on the DR cluster, counted on the primary after failback.
    written = sum(read_topic(lab.bootstrap(DR), t).distinct for t in cutover.held)
    back = {t: read_topic(lab.bootstrap(PRIMARY), f"{DR}.{t}") for t in cutover.held}
    assert figures[f"written on {DR} during the outage (acked)"] == written
    assert sum(h.distinct for h in back.values()) == written
    assert figures[f"of those, duplicated on {PRIMARY}"] == sum(h.duplicated for h in back.values())
    assert figures[f"of those, lost on the way back to {PRIMARY}"] == 0


def test_region_loss_fails_over_with_the_primary_down_counts_the_rpo_and_fails_back(
    gameday_lab: Lab, tmp_path: Path
) -> None:
    body, cutover, markdown = run(gameday_lab, "region-loss", tmp_path)
    assert body["verdict"] == "pass", markdown
    check_outage_counts(gameday_lab, body, cutover)
    assert body["detection"]["value"] is not None and body["detection"]["value"] < 30, markdown
    runbook_rto = body["figures"]["runbook RTO: confirmation -> clients switched (s)"]
    assert 0 < runbook_rto < body["rto"]["value"] <= body["objectives"]["rto_seconds"], markdown
    never_zero = "the primary was down: never a confident 0"
    assert body["figures"]["runbook RPO (records)"] == "not measured", never_zero
    assert body["figures"]["fence at failover"].startswith("skipped"), markdown
    assert checks(body)["restored"] is True


def test_zombie_primary_takes_the_old_clients_writes_and_kdrtui_counts_them_as_divergent(
    gameday_lab: Lab, tmp_path: Path
) -> None:
    body, cutover, markdown = run(gameday_lab, "zombie-primary", tmp_path)
    assert body["verdict"] == "fail", markdown
    verdicts = checks(body)
    unfenced = "the lab's reject-writes fence cannot go up on a dead primary"
    assert verdicts.pop("zombie-fenced") is False, unfenced
    assert all(v is not False for v in verdicts.values()), markdown
    topic = next(iter(cutover.held))
    zombie = {s for s in read_topic(gameday_lab.bootstrap(PRIMARY), topic).seqs if s >= ZOMBIE_FIRST_SEQ}
    assert len(zombie) == ZOMBIE_RECORDS == body["figures"]["old client: acknowledged"]
    assert body["figures"]["old client: refused"] == 0
    before = body["figures"]["failback pre-flight divergent, before the old client"]
    assert body["figures"]["failback pre-flight divergent, after the old client"] == before + len(zombie)
    on_dr = read_topic(gameday_lab.bootstrap(DR), f"{PRIMARY}.{topic}").seqs
    assert zombie <= on_dr, "failback delivered the old client's records to dr late"
    check_outage_counts(gameday_lab, body, cutover, zombie=len(zombie))


def test_two_runs_of_region_loss_agree_on_every_check_and_count_within_ten_percent(
    gameday_lab: Lab, tmp_path: Path
) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    first, _, markdown = run(gameday_lab, "region-loss", tmp_path / "1")
    second, _, again = run(gameday_lab, "region-loss", tmp_path / "2")
    assert checks(first) == checks(second), markdown + again
    assert first["verdict"] == second["verdict"] == "pass"
    a, b = first["totals"]["acked"], second["totals"]["acked"]
    assert abs(a - b) <= 0.1 * max(a, b), (a, b)
    written = f"written on {DR} during the outage (acked)"
    assert first["figures"][written] == second["figures"][written] == 400
    for key in ("scenario RTO: fault -> first write on DR (s)", "detection (s)"):
        x, y = first["figures"][key], second["figures"][key]
        assert abs(x - y) <= max(0.1 * max(x, y), 2.0), (key, x, y)  # seconds: 10 %, or 2 s on small ones
