"""The lab's WAN without running it: port layout, broker listeners, toxics, settings, plan, CLI errors.

The WAN for real (Toxiproxy between running clusters) is tests/integration/test_lab_wan.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.commands import lab as lab_commands
from kdrtui.lab import toxiproxy
from kdrtui.lab.broker import ClusterSpec, LabBroker
from kdrtui.lab.lab import Lab
from kdrtui.lab.lab_processes import LabError
from kdrtui.lab.security import LabSecurity
from kdrtui.lab.wan import API_OFFSET, WAN_OFFSET, LabWan, WanSettings, lab_wan, wan_ports
from kdrtui.lab.wan_link import LOSS_STALL_MS, wanted_toxics


def test_wan_ports_sit_beside_a_three_broker_cluster() -> None:
    spec = ClusterSpec("primary", "eastus", 19092, 19093, brokers=3)
    layout = wan_ports(spec)
    assert layout == [(1, 19122, 19123), (2, 19124, 19125), (3, 19126, 19127)]
    used = set(spec.ports)  # 19092-19097
    wan = {p for _n, listener, proxy in layout for p in (listener, proxy)}
    assert not used & wan
    assert max(used) - spec.port < WAN_OFFSET and API_OFFSET > WAN_OFFSET + 2 * 3 - 1


def test_a_lab_with_a_wan_gives_each_broker_a_wan_listener_advertised_at_its_proxy(tmp_path: Path) -> None:
    lab = Lab(tmp_path, primary_port=41092, dr_port=41192, brokers=3, wan_latency_ms=35)
    assert lab.wan.enabled
    props = lab.cluster("primary").brokers[1].render_properties("3.9.1")  # broker 2
    assert (
        "listeners=PLAINTEXT://127.0.0.1:41094,CONTROLLER://127.0.0.1:41095,WAN://127.0.0.1:41124\n" in props
    )
    assert "advertised.listeners=PLAINTEXT://127.0.0.1:41094,WAN://127.0.0.1:41125\n" in props
    assert "WAN:PLAINTEXT" in props
    assert lab.wan.remote_bootstrap("dr") == "127.0.0.1:41223,127.0.0.1:41225,127.0.0.1:41227"
    assert lab.wan.api_port == 41092 + API_OFFSET
    plan = lab.render_plan()
    assert plan["clusters"]["primary"]["remote_bootstrap_servers"] == [
        "127.0.0.1:41123",
        "127.0.0.1:41125",
        "127.0.0.1:41127",
    ]
    assert plan["clusters"]["primary"]["bootstrap_servers"][0] == "127.0.0.1:41092"
    # The proxies forward to the WAN listeners.
    assert {p["name"]: (p["listen"], p["upstream"]) for p in lab.wan.proxy_table()}["dr-2"] == (
        "127.0.0.1:41225",
        "127.0.0.1:41224",
    )


def test_a_lab_without_a_wan_has_no_wan_listener_and_no_remote_addresses(tmp_path: Path) -> None:
    lab = Lab(tmp_path, primary_port=41092, dr_port=41192)
    assert not lab.wan.enabled
    assert "WAN" not in lab.cluster("dr").brokers[0].render_properties("3.9.1")
    assert "remote_bootstrap_servers" not in lab.render_plan()["clusters"]["dr"]
    state = lab.wan.state()
    assert (state.enabled, state.running, state.remote_bootstrap) == (False, False, {})
    lab.wan.stop()  # as `lab down` does
    assert not (tmp_path / "wan").exists()
    assert lab.wan.restore() is False and lab.wan.missing() == ()


@pytest.mark.parametrize("mode", ["ssl", "sasl_ssl"])
def test_a_secured_labs_wan_listener_speaks_its_client_listeners_protocol(tmp_path: Path, mode: str) -> None:
    spec = ClusterSpec("dr", "westus2", 41192, 41193, wan_port=41222)
    security = LabSecurity(mode, tmp_path / "security")
    security.ensure(["dr"])  # the CA, certificates and (sasl_ssl) the users' passwords
    broker = LabBroker(spec, 1, tmp_path, security=security)
    props = broker.render_properties("3.9.1")
    protocol = mode.upper()
    assert "WAN://127.0.0.1:41222" in props and "WAN://127.0.0.1:41223" in props
    assert f"WAN:{protocol}" in props
    jaas = "listener.name.wan.scram-sha-512.sasl.jaas.config="
    assert (jaas in props) == (mode == "sasl_ssl")


def test_lab_json_remembers_the_wan(tmp_path: Path) -> None:
    saved: dict[str, Any] = {
        "wan": {"enabled": True, "latency_ms": 35, "jitter_ms": 0, "bandwidth_kbps": 800}
    }
    specs = {"primary": ClusterSpec("primary", "eastus", 41092, 41093)}
    wan = lab_wan(tmp_path, specs, saved)
    assert wan.enabled and wan.initial == WanSettings(latency_ms=35, bandwidth_kbps=800)
    assert lab_wan(tmp_path, specs, saved, (False, None, None)).enabled is False
    assert lab_wan(tmp_path, specs, {}, (None, 0, None)).enabled  # --wan-latency-ms 0 is a WAN too
    with pytest.raises(ValueError, match="--no-wan cannot go with"):
        lab_wan(tmp_path, specs, {}, (False, 35, None))


def test_wan_ports_may_not_meet_the_other_clusters_ports(tmp_path: Path) -> None:
    specs = {
        "primary": ClusterSpec("primary", "eastus", 41092, 41093),
        "dr": ClusterSpec("dr", "westus2", 41122, 41123),
    }
    with pytest.raises(ValueError, match="also a Kafka port"):
        LabWan(tmp_path, specs, enabled=True)
    LabWan(tmp_path, specs, enabled=False)  # no WAN, no ports of its own


def test_toxics_for_each_setting() -> None:
    assert wanted_toxics(WanSettings(), False) == {}
    toxics = wanted_toxics(WanSettings(latency_ms=35, jitter_ms=5, bandwidth_kbps=1000, loss_pct=2.5), True)
    assert set(toxics) == {
        "latency_up",
        "latency_down",
        "bandwidth_up",
        "bandwidth_down",
        "loss",
        "partition_up",
        "partition_down",
    }
    assert toxics["latency_down"]["attributes"] == {"latency": 35, "jitter": 5}
    assert toxics["latency_down"]["stream"] == "downstream"
    assert toxics["bandwidth_up"]["attributes"] == {"rate": 125}  # KB/s
    assert toxics["loss"] == {
        "name": "loss",
        "type": "timeout",
        "stream": "upstream",
        "toxicity": 0.025,
        "attributes": {"timeout": LOSS_STALL_MS},
    }
    # A partition drops data both ways and closes nothing (timeout 0): a black hole, not a reset.
    for stream in ("up", "down"):
        assert toxics[f"partition_{stream}"]["type"] == "timeout"
        assert toxics[f"partition_{stream}"]["attributes"] == {"timeout": 0}
        assert toxics[f"partition_{stream}"]["toxicity"] == 1.0


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (WanSettings(latency_ms=-1), "latency"),
        (WanSettings(latency_ms=10, jitter_ms=11), "jitter"),
        (WanSettings(bandwidth_kbps=7), "bandwidth"),
        (WanSettings(loss_pct=100.5), "loss"),
    ],
)
def test_out_of_range_settings_name_their_field(settings: WanSettings, field: str) -> None:
    with pytest.raises(LabError, match=f"WAN {field} must be"):
        settings.check()


def test_faults_on_a_lab_without_a_wan_say_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDRTUI_LAB_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["lab", "fault", "wan-partition"])
    assert result.exit_code == 1
    assert "there is no lab" in result.output
    (tmp_path / "lab.json").write_text("{}", encoding="utf-8")
    for args in (["wan-partition", "--seconds", "5"], ["wan-latency", "35"], ["wan-loss", "1"], ["wan-heal"]):
        result = runner.invoke(main, ["lab", "fault", *args])
        assert result.exit_code == 1, args
        assert "the lab has no WAN: bring it up with `kdrtui lab up --wan-latency-ms MS`" in result.output


def test_bad_wan_options_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDRTUI_LAB_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(main, ["lab", "up", "--no-wan", "--wan-latency-ms", "35"])
    assert result.exit_code == 1 and "--no-wan cannot go with --wan-latency-ms" in result.output
    result = runner.invoke(main, ["lab", "up", "--azure", "--wan-latency-ms", "35"])
    assert result.exit_code == 2 and "not with --azure" in result.output
    result = runner.invoke(main, ["lab", "up", "--wan-bandwidth-kbps", "4"])
    assert result.exit_code == 2 and "--wan-bandwidth-kbps" in result.output
    (tmp_path / "lab.json").write_text("{}", encoding="utf-8")
    result = runner.invoke(main, ["lab", "fault", "wan-bandwidth", "fast"])
    assert result.exit_code == 2 and "give kbit/s (8 or more) or `unlimited`" in result.output


def test_without_go_a_wan_is_refused_naming_go_and_fetch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDRTUI_LAB_DIR", str(tmp_path / "lab"))
    monkeypatch.setattr(toxiproxy, "binary", lambda: tmp_path / "cache" / "server")
    monkeypatch.setattr(toxiproxy, "go_command", lambda: None)
    runner = CliRunner()
    result = runner.invoke(main, ["lab", "up", "--primary-port", "41092", "--wan-latency-ms", "35"])
    assert result.exit_code == 2
    assert "--wan-latency-ms needs Toxiproxy 2.5.0" in result.output
    assert "`go` is not on PATH" in result.output and "apt-get install golang-go" in result.output
    assert not (tmp_path / "lab" / "primary").exists()  # refused before anything started

    class _Fetched:
        cached, jars, seconds = True, 1, 0.0
        distribution = type("D", (), {"libs": tmp_path})()

    monkeypatch.setattr(lab_commands.jars, "fetch", lambda *a, **k: _Fetched())
    result = runner.invoke(main, ["lab", "fetch"])
    assert result.exit_code == 0, result.output
    assert "Toxiproxy 2.5.0: not built, `go` is not on PATH; the lab runs without a WAN" in result.output
