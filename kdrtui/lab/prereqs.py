"""Checks for the programs the lab needs (Java 17+ and Apache Maven), with one actionable message."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from kdrtui.lab.process import lab_env

#: Kafka 4.x brokers, Connect and MirrorMaker 2 need Java 17; 3.9 runs on it too.
MIN_JAVA = 17

_JAVA_HINT = (
    "Install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; or any JDK 17+ with its bin/ "
    "directory on PATH) and check with `java -version`."
)
_MVN_HINT = (
    "Install it (Debian/Ubuntu: apt-get install maven; or unpack Apache Maven 3.8+ and put its bin/ "
    "directory on PATH) and check with `mvn -v`."
)


class PrerequisiteError(RuntimeError):
    """A program the lab needs is missing or too old. ``str()`` is the message to show the user."""


@dataclass(frozen=True)
class JavaInfo:
    """The ``java`` found on PATH."""

    path: str
    major: int
    version_line: str


def java_major(version_output: str) -> int | None:
    """The major version in ``java -version`` output (``"1.8.0_392"`` is 8, ``"17.0.15"`` is 17)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:  # the pre-Java-9 scheme: 1.8 means 8
        major = int(match.group(2))
    return major


def _java_problem() -> tuple[str | None, JavaInfo | None]:
    path = shutil.which("java")
    if path is None:
        return (
            f"java not found on PATH: kdrtui's lab runs Apache Kafka on Java {MIN_JAVA}+. {_JAVA_HINT}",
            None,
        )
    try:
        proc = subprocess.run(
            [path, "-version"], env=lab_env(), capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return (
            f"{path} -version failed ({exc}): kdrtui's lab needs a working Java {MIN_JAVA}+. {_JAVA_HINT}",
            None,
        )
    # java -version writes to stderr; some wrappers use stdout.
    output = (proc.stderr or "") + (proc.stdout or "")
    first_line = output.strip().splitlines()[0] if output.strip() else ""
    major = java_major(output)
    if major is None:
        return (
            f"could not read the Java version from `{path} -version` (got {first_line!r}): "
            f"kdrtui's lab needs Java {MIN_JAVA}+. {_JAVA_HINT}",
            None,
        )
    if major < MIN_JAVA:
        return (
            f"{path} is Java {major} ({first_line}): kdrtui's lab runs Apache Kafka on Java {MIN_JAVA}+. "
            f"{_JAVA_HINT}",
            None,
        )
    return None, JavaInfo(path=path, major=major, version_line=first_line)


def _mvn_problem() -> str | None:
    if shutil.which("mvn") is None:
        return (
            "mvn not found on PATH: kdrtui fetches Apache Kafka's jars from Maven Central with "
            f"Apache Maven. {_MVN_HINT}"
        )
    return None


def check_java() -> JavaInfo:
    """The Java on PATH, or :class:`PrerequisiteError` if it is missing or older than 17."""
    problem, info = _java_problem()
    if problem is not None or info is None:
        raise PrerequisiteError(problem or "java check failed")
    return info


def check_prerequisites(*, need_mvn: bool = True) -> JavaInfo:
    """Check Java (always) and Maven (when jars must be fetched) and report every problem at once.

    Raises:
        PrerequisiteError: one message, a line per missing or unsuitable program.
    """
    java_problem, info = _java_problem()
    problems = [p for p in (java_problem, _mvn_problem() if need_mvn else None) if p]
    if problems or info is None:
        raise PrerequisiteError("\n".join(problems))
    return info
