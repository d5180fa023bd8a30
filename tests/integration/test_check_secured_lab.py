"""``kdrtui check`` on the secured lab (SASL over TLS, StandardAuthorizer, the lab's ACLs on both clusters):
both authorizers found, the ``acl`` fence usable, and a binding on a source topic with no match on its
mirror found (the lab's wildcard bindings, on both sides, are in parity)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.plan_files import load_plan
from tests.lab_helpers import lab_plan_variant, run_kdrtui

pytestmark = pytest.mark.lab


def test_acl_parity_on_the_secured_lab(secured_lab: Lab, tmp_path: Path, unique_name: str) -> None:
    base = load_plan(secured_lab.plan_path)  # kdrtui's clients connect as the plan says (admin)
    info = base.plan.model_copy(update={"name": f"check-{unique_name}"[:64]})
    pattern = re.escape(unique_name) + ".*"
    path = lab_plan_variant(secured_lab, tmp_path, flow={"topics": [pattern]}, plan=info)
    for bootstrap, name in (
        (secured_lab.bootstrap(PRIMARY), unique_name),
        (secured_lab.bootstrap(DR), f"{PRIMARY}.{unique_name}"),
    ):
        admin = AdminClient(client_config(bootstrap))
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    etl = AclBinding(
        ResourceType.TOPIC,
        unique_name,
        ResourcePatternType.LITERAL,
        "User:etl",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    primary = AdminClient(client_config(secured_lab.bootstrap(PRIMARY)))
    for future in primary.create_acls([etl], request_timeout=15).values():
        future.result(timeout=20)
    done = run_kdrtui("check", "--plan", str(path), "--json", "--no-ssh", env={**os.environ}, timeout=120)
    body: dict[str, Any] = json.loads(done.stdout)
    acls = [f for f in body["findings"] if f["check"] == "acls"]
    assert [(f["severity"], f["where"]) for f in acls] == [("warning", f"{DR}: {PRIMARY}.{unique_name}")], (
        body
    )
    assert "1 binding(s) of primary: orders" not in acls[0]["what"]
    assert f"of {PRIMARY}: {unique_name} missing on the mirror: User:etl READ ALLOW" in acls[0]["what"]
    assert [f for f in body["findings"] if f["check"] == "fence"] == [], body  # acl fence: authorizer, admin
