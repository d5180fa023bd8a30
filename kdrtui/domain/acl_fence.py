"""The ``acl`` fence as data: which DENY WRITE bindings keep everyone but kdrtui and MirrorMaker from writing.

Kafka's ACLs have no "everyone except": a DENY for ``User:*`` also refuses kdrtui's and MirrorMaker's
principals (unless they are super users), and DENY wins over ALLOW. So the fence reads the cluster's ACLs
and denies, one principal at a time, each principal that may write now — on each mirrored topic (a
literal DENY WRITE) and on transactional ids (a DENY WRITE on the ``*`` wildcard, which refuses a
transactional producer at ``InitProducerId``) — leaving kdrtui's and MirrorMaker's principals alone.

Who may write a resource is read the way ``StandardAuthorizer`` decides (``StandardAuthorizerData``):

- an ALLOW for WRITE or ALL whose pattern matches the name — LITERAL (the name itself, or ``*``, the
  wildcard) or PREFIXED — lets its principal write (from its host; the fence denies from every host);
- ``User:*`` allowed means anyone: then only a DENY for ``User:*`` fences, and only super users can still
  write (kdrtui's and MirrorMaker's principals must be super users then);
- a resource no ACL at all matches is open to everyone when the brokers run with
  ``allow.everyone.if.no.acl.found=true``: ``User:*`` is denied there too. The brokers report that
  setting as sensitive (no value): when it is set at all and kdrtui cannot tell its value, the fence
  takes it as possibly true. On a cluster where it is false such a DENY changes nothing for a topic
  (nothing but super users could write it), but one on transactional ids refuses every non-super
  transactional producer.

This module is pure: :mod:`kdrtui.services.kafka.fence_acl` reads and writes the bindings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, fields

TOPIC = "TOPIC"
TRANSACTIONAL_ID = "TRANSACTIONAL_ID"
LITERAL = "LITERAL"
PREFIXED = "PREFIXED"
WILDCARD = "*"
"""A LITERAL pattern named ``*`` matches every name (and a principal or host ``*`` everyone)."""
EVERYONE = "User:*"
WRITERS = ("WRITE", "ALL")
"""The operations of an ALLOW that let its principal write."""
TRANSACTIONAL_IDS = "transactional ids"
"""How the fence names the transactional-id DENYs in its notes."""


@dataclass(frozen=True, order=True)
class AclRule:
    """One ACL binding, in the words of Kafka's admin API (enum names, upper case)."""

    resource_type: str
    """``TOPIC``, ``TRANSACTIONAL_ID``, ``GROUP``, ..."""
    name: str
    """The resource name or prefix; ``*`` with LITERAL is the wildcard."""
    pattern_type: str
    """``LITERAL`` or ``PREFIXED``."""
    principal: str
    """``User:app``; ``User:*`` is every principal."""
    host: str
    """The client's host, or ``*``."""
    operation: str
    """``WRITE``, ``READ``, ``ALL``, ..."""
    permission: str
    """``ALLOW`` or ``DENY``."""

    def matches(self, resource_type: str, name: str) -> bool:
        """Whether this binding's pattern covers the resource ``resource_type`` named ``name``."""
        if self.resource_type != resource_type:
            return False
        if self.pattern_type == PREFIXED:
            return name.startswith(self.name)
        return self.pattern_type == LITERAL and self.name in (name, WILDCARD)

    @property
    def lets_write(self) -> bool:
        """An ALLOW for WRITE or ALL."""
        return self.permission == "ALLOW" and self.operation in WRITERS

    def to_dict(self) -> dict[str, str]:
        """The binding as the DR state keeps it."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: object) -> AclRule:
        """A binding the DR state kept.

        Raises:
            ValueError: ``data`` is not an object with exactly this class's string fields.
        """
        names = [f.name for f in fields(cls)]
        if not isinstance(data, Mapping) or sorted(data) != sorted(names):
            raise ValueError(f"an ACL binding must be an object with the keys {', '.join(names)}")
        if not all(isinstance(data[n], str) and data[n] for n in names):
            raise ValueError("an ACL binding's values must be non-empty strings")
        return cls(**{n: data[n] for n in names})

    def __str__(self) -> str:
        what = "transactional id" if self.resource_type == TRANSACTIONAL_ID else self.resource_type.lower()
        where = "" if self.host == WILDCARD else f" from {self.host}"
        pattern = "" if self.pattern_type == LITERAL else f" ({self.pattern_type.lower()})"
        return f"{self.permission} {self.operation} {self.principal}{where} on {what} {self.name}{pattern}"


def deny_write(resource_type: str, name: str, principal: str) -> AclRule:
    """The fence's binding: DENY WRITE for ``principal`` from every host on the literal ``name``."""
    return AclRule(resource_type, name, LITERAL, principal, WILDCARD, "WRITE", "DENY")


