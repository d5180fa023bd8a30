"""The game days' own lab (``gameday_lab``): three brokers per cluster like HDInsight, a WAN between the
regions when Toxiproxy is built (``kdrtui lab fetch`` builds it where Go is), MirrorMaker running; started
the first time a test asks for it and purged once the last test of tests/gameday has run (package scope:
its JVMs do not idle through the rest of the session). Scenarios leave it as they found it.

Ports: clusters from 14192 / 24192 (each cluster's brokers, WAN listeners, proxies and the WAN's API take
41 ports from there), the edge node from 13192; 100 up per try when another session holds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from kdrtui.lab import toxiproxy
from kdrtui.lab.lab import Lab
from kdrtui.services.plan_files import load_plan
from tests.conftest import require_java, reserved_port, reserved_ports
from tests.lab_helpers import mirrormaker

GAMEDAY_PRIMARY_PORT = 14192
GAMEDAY_DR_PORT = 24192
GAMEDAY_EDGE_PORT = 13192
#: The WAN's latency each way when the lab has one (the issue's figure).
WAN_LATENCY_MS = 35


def wan_available() -> bool:
    """Toxiproxy is built, or Go is here to build it."""
    return toxiproxy.is_built() or toxiproxy.go_command() is not None


@pytest.fixture(scope="package")
def gameday_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A fresh three-broker lab (with a WAN when Toxiproxy can be had) and MirrorMaker running."""
    require_java()
    with_wan = wan_available()
    if with_wan and not toxiproxy.is_built():
        toxiproxy.build()
    home = tmp_path_factory.mktemp("gameday-lab")
    with (
        reserved_ports(GAMEDAY_PRIMARY_PORT, GAMEDAY_DR_PORT, span=41) as ports,
        reserved_port(GAMEDAY_EDGE_PORT) as edge_port,
    ):
        lab = Lab(
            home,
            primary_port=ports[0],
            dr_port=ports[1],
            edge_port=edge_port,
            brokers=3,
            wan_latency_ms=WAN_LATENCY_MS if with_wan else None,
        )
        try:
            lab.up()
            asyncio.run(mirrormaker(load_plan(lab.plan_path), "primary->dr", True))
            yield lab
        finally:
            lab.down(purge=True)


@pytest.fixture
def wan_lab(gameday_lab: Lab) -> Lab:
    """:func:`gameday_lab`, skipped (saying why) when it has no WAN."""
    if not gameday_lab.wan.enabled:
        pytest.skip("no WAN: Toxiproxy is not built and Go is not on PATH to build it (`kdrtui lab fetch`)")
    return gameday_lab
