"""Configuration shared by every confluent-kafka client kdrtui creates.

kdrtui's console is a full-screen terminal UI, so librdkafka must never write to stderr: a single
"Connect to ipv4#127.0.0.1:9092 failed" line would tear the screen. Every client therefore gets a
Python ``logger`` (librdkafka then hands its log lines to Python instead of printing them), and that
logger always has a handler, so Python's own last-resort handler never prints them either.

librdkafka says why a secured connection failed (a wrong password, an unknown CA, a PLAINTEXT client at
a TLS port) only in its error callback and its log lines, and hands both over only when the client is
polled (:func:`kdrtui.services.kafka.failures.serve`). Each client's logger and error callback pass them
to :func:`kdrtui.services.kafka.security.note`, keyed by the client's bootstrap servers.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from kdrtui.domain.security import ClusterSecurity
from kdrtui.services.kafka import security as _security

#: The logger that receives librdkafka's log lines; configure handlers on it (or on ``kdrtui``).
KAFKA_LOGGER_NAME = "kdrtui.kafka"

#: Defaults tuned for an operator console: notice a dead or returning broker within seconds rather
#: than librdkafka's 10 s backoff cap and 30 s connection setup timeout.
DEFAULTS: dict[str, Any] = {
    "client.id": "kdrtui",
    "reconnect.backoff.ms": 100,
    "reconnect.backoff.max.ms": 1000,
    "socket.connection.setup.timeout.ms": 3000,
}


class RepeatFilter(logging.Filter):
    """Lets one copy of a repeated librdkafka line through per ``every_s`` seconds.

    A client retrying a dead broker logs "Connect to ... failed" once per reconnect backoff (1 s here),
    for as long as the broker is down: without this, an outage of an hour writes thousands of the same
    line. The next copy let through says how many were held back.
    """

    _VARYING = re.compile(r"\d+")

    def __init__(self, every_s: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, int]] = {}
        """Line with its numbers blanked -> (when last let through, copies held back since)."""

    def filter(self, record: logging.LogRecord) -> bool:
        key = self._VARYING.sub("#", record.getMessage())
        now = self._clock()
        with self._lock:
            last, held = self._seen.get(key, (float("-inf"), 0))
            if now - last < self.every_s:
                self._seen[key] = (last, held + 1)
                return False
            if len(self._seen) > 1000:
                self._seen.clear()
            self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.getMessage()} (and {held} more like it in the last {now - last:.0f} s)"
            record.args = ()
        return True


def kafka_logger() -> logging.Logger:
    """The logger librdkafka writes to, with at least a :class:`logging.NullHandler`.

    The NullHandler is added on first use rather than at import time. It stops Python's last-resort
    handler from printing WARNING+ records to stderr when the application has configured no logging,
    while records still propagate to any handler the application adds (a log file, the TUI's log pane).
    """
    logger = logging.getLogger(KAFKA_LOGGER_NAME)
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    if not any(isinstance(f, RepeatFilter) for f in logger.filters):
        logger.addFilter(RepeatFilter())
    return logger


class NotingLogger(logging.LoggerAdapter[logging.Logger]):
    """One client's logger: each librdkafka line goes to :func:`~kdrtui.services.kafka.security.note`
    (keyed by the client's bootstrap servers, so the next error can say why), then to ``logger``."""

    def __init__(self, logger: logging.Logger, bootstrap: str) -> None:
        super().__init__(logger, {})
        self.bootstrap = bootstrap
        """The client's bootstrap servers."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """What confluent-kafka calls: ``log(level, "%s [%s] %s", facility, client name, text)``."""
        _security.note(self.bootstrap, str(args[-1]) if args else str(msg))
        self.logger.log(level, msg, *args, **kwargs)


def client_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    """A confluent-kafka client configuration for ``bootstrap`` that never prints to the terminal.

    Args:
        bootstrap: ``host:port[,host:port...]``.
        **extra: more librdkafka properties; dotted names go through a dict, e.g.
            ``client_config(b, **{"group.id": "g", "enable.auto.commit": False})``. They override the
            defaults. A ``logger`` given here replaces kdrtui's (e.g. a per-cluster child of
            ``kdrtui.kafka``); it must be a :class:`logging.Logger`, never ``None``.

    Returns:
        A new dict, safe to pass to ``Producer``, ``Consumer`` or ``AdminClient``: with the security
        settings (TLS, SASL) of the plan's cluster at ``bootstrap``
        (:func:`kdrtui.services.kafka.security.use_plan`), and a logger (:class:`NotingLogger`) and an
        ``error_cb`` that keep why a connection failed (:func:`kdrtui.services.kafka.security.explain`).

    Raises:
        SecurityError: the plan names a password that cannot be read (variable unset, file unreadable).
    """
    return _config(bootstrap, _security.settings_for(bootstrap), extra)


def client_config_as(bootstrap: str, security: ClusterSecurity, **extra: Any) -> dict[str, Any]:
    """:func:`client_config`, connecting as ``security`` says rather than as the plan does (the lab's
    traffic writes as the lab's ``app`` user; its set-up connects as its admin)."""
    return _config(bootstrap, _security.librdkafka_settings(security), extra)


def _config(bootstrap: str, settings: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = dict(DEFAULTS)
    config.update(settings)
    config.update(extra)
    config["bootstrap.servers"] = bootstrap
    logger = config.get("logger")
    if logger is None:
        logger = kafka_logger()
    config["logger"] = NotingLogger(logger, bootstrap) if isinstance(logger, logging.Logger) else logger
    given = config.get("error_cb")

    def error_cb(error: Any) -> None:
        # librdkafka says why a secured connection failed only here (and in its log); keep the reason so
        # the error the caller sees next can say "SASL authentication failed for user ..." in one line.
        _security.note(bootstrap, str(error))
        if given is not None:
            given(error)

    config["error_cb"] = error_cb
    return config
