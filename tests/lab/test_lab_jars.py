"""The Maven-built Kafka classpath: pom, logging config, cache marker, class checks."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from kdrtui.lab import jars


def dependencies(version: str) -> set[tuple[str, str, str]]:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.fromstring(jars.render_pom(version))
    found = set()
    for dep in root.iterfind("m:dependencies/m:dependency", ns):
        group, artifact, ver = (
            dep.findtext(f"m:{tag}", "", ns) for tag in ("groupId", "artifactId", "version")
        )
        found.add((group, artifact, ver))
    return found


def test_pom_for_3_9_uses_reload4j() -> None:
    deps = dependencies("3.9.1")
    assert ("org.apache.kafka", "kafka_2.13", "3.9.1") in deps
    assert ("org.apache.kafka", "connect-mirror", "3.9.1") in deps
    assert ("org.slf4j", "slf4j-reload4j", "1.7.36") in deps
    assert ("ch.qos.reload4j", "reload4j", "1.2.25") in deps
    assert "<version>3.8.1</version>" in jars.render_pom("3.9.1")  # maven-dependency-plugin pinned


def test_pom_for_4_x_uses_log4j2_and_pins_slf4j_1_7() -> None:
    deps = dependencies("4.1.0")
    for artifact in ("log4j-slf4j-impl", "log4j-core", "log4j-api"):
        assert ("org.apache.logging.log4j", artifact, "2.24.3") in deps
    assert ("org.slf4j", "slf4j-api", "1.7.36") in deps
    assert not any(a == "reload4j" for _, a, _ in deps)


def test_versions_are_checked_before_they_reach_the_pom() -> None:
    with pytest.raises(ValueError, match="not a Kafka release version"):
        jars.parse_version("3.9.1</version><evil/>")


@pytest.mark.parametrize("version", ["3.9.1", "4.1.0"])
def test_log_config_writes_to_a_file_and_never_to_the_console(version: str) -> None:
    text = jars.render_log_config(version)
    assert "Console" not in text and "stdout" not in text.lower()
    assert "kdrtui.log.file" in text
    assert ("rootLogger=INFO, file" in text) or ("rootLogger.level = INFO" in text)


def test_mirrormaker_1_is_required_only_before_kafka_4() -> None:
    assert "kafka.tools.MirrorMaker" in jars.distribution("3.9.1").required_classes()
    assert "kafka.tools.MirrorMaker" not in jars.distribution("4.1.0").required_classes()
    assert "org.apache.kafka.connect.mirror.MirrorMaker" in jars.distribution("4.1.0").required_classes()


@pytest.mark.lab
def test_cached_fetch_is_instant_and_complete(lab: object) -> None:
    # The session lab fetched the default version into the normal cache.
    started = time.monotonic()
    result = jars.fetch()
    took = time.monotonic() - started

    assert result.cached and took < 2.0, took  # no Maven, no zip reading
    dist = result.distribution
    assert dist.libs == jars.settings.cache_dir() / "kafka-3.9.1" / "libs"
    assert jars.missing_classes(dist.libs, dist.required_classes()) == []
    assert jars.missing_classes(dist.libs, ["org.slf4j.impl.StaticLoggerBinder"]) == []  # a binding
    assert dist.log_config.is_file()


@pytest.mark.lab
def test_kafka_3_2_0_hdinsight_5_1s_release_is_fetched_with_its_own_dependencies() -> None:
    """3.2.0's classpath differs from 3.9.1's (ZooKeeper-era jars, Jetty 9, jackson 2.12), but the same pom
    gives a complete one: broker, StorageTool, both MirrorMakers, and one SLF4J binding (reload4j)."""
    dist = jars.fetch("3.2.0").distribution
    names = {jar.name for jar in dist.libs.glob("*.jar")}
    for jar in ("kafka_2.13-3.2.0.jar", "connect-mirror-3.2.0.jar", "connect-runtime-3.2.0.jar"):
        assert jar in names
    assert {"reload4j-1.2.25.jar", "slf4j-reload4j-1.7.36.jar"} <= names
    assert not any(n.startswith(("log4j-1.", "slf4j-log4j12")) for n in names), "one binding only"
    assert jars.missing_classes(dist.libs, dist.required_classes()) == []
    assert jars.missing_classes(dist.libs, ["org.slf4j.impl.StaticLoggerBinder"]) == []
