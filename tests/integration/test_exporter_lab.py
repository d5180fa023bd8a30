"""``kdrtui exporter`` against the real lab, run as a process of its own: its metrics equal the
``kdrtui status --json`` body of the same refresh (which it serves at ``/status.json``) and a separate
``kdrtui status --json`` run; MirrorMaker's states come over SSH; concurrent scrapes are all answered and
add no refresh (how fast they are answered, and how closely the refresh keeps its schedule under them, is
measured by ``benchmarks/exporter_scrapes.py``, not asserted here: a busy machine moves timings);
SIGTERM stops it cleanly.

Its own topic, plan (narrowed to the topic) and MirrorMaker work dir; the MirrorMaker it starts is stopped.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kdrtui.lab.lab import PRIMARY, Lab
from tests.kafka_helpers import create_topic, produce_numbered
from tests.lab_helpers import KDRTUI, cli, lab_plan_variant

pytestmark = pytest.mark.lab

INTERVAL_S = 2.0
RECORDS = 200
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def get(url: str, timeout: float = 10.0) -> tuple[dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return dict(response.headers), response.read().decode()


def scrape(base: str) -> Samples:
    return parse(get(f"{base}/metrics")[1])


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def same_refresh(base: str) -> tuple[dict[str, Any], Samples]:
    """``/status.json`` and ``/metrics`` of one refresh (asked again when a refresh came in between)."""
    for _ in range(20):
        headers, body = get(f"{base}/status.json")
        found = scrape(base)
        after, _ = get(f"{base}/status.json")
        n = int(headers["X-Kdrtui-Refresh"])
        if n == int(after["X-Kdrtui-Refresh"]) == value(found, "kdrtui_refreshes_total"):
            return json.loads(body), found
    raise AssertionError("no scrape fell between two refreshes")


def stages(marks: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {b - a:.1f} s" for (_, a), (name, b) in itertools.pairwise(marks))


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], str]]]:
    """Starts ``kdrtui exporter`` on a port the system chooses; stops it (SIGTERM) after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(plan: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
        log = tmp_path / f"exporter-{len(started)}.log"
        args = [
            KDRTUI,
            "exporter",
            "--plan",
            str(plan),
            "--listen",
            "127.0.0.1:0",
            "--interval",
            str(INTERVAL_S),
        ]
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [*args, *extra], stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        started.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", log.read_text())
            if found:
                return process, f"http://127.0.0.1:{found.group(1)}"
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        raise AssertionError(f"the exporter did not start: {log.read_text()}")

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_exporter_exports_the_figures_of_status_json_and_scrapes_add_no_refresh(
    lab: Lab,
    tmp_path: Path,
    unique_name: str,
    wait_until: Callable[..., float],
    exporter: Callable[..., tuple[subprocess.Popen[bytes], str]],
) -> None:
    primary = lab.bootstrap(PRIMARY)
    marks = [("start", time.monotonic())]
    create_topic(primary, unique_name, partitions=3)
    produce_numbered(primary, unique_name, RECORDS)
    plan = lab_plan_variant(
        lab, tmp_path, flow={"topics": [re.escape(unique_name)], "groups": [re.escape(unique_name) + ".*"]}
    )
    started = cli("mm", "start", "--plan", str(plan))
    assert started.exit_code == 0, started.output
    marks.append(("mm start", time.monotonic()))
    try:
        process, base = exporter(plan, "--per-partition", "--mirrormaker-interval", "5")
        flow = "primary->dr"
        where = {"flow": flow, "topic": unique_name}

        def refreshed() -> bool:
            try:
                return bool(get(f"{base}/status.json"))
            except urllib.error.HTTPError as exc:  # 503 until the first refresh
                assert exc.code == 503
                return False

        wait_until(refreshed, timeout=60, interval=0.5, message="the exporter's first refresh")
        marks.append(("first refresh", time.monotonic()))

        def quiescent() -> bool:
            # ... and the target's end offsets read (unknown, None, until the engine's topic list of dr
            # has the copy MirrorMaker just made: it is read again within 30 s).
            body, found = same_refresh(base)
            ends = [p["target_end"] for f in body["flows"] for t in f["topics"] for p in t["partitions"]]
            return (
                value(found, "kdrtui_topic_lag_records", **where) == 0
                and body["health"] == "OK"
                and None not in ends
            )

        wait_until(quiescent, timeout=120, interval=1, message="every record mirrored, OK")
        marks.append(("quiescent", time.monotonic()))

        # 1. The metrics are the figures of the /status.json body of the same refresh.
        body, found = same_refresh(base)
        (shown,) = body["flows"]
        assert value(found, "kdrtui_flow_lag_records", flow=flow) == shown["lag_records"]
        assert (
            value(found, "kdrtui_flow_lag_seconds", flow=flow, seconds_source=shown["lag_seconds_source"])
            == shown["lag_seconds"]
        )
        assert value(found, "kdrtui_flow_heartbeat_age_seconds", flow=flow) == shown["heartbeat_age_s"]
        assert value(found, "kdrtui_flow_health", flow=flow, kdrtui_flow_health=shown["health"]) == 1
        (topic,) = shown["topics"]
        assert value(found, "kdrtui_topic_lag_records", **where) == topic["lag_records"] == 0
        assert value(found, "kdrtui_topic_replicated_records_per_second", **where) == topic["rate_out"]
        assert value(found, "kdrtui_topic_produced_records_per_second", **where) == topic["rate_in"]
        assert value(found, "kdrtui_topic_lost_records", **where) == topic["lost_records"] == 0
        for part in topic["partitions"]:
            at = {**where, "partition": str(part["partition"])}
            assert value(found, "kdrtui_partition_lag_records", **at) == part["lag_records"]
        assert sum(p["source_end"] for p in topic["partitions"]) == RECORDS
        for alias, block in body["clusters"].items():
            assert value(found, "kdrtui_cluster_up", cluster=alias) == 1
            assert value(found, "kdrtui_cluster_brokers_up", cluster=alias) == block["brokers_up"] >= 1
            assert (
                value(found, "kdrtui_cluster_under_replicated_partitions", cluster=alias)
                == block["under_replicated"]
            )
            assert value(found, "kdrtui_cluster_offline_partitions", cluster=alias) == block["offline"]
        assert value(found, "kdrtui_active_cluster", cluster=body["active"]) == 1

        # 2. ... and those of a `kdrtui status --json` run (quiescent: nothing moves between the two).
        ran = subprocess.run(
            [KDRTUI, "status", "--plan", str(plan), "--json"], capture_output=True, text=True, timeout=120
        )
        status = json.loads(ran.stdout)
        marks.append(("status --json", time.monotonic()))
        (other,) = status["flows"]
        (other_topic,) = other["topics"]
        assert (status["health"], status["active"]) == (body["health"], body["active"])
        assert (other["lag_records"], other_topic["lag_records"], other_topic["lost_records"]) == (0, 0, 0)
        assert [p["source_end"] for p in other_topic["partitions"]] == [
            p["source_end"] for p in topic["partitions"]
        ]
        assert [p["target_end"] for p in other_topic["partitions"]] == [
            p["target_end"] for p in topic["partitions"]
        ]
        for alias, block in status["clusters"].items():
            assert block["brokers_up"] == value(found, "kdrtui_cluster_brokers_up", cluster=alias)
            assert block["state"] == body["clusters"][alias]["state"]

        # 3. MirrorMaker's process and task states, read over SSH.
        node = {"node": "dr-edge-1", "deployment": "mm2-dr"}

        def mirrormaker_read() -> Samples | None:
            found = scrape(base)
            return found if value(found, "kdrtui_mirrormaker_read_up", node="dr-edge-1") == 1 else None

        wait_until(mirrormaker_read, timeout=60, interval=1, message="MirrorMaker read over SSH")
        marks.append(("MirrorMaker read", time.monotonic()))
        found = scrape(base)
        assert value(found, "kdrtui_mirrormaker_state", **node, kdrtui_mirrormaker_state="running") == 1
        running = [k for k, v in found.items() if k[0] == "kdrtui_mm2_task_state" and v == 1]
        assert running and all(("kdrtui_mm2_task_state", "RUNNING") in labels for _, labels in running), (
            running
        )

        # 4. Scrapes under load: the refresh keeps its cadence, and no scrape adds a refresh.
        idle = []
        for _ in range(20):
            began = time.perf_counter()
            size = len(get(f"{base}/metrics")[1])
            idle.append(time.perf_counter() - began)
        before = scrape(base)
        first = value(before, "kdrtui_refreshes_total")
        stamps: dict[float, float] = {}  # refresh number -> when its figures were taken
        latencies: list[float] = []
        stop = time.monotonic() + 12
        lock = threading.Lock()

        failed: list[str] = []

        def hammer() -> None:
            while time.monotonic() < stop:
                began = time.perf_counter()
                try:
                    _, text = get(f"{base}/metrics")
                except OSError as exc:  # refused, reset, timed out: a scrape not answered
                    with lock:
                        failed.append(str(exc))
                    continue
                took = time.perf_counter() - began  # the HTTP round trip, not this process's parsing
                seen = parse(text)
                with lock:
                    latencies.append(took)
                    count = value(seen, "kdrtui_refreshes_total")
                    taken = value(seen, "kdrtui_snapshot_timestamp_seconds")
                    if count is not None and taken is not None:
                        stamps[count] = taken

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        marks.append(("load", time.monotonic()))
        after = scrape(base)
        last = value(after, "kdrtui_refreshes_total")
        assert first is not None and last is not None
        refreshes = last - first
        assert not failed, failed[:3]
        assert len(latencies) >= 8 * 3, len(latencies)  # every thread answered, again and again
        # 12 s at one refresh per 2 s: at most 6 (+1 for where the window falls), however many scrapes came
        # (a scrape never triggers one); and the refresh went on under them. On a quiet machine it is 6.
        assert 1 <= refreshes <= 7, (refreshes, len(latencies))
        taken = [stamps[n] for n in sorted(stamps)]
        gaps = [b - a for a, b in itertools.pairwise(taken)] or [0.0]
        durations = (
            value(before, "kdrtui_refresh_duration_seconds"),
            value(after, "kdrtui_refresh_duration_seconds"),
        )
        ordered = sorted(latencies)
        median, p99 = statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99)] * 1000
        print(
            f"\nexporter on the lab: {len(latencies)} scrapes by 8 threads in 12 s, latency median "
            f"{median:.1f} ms, p99 {p99:.1f} ms, max {ordered[-1] * 1000:.1f} ms; {refreshes:.0f} refreshes, "
            f"gaps {min(gaps):.2f}-{max(gaps):.2f} s; refresh took {durations[0]:.3f} s before, "
            f"{durations[1]:.3f} s under load; alone a scrape ({size} bytes) took "
            f"{statistics.median(idle) * 1000:.1f} ms (median of 20); stages {stages(marks)}"
        )

        # 5. SIGTERM: it stops, exit code 0.
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        print(f"stopped {time.monotonic() - signalled:.1f} s after SIGTERM")
    finally:
        cli("mm", "stop", "--plan", str(plan))
