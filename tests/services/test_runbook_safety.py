"""The plan's operation lock, the DR state's validation and its rebuild from the journals. No Kafka: real
files, real flock, real processes (a holder that dies)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kdrtui.domain.plan import Plan
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.lock import LockHolder, PlanLock, PlanLocked
from kdrtui.services.runbook.rebuild import derive_state
from kdrtui.services.runbook.store import DrState, RunbookStore, StateInvalid, parse_state
from tests.samples import GOOD

CLUSTERS = ("primary", "dr")


# --- the lock -------------------------------------------------------------------------------------


def test_a_second_holder_is_refused_at_once_with_who_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("SSH_CLIENT", "10.0.0.5 52144 22")
    first, second = PlanLock(tmp_path, "orders-dr"), PlanLock(tmp_path, "orders-dr")
    first.acquire("failover")
    try:
        started = time.monotonic()
        with pytest.raises(PlanLocked) as refused:
            second.acquire("provision")
        assert time.monotonic() - started < 0.5, "refused at once, not queued"
        holder = refused.value.holder
        assert holder is not None
        assert (holder.pid, holder.user, holder.ssh_client, holder.operation) == (
            os.getpid(),
            "alice",
            "10.0.0.5 52144 22",
            "failover",
        )
        message = str(refused.value)
        assert "provision refused" in message and "failover by alice" in message
        assert f"pid {os.getpid()}" in message and "from 10.0.0.5 52144 22" in message and "since" in message
        assert second.holder() == holder, "a look says who holds it, without taking it"
    finally:
        first.release()
    assert second.holder() is None
    with second.held_for("provision"):
        assert second.held
    assert not second.held and second.holder() is None


def test_the_kernel_releases_the_lock_of_a_process_that_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from kdrtui.services.runbook.lock import PlanLock\n"
            f"lock = PlanLock(Path({str(tmp_path)!r}), 'p')\n"
            "lock.acquire('failover')\n"
            "print('held', flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        lock = PlanLock(tmp_path, "p")
        with pytest.raises(PlanLocked) as refused:
            lock.acquire("failback")
        assert refused.value.holder is not None and refused.value.holder.pid == holder.pid
    finally:
        holder.kill()
        holder.wait(10)
    lock.acquire("failback")  # SIGKILLed: no clean-up ran, the kernel let go
    assert lock.holder() is not None and lock.holder().operation == "failback"  # type: ignore[union-attr]
    lock.release()


def test_a_lock_file_that_says_nothing_useful_still_refuses(tmp_path: Path) -> None:
    assert LockHolder.parse("") is None
    assert LockHolder.parse("[1, 2]") is None
    odd = LockHolder.parse('{"pid": "x", "since": true, "operation": 7}')
    assert odd is not None and odd.pid is None and odd.since is None and odd.operation == "7"


# --- the DR state ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x00\xff\x13garbage", "not JSON"),
        ("[1, 2]", "must be a JSON object, not list"),
        ('{"active": 7}', "active: must be a cluster alias (a string), not 7"),
        ('{"active": "nowhere"}', "active: unknown cluster 'nowhere'; the plan's clusters are: dr, primary"),
        ('{"active": "dr", "since": "yesterday"}', "since: must be a time"),
        ('{"active": "dr", "operation": "shrug"}', "operation: must be one of failover, failback"),
        ('{"active": "dr", "fenced": []}', "fenced: must be an object"),
        ('{"active": "dr", "fenced": {"mars": {}}}', "fenced.mars: unknown cluster 'mars'"),
        ('{"active": "dr", "fenced": {"primary": {"method": "x", "topics": {}}}}', "fenced.primary.method"),
        ('{"active": "dr", "fenced": {"primary": {"method": "acls", "topics": {"t": "1"}}}}', "topics: must"),
        ('{"active": "dr", "surprise": 1}', "surprise: unknown key"),
        ('{"active": "dr\\u001b[2J"}', "unknown cluster 'dr\\x1b[2J'"),
    ],
)
def test_a_bad_state_is_named_field_by_field(text: str, expected: str) -> None:
    with pytest.raises(StateInvalid) as bad:
        parse_state(text, CLUSTERS)
    assert expected in str(bad.value), str(bad.value)
    assert "state.json: " in str(bad.value)
    assert "\x1b" not in str(bad.value) and "\n" not in str(bad.value)


def test_random_bytes_never_give_anything_but_state_invalid() -> None:
    rng = random.Random(12)
    good = json.dumps(DrState(active="dr", fenced={"primary": {"method": "acls", "topics": {}}}).to_dict())
    for _ in range(3000):
        raw = bytearray(good.encode())
        for _ in range(rng.randint(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        text = raw.decode("utf-8", errors="replace")
        try:
            state = parse_state(text, CLUSTERS)
        except StateInvalid:
            continue
        assert state.active in CLUSTERS


def test_a_bad_state_file_is_not_read_as_the_default(tmp_path: Path) -> None:
    store = RunbookStore("p", None, tmp_path)
    store.dir.mkdir(parents=True)
    store.state_path.write_bytes(os.urandom(64))
    with pytest.raises(StateInvalid) as bad:
        store.load_state("primary", CLUSTERS)
    assert str(store.state_path) in str(bad.value) and "kdrtui state rebuild" in bad.value.repair


# --- rebuilt from the journals ----------------------------------------------------------------------


def lab_like_plan() -> Plan:
    return load_plan(GOOD)


def test_the_newest_journaled_state_wins_even_when_state_json_was_never_written(tmp_path: Path) -> None:
    plan = lab_like_plan()
    store = RunbookStore(plan.plan.name, None, tmp_path)
    primary, secondary = plan.primary_alias, plan.secondary_alias
    journal = store.new_journal("failover", clock=lambda: 1000.0)
    journal.write("run-start", operation="failover", options={"source": primary, "target": secondary})
    fenced = DrState(active=primary, fenced={primary: {"method": "reject-writes", "topics": {"t": 4096}}})
    journal.write("step-note", step="fence", state=fenced.to_dict())
    switched = DrState(
        active=secondary, since=1001.0, operation="failover", fenced=fenced.fenced, run=journal.run_id
    )
    journal.write("step-note", step="switch-clients", state=switched.to_dict())
    # killed here: state.json never got the switch

    derived = derive_state(plan, store)

    assert derived.state == switched
    assert "switch-clients" in derived.source and not derived.warnings


def test_no_journal_gives_the_default(tmp_path: Path) -> None:
    plan = lab_like_plan()
    derived = derive_state(plan, RunbookStore(plan.plan.name, None, tmp_path))
    assert derived.state == DrState(active=plan.primary_alias)


def test_an_older_journal_is_read_by_its_steps(tmp_path: Path) -> None:
    plan = lab_like_plan()
    store = RunbookStore(plan.plan.name, None, tmp_path)
    journal = store.new_journal("failover", clock=lambda: 1000.0)
    journal.write("run-start", operation="failover", options={})
    journal.write("step-end", step="fence", status="done", facts={"topics": ["orders"]})
    journal.write("step-end", step="switch-clients", status="done", facts={"switched_at": 1002.0})

    derived = derive_state(plan, store)

    assert derived.state.active == plan.secondary_alias and derived.state.operation == "failover"
    assert derived.state.fenced[plan.primary_alias]["topics"] == {"orders": None}
    assert derived.warnings and "older journal" in derived.warnings[0]
