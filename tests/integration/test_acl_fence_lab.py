"""The ``acl`` fence against real brokers with ``StandardAuthorizer`` (the session's SASL_SSL lab).

The lab's ``app`` user may write every topic and transactional id, ``mirrormaker`` may do everything, and
``admin`` (kdrtui's user) is a super user. The fence step must refuse ``app`` — its plain writes
(TOPIC_AUTHORIZATION_FAILED) and its transactional producer (at InitProducerId) — while kdrtui and
MirrorMaker still write; record exactly the bindings it added; add nothing on a re-run; and failback's
unfence must delete those and nothing else, so ``app`` writes again.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from kdrtui.domain.acl_fence import EVERYONE, TOPIC, TRANSACTIONAL_ID, AclRule, deny_write
from kdrtui.domain.plan import FenceMethod, Plan
from kdrtui.domain.runbook import StepStatus
from kdrtui.lab.lab import PRIMARY, Lab
from kdrtui.services.kafka import fence_acl
from kdrtui.services.kafka.config import client_config, client_config_as
from kdrtui.services.kafka.security import use_plan
from kdrtui.services.plan_files import load_plan
from kdrtui.services.runbook.failover import FAILOVER, make_context
from kdrtui.services.runbook.fence_step import Fence
from kdrtui.services.runbook.store import RunbookStore
from kdrtui.services.runbook.unfence import still_fenced, unfence
from tests.kafka_helpers import create_topic

pytestmark = pytest.mark.lab


def narrowed(lab: Lab, name: str) -> Plan:
    """The secured lab's plan, its flow narrowed to ``name``'s topics (the fence covers only those)."""
    plan = load_plan(lab.plan_path)  # kdrtui's clients connect as the plan says: as admin
    flows = [f.model_copy(update={"topics": [re.escape(name) + ".*"]}) for f in plan.flows]
    return plan.model_copy(update={"flows": flows})


def as_user(lab: Lab, user: str, **extra: Any) -> dict[str, Any]:
    """A client configuration for the lab's ``user``."""
    return client_config_as(
        lab.bootstrap(PRIMARY), lab.security.cluster_security(user), **{"message.timeout.ms": 15000, **extra}
    )


def produce_one(config: dict[str, Any], topic: str) -> KafkaError | None:
    """Produce one canary record; the delivery error, None when it landed."""
    outcome: list[KafkaError | None] = []

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        outcome.append(err)

    producer = Producer(config)
    producer.produce(topic, value=b"canary", on_delivery=delivered)
    assert producer.flush(30) == 0
    return outcome[0]


def init_transactions(config: dict[str, Any], transactional_id: str) -> KafkaError | None:
    """Start a transactional producer; the error that refused it, None when it may write transactions."""
    producer = Producer({**config, "transactional.id": transactional_id})
    try:
        producer.init_transactions(20)
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        return error
    return None


