"""Decoding MirrorMaker 2's internal-topic records, from bytes built here with struct (pure).

The same decoders are checked against real MirrorMaker records in tests/integration/test_lag_lab.py.
"""

from __future__ import annotations

import struct

import pytest

from kdrtui.services.kafka.internal_topics import (
    Checkpoint,
    ConnectOffset,
    DecodeError,
    Heartbeat,
    OffsetSync,
    decode_checkpoint,
    decode_connect_offset,
    decode_heartbeat,
    decode_offset_sync,
    encode_string,
)


def test_checkpoint() -> None:
    key = encode_string("billing") + encode_string("primary.orders") + struct.pack(">i", 7)
    value = struct.pack(">hqq", 0, 1234, 1200) + encode_string("meta")
    assert decode_checkpoint(key, value) == Checkpoint("billing", "primary.orders", 7, 1234, 1200, "meta")
    assert decode_checkpoint(key, None) is None


def test_offset_sync() -> None:
    key = encode_string("orders") + struct.pack(">i", 2)
    assert decode_offset_sync(key, struct.pack(">qq", 101, 99)) == OffsetSync("orders", 2, 101, 99)


def test_heartbeat() -> None:
    key = encode_string("primary") + encode_string("dr")
    value = struct.pack(">hq", 0, 1_795_632_579_864)
    assert decode_heartbeat(key, value) == Heartbeat("primary", "dr", 1_795_632_579_864)


def test_heartbeat_bytes_as_seen_from_mirrormaker() -> None:
    # Copied from a real `heartbeats` record of MirrorMaker 3.9.
    beat = decode_heartbeat(b"\x00\x07primary\x00\x02dr", b"\x00\x00\x00\x00\x01\xa2\x14\n\xc5\x18")
    assert beat == Heartbeat("primary", "dr", 1_795_632_579_864)


def test_utf8_names() -> None:
    key = encode_string("grüppe") + encode_string("primary.ördërs") + struct.pack(">i", 0)
    checkpoint = decode_checkpoint(key, struct.pack(">hqq", 0, 1, 1) + encode_string(""))
    assert checkpoint is not None and checkpoint.group == "grüppe" and checkpoint.topic == "primary.ördërs"


def test_connect_offset_key_order_does_not_matter() -> None:
    a = b'["MirrorSourceConnector",{"cluster":"primary","partition":3,"topic":"orders"}]'
    b = b'["MirrorSourceConnector",{"topic":"orders","partition":3,"cluster":"primary"}]'
    for key in (a, b):
        assert decode_connect_offset(key, b'{"offset":41}') == ConnectOffset("primary", "orders", 3, 41)
    assert decode_connect_offset(a, None) == ConnectOffset("primary", "orders", 3, None)


def test_other_connectors_are_ignored() -> None:
    key = b'["MirrorCheckpointConnector",{"cluster":"primary"}]'
    assert decode_connect_offset(key, b'{"offset":1}') is None


@pytest.mark.parametrize(
    ("decode", "key", "value"),
    [
        (decode_checkpoint, b"\x00\x05ab", b""),
        (decode_offset_sync, encode_string("t"), struct.pack(">qq", 1, 1)),
        (decode_offset_sync, encode_string("t") + struct.pack(">i", 0), b"\x00"),
        (decode_heartbeat, encode_string("a") + encode_string("b"), b"\x00\x00"),
        (decode_connect_offset, b"not json", b"{}"),
    ],
)
def test_truncated_or_garbage_raises_decode_error(decode: object, key: bytes, value: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(key, value)  # type: ignore[operator]
