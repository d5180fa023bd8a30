"""Missing or old Java, missing Maven: one clear message and exit status 2 (no Kafka needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.commands.lab import lab_group
from kdrtui.lab import jars
from kdrtui.lab.prereqs import PrerequisiteError, check_prerequisites, java_major

REPO = Path(__file__).resolve().parents[2]


def fake_java(bin_dir: Path, version: str) -> None:
    """A ``java`` that reports ``version`` the way OpenJDK does (on stderr)."""
    script = bin_dir / "java"
    script.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2020-01-01' >&2\n")
    script.chmod(0o755)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, str]:
    """A fresh lab directory, an empty jar cache and a private log directory."""
    return {
        "KDRTUI_LAB_DIR": str(tmp_path / "lab"),
        "KDRTUI_CACHE_DIR": str(tmp_path / "cache"),
        "KDRTUI_STATE_DIR": str(tmp_path / "state"),
    }


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "11.0.2" 2019-01-15 LTS', 11),
        ("no version here", None),
    ],
)
def test_java_major(output: str, major: int | None) -> None:
    assert java_major(output) == major


def test_missing_java_is_one_message_and_exit_2(bin_dir: Path, isolated: dict[str, str]) -> None:
    result = CliRunner().invoke(lab_group, ["up"], env={**isolated, "PATH": str(bin_dir)})

    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0].startswith(
        "kdrtui lab: java not found on PATH: kdrtui's lab runs Apache Kafka on Java 17+"
    )
    assert "apt-get install openjdk-17-jre-headless" in result.output and "java -version" in result.output
    # Maven is missing too: named in the same message, one line each.
    assert len(lines) == 2 and lines[1].startswith("mvn not found on PATH")
    assert "Traceback" not in result.output


def test_old_java_names_its_version(bin_dir: Path, isolated: dict[str, str]) -> None:
    fake_java(bin_dir, "11.0.2")
    # A real subprocess: the exit status is the process's own, not CliRunner's.
    env = {**os.environ, **isolated, "PATH": str(bin_dir), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", "from kdrtui.commands.lab import lab_group; lab_group()", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert f'{bin_dir / "java"} is Java 11 (openjdk version "11.0.2" 2020-01-01)' in proc.stderr
    assert "runs Apache Kafka on Java 17+" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_mvn_is_reported_when_jars_must_be_fetched(bin_dir: Path, isolated: dict[str, str]) -> None:
    fake_java(bin_dir, "17.0.15")

    result = CliRunner().invoke(lab_group, ["fetch"], env={**isolated, "PATH": str(bin_dir)})

    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "kdrtui lab: mvn not found on PATH: kdrtui fetches Apache Kafka's jars from Maven Central with "
        "Apache Maven. Install it (Debian/Ubuntu: apt-get install maven; or unpack Apache Maven 3.8+ and "
        "put its bin/ directory on PATH) and check with `mvn -v`."
    ]


def test_mvn_is_not_needed_once_the_jars_are_cached(bin_dir: Path) -> None:
    if not jars.is_fetched(jars.DEFAULT_KAFKA_VERSION):
        pytest.skip("the default Kafka version is not in the jar cache yet")
    fake_java(bin_dir, "17.0.15")

    result = CliRunner().invoke(lab_group, ["fetch"], env={"PATH": str(bin_dir)})

    assert result.exit_code == 0, result.output
    assert "already cached" in result.output


def test_check_prerequisites_passes_with_real_tools(monkeypatch: pytest.MonkeyPatch, bin_dir: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("java not found on PATH")
    info = check_prerequisites(need_mvn=False)
    assert info.major >= 17
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(PrerequisiteError, match="java not found on PATH"):
        check_prerequisites(need_mvn=False)
