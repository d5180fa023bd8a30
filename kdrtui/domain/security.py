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

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr


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


FILE_KEYS = ("ca_file", "cert_file", "key_file", "password_file", "keytab")
"""The keys that name a file kdrtui must be able to read (checked when the plan is loaded)."""


class ClusterSecurity(BaseModel):
    """The ``[clusters.<alias>.security]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    ca_file: StrictStr | None = None
    """PEM file of the CA(s) the brokers' certificates are checked against (SSL, SASL_SSL)."""
    cert_file: StrictStr | None = None
    """Mutual TLS: the client's certificate (PEM)."""
    key_file: StrictStr | None = None
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
    password_file: StrictStr | None = None
    """SASL PLAIN / SCRAM: a file holding the password (its first line), e.g. mode 0600."""
    principal: StrictStr | None = None
    """GSSAPI: the Kerberos principal (``kdrtui@EXAMPLE.COM``)."""
    keytab: StrictStr | None = None
    """GSSAPI: the keytab file of ``principal``."""
    service_name: StrictStr = "kafka"
    """GSSAPI: the brokers' Kerberos service name."""

    @property
    def secured(self) -> bool:
        return self.protocol != SecurityProtocol.PLAINTEXT


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
    if mechanism == SaslMechanism.GSSAPI:
        for key in ("principal", "keytab"):
            if not getattr(security, key):
                problems.append((key, f"GSSAPI needs {key}"))
    return problems
