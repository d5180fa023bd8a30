"""The ``acl`` fence on a cluster (blocking; run in a thread): read its ACLs, add and remove the fence's
DENY WRITE bindings, check that kdrtui may.

Which bindings the fence needs is computed by :func:`kdrtui.domain.acl_fence.fence_bindings`; this module
only talks to the brokers. Their authorizer must be on: a cluster without one answers ACL requests with
SECURITY_DISABLED (:class:`NoAuthorizer`). kdrtui needs DESCRIBE (describe_acls) and ALTER (create_acls,
delete_acls) on the CLUSTER resource, which a super user has.

Measured with librdkafka 2.16 against Kafka 3.9: describe_acls loses the error of its answer — brokers
without an authorizer, and a principal without DESCRIBE on the cluster, both read an empty list — so
:func:`read_acls` first asks DescribeCluster for kdrtui's operations on the cluster, and the fence first
deletes a binding nobody has (:func:`may_change`), which does report SECURITY_DISABLED and
CLUSTER_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import Enum
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
)

from kdrtui.domain.acl_fence import AclFence, AclRule, fence_bindings, recorded_bindings
from kdrtui.domain.security import ClusterSecurity, SaslMechanism
from kdrtui.services.kafka.config import client_config
from kdrtui.services.kafka.fence import FenceError
from kdrtui.services.kafka.offsets import error_text

ALLOW_EVERYONE = "allow.everyone.if.no.acl.found"


class NoAuthorizer(FenceError):
    """The brokers have no authorizer (SECURITY_DISABLED): ACLs cannot fence them."""


def no_authorizer_text(alias: str) -> str:
    """The one line a fence without an authorizer fails with."""
    return f'{alias}: the brokers have no authorizer: fence = "acl" needs one; use reject-writes'


def _code(exc: KafkaException) -> int | None:
    cause = exc.args[0] if exc.args else None
    return cause.code() if isinstance(cause, KafkaError) else None


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient(client_config(bootstrap))


def _name(value: object) -> str:
    # The stubs allow str and int where the binding keeps the enum it converted them to.
    return value.name if isinstance(value, Enum) else str(value)


def to_rule(binding: AclBinding) -> AclRule:
    """A confluent-kafka binding as the domain's :class:`AclRule`."""
    return AclRule(
        _name(binding.restype),
        binding.name,
        _name(binding.resource_pattern_type),
        binding.principal,
        binding.host,
        _name(binding.operation),
        _name(binding.permission_type),
    )


def _args(rule: AclRule) -> tuple[Any, ...]:
    return (
        ResourceType[rule.resource_type],
        rule.name,
        ResourcePatternType[rule.pattern_type],
        rule.principal,
        rule.host,
        AclOperation[rule.operation],
        AclPermissionType[rule.permission],
    )


# --- whose writes are left alone ------------------------------------------------------------------------


