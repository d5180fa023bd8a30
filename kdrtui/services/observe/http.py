"""The exporter's HTTP endpoints (a threaded WSGI server: concurrent scrapes do not queue):

- ``/metrics``: the Prometheus text format, or OpenMetrics when asked (``prometheus_client``'s app);
- ``/status.json``: the ``kdrtui status --json`` body of the refresh the metrics show (its number in the
  ``X-Kdrtui-Refresh`` header);
- ``/healthz``: 200 while the figures are fresh (younger than three refresh intervals), else 503 and why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from kdrtui.services.observe.exporter import Exporter

StartResponse = Callable[..., Any]
STALE_INTERVALS = 3
"""``/healthz`` fails when the figures are older than this many refresh intervals."""


class _Server(ThreadingWSGIServer):
    """A thread per request, and room for many connections at once: with the default backlog of 5, a
    sixth concurrent scraper's connection is dropped and retried a second later."""

    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    """No line per request on stderr (Prometheus scrapes every few seconds)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9308`` for IPv6) -> (host, port).

    Raises:
        ValueError: naming what is wrong.
    """
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9308")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"--listen {text!r}: the port must be a number from 0 (any free port) to 65535")
    return host.removeprefix("[").removesuffix("]"), int(port)


def make_app(exporter: Exporter, clock: Callable[[], float] = time.time) -> Callable[..., Iterable[bytes]]:
    """The WSGI app of the exporter's endpoints."""
    metrics = make_wsgi_app(exporter.registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/status.json":
            latest = exporter.status_json()
            if latest is None:
                return _text(start_response, "503 Service Unavailable", "no refresh yet\n")
            refresh, body = latest
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("X-Kdrtui-Refresh", str(refresh))]
            )
            return [body.encode()]
        if path == "/healthz":
            return _health(exporter, start_response, clock())
        if path == "/":
            return _text(start_response, "200 OK", "kdrtui exporter: /metrics /status.json /healthz\n")
        return _text(start_response, "404 Not Found", f"no {path}: /metrics /status.json /healthz\n")

    return app


def _text(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [text.encode()]


def _health(exporter: Exporter, start_response: StartResponse, now: float) -> list[bytes]:
    seen = exporter.observed()
    if seen.refreshed_at is None:
        return _text(start_response, "503 Service Unavailable", "no refresh yet\n")
    age = now - seen.refreshed_at
    limit = STALE_INTERVALS * seen.interval_s + (seen.refresh_duration_s or 0.0)
    if age > limit:
        why = f"figures {age:.0f} s old (refreshes every {seen.interval_s:g} s)"
        if seen.last_error:
            why += f"; last refresh failed: {seen.last_error}"
        return _text(start_response, "503 Service Unavailable", why + "\n")
    return _text(start_response, "200 OK", f"ok: figures {age:.1f} s old\n")


class MetricsServer:
    """The endpoints served from a thread (:meth:`close` stops it)."""

    def __init__(self, exporter: Exporter, host: str, port: int) -> None:
        server_class: type[_Server] = type("_Server", (_Server,), {"address_family": _family(host)})
        app = make_app(exporter)
        self._server: _Server = make_server(host, port, app, server_class, handler_class=_QuietHandler)
        self.port = self._server.server_port
        """The port bound (the one asked for, or the one the system chose for 0)."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="kdrtui-http", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _family(host: str) -> int:
    import socket

    return socket.AF_INET6 if ":" in host else socket.AF_INET
