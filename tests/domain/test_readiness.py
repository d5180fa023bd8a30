"""The readiness rules on synthetic observations: each rule finds its bad case and passes its good one, and
what could not be seen is "not checked", never a pass."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kdrtui.domain.acl_fence import AclRule
from kdrtui.domain.readiness import (
    CheckpointFacts,
    ClusterFacts,
    Finding,
    GroupCheckpoint,
    MirrorMakerFacts,
    MirrorPair,
    Observations,
    Severity,
    TopicFacts,
    Usable,
    counts,
    exit_code,
    summary_line,
)
from kdrtui.domain.readiness_rules import evaluate

RACKS = {1: "fd0", 2: "fd1", 3: "fd2"}
SPREAD = ((1, 2, 3), (2, 3, 1), (3, 1, 2))
CONFIGS = {
    "cleanup.policy": "delete",
    "retention.ms": "604800000",
    "retention.bytes": "-1",
    "max.message.bytes": "1048588",
    "min.compaction.lag.ms": "0",
    "min.insync.replicas": "2",
}
PAIR = MirrorPair("primary->dr", "primary", "dr", "orders", "primary.orders")


def topic(name: str, replicas: tuple[tuple[int, ...], ...] = SPREAD, **configs: str | None) -> TopicFacts:
    merged = {**CONFIGS, **{k.replace("_", "."): v for k, v in configs.items()}}
    return TopicFacts(name, replicas, {k: v for k, v in merged.items() if v is not None})


def seen(
    source: TopicFacts | None = None,
    mirror: TopicFacts | None = None,
    *,
    primary: dict[str, Any] | None = None,
    dr: dict[str, Any] | None = None,
    **more: Any,
) -> Observations:
    """A healthy pair (orders -> primary.orders, RF 3 over three racks, same configs), changed as told."""
    source = source or topic("orders")
    mirror = mirror if mirror is not None else topic("primary.orders")
    clusters = {
        "primary": ClusterFacts(
            "primary",
            topics={"orders": source},
            all_topics=frozenset({"orders"}),
            racks=RACKS,
            authorizer=False,
        ),
        "dr": ClusterFacts(
            "dr",
            topics={} if mirror.name == "-" else {"primary.orders": mirror},
            all_topics=frozenset({"primary.orders"}),
            racks=RACKS,
            authorizer=False,
        ),
    }
    clusters["primary"] = replace(clusters["primary"], **(primary or {}))
    clusters["dr"] = replace(clusters["dr"], **(dr or {}))
    return Observations(clusters=clusters, pairs=(PAIR,), **more)


def only(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


def test_a_healthy_pair_has_no_finding() -> None:
    assert evaluate(seen()) == []
    assert exit_code([]) == 0 and summary_line([]) == "0 blocking, 0 warnings, 0 info: READY"


def test_exit_code_and_counts_roll_up_by_the_worst_severity() -> None:
    info = Finding(Severity.INFO, "x", "a", "b", "")
    warn = replace(info, severity=Severity.WARNING)
    block = replace(info, severity=Severity.BLOCKING)
    assert exit_code([info]) == 0
    assert exit_code([info, warn]) == 1
    assert exit_code([warn, block, info]) == 2
    assert counts([warn, block, info, info]) == {"blocking": 1, "warning": 1, "info": 2}
    assert summary_line([warn]) == "0 blocking, 1 warning, 0 info: READY with warnings"


# --- reachability ---------------------------------------------------------------------------------------


def test_a_cluster_that_does_not_answer_is_blocking_and_nothing_about_it_passes() -> None:
    found = evaluate(seen(dr={"error": "Local: Broker transport failure", "topics": {}}))
    (down,) = [f for f in found if f.severity == Severity.BLOCKING]
    assert down.check == "reachable" and down.where == "dr" and "Broker transport failure" in down.what
    infos = [f.what for f in found if f.severity == Severity.INFO]
    assert any(w.startswith("not checked on dr") for w in infos)
    assert "1 mirror(s) not checked: dr did not answer" in infos  # parity is not a pass
    assert exit_code(found) == 2


# --- replication factor and min ISR ---------------------------------------------------------------------


def test_replication_factor_1_is_blocking_2_warns_3_passes() -> None:
    one = evaluate(seen(topic("orders", ((1,), (2,), (3,)), min_insync_replicas="1")))
    (rf,) = only(one, "replication")
    assert (rf.severity, rf.where) == (Severity.BLOCKING, "primary: orders")
    assert rf.what.startswith("replication factor 1 (< 3)")
    assert only(one, "min-isr") == []  # RF 1: the RF finding says it all
    two = evaluate(seen(mirror=topic("primary.orders", ((1, 2), (2, 3), (3, 1)), min_insync_replicas="1")))
    assert [(f.check, f.severity) for f in two] == [
        ("min-isr", Severity.WARNING),
        ("replication", Severity.WARNING),
    ]
    assert only(evaluate(seen()), "replication") == []


def test_min_isr_below_2_warns_above_rf_blocks_equal_to_rf_warns_and_unreadable_is_not_checked() -> None:
    low = only(evaluate(seen(topic("orders", min_insync_replicas="1"))), "min-isr")
    assert [(f.severity, f.where) for f in low] == [(Severity.WARNING, "primary: orders")]
    high = only(evaluate(seen(topic("orders", min_insync_replicas="4"))), "min-isr")
    assert high[0].severity == Severity.BLOCKING and "every acks=all write is refused" in high[0].what
    equal = only(evaluate(seen(topic("orders", min_insync_replicas="3"))), "min-isr")
    assert equal[0].severity == Severity.WARNING and "one broker down" in equal[0].what
    blind = TopicFacts("orders", SPREAD, None, "TOPIC_AUTHORIZATION_FAILED")
    unread = evaluate(seen(blind))
    (isr,) = only(unread, "min-isr")
    assert isr.severity == Severity.INFO and "not checked: TOPIC_AUTHORIZATION_FAILED" in isr.what
    (configs,) = only(unread, "parity")
    assert configs.severity == Severity.INFO and configs.what.startswith("topic configs not compared")


# --- racks ----------------------------------------------------------------------------------------------


def test_every_replica_on_one_rack_warns_spread_passes_and_no_racks_is_not_checked() -> None:
    racks = {1: "fd0", 2: "fd0", 3: "fd1", 4: "fd1"}
    same = topic("primary.orders", ((1, 2), (3, 4), (1, 3)), min_insync_replicas="1")
    (bad,) = only(evaluate(seen(mirror=same, dr={"racks": racks})), "racks")
    assert bad.severity == Severity.WARNING and bad.where == "dr: primary.orders"
    assert bad.what.startswith(
        "2 partition(s) with every replica in one fault domain: 0 (rack fd0), 1 (rack fd1)"
    )
    assert only(evaluate(seen()), "racks") == []
    bare = {1: None, 2: None, 3: None}
    (unknown,) = only(evaluate(seen(primary={"racks": bare})), "racks")
    assert unknown.severity == Severity.INFO and "not checked" in unknown.what and unknown.where == "primary"
    (unread,) = only(evaluate(seen(primary={"racks": {}, "racks_error": "timed out"})), "racks")
    assert unread.severity == Severity.INFO and unread.what.endswith("not checked: timed out")


def test_a_replica_on_a_broker_not_seen_is_not_judged() -> None:
    gone = topic("primary.orders", ((1, 9), (2, 3), (3, 1)))
    assert only(evaluate(seen(mirror=gone)), "racks") == []


# --- parity ---------------------------------------------------------------------------------------------


def test_a_missing_mirror_and_fewer_partitions_block_more_partitions_warn() -> None:
    (missing,) = only(evaluate(seen(mirror=TopicFacts("-", ()))), "mirror")
    assert missing.severity == Severity.BLOCKING and missing.where == "dr: primary.orders"
    assert missing.what.startswith("no mirror of primary: orders (primary->dr)")
    fewer = topic("primary.orders", SPREAD[:2])
    (short,) = only(evaluate(seen(mirror=fewer)), "parity")
    assert short.severity == Severity.BLOCKING and "partitions 2..2 have nowhere to go" in short.what
    more = topic("primary.orders", (*SPREAD, (1, 2, 3)))
    (extra,) = only(evaluate(seen(mirror=more)), "parity")
    assert extra.severity == Severity.WARNING and extra.what.startswith("4 partitions")


def test_config_drift_warns_and_a_smaller_max_message_bytes_blocks() -> None:
    drift = topic("primary.orders", retention_ms="3600000", cleanup_policy="compact")
    (warned,) = only(evaluate(seen(mirror=drift)), "parity")
    assert warned.severity == Severity.WARNING
    assert "cleanup.policy compact (source delete); retention.ms 3600000 (source 604800000)" in warned.what
    smaller = topic("primary.orders", max_message_bytes="1000")
    found = only(evaluate(seen(mirror=smaller)), "parity")
    assert [f.severity for f in found] == [Severity.BLOCKING, Severity.WARNING]
    assert "max.message.bytes 1000 < 1048588 on primary" in found[0].what
    larger = topic("primary.orders", max_message_bytes="2000000")
    assert [f.severity for f in only(evaluate(seen(mirror=larger)), "parity")] == [Severity.WARNING]


def test_a_key_on_one_side_only_is_drift() -> None:
    compacted = topic("orders", min_compaction_lag_ms=None)
    (drift,) = only(evaluate(seen(compacted)), "parity")
    assert "min.compaction.lag.ms 0 (source None)" in drift.what


# --- ACLs -----------------------------------------------------------------------------------------------


def rule(name: str, principal: str = "User:app", op: str = "READ", pattern: str = "LITERAL") -> AclRule:
    return AclRule("TOPIC", name, pattern, principal, "*", op, "ALLOW")


def test_acls_in_parity_through_translated_names_pass_and_a_missing_binding_warns() -> None:
    source_acls = (rule("orders"), rule("ord", "User:etl", "WRITE", "PREFIXED"))
    mirrored = (rule("primary.orders"), rule("primary.orders", "User:etl", "WRITE"))
    both = {"authorizer": True, "acls": source_acls}
    assert only(evaluate(seen(primary=both, dr={"authorizer": True, "acls": mirrored})), "acls") == []
    (missing,) = only(evaluate(seen(primary=both, dr={"authorizer": True, "acls": mirrored[:1]})), "acls")
    assert missing.severity == Severity.WARNING and missing.where == "dr: primary.orders"
    assert "1 binding(s) of primary: orders missing on the mirror: User:etl WRITE ALLOW" in missing.what
    # MirrorMaker reads the source and writes the mirror: its own bindings differ on purpose.
    mm = {"authorizer": True, "own_principals": frozenset({"User:mm"})}
    reads = {**mm, "acls": (rule("orders"), rule("orders", "User:mm"))}
    writes = {**mm, "acls": (rule("primary.orders"), rule("primary.orders", "User:mm", "WRITE"))}
    assert only(evaluate(seen(primary=reads, dr=writes)), "acls") == []


def test_an_authorizer_on_one_side_only_warns_unknown_is_not_checked_none_is_nothing_to_compare() -> None:
    (one,) = only(evaluate(seen(primary={"authorizer": True, "acls": ()}, dr={"authorizer": False})), "acls")
    assert one.severity == Severity.WARNING and one.what.startswith("dr has no authorizer")
    unknown = evaluate(
        seen(primary={"authorizer": None, "authorizer_error": "timed out"}, dr={"authorizer": False})
    )
    (info,) = only(unknown, "acls")
    assert info.severity == Severity.INFO and "timed out" in info.what
    assert only(evaluate(seen(primary={"authorizer": False}, dr={"authorizer": False})), "acls") == []


# --- MirrorMaker ----------------------------------------------------------------------------------------


def test_mirrormaker_replication_below_3_warns_and_a_release_before_3_5_warns() -> None:
    mm = MirrorMakerFacts(
        "dr",
        2,
        releases={"edge-1": "3.2.0", "edge-2": "3.9.1", "edge-3": None},
        release_errors={"edge-3": "cannot read it over SSH: refused"},
    )
    found = evaluate(seen(mirrormakers=(mm,)))
    (rf,) = only(found, "mm-replication")
    assert rf.severity == Severity.WARNING and rf.what.startswith("replication.factor 2")
    releases = only(found, "mm-release")
    assert [(f.severity, f.where) for f in releases] == [
        (Severity.WARNING, "edge node edge-1"),
        (Severity.INFO, "edge node edge-3"),
    ]
    assert releases[0].what.startswith("MirrorMaker 3.2.0 (< 3.5)")
    assert "refused" in releases[1].what
    good = MirrorMakerFacts("dr", 3, releases={"edge-2": "3.5.0"})
    assert evaluate(seen(mirrormakers=(good,))) == []
    unrendered = MirrorMakerFacts("dr", None, "no bootstrap servers")
    (info,) = evaluate(seen(mirrormakers=(unrendered,)))
    assert info.severity == Severity.INFO and "no bootstrap servers" in info.what


# --- checkpoints ----------------------------------------------------------------------------------------


def test_a_checkpoint_older_than_the_rpo_warns_only_when_the_group_moved_since() -> None:
    def flow(*groups: GroupCheckpoint) -> Observations:
        return seen(checkpoints=(CheckpointFacts("primary->dr", groups),), rpo_seconds=60)

    stale = GroupCheckpoint("primary->dr", "billing", 300.0, True)
    (warned,) = evaluate(flow(stale))
    assert warned.severity == Severity.WARNING and warned.where == "primary->dr: group billing"
    assert warned.what.startswith("newest checkpoint 300 s old (RPO 60 s)")
    assert evaluate(flow(replace(stale, moved=False))) == []  # idle: nothing new to checkpoint
    assert evaluate(flow(replace(stale, age_s=30.0))) == []  # fresh
    (unknown,) = evaluate(flow(replace(stale, moved=None)))
    assert unknown.severity == Severity.INFO and "unknown" in unknown.what
    (never,) = evaluate(flow(replace(stale, age_s=None)))
    assert never.severity == Severity.WARNING and never.what.startswith("no checkpoint")
    broken = seen(checkpoints=(CheckpointFacts("primary->dr", error="dr did not answer"),))
    (info,) = evaluate(broken)
    assert info.severity == Severity.INFO and info.what == "not checked: dr did not answer"


# --- switch and fence -----------------------------------------------------------------------------------


def test_a_switch_or_fence_problem_blocks_usable_passes_and_unchecked_says_so() -> None:
    broken = Usable("switch", "command", "./switch.sh", ("the switch hook ./switch.sh does not exist",))
    (bad,) = evaluate(seen(usable=(broken,)))
    assert (bad.severity, bad.where) == (Severity.BLOCKING, "switch command: ./switch.sh")
    assert evaluate(seen(usable=(replace(broken, problems=()),))) == []
    nsg = Usable("fence", "nsg", "primary", None, "kdrtui's NSG fence is not in this build")
    (info,) = evaluate(seen(usable=(nsg,)))
    assert info.severity == Severity.INFO and info.what.startswith("not checked:")
    no_authorizer = Usable("fence", "acl", "primary", ("primary: the brokers have no authorizer",))
    (fence,) = evaluate(seen(usable=(no_authorizer,)))
    assert fence.severity == Severity.BLOCKING and fence.check == "fence"
