"""A plan's own directory in the state dir: ``<state_dir>/runbooks/<plan name>-<hash of the plan file's
path>/``, where its runbook journals, DR state and timeline live (two plans with one name in different
files never share it)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from kdrtui import settings


def plan_dir(plan_name: str, plan_path: Path | None, root: Path | None = None) -> Path:
    """The directory of the plan called ``plan_name`` read from ``plan_path`` (``root``: the state dir)."""
    base = root if root is not None else settings.state_dir()
    where = str(plan_path.resolve()) if plan_path is not None else plan_name
    digest = hashlib.sha1(where.encode()).hexdigest()[:8]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", plan_name)[:48] or "plan"
    return base / "runbooks" / f"{safe}-{digest}"
