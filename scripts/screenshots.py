"""Pictures of every pane of the console for the README, taken from the real console on the lab.

    .venv/bin/python scripts/screenshots.py [--reuse-lab] [--keep-lab] [--panes overview,lag] [--no-incident]
    make screenshots [SCREENSHOTS_ARGS="--reuse-lab"]

Brings the lab up (``kdrtui lab up``: two Kafka clusters and the SSH edge node; running parts are reused),
starts the traffic generator (4 topics of three partitions with the brokers' default replication factor,
20 records/s) and MirrorMaker 2 when they do not run, and the lab's Azure emulator (``kdrtui lab up
--azure``: one small HTTPS server, no broker) for the Provisioning pane's dry run. Then it runs the
console itself (``make_app`` on the lab's plan, as ``kdrtui --plan lab`` does) headless at 80x24, waits
until the Mirror lag pane shows the traffic mirrored, presses each pane's key, waits (with a deadline)
until the pane shows live figures read since (clusters UP and a readiness check, every topic OK with a
trend, MirrorMaker's tasks running and its log, the pre-flight's verdict...), and saves what the terminal
shows as ``docs/images/<pane>.svg`` (Textual's SVG screenshot).

Before the Timeline's picture it plays a short real incident from the console (unless
``--no-incident``): MirrorMaker stopped from the Edge pane until the Mirror lag pane shows the flow
unhealthy, then started again until it is OK, so the timeline has events and a lag peak to show. Nothing
else changes on the lab: no failover is started (the Failover pane shows its pre-flight) and nothing is
provisioned (the Provisioning pane shows its dry run of the lab-azure plan).

The panes are those of the console's mode bar (:data:`kdrtui.tui.widgets.mode_bar.MODE_TABS`), so a pane
added there gets its picture too (:mod:`scripts.screenshot_panes` says what each known one waits for).
80x24 is the size the console is built for (every pane fits it) and what an on-call engineer's smallest
terminal shows; a README scales an image to its column, so 80 columns also give larger letters than 100
or 120 would.

Afterwards the lab (or the part of it this script started) is taken down again unless ``--keep-lab``;
with ``--reuse-lab`` the running lab is used and left running (with the traffic and MirrorMaker; only an
emulator this script started is stopped). Every image is checked for the lab's
secrets (its users' passwords, the Azure emulator's login password, every password the plans name by
environment variable) and a private key: one found fails the run and the image is deleted. Prints one
line per pane with the seconds it took to be ready.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts import screenshot_panes
from scripts.screenshot_panes import (
    TRAFFIC_PARTITIONS,
    TRAFFIC_TOPICS,
    Pane,
    incident,
    mode,
    panes,
    show,
    svg_text,
)

ROOT = Path(__file__).resolve().parents[1]
"""The repository."""

IMAGES = ROOT / "docs" / "images"
"""Where the pictures go (the README links ``docs/images/<pane>.svg``)."""
DEFAULT_SIZE = (80, 24)
"""The console's design size: every pane fits it, and the README shows it largest."""
READY_TIMEOUT_S = 120.0
"""How long a pane may take to show live figures (MirrorMaker's first checkpoints take the longest)."""
TRAFFIC = (
    *("--topics", str(len(TRAFFIC_TOPICS)), "--partitions", str(TRAFFIC_PARTITIONS), "--rate", "20"),
    *("--prefix", "orders", "--groups-per-topic", "1"),
)
"""The traffic the pictures show: four topics of three partitions, 20 records/s, a committing group each."""
LAB_OPTIONS = {
    "--brokers": "Brokers per cluster, when this starts the lab (the README's pictures: 3, like HDInsight).",
    "--primary-port": "primary's client port, when this starts the lab.",
    "--dr-port": "dr's client port, when this starts the lab.",
    "--edge-port": "The SSH edge node's port, when this starts the lab.",
    "--azure-port": "The Azure emulator's HTTPS port, when this starts it.",
    "--broker-base-port": "The Azure emulator's first broker port, when this starts it.",
    "--edge-base-port": "The Azure emulator's first edge node port, when this starts it.",
}
"""Options passed on to ``kdrtui lab up`` (the plain lab's or, with --azure, the emulator's)."""
PLAIN_LAB = ("--brokers", "--primary-port", "--dr-port", "--edge-port")
"""The :data:`LAB_OPTIONS` of the plain lab; the others are the emulator's."""
PRIVATE_KEY = "PRIVATE KEY-----"
"""Part of every PEM private key's armour: never in a picture."""


