"""What the ``reject-writes`` fence does to open transactions, measured on the lab's real broker.

The fence (``max.message.bytes = 1``) also refuses the transaction coordinator's markers: a broker's
WriteTxnMarkers append is size-checked like a produce (``UnifiedLog.appendAsLeader`` passes
``ignoreRecordSize = false`` for every origin, coordinator included), the coordinator takes the
MESSAGE_TOO_LARGE answer as fatal (``TransactionMarkerRequestCompletionHandler``: IllegalStateException,
logged by NetworkClient as "Uncaught error in request completion") and never sends those markers again.
So a transaction open when the fence goes up hangs: its producer was told the commit (or abort)
succeeded, but the partition's last stable offset stays at the transaction's first record, and
read_committed readers (MirrorMaker included) see nothing past it, even after the fence is removed,
until the coordinator reloads its state (a broker restart), which resends the markers. This is why
kdrtui must see to transactions before it fences.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import (
    IsolationLevel,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from kdrtui.lab.lab import PRIMARY, Lab
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.fence import REJECTING, set_max_bytes
from tests.kafka_helpers import create_topic, read_to_eof

pytestmark = pytest.mark.lab

CASES = ("commit", "abort", "refused", "timed-out")
"""How each transaction open at fence time ends: committed by its producer; aborted by it; aborted by it
after the fence refused one of its records; aborted by the coordinator when its producer went silent."""
RECORDS = 3
"""Records each transaction writes before the fence goes up (offsets 0..2 of its own topic)."""
TIMED_OUT_MS = 5000
"""The silent producer's transaction.timeout.ms: the coordinator aborts it within this plus its 10 s
cleanup interval (transaction.abort.timed.out.transaction.cleanup.interval.ms)."""
UNFENCED_WATCH_S = 10
"""How long the hang is watched after the fence is removed: the coordinator has no timer that would
resend abandoned markers (measured: still hanging after 90 s), so a short watch shows the same."""


def ends(bootstrap: str, topics: list[str]) -> dict[str, tuple[int, int]]:
    """Each single-partition topic's (high watermark, last stable offset), read with ListOffsets."""
    admin = AdminClient(client_config(bootstrap))
    found: dict[str, dict[IsolationLevel, int]] = {t: {} for t in topics}
    for isolation in (IsolationLevel.READ_UNCOMMITTED, IsolationLevel.READ_COMMITTED):
        wanted = {TopicPartition(t, 0): OffsetSpec.latest() for t in topics}
        for tp, future in admin.list_offsets(wanted, isolation_level=isolation, request_timeout=10).items():
            found[tp.topic][isolation] = future.result(15).offset
    return {
        t: (offsets[IsolationLevel.READ_UNCOMMITTED], offsets[IsolationLevel.READ_COMMITTED])
        for t, offsets in found.items()
    }


def broker_log_since(log: Path, offset: int) -> str:
    """What the broker logged after byte ``offset`` of its log."""
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def open_transaction(bootstrap: str, topic: str, transactional_id: str, **config: object) -> Producer:
    """A transactional producer with an open transaction holding :data:`RECORDS` records of ``topic``."""
    producer = Producer(client_config(bootstrap, **{"transactional.id": transactional_id, **config}))
    producer.init_transactions(30)
    producer.begin_transaction()
    for n in range(RECORDS):
        producer.produce(topic, value=f"{topic}-{n}")
    assert producer.flush(30) == 0
    return producer


def restart(lab: Lab, alias: str) -> float:
    """Crash ``alias``'s broker and start it again (data kept); the seconds until it answered."""
    started = time.monotonic()
    lab.kill(alias)
    lab.up()
    return time.monotonic() - started


