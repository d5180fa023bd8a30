"""``kdrtui exporter``'s collector and loops from built views (no lab): the figures equal the view's
``kdrtui status --json`` body, unknown figures have no series, a scrape never refreshes, hooks that fail
do not stop it."""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kdrtui.services.observe.exporter import Exporter
from kdrtui.services.observe.http import MetricsServer, parse_listen
from kdrtui.services.observe.last_failover import last_failover
from kdrtui.services.runbook.store import RunbookStore
from tests.exporter_helpers import (
    NOW,
    FakeReader,
    failover,
    mirrormaker_read,
    names,
    plan,
    samples,
    value,
    view,
)


def exporter(reader: FakeReader, **kw: Any) -> Exporter:
    return Exporter(reader, interval_s=10.0, clock=lambda: NOW + 5, **kw)  # type: ignore[arg-type]


def test_every_figure_equals_the_status_json_of_the_same_refresh() -> None:
    exp = exporter(FakeReader(plan(), [view()]), failover=failover)
    shown = exp.refresh_once()
    assert shown is not None
    body = json.loads(exp.status_json()[1])  # type: ignore[index]
    assert body == shown.to_dict()
    found = samples(exp.registry)
    (flow,) = body["flows"]
    assert value(found, "kdrtui_flow_lag_records", flow="primary->dr") == flow["lag_records"] == 42
    assert value(found, "kdrtui_flow_lag_seconds", flow="primary->dr", seconds_source="history") == 12.5
    assert value(found, "kdrtui_flow_lost_records", flow="primary->dr") == 3
    assert (
        value(found, "kdrtui_flow_heartbeat_age_seconds", flow="primary->dr")
        == flow["heartbeat_age_s"]
        == 1.3
    )
    assert value(found, "kdrtui_flow_failed_tasks", flow="primary->dr") == 1
    assert value(found, "kdrtui_flow_health", flow="primary->dr", kdrtui_flow_health="WARN") == 1
    assert value(found, "kdrtui_flow_health", flow="primary->dr", kdrtui_flow_health="OK") == 0
    for topic in flow["topics"]:
        where = {"flow": "primary->dr", "topic": topic["topic"]}
        assert value(found, "kdrtui_topic_lag_records", **where) == topic["lag_records"]
        source = topic["lag_seconds_source"]
        assert (
            value(found, "kdrtui_topic_lag_seconds", **where, seconds_source=source) == topic["lag_seconds"]
        )
        assert value(found, "kdrtui_topic_replicated_records_per_second", **where) == topic["rate_out"]
        assert value(found, "kdrtui_topic_produced_records_per_second", **where) == topic["rate_in"]
        assert value(found, "kdrtui_topic_lost_records", **where) == topic["lost_records"]
        assert value(found, "kdrtui_topic_health", **where, kdrtui_topic_health=topic["health"]) == 1
    assert (
        value(found, "kdrtui_topic_replicated_records_per_second", flow="primary->dr", topic="orders")
        == 118.1
    )
    billing = {"flow": "primary->dr", "group": "billing", "topic": "orders"}
    assert value(found, "kdrtui_group_checkpoint_age_seconds", **billing) == 4.2
    assert value(found, "kdrtui_group_redeliver_records", **billing) == 10
    assert value(found, "kdrtui_group_skip_records", **billing) == 0
    for alias, block in body["clusters"].items():
        assert value(found, "kdrtui_cluster_brokers_up", cluster=alias) == block["brokers_up"] == 3
        assert value(found, "kdrtui_cluster_brokers_expected", cluster=alias, expected_source="plan") == 3
        assert value(found, "kdrtui_cluster_under_replicated_partitions", cluster=alias) == 2
        assert value(found, "kdrtui_cluster_offline_partitions", cluster=alias) == 0
        assert value(found, "kdrtui_cluster_under_min_isr_partitions", cluster=alias) == 1
        assert value(found, "kdrtui_cluster_up", cluster=alias) == 1
        assert value(found, "kdrtui_cluster_state", cluster=alias, kdrtui_cluster_state="degraded") == 1
    assert value(found, "kdrtui_active_cluster", cluster="primary") == 1
    assert value(found, "kdrtui_active_cluster", cluster="dr") == 0
    assert value(found, "kdrtui_health", kdrtui_health="WARN") == 1
    assert value(found, "kdrtui_refreshes_total") == 1
    assert value(found, "kdrtui_snapshot_age_seconds") == 5.0
    assert value(found, "kdrtui_refresh_duration_seconds") == 0.25
    run = {"operation": "failover", "run": "20261203T120000Z-failover-ab12"}
    assert value(found, "kdrtui_last_failover_duration_seconds", **run) == 60.0
    assert value(found, "kdrtui_last_failover_rto_seconds", **run) == 35.5
    assert value(found, "kdrtui_last_failover_outcome", **run, kdrtui_last_failover_outcome="completed") == 1


