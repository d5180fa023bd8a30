"""The Kafka release MirrorMaker runs from: the plan rule, the Java it needs, the version its jars carry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kdrtui.domain.kafka_release import (
    SHIPPED_KAFKA_VERSION,
    java_major,
    mirrormaker_kafka_rule,
    required_java,
    translation_warning,
    version_from_jars,
)
from kdrtui.domain.plan import EdgeNode

# `java -version` as real JDKs print it (on stderr), whole.
OPENJDK_8 = """openjdk version "1.8.0_392"
OpenJDK Runtime Environment (build 1.8.0_392-8u392-ga-1~22.04-b08)
OpenJDK 64-Bit Server VM (build 25.392-b08, mixed mode)
"""
ZULU_8 = """openjdk version "1.8.0_392"
OpenJDK Runtime Environment (Zulu 8.74.0.17-CA-linux64) (build 1.8.0_392-b08)
OpenJDK 64-Bit Server VM (Zulu 8.74.0.17-CA-linux64) (build 25.392-b08, mixed mode)
"""
ORACLE_8 = """java version "1.8.0_391"
Java(TM) SE Runtime Environment (build 1.8.0_391-b13)
Java HotSpot(TM) 64-Bit Server VM (build 25.391-b13, mixed mode)
"""
OPENJDK_17 = """openjdk version "17.0.15" 2025-04-15
OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)
OpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)
"""
MICROSOFT_17 = """openjdk version "17.0.9" 2023-10-17 LTS
OpenJDK Runtime Environment Microsoft-8552253 (build 17.0.9+8-LTS)
OpenJDK 64-Bit Server VM Microsoft-8552253 (build 17.0.9+8-LTS, mixed mode, sharing)
"""
ZULU_17 = """openjdk version "17.0.9" 2023-10-17 LTS
OpenJDK Runtime Environment Zulu17.46+19-CA (build 17.0.9+8-LTS)
OpenJDK 64-Bit Server VM Zulu17.46+19-CA (build 17.0.9+8-LTS, mixed mode, sharing)
"""
MICROSOFT_11 = """openjdk version "11.0.21" 2023-10-17 LTS
OpenJDK Runtime Environment Microsoft-8519923 (build 11.0.21+9-LTS)
OpenJDK 64-Bit Server VM Microsoft-8519923 (build 11.0.21+9-LTS, mixed mode)
"""
TEMURIN_21 = """openjdk version "21" 2023-09-19 LTS
OpenJDK Runtime Environment Temurin-21+35 (build 21+35-LTS)
OpenJDK 64-Bit Server VM Temurin-21+35 (build 21+35-LTS, mixed mode, sharing)
"""
PICKED_UP = 'Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF-8 -Dx="1.2"\n' + ZULU_8


@pytest.mark.parametrize(
    ("output", "major"),
    [
        (OPENJDK_8, 8),
        (ZULU_8, 8),
        (ORACLE_8, 8),
        (OPENJDK_17, 17),
        (MICROSOFT_17, 17),
        (ZULU_17, 17),
        (MICROSOFT_11, 11),
        (TEMURIN_21, 21),
        ('openjdk version "22-ea" 2024-03-19', 22),
        (PICKED_UP, 8),
        (OPENJDK_8.splitlines()[0], 8),  # the one line the pre-flight sends
        (MICROSOFT_17.splitlines()[0], 17),
        ("bash: java: command not found", None),
        ("", None),
    ],
)
def test_java_major_reads_real_java_version_outputs(output: str, major: int | None) -> None:
    assert java_major(output) == major


@pytest.mark.parametrize(
    ("version", "java"),
    [("3.2.0", 8), ("3.9.1", 8), ("4.0.0", 17), ("4.1.0", 17), (None, 8), ("unknown", 8)],
)
def test_the_java_a_release_needs(version: str | None, java: int) -> None:
    assert required_java(version) == java


def test_version_from_jars() -> None:
    assert version_from_jars(["kafka-clients-3.2.0.jar", "zstd-jni-1.5.2-1.jar"]) == "3.2.0"
    assert version_from_jars(["connect-mirror-client-3.9.1.jar", "connect-mirror-3.9.1.jar"]) == "3.9.1"
    assert version_from_jars(["kafka_2.12-3.2.0.jar"]) == "3.2.0"  # HDInsight 5.1 ships Scala 2.12
    assert version_from_jars(["connect-mirror-client-3.9.1.jar", "jackson-core-2.12.6.jar"]) is None
    assert version_from_jars([""]) is None


def test_translation_warning_before_3_5_only() -> None:
    warning = translation_warning("3.2.0")
    assert warning is not None
    assert warning.startswith("MirrorMaker 3.2.0 is older than 3.5")
    assert "KAFKA-12468" in warning and "too far back" in warning and "missing" in warning
    assert translation_warning("3.4.1") is not None
    assert translation_warning("3.5.0") is None
    assert translation_warning(SHIPPED_KAFKA_VERSION) is None
    assert translation_warning(None) is None


def test_rule_takes_node_and_fetchable_releases() -> None:
    assert mirrormaker_kafka_rule("node") is None
    assert mirrormaker_kafka_rule("3.2.0") is None
    assert mirrormaker_kafka_rule("4.1.0") is None
    assert "x.y.z" in (mirrormaker_kafka_rule("3.9") or "")
    assert "3.x and 4.x" in (mirrormaker_kafka_rule("2.8.2") or "")


def node(**extra: object) -> EdgeNode:
    return EdgeNode.model_validate(
        {"name": "dr-edge-1", "cluster": "dr", "host": "h", "user": "u", "kafka_home": "/opt/kafka", **extra}
    )


def test_edge_node_mirrormaker_kafka_default_and_errors() -> None:
    assert node().mirrormaker_kafka == "node"
    assert node(mirrormaker_kafka="3.9.1").mirrormaker_kafka == "3.9.1"
    with pytest.raises(ValidationError) as caught:
        node(mirrormaker_kafka="latest")
    text = str(caught.value)
    assert "mirrormaker_kafka" in text and "'latest' is neither \"node\"" in text


def test_the_status_probe_names_the_release_of_the_jars_it_runs() -> None:
    from kdrtui.domain.mirrormaker import parse_probe

    head = "deployed=1\nmm.pid=42\nstarted_at=100\nalive=1\nkafkajar=connect-mirror-3.2.0.jar\nnow=160\n"
    status = parse_probe("dr-edge-1", "mm2-dr", head + "---log---\n")
    assert (status.pid, status.kafka_version) == (42, "3.2.0")
    assert status.to_dict()["kafka_version"] == "3.2.0"
    assert parse_probe("dr-edge-1", "mm2-dr", "deployed=1\nkafkajar=\n---log---\n").kafka_version is None


def test_a_plan_with_a_bad_release_names_the_field() -> None:
    from kdrtui.domain.plan import PlanInvalid, parse_plan
    from tests.samples import GOOD

    good = GOOD.read_text(encoding="utf-8")
    line = next(line for line in good.splitlines() if line.startswith("kafka_home"))
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(good.replace(line, f'{line}\nmirrormaker_kafka = "3.9"', 1))
    text = str(caught.value)
    assert "edge_nodes[0].mirrormaker_kafka: " in text and "'3.9' is neither \"node\"" in text, text
    shipped = parse_plan(good.replace(line, f'{line}\nmirrormaker_kafka = "3.9.1"', 1))
    assert shipped.edge_nodes[0].mirrormaker_kafka == "3.9.1"
