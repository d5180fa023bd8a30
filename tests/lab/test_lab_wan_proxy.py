"""The lab's WAN proxy without Kafka: a real Toxiproxy started by :class:`LabWan`, its toxics through its
API, the detached healer of a timed partition, and ``lab up`` again with another latency.

Skipped when Toxiproxy is not built and there is no Go to build it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kdrtui.lab import process, toxiproxy
from kdrtui.lab.broker import ClusterSpec
from kdrtui.lab.prereqs import PrerequisiteError
from kdrtui.lab.wan import LabWan, WanSettings
from tests.conftest import reserved_port

Wait = Callable[..., float]


@pytest.fixture(name="wan")
def wan_fixture(tmp_path: Path) -> Iterator[LabWan]:
    """A started WAN (35 ms each way) in front of two one-broker "clusters" that do not run."""
    try:
        toxiproxy.build()
    except (PrerequisiteError, toxiproxy.ToxiproxyError) as exc:  # no Go, or Go could not build it
        pytest.skip(f"no Toxiproxy: {exc}")
    with reserved_port(27092) as port:
        specs = {
            "primary": ClusterSpec("primary", "eastus", port, port + 1),
            "dr": ClusterSpec("dr", "westus2", port + 50, port + 51),
        }
        wan = LabWan(tmp_path / "wan", specs, enabled=True, initial=WanSettings(latency_ms=35))
        try:
            assert wan.start() and wan.running_pid() is not None
            yield wan
        finally:
            wan.stop()
    assert wan.running_pid() is None


def _toxics(wan: LabWan, proxy: str = "dr-1") -> dict[str, dict[str, object]]:
    return {t["name"]: t for t in toxiproxy.ToxiproxyApi(wan.api_port).toxics(proxy)}


def test_the_proxies_carry_the_wans_settings(wan: LabWan) -> None:
    proxies = toxiproxy.ToxiproxyApi(wan.api_port).proxies()
    assert sorted(proxies) == ["dr-1", "primary-1"]
    assert proxies["primary-1"]["listen"] == f"127.0.0.1:{wan.specs['primary'].port + 31}"
    assert set(_toxics(wan)) == {"latency_up", "latency_down"}
    wan.set_latency(80, 10)
    wan.set_bandwidth(2000)
    wan.set_loss(5)
    toxics = _toxics(wan, "primary-1")
    assert toxics["latency_down"]["attributes"] == {"latency": 80, "jitter": 10}
    assert toxics["bandwidth_up"]["attributes"] == {"rate": 250}
    assert toxics["loss"]["toxicity"] == pytest.approx(0.05)
    state = wan.state()
    assert (state.latency_ms, state.jitter_ms, state.bandwidth_kbps, state.loss_pct) == (80, 10, 2000, 5.0)
    wan.reset()
    assert set(_toxics(wan)) == {"latency_up", "latency_down"} and wan.state().latency_ms == 35


def test_a_timed_partition_heals_by_itself_after_the_caller_is_gone(wan: LabWan, wait_until: Wait) -> None:
    wan.partition(1.5)
    assert {"partition_up", "partition_down"} <= set(_toxics(wan))
    state = wan.state()
    assert state.partitioned and state.partition_until is not None
    healer = process.read_pid(wan.healer_pid_file)
    assert healer is not None and process.is_alive(healer)  # a process of its own, not this one's thread
    wait_until(lambda: not wan.state().partitioned, timeout=15, message="the partition healed by itself")
    assert time.time() >= state.partition_until
    assert "partition_up" not in _toxics(wan) and "latency_up" in _toxics(wan)
    # A newer partition is not ended by an older healer: heal() ends it, and stops the pending healer.
    wan.partition(30)
    healer = process.read_pid(wan.healer_pid_file)
    assert wan.heal() is True and wan.heal() is False
    assert healer is not None and process.wait_gone(healer, 5)
    assert not wan.state().partitioned and "partition_down" not in _toxics(wan)


def test_lab_up_again_with_another_latency_changes_the_running_wan(wan: LabWan) -> None:
    wan.set_loss(3)
    again = LabWan(wan.home, wan.specs, enabled=True, initial=WanSettings(latency_ms=50), asked=True)
    assert again.start() == ("reused",)
    state = again.state()
    assert (state.latency_ms, state.loss_pct) == (50, 3.0)  # the latency asked for; the fault stays
    assert _toxics(again)["latency_up"]["attributes"] == {"latency": 50, "jitter": 0}
