"""The edge-node pre-flight check, its shell snippet run for real with /bin/sh."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kdrtui.domain.plan import EdgeNode
from kdrtui.services.mirrormaker.manager import preflight_problem, preflight_script
from kdrtui.services.mirrormaker.preflight import preflight_report

NODE = EdgeNode(name="dr-edge-1", cluster="dr", host="10.1.0.4", user="sshuser", kafka_home="/opt/kafka")


def run(kafka_home: Path, path: str) -> str:
    env = {**os.environ, "PATH": path}
    return subprocess.run(
        ["/bin/sh", "-c", preflight_script(str(kafka_home))],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout


def fake_java(bin_dir: Path, version: str) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    java = bin_dir / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-16' >&2\n")
    java.chmod(0o755)


def kafka(tmp_path: Path, jars: list[str]) -> Path:
    libs = tmp_path / "kafka" / "libs"
    libs.mkdir(parents=True)
    for jar in jars:
        (libs / jar).write_bytes(b"")
    return libs.parent


def tools_path(tmp_path: Path) -> str:
    """A PATH with the shell tools the snippet needs, and no java."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for name in ("ls", "grep", "head", "sed"):
        found = shutil.which(name)
        assert found
        (tools / name).symlink_to(found)
    return str(tools)


GOOD_JARS = ["kafka_2.13-3.9.1.jar", "connect-mirror-3.9.1.jar"]


def test_missing_java(tmp_path: Path) -> None:
    problem = preflight_problem(run(kafka(tmp_path, GOOD_JARS), tools_path(tmp_path)), NODE)
    where = "on dr-edge-1 (sshuser@10.1.0.4:22)"
    assert (
        problem == f"java not found on PATH {where}: Kafka 3.9.1's MirrorMaker needs Java 8+ on the edge node"
    )


def test_java_is_held_against_the_release_in_kafka_home(tmp_path: Path) -> None:
    """3.x runs on Java 8 and later, 4.x needs 17: the node's Java is read, never assumed."""
    fake_java(tmp_path / "jdk11", "11.0.22")
    path = f"{tmp_path / 'jdk11'}:{tools_path(tmp_path)}"
    assert preflight_problem(run(kafka(tmp_path / "3", GOOD_JARS), path), NODE) is None
    new = ["kafka_2.13-4.1.0.jar", "connect-mirror-4.1.0.jar"]
    problem = preflight_problem(run(kafka(tmp_path / "4", new), path), NODE)
    assert problem is not None and problem.startswith("Java 11 on dr-edge-1")
    assert "Kafka 4.1.0's MirrorMaker needs Java 17+" in problem


def test_java_8_version_scheme(tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk8", "1.8.0_412")
    path = f"{tmp_path / 'jdk8'}:{tools_path(tmp_path)}"
    report = preflight_report(run(kafka(tmp_path / "3", GOOD_JARS), path), NODE)
    assert (report.problem, report.java, report.kafka_version) == (None, 8, "3.9.1")
    problem = preflight_problem(run(kafka(tmp_path / "4", ["connect-mirror-4.0.0.jar"]), path), NODE)
    assert problem is not None and problem.startswith("Java 8 on dr-edge-1")


def test_java_tool_options_line_is_skipped(tmp_path: Path) -> None:
    """With JAVA_TOOL_OPTIONS set, java prints "Picked up ..." before its version line."""
    bin_dir = tmp_path / "jdk"
    bin_dir.mkdir()
    (bin_dir / "java").write_text(
        "#!/bin/sh\n(echo 'Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF-8';"
        " echo 'openjdk version \"1.8.0_392\"') >&2\n"
    )
    (bin_dir / "java").chmod(0o755)
    report = preflight_report(run(kafka(tmp_path, GOOD_JARS), f"{bin_dir}:{tools_path(tmp_path)}"), NODE)
    assert (report.problem, report.java) == (None, 8)


def test_a_shipped_release_needs_no_kafka_home_and_sets_the_java_rule(tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk11", "11.0.22")
    path = f"{tmp_path / 'jdk11'}:{tools_path(tmp_path)}"
    out = run(tmp_path / "nowhere", path)
    shipped = NODE.model_copy(update={"mirrormaker_kafka": "3.9.1"})
    report = preflight_report(out, shipped)
    assert (report.problem, report.kafka_version, report.warnings) == (None, "3.9.1", ())
    newer = NODE.model_copy(update={"mirrormaker_kafka": "4.1.0"})
    problem = preflight_problem(out, newer)
    assert problem is not None and "Kafka 4.1.0's MirrorMaker needs Java 17+" in problem


def test_a_mirrormaker_older_than_3_5_is_a_warning(tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk8", "1.8.0_392")
    hdinsight = ["kafka_2.12-3.2.0.jar", "connect-mirror-3.2.0.jar", "connect-mirror-client-3.2.0.jar"]
    report = preflight_report(
        run(kafka(tmp_path, hdinsight), f"{tmp_path / 'jdk8'}:{tools_path(tmp_path)}"), NODE
    )
    assert report.problem is None and report.kafka_version == "3.2.0"
    (warning,) = report.warnings
    assert warning.startswith("dr-edge-1: MirrorMaker 3.2.0 is older than 3.5")
    assert "KAFKA-12468" in warning and "too far back" in warning


def test_wrong_kafka_home(tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk17", "17.0.15")
    out = run(tmp_path / "nowhere", f"{tmp_path / 'jdk17'}:{tools_path(tmp_path)}")
    problem = preflight_problem(out, NODE)
    assert problem is not None and "has no libs/ directory" in problem and "/opt/kafka" in problem


def test_libs_without_mirrormaker(tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk17", "17.0.15")
    out = run(kafka(tmp_path, ["kafka_2.13-3.9.1.jar"]), f"{tmp_path / 'jdk17'}:{tools_path(tmp_path)}")
    problem = preflight_problem(out, NODE)
    assert problem is not None and "lacks Kafka's core or connect-mirror jars" in problem


def test_a_good_node_passes(tmp_path: Path) -> None:
    fake_java(tmp_path / "jdk17", "17.0.15")
    out = run(kafka(tmp_path, GOOD_JARS), f"{tmp_path / 'jdk17'}:{tools_path(tmp_path)}")
    assert preflight_problem(out, NODE) is None


def test_the_real_java_version_outputs_of_this_machine(tmp_path: Path) -> None:
    """The JDKs installed here (Debian's OpenJDK 17, Temurin 25 when present) through the real script,
    JAVA_TOOL_OPTIONS set so java prints "Picked up ..." first."""
    jdks = {
        17: Path("/usr/lib/jvm/java-17-openjdk-amd64/bin"),
        25: Path("/usr/lib/jvm/temurin-25-jdk-amd64/bin"),
    }
    found = {major: bin_dir for major, bin_dir in jdks.items() if (bin_dir / "java").exists()}
    if not found:
        pytest.skip("no JDK at the usual Debian paths")
    tools = tools_path(tmp_path)
    for major, bin_dir in found.items():
        env = {**os.environ, "PATH": f"{bin_dir}:{tools}", "JAVA_TOOL_OPTIONS": "-Xss1m"}
        out = subprocess.run(
            ["/bin/sh", "-c", preflight_script(str(kafka(tmp_path / str(major), GOOD_JARS)))],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        report = preflight_report(out, NODE)
        assert (report.problem, report.java, report.kafka_version) == (None, major, "3.9.1"), out