def test_what_is_not_known_has_no_series_and_says_why() -> None:
    exp = exporter(FakeReader(plan(), [view(unreachable=True, dr_state_error="state.json: not JSON")]))
    exp.refresh_once()
    found = samples(exp.registry)
    # dr did not answer: no broker count, URP or min-ISR figure, not a 0.
    for name in ("kdrtui_cluster_brokers_up", "kdrtui_cluster_offline_partitions"):
        assert value(found, name, cluster="dr") is None
        assert value(found, name, cluster="primary") is not None
    assert value(found, "kdrtui_cluster_up", cluster="dr") == 0
    assert value(found, "kdrtui_cluster_state", cluster="dr", kdrtui_cluster_state="unreachable") == 1
    assert value(found, "kdrtui_cluster_error_info", cluster="dr", error="Broker transport failure") == 1
    assert value(found, "kdrtui_cluster_unreachable_since_timestamp_seconds", cluster="dr") == NOW - 30
    # dr->primary was never read: no lag series (0 would be a guess), its reason instead.
    assert value(found, "kdrtui_flow_lag_records", flow="dr->primary") is None
    assert value(found, "kdrtui_flow_heartbeat_age_seconds", flow="dr->primary") is None
    assert (
        value(found, "kdrtui_flow_error_info", flow="dr->primary", error="dr: Broker transport failure") == 1
    )
    assert value(found, "kdrtui_flow_health", flow="dr->primary", kdrtui_flow_health="STOPPED") == 1
    # A group without a checkpoint: no age, no re-delivery forecast.
    audit = {"flow": "primary->dr", "group": "audit", "topic": "orders"}
    assert value(found, "kdrtui_group_redeliver_records", **audit) is None
    # The DR state unreadable: which cluster is active is unknown, not "primary".
    assert not [key for key in found if key[0] == "kdrtui_active_cluster"]
    assert value(found, "kdrtui_dr_state_readable") == 0


def test_before_the_first_refresh_only_the_exporter_figures_are_served() -> None:
    found = samples(exporter(FakeReader(plan(), [view()])).registry)
    assert value(found, "kdrtui_refreshes_total") == 0
    assert not {n for n in names(found) if n.startswith(("kdrtui_flow", "kdrtui_cluster", "kdrtui_snapshot"))}


def test_a_scrape_never_refreshes() -> None:
    reader = FakeReader(plan(), [view(refresh=1), view(refresh=2)])
    exp = exporter(reader)
    exp.refresh_once()
    for _ in range(20):
        samples(exp.registry)
    assert reader.calls == 1
    assert value(samples(exp.registry), "kdrtui_refreshes_total") == 1


def test_per_partition_series_only_with_the_flag() -> None:
    plain = exporter(FakeReader(plan(), [view()]))
    plain.refresh_once()
    assert not {n for n in names(samples(plain.registry)) if n.startswith("kdrtui_partition")}
    wide = exporter(FakeReader(plan(), [view()]), per_partition=True)
    wide.refresh_once()
    found = samples(wide.registry)
    where = {"flow": "primary->dr", "topic": "orders", "partition": "0"}
    assert value(found, "kdrtui_partition_lag_records", **where) == 40
    assert value(found, "kdrtui_partition_lag_seconds", **where, seconds_source="record") == 12.5


def test_a_failed_refresh_keeps_the_figures_counts_and_says_it() -> None:
    reader = FakeReader(plan(), [view()])
    exp = exporter(reader)
    exp.refresh_once()
    reader.fail = RuntimeError("metadata timed out")
    assert exp.refresh_once() is None
    found = samples(exp.registry)
    assert value(found, "kdrtui_refresh_errors_total") == 1
    assert value(found, "kdrtui_refreshes_total") == 2
    assert value(found, "kdrtui_refresh_error_info", error="metadata timed out") == 1
    assert value(found, "kdrtui_flow_lag_records", flow="primary->dr") == 42  # kept, and ageing
    assert value(found, "kdrtui_snapshot_age_seconds") == 5.0


def test_a_failing_hook_does_not_stop_the_others_or_the_exporter() -> None:
    exp = exporter(FakeReader(plan(), [view(), view(refresh=2)]))
    seen: list[int] = []

    def broken(_view: Any) -> None:
        raise RuntimeError("timeline: disk full")

    exp.on_refresh += [broken, lambda v: seen.append(v.refresh)]
    exp.refresh_once()
    exp.refresh_once()
    assert seen == [1, 2]


