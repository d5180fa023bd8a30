"""The ``acl`` fence without brokers: whose principals it leaves alone, and its record in the DR state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

from kdrtui.domain.acl_fence import EVERYONE, TOPIC, TRANSACTIONAL_ID, deny_write
from kdrtui.domain.security import ClusterSecurity
from kdrtui.services.kafka.fence import FenceError
from kdrtui.services.kafka.fence_acl import exempt_principals, no_authorizer_text
from kdrtui.services.runbook.store import DrState, StateInvalid, parse_state

CLUSTERS = ("primary", "dr")


def security(**table: object) -> ClusterSecurity:
    return ClusterSecurity.model_validate(table)


def test_sasl_users_are_left_alone_and_mirrormaker_has_its_own_or_kdrtuis() -> None:
    own = {"protocol": "SASL_SSL", "ca_file": "/ca.pem", "mechanism": "SCRAM-SHA-512", "username": "admin"}
    assert exempt_principals(security(**own)) == {"kdrtui": {"User:admin"}, "mirrormaker": {"User:admin"}}
    both = security(**own, password_file="/p", mirrormaker_username="mm", mirrormaker_password_file="/q")
    assert exempt_principals(both) == {"kdrtui": {"User:admin"}, "mirrormaker": {"User:mm"}}


def test_kerberos_principals_are_left_alone_by_short_and_full_name() -> None:
    table = security(
        protocol="SASL_SSL", ca_file="/ca.pem", mechanism="GSSAPI", principal="kdrtui/edge@EXAMPLE.COM"
    )
    assert exempt_principals(table)["kdrtui"] == {"User:kdrtui", "User:kdrtui/edge@EXAMPLE.COM"}


def test_a_client_certificate_is_left_alone_by_subject_and_common_name(tmp_path: Path) -> None:
    ca = trustme.CA(organization_name="test CA")
    cert = ca.issue_cert("kdrtui.example", common_name="kdrtui")
    cert_file, key_file = tmp_path / "kdrtui.crt", tmp_path / "kdrtui.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    table = security(protocol="SSL", ca_file="/ca.pem", cert_file=str(cert_file), key_file=str(key_file))
    found = exempt_principals(table)
    assert "User:kdrtui" in found["kdrtui"]
    subjects = [p for p in found["kdrtui"] if p.startswith("User:CN=kdrtui,")]
    assert subjects, found  # the full distinguished name, Kafka's default TLS principal
    assert found["mirrormaker"] == found["kdrtui"]  # MirrorMaker connects with the same certificate


def test_an_unreadable_certificate_is_a_fence_error(tmp_path: Path) -> None:
    table = security(protocol="SSL", ca_file="/ca.pem", cert_file=str(tmp_path / "no.crt"), key_file="/k")
    with pytest.raises(FenceError, match="cannot read the client certificate"):
        exempt_principals(table)


def test_anonymous_clients_are_never_left_alone() -> None:
    assert exempt_principals(None) == {"kdrtui": set(), "mirrormaker": set()}
    assert exempt_principals(security(protocol="SSL", ca_file="/ca.pem"))["kdrtui"] == set()


def test_the_line_a_cluster_without_an_authorizer_fails_with() -> None:
    assert (
        no_authorizer_text("dr")
        == 'dr: the brokers have no authorizer: fence = "acl" needs one; use reject-writes'
    )


def test_the_dr_state_keeps_exactly_the_bindings_the_fence_added() -> None:
    added = [deny_write(TOPIC, "orders", "User:app"), deny_write(TRANSACTIONAL_ID, "*", EVERYONE)]
    record = {"method": "acl", "topics": {"orders": None}, "bindings": [b.to_dict() for b in added]}
    state = DrState(active="dr", fenced={"primary": record})
    again = parse_state(json.dumps(state.to_dict()), CLUSTERS)
    assert again.fenced["primary"]["bindings"] == [b.to_dict() for b in added]
    # a state written by the earlier ACL fence still loads
    legacy = '{"active": "dr", "fenced": {"primary": {"method": "acls", "topics": {"t": null}}}}'
    assert parse_state(legacy, CLUSTERS).fenced["primary"]["method"] == "acls"


@pytest.mark.parametrize(
    ("bindings", "expected"),
    [
        ('"all of them"', "fenced.primary.bindings: must be a list of ACL bindings, not str"),
        ('[{"name": "t"}]', "fenced.primary.bindings[0]: an ACL binding must be an object with the keys"),
    ],
)
def test_a_malformed_binding_in_the_dr_state_is_named(bindings: str, expected: str) -> None:
    record = f'{{"method": "acl", "topics": {{}}, "bindings": {bindings}}}'
    text = f'{{"active": "dr", "fenced": {{"primary": {record}}}}}'
    with pytest.raises(StateInvalid) as bad:
        parse_state(text, CLUSTERS)
    assert expected in str(bad.value)
