"""MirrorMaker 2's internal topics on the target cluster: their record formats, and a tail that keeps
the latest value of each key.

Formats (REFERENCE §2; all big-endian, STRING = int16 length + UTF-8), as seen from MirrorMaker 3.9:

- ``<source>.checkpoints.internal``: key STRING group, STRING topic (target name), INT32 partition;
  value INT16 version, INT64 upstream, INT64 downstream, STRING metadata.
- ``mm2-offset-syncs.<source>.internal`` (location=target): key STRING topic (source name), INT32
  partition; value INT64 upstream, INT64 downstream.
- ``heartbeats``: key STRING source alias, STRING target alias; value INT16 version, INT64 timestamp ms.
- ``mm2-offsets.<source>.internal`` (Connect's offset store): key JSON
  ``["MirrorSourceConnector",{"cluster":"primary","partition":0,"topic":"orders"}]``; value JSON
  ``{"offset": N}`` (the last replicated upstream offset) or null (reset).

The decoders are pure and return None for a record they do not understand (another connector's, a
tombstone), so a tail never dies on one odd record.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

CHECKPOINTS_TOPIC = "{source}.checkpoints.internal"
OFFSET_SYNCS_TOPIC = "mm2-offset-syncs.{source}.internal"
HEARTBEATS_TOPIC = "heartbeats"
CONNECT_OFFSETS_TOPIC = "mm2-offsets.{source}.internal"

CheckpointKey = tuple[str, str, int]
"""(group, target topic, partition): what a checkpoint is kept by."""

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_SYNC = struct.Struct(">qq")
_CHECKPOINT = struct.Struct(">hqq")
_HEARTBEAT = struct.Struct(">hq")


class DecodeError(ValueError):
    """Bytes that are not a record of the expected format."""


def _string(data: bytes, at: int) -> tuple[str, int]:
    """A Kafka STRING at ``at``: (text, offset after it)."""
    if at + 2 > len(data):
        raise DecodeError("truncated string length")
    (length,) = _I16.unpack_from(data, at)
    at += 2
    if length < 0:
        return "", at  # a null STRING: MirrorMaker writes none, but be lenient
    if at + length > len(data):
        raise DecodeError("truncated string")
    return data[at : at + length].decode("utf-8"), at + length


def encode_string(text: str) -> bytes:
    """A Kafka STRING (tests and tools build records with it)."""
    raw = text.encode("utf-8")
    return _I16.pack(len(raw)) + raw


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A consumer group's translated position for one partition."""

    group: str
    """Consumer group id."""
    topic: str
    """Topic name on the TARGET (``primary.orders``)."""
    partition: int
    """Partition number."""
    upstream: int
    """The group's committed offset on the source."""
    downstream: int
    """The translated offset on the target."""
    metadata: str = ""
    """The commit's metadata."""


@dataclass(frozen=True, slots=True)
class OffsetSync:
    """A pair of offsets known to match (a source record and its copy)."""

    topic: str
    """Topic name on the SOURCE."""
    partition: int
    """Partition number."""
    upstream: int
    """Offset on the source."""
    downstream: int
    """Offset of its copy on the target."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A MirrorMaker heartbeat: proof that the flow ``source -> target`` is alive."""

    source: str
    """Source cluster alias."""
    target: str
    """Target cluster alias."""
    timestamp_ms: int
    """When MirrorMaker emitted it (epoch ms)."""


@dataclass(frozen=True, slots=True)
class ConnectOffset:
    """MirrorSourceConnector's committed position in one source partition."""

    cluster: str
    """Source cluster alias."""
    topic: str
    """Source topic."""
    partition: int
    """Partition number."""
    offset: int | None
    """Last replicated upstream offset (None: reset)."""


