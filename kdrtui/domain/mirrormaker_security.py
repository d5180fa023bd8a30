"""MirrorMaker on secured clusters (pure): the client settings its configurations get, and the files of a
deployment's ``secrets/`` directory on the edge node.

For each cluster with a ``[clusters.<alias>.security]`` table, MirrorMaker 2 gets ``<alias>.``-prefixed
client settings (MirrorMakerConfig hands them to every producer, consumer and admin client of that
cluster) and MirrorMaker 1 gets them unprefixed in its consumer or producer configuration. No secret is
ever in those files; the edge node's run directory holds a ``secrets/`` directory (0700) instead:

- ``<alias>.ca.pem`` (0644): the CA the brokers' certificates are checked against (``ssl.truststore.type
  PEM``, ``ssl.truststore.location``);
- ``<alias>.properties`` (0600): the secret values, read through Kafka's FileConfigProvider as
  ``${file:<dir>/<alias>.properties:<key>}`` (resolved by MirrorMakerConfig and the Connect worker for MM2,
  and by every Kafka client's AbstractConfig for MM1, KIP-421): ``sasl.jaas.config`` with MirrorMaker's
  password (SASL PLAIN/SCRAM), and for mutual TLS ``ssl.keystore.key`` (the client key as unencrypted
  PKCS#8) and ``ssl.keystore.certificate.chain`` (``ssl.keystore.type PEM``). Not a keystore file:
  Kafka up to 3.2 (HDInsight 5.1's) refuses a PEM ``ssl.keystore.location`` without ``ssl.key.password``,
  and Java 17 cannot decrypt the PBES2 keys OpenSSL 3 writes, so an unencrypted key given as a value is
  what every Kafka 3.x reads;
- ``<alias>.keytab`` (0600): GSSAPI, the principal's keytab (the JAAS line naming it holds no secret).

What those files hold is read where kdrtui runs, at deploy time (:mod:`kdrtui.services.mirrormaker
.secrets`); this module only says which files there are and renders their text from values given to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kdrtui.domain.java_properties import escape_value, properties_text
from kdrtui.domain.security import ClusterSecurity, SaslMechanism

SECRETS_DIR = "secrets"
"""The directory of a run directory that holds a deployment's secrets (mode 0700)."""
SECRETS_DIR_MODE = 0o700
"""The secrets directory's mode on the edge node."""
FILE_PROVIDER_CLASS = "org.apache.kafka.common.config.provider.FileConfigProvider"
"""Kafka's config provider reading ``${file:<path>:<key>}`` from a properties file."""
LOGIN_MODULES = {
    SaslMechanism.PLAIN: "org.apache.kafka.common.security.plain.PlainLoginModule",
    SaslMechanism.SCRAM_SHA_256: "org.apache.kafka.common.security.scram.ScramLoginModule",
    SaslMechanism.SCRAM_SHA_512: "org.apache.kafka.common.security.scram.ScramLoginModule",
    SaslMechanism.GSSAPI: "com.sun.security.auth.module.Krb5LoginModule",
}
"""The JAAS login module of each SASL mechanism."""


class SecretKind(StrEnum):
    """What a file of the secrets directory holds."""

    PROPERTIES = ".properties"
    """The secret values: ``sasl.jaas.config`` with MirrorMaker's SASL password (PLAIN, SCRAM), the mutual
    TLS key and certificate chain."""
    CA = ".ca.pem"
    """The CA certificate(s) of the brokers (not a secret)."""
    KEYTAB = ".keytab"
    """GSSAPI: the principal's keytab."""


@dataclass(frozen=True, slots=True)
class MirrorMakerLogin:
    """Who MirrorMaker authenticates as with SASL PLAIN or SCRAM, and where its password is read."""

    username: str
    """``mirrormaker_username``, else ``username``."""
    key: str
    """The plan key naming the password (``mirrormaker_password_env``, ``password_file``...)."""
    env: str | None
    """The environment variable holding the password, or None."""
    file: str | None
    """The file holding the password (its first line), or None."""


