"""One line per Kafka failure, for the person reading it: ``<alias>: <why>``.

A secured cluster fails in ways librdkafka's exceptions do not say: a wrong password, a CA that did not
sign the brokers' certificates or a PLAINTEXT client at a TLS port all surface as "Broker transport
failure". The reason is in the client's error callback and log lines, which librdkafka hands over only
when the client is polled (AdminClients are never polled otherwise: their calls are futures).
:func:`explained` polls the client that failed (:func:`serve`), then words the error with
:func:`kdrtui.services.kafka.security.explain` and names the plan's cluster rather than its brokers:

``primary: SASL authentication failed for user 'admin' (SCRAM-SHA-512): wrong user name or password
(cannot list topics: Failed to get metadata: Local: Broker transport failure)``

Authorization errors name what was refused (:func:`not_authorized`): ``topic orders: not authorized
(DESCRIBE)``, ``group g: not authorized``, ``cluster: not authorized (DESCRIBE_CONFIGS)``.
"""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient

from kdrtui.services.kafka import security
from kdrtui.services.kafka.offsets import error_text

_log = logging.getLogger(__name__)

_REFUSED = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED: "topic",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "group",
    KafkaError.CLUSTER_AUTHORIZATION_FAILED: "cluster",
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "transactional id",
}
"""Kafka's authorization error codes -> the kind of resource that was refused."""


def serve(client: object | None) -> None:
    """Hand over an AdminClient's queued log lines and error callbacks now (they carry why a connection
    failed; unserved, they also pile up in memory). Consumers serve theirs in their own ``poll``, and
    polling one here could take a record from it: only AdminClients are served."""
    if isinstance(client, AdminClient):
        try:
            client.poll(0)
        except (RuntimeError, TypeError) as exc:  # a callback that raised: the error still gets said
            _log.debug("serving the client's callbacks failed: %s", exc)


def explained(bootstrap: str, text: str, client: object | None = None) -> str:
    """``<alias>: <text>``, ``text`` with the reason the last connection to ``bootstrap`` failed when one
    is known (``client``, the client that failed, is served first so its reason is known); the bootstrap
    servers stand for the alias when no plan names them."""
    serve(client)
    name = security.alias_of(bootstrap) or bootstrap
    return f"{name}: {security.explain(bootstrap, text)}"


def _code(error: object) -> int | None:
    cause = error.args[0] if isinstance(error, BaseException) and error.args else error
    return cause.code() if isinstance(cause, KafkaError) else None


def not_authorized(error: object, name: str | None = None, operation: str | None = None) -> str | None:
    """``topic orders: not authorized (DESCRIBE)`` when ``error`` (a KafkaError or KafkaException) is an
    authorization error, else None; ``name`` is the topic, group or transactional id asked for, and
    ``operation`` the ACL operation the request needs."""
    code = _code(error)
    kind = _REFUSED.get(code) if code is not None else None
    if kind is None:
        return None
    what = kind if kind == "cluster" or not name else f"{kind} {name}"
    how = f" ({operation})" if operation else ""
    return f"{what}: not authorized{how}"


def reason(error: object, name: str | None = None, operation: str | None = None) -> str:
    """:func:`not_authorized` when it applies, else the error's own text."""
    refused = not_authorized(error, name, operation)
    if refused is not None:
        return refused
    if isinstance(error, BaseException):
        return error_text(error)
    return error.str() if isinstance(error, KafkaError) else str(error)
