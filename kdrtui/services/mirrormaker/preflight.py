"""What the MirrorMaker pre-flight found on an edge node, read from ``preflight.sh``'s output.

The node's Java is read from ``java -version`` there (never assumed) and held against what the Kafka
release MirrorMaker will run needs (:func:`kdrtui.domain.kafka_release.required_java`): the release kdrtui
ships to the node (``mirrormaker_kafka``), or the one whose jars are in ``kafka_home/libs``. A MirrorMaker
2 older than 3.5 runs, with a warning about its offset translation.
"""

from __future__ import annotations

from dataclasses import dataclass

from kdrtui.domain.kafka_release import (
    java_major,
    required_java,
    shipped,
    translation_warning,
    version_from_jars,
)
from kdrtui.domain.plan import EdgeNode


@dataclass(frozen=True)
class PreflightReport:
    """The node's Java, the release MirrorMaker will run, and what stops it or deserves a warning."""

    problem: str | None
    """The first thing that stops MirrorMaker running on the node; None when it can run."""
    kafka_version: str | None = None
    """The Kafka release MirrorMaker will run (None when the jars do not say)."""
    java: int | None = None
    """The node's Java feature release (8, 11, 17...)."""
    warnings: tuple[str, ...] = ()
    """What does not stop it, but the operator must know (an MM2 older than 3.5)."""


def preflight_report(output: str, node: EdgeNode) -> PreflightReport:
    """Read the pre-flight script's output for ``node``
    (:func:`~kdrtui.services.mirrormaker.node_scripts.preflight_script`)."""
    facts = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    where = f"on {node.name} ({node.user}@{node.host}:{node.port})"
    release = shipped(node.mirrormaker_kafka)
    version = release or version_from_jars([facts.get("mm2jar", ""), facts.get("corejar", "")])
    need = required_java(version)
    running = f"Kafka {version}'s MirrorMaker" if version else "MirrorMaker"
    if facts.get("java", "missing") == "missing":
        return PreflightReport(
            f"java not found on PATH {where}: {running} needs Java {need}+ on the edge node", version
        )
    java = java_major(facts["java"])
    if java is not None and java < need:
        return PreflightReport(
            f"Java {java} {where}: {running} needs Java {need}+ ({facts['java'].strip()})", version, java
        )
    if release is None:
        if facts.get("libs") != "1":
            return PreflightReport(
                f"kafka_home {node.kafka_home} {where} has no libs/ directory: set [[edge_nodes]] kafka_home "
                "to the directory that holds Kafka's libs/ (or mirrormaker_kafka to a release kdrtui ships)",
                version,
                java,
            )
        if facts.get("mm2", "0").strip() in ("", "0") or facts.get("core", "0").strip() in ("", "0"):
            return PreflightReport(
                f"kafka_home {node.kafka_home} {where}: libs/ lacks Kafka's core or connect-mirror jars",
                version,
                java,
            )
    warning = translation_warning(version)
    return PreflightReport(None, version, java, (f"{node.name}: {warning}",) if warning else ())