def encode_checkpoint(checkpoint: Checkpoint) -> tuple[bytes, bytes]:
    """(key, value) of ``checkpoint`` as MirrorMaker writes it to ``<source>.checkpoints.internal``."""
    key = encode_string(checkpoint.group) + encode_string(checkpoint.topic) + _I32.pack(checkpoint.partition)
    header = _CHECKPOINT.pack(0, checkpoint.upstream, checkpoint.downstream)
    return key, header + encode_string(checkpoint.metadata)


def encode_offset_sync(sync: OffsetSync) -> tuple[bytes, bytes]:
    """(key, value) of ``sync`` as MirrorMaker writes it to ``mm2-offset-syncs.<alias>.internal``."""
    return encode_string(sync.topic) + _I32.pack(sync.partition), _SYNC.pack(sync.upstream, sync.downstream)


def decode_checkpoint_key(key: bytes) -> CheckpointKey:
    """(group, topic, partition) of a ``<source>.checkpoints.internal`` key (a tombstone has only that)."""
    group, at = _string(key, 0)
    topic, at = _string(key, at)
    if at + 4 > len(key):
        raise DecodeError("truncated checkpoint key")
    (partition,) = _I32.unpack_from(key, at)
    return group, topic, partition


def decode_checkpoint(key: bytes, value: bytes | None) -> Checkpoint | None:
    """A record of ``<source>.checkpoints.internal`` (None for a tombstone)."""
    if value is None:
        return None
    group, topic, partition = decode_checkpoint_key(key)
    if len(value) < _CHECKPOINT.size:
        raise DecodeError("truncated checkpoint value")
    _version, upstream, downstream = _CHECKPOINT.unpack_from(value, 0)
    metadata = _string(value, _CHECKPOINT.size)[0] if len(value) >= _CHECKPOINT.size + 2 else ""
    return Checkpoint(group, topic, partition, upstream, downstream, metadata)


def decode_offset_sync(key: bytes, value: bytes | None) -> OffsetSync | None:
    """A record of ``mm2-offset-syncs.<alias>.internal`` (None for a tombstone)."""
    if value is None:
        return None
    topic, at = _string(key, 0)
    if at + 4 > len(key):
        raise DecodeError("truncated offset-sync key")
    (partition,) = _I32.unpack_from(key, at)
    if len(value) < _SYNC.size:
        raise DecodeError("truncated offset-sync value")
    upstream, downstream = _SYNC.unpack_from(value, 0)
    return OffsetSync(topic, partition, upstream, downstream)


def decode_heartbeat(key: bytes, value: bytes | None) -> Heartbeat | None:
    """A record of ``heartbeats`` (None for a tombstone)."""
    if value is None:
        return None
    source, at = _string(key, 0)
    target, _ = _string(key, at)
    if len(value) < _HEARTBEAT.size:
        raise DecodeError("truncated heartbeat value")
    _version, timestamp = _HEARTBEAT.unpack_from(value, 0)
    return Heartbeat(source, target, timestamp)


def decode_connect_offset(key: bytes, value: bytes | None) -> ConnectOffset | None:
    """A MirrorSourceConnector record of ``mm2-offsets.<source>.internal`` (None for any other)."""
    try:
        parsed_key: Any = json.loads(key)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(f"connect offset key is not JSON: {exc}") from exc
    if not (isinstance(parsed_key, list) and len(parsed_key) == 2 and isinstance(parsed_key[1], dict)):
        return None
    connector, where = parsed_key
    if connector != "MirrorSourceConnector":
        return None
    cluster, topic, partition = where.get("cluster"), where.get("topic"), where.get("partition")
    if not (isinstance(cluster, str) and isinstance(topic, str) and isinstance(partition, int)):
        return None
    offset: int | None = None
    if value is not None:
        try:
            parsed: Any = json.loads(value)
        except (UnicodeDecodeError, ValueError) as exc:
            raise DecodeError(f"connect offset value is not JSON: {exc}") from exc
        if isinstance(parsed, dict) and isinstance(parsed.get("offset"), int):
            offset = parsed["offset"]
    return ConnectOffset(cluster, topic, partition, offset)