def test_the_acl_fence_refuses_app_and_its_transactions_and_failback_removes_exactly_its_bindings(
    secured_lab: Lab, unique_name: str, tmp_path: Path
) -> None:
    lab = secured_lab
    plan = narrowed(lab, unique_name)
    assert plan.failover.fence is FenceMethod.ACL
    bootstrap = lab.bootstrap(PRIMARY)
    orders, kept = f"{unique_name}-orders", f"{unique_name}-kept"
    for topic in (orders, kept):
        create_topic(bootstrap, topic, partitions=1)
    # Someone else's bindings: an ALLOW for a user of their own (the fence denies it too), and a DENY the
    # fence would add itself on `kept` — already there, so not the fence's, and never deleted by it.
    bob = AclRule(TOPIC, unique_name, "PREFIXED", "User:bob", "*", "WRITE", "ALLOW")
    theirs = deny_write(TOPIC, kept, "User:app")
    fence_acl.create(bootstrap, [bob, theirs])
    app, admin, mirrormaker = as_user(lab, "app"), as_user(lab, "admin"), as_user(lab, "mirrormaker")
    txn = f"{unique_name}-txn"
    assert produce_one(app, orders) is None
    assert init_transactions(app, txn) is None

    store = RunbookStore(plan.plan.name, None, root=tmp_path / "state")
    ctx = make_context(plan, store, FAILOVER)
    ours = {
        deny_write(TOPIC, orders, "User:app"),
        deny_write(TOPIC, orders, "User:bob"),
        deny_write(TOPIC, kept, "User:bob"),
        deny_write(TRANSACTIONAL_ID, "*", "User:app"),
    }
    try:
        outcome = asyncio.run(Fence().run(ctx))
        assert outcome.status is StepStatus.DONE, outcome.summary
        recorded = {AclRule.from_dict(d) for d in outcome.facts["bindings"]}
        assert recorded == ours, recorded ^ ours
        assert outcome.facts["added"] == len(ours)
        assert outcome.facts["exempt"] == ["User:mirrormaker"]  # admin is a super user: no ACL names it
        assert outcome.facts["everyone"] == [] and outcome.facts["note"] is None
        saved = json.loads(store.state_path.read_text())["fenced"][PRIMARY]
        assert saved["method"] == "acl" and {AclRule.from_dict(d) for d in saved["bindings"]} == ours

        # At the authorizer: app is refused, its transactions too; kdrtui and MirrorMaker still write.
        refused = produce_one(app, orders)
        assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, refused
        assert "not authorized" in refused.str().lower() or "authorization" in refused.str().lower()
        refused_txn = init_transactions(app, txn)
        assert refused_txn is not None, "a transactional producer as app was not refused"
        assert refused_txn.code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, refused_txn
        assert produce_one(admin, orders) is None
        assert produce_one(mirrormaker, orders) is None

        # Resume-safe: a re-run looks first, computes the same fence and adds nothing.
        again = asyncio.run(Fence().run(ctx))
        assert again.facts["added"] == 0
        assert {AclRule.from_dict(d) for d in again.facts["bindings"]} == ours
        assert asyncio.run(Fence().verify(ctx, again.facts)) is None

        # Failback's unfence deletes exactly the fence's bindings.
        record = asyncio.run(unfence(ctx, PRIMARY))
        assert record is not None
        assert PRIMARY not in store.load_state(PRIMARY).fenced
        assert asyncio.run(still_fenced(ctx, PRIMARY, record)) == []
        assert asyncio.run(unfence(ctx, PRIMARY)) is None  # nothing left to undo
        left = set(fence_acl.read_acls(AdminClient(client_config(bootstrap)), bootstrap, 10))
        assert not ours & left
        assert {bob, theirs} <= left
        assert asyncio.run(Fence().verify(ctx, again.facts)) is not None  # the fence is gone
        assert produce_one(app, orders) is None
        assert init_transactions(app, txn) is None
    finally:
        fence_acl.delete(bootstrap, [*ours, bob, theirs])


def test_user_star_allowed_is_denied_as_user_star_with_a_note(secured_lab: Lab, unique_name: str) -> None:
    """An ALLOW for ``User:*`` on a topic: only a DENY for ``User:*`` fences it (super users still write)."""
    lab = secured_lab
    bootstrap = lab.bootstrap(PRIMARY)
    load_plan(lab.plan_path)
    topic = f"{unique_name}-open"
    create_topic(bootstrap, topic, partitions=1)
    everyone = AclRule(TOPIC, topic, "LITERAL", EVERYONE, "*", "WRITE", "ALLOW")
    fence_acl.create(bootstrap, [everyone])
    exempt = {"User:admin", "User:mirrormaker"}
    added: list[AclRule] = []
    try:
        found, now = fence_acl.compute(bootstrap, [topic], exempt)
        assert deny_write(TOPIC, topic, EVERYONE) in found.bindings
        assert found.everyone == (topic,)
        note = found.note()
        assert note is not None and "only super users" in note
        added = [rule for rule in found.bindings if rule not in now]
        fence_acl.create(bootstrap, added)
        refused = produce_one(as_user(lab, "mirrormaker"), topic)  # not a super user: refused too
        assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
        assert produce_one(as_user(lab, "admin"), topic) is None  # the super user writes
    finally:
        fence_acl.delete(bootstrap, [everyone, *added])


def test_the_lab_brokers_set_allow_everyone_so_kdrtui_cannot_tell_its_value(secured_lab: Lab) -> None:
    """``allow.everyone.if.no.acl.found`` is not a broker config key: DescribeConfigs reports it as
    sensitive, without a value (the fence then takes it as possibly true)."""
    bootstrap = secured_lab.bootstrap(PRIMARY)
    load_plan(secured_lab.plan_path)
    assert fence_acl.allow_everyone(AdminClient(client_config(bootstrap)), 10) is None


