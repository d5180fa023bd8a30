"""``kdrtui lab up --security`` is remembered and refuses a silent change; ``lab client-config`` prints a
config that really connects, as a confluent-kafka client and as Kafka's own Java tools."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient

from kdrtui.lab import jars
from kdrtui.lab.lab import DR, PRIMARY, Lab, LabError
from tests.lab_helpers import run_kdrtui

pytestmark = pytest.mark.lab


def lab_env(lab: Lab) -> dict[str, str]:
    return {**os.environ, "KDRTUI_LAB_DIR": str(lab.home)}


def test_client_config_json_connects_as_the_lab_user(secured_lab: Lab, unique_name: str) -> None:
    shown = run_kdrtui("lab", "client-config", PRIMARY, "--user", "app", env=lab_env(secured_lab))
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    assert settings["bootstrap.servers"] == secured_lab.bootstrap(PRIMARY)
    assert settings["security.protocol"] == "SASL_SSL" and settings["sasl.username"] == "app"
    # app writes (the lab's ACLs allow it) ...
    admin = AdminClient({**settings, "client.id": "t"})
    from confluent_kafka.admin import NewTopic

    admin.create_topics([NewTopic(unique_name, 1)])[unique_name].result(timeout=30)
    producer = Producer(settings)
    producer.produce(unique_name, b"x")
    assert producer.flush(30) == 0
    # ... and a client without the lab's settings is refused.
    plain = AdminClient({"bootstrap.servers": secured_lab.bootstrap(PRIMARY), "socket.timeout.ms": 3000})
    with pytest.raises(KafkaException):
        plain.list_topics(timeout=3)


def test_client_config_properties_work_with_kafkas_java_tools(secured_lab: Lab, tmp_path: Path) -> None:
    shown = run_kdrtui(
        "lab", "client-config", DR, "--user", "admin", "--format", "properties", env=lab_env(secured_lab)
    )
    assert shown.returncode == 0, shown.stderr
    config = tmp_path / "admin.properties"
    config.write_text(shown.stdout)
    dist = jars.distribution(secured_lab.kafka_version)
    command = dist.java_command(
        "kafka.admin.AclCommand",
        "--bootstrap-server",
        secured_lab.bootstrap(DR),
        "--command-config",
        str(config),
        "--list",
        log_file=tmp_path / "acl-command.log",
        heap="256m",
    )
    listed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    # The lab's ACLs, read back by Kafka's own tool over SASL_SSL as admin.
    assert "User:mirrormaker" in listed.stdout and "User:app" in listed.stdout


def test_the_security_mode_is_remembered_and_a_change_is_refused(secured_lab: Lab) -> None:
    again = Lab(secured_lab.home)
    assert again.security.mode == "sasl_ssl"
    other = Lab(secured_lab.home, security="plaintext")
    with pytest.raises(LabError, match=r"--security sasl_ssl.*lab down --purge"):
        other.up()


def test_lab_status_says_the_security_mode(secured_lab: Lab) -> None:
    shown = run_kdrtui("lab", "status", "--json", env=lab_env(secured_lab))
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["security"] == "sasl_ssl"
    text = run_kdrtui("lab", "status", env=lab_env(secured_lab))
    assert "security: sasl_ssl" in text.stdout
