"""``dashboards/kdrtui.json`` (Grafana) and ``dashboards/alerts.yml`` (Prometheus rules): they parse, every
``kdrtui_*`` metric they name is one the exporter's collector produces, and ``promtool`` accepts the rules
(where Prometheus's Debian package is installed: .ci/run installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdrtui.services.observe.exporter import Exporter
from tests.exporter_helpers import FakeReader, failover, mirrormaker_read, names, plan, samples, view

DASHBOARDS = Path(__file__).parents[2] / "dashboards"
METRIC = re.compile(r"\bkdrtui_[a-z0-9_]+\b")


def exported() -> set[str]:
    """Every sample name the collector produces, with every optional family present."""

    class Reader:
        def read(self) -> Any:
            return mirrormaker_read()

        def close(self) -> None:
            pass

    reader = FakeReader(plan(), [view(unreachable=True)])
    exp = Exporter(
        reader,  # type: ignore[arg-type]
        interval_s=10.0,
        per_partition=True,
        mirrormaker=Reader(),  # type: ignore[arg-type]
        failover=failover,
    )
    exp.refresh_once()
    exp.read_mirrormaker_once()
    found = names(samples(exp.registry))
    reader.fail = RuntimeError("boom")
    exp.refresh_once()
    return found | names(samples(exp.registry))


def expressions(node: Any) -> list[str]:
    """Every ``expr`` in a dashboard's panels (rows' panels included)."""
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            found.append(node["expr"])
        for value in node.values():
            found += expressions(value)
    elif isinstance(node, list):
        for value in node:
            found += expressions(value)
    return found


def test_the_dashboard_parses_uses_the_datasource_variable_and_names_only_exported_metrics() -> None:
    dashboard = json.loads((DASHBOARDS / "kdrtui.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert all(p["datasource"]["uid"] == "${datasource}" for p in panels)
    named = {m for expr in expressions(dashboard) for m in METRIC.findall(expr)}
    assert named, "no kdrtui_* metric in the dashboard"
    assert named - exported() == set()
    # What the issue asks the dashboard to show.
    for wanted in (
        "kdrtui_flow_lag_records",
        "kdrtui_flow_lag_seconds",
        "kdrtui_topic_lag_seconds",
        "kdrtui_flow_health",
        "kdrtui_mm2_task_state",
        "kdrtui_group_redeliver_records",
        "kdrtui_cluster_up",
    ):
        assert wanted in named


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((DASHBOARDS / "alerts.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_the_alert_rules_parse_and_name_only_exported_metrics() -> None:
    found = rules()
    assert all({"alert", "expr", "labels", "annotations"} <= rule.keys() for rule in found)
    assert {rule["labels"]["severity"] for rule in found} <= {"warning", "critical"}
    named = {m for rule in found for m in METRIC.findall(rule["expr"])}
    assert named - exported() == set()
    alerts = {rule["alert"] for rule in found}
    for wanted in (
        "KdrtuiFlowWarn",
        "KdrtuiFlowCrit",
        "KdrtuiFlowStalled",
        "KdrtuiMirrorMakerTaskFailed",
        "KdrtuiClusterUnreachable",
        "KdrtuiRecordsLost",
        "KdrtuiExporterStale",
        "KdrtuiMirrorMakerSshReadFailing",
    ):
        assert wanted in alerts


def test_a_name_the_exporter_does_not_export_is_caught() -> None:
    assert {"kdrtui_flow_lag_records", "kdrtui_refreshes_total"} <= exported()
    assert "kdrtui_flow_lag" not in exported()
    assert METRIC.findall('max(kdrtui_flow_lag{flow="a"}) > 3') == ["kdrtui_flow_lag"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)")
def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", str(DASHBOARDS / "alerts.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout
