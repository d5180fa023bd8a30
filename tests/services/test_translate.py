"""Offset translation for a failover, pure: the reverse of MirrorMaker's rule over offset syncs, a group's
offsets from its checkpoints, and the record encoders the lab tests write synthetic records with."""

from __future__ import annotations

import pytest

from kdrtui.services.kafka.internal_topics import (
    Checkpoint,
    OffsetSync,
    decode_checkpoint,
    decode_checkpoint_key,
    decode_offset_sync,
    encode_checkpoint,
    encode_offset_sync,
)
from kdrtui.services.kafka.translate import (
    TranslatedOffset,
    best_upstream,
    plan_partition,
    plan_within,
    translate_group,
    upstream_of,
)

SYNCS = [
    OffsetSync("orders", 0, upstream=100, downstream=10),
    OffsetSync("orders", 0, upstream=250, downstream=60),
    OffsetSync("orders", 0, upstream=400, downstream=90),
]
"""Source offsets 100, 250, 400 copied to target offsets 10, 60, 90 (the source has gaps: compaction,
transaction markers, or records before MirrorMaker started)."""


def test_no_sync_no_translation() -> None:
    assert upstream_of([], 0) is None
    assert upstream_of([], 1_000) is None


def test_before_the_first_sync_no_translation() -> None:
    assert upstream_of(SYNCS, 9) is None
    assert upstream_of(SYNCS, 0) is None


@pytest.mark.parametrize(("downstream", "upstream"), [(10, 100), (60, 250), (90, 400)])
def test_exact_hit_gives_the_sync_upstream(downstream: int, upstream: int) -> None:
    assert upstream_of(SYNCS, downstream) == upstream


@pytest.mark.parametrize(("downstream", "upstream"), [(11, 101), (59, 101), (61, 251), (89, 251)])
def test_between_syncs_gives_one_past_the_older_sync(downstream: int, upstream: int) -> None:
    # Conservative like MirrorMaker: past the sync we only know the next record came after it.
    assert upstream_of(SYNCS, downstream) == upstream


def test_past_the_last_sync() -> None:
    assert upstream_of(SYNCS, 91) == 401
    assert upstream_of(SYNCS, 10_000) == 401


def test_single_sync() -> None:
    only = [OffsetSync("t", 3, upstream=0, downstream=0)]
    assert upstream_of(only, 0) == 0
    assert upstream_of(only, 7) == 1


def test_failback_goes_back_exactly_where_a_group_that_did_not_move_was() -> None:
    # The group had committed 230 on the source; MirrorMaker checkpointed it at 59 on the mirror, and the
    # failover committed 59 there. The syncs alone give 101 (129 records read again); the checkpoint: 230.
    checkpoint = Checkpoint("app", "primary.orders", 0, upstream=230, downstream=59, metadata="")
    assert upstream_of(SYNCS, 59) == 101
    assert best_upstream(59, checkpoint, SYNCS) == 230
    # Read further on the mirror: past the next sync the syncs know more than the checkpoint.
    assert best_upstream(61, checkpoint, SYNCS) == 251
    # A checkpoint the group has not reached on the mirror says nothing about where it is.
    assert best_upstream(40, checkpoint, SYNCS) == 101
    assert best_upstream(5, checkpoint, SYNCS) is None
    assert best_upstream(59, checkpoint, []) == 230


def test_a_checkpoint_past_the_mirrors_end_is_dropped_for_the_syncs() -> None:
    # MirrorMaker 3.2 (before KAFKA-12468's fix) projected a group's 380 past the sync at 250 -> 60 by the
    # distance on the source: 60 + 130 = 190, while the mirror's partition ends at 91.
    projected = Checkpoint("app", "primary.orders", 0, upstream=380, downstream=190, metadata="")
    assert plan_partition(380, projected, SYNCS) == (190, 0)
    assert plan_within(380, projected, SYNCS, 91) == (61, 380 - 251), "the syncs alone: one past 250 -> 60"
    # Within the end, or with the end unknown, the checkpoint stands (what 3.5+ checkpoints always are).
    honest = Checkpoint("app", "primary.orders", 0, upstream=380, downstream=61, metadata="")
    assert plan_within(380, honest, SYNCS, 91) == plan_partition(380, honest, SYNCS)
    assert plan_within(380, projected, SYNCS, None) == (190, 0)
    # Nothing but a checkpoint past the end: no translation (the failover rewinds by timestamps).
    assert plan_within(380, projected, [], 91) is None


