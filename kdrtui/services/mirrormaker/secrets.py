"""A deployment's ``secrets/`` directory on the edge node: made at deploy time from what kdrtui reads where
it runs, written over SFTP with its final mode, compared by digest.

- :func:`materialize` makes one file's bytes: the properties file of secret values — MirrorMaker's
  ``sasl.jaas.config`` (its password read from the environment variable or file the plan names,
  :func:`~kdrtui.services.kafka.security.read_secret`), the client key as unencrypted PKCS#8 and its
  certificate chain — the CA, or the keytab. A secret that cannot be read raises :class:`SecurityError`
  naming the cluster and the plan key, never the secret.
- :func:`deploy_secrets` creates the directory 0700 and each file with its mode (0600; the CA 0644) over
  SFTP — never on a command line, in an environment or a log line — uploading only files whose digest or
  mode differ, and removes files the plan no longer renders.
- :func:`secrets_drift` compares sha256 digests reported by the node (``secrets.sh``) with the digests of
  what kdrtui would write: ``secrets/primary.properties: changed (digest)``.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from kdrtui.domain.mirrormaker_drift import NodeSecrets, parse_secrets_probe, secret_drift
from kdrtui.domain.mirrormaker_security import (
    SECRETS_DIR,
    SECRETS_DIR_MODE,
    SecretFile,
    SecretKind,
    mirrormaker_login,
    mutual_tls,
    secrets_properties_text,
)
from kdrtui.domain.security import ClusterSecurity
from kdrtui.services.kafka.security import SecurityError, read_secret
from kdrtui.services.mirrormaker.node_scripts import secrets_probe
from kdrtui.services.ssh import EdgeSession


def _where(cluster: str, key: str) -> str:
    return f"cluster '{cluster}' [security] {key}"


def _read_local(cluster: str, key: str, name: str | None) -> bytes:
    if not name:
        raise SecurityError(f"{_where(cluster, key)} is not set")
    try:
        return Path(name).expanduser().read_bytes()
    except OSError as exc:
        raise SecurityError(f"{_where(cluster, key)}: cannot read {name}: {exc.strerror or exc}") from None


def _pkcs8_key(cluster: str, security: ClusterSecurity, env: Mapping[str, str] | None) -> bytes:
    """The client key as unencrypted PKCS#8 PEM: Kafka's PEM keystore reads only PKCS#8, and Java 17
    cannot decrypt the PBES2 keys OpenSSL 3 writes by default. (In the 0600 file it is as safe as an
    encrypted key would be with its password beside it.)"""
    from cryptography.hazmat.primitives import serialization

    data = _read_local(cluster, "key_file", security.key_file)
    password = None
    if security.key_password_env:
        what = _where(cluster, "key_password_env")
        password = read_secret(security.key_password_env, None, what, env).encode()
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        key = serialization.load_pem_private_key(data, password)
    except TypeError:  # encrypted without a password, or a password for a key that has none
        hint = "not encrypted: drop key_password_env" if password else "encrypted: set key_password_env"
        raise SecurityError(f"{_where(cluster, 'key_file')}: {security.key_file} is {hint}") from None
    except (ValueError, UnsupportedAlgorithm):
        why = "wrong key_password_env, or not a PEM private key" if password else "not a PEM private key"
        raise SecurityError(f"{_where(cluster, 'key_file')}: {security.key_file}: {why}") from None
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def materialize(file: SecretFile, env: Mapping[str, str] | None = None) -> bytes:
    """The bytes of ``file`` as kdrtui writes it to the node (secrets read now, from ``env`` or the
    process's environment and the files the plan names).

    Raises:
        SecurityError: a secret or file cannot be read; the message names the cluster and the plan key.
    """
    security, cluster = file.security, file.cluster
    if file.kind is SecretKind.CA:
        return _read_local(cluster, "ca_file", security.ca_file)
    if file.kind is SecretKind.KEYTAB:
        return _read_local(cluster, "keytab", security.keytab)
    password = key_pem = chain_pem = None
    login = mirrormaker_login(security)
    if login is not None:
        what = f"{_where(cluster, login.key)} (the SASL password of MirrorMaker's user '{login.username}')"
        password = read_secret(login.env, login.file, what, env)
    if mutual_tls(security):
        chain = _read_local(cluster, "cert_file", security.cert_file)
        if b"-----BEGIN CERTIFICATE-----" not in chain:
            raise SecurityError(f"{_where(cluster, 'cert_file')}: {security.cert_file}: no PEM certificate")
        chain_pem = chain.decode("utf-8", errors="replace").strip() + "\n"
        key_pem = _pkcs8_key(cluster, security, env).decode("ascii")
    text = secrets_properties_text(cluster, security, password=password, key_pem=key_pem, chain_pem=chain_pem)
    # properties_text writes ASCII only (everything else as \u escapes).
    return text.encode("ascii")


def digest(data: bytes) -> str:
    """The sha256 hex digest drift compares (``sha256sum`` on the node)."""
    return hashlib.sha256(data).hexdigest()


def _dir(run_dir: str) -> str:
    """The secrets directory of a run directory on the node."""
    return f"{run_dir.rstrip('/')}/{SECRETS_DIR}"


async def node_secrets(session: EdgeSession, run_dir: str) -> NodeSecrets:
    """What the node's secrets directory holds: its mode, each file's mode and digest."""
    out = await session.run(secrets_probe(_dir(run_dir)), timeout=20)
    return parse_secrets_probe(out.stdout)


async def secrets_drift(
    session: EdgeSession, run_dir: str, files: Sequence[SecretFile], env: Mapping[str, str] | None = None
) -> list[str]:
    """How the node's secrets directory differs from what kdrtui would write (no secret in any line); a
    secret kdrtui cannot read now shows as ``cannot compare`` with why."""
    if not files:
        # Nothing to compare (no probe: every refresh crosses the link); a deploy removes leftovers.
        return []
    wanted: dict[str, tuple[int, str] | str] = {}
    for file in files:
        try:
            wanted[file.name] = (file.mode, digest(materialize(file, env)))
        except SecurityError as exc:
            wanted[file.name] = str(exc)
    return secret_drift(wanted, await node_secrets(session, run_dir))


def materialize_all(files: Sequence[SecretFile], env: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Every file's bytes by name, read before anything is uploaded: a secret that cannot be read stops
    the deploy before it changes the node.

    Raises:
        SecurityError: see :func:`materialize`.
    """
    return {file.name: materialize(file, env) for file in files}


async def deploy_secrets(
    session: EdgeSession,
    run_dir: str,
    files: Sequence[SecretFile],
    made: Mapping[str, bytes],
) -> list[tuple[str, str]]:
    """Bring the node's secrets directory to ``made`` (from :func:`materialize_all`): the directory 0700,
    each file created over SFTP with its mode, only where digest or mode differ; files the plan no longer
    renders removed. Returns what changed: ``("uploaded" | "removed", "secrets/<name>")``."""
    node = await node_secrets(session, run_dir)
    where = _dir(run_dir)
    changed: list[tuple[str, str]] = []
    if files and node.dir_mode != SECRETS_DIR_MODE:
        await session.make_dir(where, mode=SECRETS_DIR_MODE)
    for file in files:
        data = made[file.name]
        if node.files.get(file.name) != (file.mode, digest(data)):
            await session.upload(data, f"{where}/{file.name}", mode=file.mode)
            changed.append(("uploaded", file.rel))
    stale = sorted(set(node.files) - {file.name for file in files})
    if stale:
        paths = " ".join(shlex.quote(f"{where}/{name}") for name in stale)
        await session.run(f"rm -f -- {paths}", timeout=20, check=True)
        changed += [("removed", f"{SECRETS_DIR}/{name}") for name in stale]
    return changed
