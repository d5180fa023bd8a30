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

from kdrtui.domain.plan import Plan, PlanInvalid, PlanProblem, parse_plan, plan_to_toml
from kdrtui.domain.safe_text import escape, shown
from kdrtui.domain.wizard import WizardAnswers, build_plan, plan_toml


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
        return parse_plan(text, named)
    raise PlanInvalid(escape(named), [PlanProblem(escape(named), 0, "file", problem)])


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
