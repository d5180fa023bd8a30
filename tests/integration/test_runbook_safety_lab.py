"""Runbooks that cannot hurt, on the lab: real brokers, real MirrorMaker 2 over real SSH, real processes.

- one operation per plan: two failovers started together, one runs, the other is refused (exit 2, who holds
  it); read-only commands never wait on the lock;
- a run killed at every step boundary and resumed ends where an uninterrupted run ends (fences,
  MirrorMaker, groups, state.json), for failover and failback;
- pre-flight says NO-GO for what a later step cannot reach (an edge node whose host key changed);
- dry runs with a cluster down report what they could not read;
- a corrupt DR state stops state-changing commands, shows as unreadable, and is rebuilt from the journals.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from kdrtui.domain.plan import Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka import fence, translate
from kdrtui.services.mirrormaker.manager import MirrorMakerManager
from kdrtui.services.plan_files import load_plan, save_plan
from kdrtui.services.runbook.failover import FAILBACK, FAILOVER, forward_of
from kdrtui.services.runbook.flows import with_reverse
from kdrtui.services.runbook.lock import PlanLock
from kdrtui.services.runbook.operate import Operation
from kdrtui.services.runbook.store import RunbookStore
from tests.kafka_helpers import consume_and_commit, create_topic, produce_numbered, wait_for_checkpoint
from tests.lab_helpers import KDRTUI, cli, dr_plan, mirrormaker, run_kdrtui

pytestmark = pytest.mark.lab

STEPS = [
    "preflight",
    "fence",
    "drain",
    "stop-mirrormaker",
    "translate-offsets",
    "switch-clients",
    "replication",
    "report",
]


async def mm_snapshot(plan: Plan) -> dict[str, str]:
    """node/deployment -> running/stopped, for the deployments of both directions."""
    manager = MirrorMakerManager(with_reverse(plan, forward_of(plan)))
    try:
        found = {}
        for dep in await manager.select():
            state = str((await manager.status(dep, with_drift=False)).state)
            found[f"{dep.node.name}/{dep.name}"] = "running" if state == "running" else "stopped"
        return found
    finally:
        await manager.close()


def topic_exists(bootstrap: str, topic: str) -> bool:
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config

    return topic in AdminClient(client_config(bootstrap)).list_topics(timeout=10).topics


def state_snapshot(store: RunbookStore) -> dict[str, Any]:
    """state.json without the fields that name a time or a run."""
    raw = json.loads(store.state_path.read_text())
    return {k: v for k, v in raw.items() if k not in ("since", "run")}


async def end_state(lab: Lab, plan: Plan, store: RunbookStore, topic: str, group: str) -> dict[str, Any]:
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    groups_dr = translate.committed_offsets(dr, [group], 10).get(group, {})
    groups_primary = translate.committed_offsets(primary, [group], 10).get(group, {})
    return {
        "state": state_snapshot(store),
        "fence primary": fence.read_max_bytes(primary, [topic]),
        "fence dr": fence.read_max_bytes(dr, [topic]) if topic_exists(dr, topic) else None,
        "mirrormaker": await mm_snapshot(plan),
        "group on dr": {f"{t}:{p}": o for (t, p), o in sorted(groups_dr.items())},
        "group on primary": {f"{t}:{p}": o for (t, p), o in sorted(groups_primary.items())},
    }


# --- one operation per plan ---------------------------------------------------------------------------


async def test_two_failovers_started_together_one_runs_the_other_is_refused(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path, mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60)
    mirrormakers_stopped.append(plan)
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=2)
    produce_numbered(primary, unique_name, 50)
    await mirrormaker(plan, f"{PRIMARY}->{DR}", start=True)
    env = {
        **os.environ,
        "KDRTUI_STATE_DIR": str(state_dir),
        "USER": "oncall-a",
        "SSH_CLIENT": "10.9.8.7 5 22",
    }
    command = [KDRTUI, "failover", "--plan", str(path), "--yes", "--json"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=240) for p in (first, second)]
    codes = sorted((first.returncode, second.returncode))
    assert codes == [0, 2], outputs
    (refused_err,) = [
        err for p, (_out, err) in zip((first, second), outputs, strict=True) if p.returncode == 2
    ]
    winner = first if first.returncode == 0 else second
    assert "busy with failover by oncall-a" in refused_err, refused_err
    assert (
        f"pid {winner.pid}" in refused_err and "from 10.9.8.7 5 22" in refused_err and "since" in refused_err
    )
    assert "Traceback" not in refused_err

    store = RunbookStore(plan.plan.name, path, state_dir)
    assert len(store.journals()) == 1, "the refused run wrote no journal"
    audit = [json.loads(line) for line in (state_dir / "audit.log").read_text().splitlines()]
    assert [a["outcome"] for a in audit] == ["started", "completed"], audit
    assert store.load_state(PRIMARY).active == DR


def test_while_an_operation_holds_the_plan_changes_are_refused_and_reads_go_on(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name)
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=1)
    holder = PlanLock(RunbookStore(plan.plan.name, path).dir, plan.plan.name)
    holder.acquire("failover")
    try:
        for command in (["mm", "stop"], ["mm", "start"], ["failover", "--yes"], ["failback", "--yes"]):
            started = time.monotonic()
            refused = cli(*command, "--plan", str(path))
            assert refused.exit_code == 2, (command, refused.output)
            assert "busy with failover" in refused.stderr and f"pid {os.getpid()}" in refused.stderr
            assert time.monotonic() - started < 10, f"{command} was refused at once, not queued"
        for command in (["mm", "status"], ["failover", "--dry-run"], ["state", "show"]):
            read = cli(*command, "--plan", str(path))
            assert read.exit_code in (0, 1), (command, read.output)
            assert "busy" not in read.output
    finally:
        holder.release()
    assert RunbookStore(plan.plan.name, path).journals() == [], "nothing ran"


# --- resumes that never re-apply an undone effect ---------------------------------------------------


@pytest.mark.timeout(900)
async def test_a_run_killed_at_every_step_boundary_resumes_to_the_uninterrupted_end_state(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path, mirrormakers_stopped: list[Plan]
) -> None:
    # No reverse replication: each cycle stops one MirrorMaker, not two (the suite's time); failback's
    # replication step still takes every fence down and starts the original direction again.
    plan, path = dr_plan(
        lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60, reverse_replication=False
    )
    mirrormakers_stopped.append(plan)
    primary = lab.bootstrap(PRIMARY)
    topic, group = unique_name, f"{unique_name}-app"
    create_topic(primary, topic, partitions=2)
    produce_numbered(primary, topic, 120)
    read = consume_and_commit(primary, group, topic, 50)
    await mirrormaker(plan, f"{PRIMARY}->{DR}", start=True)
    wait_for_checkpoint(lab.bootstrap(DR), group, topic, {p: len(v) for p, v in read.items()})
    store = RunbookStore(plan.plan.name, path, state_dir)
    env = {**os.environ, "KDRTUI_STATE_DIR": str(state_dir)}

    def run(operation: str, crash_after: str | None = None) -> None:
        if crash_after is None:
            done = run_kdrtui(operation, "--plan", str(path), "--yes", env=env)
            assert done.returncode == 0, done.stdout + done.stderr
            return
        killed = run_kdrtui(
            operation, "--plan", str(path), "--yes", env={**env, "KDRTUI_CRASH_AFTER_STEP": crash_after}
        )
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        cut = store.journals()[-1].state()
        assert cut.ended is None and str(cut.steps[crash_after].status) in ("done", "skipped")
        if crash_after == "preflight":
            # Nothing was changed yet: nothing to resume, and a fresh run is not refused.
            nothing = run_kdrtui(operation, "--plan", str(path), "--resume", "--yes", env=env)
            assert nothing.returncode == 2 and "nothing to resume" in nothing.stderr
            run(operation)
            return
        resumed = run_kdrtui(operation, "--plan", str(path), "--resume", "--yes", "--json", env=env)
        assert resumed.returncode == 0, (
            f"{operation} resumed after {crash_after}: {resumed.stdout}{resumed.stderr}"
        )
        steps = {s["step"]: s for s in json.loads(resumed.stdout)["steps"]}
        for key in STEPS[: STEPS.index(crash_after) + 1]:
            assert steps[key]["status"] == "verified", (crash_after, key, steps[key])
            assert steps[key]["runs"] == 1, f"{key} was not run again after a crash past {crash_after}"
            took = cut.steps[key].seconds
            assert took is not None and steps[key]["seconds"] == round(took, 3), (
                f"{key} reports its own duration, not the time from its run to the resume"
            )

    run(FAILOVER)
    after_failover = await end_state(lab, plan, store, topic, group)
    run(FAILBACK)
    after_failback = await end_state(lab, plan, store, topic, group)
    assert after_failover["fence primary"] == {topic: 1} and after_failback["fence primary"] == {topic: None}
    assert after_failback["fence dr"] in (None, {topic: None})
    assert after_failover["state"]["active"] == DR and after_failback["state"]["active"] == PRIMARY

    for step in STEPS:
        run(FAILOVER, crash_after=step)
        assert await end_state(lab, plan, store, topic, group) == after_failover, f"failover cut after {step}"
        run(FAILBACK, crash_after=step)
        assert await end_state(lab, plan, store, topic, group) == after_failback, f"failback cut after {step}"


# --- pre-flight refuses what it cannot finish ----------------------------------------------------------


async def forecast(op: Operation) -> tuple[bool, list[str]]:
    try:
        return await op.forecast()
    finally:
        await op.close()


def test_an_edge_node_whose_host_key_changed_is_a_no_go_that_force_may_accept(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path
) -> None:
    import asyncssh

    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes")
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=1)
    produce_numbered(lab.bootstrap(PRIMARY), unique_name, 10)
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    (node,) = plan.edge_nodes
    known = tmp_path / "known_hosts"
    known.write_text(f"[{node.host}]:{node.port} {impostor}\n")
    changed = plan.model_copy(update={"edge_nodes": [node.model_copy(update={"known_hosts": str(known)})]})
    save_plan(Plan.model_validate(changed.model_dump()), path)
    plan = load_plan(path)

    go, lines = asyncio.run(forecast(Operation(plan, path, FAILOVER)))
    assert not go, lines
    verdict = lines[-1]
    assert (
        verdict.startswith("NO-GO") and "state unreadable" in verdict and "step stop-mirrormaker" in verdict
    )
    assert "changed" in verdict.lower() or "host key" in verdict.lower(), verdict

    refused = cli("failover", "--plan", str(path), "--yes")
    assert refused.exit_code == 1 and "NO-GO" in refused.output
    assert fence.read_max_bytes(lab.bootstrap(PRIMARY), [unique_name]) == {unique_name: None}, (
        "nothing fenced"
    )

    go, lines = asyncio.run(forecast(Operation(plan, path, FAILOVER, force=True)))
    assert go and any(line.startswith("accepted with --force: MirrorMaker") for line in lines), lines


# --- dry runs never crash ----------------------------------------------------------------------------


def test_dry_runs_with_a_cluster_down_say_what_they_could_not_read(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path
) -> None:
    _plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes")
    create_topic(lab.bootstrap(PRIMARY), unique_name, partitions=1)
    for down, operation in ((DR, FAILOVER), (PRIMARY, FAILBACK)):
        lab.kill(down)
        try:
            result = cli(operation, "--plan", str(path), "--dry-run")
        finally:
            lab.up()
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        assert result.stdout.splitlines()[-1] == "dry run: nothing was changed"
        assert "cannot tell" in result.stdout or "UNREACHABLE" in result.stdout, result.stdout
        numbered = [line for line in result.stdout.splitlines() if line.startswith("[")]
        assert len(numbered) == len(STEPS), result.stdout


# --- a corrupt DR state is said, never guessed -------------------------------------------------------


def test_a_corrupt_state_stops_changes_shows_unreadable_and_is_rebuilt_from_the_journals(
    lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path, mirrormakers_stopped: list[Plan]
) -> None:
    plan, path = dr_plan(lab, tmp_path, unique_name, fence="reject-writes", drain_timeout_seconds=60)
    mirrormakers_stopped.append(plan)
    primary = lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=1)
    produce_numbered(primary, unique_name, 20)
    asyncio.run(mirrormaker(plan, f"{PRIMARY}->{DR}", start=True))
    result = asyncio.run(Operation(plan, path, FAILOVER).run())
    assert result.outcome == "completed", result.error
    store = RunbookStore(plan.plan.name, path)
    good = json.loads(store.state_path.read_text())
    assert good["active"] == DR and PRIMARY in good["fenced"]

    for corrupt in (os.urandom(40), b"[1, 2, 3]", b'{"active": 42}', b'{"active": "atlantis"}'):
        store.state_path.write_bytes(corrupt)
        refused = cli("failback", "--plan", str(path), "--yes")
        assert refused.exit_code == 2, refused.output
        assert "state.json: " in refused.stderr and "kdrtui state rebuild" in refused.stderr
        assert "Traceback" not in refused.output
        shown = cli("state", "show", "--plan", str(path))
        assert shown.exit_code == 1 and "DR state unreadable" in shown.stderr
    status = cli("status", "--plan", str(path), "--json")
    assert status.exit_code == 2
    body = json.loads(status.stdout.splitlines()[-1])
    assert body["active"] is None and "DR state unreadable" in body["dr_state_error"]
    assert cli("mm", "stop", "--plan", str(path)).exit_code == 2

    dry = cli("state", "rebuild", "--plan", str(path), "--dry-run")
    assert dry.exit_code == 0 and "active: dr" in dry.stdout and "dry run" in dry.stdout
    assert store.state_path.read_bytes() == b'{"active": "atlantis"}', "a dry run writes nothing"
    rebuilt = cli("state", "rebuild", "--plan", str(path))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert json.loads(store.state_path.read_text()) == good, "the journals give back exactly what was lost"

    back = asyncio.run(Operation(plan, path, FAILBACK).run())
    assert back.outcome == "completed", back.error
    assert fence.read_max_bytes(primary, [unique_name]) == {unique_name: None}
