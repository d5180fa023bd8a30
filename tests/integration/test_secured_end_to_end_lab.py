"""kdrtui end to end on the secured labs, as an operator drives it: ``kdrtui mm start`` mirrors what the lab's
``app`` user wrote, in order, over SASL_SSL and over mutual TLS, MirrorMaker connecting as its own
``mirrormaker`` user; ``kdrtui failover`` fences the primary with ACLs while ``app`` keeps writing with
acks=all and loses no acknowledged record; ``kdrtui failback`` gives ``app`` its writes back and leaves no
fence binding behind.

Each test has its own topics and groups (``unique_name``), MirrorMaker work dir and runbook state, and
leaves every MirrorMaker it started stopped and every fence binding it added deleted.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, Producer

from kdrtui.domain.acl_fence import AclRule, recorded_bindings
from kdrtui.domain.plan import MirrorMakerKind, Naming, Plan
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka import fence_acl, translate
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.store import RunbookStore
from tests.kafka_helpers import (
    Traffic,
    config_as,
    consume_and_commit,
    consume_partitions,
    create_topic,
    everything,
    flat,
    produce_numbered,
    wait_for_checkpoint,
)
from tests.lab_helpers import cli, lab_plan_variant, run_kdrtui, stop_both_directions

pytestmark = pytest.mark.lab

RECORDS = 10_000
"""Records each MirrorMaker 2 test mirrors."""


def secured_plan(lab: Lab, tmp_path: Path, name: str, **flow: object) -> tuple[Plan, Path]:
    """The secured lab's plan (its fence: acl) narrowed to ``name``'s topics and groups, with a MirrorMaker
    work dir of its own and ``flow``'s changes; loaded, so this process's clients connect as its admin."""
    pattern = re.escape(name) + ".*"
    path = lab_plan_variant(lab, tmp_path, flow={"topics": [pattern], "groups": [pattern], **flow})
    return load_plan(path), path


@pytest.fixture
def mirrormakers_stopped() -> Iterator[list[Plan]]:
    """Plans whose MirrorMaker deployments (both directions) are stopped after the test (the fixture of
    tests/integration/conftest.py without the plaintext lab it brings up)."""
    plans: list[Plan] = []
    yield plans
    for plan in plans:
        asyncio.run(stop_both_directions(plan))


def wait_for(read: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy value ``read`` returns, polled until ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (found := read()):
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.5)
    return found


def status_json(path: Path) -> tuple[int, dict[str, Any]]:
    """``kdrtui status --json``: its exit code and body."""
    result = cli("status", "--json", "--plan", str(path))
    return result.exit_code, json.loads(result.stdout)


def caught_up(path: Path, topic: str) -> tuple[int, dict[str, Any]] | None:
    """``status --json`` once ``topic``'s flow is 0 records behind (and the topic is in it), else None."""
    code, body = status_json(path)
    (flow,) = body["flows"]
    rows = [row for row in flow["topics"] if row["topic"] == topic]
    if flow["error"] is None and rows and rows[0]["lag_records"] == 0 and flow["lag_records"] == 0:
        return code, body
    return None


def secrets_file(tmp_path: Path, alias: str) -> str:
    """MirrorMaker's secrets for ``alias`` as deployed on the edge node (the one deployment's)."""
    (found,) = (tmp_path / "work").rglob(f"secrets/{alias}.properties")
    assert found.stat().st_mode & 0o777 == 0o600
    return found.read_text()


def mirror_in_order(lab: Lab, tmp_path: Path, name: str, mirrormaker: MirrorMakerKind, records: int) -> None:
    """``kdrtui mm start`` for ``name``'s topic; ``records`` written as ``app`` are on dr, each partition in
    order; ``mm status`` exits 0 and ``status --json`` sees the flow 0 records behind."""
    mm1 = mirrormaker is MirrorMakerKind.MM1
    flow: dict[str, object] = {"mirrormaker": mirrormaker, "naming": Naming.IDENTITY} if mm1 else {}
    _plan, path = secured_plan(lab, tmp_path, name, **flow)
    create_topic(lab.bootstrap(PRIMARY), name, partitions=3)
    sent = produce_numbered(
        lab.bootstrap(PRIMARY), name, records, security=lab.security.cluster_security("app")
    )
    started = time.monotonic()
    try:
        result = cli("mm", "start", "--plan", str(path))
        assert result.exit_code == 0, result.output
        assert "running (pid" in result.output, result.output
        got = consume_partitions(
            lab.bootstrap(DR),
            name if mm1 else f"{PRIMARY}.{name}",
            3,
            records,
            timeout=120,
            why=lambda: cli("mm", "status", "--plan", str(path)).output,
        )
        assert got == sent, "every record once, in its partition's order"
        mirrored_s = time.monotonic() - started
        status = cli("mm", "status", "--plan", str(path))
        assert status.exit_code == 0, status.output
        code, body = wait_for(lambda: caught_up(path, name), 60, f"status --json: {name} 0 records behind")
        assert body["unreachable"] == {} and body["errors"] == {}, body
        assert code == 0, (code, body["health"])
        print(f"\n{lab.security.mode} {mirrormaker}: {records:,} mirrored {mirrored_s:.1f} s after mm start")
    finally:
        stopped = cli("mm", "stop", "--plan", str(path))
    assert stopped.exit_code == 0, stopped.output


