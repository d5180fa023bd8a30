"""How kdrtui and MirrorMaker connect to a secured cluster: the ``[clusters.<alias>.security]`` table.

Absent, a cluster is PLAINTEXT (as before). Otherwise ``protocol`` says how clients talk to its brokers:

- ``SSL``: TLS, the brokers' certificates checked against ``ca_file`` (PEM); mutual TLS adds the client's
  ``cert_file`` and ``key_file`` (PEM; an encrypted key's password in the environment variable
  ``key_password_env``); ``verify_hostname`` checks the broker's name against its certificate.
- ``SASL_PLAINTEXT`` / ``SASL_SSL``: SASL authentication (over TLS for ``SASL_SSL``): ``mechanism`` PLAIN,
  SCRAM-SHA-256, SCRAM-SHA-512 (``username``, the password from ``password_env`` or ``password_file``) or
  GSSAPI (Kerberos, as on HDInsight ESP clusters: ``principal``, ``keytab``, ``service_name``).

A password is never a literal in the plan (a key named ``password`` is refused like every secret). This
module is pure: whether the files exist and can be read is checked where files are read.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, StrictBool, StrictStr

from kdrtui.domain.plan_fields import MODEL_CONFIG, rule


class SecurityProtocol(StrEnum):
    """Kafka's ``security.protocol``."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def tls(self) -> bool:
        return self in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)

    @property
    def sasl(self) -> bool:
        return self in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)


class SaslMechanism(StrEnum):
    """Kafka's ``sasl.mechanism``."""

    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"
    GSSAPI = "GSSAPI"

    @property
    def scram(self) -> bool:
        return self in (SaslMechanism.SCRAM_SHA_256, SaslMechanism.SCRAM_SHA_512)


FILE_KEYS = ("ca_file", "cert_file", "key_file", "password_file", "mirrormaker_password_file", "keytab")
"""The keys that name a file kdrtui must be able to read (checked when the plan is loaded)."""


def _local_path(value: str) -> str | None:
    if any(ord(char) < 32 for char in value):
        return "must not contain control characters (a newline, a tab...)"
    if not value.startswith(("/", "~/")):
        return f"'{value}' must be an absolute path, or start with ~/ (kdrtui reads it wherever it runs)"
    return None


LocalPath = Annotated[StrictStr, rule(_local_path)]
"""A file on the machine kdrtui runs on: absolute, or under the user's home (``~/``)."""


class ClusterSecurity(BaseModel):
    """The ``[clusters.<alias>.security]`` table."""

    model_config = MODEL_CONFIG

    protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    ca_file: LocalPath | None = None
    """PEM file of the CA(s) the brokers' certificates are checked against (SSL, SASL_SSL)."""
    cert_file: LocalPath | None = None
    """Mutual TLS: the client's certificate (PEM)."""
    key_file: LocalPath | None = None
    """Mutual TLS: the client's private key (PEM)."""
    key_password_env: StrictStr | None = None
    """Mutual TLS: the environment variable holding an encrypted key's password."""
    verify_hostname: StrictBool = True
    """Check the broker's host name against its certificate."""
    mechanism: SaslMechanism | None = None
    """SASL: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or GSSAPI."""
    username: StrictStr | None = None
    """SASL PLAIN / SCRAM: the user kdrtui (and MirrorMaker, unless set on the edge node) connects as."""
    password_env: StrictStr | None = None
    """SASL PLAIN / SCRAM: the environment variable holding the password."""
    password_file: LocalPath | None = None
    """SASL PLAIN / SCRAM: a file holding the password (its first line), e.g. mode 0600."""
    mirrormaker_username: StrictStr | None = None
    """SASL PLAIN / SCRAM: the user MirrorMaker connects as, when it is not ``username`` (its own
    principal, with only the ACLs mirroring needs)."""
    mirrormaker_password_env: StrictStr | None = None
    """The environment variable holding ``mirrormaker_username``'s password (read where kdrtui runs, and
    uploaded to the edge node as a 0600 file)."""
    mirrormaker_password_file: LocalPath | None = None
    """A file holding ``mirrormaker_username``'s password (its first line)."""
    principal: StrictStr | None = None
    """GSSAPI: the Kerberos principal (``kdrtui@EXAMPLE.COM``)."""
    keytab: LocalPath | None = None
    """GSSAPI: the keytab file of ``principal``."""
    service_name: StrictStr = "kafka"
    """GSSAPI: the brokers' Kerberos service name."""

    @property
    def secured(self) -> bool:
        return self.protocol != SecurityProtocol.PLAINTEXT


