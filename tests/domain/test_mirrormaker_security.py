"""MirrorMaker 2 and 1 on secured clusters, as rendered (pure): each cluster's client settings, the config
provider that reads the passwords, the secrets directory's files, and the drift of that directory (digests,
never contents)."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest
import tomli_w

from kdrtui.domain.mirrormaker_deployment import RunDirScripts, render_deployment
from kdrtui.domain.mirrormaker_drift import NodeSecrets, parse_secrets_probe, secret_drift
from kdrtui.domain.mirrormaker_render import RenderError, render_mm1, render_mm2_properties
from kdrtui.domain.mirrormaker_security import (
    FILE_PROVIDER_CLASS,
    SecretKind,
    jaas_quote,
    mirrormaker_login,
    secrets_properties_text,
)
from kdrtui.domain.plan import Plan, parse_plan

SCRIPTS = RunDirScripts("supervise", "schedule", "awk")
RUN = "/home/sshuser/.kdrtui/mm/mm2-dr"
SECRETS = f"{RUN}/secrets"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule"

SSL = {"protocol": "SSL", "ca_file": "/etc/kafka/ca.pem"}
MTLS = {**SSL, "cert_file": "~/tls/mm.crt", "key_file": "~/tls/mm.key", "key_password_env": "KEY_PW"}
SASL_SSL_SCRAM = {
    "protocol": "SASL_SSL",
    "ca_file": "/etc/kafka/ca.pem",
    "verify_hostname": False,
    "mechanism": "SCRAM-SHA-512",
    "username": "kdrtui",
    "password_env": "KDRTUI_PW",
    "mirrormaker_username": "mm2",
    "mirrormaker_password_file": "~/mm2.pw",
}
PLAIN = {"protocol": "SASL_PLAINTEXT", "mechanism": "PLAIN", "username": "kdrtui", "password_env": "PW"}
GSSAPI = {
    "protocol": "SASL_SSL",
    "ca_file": "/etc/kafka/ca.pem",
    "mechanism": "GSSAPI",
    "principal": "mm2@EXAMPLE.COM",
    "keytab": "~/mm2.keytab",
    "service_name": "kafka-esp",
}


def secured_plan(primary: dict[str, Any] | None, dr: dict[str, Any] | None = None, **flow: Any) -> Plan:
    """primary -> dr with the given ``[security]`` tables, an edge node of dr as sshuser."""
    data: dict[str, Any] = {
        "plan": {"name": "secured", "topology": "cold-standby", "primary": "primary", "secondary": "dr"},
        "clusters": {
            "primary": {"region": "eastus", "bootstrap_servers": ["p1:9093"], "replication_factor": 1},
            "dr": {"region": "westus2", "bootstrap_servers": ["d1:9093"], "replication_factor": 1},
        },
        "edge_nodes": [
            {"name": "e1", "cluster": "dr", "host": "10.1.0.4", "user": "sshuser", "kafka_home": "/opt/kafka"}
        ],
        "flows": [{"source": "primary", "target": "dr", **flow}],
    }
    for alias, table in (("primary", primary), ("dr", dr)):
        if table is not None:
            data["clusters"][alias]["security"] = table
    return parse_plan(tomli_w.dumps(data))


def properties(text: str) -> dict[str, str]:
    """``key = value`` lines (Java escapes undone: ``\\\\``, ``\\n``, ``\\uXXXX``...)."""
    found = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" = ")
            found[key] = re.sub(r"\\(u[0-9a-f]{4}|.)", lambda m: _unescape(m.group(1)), value)
    return found


def _unescape(escaped: str) -> str:
    if escaped.startswith("u"):
        return chr(int(escaped[1:], 16))
    return {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(escaped, escaped)


def mm2(plan: Plan) -> dict[str, str]:
    (dep,) = render_deployment(plan, plan.edge_nodes[0], scripts=SCRIPTS, home="/home/sshuser")
    assert dep.run_dir == RUN
    return properties(dep.files["mm2.properties"])


def security_keys(props: dict[str, str], alias: str) -> dict[str, str]:
    prefix = f"{alias}."
    wanted = ("security.", "ssl.", "sasl.")
    return {
        k[len(prefix) :]: v
        for k, v in props.items()
        if k.startswith(prefix) and k[len(prefix) :].startswith(wanted)
    }


def test_ssl_gets_a_pem_truststore_from_the_secrets_directory() -> None:
    props = mm2(secured_plan(SSL))
    assert security_keys(props, "primary") == {
        "security.protocol": "SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": f"{SECRETS}/primary.ca.pem",
        "ssl.endpoint.identification.algorithm": "https",
    }
    assert security_keys(props, "dr") == {}, "a cluster without a table stays PLAINTEXT"
    assert "config.providers" not in props, "no password, no provider"


def test_mutual_tls_gets_a_pem_keystore_through_the_provider_and_no_key_password() -> None:
    props = mm2(secured_plan(MTLS, MTLS))
    assert props["config.providers"] == "file"
    for alias in ("primary", "dr"):
        secrets = f"{SECRETS}/{alias}.properties"
        assert security_keys(props, alias) == {
            "security.protocol": "SSL",
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": f"{SECRETS}/{alias}.ca.pem",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.key": f"${{file:{secrets}:ssl.keystore.key}}",
            "ssl.keystore.certificate.chain": f"${{file:{secrets}:ssl.keystore.certificate.chain}}",
            "ssl.endpoint.identification.algorithm": "https",
        }
    # Values, not ssl.keystore.location: Kafka <= 3.2 wants ssl.key.password with a PEM keystore file, and
    # the key goes decrypted (Java 17 cannot decrypt OpenSSL 3's PBES2 keys): no key password anywhere.
    assert not any("password" in key or "keystore.location" in key for key in props)


def test_sasl_ssl_scram_512_connects_as_mirrormakers_own_user_through_the_file_provider() -> None:
    props = mm2(secured_plan(SASL_SSL_SCRAM))
    assert props["config.providers"] == "file"
    assert props["config.providers.file.class"] == FILE_PROVIDER_CLASS
    assert props["config.providers.file.param.allowed.paths"] == SECRETS
    assert security_keys(props, "primary") == {
        "security.protocol": "SASL_SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": f"{SECRETS}/primary.ca.pem",
        "ssl.endpoint.identification.algorithm": "",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": f"${{file:{SECRETS}/primary.properties:sasl.jaas.config}}",
    }
    text = render_mm2_properties(secured_plan(SASL_SSL_SCRAM), "dr", run_dir=RUN)
    assert "# Cluster primary: SASL_SSL, SCRAM-SHA-512 as 'mm2'" in text
    security = secured_plan(SASL_SSL_SCRAM).clusters["primary"].security
    assert security is not None
    login = mirrormaker_login(security)
    assert login is not None
    assert (login.username, login.key, login.file) == ("mm2", "mirrormaker_password_file", "~/mm2.pw")


def test_the_provider_comes_before_the_references_and_only_once() -> None:
    text = render_mm2_properties(secured_plan(SASL_SSL_SCRAM, PLAIN), "dr", run_dir=RUN)
    assert text.count("config.providers = file") == 1
    assert text.index("config.providers = file") < text.index("${file:")
    assert text.count("${file:") == 2


def test_plain_without_a_mirrormaker_user_uses_the_plans_user() -> None:
    security = secured_plan(PLAIN).clusters["primary"].security
    assert security is not None
    login = mirrormaker_login(security)
    assert login is not None and (login.username, login.key, login.env) == ("kdrtui", "password_env", "PW")
    props = mm2(secured_plan(PLAIN))
    assert security_keys(props, "primary") == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": f"${{file:{SECRETS}/primary.properties:sasl.jaas.config}}",
    }


def test_gssapi_names_the_uploaded_keytab_and_needs_no_provider() -> None:
    props = mm2(secured_plan(None, GSSAPI))
    assert security_keys(props, "dr") == {
        "security.protocol": "SASL_SSL",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": f"{SECRETS}/dr.ca.pem",
        "ssl.endpoint.identification.algorithm": "https",
        "sasl.mechanism": "GSSAPI",
        "sasl.kerberos.service.name": "kafka-esp",
        "sasl.jaas.config": "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true "
        f'storeKey=true keyTab="{SECRETS}/dr.keytab" principal="mm2@EXAMPLE.COM";',
    }
    assert "config.providers" not in props
    assert "~/mm2.keytab" not in str(props), "the path on kdrtui's machine means nothing on the node"


@pytest.mark.parametrize(
    ("primary", "dr", "files"),
    [
        (SSL, None, {"primary.ca.pem": 0o644}),
        (MTLS, None, {"primary.ca.pem": 0o644, "primary.properties": 0o600}),
        (SASL_SSL_SCRAM, None, {"primary.ca.pem": 0o644, "primary.properties": 0o600}),
        (PLAIN, None, {"primary.properties": 0o600}),
        (None, GSSAPI, {"dr.ca.pem": 0o644, "dr.keytab": 0o600}),
        (None, None, {}),
    ],
    ids=["ssl", "mtls", "sasl-ssl-scram", "plain", "gssapi", "plaintext"],
)
def test_the_secrets_directory_has_a_file_per_secret_with_its_mode(
    primary: dict[str, Any] | None, dr: dict[str, Any] | None, files: dict[str, int]
) -> None:
    plan = secured_plan(primary, dr)
    (dep,) = render_deployment(plan, plan.edge_nodes[0], scripts=SCRIPTS, home="/home/sshuser")
    assert {f.name: f.mode for f in dep.secrets} == files
    assert all(f.rel == f"secrets/{f.name}" for f in dep.secrets)
    assert not any(rel.startswith("secrets/") for rel in dep.files), "secrets are made, never rendered"


def test_mm1_gets_the_sources_settings_as_consumer_and_the_targets_as_producer() -> None:
    plan = secured_plan(SASL_SSL_SCRAM, MTLS, mirrormaker="mm1", naming="identity")
    (dep,) = render_deployment(plan, plan.edge_nodes[0], scripts=SCRIPTS, home="/home/sshuser")
    where = "/home/sshuser/.kdrtui/mm/mm1-primary-dr/secrets"
    consumer = properties(dep.files["consumer.properties"])
    producer = properties(dep.files["producer.properties"])
    assert consumer["config.providers"] == "file"
    assert consumer["config.providers.file.param.allowed.paths"] == where
    assert consumer["sasl.jaas.config"] == f"${{file:{where}/primary.properties:sasl.jaas.config}}"
    assert consumer["ssl.truststore.location"] == f"{where}/primary.ca.pem"
    assert consumer["group.id"] == "kdrtui-mm1-primary-dr"
    assert producer["config.providers"] == "file", "mutual TLS reads the client key through it"
    assert producer["ssl.keystore.key"] == f"${{file:{where}/dr.properties:ssl.keystore.key}}"
    assert producer["security.protocol"] == "SSL"
    assert {f.name for f in dep.secrets} == {
        "dr.ca.pem",
        "dr.properties",
        "primary.ca.pem",
        "primary.properties",
    }


def test_a_run_directory_a_provider_reference_cannot_hold_is_refused() -> None:
    plan = secured_plan(SASL_SSL_SCRAM)
    with pytest.raises(RenderError, match="choose a work_dir without them"):
        render_mm2_properties(plan, "dr", run_dir="/opt/a:b")
    flow = secured_plan(PLAIN, mirrormaker="mm1", naming="identity").flows[0]
    with pytest.raises(RenderError, match="choose a work_dir"):
        render_mm1(secured_plan(PLAIN, mirrormaker="mm1", naming="identity"), flow, run_dir="/x,y")


def test_secrets_properties_hold_the_password_jaas_quoted_and_java_escaped() -> None:
    security = secured_plan(SASL_SSL_SCRAM).clusters["primary"].security
    assert security is not None
    text = secrets_properties_text("primary", security, password='p"a\\ss€')
    (line,) = [line for line in text.splitlines() if not line.startswith("#")]
    assert line == (
        f'sasl.jaas.config = {SCRAM} required username="mm2" password="p\\\\"a\\\\\\\\ss\\u20ac";'
    )
    assert properties(text)["sasl.jaas.config"] == f"{SCRAM} required username={jaas_quote('mm2')} " + (
        f"password={jaas_quote(chr(112) + chr(34) + 'a' + chr(92) + 'ss€')};"
    )


def test_no_rendered_file_names_a_local_path_or_user_password_source() -> None:
    plan = secured_plan(MTLS, SASL_SSL_SCRAM)
    (dep,) = render_deployment(plan, plan.edge_nodes[0], scripts=SCRIPTS, home="/home/sshuser")
    text = "\n".join(dep.files.values())
    for local in ("~/tls", "/etc/kafka/ca.pem", "~/mm2.pw", "KEY_PW", "KDRTUI_PW"):
        assert local not in text


# --- drift of the secrets directory -----------------------------------------------------------------

PROBE = textwrap.dedent(
    """\
    dir 700
    644 1111 primary.ca.pem
    600 2222 primary.properties
    """
)


def test_the_probe_is_read_as_modes_and_digests() -> None:
    assert parse_secrets_probe(PROBE) == NodeSecrets(
        0o700, {"primary.ca.pem": (0o644, "1111"), "primary.properties": (0o600, "2222")}
    )
    assert parse_secrets_probe("") == NodeSecrets(None, {})
    assert parse_secrets_probe("garbage\nx y z\n").files == {}


def test_a_changed_password_shows_as_a_changed_digest_never_the_value() -> None:
    node = parse_secrets_probe(PROBE)
    wanted: dict[str, tuple[int, str] | str] = {
        "primary.ca.pem": (0o644, "1111"),
        "primary.properties": (0o600, "3333"),
    }
    assert secret_drift(wanted, node) == ["secrets/primary.properties: changed (digest)"]
    wanted["primary.properties"] = (0o600, "2222")
    assert secret_drift(wanted, node) == []


def test_modes_missing_files_leftovers_and_unreadable_secrets_are_drift() -> None:
    node = NodeSecrets(0o755, {"primary.properties": (0o644, "2222"), "old.keytab": (0o600, "9")})
    wanted: dict[str, tuple[int, str] | str] = {
        "primary.properties": (0o600, "2222"),
        "primary.keystore.pem": (0o600, "5"),
        "dr.properties": "cluster 'dr' [security] password_env: the environment variable PW is not set",
    }
    assert secret_drift(wanted, node) == [
        "secrets/: mode 0755 on the node, should be 0700",
        "secrets/dr.properties: cannot compare: cluster 'dr' [security] password_env: the environment "
        "variable PW is not set",
        "secrets/primary.keystore.pem: missing on the node",
        "secrets/primary.properties: mode 0644 on the node, should be 0600",
        "secrets/old.keytab: on the node but not rendered from the plan",
    ]


def test_the_mutual_tls_values_go_beside_the_jaas_line() -> None:
    security = secured_plan({**SASL_SSL_SCRAM, **MTLS, "protocol": "SASL_SSL"}).clusters["primary"].security
    assert security is not None
    key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    chain = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n"
    text = secrets_properties_text("primary", security, password="pw", key_pem=key, chain_pem=chain)
    values = properties(text)
    assert values["ssl.keystore.key"] == key and values["ssl.keystore.certificate.chain"] == chain
    assert values["sasl.jaas.config"].startswith(SCRAM)
    assert len(text.splitlines()) == 5, "two comment lines, one line per value (newlines escaped)"
    with pytest.raises(ValueError, match="client key"):
        secrets_properties_text("primary", security, password="pw")


def test_kinds_are_file_suffixes() -> None:
    assert [kind.value for kind in SecretKind] == [".properties", ".ca.pem", ".keytab"]