def test_mm2_over_sasl_ssl_mirrors_10000_records_of_app_in_order_as_the_mirrormaker_user(
    secured_lab: Lab, tmp_path: Path, unique_name: str
) -> None:
    lab = secured_lab
    mirror_in_order(lab, tmp_path, unique_name, MirrorMakerKind.MM2, RECORDS)
    # MirrorMaker logged in as its own user on both clusters, never as kdrtui's super user.
    properties = next((tmp_path / "work").rglob("mm2.properties")).read_text()
    for alias in (PRIMARY, DR):
        secrets = secrets_file(tmp_path, alias)
        assert 'username="mirrormaker"' in secrets
        assert lab.security.password("mirrormaker") in secrets
        assert lab.security.password("admin") not in secrets and "admin" not in secrets
        assert "${file:" in properties and f"secrets/{alias}.properties:sasl.jaas.config}}" in properties
    for user in ("admin", "app", "mirrormaker"):
        assert lab.security.password(user) not in properties


def test_mm2_over_mutual_tls_mirrors_10000_records_of_app_in_order(
    mtls_lab: Lab, tmp_path: Path, unique_name: str
) -> None:
    mirror_in_order(mtls_lab, tmp_path, unique_name, MirrorMakerKind.MM2, RECORDS)
    for alias in (PRIMARY, DR):
        assert "ssl.keystore.key" in secrets_file(tmp_path, alias)


def test_mm1_over_sasl_ssl_mirrors_1000_records_of_app_in_order_as_the_mirrormaker_user(
    secured_lab: Lab, tmp_path: Path, unique_name: str
) -> None:
    mirror_in_order(secured_lab, tmp_path, unique_name, MirrorMakerKind.MM1, 1_000)
    for alias in (PRIMARY, DR):
        assert secured_lab.security.password("mirrormaker") in secrets_file(tmp_path, alias)


# --- failover and failback with app writing ------------------------------------------------------------


def produce_one(config: dict[str, Any], topic: str) -> KafkaError | None:
    """Produce one record; the delivery error, None when it landed."""
    outcome: list[KafkaError | None] = []
    producer = Producer({**config, "message.timeout.ms": 15000})
    producer.produce(topic, value=b"canary", on_delivery=lambda err, _msg: outcome.append(err))
    assert producer.flush(30) == 0
    return outcome[0]


def authorization_failed(error: KafkaError | None) -> bool:
    """Whether ``error`` is the authorizer refusing a write (the ACL fence)."""
    return error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def fence_bindings(store: RunbookStore) -> dict[str, list[AclRule]]:
    """The bindings the fence steps of this plan's runs added (cluster alias -> rules): the failover's on
    primary, the failback's on dr, as their journals recorded them, and any the DR state still holds."""
    found: dict[str, set[AclRule]] = {}
    for journal in store.journals():
        run = journal.state()
        step = run.steps.get("fence")
        if step is not None and step.facts.get("bindings"):
            rules = {AclRule.from_dict(d) for d in step.facts["bindings"]}
            found.setdefault(PRIMARY if run.operation == "failover" else DR, set()).update(rules)
    for alias, record in store.load_state(PRIMARY).fenced.items():
        found.setdefault(alias, set()).update(recorded_bindings(record))
    return {alias: sorted(rules) for alias, rules in found.items()}


def left_on_clusters(lab: Lab, records: dict[str, list[AclRule]]) -> dict[str, list[AclRule]]:
    """Of the fences' bindings (alias -> rules), those still on each cluster."""
    left = {alias: fence_acl.present(lab.bootstrap(alias), rules) for alias, rules in records.items()}
    return {alias: rules for alias, rules in left.items() if rules}