def test_the_pre_flight_question_is_whether_kdrtui_may_read_and_change_acls(secured_lab: Lab) -> None:
    """As the lab's admin (a super user) kdrtui may; as ``app`` (no ACL on the cluster) it may not."""
    bootstrap = secured_lab.bootstrap(PRIMARY)
    plan = load_plan(secured_lab.plan_path)
    assert fence_acl.access_problem(PRIMARY, bootstrap) is None
    primary = plan.clusters[PRIMARY]
    as_app = primary.model_copy(update={"security": secured_lab.security.cluster_security("app")})
    use_plan(plan.model_copy(update={"clusters": {**plan.clusters, PRIMARY: as_app}}))
    try:
        problem = fence_acl.access_problem(PRIMARY, bootstrap)
    finally:
        load_plan(secured_lab.plan_path)
    assert problem == (
        'primary: fence = "acl" cannot fence it: kdrtui may not create or delete ACLs (it needs ALTER on '
        "the cluster, or to be a super user)"
    )


def test_brokers_without_an_authorizer_are_a_no_go_and_the_fence_fails_in_one_line(
    lab: Lab, unique_name: str, tmp_path: Path
) -> None:
    """The plaintext lab has no authorizer: the pre-flight says NO-GO, the fence step fails, one line each."""
    from kdrtui.domain.plan import FailoverSettings
    from kdrtui.domain.runbook import StepFailed
    from kdrtui.services.runbook.preflight import Preflight

    plan = narrowed(lab, unique_name).model_copy(update={"failover": FailoverSettings(fence=FenceMethod.ACL)})
    create_topic(lab.bootstrap(PRIMARY), f"{unique_name}-orders", partitions=1)
    ctx = make_context(plan, RunbookStore(plan.plan.name, None, root=tmp_path / "state"), FAILOVER)
    line = 'primary: the brokers have no authorizer: fence = "acl" needs one; use reject-writes'
    facts = asyncio.run(Preflight().forecast(ctx))
    assert not facts["go"]
    assert f"step fence: {line}" in facts["reasons"], facts["reasons"]
    with pytest.raises(StepFailed) as failed:
        asyncio.run(Fence().run(ctx))
    assert failed.value.summary == line
    assert PRIMARY not in ctx.state().fenced  # nothing recorded: nothing was changed


def test_a_transaction_open_when_the_acl_fence_lands_cannot_commit_and_the_coordinator_aborts_it(
    secured_lab: Lab, unique_name: str, tmp_path: Path
) -> None:
    """Unlike ``reject-writes``, the ACL fence leaves the coordinator's markers alone: an open transaction
    of ``app`` cannot commit (its transactional id is denied) and is aborted at its timeout, so the
    partition's last stable offset moves on (read_committed readers, MirrorMaker, are not stuck)."""
    from kdrtui.services.kafka.fence import open_transactions

    lab = secured_lab
    plan = narrowed(lab, unique_name)
    bootstrap = lab.bootstrap(PRIMARY)
    topic = f"{unique_name}-txn"
    create_topic(bootstrap, topic, partitions=1)
    config = as_user(lab, "app", **{"message.timeout.ms": 5000})
    producer = Producer({**config, "transactional.id": topic, "transaction.timeout.ms": 5000})
    producer.init_transactions(20)
    producer.begin_transaction()
    producer.produce(topic, value=b"open")
    assert producer.flush(20) == 0
    assert open_transactions(bootstrap, [topic]) == {f"{topic}:0": 1}
    ctx = make_context(plan, RunbookStore(plan.plan.name, None, root=tmp_path / "state"), FAILOVER)
    try:
        outcome = asyncio.run(Fence().run(ctx))
        assert outcome.status is StepStatus.DONE, outcome.summary
        with pytest.raises(KafkaException) as refused:
            producer.commit_transaction(20)
        assert refused.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        # the coordinator aborts it within its timeout + its 10 s cleanup interval: markers still land
        deadline = time.monotonic() + 40
        while open_transactions(bootstrap, [topic]):
            assert time.monotonic() < deadline, "the open transaction was never aborted"
            time.sleep(0.5)
    finally:
        asyncio.run(unfence(ctx, PRIMARY))
