"""Where kdrtui keeps its files.

Nothing here touches the disk at import time: every function computes a path, and the callers
create directories when they first write there. Environment variables override each location so that
tests and the demo can run side by side with a user's own lab.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "kdrtui"

#: Plan names that select a plan written by the lab rather than a file path.
LAB_PLAN_ALIASES = ("lab", "lab-azure")


def cache_dir() -> Path:
    """Downloaded artefacts (Kafka jars). ``KDRTUI_CACHE_DIR`` overrides it."""
    env = os.environ.get("KDRTUI_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir(APP_NAME))


def state_dir() -> Path:
    """Journals, logs and the lab's state. ``KDRTUI_STATE_DIR`` overrides it."""
    env = os.environ.get("KDRTUI_STATE_DIR")
    return Path(env) if env else Path(platformdirs.user_state_dir(APP_NAME))


def lab_dir() -> Path:
    """The rehearsal lab's data, pid files and plan. ``KDRTUI_LAB_DIR`` overrides it."""
    env = os.environ.get("KDRTUI_LAB_DIR")
    return Path(env) if env else state_dir() / "lab"


def lab_plan_path() -> Path:
    """The DR plan file that ``kdrtui lab up`` writes."""
    return lab_dir() / "plan.toml"


def lab_azure_dir() -> Path:
    """The lab's Azure emulator: its state, certificates and plan (``<lab>/azure``)."""
    return lab_dir() / "azure"


def lab_azure_plan_path() -> Path:
    """The plan that ``kdrtui lab up --azure`` writes (provisioned through the emulator)."""
    return lab_azure_dir() / "plan.toml"


def log_file() -> Path:
    """The console's log file (librdkafka and kdrtui messages never go to the terminal)."""
    return state_dir() / "kdrtui.log"


def resolve_plan(arg: str | os.PathLike[str] | None) -> Path | None:
    """Turn a ``--plan`` argument into a path.

    ``lab`` names the lab's plan, ``lab-azure`` the lab emulator's; anything else is a file path. With
    no argument, ``KDRTUI_PLAN`` is used if set, otherwise ``None`` (the caller decides what "no plan"
    means).
    """
    if arg is None:
        arg = os.environ.get("KDRTUI_PLAN") or None
        if arg is None:
            return None
    text = os.fspath(arg)
    if text == "lab":
        return lab_plan_path()
    if text == "lab-azure":
        return lab_azure_plan_path()
    return Path(text).expanduser()
