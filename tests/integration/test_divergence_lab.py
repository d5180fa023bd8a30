"""Hot standby with dual ingest against the real lab: the divergence engine and `kdrtui status`.

A hot-standby plan is built from the lab's two clusters in ``tmp_path`` (nothing mirrored). The lab is
shared with other tests, so its other topics (some on one cluster only) are ignored: every check is about
this test's own topic. Nothing is killed: an unreachable cluster is a closed port.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from kdrtui.cli import main
from kdrtui.domain.divergence import DivergenceSnapshot, TopicDivergence
from kdrtui.domain.lag import SEVERITY, Health
from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.divergence_engine import DivergenceEngine
from kdrtui.services.plan_files import load_plan
from tests.kafka_helpers import create_topic, produce_numbered
from tests.lab_helpers import hot_standby_plan

pytestmark = pytest.mark.lab

N = 120


def closed_port() -> str:
    """host:port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def topic_of(snapshot: DivergenceSnapshot, topic: str) -> TopicDivergence:
    found = next((t for t in snapshot.topics if t.topic == topic), None)
    assert found is not None, f"{topic} not in {[t.topic for t in snapshot.topics]}"
    return found


@pytest.fixture
def plan(lab: Lab, tmp_path: Path) -> Plan:
    return load_plan(hot_standby_plan(lab, tmp_path))


def test_same_writes_on_both_are_ok_then_primary_only_writes_diverge(
    lab: Lab, plan: Plan, unique_name: str
) -> None:
    for alias in (PRIMARY, DR):
        create_topic(lab.bootstrap(alias), unique_name, partitions=3)
        produce_numbered(lab.bootstrap(alias), unique_name, N)
    engine = DivergenceEngine(plan)
    try:
        same = engine.refresh()
        assert same.stale_s is None and same.unreachable == {}
        assert (same.primary, same.secondary) == (PRIMARY, DR)
        t = topic_of(same, unique_name)
        assert t.primary is not None and t.secondary is not None
        assert (t.primary.records, t.secondary.records, t.records_delta) == (N, N, 0)
        assert len(t.primary.partitions) == len(t.secondary.partitions) == 3
        assert t.primary.newest is not None and t.secondary.newest is not None
        assert abs(time.time() - t.primary.newest) < 60, "the newest timestamp is the records' time"
        assert t.gap_s < 30 and t.health == Health.OK and t.reason is None
        assert all(
            not n.startswith("__") and not n.endswith(".internal") for n in (x.topic for x in same.topics)
        )

        time.sleep(1.2)  # the primary's next records are clearly newer than dr's newest
        produce_numbered(lab.bootstrap(PRIMARY), unique_name, 250, start=N)
        apart = engine.refresh()
        t = topic_of(apart, unique_name)
        assert t.primary is not None and t.secondary is not None
        assert (t.primary.records, t.secondary.records, t.records_delta) == (N + 250, N, 250)
        assert t.seconds_delta is not None and t.seconds_delta >= 1.0, t
        assert t.gap_s == pytest.approx(t.seconds_delta)
        assert t.health == Health.OK  # a second apart is under lag_warn_seconds (30)
        assert sum(p.end for p in t.primary.partitions) == N + 250
    finally:
        engine.close()


def test_only_on_one_side_is_crit(lab: Lab, plan: Plan, unique_name: str) -> None:
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=2)
    produce_numbered(lab.bootstrap(PRIMARY), unique_name, 10)
    t = topic_of(DivergenceEngine(plan).refresh(), unique_name)
    assert t.health == Health.CRIT
    assert t.secondary is None and t.records_delta == 10
    assert t.reason == f"only on {PRIMARY}: the topic does not exist on {DR}"


def test_unreachable_dr_keeps_the_last_numbers_marked_stale(lab: Lab, plan: Plan, unique_name: str) -> None:
    for alias in (PRIMARY, DR):
        create_topic(lab.bootstrap(alias), unique_name, partitions=1)
        produce_numbered(lab.bootstrap(alias), unique_name, 5)
    engine = DivergenceEngine(plan, request_timeout_s=1.0)
    fresh = engine.refresh()
    assert topic_of(fresh, unique_name).records_delta == 0
    # dr "goes away" without killing the shared lab: its client now points at a closed port.
    engine._clusters[1].admin = AdminClient(client_config(closed_port()))
    engine._clusters[1].fetched_at = float("-inf")
    started = time.monotonic()
    stale = engine.refresh()
    assert time.monotonic() - started < 10, "an unreachable cluster costs one timeout, it never hangs"
    assert stale.stale_s is not None and stale.stale_s >= 0
    assert set(stale.unreachable) == {DR}
    assert stale.error is not None and "unreachable" in stale.error
    assert stale.health == Health.CRIT
    t = topic_of(stale, unique_name)
    assert t.records_delta == 0 and t.secondary is not None, "the last numbers, not a made-up divergence"
    later = engine.refresh()
    assert later.stale_s is not None and later.stale_s > stale.stale_s


def test_status_prints_and_jsons_the_divergence_with_its_exit_code(
    lab: Lab, tmp_path: Path, unique_name: str
) -> None:
    path = hot_standby_plan(lab, tmp_path)
    for alias in (PRIMARY, DR):
        create_topic(lab.bootstrap(alias), unique_name, partitions=2)
        produce_numbered(lab.bootstrap(alias), unique_name, 40)
    produce_numbered(lab.bootstrap(PRIMARY), unique_name, 7, start=40)
    result = CliRunner().invoke(main, ["status", "--plan", str(path), "--json"], catch_exceptions=False)
    data = json.loads(result.output)
    assert data["topology"] == "hot-standby"
    assert (data["primary"], data["secondary"]) == (PRIMARY, DR)
    assert result.exit_code == min(2, SEVERITY[Health(data["health"])])
    (mine,) = [t for t in data["topics"] if t["topic"] == unique_name]
    assert mine["records_delta"] == 7
    assert mine["primary"]["records"] == 47 and mine["secondary"]["records"] == 40
    assert mine["health"] == "OK"
    assert [p["partition"] for p in mine["primary"]["partitions"]] == [0, 1]

    text = CliRunner().invoke(main, ["status", "--plan", str(path)], catch_exceptions=False)
    assert text.exit_code in (0, 1, 2)
    assert f"hot standby (dual ingest): divergence between {PRIMARY} and {DR}" in text.output
    line = next(line for line in text.output.splitlines() if unique_name in line)
    assert "+7" in line and line.rstrip().endswith("OK")


def test_status_exits_2_when_a_cluster_is_unreachable(lab: Lab, tmp_path: Path) -> None:
    path = hot_standby_plan(lab, tmp_path, dr_bootstrap=closed_port())
    result = CliRunner().invoke(main, ["status", "--plan", str(path), "--json"], catch_exceptions=False)
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert list(data["unreachable"]) == [DR]
    assert data["health"] == "CRIT" and data["stale_s"] is not None and data["topics"] == []
