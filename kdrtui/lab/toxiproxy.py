"""Toxiproxy, the network-fault proxy the lab's WAN runs on: built from source with Go, and its HTTP API.

Toxiproxy (github.com/Shopify/toxiproxy) is a Go program; there is no Python package of it. ``kdrtui lab
fetch`` builds its server with ``go install`` (about 20 s) into ``<cache>/toxiproxy/<version>/server``
when Go is on PATH. Without Go the lab runs without a WAN, and asking for one (``lab up --wan-*``) fails
naming what is missing. The API is plain JSON over HTTP on 127.0.0.1, spoken here with :mod:`urllib`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdrtui import settings
from kdrtui.lab.prereqs import PrerequisiteError
from kdrtui.lab.process import lab_env

#: The Toxiproxy release the lab builds.
VERSION = "2.5.0"

#: The Go package of its server (the binary is named after the package's directory: ``server``).
MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"

#: How long ``go install`` may take on a cold module cache over a slow link.
BUILD_TIMEOUT_S = 600.0

#: Where Go often is when it is not on PATH (the official tarball's place).
_GO_FALLBACK = Path("/usr/local/go/bin/go")

GO_HINT = (
    "Install Go 1.17+ (Debian/Ubuntu: apt-get install golang-go; or the tarball from go.dev with its bin/ "
    "directory on PATH), then run `kdrtui lab fetch`"
)


class ToxiproxyError(RuntimeError):
    """Toxiproxy could not be built, or its API refused a request. ``str()`` is one line for the user."""


def binary() -> Path:
    """Where the built server lives (``<cache>/toxiproxy/<version>/server``), built or not."""
    return settings.cache_dir() / "toxiproxy" / VERSION / "server"


def is_built() -> bool:
    """Whether the server binary is in the cache."""
    path = binary()
    return path.is_file() and os.access(path, os.X_OK)


def go_command() -> str | None:
    """The ``go`` to build with: on PATH, else ``/usr/local/go/bin/go``; None without Go."""
    found = shutil.which("go")
    if found:
        return found
    return str(_GO_FALLBACK) if _GO_FALLBACK.is_file() and os.access(_GO_FALLBACK, os.X_OK) else None


def require_built(option: str) -> Path:
    """The server binary, for a lab asked for a WAN with ``option``.

    Raises:
        PrerequisiteError: it is not built and there is no Go to build it with.
    """
    if is_built():
        return binary()
    if go_command() is None:
        raise PrerequisiteError(
            f"{option} needs Toxiproxy {VERSION} (the lab's WAN proxy), built from source with Go, and "
            f"`go` is not on PATH. {GO_HINT}; or leave out the --wan-* options (the lab then runs "
            "without a WAN)."
        )
    return build().path


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build` did."""

    path: Path
    cached: bool
    seconds: float


def build(*, force: bool = False, report: Callable[[str], None] | None = None) -> BuildResult:
    """Build the Toxiproxy server with ``go install`` into the cache (instant when it is there).

    Go's module and build caches live in a temporary directory removed afterwards (``-modcacherw`` so
    it can be), ``GOFLAGS=-mod=mod`` and ``GOTOOLCHAIN=local`` (no toolchain download).

    Raises:
        PrerequisiteError: Go is not installed.
        ToxiproxyError: the build failed (the message ends with Go's last lines).
    """
    started = time.monotonic()
    target = binary()
    if not force and is_built():
        return BuildResult(target, cached=True, seconds=time.monotonic() - started)
    go = go_command()
    if go is None:
        raise PrerequisiteError(f"building Toxiproxy {VERSION} needs Go, and `go` is not on PATH. {GO_HINT}.")
    say = report or (lambda _msg: None)
    say(f"Building Toxiproxy {VERSION} with {go} into {target.parent} ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kdrtui-toxiproxy-") as tmp:
        work = Path(tmp)
        env = lab_env() | {
            "GOPATH": str(work / "gopath"),
            "GOCACHE": str(work / "gocache"),
            "GOBIN": str(work / "bin"),
            "GOFLAGS": "-mod=mod -modcacherw",
            "GOTOOLCHAIN": "local",
            "CGO_ENABLED": "0",
        }
        try:
            proc = subprocess.run(
                [go, "install", f"{MODULE}@v{VERSION}"],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ToxiproxyError(
                f"`go install {MODULE}@v{VERSION}` took over {BUILD_TIMEOUT_S:.0f} s"
            ) from exc
        built = work / "bin" / "server"
        if proc.returncode != 0 or not built.is_file():
            last = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
            raise ToxiproxyError(f"`go install {MODULE}@v{VERSION}` failed (exit {proc.returncode}):\n{last}")
        staged = target.with_name("server.partial")
        shutil.copy2(built, staged)
        os.replace(staged, target)
    return BuildResult(target, cached=False, seconds=time.monotonic() - started)


class ToxiproxyApi:
    """The server's HTTP API on ``127.0.0.1:port`` (``/proxies``, ``/proxies/NAME/toxics``...)."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.port = port
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; the decoded JSON answer (None for an empty one).

        Raises:
            ToxiproxyError: the server did not answer, or answered with an error.
        """
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            raise ToxiproxyError(f"toxiproxy {method} {path}: HTTP {exc.code} {detail[:200]}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ToxiproxyError(f"toxiproxy on 127.0.0.1:{self.port} did not answer: {reason}") from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:  # /version answers plain text
            return raw.decode(errors="replace").strip()

    def answers(self) -> bool:
        """Whether the server answers ``/version``."""
        try:
            self.request("GET", "/version")
        except ToxiproxyError:
            return False
        return True

    def proxies(self) -> dict[str, Any]:
        """Every proxy by name, with its ``toxics``."""
        found = self.request("GET", "/proxies")
        return found if isinstance(found, dict) else {}

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        """The toxics of ``proxy``."""
        found = self.request("GET", f"/proxies/{proxy}/toxics")
        return found if isinstance(found, list) else []

    def add_toxic(self, proxy: str, toxic: dict[str, Any]) -> None:
        """Add ``toxic`` (name, type, stream, toxicity, attributes) to ``proxy``."""
        self.request("POST", f"/proxies/{proxy}/toxics", toxic)

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove the toxic ``name`` of ``proxy`` (gone already is fine)."""
        try:
            self.request("DELETE", f"/proxies/{proxy}/toxics/{name}")
        except ToxiproxyError as exc:
            if "HTTP 404" not in str(exc):
                raise
