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
from pathlib import Path
from typing import Any

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


def running_lab(
    home: Path, first_ports: tuple[int, int, int], flows: tuple[str, ...], **shape: Any
) -> Iterator[Lab]:
    """A lab in ``home`` of ``shape`` (``Lab``'s keywords) on the clusters' and the edge node's first free
    ports from ``first_ports`` (each cluster takes 41: brokers, WAN listeners, proxies, the WAN's API), up,
    with MirrorMaker running for ``flows`` (``"primary->dr"``...); purged when the generator closes."""
    require_java()
    if shape.get("wan_latency_ms") is not None and not toxiproxy.is_built():
        toxiproxy.build()
    primary, dr, edge = first_ports
    with reserved_ports(primary, dr, span=41) as ports, reserved_port(edge) as edge_port:
        lab = Lab(home, primary_port=ports[0], dr_port=ports[1], edge_port=edge_port, **shape)
        try:
            lab.up()
            plan = load_plan(lab.plan_path)
            for flow in flows:
                asyncio.run(mirrormaker(plan, flow, True))
            yield lab
        finally:
            lab.down(purge=True)


@pytest.fixture(scope="package")
def gameday_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A fresh three-broker lab (with a WAN when Toxiproxy can be had) and MirrorMaker running."""
    yield from running_lab(
        tmp_path_factory.mktemp("gameday-lab"),
        (GAMEDAY_PRIMARY_PORT, GAMEDAY_DR_PORT, GAMEDAY_EDGE_PORT),
        ("primary->dr",),
        brokers=3,
        wan_latency_ms=WAN_LATENCY_MS if wan_available() else None,
    )


@pytest.fixture
def wan_lab(gameday_lab: Lab) -> Lab:
    """:func:`gameday_lab`, skipped (saying why) when it has no WAN."""
    if not gameday_lab.wan.enabled:
        pytest.skip("no WAN: Toxiproxy is not built and Go is not on PATH to build it (`kdrtui lab fetch`)")
    return gameday_lab
