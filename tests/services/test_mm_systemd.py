"""The systemd branch of the MirrorMaker manager (nodes with systemd: HDInsight edge nodes).

No machine here runs systemd as PID 1, so this drives the manager with a scripted session and checks
the commands it sends; the setsid branch is proven for real against sshd in tests/integration.
"""

from __future__ import annotations

from typing import Any

from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.plan_files import load_plan
from tests.domain.test_plan import GOOD


class ScriptedNode:
    """Answers the manager's probes like an HDInsight edge node where the user is root."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.uploads: dict[str, str] = {}
        self.running = False
        self.state = "connected"

    async def run(self, command: str, **_: Any) -> Any:
        self.commands.append(command)
        out = ""
        if command.startswith('printf %s "$HOME"'):
            out = "/home/sshuser"
        elif "command -v java" in command:
            out = 'java=openjdk version "17.0.9"\nlibs=1\nmm2=1\ncore=1\n'
        elif "/run/systemd/system" in command:
            out = "root\n"
        elif command.startswith("d="):
            out = (
                "deployed=1\nmm.pid=4242\nstarted_at=100\nalive=1\nnow=160\n---log---\n"
                if self.running
                else "deployed=1\n"
            )
        elif "systemctl start" in command:
            self.running = True
        elif "systemctl stop" in command:
            self.running = False
        elif command.startswith("kill -0"):
            out = "alive" if self.running else ""
        return type("Result", (), {"stdout": out, "exit_status": 0})()

    async def upload(self, data: str, path: str, **_: Any) -> None:
        self.uploads[path] = data

    async def read_file(self, path: str) -> str | None:
        return self.uploads.get(path)

    async def close(self) -> None:
        pass


async def test_start_and_stop_go_through_a_systemd_unit() -> None:
    plan = load_plan(GOOD)
    node = ScriptedNode()
    manager = MirrorMakerManager(plan, session_factory=lambda _n: node)  # type: ignore[arg-type,return-value]
    (edge,) = manager.nodes()
    (dep,) = await manager.deployments(edge)
    status = await manager.start(dep)
    assert status.pid == 4242
    unit = "kdrtui-mm-mm2-dr.service"
    assert f"{dep.run_dir}/{unit}" in node.uploads
    assert "User=sshuser" in node.uploads[f"{dep.run_dir}/{unit}"]
    (launch,) = [c for c in node.commands if "systemctl start" in c]
    assert f"install -m 0644 {dep.run_dir}/{unit} /etc/systemd/system/{unit}" in launch
    assert "systemctl daemon-reload" in launch and "setsid" not in launch

    await manager.stop(dep)
    assert any(f"systemctl stop {unit}" in c for c in node.commands)
