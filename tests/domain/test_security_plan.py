"""The ``[clusters.<alias>.security]`` table: every mistake at its line, secrets never in the plan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdrtui.domain.plan import PlanInvalid, parse_plan
from kdrtui.domain.security import SaslMechanism, SecurityProtocol

BASE = """\
[plan]
name = "orders-dr"
topology = "cold-standby"

[clusters.primary]
region = "eastus"

[clusters.primary.security]
{body}

[clusters.dr]
region = "westus2"

[[flows]]
source = "primary"
target = "dr"
"""


def problems(body: str) -> list[str]:
    with pytest.raises(PlanInvalid) as caught:
        parse_plan(BASE.format(body=body), "p.toml")
    return [str(problem) for problem in caught.value.problems]


def test_absent_table_is_plaintext() -> None:
    plan = parse_plan(BASE.replace("[clusters.primary.security]\n{body}\n", ""), "p.toml")
    assert plan.clusters["primary"].security is None


def test_sasl_ssl_with_password_file_loads() -> None:
    body = (
        'protocol = "SASL_SSL"\nca_file = "/etc/kafka/ca.pem"\nmechanism = "SCRAM-SHA-512"\n'
        'username = "kdrtui"\npassword_file = "~/.kdrtui/primary.pw"'
    )
    security = parse_plan(BASE.format(body=body), "p.toml").clusters["primary"].security
    assert security is not None
    assert security.protocol is SecurityProtocol.SASL_SSL and security.protocol.tls
    assert security.mechanism is SaslMechanism.SCRAM_SHA_512
    assert security.verify_hostname is True


def test_ssl_without_ca_names_the_table_line() -> None:
    assert problems('protocol = "SSL"') == [
        "p.toml:8: clusters.primary.security.ca_file: SSL needs ca_file: the CA (PEM) the brokers' "
        "certificates are checked against"
    ]


def test_gssapi_keytab_names_a_file_not_a_secret() -> None:
    body = (
        'protocol = "SASL_PLAINTEXT"\nmechanism = "GSSAPI"\nprincipal = "mm2@EXAMPLE.COM"\n'
        'keytab = "/etc/security/keytabs/mm2.keytab"'
    )
    security = parse_plan(BASE.format(body=body), "p.toml").clusters["primary"].security
    assert security is not None and security.keytab == "/etc/security/keytabs/mm2.keytab"


def test_password_literal_is_refused_at_its_line() -> None:
    body = (
        'protocol = "SASL_SSL"\nca_file = "/ca.pem"\nmechanism = "PLAIN"\nusername = "u"\n'
        'password = "hunter2"'
    )
    found = problems(body)
    assert any(
        line.startswith("p.toml:13: clusters.primary.security.password: secrets are never") for line in found
    )
    assert not any("hunter2" in line for line in found)


def test_mechanism_without_sasl_protocol() -> None:
    found = problems(
        'protocol = "SSL"\nca_file = "/ca.pem"\nmechanism = "PLAIN"\nusername = "u"\npassword_env = "P"'
    )
    assert found == [
        "p.toml:11: clusters.primary.security.mechanism: a SASL mechanism needs protocol SASL_PLAINTEXT "
        "or SASL_SSL, not SSL"
    ]


def test_relative_file_and_unknown_protocol() -> None:
    found = problems('protocol = "TLS"\nca_file = "ca.pem"')
    assert any(
        "security.protocol: must be 'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' or 'SASL_SSL'" in f for f in found
    )
    assert any("security.ca_file: 'ca.pem' must be an absolute path, or start with ~/" in f for f in found)


def test_mutual_tls_needs_both_halves_and_mirrormaker_user_needs_a_password() -> None:
    found = problems('protocol = "SSL"\nca_file = "/ca.pem"\ncert_file = "/c.pem"')
    assert found == [
        "p.toml:11: clusters.primary.security.cert_file: mutual TLS needs both cert_file and key_file"
    ]
    body = (
        'protocol = "SASL_SSL"\nca_file = "/ca.pem"\nmechanism = "SCRAM-SHA-256"\nusername = "u"\n'
        'password_env = "P"\nmirrormaker_username = "mm"'
    )
    assert problems(body) == [
        "p.toml:8: clusters.primary.security.mirrormaker_password_env: mirrormaker_username needs exactly "
        "one of mirrormaker_password_env or mirrormaker_password_file"
    ]


def test_loader_refuses_unreadable_files(tmp_path: Path) -> None:
    from kdrtui.services.plan_files import load_plan

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    body = (
        f'protocol = "SASL_SSL"\nca_file = "{ca}"\nmechanism = "SCRAM-SHA-512"\nusername = "u"\n'
        f'password_file = "{tmp_path / "missing.pw"}"'
    )
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(BASE.format(body=body))
    with pytest.raises(PlanInvalid) as caught:
        load_plan(plan_file)
    assert [str(p) for p in caught.value.problems] == [
        f"{plan_file}:13: clusters.primary.security.password_file: {tmp_path / 'missing.pw'}: no such file"
    ]
    (tmp_path / "missing.pw").write_text("s3cret\n")
    if os.geteuid() != 0:
        (tmp_path / "missing.pw").chmod(0)
        with pytest.raises(PlanInvalid, match="permission denied"):
            load_plan(plan_file)
        (tmp_path / "missing.pw").chmod(0o600)
    assert load_plan(plan_file).clusters["primary"].security is not None


def test_describe_security_fits_a_card() -> None:
    from kdrtui.domain.security import ClusterSecurity, describe_security

    assert describe_security(None) == ""
    assert describe_security(ClusterSecurity()) == ""
    sasl = ClusterSecurity.model_validate(
        {"protocol": "SASL_SSL", "ca_file": "/ca", "mechanism": "SCRAM-SHA-512", "username": "admin"}
    )
    assert describe_security(sasl) == "SASL_SSL as admin"
    mtls = ClusterSecurity.model_validate(
        {"protocol": "SSL", "ca_file": "/ca", "cert_file": "/c", "key_file": "/k"}
    )
    assert describe_security(mtls) == "SSL · mutual TLS"
