"""The ``acl`` fence's choice of principals: whom to deny, on what, and whom to leave alone (pure)."""

from __future__ import annotations

import pytest

from kdrtui.domain.acl_fence import (
    EVERYONE,
    TOPIC,
    TRANSACTIONAL_ID,
    TRANSACTIONAL_IDS,
    AclRule,
    deny_write,
    fence_bindings,
    recorded_bindings,
    writers,
)
from kdrtui.domain.plan_failover import FailoverSettings, FenceMethod

KDRTUI = "User:admin"
MIRRORMAKER = "User:mirrormaker"
EXEMPT = {KDRTUI, MIRRORMAKER}


def allow(kind: str, name: str, principal: str, operation: str = "WRITE", **kw: str) -> AclRule:
    """An ALLOW binding (LITERAL from any host unless told)."""
    return AclRule(
        kind, name, kw.get("pattern", "LITERAL"), principal, kw.get("host", "*"), operation, "ALLOW"
    )


def denied(fence_: object) -> set[tuple[str, str, str]]:
    """(resource type, name, principal) of each DENY WRITE of a fence."""
    from kdrtui.domain.acl_fence import AclFence

    assert isinstance(fence_, AclFence)
    assert all(b.permission == "DENY" and b.operation == "WRITE" and b.host == "*" for b in fence_.bindings)
    assert all(b.pattern_type == "LITERAL" for b in fence_.bindings)
    return {(b.resource_type, b.name, b.principal) for b in fence_.bindings}


LAB = [  # what the secured lab grants: app writes every topic and transactional id, MirrorMaker all
    allow(TOPIC, "*", "User:app"),
    allow(TOPIC, "*", "User:app", "READ"),
    allow(TRANSACTIONAL_ID, "*", "User:app"),
    allow(TOPIC, "*", MIRRORMAKER, "ALL"),
    allow(TRANSACTIONAL_ID, "*", MIRRORMAKER, "ALL"),
    allow("GROUP", "*", "User:app", "READ"),
]


def test_everyone_allowed_to_write_is_denied_but_kdrtui_and_mirrormaker() -> None:
    fence = fence_bindings(LAB, ["orders", "pay"], EXEMPT, allow_everyone=False)
    assert denied(fence) == {
        (TOPIC, "orders", "User:app"),
        (TOPIC, "pay", "User:app"),
        (TRANSACTIONAL_ID, "*", "User:app"),
    }
    assert fence.exempt == (MIRRORMAKER,)
    assert fence.principals() == ["User:app"]
    assert fence.everyone == () and fence.note() is None


def test_patterns_match_as_the_standard_authorizer_matches_them() -> None:
    bindings = [
        allow(TOPIC, "ord", "User:bob", pattern="PREFIXED"),  # orders, ordinal; not pay
        allow(TOPIC, "ord", "User:carol"),  # a literal that is only a prefix matches nothing here
        allow(TOPIC, "orders", "User:dave", "ALL", host="10.0.0.7"),  # one host: denied from every host
        allow(TOPIC, "orders", "User:erin", "READ"),  # a reader is no writer
        allow(TOPIC, "pay", "User:frank", "DESCRIBE"),
        allow("GROUP", "orders", "User:grace", "ALL"),  # another resource type
        AclRule(TOPIC, "orders", "LITERAL", "User:heidi", "*", "WRITE", "DENY"),  # denied already
    ]
    fence = fence_bindings(bindings, ["orders", "pay"], EXEMPT, allow_everyone=True)
    assert denied(fence) == {
        (TOPIC, "orders", "User:bob"),
        (TOPIC, "orders", "User:dave"),
        # no transactional-id ACL at all: with allow.everyone.if.no.acl.found every id is open
        (TRANSACTIONAL_ID, "*", EVERYONE),
    }
    assert fence.everyone == (TRANSACTIONAL_IDS,)


def test_user_star_allowed_is_denied_as_user_star_and_the_note_says_only_super_users_write() -> None:
    bindings = [*LAB, allow(TOPIC, "pay", EVERYONE), allow(TOPIC, "pay", "User:bob")]
    fence = fence_bindings(bindings, ["orders", "pay"], EXEMPT, allow_everyone=False)
    assert denied(fence) == {
        (TOPIC, "orders", "User:app"),
        (TOPIC, "pay", EVERYONE),  # covers app and bob: no DENY of their own
        (TRANSACTIONAL_ID, "*", "User:app"),
    }
    assert fence.everyone == ("pay",)
    note = fence.note()
    assert note is not None
    assert "only super users can still write to pay" in note
    assert "kdrtui's and MirrorMaker's principals must be super users" in note


