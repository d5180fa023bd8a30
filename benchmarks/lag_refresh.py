"""How long one lag refresh takes on the lab, against the naive way, and what the pane costs.

    .venv/bin/python benchmarks/lag_refresh.py [--topics 200 --partitions 25 --lagging 1000] [--cleanup]

Needs the default lab (`kdrtui lab up`) with MirrorMaker stopped. Creates ``bench-<i>`` on primary and
``primary.bench-<i>`` on dr when missing, and puts records into ``--lagging`` partitions of primary (every
partition of the first topics), which are never mirrored: they wait, so every refresh reads their log
start and last stable offsets and dates them from their first unmirrored record. Then prints, one per
line: the engine's first and median refresh time (with the partitions behind and where their lag in
seconds came from), the uncached timestamp reads of the partitions behind, the naive per-partition
watermark reads, the pane's time to apply a changed 1,000-topic snapshot, the process RSS, and last
``ratio naive/engine: X``. ``--cleanup`` deletes the bench topics instead.

On a lab with a WAN (``kdrtui lab up --wan-latency-ms 35``), ``KDRTUI_REGION=dr`` reads primary across it
(both the engine and the naive way), as a console in the DR region would.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kdrtui.domain.lag import FlowLag, Health, LagSnapshot, PartitionLag, TopicLag

BATCH = 50
"""Topics per create_topics / delete_topics call."""


def bench_names(topics: int) -> dict[str, list[str]]:
    """The bench topics of each lab cluster."""
    names = [f"bench-{i}" for i in range(topics)]
    return {"primary": names, "dr": [f"primary.{n}" for n in names]}


def lagging_partitions(topics: int, partitions: int, lagging: int) -> list[tuple[str, int]]:
    """The primary partitions that get records waiting to be mirrored: every partition of the first
    topics, ``lagging`` in all."""
    names = bench_names(topics)["primary"]
    every = [(name, p) for name in names for p in range(partitions)]
    return every[:lagging]


def ensure_topics(bootstrap: dict[str, str], topics: int, partitions: int, lagging: int) -> None:
    """Create the bench topics that are missing, in batches; produce records into ``lagging``
    partitions of primary (five each, per run)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from kdrtui.services.kafka.config import client_config

    for alias, names in bench_names(topics).items():
        admin = AdminClient(client_config(bootstrap[alias]))
        present = set(admin.list_topics(timeout=15).topics)
        missing = [n for n in names if n not in present]
        for start in range(0, len(missing), BATCH):
            batch = [
                NewTopic(n, num_partitions=partitions, replication_factor=1)
                for n in missing[start : start + BATCH]
            ]
            for name, future in admin.create_topics(batch, request_timeout=60).items():
                try:
                    future.result(timeout=90)
                except Exception as exc:
                    if "TOPIC_ALREADY_EXISTS" not in str(exc):
                        raise RuntimeError(f"{alias}: cannot create {name}: {exc}") from exc
        if missing:
            print(f"created {len(missing)} topics x {partitions} partitions on {alias}", flush=True)
    producer = Producer(client_config(bootstrap["primary"], **{"linger.ms": 50}))
    for name, partition in lagging_partitions(topics, partitions, lagging):
        for _ in range(5):
            producer.produce(name, value=b"x" * 100, partition=partition)
        producer.poll(0)
    producer.flush(60)


def cleanup(bootstrap: dict[str, str], topics: int) -> None:
    """Delete every bench topic on both clusters."""
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config

    for alias in bootstrap:
        admin = AdminClient(client_config(bootstrap[alias]))
        prefix = "bench-" if alias == "primary" else "primary.bench-"
        names = sorted(n for n in admin.list_topics(timeout=15).topics if n.startswith(prefix))
        for start in range(0, len(names), BATCH):
            for future in admin.delete_topics(names[start : start + BATCH], request_timeout=60).values():
                future.result(timeout=90)
        print(f"deleted {len(names)} bench topics on {alias}")


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def engine_median(plan: object, runs: int) -> float | None:
    """Median seconds of one full LagEngine refresh (after the first), or None without the engine.

    Also prints the first refresh of three new engines (what one `kdrtui status` does: new clients,
    MirrorMaker's internal topics read from their start, every first unmirrored record fetched), how many
    partitions were behind and where their lag in seconds came from.
    """
    try:
        from kdrtui.services.kafka.lag_engine import LagEngine
    except ImportError as exc:
        print(f"engine refresh: skipped, lag engine not available ({exc})")
        return None
    firsts: list[float] = []
    for _ in range(3):
        engine = LagEngine(plan)  # type: ignore[arg-type]
        try:
            firsts.append(timed(engine.refresh))
        finally:
            engine.close()
    engine = LagEngine(plan)  # type: ignore[arg-type]
    snapshots: list[LagSnapshot] = []
    try:
        first = timed(lambda: snapshots.append(engine.refresh()))
        fetched = engine.records_fetched
        times = [timed(lambda: snapshots.append(engine.refresh())) for _ in range(runs)]
        refetched = engine.records_fetched - fetched
    finally:
        engine.close()
    median = statistics.median(times)
    behind = [p for f in snapshots[-1].flows for t in f.topics for p in t.partitions if p.lag_records]
    sources = Counter(str(p.lag_seconds_source) for p in behind)
    oldest = max((p.lag_seconds for p in behind), default=0.0)
    print(
        f"engine refresh, first of a new engine: median {statistics.median(firsts) * 1000:.0f} ms of 3"
        f" (this one {first * 1000:.0f} ms, {fetched} first unmirrored records fetched)"
    )
    print(
        f"engine refresh: median {median * 1000:.0f} ms over {runs} runs; {len(behind)} partitions behind,"
        f" lag seconds from {dict(sources)}, oldest {oldest:.0f} s; {refetched} records fetched again"
    )
    return median


