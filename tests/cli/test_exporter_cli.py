"""``kdrtui exporter`` where nothing answers (no lab): it serves what it knows — clusters unreachable, no
lag or broker figure made up, the edge node's SSH read failing — and says why; bad input exits 2 naming
the option; SIGTERM stops it with exit code 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from kdrtui.cli import main
from tests.conftest import wait_until
from tests.exporter_helpers import plan_nobody_answers

PLANS = Path(__file__).parent.parent / "domain" / "plans"
KDRTUI = str(Path(sys.executable).parent / "kdrtui")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    log = tmp_path / "exporter.log"
    env = {**os.environ, "KDRTUI_STATE_DIR": str(tmp_path / "state")}
    args = ["--listen", "127.0.0.1:0", "--interval", "1", "--mirrormaker-interval", "5", "--ssh-timeout", "3"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [KDRTUI, "exporter", "--plan", str(plan_nobody_answers(tmp_path)), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until(lambda: "/metrics" in log.read_text() or process.poll() is not None, timeout=30)
        found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", log.read_text())
        assert found, log.read_text()
        yield process, f"http://127.0.0.1:{found.group(1)}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_nothing_answers_every_unknown_is_said_and_sigterm_stops_it(
    running: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, base = running

    def read() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        found = scrape(base)
        done = found.get(("kdrtui_refreshes_total", frozenset())) or 0
        node_read = found.get(("kdrtui_mirrormaker_read_up", frozenset({("node", "dr-edge-1")})))
        return found if done >= 1 and node_read is not None else None

    wait_until(read, timeout=60, interval=0.5, message="a refresh and a MirrorMaker read")
    found = scrape(base)
    names = {name for name, _ in found}
    for alias in ("primary", "dr"):
        assert found[("kdrtui_cluster_up", frozenset({("cluster", alias)}))] == 0
    # Nothing read: no lag, broker or partition figure at all (never a 0 that was not measured).
    for name in ("kdrtui_flow_lag_records", "kdrtui_topic_lag_records", "kdrtui_cluster_brokers_up"):
        assert name not in names
    assert any(name == "kdrtui_flow_error_info" for name, _ in found)
    assert found[("kdrtui_mirrormaker_read_up", frozenset({("node", "dr-edge-1")}))] == 0
    assert "kdrtui_mirrormaker_state" not in names
    assert any(name == "kdrtui_mirrormaker_read_error_info" for name, _ in found)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0


def test_a_bad_listen_address_exits_2_naming_the_option() -> None:
    result = CliRunner().invoke(main, ["exporter", "--plan", str(PLANS / "good.toml"), "--listen", "9308"])
    assert result.exit_code == 2
    assert "--listen" in result.output and "HOST:PORT" in result.output


def test_a_port_taken_exits_2_saying_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                KDRTUI,
                "exporter",
                "--plan",
                str(plan_nobody_answers(tmp_path)),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "KDRTUI_STATE_DIR": str(tmp_path / "state")},
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_hot_standby_plan_is_refused() -> None:
    started = time.monotonic()
    result = CliRunner().invoke(main, ["exporter", "--plan", str(PLANS / "hot-standby.toml")])
    assert result.exit_code == 2 and "hot standby" in result.output
    assert time.monotonic() - started < 10
