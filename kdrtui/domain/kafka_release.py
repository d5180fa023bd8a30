"""Which Apache Kafka release MirrorMaker runs from on an edge node, and what that release needs (pure).

An edge node runs MirrorMaker either from the Kafka its image has (``kafka_home``: HDInsight 5.1 nodes
carry Kafka 3.2.0 under ``/usr/hdp/current/kafka-broker``) or from a release kdrtui ships to it over SFTP
(``mirrormaker_kafka = "3.9.1"``). The rules here decide, from version strings alone, what Java a release
needs, what an older MirrorMaker 2 gets wrong, and which version a directory of jars holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NODE = "node"
"""``mirrormaker_kafka`` value: run MirrorMaker from the node's own ``kafka_home``."""

SHIPPED_KAFKA_VERSION = "3.9.1"
"""The release kdrtui ships by default (and the lab runs): the newest line with MirrorMaker 1 and 2."""

FIXED_TRANSLATION = (3, 5, 0)
"""MirrorMaker 2 translates consumer offsets correctly from 3.5 on (KAFKA-12468 and follow-ups)."""

_RELEASE = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_JAR = re.compile(r"(?:kafka-clients|connect-mirror|kafka_2\.1[23])-(\d+\.\d+\.\d+)\.jar")
_JAVA = re.compile(r'version "([^"]*)"')


def parse_release(version: str) -> tuple[int, int, int] | None:
    """``"3.2.0"`` as ``(3, 2, 0)``; None for anything that is not an ``x.y.z`` release."""
    match = _RELEASE.fullmatch(version)
    if match is None:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def mirrormaker_kafka_rule(value: str) -> str | None:
    """The plan rule of ``mirrormaker_kafka``: ``node``, or a Kafka release kdrtui can fetch (3.x, 4.x)."""
    if value == NODE:
        return None
    release = parse_release(value)
    if release is None:
        return (
            f"'{value}' is neither \"node\" (run MirrorMaker from kafka_home) nor a Kafka release like "
            f"{SHIPPED_KAFKA_VERSION} (x.y.z) for kdrtui to ship to the node"
        )
    if release[0] not in (3, 4):
        return (
            f"'{value}': kdrtui ships Apache Kafka 3.x and 4.x releases (from Maven Central), e.g. "
            f"{SHIPPED_KAFKA_VERSION}"
        )
    return None


def required_java(version: str | None) -> int:
    """The oldest Java that runs Kafka ``version``'s clients, Connect and MirrorMaker: 17 for 4.x, 8 for
    older releases (Java 8 was deprecated in 3.0 and removed in 4.0). An unknown version asks for 8: what
    cannot be read is not assumed to need more."""
    release = parse_release(version) if version else None
    return 17 if release is not None and release[0] >= 4 else 8


def java_major(version_output: str) -> int | None:
    """The Java feature release from ``java -version``'s output (any of its lines, or all of them).

    ``openjdk version "1.8.0_392"`` (Java 8's scheme, OpenJDK, Zulu, Oracle's ``java version``) is 8;
    ``openjdk version "17.0.9" 2023-10-17 LTS`` (OpenJDK, Microsoft, Zulu) is 17; ``"21"`` and
    ``"22-ea"`` are 21 and 22. Lines like ``Picked up JAVA_TOOL_OPTIONS: ...`` are skipped. None when no
    line says a version.
    """
    match = _JAVA.search(version_output)
    if match is None:
        return None
    numbers = re.match(r"(\d+)(?:\.(\d+))?", match.group(1))
    if numbers is None:
        return None
    first, second = numbers.group(1), numbers.group(2)
    if first == "1" and second is not None:
        return int(second)
    return int(first)


def version_from_jars(names: Iterable[str]) -> str | None:
    """The Kafka release a directory of jars holds, from ``connect-mirror-<v>.jar``,
    ``kafka-clients-<v>.jar`` or ``kafka_2.13-<v>.jar`` (the first found in that order); None if none."""
    found: dict[str, str] = {}
    for name in names:
        match = _JAR.fullmatch(name.strip())
        if match is not None:
            found.setdefault(name.split("-", 1)[0].split("_")[0], match.group(1))
    for kind in ("connect", "kafka"):
        if kind in found:
            return found[kind]
    return None


def translation_warning(version: str | None) -> str | None:
    """What MirrorMaker 2 of ``version`` gets wrong about consumer offsets, when it is older than 3.5."""
    release = parse_release(version) if version else None
    if release is None or release >= FIXED_TRANSLATION:
        return None
    return (
        f"MirrorMaker {version} is older than 3.5: its checkpoints can translate consumer offsets wrongly "
        "(KAFKA-12468, fixed in 3.5): a translated group offset may be too far back (records read again) "
        "or missing (no translation past the last offset sync); run MirrorMaker from a release kdrtui "
        f'ships instead (mirrormaker_kafka = "{SHIPPED_KAFKA_VERSION}")'
    )


def shipped(mirrormaker_kafka: str) -> str | None:
    """The release kdrtui ships to the node for ``mirrormaker_kafka``; None for ``node``."""
    return None if mirrormaker_kafka == NODE else mirrormaker_kafka


def release_home(work_dir: str, version: str) -> str:
    """Where a shipped release lives on the node: ``<work_dir>/kafka/<version>`` (its jars in ``libs/``)."""
    return f"{work_dir.rstrip('/')}/kafka/{version}"
