"""`kdrtui lab fault restore` with only the Azure emulator up: it clears the Azure faults and does not
start the lab's primary/dr clusters (no fault stopped them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.commands.lab import lab_group
from kdrtui.lab.azure.emulator import AzureEmulator
from kdrtui.lab.lab import Lab
from tests.conftest import reserved_port

pytestmark = pytest.mark.lab


def test_restore_clears_azure_faults_without_starting_the_plain_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KDRTUI_LAB_DIR", str(tmp_path / "lab"))
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "lab.json").write_text("{}\n", encoding="utf-8")  # a lab that was up once
    with reserved_port(18843) as port:
        emulator = AzureEmulator(tmp_path / "lab" / "azure", port, 19892, 12832)
        emulator.up(fetch=False)
        try:
            emulator.faults(throttle=5, retry_after=1)
            result = CliRunner().invoke(lab_group, ["fault", "restore"])
            assert result.exit_code == 0, result.output
            assert "azure: faults cleared" in result.output
            assert "primary/dr are not up and no fault stopped them" in result.output
            assert emulator.faults()["throttle"] == 0
            lab = Lab()
            assert all(c.running_pid() is None for c in lab.clusters.values())
            assert lab.edge.running() is None
        finally:
            emulator.down()
