"""The lab's WAN for real: a lab of its own (one broker per cluster, 35 ms each way) with Toxiproxy between
the regions. Clients through a cluster's remote addresses pay the latency and stall in a partition, local
ones do not; MirrorMaker on dr-edge-1 reads primary across the WAN.

Skipped when Toxiproxy is not built and there is no Go to build it (``kdrtui lab fetch`` builds it).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from kdrtui.lab import toxiproxy
from kdrtui.lab.lab import DR, PRIMARY, Lab
from kdrtui.lab.prereqs import PrerequisiteError
from kdrtui.services.kafka.config import client_config
from kdrtui.services.plan_files import load_plan
from tests.conftest import require_java, reserved_port, reserved_ports
from tests.kafka_helpers import consume_partitions, create_topic, produce_numbered
from tests.lab_helpers import cli, lab_plan_variant, stop_both_directions

pytestmark = pytest.mark.lab

Wait = Callable[..., float]
LATENCY_MS = 35
#: Client ports of this module's lab (the WAN takes each + 30..+35, primary's + 40): no other test's.
WAN_PRIMARY_PORT, WAN_DR_PORT, WAN_EDGE_PORT = 25092, 26092, 25292


@pytest.fixture(scope="module")
def wan_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab with a WAN of 35 ms each way, up for this module, purged after it."""
    require_java()
    try:
        toxiproxy.build()
    except (PrerequisiteError, toxiproxy.ToxiproxyError) as exc:  # no Go, or Go could not build it
        pytest.skip(f"no Toxiproxy for the lab's WAN: {exc}")
    home = tmp_path_factory.mktemp("wan-lab")
    with (
        pytest.MonkeyPatch.context() as mp,
        reserved_ports(WAN_PRIMARY_PORT, WAN_DR_PORT, span=41) as ports,
        reserved_port(WAN_EDGE_PORT) as edge_port,
    ):
        mp.setenv("KDRTUI_LAB_DIR", str(home))
        lab = Lab(
            home, primary_port=ports[0], dr_port=ports[1], edge_port=edge_port, wan_latency_ms=LATENCY_MS
        )
        try:
            lab.up()
            yield lab
        finally:
            lab.down(purge=True)


def _remote(lab: Lab, alias: str) -> str:
    return lab.wan.state().remote_bootstrap[alias]


def _metadata_ms(bootstrap: str) -> list[float]:
    """Ten round trips of a metadata request (a warm connection), in ms."""
    admin = AdminClient(client_config(bootstrap))
    admin.list_topics(timeout=10)
    took = []
    for _ in range(10):
        started = time.monotonic()
        admin.list_topics(timeout=10)
        took.append((time.monotonic() - started) * 1000)
    return took


def _produce_ms(bootstrap: str, topic: str) -> list[float]:
    """Ten times of one acks=all record produced and flushed (a warm producer), in ms."""
    producer = Producer(client_config(bootstrap, **{"acks": "all", "linger.ms": 0}))
    producer.produce(topic, b"warm-up")
    assert producer.flush(10) == 0
    took = []
    for n in range(10):
        started = time.monotonic()
        producer.produce(topic, f"{n}".encode())
        assert producer.flush(10) == 0
        took.append((time.monotonic() - started) * 1000)
    return took


def test_clients_across_the_wan_pay_its_latency_and_local_ones_do_not(wan_lab: Lab, unique_name: str) -> None:
    create_topic(wan_lab.bootstrap(PRIMARY), unique_name, partitions=1)
    local_metadata = _metadata_ms(wan_lab.bootstrap(PRIMARY))
    remote_metadata = _metadata_ms(_remote(wan_lab, PRIMARY))
    local_produce = _produce_ms(wan_lab.bootstrap(PRIMARY), unique_name)
    remote_produce = _produce_ms(_remote(wan_lab, PRIMARY), unique_name)
    for what, local, remote in (
        ("metadata", local_metadata, remote_metadata),
        ("produce", local_produce, remote_produce),
    ):
        print(f"{what}: local {statistics.median(local):.1f} ms, WAN {statistics.median(remote):.1f} ms")
        # A request and its answer cross the WAN once each way: every one takes 2 x 35 ms more.
        assert min(remote) >= 2 * LATENCY_MS
        # The fastest local one shows the path itself (a busy 2-core machine slows some).
        assert min(local) < LATENCY_MS
        assert min(remote) < 2 * LATENCY_MS + 60  # latency, not a stall


