"""Ship a Kafka release's jars to an edge node, so MirrorMaker runs from a release kdrtui chose.

An edge node whose ``mirrormaker_kafka`` names a release (``"3.9.1"``) runs MirrorMaker from
``<work_dir>/kafka/<release>/libs``. :func:`ship_release` makes that directory hold exactly the jars of
kdrtui's local copy of the release: it asks the node for the sha256 of each jar there (``release.sh``), and
uploads over SFTP only the jars that are missing or differ (each atomically: a temporary name, then a
rename), then removes jars the release does not have. A second deploy uploads nothing; a jar damaged on the
node is uploaded again.

The local copy is the one the lab's Maven fetch keeps (``<cache>/kafka-<release>/libs`` with its
``fetch.json``): :func:`cached_libs` finds it; ``kdrtui mm`` fetches a missing one first.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kdrtui import settings
from kdrtui.services.mirrormaker.node_scripts import command
from kdrtui.services.ssh import EdgeSession

ReleaseSource = Callable[[str], Path]
"""Release version -> the local directory of its jars (may fetch them first; blocking)."""

Say = Callable[[str], None]


class ReleaseError(RuntimeError):
    """The release cannot be shipped: kdrtui has no copy of it, or the node cannot check its jars."""


def cached_libs(version: str) -> Path:
    """The jars of ``version`` in kdrtui's cache, as a complete fetch left them.

    Raises:
        ReleaseError: the release is not (completely) in the cache.
    """
    home = settings.cache_dir() / f"kafka-{version}"
    try:
        marker = json.loads((home / "fetch.json").read_text(encoding="utf-8"))
        names = [str(n) for n in marker["jars"]]
    except (OSError, ValueError, KeyError, TypeError):
        names = []
    if not names or not all((home / "libs" / n).is_file() for n in names):
        raise ReleaseError(
            f"Apache Kafka {version}'s jars are not in kdrtui's cache ({home / 'libs'}): "
            f"fetch them with `kdrtui lab fetch --kafka-version {version}`"
        )
    return home / "libs"


@functools.cache
def _digest(path: Path, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime too: a jar replaced in the cache is hashed again.
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def local_jars(libs: Path) -> dict[str, tuple[int, str]]:
    """Each jar of ``libs``: name -> (size, sha256)."""
    found = {}
    for jar in sorted(libs.glob("*.jar")):
        stat = jar.stat()
        found[jar.name] = (stat.st_size, _digest(jar.resolve(), stat.st_size, stat.st_mtime_ns))
    return found


def parse_digests(output: str) -> dict[str, str]:
    """``release.sh``'s output as name -> sha256.

    Raises:
        ReleaseError: the node has no ``sha256sum``.
    """
    if output.strip() == "nosha256sum":
        raise ReleaseError("the node has no sha256sum (GNU coreutils), so kdrtui cannot check the jars there")
    digests = {}
    for line in output.splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64:
            digests[name.strip()] = digest
    return digests


@dataclass(frozen=True)
class ShipResult:
    """What :func:`ship_release` did on one node."""

    version: str
    """The release."""
    remote_libs: str
    """Its jars' directory on the node."""
    jars: int
    """Jars in the release."""
    uploaded: tuple[str, ...]
    """Jars uploaded (missing on the node, or with another sha256)."""
    bytes: int
    """Bytes uploaded."""
    removed: tuple[str, ...]
    """Jars on the node the release does not have, removed."""
    seconds: float
    """How long checking and uploading took."""

    @property
    def changed(self) -> bool:
        """Whether anything on the node changed."""
        return bool(self.uploaded or self.removed)

    def summary(self, node: str) -> str:
        """One line for the operator."""
        where = f"{node}: Kafka {self.version} in {self.remote_libs}"
        if not self.changed:
            return f"{where}: {self.jars} jars up to date (sha256 checked)"
        removed = f", removed {len(self.removed)} other jar(s)" if self.removed else ""
        return (
            f"{where}: uploaded {len(self.uploaded)} of {self.jars} jars "
            f"({_mb(self.bytes)}) in {self.seconds:.1f} s{removed}"
        )


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


async def ship_release(
    session: EdgeSession, node: str, version: str, local: Path, remote_home: str, say: Say
) -> ShipResult:
    """Make ``<remote_home>/libs`` on the node hold exactly the jars of ``local`` (checked by sha256).

    Progress goes to ``say``: what is to upload, then about every tenth of the bytes.

    Raises:
        ReleaseError: the node cannot compute sha256 digests.
        SshError: the link failed (a retried ship uploads only what is still missing or different).
    """
    started = time.monotonic()
    remote_libs = f"{remote_home.rstrip('/')}/libs"
    jars = local_jars(local)
    remote = parse_digests((await session.run(command("release.sh", d=remote_libs), timeout=120)).stdout)
    todo = [name for name, (_size, digest) in jars.items() if remote.get(name) != digest]
    extra = sorted(set(remote) - set(jars))
    total = sum(jars[name][0] for name in todo)
    if todo:
        count = f"{len(todo)} of {len(jars)} jars, {_mb(total)}"
        say(f"{node}: uploading Kafka {version}: {count}, to {remote_libs}")
    done = 0
    step = max(total // 10, 1)
    reported = 0
    for name in todo:

        def progress(sent: int, _total: int, base: int = done) -> None:
            nonlocal reported
            if base + sent - reported >= step and base + sent < total:
                reported = base + sent
                say(f"{node}: Kafka {version}: {_mb(reported)} of {_mb(total)} uploaded")

        await session.upload(local / name, f"{remote_libs}/{name}", mode=0o644, progress=progress)
        done += jars[name][0]
    if extra:
        paths = " ".join(shlex.quote(f"{remote_libs}/{name}") for name in extra)
        await session.run(f"rm -f -- {paths}", timeout=60, check=True)
    return ShipResult(
        version, remote_libs, len(jars), tuple(todo), total, tuple(extra), time.monotonic() - started
    )


async def ship_for(
    session: EdgeSession,
    node: str,
    release: str | None,
    remote_home: str,
    source: ReleaseSource,
    progress: Say | None,
) -> list[str]:
    """Ship ``release`` (a deployment's, None: the node's own Kafka, nothing to do) from ``source`` to
    ``remote_home`` on the node, reporting to ``progress``; what changed, as ``kafka/<release>/libs``.

    Raises:
        ReleaseError: no local copy of the release, or the node cannot check its jars.
    """
    if release is None:
        return []
    say = progress or (lambda _m: None)
    local = await asyncio.to_thread(source, release)
    result = await ship_release(session, node, release, local, remote_home, say)
    say(result.summary(node))
    return [f"kafka/{release}/libs"] if result.changed else []
