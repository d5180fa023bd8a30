"""The lab for tests: plans made from the lab's plan, MirrorMaker started and stopped on its edge node, the
``kdrtui`` command run in-process or as a process, and what the lab's processes run with."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from kdrtui.cli import main
from kdrtui.domain.plan import FailoverSettings, Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.plan_files import load_plan, save_plan
from kdrtui.services.runbook.failover import forward_of
from kdrtui.services.runbook.flows import with_reverse

KDRTUI = str(Path(sys.executable).parent / "kdrtui")
"""The ``kdrtui`` console script of this environment."""


def cli(*args: str, input: str | None = None) -> Result:
    """``kdrtui ...`` as a user runs it, in this process (stdout and stderr captured apart)."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def mm(*args: str) -> Result:
    """``kdrtui mm ...`` as a user runs it (output captured)."""
    return cli("mm", *args)


def run_kdrtui(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``kdrtui ...`` as a process of its own (a lock, a signal, an exit code are the process's)."""
    return subprocess.run([KDRTUI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def lab_plan_variant(
    lab: Lab,
    tmp_path: Path,
    file: str = "plan.toml",
    *,
    flow: Mapping[str, object] | None = None,
    **plan: Any,
) -> Path:
    """The lab plan with its flow changed by ``flow``, ``plan``'s sections replaced, and a MirrorMaker work
    dir of its own (``tmp_path/work``), saved as ``tmp_path/file``."""
    base = load_plan(lab.plan_path)
    flows = [base.flows[0].model_copy(update=dict(flow or {}))]
    nodes = [n.model_copy(update={"work_dir": str(tmp_path / "work")}) for n in base.edge_nodes]
    changed = base.model_copy(update={"flows": flows, "edge_nodes": nodes, **plan})
    path = tmp_path / file
    save_plan(Plan.model_validate(changed.model_dump()), path)
    return path


def dr_plan(lab: Lab, tmp_path: Path, name: str, **failover: Any) -> tuple[Plan, Path]:
    """The lab plan narrowed to ``name``'s topics and groups, with its own work dir and failover settings."""
    pattern = re.escape(name) + ".*"
    path = lab_plan_variant(
        lab, tmp_path, flow={"topics": [pattern], "groups": [pattern]}, failover=FailoverSettings(**failover)
    )
    return load_plan(path), path


def hot_standby_plan(lab: Lab, tmp_path: Path, *, dr_bootstrap: str | None = None) -> Path:
    """A hot-standby plan over the lab's clusters (or ``dr_bootstrap`` for dr), written to ``tmp_path``."""
    lab_plan = load_plan(lab.plan_path)
    primary, dr = lab_plan.cluster(PRIMARY), lab_plan.cluster(DR)
    path = tmp_path / "hot.toml"
    path.write_text(
        f"""\
[plan]
name = "hot-lab-{tmp_path.name[-20:]}"
topology = "hot-standby"
primary = "{PRIMARY}"
secondary = "{DR}"

[clusters.{PRIMARY}]
region = "{primary.region}"
bootstrap_servers = ["{lab.bootstrap(PRIMARY)}"]

[clusters.{DR}]
region = "{dr.region}"
bootstrap_servers = ["{dr_bootstrap or lab.bootstrap(DR)}"]

[objectives]
lag_warn_seconds = 30
lag_crit_seconds = 120
"""
    )
    return path


async def mirrormaker(plan: Plan, flow: str, start: bool) -> None:
    """Start (or stop) the MirrorMaker deployments of ``flow`` (``"primary->dr"``)."""
    manager = MirrorMakerManager(plan)
    try:
        for dep in await manager.select(flow=flow):
            await (manager.start(dep) if start else manager.stop(dep))
    finally:
        await manager.close()


async def stop_both_directions(plan: Plan) -> None:
    """Stop every MirrorMaker deployment of ``plan``, the reverse direction's too (after a failover)."""
    manager = MirrorMakerManager(with_reverse(plan, forward_of(plan)))
    try:
        for dep in await manager.select():
            await manager.stop(dep)
    finally:
        await manager.close()


def mirrormaker_jvms(run_dir_part: str) -> list[int]:
    """Pids of MirrorMaker JVMs on this machine whose command line names ``run_dir_part``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not argv or not argv[0].endswith(b"java"):
            continue
        joined = b" ".join(argv)
        if b"MirrorMaker" in joined and run_dir_part.encode() in joined:
            pids.append(int(entry.name))
    return pids


def environ(pid: int) -> dict[str, str]:
    """The environment ``pid`` was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    return dict(entry.split("=", 1) for entry in raw.split("\0") if "=" in entry)