def mirrormaker_login(security: ClusterSecurity) -> MirrorMakerLogin | None:
    """MirrorMaker's SASL PLAIN/SCRAM login on a cluster: its own user when the table names one, else
    kdrtui's; None without SASL or with GSSAPI."""
    mechanism = security.mechanism
    if not security.protocol.sasl or mechanism is None or mechanism == SaslMechanism.GSSAPI:
        return None
    if security.mirrormaker_username:
        env, file = security.mirrormaker_password_env, security.mirrormaker_password_file
        key = "mirrormaker_password_env" if env else "mirrormaker_password_file"
        return MirrorMakerLogin(security.mirrormaker_username, key, env, file)
    env, file = security.password_env, security.password_file
    return MirrorMakerLogin(security.username or "", "password_env" if env else "password_file", env, file)


@dataclass(frozen=True, slots=True)
class SecretFile:
    """One file of a deployment's secrets directory, made at deploy time from what kdrtui reads."""

    cluster: str
    """The cluster alias it belongs to."""
    kind: SecretKind
    """What it holds."""
    security: ClusterSecurity
    """The cluster's security table (names the local files and secrets it is made from)."""

    @property
    def name(self) -> str:
        """Its name in the secrets directory: ``<alias>.properties``, ``<alias>.ca.pem``..."""
        return f"{self.cluster}{self.kind}"

    @property
    def rel(self) -> str:
        """Its path relative to the run directory: ``secrets/<name>``."""
        return f"{SECRETS_DIR}/{self.name}"

    @property
    def mode(self) -> int:
        """0644 for the CA (public), 0600 for everything else."""
        return 0o644 if self.kind is SecretKind.CA else 0o600


def mutual_tls(security: ClusterSecurity) -> bool:
    """Whether MirrorMaker presents a client certificate to this cluster."""
    return security.protocol.tls and bool(security.cert_file and security.key_file)


def _kinds(security: ClusterSecurity) -> list[SecretKind]:
    kinds: list[SecretKind] = []
    if security.protocol.tls:
        kinds.append(SecretKind.CA)
    if uses_provider(security):
        kinds.append(SecretKind.PROPERTIES)
    if security.protocol.sasl and security.mechanism == SaslMechanism.GSSAPI:
        kinds.append(SecretKind.KEYTAB)
    return kinds


def secret_files(securities: dict[str, ClusterSecurity | None]) -> tuple[SecretFile, ...]:
    """The secrets directory's files for the clusters a deployment connects to (alias -> its table),
    sorted by name; empty when none is secured."""
    found = [
        SecretFile(alias, kind, security)
        for alias, security in securities.items()
        if security is not None and security.secured
        for kind in _kinds(security)
    ]
    return tuple(sorted(found, key=lambda f: f.name))