# -- the lab ----------------------------------------------------------------------------------------


def kdrtui(*args: str) -> None:
    """Run one ``kdrtui`` command (this checkout's), failing the script when it fails."""
    print("$ kdrtui " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "kdrtui", *args], check=True, cwd=ROOT)


@dataclass
class Started:
    """What this script started, so it stops only that."""

    lab: bool = False
    emulator: bool = False


def prepare_lab(reuse: bool, lab_args: Sequence[str], azure_args: Sequence[str], *, azure: bool) -> Started:
    """Bring up what the pictures need (``azure``: the emulator too); return what was started here."""
    from kdrtui.lab.azure.emulator import AzureEmulator
    from kdrtui.lab.lab import Lab

    started = Started()
    lab_up = Lab().status(topics=False).all_up
    if reuse and not lab_up:
        raise SystemExit("screenshots: --reuse-lab, but the lab is not up (start it with `kdrtui lab up`)")
    if not lab_up:
        kdrtui("lab", "up", *lab_args)
        started.lab = True
    traffic = Lab().traffic.status()
    if not traffic.running:
        kdrtui("lab", "traffic", *TRAFFIC, "--background")
    elif (args := traffic.args or {}).get("prefix") and args.get("topics"):
        topics = [f"{args['prefix']}-{i}" for i in range(int(args["topics"]))]
        screenshot_panes.watched_topics[:] = topics
        print(f"traffic: already running, to {', '.join(topics)}", flush=True)
    kdrtui("mm", "start", "--plan", "lab")
    if azure and AzureEmulator().running_pid() is None:
        kdrtui("lab", "up", "--azure", *azure_args)
        started.emulator = True
    return started


def take_down(started: Started) -> None:
    """Stop what :func:`prepare_lab` started."""
    from kdrtui.lab.azure.emulator import AzureEmulator

    if started.lab:
        kdrtui("lab", "down")  # the emulator too
    elif started.emulator:
        AzureEmulator().down()


# -- the pictures ---------------------------------------------------------------------------------


def secrets() -> list[str]:
    """What must never be in a picture: the lab's passwords and those the plans name by environment
    variable (6 characters or more: shorter ones would match ordinary text)."""
    from kdrtui import settings

    found = [p.read_text(encoding="utf-8").strip() for p in settings.lab_dir().glob("security/*.password")]
    password_file = settings.lab_azure_dir() / "login-password"
    if password_file.is_file():
        found.append(password_file.read_text(encoding="utf-8").strip())
    for plan in (settings.lab_plan_path(), settings.lab_azure_plan_path()):
        if plan.is_file():
            for name in re.findall(
                r'_env\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"', plan.read_text(encoding="utf-8")
            ):
                found.append(os.environ.get(name, ""))
    return [s for s in found if len(s) >= 6]


def check_secrets(path: Path, svg: str, wanted: Sequence[str]) -> None:
    """Delete ``path`` and fail when its picture shows a secret or a private key."""
    text = svg_text(svg)
    leaked = [f"{s[:3]}…" for s in wanted if s in text or s in svg]
    if PRIVATE_KEY in text:
        leaked.append("a private key")
    if leaked:
        path.unlink(missing_ok=True)
        raise SystemExit(f"screenshots: {path.name} showed {', '.join(leaked)}; deleted it")


