"""Why a secured connection failed, from librdkafka's own lines, in one line naming the cluster.

The lines below are librdkafka 2.x's, as the lab's brokers provoke them (the lab tests in
tests/integration/test_secured_lab.py check the same reasons end to end).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException

from kdrtui.domain.plan import parse_plan
from kdrtui.services.kafka import security
from kdrtui.services.kafka.config import NotingLogger, client_config
from kdrtui.services.kafka.failures import explained, not_authorized, reason
from kdrtui.services.kafka.security import SecurityError

BOOTSTRAP = "10.0.0.11:9093"
TRANSPORT = "cannot list topics: Failed to get metadata: Local: Broker transport failure"

PLAN = """\
[plan]
name = "secured"
topology = "cold-standby"

[clusters.primary]
region = "eastus"
bootstrap_servers = ["10.0.0.11:9093"]

[clusters.primary.security]
protocol = "{protocol}"
{keys}

[clusters.dr]
region = "westus2"
bootstrap_servers = ["10.1.0.11:9092"]

[[flows]]
source = "primary"
target = "dr"
"""
SASL_KEYS = """ca_file = "/etc/kdr/ca.pem"
mechanism = "SCRAM-SHA-512"
username = "kdrtui"
password_env = "KDRTUI_TEST_PRIMARY_PASSWORD"
"""
MTLS_KEYS = """ca_file = "/etc/kdr/ca.pem"
cert_file = "/etc/kdr/kdrtui.crt"
key_file = "/etc/kdr/kdrtui.key"
"""


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    security.forget()
    yield
    security.forget()


def use(protocol: str = "SASL_SSL", keys: str = SASL_KEYS) -> None:
    """Load the plan with primary's [security] table as ``protocol`` and ``keys`` (PLAINTEXT: none)."""
    text = PLAN.format(protocol=protocol, keys=keys)
    if protocol == "PLAINTEXT":
        text = text.replace('[clusters.primary.security]\nprotocol = "PLAINTEXT"\n', "")
    security.use_plan(parse_plan(text, "secured.toml"))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "sasl_ssl://10.0.0.11:9093/bootstrap: SASL authentication error: Authentication failed during "
            "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 312ms in "
            "state AUTH_REQ)",
            "SASL authentication failed for user 'kdrtui' (SCRAM-SHA-512): wrong user name or password",
        ),
        (
            "sasl_ssl://10.0.0.11:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::"
            "certificate verify failed: broker certificate could not be verified, verify that "
            "ssl.ca.location is correctly configured or root CA certificates are installed (install "
            "ca-certificates package) (after 5ms in state SSL_HANDSHAKE)",
            "SSL handshake failed: certificate verify failed: the broker's certificate is not signed by a "
            "CA in ca_file /etc/kdr/ca.pem",
        ),
        (
            "sasl_ssl://10.0.0.11:9093/bootstrap: SASL PLAIN mechanism handshake failed: Broker: "
            "Unsupported SASL mechanism: broker's supported mechanisms: SCRAM-SHA-512 (after 301ms in "
            "state AUTH_HANDSHAKE)",
            "SASL authentication failed for user 'kdrtui': the broker does not offer PLAIN, only "
            "SCRAM-SHA-512",
        ),
        (
            "sasl_ssl://10.0.0.11:9093/bootstrap: SSL handshake failed: Disconnected: SSL connection closed "
            "by peer: connecting to a PLAINTEXT broker listener? (after 1ms in state SSL_HANDSHAKE)",
            "SSL handshake failed: the broker does not speak TLS at this port (protocol SASL_SSL at a "
            "PLAINTEXT listener?)",
        ),
    ],
)
def test_a_sasl_ssl_clients_reasons(line: str, reason: str) -> None:
    use()
    security.note(BOOTSTRAP, line)
    assert explained(BOOTSTRAP, TRANSPORT) == f"primary: {reason} ({TRANSPORT})"


def test_mutual_tls_without_or_with_a_refused_certificate() -> None:
    line = (
        "ssl://10.0.0.11:9093/bootstrap: Receive failed: error:0A000412:SSL routines::ssl/tls alert bad "
        "certificate: SSL alert number 42 (after 1ms in state APIVERSION_QUERY)"
    )
    use("SSL", MTLS_KEYS)
    security.note(BOOTSTRAP, line)
    assert explained(BOOTSTRAP, TRANSPORT).startswith(
        "primary: SSL handshake failed: the broker refused the client certificate (cert_file "
        "/etc/kdr/kdrtui.crt): bad certificate ("
    )
    use("SSL", 'ca_file = "/etc/kdr/ca.pem"')
    security.note(BOOTSTRAP, line)
    assert "the broker wants a client certificate (mutual TLS: cert_file and key_file)" in explained(
        BOOTSTRAP, TRANSPORT
    )
    # TLS without SASL at a SASL_SSL port: the broker hangs up right after the handshake.
    security.note(
        BOOTSTRAP,
        "ssl://10.0.0.11:9093/bootstrap: Disconnected: SSL connection closed by peer (after 301ms in "
        "state UP)",
    )
    assert "it expects SASL (protocol SASL_SSL, not SSL?)" in explained(BOOTSTRAP, TRANSPORT)