def jaas_quote(value: str) -> str:
    """``value`` as a quoted JAAS option value (Kafka's JaasConfig parser reads ``\\`` escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def login_jaas(mechanism: SaslMechanism, username: str, password: str) -> str:
    """``sasl.jaas.config`` for SASL PLAIN or SCRAM (it holds the password: secrets file only)."""
    return (
        f"{LOGIN_MODULES[mechanism]} required username={jaas_quote(username)} "
        f"password={jaas_quote(password)};"
    )


def kerberos_jaas(principal: str, keytab: str) -> str:
    """``sasl.jaas.config`` for GSSAPI with a keytab on the node (no secret in it: the keytab is)."""
    return (
        f"{LOGIN_MODULES[SaslMechanism.GSSAPI]} required useKeyTab=true storeKey=true "
        f"keyTab={jaas_quote(keytab)} principal={jaas_quote(principal)};"
    )


def uses_provider(security: ClusterSecurity) -> bool:
    """Whether MirrorMaker's settings for this cluster read secrets through the file config provider (a
    SASL password, a client key)."""
    return security.secured and (mirrormaker_login(security) is not None or mutual_tls(security))


def provider_settings(secrets_dir: str) -> dict[str, str]:
    """The FileConfigProvider, allowed to read the secrets directory only (``allowed.paths``, Kafka 3.8+,
    which takes existing absolute paths only; older Kafka ignores the parameter)."""
    found = {"config.providers": "file", "config.providers.file.class": FILE_PROVIDER_CLASS}
    if secrets_dir.startswith("/"):
        found["config.providers.file.param.allowed.paths"] = secrets_dir
    return found


def client_settings(alias: str, security: ClusterSecurity, secrets_dir: str) -> dict[str, str]:
    """The Kafka client settings (unprefixed) for MirrorMaker's clients of cluster ``alias``, with files in
    ``secrets_dir`` on the edge node. No secret: a password is a ``${file:...}`` reference."""
    protocol = security.protocol
    secrets = f"{secrets_dir}/{alias}{SecretKind.PROPERTIES}"
    found = {"security.protocol": str(protocol)}
    if protocol.tls:
        found["ssl.truststore.type"] = "PEM"
        found["ssl.truststore.location"] = f"{secrets_dir}/{alias}{SecretKind.CA}"
        if mutual_tls(security):
            found["ssl.keystore.type"] = "PEM"
            for key in ("ssl.keystore.key", "ssl.keystore.certificate.chain"):
                found[key] = f"${{file:{secrets}:{key}}}"
        # Empty turns host name verification off (Kafka's default, since 2.0, is https).
        found["ssl.endpoint.identification.algorithm"] = "https" if security.verify_hostname else ""
    mechanism = security.mechanism
    if protocol.sasl and mechanism is not None:
        found["sasl.mechanism"] = str(mechanism)
        if mechanism == SaslMechanism.GSSAPI:
            found["sasl.kerberos.service.name"] = security.service_name
            keytab = f"{secrets_dir}/{alias}{SecretKind.KEYTAB}"
            found["sasl.jaas.config"] = kerberos_jaas(security.principal or "", keytab)
        else:
            found["sasl.jaas.config"] = f"${{file:{secrets}:sasl.jaas.config}}"
    return found


def describe_security(security: ClusterSecurity) -> str:
    """One line for a configuration's comment: ``SASL_SSL, SCRAM-SHA-512 as 'mm2', mutual TLS``."""
    parts = [str(security.protocol)]
    login = mirrormaker_login(security)
    if login is not None:
        parts.append(f"{security.mechanism} as '{escape_value(login.username)}'")
    elif security.mechanism == SaslMechanism.GSSAPI:
        parts.append(f"GSSAPI as '{escape_value(security.principal or '')}'")
    if mutual_tls(security):
        parts.append("mutual TLS")
    return ", ".join(parts)


def secrets_properties_text(
    alias: str,
    security: ClusterSecurity,
    *,
    password: str | None = None,
    key_pem: str | None = None,
    chain_pem: str | None = None,
) -> str:
    """``secrets/<alias>.properties``: MirrorMaker's ``sasl.jaas.config`` for ``alias`` with ``password``
    (SASL PLAIN/SCRAM), and its client key and certificate chain (mutual TLS), all read by the caller.
    Written to the node only, mode 0600; never shown or logged.

    Raises:
        ValueError: a value the table needs is missing.
    """
    values: dict[str, str] = {}
    login = mirrormaker_login(security)
    if login is not None and security.mechanism is not None:
        if password is None:
            raise ValueError(f"cluster {alias}: MirrorMaker's SASL password is needed")
        values["sasl.jaas.config"] = login_jaas(security.mechanism, login.username, password)
    if mutual_tls(security):
        if key_pem is None or chain_pem is None:
            raise ValueError(f"cluster {alias}: the client key and certificate chain are needed")
        values["ssl.keystore.key"] = key_pem
        values["ssl.keystore.certificate.chain"] = chain_pem
    header = [
        f"Written by kdrtui: MirrorMaker's secrets for cluster '{alias}', read through Kafka's "
        "FileConfigProvider.",
        "Mode 0600. Do not edit: kdrtui overwrites this file whenever it deploys the plan.",
    ]
    return properties_text(header, values)
