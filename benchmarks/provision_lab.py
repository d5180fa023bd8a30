"""Time a full lab provisioning: two HDInsight Kafka clusters, an edge node and MirrorMaker, through the
real Azure SDK clients against the lab's HTTPS Azure emulator.

    .venv/bin/python benchmarks/provision_lab.py [--azure-port 18743] [--step-seconds 1]

Starts an emulator of its own (temporary home, its own ports: the developer's lab is left alone), runs
``Provisioning`` on its plan, prints every step's seconds and the total, then destroys what it made and
stops the emulator. ``--step-seconds`` is the emulator's time per cluster state (its default is 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--azure-port", type=int, default=18743)
    parser.add_argument("--port-base", type=int, default=19792)
    parser.add_argument("--edge-port-base", type=int, default=12732)
    parser.add_argument("--step-seconds", type=float, default=None)
    args = parser.parse_args()

    from kdrtui.lab.azure.emulator import AzureEmulator
    from kdrtui.services.azure.destroy import Destroy
    from kdrtui.services.azure.provision import Provisioning
    from kdrtui.services.plan_files import load_plan
    from kdrtui.services.runbook.store import RunbookStore

    os.environ.pop("KDRTUI_LAB_LOGIN_PASSWORD", None)
    with tempfile.TemporaryDirectory(prefix="kdrtui-provision-bench-") as tmp:
        home, state = Path(tmp) / "azure", Path(tmp) / "state"
        emulator = AzureEmulator(
            home, args.azure_port, args.port_base, args.edge_port_base, step_seconds=args.step_seconds
        )
        emulator.up()
        try:
            plan = load_plan(emulator.plan_path)
            store = RunbookStore(plan.plan.name, emulator.plan_path, state)
            started = time.monotonic()
            result = asyncio.run(Provisioning(plan, emulator.plan_path, store=store).run())
            total = time.monotonic() - started
            print(f"provisioning {result.outcome} (emulator: {emulator.step_seconds:g} s per cluster state)")
            for record in result.state.steps.values():
                seconds = f"{record.seconds:6.1f} s" if record.seconds is not None else "     -"
                print(f"  {record.key:<16} {record.status!s:<8} {seconds}")
            print(f"total: {total:.1f} s (target <= 90 s)")
            if result.outcome != "completed":
                print(f"error: {result.error}")
            asyncio.run(Destroy(load_plan(emulator.plan_path), emulator.plan_path, store=store).run())
        finally:
            emulator.down()
    sys.exit(0 if result.outcome == "completed" and total <= 90 else 1)


if __name__ == "__main__":
    main()