def test_a_plaintext_client_at_a_secured_port_and_then_a_dead_broker() -> None:
    use("PLAINTEXT", "")
    security.note(
        BOOTSTRAP,
        "10.0.0.11:9093/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN (after "
        "1ms in state APIVERSION_QUERY)",
    )
    assert explained(BOOTSTRAP, TRANSPORT).startswith(
        "primary: the broker closed the connection at its first request: it expects another security "
        "protocol than PLAINTEXT (TLS or SASL?): check the cluster's [security] table ("
    )
    # The newest failure is a refused connection: the old reason would mislead.
    security.note(
        BOOTSTRAP, "10.0.0.11:9093/bootstrap: Connect to ipv4#10.0.0.11:9093 failed: Connection refused"
    )
    assert explained(BOOTSTRAP, TRANSPORT) == f"primary: {TRANSPORT}"
    assert explained("10.9.9.9:9092", TRANSPORT) == f"10.9.9.9:9092: {TRANSPORT}", "no plan names it"


def test_each_clients_logger_notes_librdkafkas_lines_by_its_bootstrap(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    use()
    monkeypatch.setenv("KDRTUI_TEST_PRIMARY_PASSWORD", "not-used")
    logger = client_config(BOOTSTRAP)["logger"]
    assert isinstance(logger, NotingLogger) and logger.bootstrap == BOOTSTRAP
    with caplog.at_level(logging.INFO, logger="kdrtui.kafka"):
        logger.log(
            logging.ERROR,
            "%s [%s] %s",
            "FAIL",
            "kdrtui#producer-1",
            "sasl_ssl://10.0.0.11:9093/bootstrap: SASL authentication error: Authentication failed during "
            "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
        )
    assert "wrong user name or password" in explained(BOOTSTRAP, TRANSPORT)
    assert any("SASL authentication error" in r.getMessage() for r in caplog.records), "still logged"


def test_a_password_that_cannot_be_read_is_one_line_naming_cluster_and_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use()
    monkeypatch.delenv("KDRTUI_TEST_PRIMARY_PASSWORD", raising=False)
    with pytest.raises(SecurityError) as raised:
        client_config(BOOTSTRAP)
    assert str(raised.value) == (
        "primary: the SASL password of 'kdrtui' (password_env): the environment variable "
        "KDRTUI_TEST_PRIMARY_PASSWORD is not set"
    )
    blank = tmp_path / "blank.password"
    blank.write_text("\nsecret-on-line-2\n", encoding="utf-8")
    use(keys=SASL_KEYS.replace('password_env = "KDRTUI_TEST_PRIMARY_PASSWORD"', f'password_file = "{blank}"'))
    blank_line = r"^primary: the SASL password of 'kdrtui' \(password_file\): the first line of .* is empty$"
    with pytest.raises(SecurityError, match=blank_line):
        client_config(BOOTSTRAP)


def test_authorization_errors_name_what_was_refused() -> None:
    topic = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    assert not_authorized(topic, "orders", "DESCRIBE") == "topic orders: not authorized (DESCRIBE)"
    group = KafkaException(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED))
    assert reason(group, "g") == "group g: not authorized"
    cluster = KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED)
    assert reason(cluster, operation="DESCRIBE_CONFIGS") == "cluster: not authorized (DESCRIBE_CONFIGS)"
    assert not_authorized(KafkaError(KafkaError._TRANSPORT), "orders") is None
    assert reason(KafkaException(KafkaError(KafkaError._TIMED_OUT))) == "Local: Timed out"


def test_a_reason_is_dropped_once_the_cluster_answers() -> None:
    from kdrtui.services.kafka import security

    bootstrap = "127.0.0.1:1999"
    security.note(
        bootstrap, "SASL authentication error: Authentication failed: Invalid credentials (after 3ms)"
    )
    assert security.explain(bootstrap, "timed out").startswith("SASL authentication failed")
    security.answered(bootstrap)
    assert security.explain(bootstrap, "timed out") == "timed out"