@pytest.mark.parametrize(
    ("allow_everyone", "expected"),
    [
        (True, {(TOPIC, "quiet", EVERYONE), (TRANSACTIONAL_ID, "*", EVERYONE)}),
        (None, {(TOPIC, "quiet", EVERYONE), (TRANSACTIONAL_ID, "*", EVERYONE)}),  # unknown: maybe true
        (False, set()),  # nothing but super users can write an ACL-less resource
    ],
)
def test_a_resource_without_any_acl_is_open_when_the_brokers_may_allow_everyone(
    allow_everyone: bool | None, expected: set[tuple[str, str, str]]
) -> None:
    fence = fence_bindings([], ["quiet"], EXEMPT, allow_everyone=allow_everyone)
    assert denied(fence) == expected


def test_any_acl_on_a_resource_ends_allow_everyone_for_it() -> None:
    # StandardAuthorizer: allow.everyone.if.no.acl.found applies only where no ACL matches at all.
    bindings = [
        AclRule(TOPIC, "orders", "LITERAL", "User:bob", "*", "READ", "DENY"),
        allow(TRANSACTIONAL_ID, "*", "User:app", "DESCRIBE"),
    ]
    fence = fence_bindings(bindings, ["orders"], EXEMPT, allow_everyone=True)
    assert denied(fence) == set()


def test_transactional_ids_deny_every_principal_allowed_on_any_of_them() -> None:
    bindings = [
        allow(TRANSACTIONAL_ID, "app-", "User:app", pattern="PREFIXED"),
        allow(TRANSACTIONAL_ID, "billing-1", "User:billing"),
        allow(TRANSACTIONAL_ID, "mm2-", MIRRORMAKER, "ALL", pattern="PREFIXED"),
        allow(TRANSACTIONAL_ID, "*", "User:reader", "DESCRIBE"),
    ]
    fence = fence_bindings(bindings, [], EXEMPT, allow_everyone=None)
    assert denied(fence) == {(TRANSACTIONAL_ID, "*", "User:app"), (TRANSACTIONAL_ID, "*", "User:billing")}
    assert fence.exempt == (MIRRORMAKER,)


def test_a_rerun_leaves_its_own_bindings_out_and_computes_the_same_fence() -> None:
    first = fence_bindings([], ["quiet"], EXEMPT, allow_everyone=None)
    # After the first run its DENYs are on the cluster: read naively, "quiet" would look ACL-governed.
    again = fence_bindings(list(first.bindings), ["quiet"], EXEMPT, allow_everyone=None, ours=first.bindings)
    assert again == first
    naive = fence_bindings(list(first.bindings), ["quiet"], EXEMPT, allow_everyone=None)
    assert naive.bindings == ()


def test_user_star_is_never_exempt_and_writers_reads_one_resource() -> None:
    fence = fence_bindings([allow(TOPIC, "t", EVERYONE)], ["t"], {EVERYONE, KDRTUI}, allow_everyone=False)
    assert denied(fence) == {(TOPIC, "t", EVERYONE)}
    assert writers(LAB, TOPIC, "anything", allow_everyone=False) == {"User:app", MIRRORMAKER}


def test_a_binding_round_trips_through_the_dr_state_and_bad_ones_are_refused() -> None:
    rule = deny_write(TOPIC, "orders", "User:app")
    assert AclRule.from_dict(rule.to_dict()) == rule
    assert str(rule) == "DENY WRITE User:app on topic orders"
    bad_ones: list[object] = [[], {"name": "x"}, {**rule.to_dict(), "host": ""}, {**rule.to_dict(), "x": "y"}]
    for bad in bad_ones:
        with pytest.raises(ValueError, match="ACL binding"):
            AclRule.from_dict(bad)


def test_recorded_bindings_of_both_record_shapes() -> None:
    rule = deny_write(TRANSACTIONAL_ID, "*", "User:app")
    assert recorded_bindings({"method": "acl", "topics": {"t": None}, "bindings": [rule.to_dict()]}) == [rule]
    # the earlier fence (method "acls") put a DENY WRITE for User:* on each topic and recorded only those
    assert recorded_bindings({"method": "acls", "topics": {"a": None, "b": None}}) == [
        deny_write(TOPIC, "a", EVERYONE),
        deny_write(TOPIC, "b", EVERYONE),
    ]


@pytest.mark.parametrize("written", ["acl", "acls"])
def test_the_plan_reads_acl_and_the_old_acls_as_one_value(written: str) -> None:
    settings = FailoverSettings.model_validate({"fence": written})
    assert settings.fence is FenceMethod.ACL
    assert settings.model_dump(mode="json")["fence"] == "acl"
