"""A deployment's secrets directory, made from what kdrtui reads: passwords from the environment or files,
the CA, a PKCS#8 key and its chain, the keytab; compared by digest through the real ``secrets.sh`` probe
(run by a local shell standing in for the node); never a secret in a rendered file, an error or a drift
line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
import tomli_w
import trustme
from cryptography.hazmat.primitives import serialization

from kdrtui.domain.mirrormaker_deployment import RunDirScripts, render_deployment
from kdrtui.domain.mirrormaker_security import SecretFile, SecretKind
from kdrtui.domain.plan import Plan, parse_plan
from kdrtui.domain.security import ClusterSecurity
from kdrtui.services.kafka.security import SecurityError, read_secret
from kdrtui.services.mirrormaker.secrets import digest, materialize, materialize_all, secrets_drift
from kdrtui.services.ssh import CommandResult, EdgeSession

PASSWORD = "s3cr3t-mm2-Ü-pw"
SCRIPTS = RunDirScripts("supervise", "schedule", "awk")


class LocalShell:
    """Stands in for an edge node's session: runs the command in a local ``sh``."""

    async def run(self, command: str, *, timeout: float = 30.0, check: bool = False) -> CommandResult:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout)
        return CommandResult(command, done.returncode, done.stdout, done.stderr)


NODE = cast(EdgeSession, LocalShell())


@pytest.fixture
def tls(tmp_path: Path) -> dict[str, Path]:
    """A CA, and a client certificate whose key is PKCS#1 (``BEGIN RSA PRIVATE KEY``, unreadable by Kafka's
    PEM keystore as it is) or encrypted the OpenSSL 3 way (PBES2, unreadable by Java 17)."""
    ca = trustme.CA()
    cert = ca.issue_cert("mm2.example", key_type=trustme.KeyType.RSA)
    key = serialization.load_pem_private_key(cert.private_key_pem.bytes(), None)
    paths = {
        "ca": tmp_path / "ca.pem",
        "cert": tmp_path / "mm2.crt",
        "key": tmp_path / "mm2.key",
        "encrypted": tmp_path / "mm2-enc.key",
    }
    paths["ca"].write_bytes(ca.cert_pem.bytes())
    paths["cert"].write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    paths["encrypted"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"key-pw-123"),
        )
    )
    return paths


def security(**table: Any) -> ClusterSecurity:
    return ClusterSecurity.model_validate(table)


def scram(tmp_path: Path, **more: Any) -> ClusterSecurity:
    pw = tmp_path / "mm2.pw"
    pw.write_text(PASSWORD + "\nignored second line\n")
    return security(
        protocol="SASL_PLAINTEXT",
        mechanism="SCRAM-SHA-512",
        username="kdrtui",
        password_env="KDRTUI_PW",
        mirrormaker_username="mm2",
        mirrormaker_password_file=str(pw),
        **more,
    )


def test_read_secret_takes_the_variable_or_the_first_line_of_the_file(tmp_path: Path) -> None:
    assert read_secret("PW", None, "x", {"PW": "abc"}) == "abc"
    (tmp_path / "pw").write_text("line1\nline2\n")
    assert read_secret(None, str(tmp_path / "pw"), "x", {}) == "line1"
    with pytest.raises(SecurityError, match=r"^x: the environment variable PW is not set$"):
        read_secret("PW", None, "x", {})


def test_the_properties_file_holds_mirrormakers_own_login(tmp_path: Path) -> None:
    file = SecretFile("primary", SecretKind.PROPERTIES, scram(tmp_path))
    text = materialize(file, {"KDRTUI_PW": "kdrtui's own, not MirrorMaker's"}).decode("ascii")
    assert 'username="mm2"' in text
    assert "s3cr3t-mm2-\\u00dc-pw" in text, "non-ASCII as a Java escape, read back by the provider"
    assert "kdrtui's own" not in text


