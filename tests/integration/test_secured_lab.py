"""kdrtui against the secured labs: ``status`` over SASL_SSL and over mutual TLS, each way of getting a
secured cluster wrong said in one line with the documented exit code, what the ACLs refuse named; last,
no password anywhere.

Each wrong plan is wrong in two ways at once, one per cluster (primary a wrong password, dr a CA that did
not sign the brokers' certificates; primary PLAINTEXT, dr a password whose variable is unset), and the
``kdrtui`` commands of a test run at the same time: the test takes as long as its slowest command.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.fence import FenceError, read_max_bytes
from kdrtui.services.kafka.mm2_status import Mm2StatusError, flow_task_states
from kdrtui.services.kafka.translate import commit_offsets
from kdrtui.services.plan_files import load_plan
from tests.kafka_helpers import create_topic, produce_numbered
from tests.lab_helpers import KDRTUI
from tests.secret_scan import lab_files, lab_passwords, leaks, tree
from tests.secured_plans import wrong_plan, wrong_plans

pytestmark = pytest.mark.lab

WRONG_PASSWORDS: list[str] = []
"""The wrong passwords the wrong plans named: they must not turn up anywhere either."""
OUTPUTS: list[str] = []
"""What every ``kdrtui`` of this module printed (stdout and stderr), for the last test."""
STATE_DIRS: list[Path] = []
"""The per-test state directories (journals, audit log) of this module, for the last test."""
TRANSPORT = "(cannot list topics: Failed to get metadata: Local: Broker transport failure)"


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``kdrtui ...`` as a process of its own, started now (several run at once)."""
    return subprocess.Popen(
        [KDRTUI, *args],
        env=env or dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a started ``kdrtui``; both outputs kept for the secrets check."""
    out, err = process.communicate(timeout=timeout)
    OUTPUTS.extend([out, err])
    assert "Traceback" not in out + err, out + err
    return process.returncode, out, err


def expected_exit(body: dict[str, Any]) -> int:
    """What the README documents for ``status``: 0 OK (or IDLE), 1 WARN, 2 anything worse."""
    return {"OK": 0, "IDLE": 0, "WARN": 1}.get(body["health"], 2)


def topic_of(body: dict[str, Any], topic: str) -> dict[str, Any]:
    """``topic``'s row of the first flow of a ``status --json`` body."""
    rows = [t for t in body["flows"][0]["topics"] if t["topic"] == topic]
    assert rows, f"{topic} not in {[t['topic'] for t in body['flows'][0]['topics']]}"
    return rows[0]


def status_json_works(lab: Lab, topic: str, records: int) -> None:
    """``kdrtui status --json`` on ``lab``'s own plan: both clusters answer, ``topic``'s numbers are there."""
    load_plan(lab.plan_path)  # this process's clients connect to the lab as its plan says
    create_topic(lab.bootstrap(PRIMARY), topic, partitions=2)
    produce_numbered(lab.bootstrap(PRIMARY), topic, records)
    code, out, err = finish(start("status", "--json", "--plan", str(lab.plan_path)))
    body = json.loads(out)
    assert body["unreachable"] == {} and body["errors"] == {}, body["errors"]
    assert body["flows"][0]["error"] is None
    row = topic_of(body, topic)
    assert sum(p["source_end"] for p in row["partitions"]) == records
    assert 0 <= row["lag_records"] <= records
    assert code == expected_exit(body), (code, body["health"], err)


def test_status_json_over_sasl_ssl(secured_lab: Lab, unique_name: str) -> None:
    status_json_works(secured_lab, unique_name, 40)


def test_status_json_over_mutual_tls(mtls_lab: Lab, unique_name: str) -> None:
    status_json_works(mtls_lab, unique_name, 25)


def test_each_wrong_security_setting_is_one_line_and_exit_code_2(
    secured_lab: Lab, tmp_path: Path, state_dir: Path
) -> None:
    STATE_DIRS.append(state_dir)
    wrong = wrong_plans(secured_lab, tmp_path)
    WRONG_PASSWORDS.append(wrong.wrong_password)
    env = {k: v for k, v in os.environ.items() if k != wrong.unset}
    runs = {
        (plan, shape): start("status", *(["--json"] if shape == "json" else []), "--plan", str(plan), env=env)
        for plan in (wrong.credentials, wrong.protocol)
        for shape in ("text", "json")
    }
    # The failover's pre-flight says the same, and refuses (exit 1, nothing changed).
    failover = start("failover", "--plan", str(wrong.credentials), "--yes", env=env)
    for (plan, shape), process in runs.items():
        code, out, err = finish(process)
        assert code == 2, (plan.name, shape, code, out, err)
        # A connection that failed goes on with what failed; an unreadable password is all there is to say.
        said = {
            alias: wrong.reasons[(plan, alias)]
            + ("" if alias == wrong.unset_alias(plan) else f" {TRANSPORT}")
            for alias in (PRIMARY, DR)
        }
        if shape == "json":
            errors = json.loads(out)["errors"]
            assert errors == {alias: f"{alias}: {reason}" for alias, reason in said.items()}, errors
            continue
        for alias, reason in said.items():
            lines = [line for line in out.splitlines() if wrong.reasons[(plan, alias)] in line]
            assert lines == [f"! {alias} unreachable: {reason}"], out
        assert "error:" not in out, "the flow does not repeat its clusters' lines"
    code, out, err = finish(failover)
    assert code == 1, (code, out, err)
    reason = wrong.reasons[(wrong.credentials, DR)]
    assert (
        f"NO-GO: dr is unreachable: {reason} (Failed to get metadata: Local: Broker transport failure)" in out
    )


def test_what_the_acls_refuse_is_named(secured_lab: Lab, unique_name: str, tmp_path: Path) -> None:
    """As the lab's ``app`` user, denied everything on one topic and one group: each read says what was
    refused, in one line naming the cluster."""
    load_plan(secured_lab.plan_path)
    dr = secured_lab.bootstrap(DR)
    status_topic = f"mm2-status.{unique_name}.internal"
    deny = (ResourcePatternType.LITERAL, "User:app", "*", AclOperation.ALL, AclPermissionType.DENY)
    rules = [(ResourceType.TOPIC, status_topic, *deny), (ResourceType.GROUP, unique_name, *deny)]
    denied = [AclBinding(*args) for args in rules]
    admin = AdminClient(client_config(dr))
    for future in admin.create_acls(denied, request_timeout=15).values():
        future.result(timeout=20)
    as_app = wrong_plan(
        secured_lab,
        tmp_path / "app.toml",
        lambda s: s,
        lambda s: s.model_copy(
            update={"username": "app", "password_file": str(secured_lab.home / "security" / "app.password")}
        ),
    )
    try:
        load_plan(as_app)
        with pytest.raises(Mm2StatusError) as status:
            flow_task_states(dr, unique_name, timeout=10)
        assert str(status.value) == f"dr: topic {status_topic}: not authorized (DESCRIBE)"
        with pytest.raises(FenceError) as configs:
            read_max_bytes(dr, [status_topic], timeout=10)
        assert str(configs.value) == f"dr: topic {status_topic}: not authorized (DESCRIBE_CONFIGS)"
        refused = commit_offsets(dr, unique_name, {(status_topic, 0): 1}, timeout=10)
        assert set(refused.values()) == {f"group {unique_name}: not authorized"}, refused
    finally:
        load_plan(secured_lab.plan_path)
        filters = [AclBindingFilter(*args) for args in rules]
        for future in admin.delete_acls(filters, request_timeout=15).values():
            future.result(timeout=20)


def test_no_password_in_logs_journals_state_or_output(secured_lab: Lab) -> None:
    """Last: the lab's passwords and the wrong one appear nowhere but where they are kept."""
    passwords = [*lab_passwords(secured_lab), *WRONG_PASSWORDS]
    assert len(passwords) == 4, "admin, app, mirrormaker and the wrong one"
    files = lab_files(secured_lab) + tree(Path(os.environ["KDRTUI_STATE_DIR"]))
    for state in STATE_DIRS:
        files += tree(state)
    assert any(p.name == "server.log" for p in files) and any(p.name == "audit.log" for p in files)
    if not OUTPUTS:
        pytest.skip("checks what the module's other tests left behind: run the whole module")
    assert leaks(passwords, files, OUTPUTS) == []