def test_mirrormaker_states_and_a_node_that_cannot_be_read() -> None:
    class Reader:
        def read(self) -> Any:
            return mirrormaker_read()

        def close(self) -> None:
            pass

    exp = exporter(FakeReader(plan(), [view()]), mirrormaker=Reader())
    got: list[Any] = []
    exp.on_mirrormaker.append(got.append)
    exp.read_mirrormaker_once()
    assert len(got) == 1
    found = samples(exp.registry)
    node = {"node": "dr-edge-1", "deployment": "mm2-dr"}
    assert value(found, "kdrtui_mirrormaker_read_up", node="dr-edge-1") == 1
    assert value(found, "kdrtui_mirrormaker_read_up", node="edge-2") == 0
    assert (
        value(found, "kdrtui_mirrormaker_read_error_info", node="edge-2", error="edge-2: connection refused")
        == 1
    )
    assert value(found, "kdrtui_mirrormaker_state", **node, kdrtui_mirrormaker_state="running") == 1
    assert value(found, "kdrtui_mirrormaker_state", **node, kdrtui_mirrormaker_state="crashed") == 0
    assert value(found, "kdrtui_mirrormaker_uptime_seconds", **node) == 600
    assert value(found, "kdrtui_mirrormaker_failed_tasks", **node) == 1
    task = {**node, "flow": "primary->dr", "task": "MirrorSourceConnector-1"}
    assert value(found, "kdrtui_mm2_task_state", **task, kdrtui_mm2_task_state="FAILED") == 1
    assert value(found, "kdrtui_mm2_tasks_readable", **node, flow="primary->dr") == 1
    assert value(found, "kdrtui_mirrormaker_reads_total") == 1
    # edge-2's deployments are not shown with any state: it was not read.
    assert not [key for key in found if key[0] == "kdrtui_mirrormaker_state" and ("node", "edge-2") in key[1]]


def test_the_last_failover_is_read_from_its_journal(tmp_path: Path) -> None:
    store = RunbookStore("orders-dr", None, root=tmp_path)
    assert last_failover(store) is None
    clock = iter([1000.0, 1000.0, 1010.0, 1042.0, 1050.0])  # the name, run-start, step-start, -end, run-end
    journal = store.new_journal("failover", clock=lambda: next(clock))
    journal.write("run-start", operation="failover", plan="orders-dr")
    journal.write("step-start", step="report")
    journal.write("step-end", step="report", status="done", facts={"rto_seconds": 41.5, "from": "primary"})
    found = last_failover(store)
    assert found is not None
    assert (found.outcome, found.duration_s, found.rto_s) == ("running", None, 41.5)
    journal.write("run-end", outcome="completed")
    found = last_failover(store)
    assert found is not None
    assert (found.operation, found.outcome, found.duration_s, found.source) == (
        "failover",
        "completed",
        50.0,
        "primary",
    )


def test_the_refresh_keeps_its_cadence() -> None:
    exp = Exporter(FakeReader(plan(), [view()]), interval_s=1.0)  # type: ignore[arg-type]
    stamps: list[float] = []
    exp.on_refresh.append(lambda _v: stamps.append(time.monotonic()))
    exp.start()
    try:
        deadline = time.monotonic() + 10
        while len(stamps) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        exp.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(gaps) >= 3 and all(0.8 < gap < 1.3 for gap in gaps), gaps