def test_an_unset_password_names_the_cluster_and_the_key_in_one_line(tmp_path: Path) -> None:
    table = security(
        protocol="SASL_SSL",
        ca_file="/etc/ca.pem",
        mechanism="PLAIN",
        username="kdrtui",
        password_env="PRIMARY_KAFKA_PW",
    )
    with pytest.raises(SecurityError) as caught:
        materialize(SecretFile("primary", SecretKind.PROPERTIES, table), {})
    message = str(caught.value)
    assert message == (
        "cluster 'primary' [security] password_env (the SASL password of MirrorMaker's user 'kdrtui'): "
        "the environment variable PRIMARY_KAFKA_PW is not set"
    )
    missing = scram(tmp_path).model_copy(update={"mirrormaker_password_file": str(tmp_path / "gone")})
    with pytest.raises(
        SecurityError, match=r"mirrormaker_password_file .*: cannot read .*gone: No such file"
    ):
        materialize(SecretFile("primary", SecretKind.PROPERTIES, missing), {})


def java_properties(data: bytes) -> dict[str, str]:
    """A properties file as java.util.Properties reads it (``key = value`` lines, ``\\`` escapes)."""
    found = {}
    for line in data.decode("ascii").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" = ")
            found[key] = value.encode("ascii").decode("unicode_escape")
    return found


def test_the_client_key_goes_as_pkcs8_with_its_chain(tls: dict[str, Path]) -> None:
    table = security(
        protocol="SSL", ca_file=str(tls["ca"]), cert_file=str(tls["cert"]), key_file=str(tls["key"])
    )
    data = materialize(SecretFile("dr", SecretKind.PROPERTIES, table), {})
    values = java_properties(data)
    assert sorted(values) == ["ssl.keystore.certificate.chain", "ssl.keystore.key"]
    key = values["ssl.keystore.key"]
    assert key.startswith("-----BEGIN PRIVATE KEY-----\n"), "Kafka's PEM keystore reads PKCS#8 only"
    assert "RSA PRIVATE KEY" not in key and key.count("PRIVATE KEY-----") == 2
    assert values["ssl.keystore.certificate.chain"] == tls["cert"].read_text().strip() + "\n"
    assert materialize(SecretFile("dr", SecretKind.CA, table), {}) == tls["ca"].read_bytes()
    assert data == materialize(SecretFile("dr", SecretKind.PROPERTIES, table), {}), "same bytes, same digest"