@dataclass(frozen=True)
class AclFence:
    """What the fence needs on one cluster, computed by :func:`fence_bindings`."""

    bindings: tuple[AclRule, ...]
    """The DENY WRITE bindings, sorted."""
    everyone: tuple[str, ...]
    """Where ``User:*`` is denied (topic names, and :data:`TRANSACTIONAL_IDS`): only super users write
    there now."""
    exempt: tuple[str, ...]
    """The principals left alone (kdrtui's and MirrorMaker's) that may write somewhere fenced."""

    def principals(self) -> list[str]:
        """The principals denied, sorted."""
        return sorted({b.principal for b in self.bindings})

    def note(self) -> str | None:
        """What an operator must know when ``User:*`` is denied, else None."""
        if not self.everyone:
            return None
        where = ", ".join(self.everyone[:5]) + (
            f" (+{len(self.everyone) - 5})" if len(self.everyone) > 5 else ""
        )
        return (
            f"only super users can still write to {where}: User:* may write there (an ALLOW for User:*, or "
            "no ACL at all and allow.everyone.if.no.acl.found possibly true), so User:* is denied — "
            "kdrtui's and MirrorMaker's principals must be super users to write there; where no ACL was "
            "there and the brokers do allow everyone, the DENY is an ACL now, so only super users may read "
            "there either (MirrorMaker's drain included)"
        )


def writers(
    bindings: Iterable[AclRule], resource_type: str, name: str, *, allow_everyone: bool | None
) -> set[str]:
    """The principals that may write the resource, by the bindings that match it (``User:*`` for
    everyone); ``allow_everyone`` is ``allow.everyone.if.no.acl.found`` (None: unknown, maybe true)."""
    matching = [b for b in bindings if b.matches(resource_type, name)]
    if not matching and allow_everyone is not False:
        return {EVERYONE}
    return {b.principal for b in matching if b.lets_write}


def _transactional_writers(bindings: list[AclRule], allow_everyone: bool | None) -> set[str]:
    """The principals that may write some transactional id. Without a wildcard binding some ids have no
    ACL at all, so they are open to everyone when the brokers allow everyone when no ACL is found."""
    ids = [b for b in bindings if b.resource_type == TRANSACTIONAL_ID]
    found = {b.principal for b in ids if b.lets_write}
    covers_all = any(b.pattern_type == LITERAL and b.name == WILDCARD for b in ids)
    if not covers_all and allow_everyone is not False:
        found.add(EVERYONE)
    return found


def fence_bindings(
    bindings: Iterable[AclRule],
    topics: Iterable[str],
    exempt: Collection[str],
    *,
    allow_everyone: bool | None = None,
    ours: Collection[AclRule] = (),
) -> AclFence:
    """The DENY WRITE bindings that fence ``topics`` and transactional ids for every principal that may
    write them now, except the ``exempt`` ones (kdrtui's and MirrorMaker's principals).

    Args:
        bindings: every ACL binding of the cluster (as describe_acls returns them).
        topics: the mirrored topics to fence.
        exempt: principals left alone (``User:kdrtui``); ``User:*`` is never exempt.
        allow_everyone: the brokers' ``allow.everyone.if.no.acl.found`` (None: unknown, maybe true).
        ours: the fence's own bindings from an earlier run: left out of what is read, so a re-run computes
            the same fence (its own DENYs would otherwise make a resource look ACL-governed).
    """
    mine = set(ours)
    others = [b for b in bindings if b not in mine]
    found: set[AclRule] = set()
    everyone: list[str] = []
    kept: set[str] = set()

    def deny(resource_type: str, name: str, principals: set[str], label: str) -> None:
        if EVERYONE in principals:
            found.add(deny_write(resource_type, name, EVERYONE))
            everyone.append(label)
            return
        kept.update(principals & set(exempt))
        found.update(deny_write(resource_type, name, p) for p in principals - set(exempt))

    for topic in sorted(set(topics)):
        deny(TOPIC, topic, writers(others, TOPIC, topic, allow_everyone=allow_everyone), topic)
    deny(TRANSACTIONAL_ID, WILDCARD, _transactional_writers(others, allow_everyone), TRANSACTIONAL_IDS)
    return AclFence(bindings=tuple(sorted(found)), everyone=tuple(everyone), exempt=tuple(sorted(kept)))


ACL_METHODS = ("acl", "acls")
"""What the DR state calls an ACL fence: ``acl``, or ``acls`` (written before the fence read the ACLs)."""


def recorded_bindings(record: Mapping[str, object]) -> list[AclRule]:
    """The bindings an ACL fence's DR-state record says it added: its ``bindings``; for a record of the
    earlier ``acls`` fence (without them), the DENY WRITE for ``User:*`` it put on each topic.

    Raises:
        ValueError: a binding is malformed.
    """
    kept = record.get("bindings")
    if isinstance(kept, list):
        return [AclRule.from_dict(item) for item in kept]
    topics = record.get("topics")
    return [deny_write(TOPIC, t, EVERYONE) for t in (topics if isinstance(topics, Mapping) else {})]
