"""Start, stop and observe the emulator as a background process, like the lab's brokers.

Layout of its home (default ``<lab>/azure``)::

    emulator.json      port, port bases, Kafka version... (what ``serve`` runs with)
    emulator.pid       the server's pid;  emulator.log  its log
    ca.pem, server.pem the trustme CA to trust (``connection_verify``) and the server's key + cert
    state.json         every resource (never a secret);  requests.jsonl  every request
    login-password     the lab's cluster login password (0600);  emulator.secret  derives storage keys
    plan.toml          the lab-azure plan
    clusters/<name>/   a cluster's lab broker;  edges/<app>/  an edge-node application's SSH node
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kdrtui
from kdrtui import settings
from kdrtui.lab import jars, process
from kdrtui.lab.azure import emulator_ports, plan
from kdrtui.lab.azure.certs import ensure_certificates
from kdrtui.lab.azure.cloud import DEFAULT_STEP_SECONDS
from kdrtui.lab.azure.control import read_requests
from kdrtui.lab.azure.emulator_ports import PortUses
from kdrtui.lab.azure.emulator_status import AzureStatus
from kdrtui.lab.azure.runtime import DEFAULT_EDGE_PORT_BASE, DEFAULT_PORT_BASE, Runtime, power_off
from kdrtui.lab.azure.state import resource_summary
from kdrtui.lab.ports import LOCALHOST, check_free, check_port, port_in_use
from kdrtui.services.azure.context import LAB_PASSWORD_FILE

DEFAULT_AZURE_PORT = 18443
AZURE_PORT_ENV = "KDRTUI_LAB_AZURE_PORT"
START_TIMEOUT_S = 30.0

Report = Callable[[str], None]


class EmulatorError(RuntimeError):
    """The emulator could not be started, reached or stopped. ``str()`` says why."""


class AzureEmulator:
    """The emulator living in ``home`` (default ``<lab>/azure``), serving HTTPS on 127.0.0.1:``port``.

    Settings not given come from ``emulator.json`` (what it last ran with), else the defaults:
    port 18443 (``KDRTUI_LAB_AZURE_PORT``), brokers from port 19392 (+10 per cluster), edge nodes from
    12232 (+1 per application), one second per cluster provisioning state. Constructing one touches
    nothing on disk.

    Raises:
        ValueError: a port outside 1024-65535; :class:`PortsUnavailable` when it is one of the ports
            the lab-azure plan's brokers or edge node would take, or those groups overlap.
    """

    def __init__(
        self,
        home: Path | None = None,
        port: int | None = None,
        port_base: int | None = None,
        edge_port_base: int | None = None,
        *,
        step_seconds: float | None = None,
        kafka_version: str | None = None,
        edge_backend: str | None = None,
    ) -> None:
        self.home = Path(home) if home is not None else settings.lab_azure_dir()
        saved = self._saved()
        env_port = os.environ.get(AZURE_PORT_ENV, "")
        self.port = int(
            port or saved.get("port") or (int(env_port) if env_port.isdigit() else DEFAULT_AZURE_PORT)
        )
        self.port_base = int(port_base or saved.get("port_base") or DEFAULT_PORT_BASE)
        self.edge_port_base = int(edge_port_base or saved.get("edge_port_base") or DEFAULT_EDGE_PORT_BASE)
        check_port(self.port)
        check_free(self.port_uses(), check_in_use=False)
        self.step_seconds = float(step_seconds or saved.get("step_seconds") or DEFAULT_STEP_SECONDS)
        self.kafka_version = kafka_version or saved.get("kafka_version") or jars.DEFAULT_KAFKA_VERSION
        self.edge_backend = edge_backend or saved.get("edge_backend")

    # Paths -----------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """``https://127.0.0.1:<port>``: the ARM endpoint (and Ambari's)."""
        return f"https://{LOCALHOST}:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The CA to trust (``connection_verify``)."""
        return self.home / "ca.pem"

    @property
    def plan_path(self) -> Path:
        """The lab-azure plan."""
        return self.home / "plan.toml"

    @property
    def login_password_file(self) -> Path:
        """The lab's cluster login password (0600)."""
        return self.home / LAB_PASSWORD_FILE

    @property
    def requests_path(self) -> Path:
        """``requests.jsonl``."""
        return self.home / "requests.jsonl"

    @property
    def state_path(self) -> Path:
        """``state.json``."""
        return self.home / "state.json"

    @property
    def pid_file(self) -> Path:
        """The server's pid file."""
        return self.home / "emulator.pid"

    @property
    def log_file(self) -> Path:
        """The server's log."""
        return self.home / "emulator.log"

    def _saved(self) -> dict[str, Any]:
        try:
            data = json.loads((self.home / "emulator.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _markers(self) -> list[str]:
        return ["kdrtui.lab.azure", "serve", str(self.home.resolve())]

    def running_pid(self) -> int | None:
        """The server's pid if it runs."""
        pid = process.read_pid(self.pid_file)
        return pid if pid is not None and process.is_ours(pid, self._markers()) else None

    def port_uses(self) -> PortUses:
        """The ports the emulator and the lab-azure plan's resources take (see
        :func:`~kdrtui.lab.azure.emulator_ports.port_uses`)."""
        return emulator_ports.port_uses(self.port, self.port_base, self.edge_port_base)

    def check_ports(self) -> None:
        """Before a start: the port bases may change only while no cluster or edge node exists, and the
        ports they give must be free (see :func:`~kdrtui.lab.azure.emulator_ports.check_ports`).

        Raises:
            PortsUnavailable: one line naming the port, its use and the option that chose it.
        """
        saved = self._saved()
        held = emulator_ports.held_resources(self.state_path)
        emulator_ports.check_ports(self.port, self.port_base, self.edge_port_base, saved, held)

    # Lifecycle -------------------------------------------------------------------------------------

    def write_plan(self) -> Path:
        """Write the lab-azure plan (generating the edge node's keys first); return its path."""
        plan.prepare_edge_keys(self.home, self.edge_port_base, self.kafka_version)
        plan.ensure_login_password(self.login_password_file)
        data = plan.render(
            self.home,
            port=self.port,
            port_base=self.port_base,
            edge_port_base=self.edge_port_base,
            kafka_version=self.kafka_version,
        )
        return plan.write(self.plan_path, data)

    def up(
        self, *, fetch: bool = True, timeout: float = START_TIMEOUT_S, report: Report | None = None
    ) -> AzureStatus:
        """Start the emulator unless it runs (then reuse it); write the plan; return the status.

        ``fetch`` fetches the Kafka jars first (its brokers need them).

        Raises:
            EmulatorError: the port is taken, or the server did not answer in time (with its log).
            PortsUnavailable: the brokers' or edge nodes' ports are taken or out of range (see
                :meth:`check_ports`).
        """
        say = report or (lambda _msg: None)
        pid = self.running_pid()
        wanted = {"port": self.port, "port_base": self.port_base, "edge_port_base": self.edge_port_base}
        saved = self._saved()
        reuse = pid is not None and all(saved.get(key) == value for key, value in wanted.items())
        if not reuse:
            self.check_ports()
        self.home.mkdir(parents=True, exist_ok=True)
        if fetch:
            from kdrtui.lab.prereqs import check_prerequisites

            check_prerequisites(need_mvn=not jars.is_fetched(self.kafka_version))
            jars.fetch(self.kafka_version, report=say)
        notes: tuple[str, ...]
        if reuse:
            notes = ("reused",)
        else:
            if pid is not None:
                say(
                    f"azure: restarting the emulator (pid {pid}) on port {self.port}, brokers from "
                    f"{self.port_base}, edge nodes from {self.edge_port_base}"
                )
                process.terminate(pid, 10)
            started = time.monotonic()
            pid = self._start(timeout)
            notes = (f"started in {time.monotonic() - started:.1f} s",)
        self.write_plan()
        return self.status(notes=notes, pid=pid)

    def _start(self, timeout: float) -> int:
        if port_in_use(self.port):
            raise EmulatorError(
                f"azure: port {self.port} on {LOCALHOST} is already in use; choose another with "
                f"--azure-port N (or {AZURE_PORT_ENV})"
            )
        ensure_certificates(self.home)
        config = {
            "port": self.port,
            "port_base": self.port_base,
            "edge_port_base": self.edge_port_base,
            "step_seconds": self.step_seconds,
            "kafka_version": self.kafka_version,
            "edge_backend": self.edge_backend,
            "aliases": plan.cluster_aliases(),
        }
        tmp = self.home / "emulator.json.tmp"
        tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.home / "emulator.json")
        env = dict(os.environ)
        source_root = str(Path(kdrtui.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH")) if p)
        argv = [sys.executable, "-m", "kdrtui.lab.azure", "serve", "--home", str(self.home.resolve())]
        pid = process.spawn_detached(argv, log=self.log_file, cwd=self.home, env=env)
        process.write_pid(self.pid_file, pid)
        deadline = time.monotonic() + timeout
        while True:
            if not process.is_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise EmulatorError(
                    f"azure: the emulator (pid {pid}) exited during start-up; {self.log_file}:\n"
                    + process.tail(self.log_file, 15)
                )
            try:
                if self.call("GET", "/_emulator/health").get("ok"):
                    return pid
            except EmulatorError:
                pass
            if time.monotonic() > deadline:
                process.terminate(pid, 5)
                raise EmulatorError(
                    f"azure: no answer on {self.endpoint} within {timeout:.0f} s; see {self.log_file}"
                )
            time.sleep(0.05)

    def down(self, *, stop_resources: bool = True, purge: bool = False, report: Report | None = None) -> None:
        """Stop the server and (``stop_resources``) every broker and edge node it started.

        ``purge`` also deletes the home's state, certificates, plan and data.
        """
        say = report or (lambda _msg: None)
        pid = self.running_pid()
        if pid is not None:
            clean = process.terminate(pid, 10)
            say(f"azure: emulator {'stopped' if clean else 'killed'} (pid {pid})")
        self.pid_file.unlink(missing_ok=True)
        if stop_resources:
            runtime = self._runtime()
            for home in sorted((self.home / "clusters").glob("*")):
                for stopped in runtime.broker(home.name, 0).stop():
                    say(f"azure: broker of {home.name} stopped (pid {stopped.pid})")
            for home in sorted((self.home / "edges").glob("*")):
                result = power_off(runtime.edge(home.name, "", 0))
                if result is not None:
                    say(f"azure: edge node {home.name} stopped (pid {result[0]})")
        if purge:
            shutil.rmtree(self.home, ignore_errors=True)
            say(f"azure: purged {self.home}")

    def _runtime(self) -> Runtime:
        return Runtime(
            self.home,
            kafka_version=self.kafka_version,
            port_base=self.port_base,
            edge_port_base=self.edge_port_base,
            edge_backend=self.edge_backend,
        )

    # Talking to it ---------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, *, timeout: float = 5.0) -> Any:
        """One request to the running emulator (the control surface); its JSON answer."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.endpoint}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise EmulatorError(
                f"azure: {method} {path}: {exc.code} {exc.read().decode(errors='replace')}"
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise EmulatorError(f"azure: the emulator does not answer on {self.endpoint}: {exc}") from exc
        return json.loads(raw) if raw else None

    def faults(self, **knobs: Any) -> dict[str, Any]:
        """Set fault knobs (``throttle``, ``retry_after``, ``errors_500``, ``fail_cluster``,
        ``slow_cluster_seconds``); return them all. With no knobs, just read them."""
        if not knobs:
            result: dict[str, Any] = self.call("GET", "/_emulator/faults")
        else:
            result = self.call("POST", "/_emulator/faults", knobs)
        return result

    def clear_faults(self) -> dict[str, Any]:
        """Clear every fault knob."""
        result: dict[str, Any] = self.call("DELETE", "/_emulator/faults")
        return result

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The request log (``{"time", "method", "path", "status"}``), from the file when it is down."""
        if self.running_pid() is not None:
            with_server: list[dict[str, Any]] = self.call("GET", f"/_emulator/requests?since={since}")
            return with_server
        return read_requests(self.requests_path)[since:]

    def status(self, *, notes: tuple[str, ...] = (), pid: int | None = None) -> AzureStatus:
        """A snapshot; changes nothing."""
        pid = pid or self.running_pid()
        resources: list[dict[str, Any]] = []
        faults: dict[str, Any] = {}
        if pid is not None:
            try:
                resources = self.call("GET", "/_emulator/resources")
                faults = self.faults()
            except EmulatorError:
                pid = None
        if pid is None:
            try:
                saved = json.loads(self.state_path.read_text(encoding="utf-8"))["resources"].values()
            except (OSError, ValueError, KeyError):
                saved = []
            resources = [resource_summary(r) for r in saved]
        runtime = self._runtime()
        brokers, edges = {}, {}
        for home in sorted((self.home / "clusters").glob("*")):
            broker_pid = runtime.broker(home.name, 0).running_pid()
            brokers[home.name] = {"up": broker_pid is not None, "pid": broker_pid, "home": str(home)}
        for home in sorted((self.home / "edges").glob("*")):
            node = runtime.edge(home.name, "", 0)
            edge_pid = node.running_pid()
            edges[home.name] = {"up": edge_pid is not None, "pid": edge_pid, "port": node.running_port()}
        return AzureStatus(
            home=self.home,
            port=self.port,
            up=pid is not None,
            pid=pid,
            endpoint=self.endpoint,
            ca_file=self.ca_file,
            plan=self.plan_path,
            resources=resources,
            faults=faults,
            brokers=brokers,
            edges=edges,
            notes=notes,
            port_base=self.port_base,
            edge_port_base=self.edge_port_base,
        )