def _certificate_principals(cert_file: str) -> set[str]:
    """``User:<subject>`` (Kafka's default TLS principal) and ``User:<CN>`` (what a mapping rule such as
    ``RULE:^CN=([^,]+).*$/$1/`` makes of it) of a client certificate."""
    from pathlib import Path

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_pem_x509_certificate(Path(cert_file).expanduser().read_bytes())
    except (OSError, ValueError) as exc:
        raise FenceError(f"cannot read the client certificate {cert_file}: {exc}") from exc
    found = {f"User:{cert.subject.rfc4514_string()}"}
    found.update(f"User:{attr.value!s}" for attr in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    return found


def _identity(security: ClusterSecurity, username: str | None) -> set[str]:
    if security.protocol.sasl and security.mechanism == SaslMechanism.GSSAPI and security.principal:
        # The brokers' default principal.to.local rule keeps the first component (kdrtui@REALM -> kdrtui).
        short = security.principal.split("/", 1)[0].split("@", 1)[0]
        return {f"User:{short}", f"User:{security.principal}"}
    if security.protocol.sasl and username:
        return {f"User:{username}"}
    if security.protocol.tls and security.cert_file:
        return _certificate_principals(security.cert_file)
    return set()  # ANONYMOUS is every unauthenticated client: never exempt


def exempt_principals(security: ClusterSecurity | None) -> dict[str, set[str]]:
    """``{"kdrtui": ..., "mirrormaker": ...}``: the principals the fence leaves alone on a cluster with
    ``security`` (nothing on a PLAINTEXT cluster: every client there is ``User:ANONYMOUS``). MirrorMaker
    connects as ``mirrormaker_username`` when set, else as kdrtui does (the same user or certificate).

    Raises:
        FenceError: the plan's client certificate cannot be read.
    """
    if security is None:
        return {"kdrtui": set(), "mirrormaker": set()}
    own = _identity(security, security.username)
    mirrormaker = _identity(security, security.mirrormaker_username) if security.mirrormaker_username else own
    return {"kdrtui": own, "mirrormaker": set(mirrormaker)}


# --- reading ----------------------------------------------------------------------------------------------


def _may_describe(admin: AdminClient, bootstrap: str, timeout: float) -> None:
    """Raise unless kdrtui may read the cluster's ACLs (DESCRIBE on the cluster).

    Needed because librdkafka (2.16) drops the error of a DescribeAcls answer: a principal without
    DESCRIBE on the cluster, like brokers without an authorizer, reads an empty list. DescribeCluster
    names kdrtui's operations on the cluster only to a principal that may describe it (None otherwise).
    """
    try:
        described = admin.describe_cluster(include_authorized_operations=True, request_timeout=timeout)
        allowed = described.result(timeout=timeout + 5).authorized_operations
    except KafkaException as exc:
        raise FenceError(
            f"{bootstrap}: cannot ask what kdrtui may do on the cluster: {error_text(exc)}"
        ) from exc
    if not allowed or not {AclOperation.DESCRIBE, AclOperation.ALL} & set(allowed):
        raise FenceError(
            f"{bootstrap}: kdrtui may not read the ACLs (it needs DESCRIBE on the cluster, or to be a super "
            "user)"
        )


def may_change(admin: AdminClient, bootstrap: str, timeout: float) -> None:
    """Raise unless the brokers have an authorizer and kdrtui may create and delete ACLs (ALTER on the
    cluster), asked by deleting a binding nobody has (a DENY for a made-up principal): changes nothing.

    Raises:
        NoAuthorizer: the brokers have no authorizer (SECURITY_DISABLED).
        FenceError: kdrtui lacks ALTER on the cluster, or the brokers did not answer.
    """
    import secrets

    nobody = AclBindingFilter(
        ResourceType.TOPIC,
        f"kdrtui-probe-{secrets.token_hex(8)}",
        ResourcePatternType.LITERAL,
        f"User:kdrtui-probe-{secrets.token_hex(8)}",
        "*",
        AclOperation.WRITE,
        AclPermissionType.DENY,
    )
    for future in admin.delete_acls([nobody], request_timeout=timeout).values():
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as exc:
            if _code(exc) == KafkaError.SECURITY_DISABLED:
                raise NoAuthorizer(f"{bootstrap}: the brokers have no authorizer") from exc
            if _code(exc) == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
                raise FenceError(
                    f"{bootstrap}: kdrtui may not create or delete ACLs (it needs ALTER on the cluster, or "
                    "to be a super user)"
                ) from exc
            raise FenceError(
                f"{bootstrap}: cannot ask whether kdrtui may change ACLs: {error_text(exc)}"
            ) from exc


def read_acls(admin: AdminClient, bootstrap: str, timeout: float) -> list[AclRule]:
    """Every ACL binding of the cluster (after making sure kdrtui may read them: an empty answer is then
    really no ACL, or no authorizer — see :func:`may_change`).

    Raises:
        FenceError: the brokers did not answer, or kdrtui lacks DESCRIBE on the cluster.
    """
    _may_describe(admin, bootstrap, timeout)
    everything = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]  # None matches every name (librdkafka's filter semantics)
        ResourcePatternType.ANY,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    try:
        found = admin.describe_acls(everything, request_timeout=timeout).result(timeout=timeout + 5)
    except KafkaException as exc:
        if _code(exc) == KafkaError.SECURITY_DISABLED:
            raise NoAuthorizer(f"{bootstrap}: the brokers have no authorizer") from exc
        raise FenceError(f"{bootstrap}: cannot read the ACLs: {error_text(exc)}") from exc
    return [to_rule(binding) for binding in found]


def allow_everyone(admin: AdminClient, timeout: float) -> bool | None:
    """Whether the brokers allow everyone what no ACL covers (``allow.everyone.if.no.acl.found``): False
    when no broker sets it, None when one does (the brokers report its value as sensitive: no value) or
    it cannot be read, True when a broker says so."""
    try:
        nodes = admin.describe_cluster(request_timeout=timeout).result(timeout=timeout + 5).nodes
        resources = [ConfigResource(ResourceType.BROKER, str(node.id)) for node in nodes]
        answers = [
            future.result(timeout=timeout + 5)
            for future in admin.describe_configs(resources, request_timeout=timeout).values()
        ]
    except KafkaException:
        return None
    if not answers:
        return None
    values = [entries[ALLOW_EVERYONE].value for entries in answers if ALLOW_EVERYONE in entries]
    if any(v is not None and v.strip().lower() == "true" for v in values):
        return True
    return None if any(v is None for v in values) else False


