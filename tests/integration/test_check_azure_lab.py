"""``kdrtui check`` on the provisioned Azure DR lab (emulator + lab brokers): the DNS switch (zone linked to
both VNets, record there) and the NSG fence (the subnet's NSG readable) are usable; a plan naming a zone
that does not exist is blocking. Nothing of the shared lab is changed: each case is a copy of the plan."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.azure_lab_helpers import AzureDrLab

pytestmark = pytest.mark.lab


def copy(lab: AzureDrLab, where: Path, **tables: dict[str, Any]) -> Path:
    """The provisioned plan with ``tables`` merged into its own (and its login-password file beside it)."""
    where.mkdir(parents=True, exist_ok=True)
    data = tomllib.loads(lab.plan_path.read_text(encoding="utf-8"))
    for name, table in tables.items():
        data[name] = {**data.get(name, {}), **table}
    path = where / "plan.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    shutil.copy(lab.plan_path.parent / "login-password", where / "login-password")
    return path


def check(lab: AzureDrLab, path: Path) -> dict[str, Any]:
    done = lab.kdrtui("check", "--plan", str(path), "--json", "--no-ssh", timeout=180)
    assert done.returncode in (0, 1, 2), done.stdout + done.stderr
    body: dict[str, Any] = json.loads(done.stdout)
    assert body["exit_code"] == done.returncode
    return body


def about(body: dict[str, Any], check: str) -> list[dict[str, str]]:
    return [f for f in body["findings"] if f["check"] == check]


def test_the_dns_switch_and_the_nsg_fence_are_usable_and_a_missing_zone_blocks(
    azure_dr_lab: AzureDrLab, tmp_path: Path
) -> None:
    fenced = copy(
        azure_dr_lab,
        tmp_path / "usable",
        failover={"fence": ["nsg"], "client_cidrs": ["10.0.1.0/24"], "fence_allow_cidrs": ["10.9.9.9/32"]},
    )
    body = check(azure_dr_lab, fenced)
    assert about(body, "switch") == [], body  # zone there, linked to both VNets, record set
    assert about(body, "fence") == [], body  # the NSG of the primary's subnet can be read or created

    missing = copy(azure_dr_lab, tmp_path / "missing", switch={"zone": "nowhere.kdrlab.internal"})
    body = check(azure_dr_lab, missing)
    (switch,) = about(body, "switch")
    assert switch["severity"] == "blocking" and "nowhere.kdrlab.internal does not exist" in switch["what"]
    assert switch["where"] == "switch dns: nowhere.kdrlab.internal"
    assert body["exit_code"] == 2
