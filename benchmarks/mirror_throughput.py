"""Records per second one MirrorMaker 2 flow mirrors on one edge node and on two (KIP-710), on the lab.

    .venv/bin/python benchmarks/mirror_throughput.py [--records 200000 --partitions 8 --size 512]

Needs the lab (`kdrtui lab up`) with its MirrorMaker stopped (`kdrtui mm stop --plan lab`): every run joins
the flow's Connect group ``primary-mm2`` on dr. Uses the lab's edge nodes when it has two
(`kdrtui lab up --edge-nodes 2`), else starts a second SSH edge node of its own (a temporary home, a free
port) for the two-node runs and stops it at the end. Each run mirrors its own topic (``thr-<run>-<n>``),
filled with ``--records`` keyed records before MirrorMaker starts, from a plan of its own (the lab plan
narrowed to that topic, its own work dirs), and times the backlog from the first mirrored record to the
last (MirrorMaker's start-up is left out), read from the target's end offsets every 0.2 s. Prints one line
per run, then ``two nodes / one node, same 2 tasks: X`` and the same against one node's default 1 task.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNS = (("one node, 1 task", 1, None), ("one node, 2 tasks", 1, 2), ("two nodes, 2 tasks", 2, None))
"""(title, edge nodes, the flow's tasks: None for kdrtui's default, one per node)."""


def fill(bootstrap: str, topic: str, partitions: int, records: int, size: int) -> None:
    """Create ``topic`` and write ``records`` keyed records of ``size`` bytes into it."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from kdrtui.services.kafka.config import client_config

    admin = AdminClient(client_config(bootstrap))  # kept: a collected client cancels its futures
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(30)
    producer = Producer(client_config(bootstrap, **{"linger.ms": 20, "batch.size": 1_000_000}))
    pad = "x" * max(size - 10, 0)
    for n in range(records):
        while True:
            try:
                producer.produce(topic, key=f"key-{n % 1000}", value=f"{n:>9} {pad}")
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(60):
        raise RuntimeError(f"could not write {records} records to {topic}")


def mirrored(admin: Any, topic: str, partitions: int) -> int:
    """Records on ``topic`` of the target now: the sum of its end offsets (0 before it exists)."""
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    asked = {TopicPartition(topic, p): OffsetSpec.latest() for p in range(partitions)}
    total = 0
    for future in admin.list_offsets(asked, request_timeout=5).values():
        try:
            total += future.result().offset
        except KafkaException:  # a partition MirrorMaker has not created yet: nothing mirrored there
            continue
    return total


def free_port(first: int) -> int:
    from kdrtui.lab.ports import port_in_use

    return next(port for port in range(first, first + 200) if not port_in_use(port))


@contextmanager
def second_node(lab: Any, work: Path) -> Iterator[dict[str, Any]]:
    """The lab's second edge node when it has one, else one started here (stopped on the way out)."""
    from kdrtui.lab import jars
    from kdrtui.lab.edge import LabEdgeNode
    from kdrtui.services.plan_files import load_plan

    nodes = load_plan(lab.plan_path).edge_nodes
    if len(nodes) > 1:
        yield nodes[1].model_dump(exclude_none=True)
        return
    node = LabEdgeNode(
        work / "edge-2",
        port=free_port(12722),
        backend=lab.edge.backend,
        kafka_libs=jars.distribution(lab.kafka_version).libs,
        name="dr-edge-2",
    )
    node.start()
    try:
        yield node.plan_entry()
    finally:
        node.stop()


async def one_run(
    lab: Any, work: Path, nodes: list[dict[str, Any]], tasks: int | None, args: Any, n: int
) -> float:
    """Mirror a backlog of ``args.records`` with ``nodes`` and the flow's ``tasks``; records per second."""
    from confluent_kafka.admin import AdminClient

    from kdrtui.domain.plan import Plan
    from kdrtui.lab.lab import DR, PRIMARY
    from kdrtui.services.kafka.config import client_config
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager
    from kdrtui.services.plan_files import load_plan

    topic = f"thr-{os.getpid()}-{n}"
    fill(lab.bootstrap(PRIMARY), topic, args.partitions, args.records, args.size)
    base = load_plan(lab.plan_path)
    flow = base.flows[0].model_copy(update={"topics": [topic], "groups": [topic], "tasks": tasks})
    edge = [
        {**node, "work_dir": str(work / f"run-{n}-{i}"), "mirrormaker_rest_port": free_port(18483 + 10 * i)}
        for i, node in enumerate(nodes)
    ]
    data = base.model_copy(update={"flows": [flow]}).model_dump(exclude_none=True)
    data["edge_nodes"] = edge
    manager = MirrorMakerManager(Plan.model_validate(data))
    target = f"{PRIMARY}.{topic}"
    admin = AdminClient(client_config(lab.bootstrap(DR)))
    try:
        for dep in await manager.select():
            await manager.start(dep)
        deadline = time.monotonic() + args.timeout
        first: float | None = None
        while (done := mirrored(admin, target, args.partitions)) < args.records:
            now = time.monotonic()
            if first is None and done > 0:
                first = now
            if now > deadline:
                raise RuntimeError(f"{done} of {args.records} records mirrored in {args.timeout} s")
            await asyncio.sleep(0.2)
        end = time.monotonic()
        return args.records / max(end - (first or end), 0.2)
    finally:
        for dep in await manager.select():
            await manager.stop(dep)
        await manager.close()


async def run(args: argparse.Namespace) -> int:
    from kdrtui.lab.lab import DR, Lab
    from kdrtui.services.kafka.mm2_workers import flow_workers

    lab = Lab()
    if not lab.status(topics=False).all_up or not lab.plan_path.is_file():
        print("The lab is not up. Start it with `.venv/bin/kdrtui lab up` (or `make demo`), then rerun.")
        return 2
    if flow_workers(lab.bootstrap(DR), "primary", {}):
        print("MirrorMaker of the flow primary->dr runs: stop it (`kdrtui mm stop --plan lab`), then rerun.")
        return 2
    from kdrtui.services.plan_files import load_plan

    first = load_plan(lab.plan_path).edge_nodes[0].model_dump(exclude_none=True)
    work = Path(tempfile.mkdtemp(prefix="kdrtui-throughput-"))
    print(
        f"{args.records:,} records of {args.size} B in {args.partitions} partitions per run; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    rates: list[float] = []
    try:
        with second_node(lab, work) as second:
            for n, (title, count, tasks) in enumerate(RUNS):
                rate = await one_run(lab, work, [first, second][:count], tasks, args, n)
                rates.append(rate)
                print(f"{title:<20} {rate:>10,.0f} records/s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the runs' MirrorMaker dirs and the second node's home
    print(f"two nodes / one node, same 2 tasks: {rates[2] / rates[1]:.2f}")
    print(f"two nodes / one node, its default 1 task: {rates[2] / rates[0]:.2f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--size", type=int, default=512, help="bytes per record value")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a run may take")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