def test_the_reject_writes_fence_leaves_open_transactions_hanging_until_a_restart(
    lab: Lab, unique_name: str, wait_until: Callable[..., float]
) -> None:
    primary = lab.bootstrap(PRIMARY)
    log = lab.cluster(PRIMARY).log_file
    log_offset = log.stat().st_size
    topics = {case: f"{unique_name}-{case}" for case in CASES}
    names = list(topics.values())
    for topic in names:
        create_topic(primary, topic, partitions=1)
    producers = {
        case: open_transaction(primary, topics[case], topics[case])  # each its own transactional.id
        for case in ("commit", "abort", "refused")
    }
    restarted = False
    try:
        # The silent one last, fenced at once: its timeout must not run out before the fence is up.
        producers["timed-out"] = open_transaction(
            primary,
            topics["timed-out"],
            topics["timed-out"],
            **{"transaction.timeout.ms": TIMED_OUT_MS, "message.timeout.ms": TIMED_OUT_MS},
        )
        set_max_bytes(primary, dict.fromkeys(names, REJECTING))
        assert ends(primary, names) == {t: (RECORDS, 0) for t in names}, "open: the LSO is the first record"

        # The producers are told their transactions ended: the coordinator answers EndTxn once it has
        # logged PrepareCommit/PrepareAbort, before it sends the markers.
        producers["commit"].commit_transaction(30)
        producers["abort"].abort_transaction(30)
        refused: list[KafkaError] = []

        def delivered(err: KafkaError | None, _message: Message) -> None:
            if err is not None:
                refused.append(err)

        producers["refused"].produce(topics["refused"], value="refused", on_delivery=delivered)
        producers["refused"].flush(30)
        assert [e.code() for e in refused] == [KafkaError.MSG_SIZE_TOO_LARGE]
        with pytest.raises(KafkaException) as raised:
            producers["refused"].commit_transaction(30)
        assert raised.value.args[0].txn_requires_abort()
        assert "Message size too large" in str(raised.value)
        producers["refused"].abort_transaction(30)

        # The silent producer's transaction is rolled back by the coordinator itself, whose markers fail
        # the same way. Seeing that in the broker's log also shows the earlier markers were tried: the
        # coordinator sends markers in order, seconds before this one.
        silent = f"while sending txn marker for {topics['timed-out']}"
        took_timeout = wait_until(
            lambda: silent in broker_log_since(log, log_offset),
            timeout=TIMED_OUT_MS / 1000 + 30,
            interval=0.5,
            message="the coordinator's abort of the timed-out transaction",
        )
        said = broker_log_since(log, log_offset)
        assert "Uncaught error in request completion" in said
        assert (
            "java.lang.IllegalStateException: Received fatal error "
            "org.apache.kafka.common.errors.RecordTooLargeException while sending txn marker for"
        ) in said
        assert ends(primary, names) == {t: (RECORDS, 0) for t in names}, "no marker was written"

        # Unfenced, the topics take writes again, but nothing resends the markers.
        set_max_bytes(primary, dict.fromkeys(names, None))
        plain = Producer(client_config(primary))
        for topic in names:
            plain.produce(topic, value=f"{topic}-plain")
        assert plain.flush(30) == 0
        # A claim that nothing happens needs a window: watch it, every second.
        watched_until = time.monotonic() + UNFENCED_WATCH_S
        while time.monotonic() < watched_until:
            assert ends(primary, names) == {t: (RECORDS + 1, 0) for t in names}, "resolved without a restart"
            time.sleep(1)
        for topic in names:
            assert read_to_eof(primary, topic, 1, "read_committed")[0] == [], (
                "read_committed readers stop at the LSO"
            )
            assert len(read_to_eof(primary, topic, 1, "read_uncommitted")[0]) == RECORDS + 1

        # A restart reloads the coordinator's state, which resends the markers of every PrepareCommit and
        # PrepareAbort transaction (TransactionStateManager.loadTransactionsForTxnTopicPartition).
        restart_s = restart(lab, PRIMARY)
        restarted = True
        resolved_s = wait_until(
            lambda: ends(primary, names) == {t: (RECORDS + 2, RECORDS + 2) for t in names},
            timeout=60,
            interval=0.5,
            message="markers written after the restart",
        )
        committed = [f"{topics['commit']}-{n}".encode() for n in range(RECORDS)]
        assert read_to_eof(primary, topics["commit"], 1, "read_committed")[0] == [
            *committed,
            f"{topics['commit']}-plain".encode(),
        ]
        for case in ("abort", "refused", "timed-out"):
            assert read_to_eof(primary, topics[case], 1, "read_committed")[0] == [
                f"{topics[case]}-plain".encode()
            ]
        print(
            f"\ncoordinator's abort of the silent transaction seen after {took_timeout:.1f} s; hanging "
            f"{UNFENCED_WATCH_S} s after unfencing; restart {restart_s:.1f} s, "
            f"resolved {resolved_s:.1f} s later"
        )
    finally:
        set_max_bytes(primary, dict.fromkeys(names, None))
        # Leave no hanging transaction behind, even when an assertion above failed.
        if not restarted and any(hw != lso for hw, lso in ends(primary, names).values()):
            restart(lab, PRIMARY)
