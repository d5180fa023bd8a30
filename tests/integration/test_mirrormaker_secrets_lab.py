"""MirrorMaker deployed for a secured cluster, over real SSH to the lab's edge node: the secrets directory's
files and modes, no secret in a rendered file, the running JVM's command line or environment, ``ps`` or the
deployment's log; drift by digest; an unreadable password stops ``mm deploy`` with one line.

The lab's brokers are PLAINTEXT here (the secured labs run MirrorMaker for real elsewhere): this checks what
kdrtui puts on the node, and that MirrorMaker starts from it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from kdrtui.domain.plan import MirrorMakerKind, Naming, Plan
from kdrtui.domain.security import ClusterSecurity
from kdrtui.lab.lab import PRIMARY, Lab
from kdrtui.services.plan_files import load_plan, save_plan
from tests.lab_helpers import mirrormaker_jvms, mm

pytestmark = pytest.mark.lab

PASSWORD_ENV = "KDRTUI_TEST_MM2_PASSWORD"
PASSWORD = "Mm2-s3cret-in-env-7f3a"
NEW_PASSWORD = "Mm2-rotated-s3cret-91c2"


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    """A CA and a client certificate with its key, as files on kdrtui's machine."""
    ca = trustme.CA()
    cert = ca.issue_cert("mirrormaker.example")
    files = {
        "ca": tmp_path / "tls" / "ca.pem",
        "cert": tmp_path / "tls" / "mm.crt",
        "key": tmp_path / "tls" / "mm.key",
    }
    files["ca"].parent.mkdir()
    ca.cert_pem.write_to_path(str(files["ca"]))
    files["cert"].write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(files["key"]))
    files["key"].chmod(0o600)
    return files


@pytest.fixture
def secured_plan(lab: Lab, tmp_path: Path, tls_files: dict[str, Path]) -> Iterator[Path]:
    """The lab plan with a SASL_SSL + mutual TLS table on primary (MirrorMaker's own SCRAM user, its
    password in an environment variable) and a work dir of its own; MirrorMaker stopped after the test, and
    the lab plan loaded again (so the session's Kafka clients connect to primary as PLAINTEXT again)."""
    base = load_plan(lab.plan_path)
    security = ClusterSecurity.model_validate(
        {
            "protocol": "SASL_SSL",
            "ca_file": str(tls_files["ca"]),
            "cert_file": str(tls_files["cert"]),
            "key_file": str(tls_files["key"]),
            "mechanism": "SCRAM-SHA-512",
            "username": "kdrtui",
            "password_env": "KDRTUI_TEST_UNUSED_PW",
            "mirrormaker_username": "mm2-edge",
            "mirrormaker_password_env": PASSWORD_ENV,
        }
    )
    clusters = dict(base.clusters)
    clusters[PRIMARY] = clusters[PRIMARY].model_copy(update={"security": security})
    nodes = [n.model_copy(update={"work_dir": str(tmp_path / "work")}) for n in base.edge_nodes]
    path = tmp_path / "secured.toml"
    changed = base.model_copy(update={"clusters": clusters, "edge_nodes": nodes})
    save_plan(Plan.model_validate(changed.model_dump()), path)
    try:
        yield path
    finally:
        mm("stop", "--plan", str(path))
        load_plan(lab.plan_path)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.3)


