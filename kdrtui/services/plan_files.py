"""Plan files on disk: reading one, and writing one atomically.

Everything about a plan's text is pure and lives in :mod:`kdrtui.domain.plan` (:func:`parse_plan`,
:func:`plan_to_toml`) and :mod:`kdrtui.domain.wizard` (:func:`plan_toml`); this module only moves that text
to and from files. A write goes to a temporary file beside the target, is flushed to disk (fsync), then
renamed over it: a reader never sees half a plan, and a crash leaves the old one or the new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kdrtui.domain.plan import Plan, PlanInvalid, PlanProblem, locate_problems, parse_plan, plan_to_toml
from kdrtui.domain.plan_problems import Found
from kdrtui.domain.safe_text import escape, shown
from kdrtui.domain.security import FILE_KEYS
from kdrtui.domain.wizard import WizardAnswers, build_plan, plan_toml
from kdrtui.services.kafka.security import use_plan

REGION_ENV = "KDRTUI_REGION"
"""Where kdrtui's own clients sit: a region (``westus2``) or a cluster's alias (its region). Set, the plans
kdrtui loads reach the clusters of other regions through their ``remote_bootstrap_servers`` (the lab's
WAN proxy); unset, through ``bootstrap_servers``."""


def load_plan(path: str | Path) -> Plan:
    """Read the plan file at ``path``; raise :class:`PlanInvalid` listing every problem (and nothing else)."""
    named = os.fspath(path)
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such file; write one (see the README's 'The DR plan file') or run 'kdrtui lab up'"
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        problem = shown(exc.strerror or str(exc), 200)
    except ValueError as exc:  # a path with a NUL character in it
        problem = shown(str(exc), 200)
    else:
        plan = parse_plan(text, named)
        if region := os.environ.get(REGION_ENV, "").strip():
            plan = plan.seen_from(region)
        found = unreadable_files(plan)
        if found:
            raise PlanInvalid(escape(named), locate_problems(text, named, found))
        # Every Kafka client kdrtui builds from now on connects to this plan's clusters as it says.
        use_plan(plan)
        return plan
    raise PlanInvalid(escape(named), [PlanProblem(escape(named), 0, "file", problem)])


def unreadable_files(plan: Plan) -> Found:
    """(key, why) for each file a cluster's ``[security]`` table names that kdrtui cannot read."""
    found: Found = []
    for alias, cluster in plan.clusters.items():
        security = cluster.security
        if security is None:
            continue
        for key in FILE_KEYS:
            name = getattr(security, key)
            if name is None:
                continue
            why = _unreadable(Path(name).expanduser())
            if why is not None:
                found.append((("clusters", alias, "security", key), f"{shown(name, 200)}: {why}"))
    return found


def _unreadable(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        return "no such file"
    except IsADirectoryError:
        return "a directory, not a file"
    except PermissionError:
        return "kdrtui may not read it (permission denied)"
    except (OSError, ValueError) as exc:
        return shown(getattr(exc, "strerror", None) or str(exc), 200)
    return None


def save_plan(plan: Plan, path: str | Path) -> None:
    """Write the plan to ``path`` atomically: a temporary file beside it, then a rename."""
    write_plan_text(plan_to_toml(plan), path)


def write_plan_text(text: str, path: str | Path) -> None:
    """Write plan file ``text`` to ``path`` atomically: a temporary file beside it, then a rename."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(answers: WizardAnswers, path: str | Path, *, force: bool = False) -> Plan:
    """Write the plan the wizard's answers make to ``path`` atomically; raise PlanInvalid, or
    FileExistsError unless ``force``."""
    text = plan_toml(answers)
    plan = build_plan(answers)
    target = Path(path).expanduser()
    if target.exists() and not force:
        raise FileExistsError(f"{path} already exists; use another name or overwrite it (--force)")
    write_plan_text(text, target)
    return plan