async def shoot(
    plan_arg: str,
    wanted: Sequence[Pane],
    size: tuple[int, int],
    out: Path,
    timeout: float,
    *,
    steady: bool,
    play_incident: bool = False,
) -> None:
    """Run the console on a plan (as ``kdrtui --plan <plan_arg>`` does), show each pane, wait until it is
    ready, save its picture. ``steady``: first wait until the Mirror lag pane shows the traffic mirrored,
    so that every picture shows the lab in its steady state (the Overview is the first one taken).
    ``play_incident``: play :func:`incident` before the Timeline's picture, so that it has events to show."""
    from kdrtui.services.plan_files import load_plan
    from kdrtui.settings import resolve_plan
    from kdrtui.tui.app import make_app
    from kdrtui.tui.factories import readiness_check

    path = resolve_plan(plan_arg)
    assert path is not None
    app = make_app(load_plan(path), path, readiness_check=readiness_check)
    hidden = secrets()
    async with app.run_test(size=size) as pilot:
        if steady:
            began = time.monotonic()
            await show(pilot, mode("lag"), size, timeout)
            print(f"{'(steady)':<12} the traffic mirrored in {time.monotonic() - began:.1f} s", flush=True)
        for pane in wanted:
            ready = None
            if pane.mode == "timeline" and play_incident:
                began = time.monotonic()
                ready = await incident(pilot, size, timeout)
                print(
                    f"{'(incident)':<12} MirrorMaker stopped and started in {time.monotonic() - began:.1f} s"
                )
            began = time.monotonic()
            await show(pilot, pane, size, timeout, ready)
            await pilot.pause()
            svg = app.export_screenshot(title=f"kdrtui — {pane.label}")
            target = out / f"{pane.mode}.svg"
            target.write_text(svg, encoding="utf-8")
            check_secrets(target, svg, hidden)
            took = time.monotonic() - began
            print(f"{pane.label:<12} {target.relative_to(ROOT)}  ready in {took:.1f} s", flush=True)


def parse_size(text: str) -> tuple[int, int]:
    """``80x24`` -> (80, 24)."""
    try:
        width, height = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r}: expected COLUMNSxROWS, e.g. 80x24") from None
    if width < 80 or height < 24:
        raise argparse.ArgumentTypeError(f"--size {text}: the console needs at least 80x24")
    return width, height


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse-lab", action="store_true", help="Use the running lab; leave it running.")
    parser.add_argument("--keep-lab", action="store_true", help="Leave the lab up afterwards.")
    parser.add_argument(
        "--no-incident",
        action="store_true",
        help="Do not stop and restart MirrorMaker before the Timeline's picture (it then shows what the "
        "timeline already holds).",
    )
    parser.add_argument("--panes", help="Comma-separated mode names (default: every pane of the mode bar).")
    parser.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, help="COLUMNSxROWS [80x24].")
    parser.add_argument("--timeout", type=float, default=READY_TIMEOUT_S, help="Seconds per pane [120].")
    for option, what in LAB_OPTIONS.items():
        parser.add_argument(option, type=int, metavar="N", help=what)
    args = parser.parse_args(argv)
    known = panes()
    chosen = known
    if args.panes:
        names = [n.strip() for n in args.panes.split(",") if n.strip()]
        unknown = [n for n in names if n not in {p.mode for p in known}]
        if unknown:
            parser.error(f"--panes: no pane {', '.join(unknown)}; panes: {', '.join(p.mode for p in known)}")
        chosen = [p for p in known if p.mode in names]
    given = {o: getattr(args, o[2:].replace("-", "_")) for o in LAB_OPTIONS}
    lab_args = [a for o, v in given.items() if v is not None and o in PLAIN_LAB for a in (o, str(v))]
    azure_args = [a for o, v in given.items() if v is not None and o not in PLAIN_LAB for a in (o, str(v))]

    from kdrtui.logging_setup import log_to_file

    log_to_file()
    IMAGES.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    azure_panes = [p for p in chosen if p.mode == "provisioning"]
    started = prepare_lab(args.reuse_lab, lab_args, azure_args, azure=bool(azure_panes))
    try:
        lab_panes = [p for p in chosen if p.mode != "provisioning"]
        if lab_panes:
            incident = not args.no_incident
            asyncio.run(
                shoot("lab", lab_panes, args.size, IMAGES, args.timeout, steady=True, play_incident=incident)
            )
        if azure_panes:
            asyncio.run(shoot("lab-azure", azure_panes, args.size, IMAGES, args.timeout, steady=False))
    finally:
        if not args.keep_lab:
            take_down(started)
    print(f"screenshots: {len(chosen)} pictures in {time.monotonic() - began:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