def test_secrets_reach_the_node_private_and_nowhere_else(
    secured_plan: Path, tmp_path: Path, tls_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = str(secured_plan)
    run = tmp_path / "work" / "mm" / "mm2-dr"
    secrets = run / "secrets"

    # A password kdrtui cannot read: one line naming the cluster and the key, nothing written.
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    refused = mm("deploy", "--plan", plan)
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    (line,) = refused.output.strip().splitlines()
    assert f"cluster '{PRIMARY}' [security] mirrormaker_password_env" in line
    assert f"the environment variable {PASSWORD_ENV} is not set" in line
    assert not secrets.exists()

    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    started = mm("start", "--plan", plan)
    assert started.exit_code == 0, started.output
    assert "uploaded mm2-dr/secrets/primary.properties" in started.output
    assert "running (pid" in started.output

    # The files: the directory 0700, the secrets 0600, the CA 0644; what each holds.
    assert mode(secrets) == 0o700
    assert {p.name: mode(p) for p in secrets.iterdir()} == {
        f"{PRIMARY}.ca.pem": 0o644,
        f"{PRIMARY}.properties": 0o600,
    }
    assert (secrets / f"{PRIMARY}.ca.pem").read_bytes() == tls_files["ca"].read_bytes()
    held = (secrets / f"{PRIMARY}.properties").read_text()
    assert f'username="mm2-edge" password="{PASSWORD}";' in held
    assert "ssl.keystore.key = -----BEGIN PRIVATE KEY-----\\n" in held
    assert "ssl.keystore.certificate.chain = -----BEGIN CERTIFICATE-----\\n" in held
    config = (run / "mm2.properties").read_text()
    assert PASSWORD not in config and "PRIVATE KEY" not in config
    reference = f"${{file:{secrets}/{PRIMARY}.properties:"
    assert f"{PRIMARY}.sasl.jaas.config = {reference}sasl.jaas.config}}" in config
    assert f"{PRIMARY}.ssl.keystore.key = {reference}ssl.keystore.key}}" in config
    assert str(tls_files["ca"]) not in config, "the path on kdrtui's machine means nothing on the node"

    # The running JVM: not in its argv, its environment, ps, or its log.
    (pid,) = mirrormaker_jvms(str(run))
    log = run / "mm.log"
    wait_for(lambda: log.exists() and "MirrorMaker" in log.read_text(), 30, "MirrorMaker's first log lines")
    time.sleep(3)  # let it log its start-up (client configs, connection attempts)
    for secret_place in (
        Path(f"/proc/{pid}/cmdline").read_bytes(),
        Path(f"/proc/{pid}/environ").read_bytes(),
        subprocess.run(["ps", "-eo", "args", "ww"], capture_output=True, check=True).stdout,
        log.read_bytes(),
    ):
        assert PASSWORD.encode() not in secret_place

    status = json.loads(mm("status", "--plan", plan, "--json").output)["deployments"][0]
    assert status["state"] == "running" and status["drift"] == []

    # The password changes where kdrtui reads it: drift by digest, never the value; deploy repairs it.
    monkeypatch.setenv(PASSWORD_ENV, NEW_PASSWORD)
    human = mm("status", "--plan", plan)
    drifted = json.loads(mm("status", "--plan", plan, "--json").output)["deployments"][0]
    assert drifted["drift"] == [f"secrets/{PRIMARY}.properties: changed (digest)"]
    for output in (human.output, json.dumps(drifted)):
        assert PASSWORD not in output and NEW_PASSWORD not in output
    assert f"drift: secrets/{PRIMARY}.properties: changed (digest)" in human.output
    redeploy = mm("deploy", "--plan", plan)
    assert redeploy.output.splitlines() == [f"dr-edge-1: uploaded mm2-dr/secrets/{PRIMARY}.properties"]
    assert mode(secrets / f"{PRIMARY}.properties") == 0o600
    assert NEW_PASSWORD in (secrets / f"{PRIMARY}.properties").read_text()
    assert json.loads(mm("status", "--plan", plan, "--json").output)["deployments"][0]["drift"] == []

    stopped = mm("stop", "--plan", plan)
    assert stopped.exit_code == 0, stopped.output
    assert PASSWORD not in log.read_text() and NEW_PASSWORD not in log.read_text()


def test_mm1_gets_its_own_secrets_directory(
    secured_plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    plan = load_plan(secured_plan)
    flows = [plan.flows[0].model_copy(update={"mirrormaker": MirrorMakerKind.MM1, "naming": Naming.IDENTITY})]
    path = tmp_path / "mm1.toml"
    save_plan(Plan.model_validate(plan.model_copy(update={"flows": flows}).model_dump()), path)
    deployed = mm("deploy", "--plan", str(path))
    assert deployed.exit_code == 0, deployed.output
    run = tmp_path / "work" / "mm" / "mm1-primary-dr"
    assert mode(run / "secrets") == 0o700
    assert mode(run / "secrets" / f"{PRIMARY}.properties") == 0o600
    consumer = (run / "consumer.properties").read_text()
    assert "config.providers = file" in consumer
    assert f"sasl.jaas.config = ${{file:{run}/secrets/{PRIMARY}.properties:sasl.jaas.config}}" in consumer
    assert PASSWORD not in consumer and PASSWORD not in (run / "producer.properties").read_text()
    assert "security.protocol" not in (run / "producer.properties").read_text(), "dr has no table: PLAINTEXT"
