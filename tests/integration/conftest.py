"""Fixtures of the lab tests that run failovers: a test's own runbook state, MirrorMaker stopped after it,
the provisioned Azure DR lab (emulator + lab brokers, DNS switch) and the active-active lab."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdrtui.domain.plan import Plan
from kdrtui.lab import jars
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.lab import Lab
from kdrtui.services.plan_files import load_plan
from tests.azure_lab_helpers import AZURE_PORT, BROKER_PORT_BASE, EDGE_PORT_BASE, AzureDrLab, with_dns_switch
from tests.conftest import require_java, reserved_port, reserved_ports
from tests.lab_helpers import mirrormaker, stop_both_directions


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runbook state of this test only (journals, state.json, audit.log), for this process and every
    ``kdrtui`` it starts."""
    where = tmp_path / "state"
    monkeypatch.setenv("KDRTUI_STATE_DIR", str(where))
    return where


@pytest.fixture
def mirrormakers_stopped(lab: Lab) -> Iterator[list[Plan]]:
    """Plans whose MirrorMaker deployments (both directions) are stopped after the test."""
    plans: list[Plan] = []
    yield plans
    for plan in plans:
        asyncio.run(stop_both_directions(plan))


@pytest.fixture(scope="package")
def azure_dr_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureDrLab]:
    """``kdrtui lab up --azure`` in a lab dir of its own (azure port 18393, brokers from 20492, edge nodes
    from 13832: no other test's), the lab-azure plan switched to ``[switch] method = "dns"`` and
    provisioned once. Tests that change the plan copy it; failover tests leave the DR state as they
    found it (primary active)."""
    require_java()
    jars.fetch()
    root = tmp_path_factory.mktemp("azure-dr")
    lab_dir, state_dir = root / "lab", root / "state"
    home = lab_dir / "azure"
    home.mkdir(parents=True)
    (home / "emulator.json").write_text(json.dumps({"step_seconds": 0.3}))  # no option for it
    env = {k: v for k, v in os.environ.items() if k != "KDRTUI_LAB_LOGIN_PASSWORD"}
    env |= {"KDRTUI_LAB_DIR": str(lab_dir), "KDRTUI_STATE_DIR": str(state_dir)}
    with reserved_port(AZURE_PORT) as port:
        # Another session holding the first ports (its emulator on 18393) has its brokers on 20492...:
        # this one moves its brokers and edge nodes by 1000 per step the emulator's port moved.
        shift = (port - AZURE_PORT) // 100 * 1000
        lab = AzureDrLab(AzureEmulator(home), home / "plan.toml", env, state_dir)
        try:
            up = lab.kdrtui(
                "lab",
                "up",
                "--azure",
                "--azure-port",
                str(port),
                "--broker-base-port",
                str(BROKER_PORT_BASE + shift),
                "--edge-base-port",
                str(EDGE_PORT_BASE + shift),
            )
            assert up.returncode == 0, up.stdout + up.stderr
            lab.emulator = AzureEmulator(home)
            assert lab.emulator.port == port and lab.emulator.port_base == BROKER_PORT_BASE + shift
            with_dns_switch(lab.plan_path)
            made = lab.kdrtui("provision", "--plan", str(lab.plan_path), "--yes", timeout=420)
            assert made.returncode == 0, made.stdout + made.stderr
            yield lab
        finally:
            AzureEmulator(home).down()


AA_PRIMARY_PORT, AA_DR_PORT, AA_EDGE_PORT = 23092, 24092, 12282
"""The active-active lab's first ports (primary-edge-1 on the edge port + 4): no other test's."""


@pytest.fixture(scope="package")
def aa_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``kdrtui lab up --topology active-active`` in a lab dir of its own, ONE broker per cluster (to stay
    cheap: what active-active proves does not need three), with both flows' MirrorMaker 2 started
    (``primary -> dr`` on dr-edge-1, ``dr -> primary`` on primary-edge-1); purged after the last
    integration test (package scope: its JVMs do not idle through the rest of the session).

    Like :func:`lab3` it does not set ``KDRTUI_LAB_DIR``: tests use ``--plan <aa_lab.plan_path>`` and set
    the variable themselves for ``kdrtui lab ...``. A test that fails over fails back before it ends.
    """
    require_java()
    home = tmp_path_factory.mktemp("aa-lab")
    with (
        reserved_ports(AA_PRIMARY_PORT, AA_DR_PORT) as ports,
        reserved_port(AA_EDGE_PORT) as edge_port,
    ):
        the_lab = Lab(
            home, primary_port=ports[0], dr_port=ports[1], edge_port=edge_port, topology="active-active"
        )
        try:
            the_lab.up()
            plan = load_plan(the_lab.plan_path)
            for flow in ("primary->dr", "dr->primary"):
                asyncio.run(mirrormaker(plan, flow, start=True))
            yield the_lab
        finally:
            the_lab.down(purge=True)
