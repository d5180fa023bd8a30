"""Records on the old primary that never reached the DR cluster, at failback: exported, then skipped.

After a failover, the old primary can hold records the DR cluster never got: those not mirrored when the
failover cut over (its RPO), and any written there afterwards (a forced failover with nothing fenced, a
zombie client). They are exactly the lag of the original flow while its MirrorMaker is stopped. At
failback the operator chooses: MirrorMaker copies them late (``--divergent=deliver``), or they are
exported and MirrorMaker's source position is moved past them (``--divergent=skip``):

- :func:`export` writes each partition's records from the replicated offset to its end as JSON lines
  (``divergent-<topic>-<partition>.jsonl``: topic, partition, offset, timestamp, key, value, headers;
  text as UTF-8 or base64 with ``*_encoding: "base64"``), read with ``read_committed``;
- :func:`skip_mm2` writes the new last-replicated offsets into MirrorMaker 2's offset store
  (``mm2-offsets.<source>.internal`` on the target, Connect's format: the same key bytes as the
  connector's own records, so the same partition and compaction key; value ``{"offset": N}``) while
  MirrorMaker is stopped — when it starts it resumes after them;
- :func:`skip_mm1` commits MirrorMaker 1's consumer group past them on the source.

Blocking; callers run them in a thread.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.internal_topics import CONNECT_OFFSETS_TOPIC, decode_connect_offset
from kdrtui.services.kafka.offsets import error_text

TP = tuple[str, int]
"""(topic, partition)."""


class DivergentError(RuntimeError):
    """A read or write of the skip did not complete; nothing is moved unless it all was exported."""


def _text(raw: bytes | None, name: str) -> dict[str, Any]:
    if raw is None:
        return {name: None}
    try:
        return {name: raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {name: base64.b64encode(raw).decode(), f"{name}_encoding": "base64"}


def _raw(data: str | bytes | None) -> bytes | None:
    return data.encode() if isinstance(data, str) else data


def _headers(message: Any) -> list[tuple[str, bytes | None]]:
    found = message.headers() or []
    return [(str(name), _raw(value)) for name, value in found]


def export(
    bootstrap: str, ranges: dict[TP, tuple[int, int]], directory: Path, timeout: float = 60.0
) -> dict[str, int]:
    """Write the records of each partition's ``[start, end)`` to ``divergent-<topic>-<partition>.jsonl``
    in ``directory`` (written whole, then renamed); returns file name -> records written.

    Raises:
        DivergentError: the source did not give every record within ``timeout``.
    """
    wanted = {tp: (start, end) for tp, (start, end) in ranges.items() if end > start}
    if not wanted:
        return {}
    consumer = Consumer(
        client_config(
            bootstrap,
            **{
                "group.id": "kdrtui-divergent-export",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )
    lines: dict[TP, list[str]] = {tp: [] for tp in wanted}
    done: set[TP] = set()
    deadline = time.monotonic() + timeout
    try:
        consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _end) in wanted.items()])
        while len(done) < len(wanted):
            if time.monotonic() > deadline:
                missing = sorted(f"{t}:{p}" for t, p in set(wanted) - done)
                raise DivergentError(
                    f"{bootstrap}: could not read {', '.join(missing[:5])} in {timeout:.0f} s"
                )
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                topic, partition = message.topic(), message.partition()
                if topic is None or partition is None:
                    continue
                tp = (topic, partition)
                error = message.error()
                if error is not None:
                    if error.code() == -191:  # _PARTITION_EOF: nothing committed after the last record
                        done.add(tp)
                        continue
                    raise DivergentError(f"{bootstrap}: {topic}:{partition}: {error.str()}")
                offset = message.offset()
                if tp not in wanted or offset is None:
                    continue
                if offset >= wanted[tp][1]:
                    done.add(tp)
                    continue
                _kind, stamp = message.timestamp()
                record: dict[str, Any] = {
                    "topic": topic,
                    "partition": partition,
                    "offset": offset,
                    "timestamp": stamp,
                    **_text(_raw(message.key()), "key"),
                    **_text(_raw(message.value()), "value"),
                    "headers": [
                        {"name": name, **_text(_raw(value), "value")} for name, value in _headers(message)
                    ],
                }
                lines[tp].append(json.dumps(record, sort_keys=True))
                if offset + 1 >= wanted[tp][1]:
                    done.add(tp)
    except KafkaException as exc:
        raise DivergentError(f"{bootstrap}: cannot read the divergent records: {error_text(exc)}") from exc
    finally:
        consumer.close()
    written: dict[str, int] = {}
    directory.mkdir(parents=True, exist_ok=True)
    for (topic, partition), records in lines.items():
        name = f"divergent-{topic}-{partition}.jsonl"
        tmp = directory / f".{name}.tmp"
        tmp.write_text("".join(line + "\n" for line in records))
        tmp.replace(directory / name)
        written[name] = len(records)
    return written


def _connect_keys(bootstrap: str, source: str, timeout: float) -> dict[TP, bytes]:
    """The key bytes MirrorMaker 2 wrote for each source partition in its offset store."""
    from kdrtui.services.kafka.admin_calls import TranslateError
    from kdrtui.services.kafka.internal_reads import read_topic

    try:
        records = read_topic(bootstrap, CONNECT_OFFSETS_TOPIC.format(source=source), timeout)
    except TranslateError as exc:
        raise DivergentError(str(exc)) from exc
    keys: dict[TP, bytes] = {}
    for key, value in records:
        try:
            found = decode_connect_offset(key, value)
        except ValueError:
            continue
        if found is not None and found.cluster == source:
            keys[(found.topic, found.partition)] = key
    return keys


def skip_mm2(bootstrap: str, source: str, moves: dict[TP, int], timeout: float = 30.0) -> None:
    """Make MirrorMaker 2 (stopped) resume each source partition at ``moves[tp]``: its offset store says
    ``moves[tp] - 1`` was the last record replicated.

    Raises:
        DivergentError: the offset store could not be read or written.
    """
    if not moves:
        return
    keys = _connect_keys(bootstrap, source, timeout)
    template = next(iter(keys.values()), None)
    producer = Producer(
        client_config(
            bootstrap, **{"acks": "all", "enable.idempotence": True, "partitioner": "murmur2_random"}
        )
    )
    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    for (topic, partition), resume_at in sorted(moves.items()):
        key = keys.get((topic, partition)) or _key_like(template, source, topic, partition)
        value = json.dumps({"offset": resume_at - 1}, separators=(",", ":")).encode()
        producer.produce(
            CONNECT_OFFSETS_TOPIC.format(source=source), key=key, value=value, on_delivery=delivered
        )
    left = producer.flush(timeout)
    if left or failures:
        raise DivergentError(
            f"{bootstrap}: cannot write MirrorMaker's offsets: {'; '.join(failures[:3]) or f'{left} unsent'}"
        )


def _key_like(template: bytes | None, source: str, topic: str, partition: int) -> bytes:
    """A key in the connector's own layout (field order and spacing of an existing one, when any)."""
    where: dict[str, Any] = {"cluster": source, "partition": partition, "topic": topic}
    if template is not None:
        try:
            parsed = json.loads(template)
            where = {name: where[name] for name in parsed[1] if name in where} | where
        except (ValueError, IndexError, TypeError):
            pass
    return json.dumps(["MirrorSourceConnector", where], separators=(",", ":")).encode()


def skip_mm1(bootstrap: str, group: str, moves: dict[TP, int], timeout: float = 30.0) -> None:
    """Commit MirrorMaker 1's group (stopped) at ``moves`` on the source.

    Raises:
        DivergentError: the commit did not succeed for every partition.
    """
    from kdrtui.services.kafka.group_offsets import commit_offsets

    errors = commit_offsets(bootstrap, group, moves, timeout)
    if errors:
        raise DivergentError(
            f"{bootstrap}: cannot commit {group}: " + "; ".join(sorted(set(errors.values()))[:3])
        )