def test_latest_sync_wins_when_downstream_goes_back() -> None:
    # The target topic was recreated: newer syncs map to lower downstream offsets again.
    syncs = [OffsetSync("t", 0, 100, 100), OffsetSync("t", 0, 500, 5)]
    assert upstream_of(syncs, 5) == 500
    assert upstream_of(syncs, 100) == 500 + 1
    assert upstream_of(syncs, 4) is None


CHECKPOINTS = {
    (c.group, c.topic, c.partition): c
    for c in [
        Checkpoint("billing", "primary.orders", 0, upstream=120, downstream=30),
        Checkpoint("billing", "primary.orders", 1, upstream=80, downstream=80),
        Checkpoint("billing", "primary.payments", 0, upstream=7, downstream=7),
        Checkpoint("audit", "primary.orders", 0, upstream=999, downstream=950),
    ]
}
TOPIC_MAP = {"primary.orders": "orders", "primary.payments": "payments"}


def test_translate_group_offsets_and_their_origin() -> None:
    translated = translate_group(CHECKPOINTS, "billing", TOPIC_MAP)
    assert translated.group == "billing"
    assert translated.offsets == (
        TranslatedOffset("orders", "primary.orders", 0, upstream=120, downstream=30),
        TranslatedOffset("orders", "primary.orders", 1, upstream=80, downstream=80),
        TranslatedOffset("payments", "primary.payments", 0, upstream=7, downstream=7),
    )
    assert translated.to_commit() == {
        ("primary.orders", 0): 30,
        ("primary.orders", 1): 80,
        ("primary.payments", 0): 7,
    }
    assert translated.upstream() == {("orders", 0): 120, ("orders", 1): 80, ("payments", 0): 7}


def test_expected_duplicates_from_the_source_commits() -> None:
    translated = translate_group(CHECKPOINTS, "billing", TOPIC_MAP)
    committed_on_source = {("orders", 0): 150, ("orders", 1): 80, ("other", 0): 5}
    # 150 - 120 = 30 records processed after the checkpoint; partition 1 is exact; payments uncommitted.
    assert translated.expected_duplicates(committed_on_source) == {("orders", 0): 30, ("orders", 1): 0}


def test_expected_duplicates_never_negative() -> None:
    translated = translate_group(CHECKPOINTS, "billing", TOPIC_MAP)
    # The group was rewound on the source after the checkpoint.
    assert translated.expected_duplicates({("orders", 0): 100}) == {("orders", 0): 0}


def test_topic_map_selects_topics() -> None:
    translated = translate_group(CHECKPOINTS, "billing", {"primary.payments": "payments"})
    assert translated.to_commit() == {("primary.payments", 0): 7}


def test_without_topic_map_names_are_the_same_on_both_sides() -> None:
    translated = translate_group(CHECKPOINTS, "audit")
    assert translated.offsets == (TranslatedOffset("primary.orders", "primary.orders", 0, 999, 950),)


def test_unknown_group_translates_nothing() -> None:
    translated = translate_group(CHECKPOINTS, "nobody", TOPIC_MAP)
    assert translated.offsets == ()
    assert translated.to_commit() == {}
    assert translated.expected_duplicates({("orders", 0): 5}) == {}


def test_encoders_round_trip() -> None:
    checkpoint = Checkpoint("grüppe", "primary.orders", 7, upstream=1234, downstream=1200, metadata="m")
    key, value = encode_checkpoint(checkpoint)
    assert decode_checkpoint(key, value) == checkpoint
    assert decode_checkpoint_key(key) == ("grüppe", "primary.orders", 7)
    sync = OffsetSync("orders", 2, upstream=101, downstream=99)
    assert decode_offset_sync(*encode_offset_sync(sync)) == sync


def test_encoders_write_mirrormakers_bytes() -> None:
    key, value = encode_checkpoint(Checkpoint("g", "t", 1, upstream=2, downstream=3))
    assert key == b"\x00\x01g\x00\x01t\x00\x00\x00\x01"
    assert value == b"\x00\x00" + (2).to_bytes(8, "big") + (3).to_bytes(8, "big") + b"\x00\x00"
    key, value = encode_offset_sync(OffsetSync("t", 1, upstream=2, downstream=3))
    assert key == b"\x00\x01t\x00\x00\x00\x01"
    assert value == (2).to_bytes(8, "big") + (3).to_bytes(8, "big")