def test_lab_status_shows_the_wan(wan_lab: Lab) -> None:
    data = json.loads(cli("lab", "status", "--json").output)["wan"]
    assert data["enabled"] and data["running"] and data["pid"] == wan_lab.wan.running_pid()
    assert (data["latency_ms"], data["bandwidth_kbps"], data["partitioned"]) == (LATENCY_MS, None, False)
    assert data["remote_bootstrap"][PRIMARY] == f"127.0.0.1:{wan_lab.specs[PRIMARY].port + 31}"
    text = cli("lab", "status").output
    assert f"wan:     latency {LATENCY_MS} ms each way, bandwidth unlimited, loss 0 %" in text
    # The plan tells other regions' clients where to go.
    plan = load_plan(wan_lab.plan_path)
    assert plan.cluster(DR).remote_bootstrap_servers == [f"127.0.0.1:{wan_lab.specs[DR].port + 31}"]


def _reader(bootstrap: str, topic: str) -> Consumer:
    consumer = Consumer(client_config(bootstrap, **{"group.id": f"wan-{topic}", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(topic, 0, 0)])
    return consumer


def _read(consumer: Consumer, want: int, timeout: float) -> int:
    """Records read until ``want`` arrived or ``timeout`` passed."""
    got = 0
    deadline = time.monotonic() + timeout
    while got < want and time.monotonic() < deadline:
        got += sum(1 for m in consumer.consume(num_messages=100, timeout=0.2) if m.error() is None)
    return got


def test_a_partition_stalls_clients_across_the_wan_until_it_heals(wan_lab: Lab, unique_name: str) -> None:
    primary = wan_lab.bootstrap(PRIMARY)
    create_topic(primary, unique_name, partitions=1)
    far, near = _reader(_remote(wan_lab, PRIMARY), unique_name), _reader(primary, unique_name)
    try:
        produce_numbered(primary, unique_name, 10)
        assert _read(far, 10, 30) == 10 and _read(near, 10, 30) == 10

        # Cut until healed: local clients go on, the far reader sees nothing.
        result = cli("lab", "fault", "wan-partition")
        assert result.exit_code == 0 and "until `kdrtui lab fault wan-heal`" in result.output
        assert wan_lab.wan.state().partitioned
        produce_numbered(primary, unique_name, 10, start=10)
        assert _read(near, 10, 30) == 10
        assert _read(far, 10, 3.0) == 0, "nothing crosses a partitioned WAN"
        assert cli("lab", "fault", "wan-heal").output.strip() == "wan: healed"
        assert _read(far, 10, 30) == 10

        # A timed partition heals by itself, by a process of its own (this one only reads).
        result = cli("lab", "fault", "wan-partition", "--seconds", "4")
        assert result.exit_code == 0, result.output
        until = wan_lab.wan.state().partition_until
        assert until is not None and 3.5 <= until - time.time() <= 4.0
        assert json.loads(cli("lab", "status", "--json").output)["wan"]["partitioned"]
        produce_numbered(primary, unique_name, 10, start=20)
        assert _read(far, 10, 30) == 10
        assert time.time() >= until - 0.05, "the records crossed only once the partition healed"
        assert not wan_lab.wan.state().partitioned
    finally:
        far.close()
        near.close()
        wan_lab.wan.reset()


def test_mirrormaker_on_dr_edge_reads_primary_across_the_wan(
    wan_lab: Lab, tmp_path: Path, unique_name: str
) -> None:
    create_topic(wan_lab.bootstrap(PRIMARY), unique_name, partitions=2)
    sent = produce_numbered(wan_lab.bootstrap(PRIMARY), unique_name, 200)
    path = lab_plan_variant(wan_lab, tmp_path, flow={"topics": [unique_name], "groups": [unique_name]})
    plan = load_plan(path)
    try:
        started = cli("mm", "start", "--plan", str(path))
        assert started.exit_code == 0, started.output
        (config,) = (tmp_path / "work").rglob("mm2.properties")
        text = config.read_text(encoding="utf-8")
        assert f"primary.bootstrap.servers = {_remote(wan_lab, PRIMARY)}" in text
        assert f"dr.bootstrap.servers = {wan_lab.bootstrap(DR)}" in text
        got = consume_partitions(wan_lab.bootstrap(DR), f"{PRIMARY}.{unique_name}", 2, 200, timeout=60)
        assert got == sent
    finally:
        asyncio.run(stop_both_directions(plan))


def test_kdrtui_in_the_dr_region_reaches_primary_across_the_wan(
    wan_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    wan_lab.wan.partition(60)
    try:
        here = json.loads(cli("status", "--plan", "lab", "--json").output)
        assert here["unreachable"] == {}, "kdrtui of no region reaches both clusters directly"
        monkeypatch.setenv("KDRTUI_REGION", "dr")
        there = json.loads(cli("status", "--plan", "lab", "--json").output)
        assert set(there["unreachable"]) == {PRIMARY}, there["unreachable"]
    finally:
        wan_lab.wan.heal()
    assert json.loads(cli("status", "--plan", "lab", "--json").output)["unreachable"] == {}
