"""``kdrtui plan new``: a plan from the wizard's answers on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kdrtui.cli import main
from kdrtui.domain.plan import Topology
from kdrtui.services.plan_files import load_plan

REGIONS = ["--primary-region", "eastus", "--secondary-region", "westus2"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["plan", "new", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("topology", [t.value for t in Topology])
def test_writes_a_plan_that_validate_accepts(topology: str, tmp_path: Path) -> None:
    out = tmp_path / "plan.toml"
    code, stdout, stderr = run("--topology", topology, *REGIONS, "--out", str(out))
    assert (code, stderr) == (0, "")
    assert f"{out}: written and valid" in stdout
    assert "Estimated cost: about $" in stdout and "2026-11-01" in stdout
    checked = CliRunner().invoke(main, ["plan", "validate", str(out)])
    assert checked.exit_code == 0, checked.output
    assert f"{out}: valid" in checked.output
    assert load_plan(out).plan.topology == topology


def test_options_reach_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "orders.toml"
    code, _, stderr = run(
        "--topology",
        "cold-standby",
        "--primary-region",
        "northeurope",
        "--secondary-region",
        "westeurope",
        "--primary-cidr",
        "10.20.0.0/16",
        "--secondary-cidr",
        "10.30.0.0/16",
        "--name",
        "orders-dr",
        "--primary-cluster",
        "orders-neu",
        "--secondary-cluster",
        "orders-weu",
        "--workers",
        "4",
        "--every-minutes",
        "",
        "--cron",
        "*/30 * * * *",
        "--set",
        "head_vm_size=Standard_E8_v3",
        "--out",
        str(out),
    )
    assert (code, stderr) == (0, "")
    plan = load_plan(out)
    primary, secondary = plan.clusters["primary"], plan.clusters["secondary"]
    assert plan.plan.name == "orders-dr"
    assert (primary.region, primary.vnet_cidr, primary.subnet_cidr) == (
        "northeurope",
        "10.20.0.0/16",
        "10.20.0.0/24",
    )
    assert (secondary.vnet_cidr, secondary.subnet_cidr) == ("10.30.0.0/16", "10.30.0.0/24")
    assert primary.hdinsight is not None and secondary.hdinsight is not None
    assert (primary.hdinsight.name, secondary.hdinsight.name) == ("orders-neu", "orders-weu")
    assert (primary.hdinsight.worker_count, primary.hdinsight.head_vm_size) == (4, "Standard_E8_v3")
    schedule = plan.flows[0].schedule
    assert schedule is not None and (schedule.cron, schedule.every_minutes) == ("*/30 * * * *", None)


def test_overlapping_cidrs_exit_2_naming_both(tmp_path: Path) -> None:
    out = tmp_path / "plan.toml"
    code, stdout, stderr = run(
        "--topology",
        "active-active",
        *REGIONS,
        "--primary-cidr",
        "10.0.0.0/16",
        "--secondary-cidr",
        "10.0.128.0/17",
        "--out",
        str(out),
    )
    assert code == 2 and stdout == ""
    assert stderr.splitlines() == [
        "secondary_vnet_cidr: 10.0.128.0/17 overlaps 10.0.0.0/16 of cluster 'primary'; "
        "peered VNets need distinct address spaces",
        "1 problem; nothing written",
    ]
    assert not out.exists()


def test_every_problem_is_listed(tmp_path: Path) -> None:
    out = tmp_path / "plan.toml"
    code, _, stderr = run(
        "--topology",
        "cold-standby",
        "--primary-region",
        "eastus",
        "--secondary-region",
        "eastus",
        "--workers",
        "two",
        "--primary-cluster",
        "ab",
        "--set",
        "lag_warn_seconds=500",
        "--out",
        str(out),
    )
    assert code == 2
    assert stderr.splitlines() == [
        "secondary_region: the secondary cluster is in eastus like the primary; choose another region",
        "primary_cluster_name: 'ab' is 2 characters; an HDInsight cluster name needs 3 to 59",
        "worker_count: must be a whole number, not 'two'",
        "lag_warn_seconds: 500 must be less than lag_crit_seconds (120)",
        "4 problems; nothing written",
    ]
    assert not out.exists()


def test_an_existing_file_is_kept_unless_force(tmp_path: Path) -> None:
    out = tmp_path / "plan.toml"
    out.write_text("# mine\n", encoding="utf-8")
    code, stdout, stderr = run("--topology", "hot-standby", *REGIONS, "--out", str(out))
    assert (code, stdout) == (1, "")
    assert stderr == f"{out} already exists; pass --force to overwrite it\n"
    assert out.read_text(encoding="utf-8") == "# mine\n"
    code, _, _ = run("--topology", "hot-standby", *REGIONS, "--out", str(out), "--force")
    assert code == 0
    assert load_plan(out).plan.topology == Topology.HOT_STANDBY


def test_a_bad_set_names_the_fields(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "plan",
            "new",
            "--topology",
            "hot-standby",
            *REGIONS,
            "--set",
            "colour=blue",
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert result.exit_code == 2
    assert "'colour=blue' is not FIELD=VALUE with a wizard field" in result.stderr
    assert "worker_count" in result.stderr


@pytest.mark.parametrize("missing", ["--topology", "--primary-region", "--secondary-region", "--out"])
def test_topology_regions_and_out_are_required(missing: str, tmp_path: Path) -> None:
    args = {"--topology": "cold-standby", "--out": str(tmp_path / "p.toml")}
    args.update(zip(REGIONS[::2], REGIONS[1::2], strict=True))
    del args[missing]
    result = CliRunner().invoke(main, ["plan", "new", *[x for pair in args.items() for x in pair]])
    assert result.exit_code == 2
    assert f"Missing option '{missing}'" in result.stderr