def test_failover_fences_app_with_acls_and_loses_no_acked_record_then_failback_gives_writes_back(
    secured_lab: Lab, tmp_path: Path, unique_name: str, state_dir: Path, mirrormakers_stopped: list[Plan]
) -> None:
    lab = secured_lab
    plan, path = secured_plan(lab, tmp_path, unique_name)
    mirrormakers_stopped.append(plan)
    assert str(plan.failover.fence) == "acl"
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    topic, group, app = unique_name, f"{unique_name}-app", lab.security.cluster_security("app")
    store = RunbookStore(plan.plan.name, path, state_dir)
    fenced: dict[str, list[AclRule]] = {}
    create_topic(primary, topic, partitions=3)
    initial = produce_numbered(primary, topic, 600, security=app)
    before = consume_and_commit(primary, group, topic, 250, security=app)
    committed = {p: len(vs) for p, vs in before.items()}
    started = cli("mm", "start", "--plan", str(path))
    assert started.exit_code == 0, started.output
    traffic = Traffic(primary, topic, "live", security=app)
    traffic.start()
    try:
        try:
            wait_for_checkpoint(dr, group, topic, committed)
            wait_for(lambda: len(traffic.acked) >= 100, 30, "100 records of app acknowledged")
            over = run_kdrtui("failover", "--plan", str(path), "--yes", "--json", env=dict(os.environ))
        finally:
            traffic.stop()
            fenced = fence_bindings(store)  # whatever happened: taken down at the end
        assert over.returncode == 0, over.stdout + over.stderr
        result = json.loads(over.stdout)
        assert result["outcome"] == "completed", result
        assert traffic.acked, "app wrote nothing before the fence"
        # Refused by the authorizer from the fence on (a record of a busy machine may also time out).
        assert traffic.refused and authorization_failed(traffic.refused[-1]), traffic.refused[-3:]
        kinds = {e.code() for e in traffic.refused}
        assert kinds <= {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._MSG_TIMED_OUT}, traffic.refused

        # The fence: app may not write the old primary; the bindings it added are recorded and in place.
        assert list(fenced) == [PRIMARY] and fenced[PRIMARY], fenced
        assert left_on_clusters(lab, fenced) == fenced
        refused = produce_one(config_as(primary, app), topic)
        assert refused is not None and authorization_failed(refused), refused
        assert "authorization failed" in refused.str().lower(), refused.str()

        # No acknowledged record lost: every one is on dr (read back), as is everything on primary: the
        # RPO reported, 0 measured, is what the clusters hold.
        on_primary = everything(primary, topic, 3)
        mirrored = everything(dr, f"{PRIMARY}.{topic}", 3)
        assert flat(initial) | traffic.acked <= flat(on_primary) <= flat(mirrored)
        report = result["report"]
        unmirrored = sum(len(on_primary[p]) - len(mirrored[p]) for p in range(3))
        assert (report["rpo_records"], report["rpo_measured"]) == (unmirrored, True) == (0, True), report
        # The group resumes on dr where the report says: it skips nothing and reads again as many records as
        # reported (MirrorMaker 2 keeps the offsets here: mirrored[p][i] is at offset i).
        resume = translate.committed_offsets(dr, [group], 10)[group]
        again = {p: mirrored[p][resume[(f"{PRIMARY}.{topic}", p)] :] for p in committed}
        assert all(set(mirrored[p]) <= set(before[p]) | set(again[p]) for p in committed)
        duplicates = sum(len(set(before[p]) & set(again[p])) for p in committed)
        assert report["groups"][group] == {
            "partitions": len(committed),
            "duplicates": duplicates,
            "how": "committed offsets translated (checkpoints, offset syncs)",
        }, (report["groups"], duplicates)
        assert store.load_state(PRIMARY).active == DR

        # The outage: app writes the topic on dr; failback carries it back and gives primary its writes.
        on_dr = produce_numbered(dr, topic, 100, start=10_000, security=app)
        back = run_kdrtui("failback", "--plan", str(path), "--yes", "--json", env=dict(os.environ))
        fenced = fence_bindings(store)
        assert back.returncode == 0, back.stdout + back.stderr
        assert json.loads(back.stdout)["outcome"] == "completed"
        assert store.load_state(PRIMARY).active == PRIMARY and store.load_state(PRIMARY).fenced == {}
        assert set(fenced) == {PRIMARY, DR}, "failback fenced dr in turn"
        assert left_on_clusters(lab, fenced) == {}, "failback took every fence binding down"
        assert produce_one(config_as(primary, app), topic) is None, "app writes to primary again"
        assert flat(on_dr) <= flat(everything(primary, f"{DR}.{topic}", 3))
    finally:
        for alias, rules in fenced.items():
            fence_acl.delete(lab.bootstrap(alias), rules)
