"""The wizard's Clusters step asks how kdrtui connects: TLS, mutual TLS, SASL; the plan gets [security]."""

from __future__ import annotations

from kdrtui.domain.plan import parse_plan
from kdrtui.domain.security import SaslMechanism, SecurityProtocol
from kdrtui.domain.wizard import (
    WizardAnswers,
    answers_from_plan,
    build_plan,
    plan_toml,
    set_field,
    step_errors,
    visible_fields,
)


def test_plaintext_asks_nothing_more_and_writes_no_security() -> None:
    answers = WizardAnswers()
    shown = visible_fields(answers, "clusters")
    assert "security_protocol" in shown
    assert not {"security_ca_file", "security_username", "security_mechanism"} & set(shown)
    plan = build_plan(answers)
    assert all(cluster.security is None for cluster in plan.clusters.values())
    assert plan.failover.fence.value == "none"


def test_sasl_ssl_needs_a_ca_and_writes_both_clusters_and_the_acl_fence() -> None:
    answers = WizardAnswers()
    assert set_field(answers, "security_protocol", "SASL_SSL") is None
    shown = visible_fields(answers, "clusters")
    assert {"security_ca_file", "security_mechanism", "security_username", "security_password_env"} <= set(
        shown
    )
    assert step_errors(answers, "clusters") == {
        "security_ca_file": (
            "SASL_SSL needs ca_file: the CA (PEM) the brokers' certificates are checked against"
        )
    }
    assert set_field(answers, "security_ca_file", "ca.pem") == (
        "'ca.pem' must be an absolute path, or start with ~/ (kdrtui reads it wherever it runs)"
    )
    assert set_field(answers, "security_ca_file", "~/hdi/ca.pem") is None
    assert set_field(answers, "security_mechanism", "SCRAM-SHA-256") is None
    assert step_errors(answers, "clusters") == {}
    plan = build_plan(answers)
    for cluster in plan.clusters.values():
        assert cluster.security is not None
        assert cluster.security.protocol is SecurityProtocol.SASL_SSL
        assert cluster.security.mechanism is SaslMechanism.SCRAM_SHA_256
        assert cluster.security.password_env == "KDR_KAFKA_PASSWORD"
    assert plan.failover.fence.value == "acl"
    text = plan_toml(answers)
    assert "password =" not in text


def test_unknown_choice_and_mutual_tls_halves() -> None:
    answers = WizardAnswers()
    assert set_field(answers, "security_protocol", "TLS") == (
        "must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, not 'TLS'"
    )
    assert set_field(answers, "security_protocol", "SSL") is None
    set_field(answers, "security_ca_file", "/etc/hdi/ca.pem")
    set_field(answers, "security_cert_file", "/etc/hdi/client.pem")
    assert step_errors(answers, "clusters") == {
        "security_cert_file": "mutual TLS needs both cert_file and key_file"
    }
    set_field(answers, "security_key_file", "/etc/hdi/client.key")
    assert step_errors(answers, "clusters") == {}


def test_opened_plan_keeps_what_the_wizard_does_not_ask() -> None:
    answers = WizardAnswers()
    set_field(answers, "security_protocol", "SASL_SSL")
    set_field(answers, "security_ca_file", "/ca.pem")
    text = plan_toml(answers).replace(
        'password_env = "KDR_KAFKA_PASSWORD"\n',
        'password_env = "KDR_KAFKA_PASSWORD"\nverify_hostname = false\nmirrormaker_username = "mm"\n'
        'mirrormaker_password_env = "MM_PW"\n',
    )
    plan = parse_plan(text, "edited.toml")
    reopened = answers_from_plan(plan)
    assert reopened.security_protocol is SecurityProtocol.SASL_SSL
    assert reopened.security_ca_file == "/ca.pem"
    again = build_plan(reopened)
    security = again.clusters[reopened.primary_alias].security
    assert security is not None
    assert security.verify_hostname is False
    assert security.mirrormaker_username == "mm"
    # Back to PLAINTEXT: the table goes.
    set_field(reopened, "security_protocol", "PLAINTEXT")
    assert all(cluster.security is None for cluster in build_plan(reopened).clusters.values())


def test_switching_protocol_drops_keys_the_new_one_cannot_use() -> None:
    answers = WizardAnswers()
    for name, value in (
        ("security_protocol", "SSL"),
        ("security_ca_file", "/ca.pem"),
        ("security_cert_file", "/c.pem"),
        ("security_key_file", "/k.pem"),
    ):
        set_field(answers, name, value)
    assert step_errors(answers, "clusters") == {}
    text = plan_toml(answers).replace(
        'key_file = "/k.pem"\n', 'key_file = "/k.pem"\nkey_password_env = "KP"\nverify_hostname = false\n'
    )
    reopened = answers_from_plan(parse_plan(text, "edited.toml"))
    assert set_field(reopened, "security_protocol", "SASL_PLAINTEXT") is None
    security = build_plan(reopened).clusters[reopened.primary_alias].security
    assert security is not None
    assert (security.key_password_env, security.ca_file, security.verify_hostname) == (None, None, True)
    assert (security.username, security.password_env) == ("kdrtui", "KDR_KAFKA_PASSWORD")
