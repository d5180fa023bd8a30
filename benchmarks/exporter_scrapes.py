"""``kdrtui exporter`` under concurrent scrapes: scrape latency, and whether the refresh keeps its schedule.

    .venv/bin/python benchmarks/exporter_scrapes.py [--plan lab] [--threads 8] [--seconds 12] [--interval 2]

Needs a running lab (`kdrtui lab up`; MirrorMaker running makes the figures fuller but is not needed). Starts
the exporter on a port the system chooses, scrapes ``/metrics`` alone 20 times, then from ``--threads``
threads as fast as they can for ``--seconds``, and prints: the scrapes, their latency (median, p99, max),
the refreshes done in the window against the schedule's (a scrape must never add one), the gaps between
the refreshes' figures (the schedule is ``--interval``), and the refresh's own duration before and under
load. Stops the exporter with SIGTERM and prints how long it took to exit.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

KDRTUI = str(Path(sys.executable).with_name("kdrtui"))


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def sample(text: str, name: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and not s.labels:
                return float(s.value)
    return None


def start(plan: str, interval: float, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    args = [KDRTUI, "exporter", "--plan", plan, "--listen", "127.0.0.1:0", "--interval", str(interval)]
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", log.read_text())
        if found:
            base = f"http://127.0.0.1:{found.group(1)}"
            while time.monotonic() < deadline:  # its first refresh done: /healthz answers 200
                try:
                    get(f"{base}/healthz")
                    return process, base
                except OSError:
                    time.sleep(0.2)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the exporter did not start:\n{log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", default="lab")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kdrtui-exporter-bench-") as tmp:
        process, base = start(args.plan, args.interval, Path(tmp) / "exporter.log")
        try:
            alone = []
            for _ in range(20):
                began = time.perf_counter()
                size = len(get(f"{base}/metrics"))
                alone.append(time.perf_counter() - began)
            before = get(f"{base}/metrics")
            stamps: dict[float, float] = {}
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            stop = time.monotonic() + args.seconds

            def hammer() -> None:
                while time.monotonic() < stop:
                    began = time.perf_counter()
                    try:
                        text = get(f"{base}/metrics")
                    except OSError as exc:
                        with lock:
                            errors.append(str(exc))
                        continue
                    took = time.perf_counter() - began
                    count = sample(text, "kdrtui_refreshes_total")
                    taken = sample(text, "kdrtui_snapshot_timestamp_seconds")
                    with lock:
                        latencies.append(took)
                        if count is not None and taken is not None:
                            stamps[count] = taken

            threads = [threading.Thread(target=hammer) for _ in range(args.threads)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            after = get(f"{base}/metrics")
            first, last = sample(before, "kdrtui_refreshes_total"), sample(after, "kdrtui_refreshes_total")
            taken = [stamps[n] for n in sorted(stamps)]
            gaps = [b - a for a, b in itertools.pairwise(taken)]
            ordered = sorted(latencies)
            print(f"one scrape alone ({size:,} bytes): median {statistics.median(alone) * 1000:.1f} ms of 20")
            print(
                f"{len(latencies):,} scrapes by {args.threads} threads in {args.seconds:.0f} s "
                f"({len(errors)} failed): latency median {statistics.median(ordered) * 1000:.1f} ms, "
                f"p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
            )
            if first is not None and last is not None:
                print(
                    f"refreshes in the window: {last - first:.0f} "
                    f"(the schedule's: {args.seconds / args.interval:.0f} ± 1; a scrape adds none)"
                )
            if gaps:
                print(
                    f"gaps between refreshes: {min(gaps):.2f}-{max(gaps):.2f} s "
                    f"(schedule {args.interval:.2f} s)"
                )
            print(
                "refresh duration: "
                f"{sample(before, 'kdrtui_refresh_duration_seconds') or 0:.3f} s before, "
                f"{sample(after, 'kdrtui_refresh_duration_seconds') or 0:.3f} s under load"
            )
        finally:
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(30)
            print(f"SIGTERM: exited {code} after {time.monotonic() - signalled:.2f} s")


if __name__ == "__main__":
    main()
