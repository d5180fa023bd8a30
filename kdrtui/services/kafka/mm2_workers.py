"""The workers of a MirrorMaker 2 flow and what each runs, read from the flow's Connect group on its target.

MirrorMaker 2's status topic names every task's worker ``source->target`` whichever node runs it, so where
tasks run comes from the group instead (:mod:`kdrtui.domain.mm2_workers` decodes it). One DescribeGroups
request (librdkafka's ``list_groups`` for one group: the only call that returns a non-consumer group's
member metadata and assignment bytes). Blocking: run it in a thread.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from kdrtui.domain.mm2_workers import WorkerAssignment, WorkerDecodeError, decode_worker, node_of
from kdrtui.services.kafka.config import client_config


class Mm2WorkersError(RuntimeError):
    """The flow's group could not be read; ``str()`` says why."""


def worker_group(source_alias: str) -> str:
    """The Connect group of flow ``source->*`` (MirrorMakerConfig's default ``<source>-mm2``)."""
    return f"{source_alias}-mm2"


def flow_workers(
    bootstrap: str,
    source_alias: str,
    urls: Mapping[str, str],
    *,
    timeout: float = 5.0,
    admin: AdminClient | None = None,
) -> list[WorkerAssignment]:
    """The workers of flow ``source_alias->`` the cluster at ``bootstrap``, each with its connectors and
    tasks and the edge node ``urls`` (REST URL -> node name) gives its URL; empty when no worker is in the
    group (MirrorMaker stopped, or between rebalances).

    Raises:
        Mm2WorkersError: the target did not answer within ``timeout``, or the group is not Connect's.
    """
    admin = admin if admin is not None else AdminClient(client_config(bootstrap))
    group = worker_group(source_alias)
    try:
        with warnings.catch_warnings():
            # Deprecated for consumer groups; describe_consumer_groups parses only the consumer protocol,
            # so it cannot return a Connect worker's metadata and assignment.
            warnings.simplefilter("ignore", DeprecationWarning)
            found = admin.list_groups(group=group, timeout=timeout)
    except KafkaException as exc:
        raise Mm2WorkersError(f"group {group}: {exc.args[0]}") from None
    workers: list[WorkerAssignment] = []
    for meta in found:
        if meta.id != group or not meta.members:
            continue
        if meta.protocol_type != "connect":
            raise Mm2WorkersError(f"group {group} is a {meta.protocol_type!r} group, not MirrorMaker's")
        for member in meta.members:
            try:
                workers.append(decode_worker(str(member.id), member.metadata or b"", member.assignment))
            except WorkerDecodeError as exc:
                raise Mm2WorkersError(f"group {group}, member {member.id}: {exc}") from None
    return node_of(workers, urls)
