"""What an operator runs in a failover game day, for the scenarios that fail over (``region-loss``,
``zombie-primary``) and the one that compares both sides (``split-brain``):

- :func:`run_runbook`: ``kdrtui failover`` / ``kdrtui failback --plan P --yes --json`` in a process of its
  own, exactly as an operator types it; its steps go on the run's timeline as they end, its JSON answer
  (outcome, report, steps) is returned;
- :func:`failback_forecast`: the failback pre-flight's facts read now (what kdrtui counts as divergent: the
  records on the old primary the DR cluster never got);
- :func:`read_sequences`: every record of a topic from its beginning to its end now, as game-day
  :class:`~kdrtui.domain.gameday.Read` values (an independent count of what a cluster holds);
- :func:`write_sequences`: a client outside the run's traffic writing numbered records and keeping which
  ones the cluster acknowledged and which it refused (the old client of ``zombie-primary``).

Blocking; scenarios run in a thread of their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kdrtui.domain.gameday import Read
from kdrtui.services.kafka.config import client_config

if TYPE_CHECKING:
    from collections.abc import Callable

    from kdrtui.domain.plan import Plan
    from kdrtui.services.gameday.context import GamedayContext
    from kdrtui.services.gameday.traffic import Verifier

RUNBOOK_TIMEOUT_S = 420.0
"""A failover or failback taking longer is killed (the drain alone may take the plan's 60 s)."""

STEP_END = ("    ✓ ", "    - ", "    ✗ ")
"""How ``kdrtui failover`` prints a step's end (:func:`kdrtui.commands.runbook_output.printer`)."""


class RunbookFailed(RuntimeError):
    """``kdrtui failover`` / ``failback`` did not complete (its last lines say why)."""


@dataclass
class RunbookAnswer:
    """What ``kdrtui <operation> --json`` answered."""

    operation: str
    outcome: str
    """``completed``, ``failed``, ``aborted``."""
    returncode: int
    started: float
    """Run seconds when the command was started (the operator's confirmation, ``--yes``)."""
    ended: float
    """Run seconds when it exited."""
    report: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Step key -> (status, summary)."""
    error: str | None = None

    def step(self, key: str) -> tuple[str, str]:
        """(status, summary) of step ``key``; ("missing", "") when the run has no such step."""
        return self.steps.get(key, ("missing", ""))


def _kdrtui_command(operation: str, plan_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "kdrtui", operation, "--plan", str(plan_path), "--yes", "--json", *extra]


def run_runbook(ctx: GamedayContext, operation: str, *extra: str) -> RunbookAnswer:
    """Run ``kdrtui <operation> --plan <the lab's plan> --yes --json [extra]`` as an operator would, with
    this process's environment (its ``KDRTUI_STATE_DIR``); each step's end goes on the timeline. A cancel
    of the game day does not cut it half-way (the clusters would be left half-switched): it runs to its end,
    and the timeline says so at its next step.

    Raises:
        RunbookFailed: it exited without a JSON answer, or its outcome is not ``completed``.
    """
    command = _kdrtui_command(operation, ctx.plan_path, *extra)
    ctx.mark(
        f"runbook: kdrtui {operation} --plan {ctx.plan_path} --yes --json {' '.join(extra)}".rstrip(),
        "runbook",
    )
    started = ctx.now()
    tail: list[str] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env={**os.environ},
        )
        watchdog = threading.Timer(RUNBOOK_TIMEOUT_S, proc.kill)
        watchdog.start()
        try:
            assert proc.stderr is not None
            title = ""
            told = False
            for raw in proc.stderr:
                if ctx.cancelled.is_set() and not told:
                    told = True  # a runbook cut half-way would leave the clusters half-switched
                    ctx.mark(f"cancel asked: kdrtui {operation} in progress is let run to its end", "runbook")
                line = raw.rstrip("\n")
                tail = [*tail[-19:], line]
                if line.startswith("["):
                    title = line.split("] ", 1)[-1].removesuffix(" …")
                elif line.startswith(STEP_END):
                    ctx.mark(f"{operation}: {title}: {line.strip()}", "runbook")
            returncode = proc.wait()
        finally:
            watchdog.cancel()
        out.seek(0)
        text = out.read()
    ended = ctx.now()
    try:
        data = json.loads(text)
    except ValueError:
        raise RunbookFailed(
            f"kdrtui {operation} exited {returncode} without a JSON answer: " + " | ".join(tail[-5:])
        ) from None
    answer = RunbookAnswer(
        operation=operation,
        outcome=str(data.get("outcome")),
        returncode=returncode,
        started=started,
        ended=ended,
        report=dict(data.get("report") or {}),
        steps={s["step"]: (str(s["status"]), str(s.get("summary") or "")) for s in data.get("steps", [])},
        error=data.get("error"),
    )
    ctx.mark(
        f"runbook: kdrtui {operation} {answer.outcome} in {ended - started:.1f} s (exit {returncode})",
        "runbook",
    )
    if answer.outcome != "completed":
        raise RunbookFailed(f"kdrtui {operation} {answer.outcome}: {answer.error or ' | '.join(tail[-3:])}")
    return answer


def failback_forecast(plan: Plan, plan_path: Path) -> dict[str, Any]:
    """The failback pre-flight's facts now (``divergent_records``, ``divergent_topics``, ``go``,
    ``reasons``...), as ``kdrtui failback --dry-run`` and the console's forecast read them; changes
    nothing."""
    from kdrtui.services.runbook.failover import FAILBACK, Preflight
    from kdrtui.services.runbook.operate import Operation

    async def read() -> dict[str, Any]:
        op = Operation(plan, plan_path, FAILBACK)
        try:
            return await Preflight().forecast(op.ctx)
        finally:
            await op.close()

    return asyncio.run(read())


def _consumer(bootstrap: str) -> Any:
    from confluent_kafka import Consumer

    return Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": f"kdrtui-gameday-count-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_uncommitted",
            },
        )
    )


def read_sequences(bootstrap: str, topic: str, timeout: float = 60.0) -> list[Read]:
    """Every record of ``topic`` on ``bootstrap`` from its beginning to its end offsets read now, in the
    order read (per partition, by offset); [] when the topic does not exist. Records without a sequence
    number are skipped.

    Raises:
        TimeoutError: the end was not reached within ``timeout``.
    """
    from confluent_kafka import TopicPartition

    consumer = _consumer(bootstrap)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None or not meta.partitions:
            return []
        ends: dict[int, int] = {}
        starts: dict[int, int] = {}
        for p in meta.partitions:
            starts[p], ends[p] = watermarks(consumer, TopicPartition(topic, p))
        left = {p for p in ends if ends[p] > starts[p]}
        if not left:
            return []
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in sorted(left)])
        reads: list[Read] = []
        deadline = time.monotonic() + timeout
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} on {bootstrap}: partitions {sorted(left)} not read to their end")
            for msg in consumer.consume(500, 0.5):
                if msg.error():
                    continue
                p = msg.partition()
                if msg.offset() + 1 >= ends.get(p, 0):
                    left.discard(p)
                if msg.offset() >= ends.get(p, 0):
                    continue  # written after the ends were read: not part of this count
                seq = _seq(msg.value())
                if seq is not None:
                    reads.append(Read(p, (msg.key() or b"").decode(errors="replace"), seq))
        return reads
    finally:
        consumer.close()


def watermarks(consumer: Any, partition: Any, timeout: float = 60.0) -> tuple[int, int]:
    """(low, high) watermarks of ``partition``, asked again while the cluster cannot answer yet (a leader
    just restarted: "Leader high watermark is not caught up") for up to ``timeout``."""
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            return int(low), int(high)
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _seq(value: bytes | None) -> int | None:
    try:
        return int(json.loads(value or b"")["seq"])
    except (TypeError, ValueError, KeyError):
        return None


#: How long the copies' end offsets must stay the same for :func:`read_to_end` to call them read.
SETTLE_S = 2.0


def read_to_end(
    ctx: GamedayContext, verifier: Verifier, bootstrap: str, topics: list[str], what: str, timeout: float = 90
) -> None:
    """Wait until ``verifier`` has read as many records of ``topics``' copies as their end offsets on
    ``bootstrap`` say are there, and those end offsets stayed the same for :data:`SETTLE_S` after: a record
    MirrorMaker wrote just before it stopped becomes readable (the high watermark moves) only once the
    followers have it, a moment later under load, and counting it lost would be a wrong RPO."""
    from kdrtui.services.gameday.context import ScenarioTimeout

    targets = list(verifier.targets.values())
    deadline = time.monotonic() + timeout
    ends = end_total(bootstrap, targets)

    def reached(wanted: int) -> Callable[[], bool]:
        return lambda: sum(len(verifier.reads(t)) for t in topics) >= wanted

    while True:
        ctx.wait_until(reached(ends), max(1.0, deadline - time.monotonic()), what)
        ctx.cancelled.wait(SETTLE_S)
        ctx.check_cancelled()
        again = end_total(bootstrap, targets)
        if again == ends:
            return
        if time.monotonic() > deadline:
            raise ScenarioTimeout(f"{what}: the end offsets still moved after {timeout:.0f} s")
        ends = again


def end_total(bootstrap: str, topics: list[str]) -> int:
    """Sum of the end offsets of ``topics`` (missing topics count 0)."""
    from confluent_kafka import TopicPartition

    consumer = _consumer(bootstrap)
    try:
        total = 0
        md = consumer.list_topics(timeout=10).topics
        for topic in topics:
            meta = md.get(topic)
            if meta is None or meta.error is not None:
                continue
            for p in meta.partitions:
                total += watermarks(consumer, TopicPartition(topic, p))[1]
        return total
    finally:
        consumer.close()


@dataclass
class Written:
    """What a client outside the run's traffic wrote: seq -> when, for the acknowledged ones; seq -> the
    broker's answer, for the refused ones."""

    acked: dict[int, float] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)