def get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_the_endpoints() -> None:
    exp = exporter(FakeReader(plan(), [view()]))
    server = MetricsServer(exp, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert get(f"{base}/status.json")[0] == 503
        assert get(f"{base}/healthz")[0] == 503
        exp.refresh_once()
        status, headers, body = get(f"{base}/status.json")
        assert (status, headers["X-Kdrtui-Refresh"], json.loads(body)) == (200, "1", view().to_dict())
        status, headers, text = get(f"{base}/metrics")
        assert status == 200 and "# HELP kdrtui_flow_lag_records" in text
        assert get(f"{base}/nothing")[0] == 404
        asked = urllib.request.Request(f"{base}/metrics", headers={"Accept": "application/openmetrics-text"})
        with urllib.request.urlopen(asked, timeout=5) as response:
            text = response.read().decode()
        assert "# TYPE kdrtui_flow_health stateset" in text and text.endswith("# EOF\n")
    finally:
        server.close()


def test_healthz_fails_when_the_figures_are_stale() -> None:
    exp = Exporter(FakeReader(plan(), [view()]), interval_s=10.0)  # type: ignore[arg-type]
    exp.refresh_once()  # the view was taken at NOW, long ago
    server = MetricsServer(exp, "127.0.0.1", 0)
    try:
        status, _, text = get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        server.close()
    assert status == 503 and "old" in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:9308", ("127.0.0.1", 9308)), ("[::1]:9308", ("::1", 9308)), ("0.0.0.0:0", ("0.0.0.0", 0))],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(("text", "why"), [("9308", "HOST:PORT"), ("host:http", "port"), ("h:70000", "port")])
def test_bad_listen_addresses_say_why(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_listen(text)


def test_no_figure_is_nan_or_negative() -> None:
    exp = exporter(FakeReader(plan(), [view(unreachable=True)]), failover=failover)
    exp.refresh_once()
    for (name, _labels), number in samples(exp.registry).items():
        if name.startswith("kdrtui_"):
            assert not math.isnan(number) and number >= 0, name


def test_scrapes_from_many_threads_see_whole_refreshes() -> None:
    reader = FakeReader(plan(), [view(refresh=i) for i in range(1, 50)])
    exp = exporter(reader)
    exp.refresh_once()
    errors: list[BaseException] = []

    def scrape_a_lot() -> None:
        try:
            for _ in range(30):
                found = samples(exp.registry)
                assert value(found, "kdrtui_flow_lag_records", flow="primary->dr") == 42
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scrape_a_lot) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(20):
        exp.refresh_once()
    for thread in threads:
        thread.join()
    assert not errors


def test_the_exporter_records_into_the_plan_timeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kdrtui.commands.exporter import wire_timeline
    from kdrtui.services.timeline.store import TimelineStore

    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path))

    class Reader:
        def read(self) -> Any:
            return mirrormaker_read()

        def close(self) -> None:
            pass

    sample = plan()
    now = view()
    now = replace(now, snapshot=replace(now.snapshot, taken_at=time.time()))  # inside the retention
    exp = exporter(FakeReader(sample, [now]), mirrormaker=Reader())
    wire_timeline(exp, sample, None)
    exp.refresh_once()
    exp.read_mirrormaker_once()
    store = TimelineStore.for_plan(sample.plan.name, None)
    try:
        (minute,) = store.lag_minutes("primary->dr", since=0)
        assert (minute.last_records, minute.health) == (42, "WARN")
        ssh = [e for e in store.events() if e.subject == "edge-2"]
        assert ssh and all(e.source == "exporter" for e in ssh)
    finally:
        store.close()


def test_a_timeline_that_cannot_be_opened_does_not_stop_the_exporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kdrtui.commands.exporter import wire_timeline

    monkeypatch.setenv("KDRTUI_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("KDRTUI_TIMELINE_RETENTION_DAYS", "forever")
    exp = exporter(FakeReader(plan(), [view()]))
    wire_timeline(exp, plan(), None)
    assert exp.on_refresh == []
    assert exp.refresh_once() is not None


def test_unreadable_journals_do_not_fail_the_refresh() -> None:
    calls = iter([failover()])

    def flaky() -> Any:
        return next(calls)  # StopIteration the second time: a journal that cannot be read

    exp = exporter(FakeReader(plan(), [view(), view(refresh=2)]), failover=flaky)
    exp.refresh_once()
    assert exp.refresh_once() is not None
    found = samples(exp.registry)
    assert value(found, "kdrtui_refresh_errors_total") == 0
    run = {"operation": "failover", "run": "20261203T120000Z-failover-ab12"}
    assert value(found, "kdrtui_last_failover_rto_seconds", **run) == 35.5  # as last known


def test_the_automation_policy_families() -> None:
    from prometheus_client.core import Metric

    from kdrtui.services.observe.collector import automation_families

    def families(block: dict[str, Any]) -> dict[str, Metric]:
        return {m.name: m for m in automation_families({"automation": block})}

    off = families({"enabled": False})
    assert set(off) == {"kdrtui_automation_enabled"}
    assert off["kdrtui_automation_enabled"].samples[0].value == 0

    def state_of(found: dict[str, Metric]) -> list[str]:
        samples = found["kdrtui_automation_state"].samples
        return [s.labels["kdrtui_automation_state"] for s in samples if s.value]

    live = families({"enabled": True, "state": "holding", "running": True, "last_failover": None})
    assert state_of(live) == ["holding"]
    assert live["kdrtui_automation_unacknowledged"].samples[0].value == 0
    stopped = families(
        {"enabled": True, "state": "armed", "running": False, "last_failover": {"acknowledged": False}}
    )
    assert state_of(stopped) == ["not-running"]
    assert stopped["kdrtui_automation_unacknowledged"].samples[0].value == 1