def test_an_encrypted_key_is_decrypted_with_its_password(tls: dict[str, Path]) -> None:
    table = security(
        protocol="SSL",
        ca_file=str(tls["ca"]),
        cert_file=str(tls["cert"]),
        key_file=str(tls["encrypted"]),
        key_password_env="KEY_PW",
    )
    secrets_file = SecretFile("dr", SecretKind.PROPERTIES, table)
    values = java_properties(materialize(secrets_file, {"KEY_PW": "key-pw-123"}))
    assert values["ssl.keystore.key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert "key-pw-123" not in str(values), "the key goes decrypted: no ssl.key.password"
    with pytest.raises(SecurityError, match=r"^cluster 'dr' \[security\] key_file: .*wrong key_password_env"):
        materialize(secrets_file, {"KEY_PW": "wrong"})
    with pytest.raises(SecurityError, match=r"key_password_env: the environment variable KEY_PW is not set"):
        materialize(secrets_file, {})
    without = table.model_copy(update={"key_password_env": None})
    with pytest.raises(SecurityError, match="is encrypted: set key_password_env"):
        materialize(SecretFile("dr", SecretKind.PROPERTIES, without), {})


def test_the_keytab_is_copied_byte_for_byte(tmp_path: Path) -> None:
    keytab = tmp_path / "mm2.keytab"
    keytab.write_bytes(bytes(range(256)))
    table = security(protocol="SASL_PLAINTEXT", mechanism="GSSAPI", principal="mm2@EX", keytab=str(keytab))
    assert materialize(SecretFile("dr", SecretKind.KEYTAB, table), {}) == bytes(range(256))


def secured_plan(tmp_path: Path, tls: dict[str, Path]) -> Plan:
    data: dict[str, Any] = {
        "plan": {"name": "secured", "topology": "cold-standby", "primary": "primary", "secondary": "dr"},
        "clusters": {
            "primary": {
                "region": "eastus",
                "bootstrap_servers": ["p1:9093"],
                "security": scram(tmp_path).model_dump(exclude_defaults=True)
                | {"protocol": "SASL_SSL", "ca_file": str(tls["ca"])},
            },
            "dr": {
                "region": "westus2",
                "bootstrap_servers": ["d1:9093"],
                "security": {
                    "protocol": "SSL",
                    "ca_file": str(tls["ca"]),
                    "cert_file": str(tls["cert"]),
                    "key_file": str(tls["key"]),
                },
            },
        },
        "edge_nodes": [{"name": "e1", "cluster": "dr", "host": "h", "user": "u", "kafka_home": "/opt/kafka"}],
        "flows": [{"source": "primary", "target": "dr"}],
    }
    return parse_plan(tomli_w.dumps(data))


def test_no_secret_is_in_any_rendered_file(tmp_path: Path, tls: dict[str, Path]) -> None:
    plan = secured_plan(tmp_path, tls)
    (dep,) = render_deployment(plan, plan.edge_nodes[0], scripts=SCRIPTS, home="/home/u")
    made = materialize_all(dep.secrets, {})
    assert sorted(made) == ["dr.ca.pem", "dr.properties", "primary.ca.pem", "primary.properties"]
    rendered = "\n".join(dep.files.values())
    key_body = java_properties(made["dr.properties"])["ssl.keystore.key"].splitlines()[1]
    for secret in (PASSWORD, "s3cr3t", key_body):
        assert secret not in rendered
    assert "s3cr3t-mm2" in made["primary.properties"].decode()


async def test_drift_compares_digests_from_the_node_and_never_shows_a_secret(
    tmp_path: Path, tls: dict[str, Path]
) -> None:
    plan = secured_plan(tmp_path, tls)
    run = tmp_path / "node" / "mm2-dr"
    (dep,) = render_deployment(plan, plan.edge_nodes[0], scripts=SCRIPTS, home="/home/u")
    assert await secrets_drift(NODE, str(run), dep.secrets, {}) == [
        f"secrets/{name}: missing on the node"
        for name in ("dr.ca.pem", "dr.properties", "primary.ca.pem", "primary.properties")
    ]
    (run / "secrets").mkdir(parents=True, mode=0o700)
    for name, data in materialize_all(dep.secrets, {}).items():
        path = run / "secrets" / name
        path.write_bytes(data)
        path.chmod(0o644 if name.endswith(".ca.pem") else 0o600)
    assert await secrets_drift(NODE, str(run), dep.secrets, {}) == []

    # The password changes where kdrtui reads it: the node's copy is now stale.
    (tmp_path / "mm2.pw").write_text("a-new-password-42\n")
    found = await secrets_drift(NODE, str(run), dep.secrets, {})
    assert found == ["secrets/primary.properties: changed (digest)"]
    assert not any(secret in line for line in found for secret in ("a-new-password", "s3cr3t"))

    os.chmod(run / "secrets", 0o755)
    (run / "secrets" / "old.properties").write_text("x")
    assert await secrets_drift(NODE, str(run), dep.secrets, {}) == [
        "secrets/: mode 0755 on the node, should be 0700",
        "secrets/primary.properties: changed (digest)",
        "secrets/old.properties: on the node but not rendered from the plan",
    ]


def test_the_digest_is_sha256sums() -> None:
    done = subprocess.run(["sha256sum"], input=b"abc", capture_output=True, check=True)
    assert digest(b"abc") == done.stdout.split()[0].decode()