def write_sequences(
    bootstrap: str,
    topic: str,
    seqs: range,
    *,
    keys: int = 16,
    timeout: float = 90.0,
    client_id: str = "old-client",
) -> Written:
    """Write one record per number in ``seqs`` to ``topic`` (value ``{"topic", "seq", "produced_at_ms",
    "client"}``, key ``k<seq % keys>``, ``acks=all``) and wait for every answer (up to ``timeout``)."""
    from confluent_kafka import KafkaError, Message, Producer

    written = Written()
    lock = threading.Lock()
    producer = Producer(
        client_config(
            bootstrap,
            **{
                "client.id": client_id,
                "acks": "all",
                "enable.idempotence": True,
                "message.timeout.ms": int((timeout - 10) * 1000),
            },
        )
    )

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        seq = _seq(msg.value())
        if seq is None:
            return
        with lock:
            if err is None:
                written.acked[seq] = time.time()
            else:
                written.refused[seq] = err.str()

    for seq in seqs:
        value = {"topic": topic, "seq": seq, "produced_at_ms": int(time.time() * 1000), "client": client_id}
        producer.produce(
            topic, key=f"k{seq % keys}".encode(), value=json.dumps(value).encode(), on_delivery=on_delivery
        )
    left = producer.flush(timeout)
    if left:
        with lock:
            for seq in seqs:
                if seq not in written.acked and seq not in written.refused:
                    written.refused[seq] = f"no answer within {timeout:.0f} s"
    return written
