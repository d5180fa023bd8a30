"""RTO of a failover on the lab with 20 topics and 10 consumer groups, then a failback.

    .venv/bin/python benchmarks/failover_rto.py [--topics 20 --groups 10]

Needs the default lab (`kdrtui lab up`) and changes nothing of the lab plan's own runbook state: it works on
a copy of the lab plan narrowed to its own ``rto-<run>-*`` topics and groups, with its own MirrorMaker work
dir and runbook state in a temporary directory. Prints every step's duration, then
``RTO: X s (excluding the drain: Y s)`` for the failover, and the failback's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prepare(primary: str, prefix: str, topics: int, groups: int) -> None:
    """Topics with records, and groups that read part of them (committed) before MirrorMaker starts."""
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    from kdrtui.services.kafka import translate
    from kdrtui.services.kafka.config import client_config

    names = [f"{prefix}-t{i:02d}" for i in range(topics)]
    admin = AdminClient(client_config(primary))
    for future in admin.create_topics([NewTopic(n, 3, 1) for n in names]).values():
        future.result(30)
    producer = Producer(client_config(primary))
    for name in names:
        for i in range(300):
            producer.produce(name, value=f"{i}".encode(), partition=i % 3)
    producer.flush(30)
    for g in range(groups):
        offsets = {(names[(g + k) % topics], p): 50 + g for k in range(2) for p in range(3)}
        deadline = time.monotonic() + 30
        while translate.commit_offsets(primary, f"{prefix}-g{g:02d}", offsets, 10):
            if time.monotonic() > deadline:
                raise RuntimeError("cannot commit the groups' offsets")
            time.sleep(0.5)
    del TopicPartition


def report(title: str, result: object) -> float:
    state = result.state  # type: ignore[attr-defined]
    print(f"{title}: {result.outcome}")  # type: ignore[attr-defined]
    drain = 0.0
    for record in state.steps.values():
        seconds = record.seconds or 0.0
        if record.key == "drain":
            drain = seconds
        print(f"  {record.key:<18} {record.status!s:<8} {seconds:6.2f} s  {record.summary[:70]}")
    rto = float(result.report.get("rto_seconds", 0.0))  # type: ignore[attr-defined]
    print(f"RTO: {rto:.1f} s (excluding the drain: {rto - drain:.1f} s)")
    return rto - drain


async def run(args: argparse.Namespace) -> int:
    from kdrtui.domain.plan import FailoverSettings, Plan
    from kdrtui.lab.lab import DR, PRIMARY, Lab
    from kdrtui.services.mirrormaker.manager import MirrorMakerManager
    from kdrtui.services.plan_files import load_plan, save_plan
    from kdrtui.services.runbook.failover import FAILBACK, FAILOVER, forward_of
    from kdrtui.services.runbook.flows import with_reverse
    from kdrtui.services.runbook.operate import Operation

    lab = Lab()
    if not lab.status(topics=False).all_up or not lab.plan_path.is_file():
        print("The lab is not up. Start it with `.venv/bin/kdrtui lab up` (or `make demo`), then rerun.")
        return 2
    prefix = f"rto-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="kdrtui-rto-"))
    base = load_plan(lab.plan_path)
    flow = base.flows[0].model_copy(update={"topics": [f"{prefix}-.*"], "groups": [f"{prefix}-.*"]})
    nodes = [n.model_copy(update={"work_dir": str(work / "edge")}) for n in base.edge_nodes]
    plan = base.model_copy(
        update={"flows": [flow], "edge_nodes": nodes, "failover": FailoverSettings(fence="reject-writes")}
    )
    path = work / "plan.toml"
    save_plan(Plan.model_validate(plan.model_dump()), path)
    plan = load_plan(path)
    primary, dr = lab.bootstrap(PRIMARY), lab.bootstrap(DR)
    prepare(primary, prefix, args.topics, args.groups)
    print(f"{args.topics} topics x 3 partitions and {args.groups} groups ready ({prefix}-*)")
    manager = MirrorMakerManager(plan)
    try:
        for dep in await manager.select(flow=f"{PRIMARY}->{DR}"):
            await manager.start(dep)
    finally:
        await manager.close()
    from kdrtui.services.kafka import translate

    deadline = time.monotonic() + 120
    while (
        len(
            {g for g, _t, _p in translate.read_checkpoints(dr, PRIMARY, 10)}
            & {f"{prefix}-g{g:02d}" for g in range(args.groups)}
        )
        < args.groups
    ):
        if time.monotonic() > deadline:
            print("MirrorMaker did not checkpoint every group within 120 s")
            return 1
        time.sleep(1)
    print("MirrorMaker 2 running, every group checkpointed")
    store = work / "state"
    try:
        over = await Operation(plan, path, FAILOVER, store_root=store).run()
        excluding_drain = report("failover", over)
        back = await Operation(plan, path, FAILBACK, store_root=store).run()
        report("failback", back)
    finally:
        full = with_reverse(plan, forward_of(plan))
        manager = MirrorMakerManager(full)
        try:
            for dep in await manager.select():
                await manager.stop(dep)
        finally:
            await manager.close()
    print(f"failover RTO excluding the drain: {excluding_drain:.1f} s (target <= 10 s)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--topics", type=int, default=20)
    parser.add_argument("--groups", type=int, default=10)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
