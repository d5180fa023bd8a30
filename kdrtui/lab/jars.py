"""Apache Kafka from Maven Central: one classpath per version, gathered once with Maven, then cached.

There is no tarball: Maven Central serves the broker (``kafka_2.13``) and MirrorMaker 2
(``connect-mirror``) as ordinary artifacts, and a throw-away ``pom.xml`` lets Maven resolve their
runtime dependencies into ``<cache>/kafka-<version>/libs``. The logging binding is not in Kafka's
published poms, so it is added here (reload4j for 3.x, log4j2 for 4.x), together with a logging
configuration that writes to a file and never to the console.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kdrtui import settings
from kdrtui.domain.kafka_release import SHIPPED_KAFKA_VERSION
from kdrtui.lab import process
from kdrtui.lab.prereqs import check_prerequisites

#: The Kafka version the lab uses unless told otherwise: the newest line with both MirrorMakers.
DEFAULT_KAFKA_VERSION = SHIPPED_KAFKA_VERSION

#: Maven 3.8's default maven-dependency-plugin predates what ``copy-dependencies`` needs here.
DEPENDENCY_PLUGIN_VERSION = "3.8.1"

#: How long Maven may take on a cold ``~/.m2`` (a few hundred MB over a slow link).
MVN_TIMEOUT_S = 900.0

_MARKER = "fetch.json"
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


class FetchError(RuntimeError):
    """Maven could not gather a working Kafka classpath. ``str()`` explains and names the log."""


def parse_version(version: str) -> tuple[int, int, int]:
    """``"3.9.1"`` as ``(3, 9, 1)``; anything else (it goes into a pom) is a :class:`ValueError`."""
    match = _VERSION_RE.match(version)
    if match is None:
        raise ValueError(f"not a Kafka release version: {version!r} (expected e.g. 3.9.1 or 4.1.0)")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


@dataclass(frozen=True)
class KafkaDistribution:
    """One fetched Kafka version: its jars and its logging configuration."""

    version: str
    home: Path

    @property
    def major(self) -> int:
        """3 or 4: decides the logging backend and whether MirrorMaker 1 exists."""
        return parse_version(self.version)[0]

    @property
    def libs(self) -> Path:
        """The directory of jars; the classpath is ``libs/*``."""
        return self.home / "libs"

    @property
    def classpath(self) -> str:
        """A JVM ``-cp`` value covering every jar (the JVM expands the wildcard, not the shell)."""
        return f"{self.libs}{os.sep}*"

    @property
    def log_config(self) -> Path:
        """log4j 1 (reload4j) properties for 3.x, log4j2 properties for 4.x."""
        return self.home / ("log4j.properties" if self.major < 4 else "log4j2.properties")

    @property
    def has_mirrormaker1(self) -> bool:
        """``kafka.tools.MirrorMaker`` was removed in 4.0 (KIP-720)."""
        return self.major < 4

    def required_classes(self) -> list[str]:
        """Main classes the lab and the MirrorMaker runners start from this classpath."""
        classes = ["kafka.Kafka", "kafka.tools.StorageTool", "org.apache.kafka.connect.mirror.MirrorMaker"]
        if self.has_mirrormaker1:
            classes.append("kafka.tools.MirrorMaker")
        return classes

    def logging_jvm_options(self, log_file: Path) -> list[str]:
        """System properties that point the JVM at this distribution's file-only logging config."""
        log_file = log_file.resolve()
        options = [f"-Dkdrtui.log.file={log_file}", f"-Dkafka.logs.dir={log_file.parent}"]
        if self.major < 4:
            options.append(f"-Dlog4j.configuration={self.log_config.resolve().as_uri()}")
        else:
            options.append(f"-Dlog4j2.configurationFile={self.log_config.resolve()}")
        return options

    def java_command(
        self,
        main_class: str,
        *args: str,
        log_file: Path,
        heap: str = "512m",
        jvm_options: Sequence[str] = (),
    ) -> list[str]:
        """The argv that runs ``main_class`` on this classpath, logging to ``log_file`` only.

        Serial GC and a capped heap keep two brokers and MirrorMaker usable on a 2-core laptop.
        """
        return [
            "java",
            f"-Xmx{heap}",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            *self.logging_jvm_options(log_file),
            *jvm_options,
            "-cp",
            self.classpath,
            main_class,
            *args,
        ]


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did."""

    distribution: KafkaDistribution
    cached: bool
    jars: int
    seconds: float


def distribution(version: str = DEFAULT_KAFKA_VERSION) -> KafkaDistribution:
    """Where ``version`` lives in the cache (fetched or not)."""
    parse_version(version)
    return KafkaDistribution(version=version, home=settings.cache_dir() / f"kafka-{version}")


def _logging_dependencies(version: str) -> list[tuple[str, str, str]]:
    major, minor, _ = parse_version(version)
    if major < 4:
        return [("org.slf4j", "slf4j-reload4j", "1.7.36"), ("ch.qos.reload4j", "reload4j", "1.2.25")]
    log4j = "2.24.3" if minor < 2 else "2.25.1"
    return [
        ("org.apache.logging.log4j", "log4j-slf4j-impl", log4j),
        ("org.apache.logging.log4j", "log4j-core", log4j),
        ("org.apache.logging.log4j", "log4j-api", log4j),
        # Kafka 4.x is built against SLF4J 1.7; a direct dependency wins Maven's "nearest" rule, so an
        # slf4j-api 2.x pulled in transitively cannot silently ignore the 1.x binding above.
        ("org.slf4j", "slf4j-api", "1.7.36"),
    ]


def render_pom(version: str) -> str:
    """The throw-away pom whose runtime dependencies are the lab's Kafka classpath."""
    deps = [
        ("org.apache.kafka", "kafka_2.13", version),
        ("org.apache.kafka", "connect-mirror", version),
        *_logging_dependencies(version),
    ]
    dep_xml = "\n".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>"
        for g, a, v in deps
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by kdrtui: gathers Apache Kafka {version} and a logging binding for the rehearsal lab. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kdrtui.lab</groupId>
  <artifactId>kafka-classpath</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
{dep_xml}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>{DEPENDENCY_PLUGIN_VERSION}</version>
      </plugin>
    </plugins>
  </build>
</project>
"""


# Root at INFO into one rolling file; the chattiest loggers (client config dumps, per-request logs)
# at WARN; no console appender at all, because the JVM's stdout is a log file too and the console
# that started it is a TUI.
_QUIET_LOGGERS = (
    "org.apache.kafka.clients",
    "org.apache.kafka.common.utils.AppInfoParser",
    "org.apache.kafka.common.metrics",
    "org.apache.kafka.connect.runtime.distributed.DistributedConfig",
    "org.apache.kafka.connect.mirror.MirrorMakerConfig",
    "kafka.request.logger",
    "state.change.logger",
    "kafka.authorizer.logger",
)

_LOG4J1 = """# Written by kdrtui. INFO to ${{kdrtui.log.file}}; noisy loggers at WARN; no console.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${{kdrtui.log.file}}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
{quiet}
"""

_LOG4J2 = """# Written by kdrtui. INFO to ${{sys:kdrtui.log.file}}; noisy loggers at WARN; no console.
status = error
name = kdrtui-lab
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${{sys:kdrtui.log.file}}
appender.file.filePattern = ${{sys:kdrtui.log.file}}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
{quiet}
"""


def render_log_config(version: str) -> str:
    """The logging configuration for ``version`` (log4j 1 syntax for 3.x, log4j2 for 4.x)."""
    if parse_version(version)[0] < 4:
        quiet = "\n".join(f"log4j.logger.{name}=WARN" for name in _QUIET_LOGGERS)
        return _LOG4J1.format(quiet=quiet)
    quiet = "\n".join(
        f"logger.q{i}.name = {name}\nlogger.q{i}.level = WARN" for i, name in enumerate(_QUIET_LOGGERS)
    )
    return _LOG4J2.format(quiet=quiet)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    # Two `lab up`s (or a test run beside a developer's lab) must not run Maven into one directory.
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _cached_jars(dist: KafkaDistribution) -> list[str] | None:
    """The jar list from the completion marker, if every jar it names is still there."""
    try:
        marker = json.loads((dist.home / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    jars = marker.get("jars") if isinstance(marker, dict) else None
    if not isinstance(jars, list) or not jars:
        return None
    if not all((dist.libs / str(name)).is_file() for name in jars):
        return None
    return [str(name) for name in jars]


def is_fetched(version: str = DEFAULT_KAFKA_VERSION) -> bool:
    """Whether ``version`` is complete in the cache (so no Maven, and no ``mvn`` on PATH, is needed)."""
    return _cached_jars(distribution(version)) is not None


def missing_classes(libs: Path, classes: Sequence[str]) -> list[str]:
    """Which of ``classes`` no jar in ``libs`` contains (read from the jars' zip directories)."""
    wanted = {c.replace(".", "/") + ".class": c for c in classes}
    for jar in sorted(libs.glob("*.jar")):
        if not wanted:
            break
        try:
            with zipfile.ZipFile(jar) as zf:
                names = set(zf.namelist())
        except zipfile.BadZipFile as exc:
            raise FetchError(f"{jar} is not a valid jar ({exc}); run `kdrtui lab fetch --force`") from exc
        for entry in [e for e in wanted if e in names]:
            del wanted[entry]
    return sorted(wanted.values())


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def fetch(
    version: str = DEFAULT_KAFKA_VERSION,
    *,
    force: bool = False,
    report: Callable[[str], None] | None = None,
) -> FetchResult:
    """Make sure Kafka ``version`` is in the cache; return it.

    Instant when a previous fetch completed (a marker lists the jars). Otherwise runs Maven into a
    staging directory, checks that the broker, StorageTool and MirrorMaker classes are really on the
    classpath, and only then swaps the staging directory in and writes the marker, so an interrupted
    fetch is never mistaken for a complete one.

    Raises:
        PrerequisiteError: ``java`` or ``mvn`` is missing, or Java is older than 17.
        FetchError: Maven failed, or the jars lack a required class.
    """
    started = time.monotonic()
    dist = distribution(version)
    say = report or (lambda _msg: None)
    with _locked(dist.home):
        _write_atomic(dist.log_config, render_log_config(version))
        jars = None if force else _cached_jars(dist)
        if jars is not None:
            return FetchResult(dist, cached=True, jars=len(jars), seconds=time.monotonic() - started)

        check_prerequisites(need_mvn=True)
        say(f"Fetching Apache Kafka {version} from Maven Central into {dist.libs} ...")
        (dist.home / _MARKER).unlink(missing_ok=True)
        pom = dist.home / "pom.xml"
        _write_atomic(pom, render_pom(version))
        staging = dist.home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        log = dist.home / "mvn.log"
        cmd = [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        try:
            with open(log, "w", encoding="utf-8") as out:
                proc = subprocess.run(
                    cmd,
                    cwd=dist.home,
                    env=process.lab_env(),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=MVN_TIMEOUT_S,
                    check=False,
                )
        except subprocess.TimeoutExpired as exc:
            raise FetchError(f"Maven did not finish within {MVN_TIMEOUT_S:.0f} s; see {log}") from exc
        if proc.returncode != 0:
            raise FetchError(
                f"Maven could not fetch Apache Kafka {version} (exit {proc.returncode}); see {log}:\n"
                + _tail(log)
            )
        missing = missing_classes(staging, dist.required_classes())
        if missing:
            raise FetchError(
                f"the jars Maven fetched for Kafka {version} lack {', '.join(missing)}; see {log}"
            )
        shutil.rmtree(dist.libs, ignore_errors=True)
        os.replace(staging, dist.libs)
        names = sorted(p.name for p in dist.libs.glob("*.jar"))
        marker = {
            "version": version,
            "jars": names,
            "fetched_at": time.time(),
            "checked": dist.required_classes(),
        }
        _write_atomic(dist.home / _MARKER, json.dumps(marker, indent=2) + "\n")
        return FetchResult(dist, cached=False, jars=len(names), seconds=time.monotonic() - started)
