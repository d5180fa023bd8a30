"""Secured clusters from kdrtui's side: librdkafka settings from a plan's ``[security]`` tables, and a
plain-words reason when a secured connection fails.

- :func:`use_plan` records each cluster's security by its bootstrap servers; every client kdrtui builds
  goes through :func:`~kdrtui.services.kafka.config.client_config`, which adds :func:`settings_for` its
  bootstrap — so the console's probes, the lag engine, ``status``, the runbooks and the provisioning
  checks all connect the same way, from one place.
- Secrets (a SASL password, a key's password) are read when a client is built, from the environment
  variable or the file the plan names; they go into the client's configuration only — never a log, the
  screen, a journal or an error message.
- librdkafka reports why a connection failed only through its error callback and log lines ("SASL
  authentication error…", "SSL handshake failed…", a peer that closes the first request). :func:`note`
  keeps the newest such reason per bootstrap, and :func:`explain` turns a bare "Broker transport failure"
  into ``SSL handshake failed: certificate verify failed (ca_file …)`` or ``SASL authentication failed for
  user 'kdrtui' (SCRAM-SHA-512)``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kdrtui.domain.plan import Plan
from kdrtui.domain.security import ClusterSecurity, SaslMechanism

_LOCK = threading.Lock()
_BY_BOOTSTRAP: dict[str, tuple[str, ClusterSecurity]] = {}
"""Normalized bootstrap -> (cluster alias, its security)."""
_ALIASES: dict[str, str] = {}
"""Normalized bootstrap -> cluster alias, secured or not (an error names the cluster, not its brokers)."""
_REASONS: dict[str, tuple[float, str]] = {}
"""Normalized bootstrap -> (when, why the last connection failed, in plain words)."""
REASON_TTL_S = 60.0


class SecurityError(RuntimeError):
    """A secret the plan names cannot be read (variable unset, file unreadable): one line, no secret."""


def _key(bootstrap: str) -> str:
    return ",".join(sorted(part.strip() for part in bootstrap.split(",") if part.strip()))


def use_plan(plan: Plan) -> None:
    """Connect to ``plan``'s clusters as their ``[security]`` tables say (idempotent; a later plan with
    the same bootstrap servers wins)."""
    with _LOCK:
        for alias, cluster in plan.clusters.items():
            if not cluster.bootstrap_servers:
                continue
            key = _key(cluster.bootstrap)
            _ALIASES[key] = alias
            if cluster.security is None:
                _BY_BOOTSTRAP.pop(key, None)
            else:
                _BY_BOOTSTRAP[key] = (alias, cluster.security)


def alias_of(bootstrap: str) -> str | None:
    """The alias of the cluster at ``bootstrap`` in the plans loaded so far, or None."""
    with _LOCK:
        return _ALIASES.get(_key(bootstrap))


def security_of(bootstrap: str) -> tuple[str, ClusterSecurity] | None:
    """(alias, security) recorded for ``bootstrap``, or None (PLAINTEXT)."""
    with _LOCK:
        return _BY_BOOTSTRAP.get(_key(bootstrap))


def read_secret(
    variable: str | None, file: str | None, what: str, env: Mapping[str, str] | None = None
) -> str:
    """A secret the plan names: environment variable ``variable`` (of ``env``, default the process's), else
    the first line of ``file``. Used for kdrtui's own clients and for MirrorMaker's secrets files.

    Raises:
        SecurityError: ``what``, then why it cannot be read (the variable unset, the file unreadable or
            empty), in one line that names no secret.
    """
    env = os.environ if env is None else env
    if variable:
        value = env.get(variable)
        if not value:
            raise SecurityError(f"{what}: the environment variable {variable} is not set")
        return value
    assert file is not None
    try:
        value = Path(file).expanduser().read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "empty or unreadable"
        raise SecurityError(f"{what}: cannot read {file}: {why}") from None
    if not value:  # an empty password would only fail later, as a wrong one
        raise SecurityError(f"{what}: the first line of {file} is empty")
    return value


def librdkafka_settings(
    security: ClusterSecurity, env: Mapping[str, str] | None = None, *, alias: str = "cluster"
) -> dict[str, str]:
    """The librdkafka properties for ``security`` (secrets read now).

    Raises:
        SecurityError: a password variable is unset or a password file cannot be read.
    """
    environment = os.environ if env is None else env
    protocol = security.protocol
    found: dict[str, str] = {"security.protocol": str(protocol)}
    if protocol.tls:
        if security.ca_file:
            found["ssl.ca.location"] = str(Path(security.ca_file).expanduser())
        if security.cert_file and security.key_file:
            found["ssl.certificate.location"] = str(Path(security.cert_file).expanduser())
            found["ssl.key.location"] = str(Path(security.key_file).expanduser())
        if security.key_password_env:
            found["ssl.key.password"] = read_secret(
                security.key_password_env,
                None,
                f"{alias}: the TLS key's password (key_password_env)",
                environment,
            )
        found["ssl.endpoint.identification.algorithm"] = "https" if security.verify_hostname else "none"
    mechanism = security.mechanism
    if protocol.sasl and mechanism is not None:
        found["sasl.mechanisms"] = str(mechanism)
        if mechanism == SaslMechanism.GSSAPI:
            found["sasl.kerberos.service.name"] = security.service_name
            if security.principal:
                found["sasl.kerberos.principal"] = security.principal
            if security.keytab:
                found["sasl.kerberos.keytab"] = str(Path(security.keytab).expanduser())
        else:
            found["sasl.username"] = security.username or ""
            found["sasl.password"] = read_secret(
                security.password_env,
                security.password_file,
                f"{alias}: the SASL password of {security.username!r} "
                f"({'password_env' if security.password_env else 'password_file'})",
                environment,
            )
    return found


def settings_for(bootstrap: str) -> dict[str, str]:
    """What :func:`~kdrtui.services.kafka.config.client_config` adds for ``bootstrap`` ({} = PLAINTEXT).

    Raises:
        SecurityError: see :func:`librdkafka_settings`.
    """
    found = security_of(bootstrap)
    if found is None:
        return {}
    alias, security = found
    return librdkafka_settings(security, alias=alias)


# --- why a connection failed ------------------------------------------------------------------------

# The texts of librdkafka 2.x (OpenSSL 3) as the lab's brokers provoke them (tests/integration/
# test_secured_lab.py): "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: ...",
# "Receive failed: error:0A000412:SSL routines::ssl/tls alert bad certificate" (no or an untrusted client
# certificate), "SASL authentication error: Authentication failed during authentication due to invalid
# credentials with SASL mechanism SCRAM-SHA-512", "SASL PLAIN mechanism handshake failed: Broker:
# Unsupported SASL mechanism: broker's supported mechanisms: SCRAM-SHA-512", "Disconnected: connection
# closed by peer: receive 0 after POLLIN (after 1ms in state APIVERSION_QUERY)" (PLAINTEXT at a TLS or SASL
# port), "SSL handshake failed: Disconnected: SSL connection closed by peer: connecting to a PLAINTEXT broker
# listener?", "Disconnected: SSL connection closed by peer (after 301ms in state UP)" (TLS without SASL at a
# SASL_SSL port) and "Connect to ipv4#127.0.0.1:9092 failed: Connection refused".
_SSL = re.compile(r"SSL handshake failed: (?:error:[0-9A-F]+:SSL routines::)?([^:(]+)")
_TLS_ALERT = re.compile(r"(?:ssl/tls|tlsv1\d?|sslv3) alert ([a-z ]+)")
_SASL = re.compile(r"SASL authentication error: ([^(]+)")
_SASL_MECHANISM = re.compile(r"SASL (\S+) mechanism handshake failed: .*?supported mechanisms: ([^(]+)")
_CLOSED_EARLY = re.compile(r"connection closed by peer.*state (APIVERSION_QUERY|SSL_HANDSHAKE)")
_CLOSED_AFTER_TLS = re.compile(r"SSL connection closed by peer \(after (\d+)ms in state UP\)")
_NO_BROKER = re.compile(r"Connect to \S+ failed|Failed to resolve")


def note(bootstrap: str, text: str) -> None:
    """Keep the reason in a librdkafka error or log line, when it says why a connection failed; a broker
    that refuses connections or cannot be resolved drops it (the newest failure is not a secured one)."""
    reason = _reason(bootstrap, text)
    if reason is not None:
        with _LOCK:
            _REASONS[_key(bootstrap)] = (time.monotonic(), reason)
    elif _NO_BROKER.search(text) is not None:
        with _LOCK:
            _REASONS.pop(_key(bootstrap), None)


def _reason(bootstrap: str, text: str) -> str | None:
    found = security_of(bootstrap)
    security = found[1] if found else None
    protocol = security.protocol if security is not None else "PLAINTEXT"
    if (alert := _TLS_ALERT.search(text)) is not None:
        detail = alert.group(1).strip()
        if security is None or not security.cert_file:
            return (
                f"SSL handshake failed: the broker wants a client certificate (mutual TLS: cert_file and "
                f"key_file): {detail}"
            )
        return (
            f"SSL handshake failed: the broker refused the client certificate (cert_file "
            f"{security.cert_file}): {detail}"
        )
    if "connecting to a PLAINTEXT broker listener" in text:
        return (
            f"SSL handshake failed: the broker does not speak TLS at this port (protocol {protocol} at a "
            f"PLAINTEXT listener?)"
        )
    if (match := _SSL.search(text)) is not None:
        detail = match.group(1).strip().rstrip(",")
        ca_file = security.ca_file if security is not None else None
        if "certificate verify failed" in text and "hostname" in text.lower():
            detail = "certificate verify failed: the broker's name is not in its certificate"
        elif "certificate verify failed" in text:
            signed = f"a CA in ca_file {ca_file}" if ca_file else "a CA this machine trusts (no ca_file)"
            return (
                f"SSL handshake failed: certificate verify failed: the broker's certificate is not signed "
                f"by {signed}"
            )
        where = f" (ca_file {ca_file})" if ca_file else ""
        return f"SSL handshake failed: {detail}{where}"
    user = security.username if security is not None else None
    who = f" for user {user!r}" if user else ""
    if (match := _SASL_MECHANISM.search(text)) is not None:
        supported = match.group(2).strip()
        return (
            f"SASL authentication failed{who}: the broker does not offer {match.group(1)}, only {supported}"
        )
    if (match := _SASL.search(text)) is not None:
        mechanism = security.mechanism if security is not None else None
        how = f" ({mechanism})" if mechanism else ""
        detail = match.group(1).strip()
        if "invalid credentials" in detail:
            return f"SASL authentication failed{who}{how}: wrong user name or password"
        return f"SASL authentication failed{who}{how}: {detail}"
    if _CLOSED_EARLY.search(text) is not None:
        return (
            f"the broker closed the connection at its first request: it expects another security "
            f"protocol than {protocol} (TLS or SASL?): check the cluster's [security] table"
        )
    # A broker closes an idle connection too, but minutes after it was opened, not within seconds.
    early = (match := _CLOSED_AFTER_TLS.search(text)) is not None and int(match.group(1)) < 10_000
    if early and security is not None and not security.protocol.sasl:
        return (
            f"the broker closed the connection after the TLS handshake: it expects SASL "
            f"(protocol SASL_SSL, not {protocol}?): check the cluster's [security] table"
        )
    return None


def answered(bootstrap: str) -> None:
    """``bootstrap`` answered a request: the reason an earlier connection failed no longer holds (a
    password fixed since must not colour the next, unrelated failure)."""
    with _LOCK:
        _REASONS.pop(_key(bootstrap), None)


def explain(bootstrap: str, error: str) -> str:
    """``error`` with the reason the last connection to ``bootstrap`` failed, when one is known (a bare
    "Broker transport failure" says nothing about a wrong password or CA)."""
    with _LOCK:
        found = _REASONS.get(_key(bootstrap))
    if found is None or time.monotonic() - found[0] > REASON_TTL_S or found[1] in error:
        return error
    return f"{found[1]} ({error})"


def forget() -> None:
    """Drop every recorded security and reason (tests)."""
    with _LOCK:
        _BY_BOOTSTRAP.clear()
        _ALIASES.clear()
        _REASONS.clear()


def describe(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with secrets masked, for a debug line or a test's assertion message."""
    return {k: ("***" if "password" in k else v) for k, v in settings.items()}