def compute(
    bootstrap: str,
    topics: Iterable[str],
    exempt: Collection[str],
    ours: Collection[AclRule] = (),
    timeout: float = 10.0,
) -> tuple[AclFence, set[AclRule]]:
    """The fence ``topics`` need now (see :func:`~kdrtui.domain.acl_fence.fence_bindings`), and every
    binding on the cluster now.

    Raises:
        NoAuthorizer, FenceError: see :func:`read_acls`.
    """
    admin = _admin(bootstrap)  # kept alive until the answers arrive
    may_change(admin, bootstrap, timeout)
    bindings = read_acls(admin, bootstrap, timeout)
    everyone = allow_everyone(admin, timeout)
    fence = fence_bindings(bindings, topics, exempt, allow_everyone=everyone, ours=ours)
    return fence, set(bindings)


def present(bootstrap: str, rules: Iterable[AclRule], timeout: float = 10.0) -> list[AclRule]:
    """Which of ``rules`` are on the cluster now."""
    wanted = list(rules)
    if not wanted:
        return []
    now = set(read_acls(_admin(bootstrap), bootstrap, timeout))
    return [rule for rule in wanted if rule in now]


# --- changing ---------------------------------------------------------------------------------------------


def _problems(futures: dict[Any, Any], timeout: float) -> list[str]:
    problems = []
    for request, future in futures.items():
        try:
            future.result(timeout=timeout + 5)
        except KafkaException as exc:
            if _code(exc) == KafkaError.SECURITY_DISABLED:
                raise NoAuthorizer("the brokers have no authorizer") from exc
            problems.append(f"{request}: {error_text(exc)}")
    return problems


def create(bootstrap: str, rules: Iterable[AclRule], timeout: float = 10.0) -> None:
    """Create ``rules`` (Kafka keeps one copy of a binding: creating one twice is harmless).

    Raises:
        NoAuthorizer, FenceError: the brokers have no authorizer, or refused (kdrtui lacks ALTER).
    """
    bindings = [AclBinding(*_args(rule)) for rule in rules]
    if not bindings:
        return
    admin = _admin(bootstrap)  # kept alive until the answers arrive
    problems = _problems(admin.create_acls(bindings, request_timeout=timeout), timeout)
    if problems:
        raise FenceError(f"{bootstrap}: cannot create the fence's ACLs: " + "; ".join(problems[:5]))


def delete(bootstrap: str, rules: Iterable[AclRule], timeout: float = 10.0) -> list[AclRule]:
    """Delete exactly ``rules`` (each filter matches its one binding and nothing else); return those that
    were there. Those already gone are no error: a resumed failback deletes what is left.

    Raises:
        FenceError: the brokers refused or did not answer.
    """
    wanted = list(rules)
    if not wanted:
        return []
    admin = _admin(bootstrap)  # kept alive until the answers arrive
    filters = {AclBindingFilter(*_args(rule)): rule for rule in wanted}
    deleted: list[AclRule] = []
    problems = []
    for request, future in admin.delete_acls(list(filters), request_timeout=timeout).items():
        try:
            deleted += [to_rule(binding) for binding in future.result(timeout=timeout + 5)]
        except KafkaException as exc:
            problems.append(f"{filters.get(request, request)}: {error_text(exc)}")
    if problems:
        raise FenceError(f"{bootstrap}: cannot delete the fence's ACLs: " + "; ".join(problems[:5]))
    return deleted


# --- the pre-flight's question ------------------------------------------------------------------------


def access_problem(alias: str, bootstrap: str, timeout: float = 10.0) -> str | None:
    """None when the brokers have an authorizer and kdrtui may read, create and delete ACLs there (DESCRIBE
    and ALTER on the CLUSTER resource), else why not, in one line."""
    admin = _admin(bootstrap)
    try:
        may_change(admin, bootstrap, timeout)
        _may_describe(admin, bootstrap, timeout)
    except NoAuthorizer:
        return no_authorizer_text(alias)
    except FenceError as exc:
        return f'{alias}: fence = "acl" cannot fence it: {str(exc).removeprefix(f"{bootstrap}: ")}'
    return None


# --- undoing (failback, rollback) ---------------------------------------------------------------------


def undo(bootstrap: str, record: dict[str, Any], timeout: float = 10.0) -> list[AclRule]:
    """Delete the bindings an ACL fence's DR-state ``record`` says it added — those still there, looked up
    first, and nothing else; return what was deleted (nothing when a resumed run already did).

    Raises:
        FenceError: the record's bindings are malformed, or the brokers refused or did not answer.
    """
    try:
        rules = recorded_bindings(record)
    except ValueError as exc:
        raise FenceError(f"{bootstrap}: the DR state's fence record: {exc}") from exc
    return delete(bootstrap, present(bootstrap, rules, timeout), timeout)


def left(bootstrap: str, record: dict[str, Any], timeout: float = 10.0) -> list[str]:
    """The bindings of an ACL fence ``record`` still on the cluster, as text (none once undone)."""
    try:
        rules = recorded_bindings(record)
    except ValueError as exc:
        raise FenceError(f"{bootstrap}: the DR state's fence record: {exc}") from exc
    return [str(rule) for rule in present(bootstrap, rules, timeout)]
