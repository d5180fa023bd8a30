"""``split-brain`` on an active-active lab with a WAN (a lab of its own: one broker per cluster, both
flows running): the report's conflicts and both directions' counts are checked against the test's own read
of every topic on both clusters once the run is over.

Ports: clusters from 26592 / 27592 (41 each: brokers, WAN listeners, proxies, the WAN's API), edge nodes
from 13592 (primary-edge-1 on that + 4); 100 up per try when another session holds them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.gameday.runner import run_scenario
from kdrtui.services.gameday.traffic import KEYS
from tests.gameday.conftest import running_lab, wan_available
from tests.gameday_helpers import read_topic, schema

pytestmark = [pytest.mark.lab, pytest.mark.gameday, pytest.mark.timeout(900)]

SPLIT_PRIMARY_PORT = 26592
SPLIT_DR_PORT = 27592
SPLIT_EDGE_PORT = 13592


@pytest.fixture(scope="module")
def active_active_wan_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Active-active, a 35 ms WAN, one broker per cluster, both flows' MirrorMaker running."""
    if not wan_available():
        pytest.skip("no WAN: Toxiproxy is not built and Go is not on PATH to build it (`kdrtui lab fetch`)")
    yield from running_lab(
        tmp_path_factory.mktemp("split-brain-lab"),
        (SPLIT_PRIMARY_PORT, SPLIT_DR_PORT, SPLIT_EDGE_PORT),
        (f"{PRIMARY}->{DR}", f"{DR}->{PRIMARY}"),
        topology="active-active",
        wan_latency_ms=35,
    )


def window_keys(bootstrap: str, topic: str, since: float, until: float) -> Counter[str]:
    """Per key, the records of ``topic`` produced in ``[since, until]`` (by their own produce time)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"split-{topic}", "enable.auto.commit": False}
    )
    try:
        meta = consumer.list_topics(topic, timeout=30).topics[topic]
        ends = {}
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, -2) for p in ends])
        counts: Counter[str] = Counter()
        while ends:
            for msg in consumer.consume(500, 1.0):
                if msg.error():
                    continue
                body = json.loads(msg.value())
                if since <= body["produced_at_ms"] / 1000 <= until:
                    counts[f"k{body['seq'] % KEYS}"] += 1
                if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                    ends.pop(msg.partition(), None)
        return counts
    finally:
        consumer.close()


def test_split_brain_counts_the_conflicting_keys_and_both_sides_converge(
    active_active_wan_lab: Lab, tmp_path: Path
) -> None:
    lab = active_active_wan_lab
    report = run_scenario("split-brain", lab_home=lab.home, plan_path=lab.plan_path)
    (tmp_path / "split-brain.md").write_text(report.to_markdown(), encoding="utf-8")  # the evidence, kept
    body: dict[str, Any] = json.loads(json.dumps(report.to_dict()))
    jsonschema.Draft202012Validator(schema()).validate(body)
    markdown = report.to_markdown()
    assert body["verdict"] == "pass", markdown
    verdicts = {c["name"]: c["passed"] for c in body["checks"]}
    assert verdicts["conflicts-shown"] is None, "kdrtui has no per-key view: never a pass"
    assert verdicts["converged"] is True and verdicts["no-loop"] is True and verdicts["detected"] is True
    figures = body["figures"]
    since, until = figures["partition start (epoch s)"], figures["partition end (epoch s)"]
    assert until - since >= 25, figures
    topics = [row["topic"] for row in body["topics"]]
    conflicts = 0
    writes = {PRIMARY: 0, DR: 0}
    for topic in topics:
        mine = window_keys(lab.bootstrap(PRIMARY), topic, since, until)
        theirs = window_keys(lab.bootstrap(DR), topic, since, until)
        writes[PRIMARY] += sum(mine.values())
        writes[DR] += sum(theirs.values())
        conflicts += len(set(mine) & set(theirs))
    assert figures["keys written on both sides during the partition (conflicts)"] == conflicts > 0
    assert figures[f"writes on {PRIMARY} during the partition"] == writes[PRIMARY] > 0
    assert figures[f"writes on {DR} during the partition"] == writes[DR] > 0
    # Each side's writes on the other, counted by the test; nothing lost either way.
    for source, target in ((PRIMARY, DR), (DR, PRIMARY)):
        held = {t: read_topic(lab.bootstrap(source), t) for t in topics}
        copies = {t: read_topic(lab.bootstrap(target), f"{source}.{t}") for t in topics}
        assert figures[f"{source}->{target}: acked"] == sum(h.distinct for h in held.values())
        assert figures[f"{source}->{target}: lost"] == 0
        assert all(copies[t].seqs == held[t].seqs for t in topics), (source, target)
        assert figures[f"{source}->{target}: duplicated"] == sum(c.duplicated for c in copies.values())
    assert not lab.missing() and not lab.wan.state().partitioned
