"""The systemd branch of the MirrorMaker manager (nodes with systemd: HDInsight edge nodes).

No machine here runs systemd as PID 1, so this drives the manager with a scripted session and checks
the commands it sends; the setsid branch is proven for real against sshd in tests/integration.
"""

from __future__ import annotations

from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.plan_files import load_plan
from tests.samples import GOOD
from tests.services.fakes import ScriptedNode


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