def describe_security(security: ClusterSecurity | None) -> str:
    """How kdrtui connects, in a few words for a card at 80 columns: ``SASL_SSL as admin``,
    ``SSL · mutual TLS``; empty for PLAINTEXT (nothing to say)."""
    if security is None or not security.secured:
        return ""
    parts = [str(security.protocol)]
    if security.protocol.tls and security.cert_file:
        parts.append("mutual TLS")
    if security.protocol.sasl and security.mechanism is not None:
        who = security.principal if security.mechanism == SaslMechanism.GSSAPI else security.username
        if who:
            return f"{parts[0]} as {who}"
    return " · ".join(parts)


def security_problems(security: ClusterSecurity) -> list[tuple[str, str]]:
    """(key, message) for every combination of keys that cannot work (the plan's cross-key rules report
    each at its key's line)."""
    problems: list[tuple[str, str]] = []
    protocol = security.protocol
    if protocol.tls and not security.ca_file:
        problems.append(
            (
                "ca_file",
                f"{protocol} needs ca_file: the CA (PEM) the brokers' certificates are checked against",
            )
        )
    if not protocol.tls:
        for key in ("ca_file", "cert_file", "key_file", "key_password_env"):
            if getattr(security, key):
                problems.append((key, f"only used with protocol SSL or SASL_SSL, not {protocol}"))
    if bool(security.cert_file) != bool(security.key_file):
        problems.append(("cert_file", "mutual TLS needs both cert_file and key_file"))
    if security.key_password_env and not security.key_file:
        problems.append(("key_password_env", "only used with key_file"))
    mechanism = security.mechanism
    if protocol.sasl and mechanism is None:
        problems.append(
            ("mechanism", f"{protocol} needs a mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or GSSAPI")
        )
    if mechanism is not None and not protocol.sasl:
        problems.append(
            ("mechanism", f"a SASL mechanism needs protocol SASL_PLAINTEXT or SASL_SSL, not {protocol}")
        )
    if mechanism is not None and mechanism != SaslMechanism.GSSAPI:
        if not security.username:
            problems.append(("username", f"{mechanism} needs a username"))
        if bool(security.password_env) == bool(security.password_file):
            problems.append(
                ("password_env", f"{mechanism} needs exactly one of password_env or password_file")
            )
    mm_password = bool(security.mirrormaker_password_env) + bool(security.mirrormaker_password_file)
    if security.mirrormaker_username or mm_password:
        if mechanism is None or mechanism == SaslMechanism.GSSAPI:
            problems.append(
                ("mirrormaker_username", "only used with a SASL mechanism PLAIN or SCRAM-SHA-256/512")
            )
        elif not security.mirrormaker_username:
            problems.append(("mirrormaker_username", "a MirrorMaker password needs mirrormaker_username"))
        elif mm_password != 1:
            problems.append(
                (
                    "mirrormaker_password_env",
                    "mirrormaker_username needs exactly one of mirrormaker_password_env or "
                    "mirrormaker_password_file",
                )
            )
    if mechanism == SaslMechanism.GSSAPI:
        for key in ("principal", "keytab"):
            if not getattr(security, key):
                problems.append((key, f"GSSAPI needs {key}"))
    return problems
