"""Lab processes never inherit the caller's cluster login password (``KDRTUI_LAB_LOGIN_PASSWORD``):
what the lab starts outlives the command, and its environment is readable in ``/proc/<pid>/environ``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdrtui.lab import jars, process
from kdrtui.lab.azure.plan import LOGIN_PASSWORD_ENV
from kdrtui.lab.edge import SSHD, LabEdgeNode
from tests.conftest import TEST_EDGE_PORT, reserved_port
from tests.lab_helpers import environ

PASSWORD = "Kdr-not-for-children-Lab9"

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")


@pytest.fixture(autouse=True)
def caller_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller has the password exported (as `kdrtui provision --plan lab-azure` wants it)."""
    monkeypatch.setenv(LOGIN_PASSWORD_ENV, PASSWORD)
    monkeypatch.setenv("KDRTUI_TEST_INHERITED", "yes")


def test_the_login_password_is_the_lab_azure_plans() -> None:
    assert LOGIN_PASSWORD_ENV in process.WITHHELD_ENV


@pytest.mark.parametrize("explicit", [False, True], ids=["default-env", "explicit-env"])
def test_a_detached_lab_process_lacks_the_login_password(tmp_path: Path, explicit: bool) -> None:
    env = dict(os.environ) if explicit else None
    pid = process.spawn_detached(["sleep", "30"], log=tmp_path / "sleep.log", env=env)
    try:
        seen = environ(pid)
        assert seen.get("KDRTUI_TEST_INHERITED") == "yes"  # the rest is inherited
        assert LOGIN_PASSWORD_ENV not in seen
        assert PASSWORD not in Path(f"/proc/{pid}/environ").read_text(errors="replace")
    finally:
        process.kill(pid)


@pytest.mark.lab
@pytest.mark.parametrize("backend", ["asyncssh", "sshd"])
def test_a_lab_edge_node_lacks_the_login_password(tmp_path: Path, backend: str) -> None:
    if backend == "sshd" and not SSHD.exists():
        pytest.skip(f"{SSHD} not found: install openssh-server to test the sshd edge node backend")
    with reserved_port(TEST_EDGE_PORT) as port:
        node = LabEdgeNode(tmp_path / "edge", port=port, backend=backend, kafka_libs=jars.distribution().libs)
        pid = node.start()
        try:
            seen = environ(pid)
            if backend == "asyncssh":  # its shells get its environment (sshd clears its own)
                assert seen.get("KDRTUI_TEST_INHERITED") == "yes"
            assert LOGIN_PASSWORD_ENV not in seen
        finally:
            node.stop()