def record_reads_median(bootstrap: str, wanted: list[tuple[str, int]], runs: int = 4) -> float:
    """Median seconds of reading the first record of every ``wanted`` partition with nothing cached
    (each run asks for other start offsets, as when MirrorMaker moves on): the fetch itself. Each
    partition holds at least five records (:func:`ensure_topics`)."""
    from confluent_kafka.admin import AdminClient

    from kdrtui.services.kafka.config import client_config
    from kdrtui.services.kafka.offsets import end_offsets_request, end_offsets_result, request_end_offsets
    from kdrtui.services.kafka.record_times import FirstRecordReader

    admin = AdminClient(client_config(bootstrap))
    request = end_offsets_request(wanted)
    ends, _ = end_offsets_result(request_end_offsets(admin, request, 10, read_committed=True), 15)
    reader = FirstRecordReader(bootstrap, "bench")
    times: list[float] = []
    answered: list[int] = []
    try:
        reader.read([(tp, 0, ends[tp]) for tp in wanted if ends.get(tp)], 10)  # connect, metadata
        for run in range(1, runs + 1):
            asked = [(tp, run, ends[tp]) for tp in wanted if ends.get(tp, 0) > run]
            started = time.perf_counter()
            found = reader.read(asked, 10)
            times.append(time.perf_counter() - started)
            answered.append(len(found))
    finally:
        reader.close()
    median = statistics.median(times)
    print(
        f"timestamp reads, nothing cached: median {median * 1000:.0f} ms for {min(answered)} partitions"
        f" (one batched fetch per broker, {runs} runs)"
    )
    return median


