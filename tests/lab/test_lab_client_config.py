"""confluent-kafka clients built by kdrtui log through Python and never print to the terminal."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from kdrtui.services.kafka.config import KAFKA_LOGGER_NAME, client_config

REPO = Path(__file__).resolve().parents[2]


def test_client_config_defaults_and_overrides() -> None:
    config = client_config("127.0.0.1:1", **{"group.id": "g", "reconnect.backoff.max.ms": 500})

    assert config["bootstrap.servers"] == "127.0.0.1:1"
    assert config["logger"].logger is logging.getLogger(KAFKA_LOGGER_NAME)  # per client, noting reasons
    assert config["group.id"] == "g"
    assert config["reconnect.backoff.max.ms"] == 500
    assert config["socket.connection.setup.timeout.ms"] == 3000
    assert client_config("x")["reconnect.backoff.max.ms"] == 1000


def test_clients_against_a_dead_broker_print_nothing() -> None:
    # A fresh interpreter with no logging configured: librdkafka's connection errors must reach
    # neither stderr directly nor through Python's last-resort handler.
    code = """
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from kdrtui.services.kafka.config import client_config
p = Producer(client_config("127.0.0.1:1", **{"message.timeout.ms": 1500}))
p.produce("t", b"v")
p.flush(3)
try:
    AdminClient(client_config("127.0.0.1:1")).list_topics(timeout=1.5)
except Exception:
    pass
"""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
