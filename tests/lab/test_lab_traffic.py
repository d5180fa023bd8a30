"""The traffic generator against the session lab: records flow and groups commit offsets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient

from kdrtui.commands.lab import lab_group
from kdrtui.lab import process
from kdrtui.lab.lab import PRIMARY, Lab
from kdrtui.services.kafka.config import client_config

pytestmark = pytest.mark.lab


def committed(bootstrap: str, group: str) -> dict[tuple[str, int], int]:
    """The committed offsets of ``group``: {(topic, partition): offset}."""
    admin = AdminClient(client_config(bootstrap))
    futures = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
    result = futures[group].result(timeout=30)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions or []}


def test_traffic_for_a_few_seconds_leaves_committed_offsets(lab: Lab, unique_name: str) -> None:
    args = ["traffic", "--topics", "2", "--partitions", "2", "--rate", "40", "--duration", "3"]
    args += ["--prefix", unique_name, "--groups-per-topic", "2", "--progress-interval", "1"]

    result = CliRunner().invoke(lab_group, args)

    assert result.exit_code == 0, result.output
    final = result.output.strip().splitlines()[-1]
    assert "(final)" in final and "errors" not in final, result.output
    bootstrap = lab.bootstrap(PRIMARY)
    topics = AdminClient(client_config(bootstrap)).list_topics(timeout=10).topics
    for i in range(2):
        topic = f"{unique_name}-{i}"
        assert len(topics[topic].partitions) == 2
        for j in range(2):
            offsets = committed(bootstrap, f"{topic}-g{j}")
            assert {t for t, _ in offsets} == {topic}
            # About 40/s * 3 s / 2 topics = 60 records per topic; every group read them all.
            assert sum(o for o in offsets.values() if o > 0) >= 50, offsets


def test_background_traffic_shows_in_status_and_stops(
    lab: Lab, unique_name: str, wait_until: Callable[..., float]
) -> None:
    runner = CliRunner()
    started = runner.invoke(
        lab_group, ["traffic", "--background", "--rate", "20", "--topics", "1", "--prefix", unique_name,
                    "--progress-interval", "0.5"],
    )  # fmt: skip
    assert started.exit_code == 0, started.output
    pid = lab.traffic.running_pid()
    assert pid is not None

    def traffic() -> dict[str, object]:
        out = runner.invoke(lab_group, ["status", "--json"])
        assert out.exit_code == 0, out.output
        return dict(json.loads(out.output)["traffic"])

    wait_until(lambda: (traffic().get("stats") or {}).get("consumed", 0) > 0, timeout=30, message="consumed")
    status = traffic()
    assert status["running"] is True and status["pid"] == pid
    assert (status["args"] or {})["prefix"] == unique_name  # type: ignore[index]

    again = runner.invoke(lab_group, ["traffic", "--background", "--prefix", unique_name])
    assert again.exit_code == 1 and "already running" in again.output

    stopped = runner.invoke(lab_group, ["traffic", "--stop"])
    assert stopped.exit_code == 0 and f"pid {pid}" in stopped.output
    assert not process.is_alive(pid)
    assert traffic()["running"] is False
    assert committed(lab.bootstrap(PRIMARY), f"{unique_name}-0-g0")


def test_foreground_traffic_stops_cleanly_on_sigint(lab: Lab, unique_name: str, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    # KDRTUI_LAB_DIR is the session lab's already.
    env = {**os.environ, "PYTHONPATH": str(repo), "KDRTUI_STATE_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "kdrtui.commands.lab", "traffic", "--topics", "1", "--rate", "50"]
    argv += ["--prefix", unique_name, "--progress-interval", "0.5"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]  # the banner, then a progress line
        assert lines[1].startswith("traffic "), lines
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 0, err
    assert err == ""
    assert out.strip().splitlines()[-1].endswith("(final)")
    assert committed(lab.bootstrap(PRIMARY), f"{unique_name}-0-g0")
