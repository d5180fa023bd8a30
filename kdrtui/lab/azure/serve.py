"""The emulator process: ``python -m kdrtui.lab.azure serve --home H`` (settings from ``emulator.json``).

On start it loads ``state.json`` and brings back what its resources stand for: the brokers of
Running clusters (unless Ambari stopped them) and the edge nodes of installed applications, when
they are down; deletions and creations in progress carry on.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from kdrtui.lab.azure.certs import ensure_certificates
from kdrtui.lab.azure.cloud import Cloud
from kdrtui.lab.azure.lifecycle import begin_cluster_delete, start_ticking
from kdrtui.lab.azure.runtime import Runtime
from kdrtui.lab.azure.server import EmulatorServer
from kdrtui.lab.azure.state import Store


def recover(cloud: Cloud) -> None:
    """Restart the brokers and edge nodes the saved resources stand for (reusing running ones)."""
    runtime = cloud.runtime
    with cloud.store.lock:
        for cluster in cloud.store.of_kind("cluster"):
            props, private = cluster["properties"], cluster["private"]
            state = props["provisioningState"]
            if state == "Deleting":
                props["provisioningState"] = "Succeeded"  # so the deletion starts over
                begin_cluster_delete(cloud, cluster)
            elif (
                private.get("kafka")
                and private.get("kafka_state") == "STARTED"
                and (state == "Succeeded" or (state == "InProgress" and private.get("broker_requested")))
            ):
                runtime.start_broker(cluster["name"], private["slot"], cluster["location"])
        for app in cloud.store.of_kind("application"):
            cluster_name = app["private"]["cluster"]
            if app["properties"]["provisioningState"] in ("Succeeded", "InProgress"):
                runtime.start_edge(app["name"], cluster_name, app["private"]["slot"])
            elif app["properties"]["provisioningState"] == "Deleting":
                runtime.stop_edge(app["name"], cluster_name, app["private"]["slot"], purge=True)


def serve(home: Path) -> None:
    """Serve until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = json.loads((home / "emulator.json").read_text(encoding="utf-8"))
    _ca, cert = ensure_certificates(home)
    runtime = Runtime(
        home,
        kafka_version=config["kafka_version"],
        port_base=config["port_base"],
        edge_port_base=config["edge_port_base"],
        edge_backend=config.get("edge_backend"),
        aliases=config.get("aliases", {}),
    )
    cloud = Cloud(home, Store(home / "state.json"), runtime, step_seconds=config["step_seconds"])
    port = int(config["port"])
    server = EmulatorServer(cloud, port, cert)
    cloud.base_url, cloud.port = f"https://127.0.0.1:{port}", port
    recover(cloud)
    ticking_done = threading.Event()
    start_ticking(cloud, ticking_done)

    def stop(signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger(__name__).info("serving https://127.0.0.1:%d from %s", port, home)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        ticking_done.set()
        with cloud.store.lock:
            cloud.store.save()
            cloud.gates.close()
        runtime.shutdown()
        server.server_close()
