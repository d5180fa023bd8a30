"""The lab as a secured cluster pair: a TLS listener from a lab CA, SCRAM users, an authorizer.

``kdrtui lab up --security ssl|sasl_ssl`` (``plaintext``, the default, is the lab as it always was):

- a CA made with ``trustme`` (``<lab>/security/ca.pem``); each broker's certificate for 127.0.0.1 and
  ``localhost`` in a PEM keystore (PKCS#8 key + chain, 0600: Kafka reads PEM since 2.7, and only PKCS#8
  keys); a client certificate per lab user for mutual TLS (``ssl``);
- ``sasl_ssl``: SCRAM-SHA-512 users ``admin``, ``app`` and ``mirrormaker`` created when the storage is
  formatted (KRaft's ``--add-scram``), with random passwords in 0600 files; the brokers authenticate to each
  other as ``admin``;
- ``StandardAuthorizer`` with ``admin`` as the super user (kdrtui's own user in the lab plan), and ACLs:
  ``app`` reads and writes every topic and group (an application), ``mirrormaker`` everything MirrorMaker
  needs (read the source, create and write topics on the target, its internal topics and groups). With no
  ACL a principal is refused (``allow.everyone.if.no.acl.found=false``), as on a hardened cluster.

The controller listener stays PLAINTEXT on 127.0.0.1 (the brokers' own quorum); clients never see it.
Secrets live only in the 0600 files here, never in the plan (it names the files), a log or a process's
command line.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kdrtui.domain.security import ClusterSecurity

MODES = ("plaintext", "ssl", "sasl_ssl")
"""What ``lab up --security`` takes."""
USERS = ("admin", "app", "mirrormaker")
"""The lab's users: kdrtui (super user), an application, MirrorMaker."""
MECHANISM = "SCRAM-SHA-512"
_ENSURE_LOCK = threading.Lock()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only (created 0600, then renamed over)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _pkcs8(pem: bytes) -> bytes:
    """A key (and any certificate chain after it) as PEM, the key re-encoded as PKCS#8: what Kafka's PEM
    keystore reads."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem, None)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    marker = b"-----BEGIN CERTIFICATE-----"
    certs = b"".join(marker + part for part in pem.split(marker)[1:])
    return key_pem + certs


@dataclass(frozen=True)
class LabSecurity:
    """The lab's secured mode and the files behind it (``<lab>/security``)."""

    mode: str
    home: Path

    @property
    def tls(self) -> bool:
        return self.mode in ("ssl", "sasl_ssl")

    @property
    def sasl(self) -> bool:
        return self.mode == "sasl_ssl"

    @property
    def protocol(self) -> str:
        return {"plaintext": "PLAINTEXT", "ssl": "SSL", "sasl_ssl": "SASL_SSL"}[self.mode]

    @property
    def ca_file(self) -> Path:
        return self.home / "ca.pem"

    def keystore(self, alias: str) -> Path:
        return self.home / f"broker-{alias}.pem"

    def cert_file(self, user: str) -> Path:
        return self.home / f"{user}.crt"

    def key_file(self, user: str) -> Path:
        return self.home / f"{user}.key"

    def password_file(self, user: str) -> Path:
        return self.home / f"{user}.password"

    def password(self, user: str) -> str:
        return self.password_file(user).read_text().strip()

    # -- files ------------------------------------------------------------------------------------

    def ensure(self, aliases: list[str]) -> None:
        """Make what is missing: the CA, a keystore per broker, a certificate and a password per user.
        Idempotent: existing files are kept (a restarted lab keeps its users and certificates)."""
        if self.mode == "plaintext":
            return
        with _ENSURE_LOCK:  # the lab starts its clusters in parallel threads: one CA for both
            self._ensure(aliases)

    def _ensure(self, aliases: list[str]) -> None:
        import trustme

        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        ca_key = self.home / "ca-key.pem"
        if self.ca_file.exists() and ca_key.exists():
            ca = trustme.CA.from_pem(self.ca_file.read_bytes(), ca_key.read_bytes())
        else:
            ca = trustme.CA(organization_name="kdrtui lab")
            write_private(ca_key, ca.private_key_pem.bytes())
            ca.cert_pem.write_to_path(str(self.ca_file))
        for alias in aliases:
            if not self.keystore(alias).exists():
                cert = ca.issue_cert("127.0.0.1", "localhost", common_name=f"broker-{alias}")
                write_private(self.keystore(alias), _pkcs8(cert.private_key_and_cert_chain_pem.bytes()))
        for user in USERS:
            if not self.key_file(user).exists():
                cert = ca.issue_cert(f"{user}.kdrtui-lab", common_name=user)
                write_private(
                    self.key_file(user),
                    _pkcs8(cert.private_key_pem.bytes()).split(b"-----BEGIN CERTIFICATE-----")[0],
                )
                self.cert_file(user).write_bytes(cert.cert_chain_pems[0].bytes())
            if self.sasl and not self.password_file(user).exists():
                write_private(self.password_file(user), (secrets.token_urlsafe(18) + "\n").encode())

    # -- brokers ------------------------------------------------------------------------------------

    def listener_name(self) -> str:
        return self.protocol

    def broker_properties(self, alias: str) -> list[str]:
        """The broker settings beyond a PLAINTEXT lab broker's (listeners are set by the caller with
        :meth:`listener_name` as the client listener's name)."""
        if self.mode == "plaintext":
            return []
        lines = [
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.keystore(alias)}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.ca_file}",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # The controller listener (PLAINTEXT, loopback) carries the brokers' own quorum traffic.
            "super.users=User:admin;User:ANONYMOUS",
            "allow.everyone.if.no.acl.found=false",
        ]
        if self.mode == "ssl":
            lines += [
                "ssl.client.auth=required",
                # The principal of a TLS client is its certificate's CN (User:app, not User:CN=app,...).
                "ssl.principal.mapping.rules=RULE:^CN=([^,]+).*$/$1/,DEFAULT",
            ]
        else:
            lines += [
                f"sasl.enabled.mechanisms={MECHANISM}",
                f"sasl.mechanism.inter.broker.protocol={MECHANISM}",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="admin" password="{self.password("admin")}";',
            ]
        return lines

    def format_args(self) -> list[str]:
        """StorageTool arguments creating the SCRAM users with the storage (KRaft)."""
        if not self.sasl:
            return []
        args: list[str] = []
        for user in USERS:
            args += ["--add-scram", f"{MECHANISM}=[name={user},password={self.password(user)}]"]
        return args

    # -- clients ------------------------------------------------------------------------------------

    def plan_table(self, user: str = "admin", *, mirrormaker: str | None = None) -> dict[str, Any] | None:
        """The lab plan's ``[clusters.<alias>.security]`` table (None in plaintext); with SASL,
        ``mirrormaker`` names MirrorMaker's own user."""
        if self.mode == "plaintext":
            return None
        table: dict[str, Any] = {"protocol": self.protocol, "ca_file": str(self.ca_file)}
        if self.mode == "ssl":
            table |= {"cert_file": str(self.cert_file(user)), "key_file": str(self.key_file(user))}
        else:
            table |= {
                "mechanism": MECHANISM,
                "username": user,
                "password_file": str(self.password_file(user)),
            }
            if mirrormaker is not None:
                table |= {
                    "mirrormaker_username": mirrormaker,
                    "mirrormaker_password_file": str(self.password_file(mirrormaker)),
                }
        return table

    def cluster_security(self, user: str = "admin") -> ClusterSecurity:
        """:meth:`plan_table` as the plan model (for the lab's own clients); PLAINTEXT in plaintext."""
        return ClusterSecurity.model_validate(self.plan_table(user) or {})

    def client_settings(self, user: str = "admin", *, secrets_inline: bool = True) -> dict[str, str]:
        """librdkafka settings for ``user`` (the password itself only with ``secrets_inline``)."""
        if self.mode == "plaintext":
            return {"security.protocol": "PLAINTEXT"}
        found = {"security.protocol": self.protocol, "ssl.ca.location": str(self.ca_file)}
        if self.mode == "ssl":
            found |= {
                "ssl.certificate.location": str(self.cert_file(user)),
                "ssl.key.location": str(self.key_file(user)),
            }
        else:
            found |= {"sasl.mechanisms": MECHANISM, "sasl.username": user}
            if secrets_inline:
                found["sasl.password"] = self.password(user)
        return found

    def java_properties(self, user: str = "admin") -> dict[str, str]:
        """The same for a Java client (Kafka's own tools): PEM truststore and keystore, SCRAM JAAS."""
        if self.mode == "plaintext":
            return {"security.protocol": "PLAINTEXT"}
        found = {
            "security.protocol": self.protocol,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
        }
        if self.mode == "ssl":
            found |= {
                "ssl.keystore.type": "PEM",
                "ssl.keystore.certificate.chain": self.cert_file(user).read_text().replace("\n", "\\n"),
                "ssl.keystore.key": self.key_file(user).read_text().replace("\n", "\\n"),
            }
        else:
            found |= {
                "sasl.mechanism": MECHANISM,
                "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{user}" password="{self.password(user)}";',
            }
        return found