def naive_median(bootstrap: dict[str, str], topics: int, partitions: int) -> float:
    """Median seconds of one watermark request per partition, on both clusters."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    from kdrtui.services.kafka.config import client_config

    consumers = {
        alias: Consumer(client_config(b, **{"group.id": "kdrtui-bench", "enable.auto.commit": False}))
        for alias, b in bootstrap.items()
    }
    # The partitions that exist (a topic made earlier with other settings keeps its own count). Topics
    # just created take a while to show in every broker's metadata: wait (untimed) for all of them, or
    # the naive side would time only part of the work.
    wanted: dict[str, list[TopicPartition]] = {}
    deadline = time.monotonic() + 120
    for alias, names in bench_names(topics).items():
        metadata = consumers[alias].list_topics(timeout=15).topics
        while any(name not in metadata for name in names) and time.monotonic() < deadline:
            time.sleep(0.5)
            metadata = consumers[alias].list_topics(timeout=15).topics
        wanted[alias] = [
            TopicPartition(name, p) for name in names if name in metadata for p in metadata[name].partitions
        ]

    def once() -> None:
        for alias, consumer in consumers.items():
            for tp in wanted[alias]:
                consumer.get_watermark_offsets(tp, timeout=10, cached=False)

    # Freshly created partitions answer NOT_LEADER for a while: wait (untimed) until every one answers.
    deadline = time.monotonic() + 120
    for alias, consumer in consumers.items():
        for tp in wanted[alias]:
            while True:
                try:
                    consumer.get_watermark_offsets(tp, timeout=10, cached=False)
                    break
                except KafkaException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    try:
        times = [timed(once)]
        if times[0] < 20:
            times += [timed(once), timed(once)]
    finally:
        for consumer in consumers.values():
            consumer.close()
    median = statistics.median(times)
    count = sum(len(tps) for tps in wanted.values())
    print(f"naive watermarks: median {median:.2f} s over {len(times)} run(s) ({count} requests)")
    return median


def big_snapshot(rows: int, bump: int) -> LagSnapshot:
    """``rows`` topics of 4 partitions; ``bump`` changes every lag so each row differs."""
    topics = []
    healths = list(Health)
    for i in range(rows):
        lag = (i * 7 + bump * 13) % 5000
        parts = tuple(
            PartitionLag(p, 100_000 + p, 100_000 + p - lag // 4, 100_000 + p - lag // 4, lag // 4, lag / 100)
            for p in range(4)
        )
        topics.append(
            TopicLag(
                topic=f"topic-{i:04d}",
                target_topic=f"primary.topic-{i:04d}",
                partitions=parts,
                lag_records=lag - lag % 4,
                lag_seconds=lag / 100,
                worst_partition=0,
                rate_in=float(i % 50),
                rate_out=float(i % 50),
                health=healths[(i + bump) % 3],
                trend=tuple((lag + k * 10) % 900 for k in range(6)),
            )
        )
    flow = FlowLag("primary", "dr", "mm2", 1.0, Health.CRIT, tuple(topics))
    return LagSnapshot(taken_at=time.time(), flows=(flow,), active="primary")


def pane_median(rows: int = 1000, runs: int = 7) -> float:
    """Median seconds the pane takes to apply a changed snapshot of ``rows`` topics."""
    from textual.widgets import DataTable

    from kdrtui.domain.plan import parse_plan
    from kdrtui.tui.app import make_app
    from kdrtui.tui.screens.lag import LagRefreshed, LagScreen

    plan = parse_plan(
        '[plan]\nname = "bench"\ntopology = "cold-standby"\n'
        '[clusters.primary]\nregion = "eastus"\nbootstrap_servers = ["127.0.0.1:1"]\n'
        '[clusters.dr]\nregion = "westus2"\nbootstrap_servers = ["127.0.0.1:2"]\n'
        '[[flows]]\nsource = "primary"\ntarget = "dr"\n'
    )

    class Source:
        def refresh(self) -> LagSnapshot:
            return big_snapshot(rows, 0)

        def close(self) -> None:
            pass

    class Probe:
        def observe(self) -> object:
            from kdrtui.domain.health import ClusterObservation

            return ClusterObservation(observed_at=time.time(), ok=False, error="bench")

        def close(self) -> None:
            pass

    app = make_app(
        plan,
        None,
        probe_factory=lambda alias, bootstrap: Probe(),  # type: ignore[arg-type,return-value]
        lag_source_factory=lambda _plan: Source(),
        lag_interval=3600,
        refresh_interval=3600,
    )
    times: list[float] = []
    handler_times: list[float] = []

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("4")
            deadline = time.monotonic() + 30
            while not (
                isinstance(app.screen, LagScreen) and app.screen.query_one("#lag-table", DataTable).row_count
            ):
                assert time.monotonic() < deadline, "the pane never drew"
                await pilot.pause(0.05)
            screen = app.screen
            for bump in range(1, runs + 1):
                message = LagRefreshed(big_snapshot(rows, bump))
                started = time.perf_counter()
                screen.on_lag_refreshed(message)
                handler_times.append(time.perf_counter() - started)
                await pilot.pause()  # and the repaint it causes
                times.append(time.perf_counter() - started)

    asyncio.run(drive())
    median = statistics.median(times)
    handler = statistics.median(handler_times)
    print(
        f"pane update, {rows} topic rows changed: median {handler * 1000:.0f} ms to apply the snapshot, "
        f"{median * 1000:.0f} ms with the frame it paints ({runs} runs)"
    )
    return median


def rss_line() -> str:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    now = "?"
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                now = f"{int(line.split()[1]) / 1024:.0f} MB"
    except OSError:
        pass
    return f"process RSS: {now} (peak {peak_mb:.0f} MB)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--topics", type=int, default=200)
    parser.add_argument("--partitions", type=int, default=25)
    parser.add_argument("--lagging", type=int, default=1000, help="primary partitions with records waiting")
    parser.add_argument("--runs", type=int, default=10, help="engine refreshes to time")
    parser.add_argument("--cleanup", action="store_true", help="delete the bench topics and exit")
    args = parser.parse_args()
    # The pane's alert hook would log every health change of the synthetic snapshots.
    logging.getLogger("kdrtui.alerts").disabled = True

    from kdrtui.lab.lab import Lab
    from kdrtui.services.plan_files import load_plan

    lab = Lab()
    if not lab.status(topics=False).all_up or not lab.plan_path.is_file():
        print("The lab is not up. Start it with `.venv/bin/kdrtui lab up` (or `make demo`), then rerun.")
        return 2
    # Through the plan: with KDRTUI_REGION=dr (a lab up with --wan-latency-ms), primary is read across the
    # lab's WAN by the engine and the naive way alike.
    plan = load_plan(lab.plan_path)
    bootstrap = {alias: plan.cluster(alias).bootstrap for alias in ("primary", "dr")}
    print(f"reading primary at {bootstrap['primary']}, dr at {bootstrap['dr']}")
    if args.cleanup:
        cleanup(bootstrap, args.topics)
        return 0
    started = time.monotonic()
    ensure_topics(bootstrap, args.topics, args.partitions, args.lagging)
    took = time.monotonic() - started
    print(
        f"bench topics ready: {args.topics} x {args.partitions} partitions, records waiting in"
        f" {args.lagging} of them ({took:.1f} s)"
    )
    engine = engine_median(plan, args.runs)
    record_reads_median(bootstrap["primary"], lagging_partitions(args.topics, args.partitions, args.lagging))
    naive = naive_median(bootstrap, args.topics, args.partitions)
    pane_median()
    print(rss_line())
    ratio = f"{naive / engine:.1f}" if engine else "n/a (no engine)"
    print(f"ratio naive/engine: {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
