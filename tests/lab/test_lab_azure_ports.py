"""`kdrtui lab up --azure --broker-base-port N --edge-base-port M`: the emulator's brokers and edge
nodes take ports from N and M (so two labs need not collide), a restarted emulator keeps them, and ports
that are out of range or already taken are refused with one line and exit 2 before anything starts.
The emulator itself is started without the caller's cluster login password in its environment."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kdrtui.commands.lab import lab_group
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.azure.plan import LOGIN_PASSWORD_ENV, edge_home
from tests.conftest import require_java, reserved_port
from tests.lab_helpers import environ

pytestmark = pytest.mark.lab

TEST_AZURE_PORT = 18943
TEST_PORT_BASE = 19992
TEST_EDGE_PORT_BASE = 12932


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A lab directory of the test's own; the emulator in it is stopped at the end."""
    monkeypatch.setenv("KDRTUI_LAB_DIR", str(tmp_path / "lab"))
    home = tmp_path / "lab" / "azure"
    try:
        yield home
    finally:
        if home.exists():
            AzureEmulator(home).down()


@pytest.fixture
def ports() -> Iterator[tuple[int, int, int]]:
    """Free (azure port, broker base, edge base), held for the test."""
    with (
        reserved_port(TEST_AZURE_PORT) as port,
        reserved_port(TEST_PORT_BASE) as base,
        reserved_port(TEST_EDGE_PORT_BASE) as edge,
    ):
        yield port, base, edge


def lab(*args: str) -> Result:
    return CliRunner().invoke(lab_group, list(args))


def refused(result: Result) -> str:
    """The one line of a refusal (exit 2), nothing started."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kdrtui lab: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_port_bases_are_used_and_kept_by_a_restarted_emulator(
    home: Path, ports: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_java()
    port, base, edge = ports
    monkeypatch.setenv(LOGIN_PASSWORD_ENV, "Kdr-caller-only-Lab9")
    up = lab(
        "up",
        "--azure",
        "--azure-port",
        str(port),
        "--broker-base-port",
        str(base),
        "--edge-base-port",
        str(edge),
    )
    assert up.exit_code == 0, up.output
    assert f"ports: brokers from {base} (+10 per cluster, controller +1), edge nodes from {edge}" in up.output
    emulator = AzureEmulator(home)
    health = emulator.call("GET", "/_emulator/health")
    assert (health["port"], health["port_base"], health["edge_port_base"]) == (port, base, edge)
    # The plan pins the edge node's host key at the port its application will get.
    assert f"[127.0.0.1]:{edge} " in (edge_home(home) / "known_hosts").read_text()
    # The emulator does not hold the caller's login password (nor would its brokers and edge nodes).
    seen = environ(health["pid"])
    assert "KDRTUI_LAB_DIR" in seen and LOGIN_PASSWORD_ENV not in seen

    down = lab("down")
    assert down.exit_code == 0, down.output
    again = lab("up", "--azure")
    assert again.exit_code == 0, again.output
    health = AzureEmulator(home).call("GET", "/_emulator/health")
    assert (health["port"], health["port_base"], health["edge_port_base"]) == (port, base, edge)
    saved = json.loads((home / "emulator.json").read_text())
    assert (saved["port_base"], saved["edge_port_base"]) == (base, edge)
    status = lab("status", "--json")
    azure = json.loads(status.output)["azure"]
    assert (azure["port_base"], azure["edge_port_base"]) == (base, edge)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        (
            "--broker-base-port",
            "65530",
            "--broker-base-port 65530: the clusters' brokers would use ports 65530-65543, outside 1024-65535",
        ),
        (
            "--edge-base-port",
            "80",
            "--edge-base-port 80: the edge nodes would use port 80, outside 1024-65535",
        ),
    ],
    ids=["brokers-above-65535", "edge-below-1024"],
)
def test_ports_out_of_range_are_refused(home: Path, option: str, value: str, expected: str) -> None:
    line = refused(lab("up", "--azure", option, value))
    assert line.startswith(f"kdrtui lab: {expected}")
    assert not (home / "emulator.json").exists()


def test_overlapping_port_ranges_are_refused(home: Path, ports: tuple[int, int, int]) -> None:
    port, base, _ = ports
    line = refused(
        lab(
            "up",
            "--azure",
            "--azure-port",
            str(port),
            "--broker-base-port",
            str(base),
            "--edge-base-port",
            str(base + 11),
        )
    )
    assert f"port {base + 11} would serve both the clusters' brokers and the edge nodes" in line


@pytest.mark.parametrize("taken", ["broker", "edge"])
def test_ports_in_use_are_refused_before_anything_starts(
    home: Path, ports: tuple[int, int, int], taken: str
) -> None:
    port, base, edge = ports
    busy = base + 10 if taken == "broker" else edge  # dr's broker, or the edge node
    option = "--broker-base-port" if taken == "broker" else "--edge-base-port"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", busy))
        listener.listen()
        line = refused(
            lab(
                "up",
                "--azure",
                "--azure-port",
                str(port),
                "--broker-base-port",
                str(base),
                "--edge-base-port",
                str(edge),
            )
        )
    assert line.startswith(f"kdrtui lab: {option} ") and f"port {busy} on 127.0.0.1" in line
    assert "is already in use" in line
    assert AzureEmulator(home).running_pid() is None and not (home / "emulator.json").exists()


def test_port_bases_without_azure_are_refused(home: Path) -> None:
    result = lab("up", "--broker-base-port", "20000")
    assert result.exit_code == 2
    assert "--broker-base-port choose the Azure emulator's ports: add --azure" in result.output


def test_port_bases_do_not_change_under_existing_clusters(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "emulator.json").write_text(json.dumps({"port_base": TEST_PORT_BASE}))
    cluster = {"kind": "cluster", "name": "kdrlab-dr", "id": "/subscriptions/s/x/kdrlab-dr", "properties": {}}
    (home / "state.json").write_text(json.dumps({"resources": {cluster["id"]: cluster}}))
    moved = TEST_PORT_BASE + 1000
    line = refused(lab("up", "--azure", "--broker-base-port", str(moved)))
    assert (
        f"--broker-base-port {moved}: the emulator already runs kdrlab-dr on ports from {TEST_PORT_BASE}"
        in line
    )
    assert AzureEmulator(home).running_pid() is None
