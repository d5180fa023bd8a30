"""Where a plan's runbook files live: journals, the DR state (which cluster is active), the audit log.

Per plan: ``<state_dir>/runbooks/<plan name>-<hash of the plan file's path>/`` holding

- ``journal-<run id>.jsonl``: one JSON object per line, appended and fsynced, never rewritten;
- ``state.json``: the active cluster and what the last failover changed (written atomically).

The audit log ``<state_dir>/audit.log`` (JSON lines) is shared by every plan: who did what, when, and how
it ended. Secrets never go into any of them: only names, offsets, counts and times.
"""

from __future__ import annotations

import getpass
import json
import os
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdrtui import settings
from kdrtui.domain.runbook import RunState, replay
from kdrtui.services.runbook.lock import PlanLock
from kdrtui.services.runbook.plan_dir import plan_dir
from kdrtui.services.timeline.journal import record_journal_entry


def _append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line and fsync it (the entry is on disk when this returns).

    After a crash mid-write the file ends with a cut line: the entry starts on a new line, so it is not
    glued to (and lost with) the cut one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True, default=str) + "\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of ``path`` (a line cut by a crash mid-write is ignored)."""
    entries: list[dict[str, Any]] = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return entries
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            entries.append(value)
    return entries


def journal_operation(path: Path) -> str:
    """The operation in a journal's file name (``journal-<stamp>-<operation>-<random>.jsonl``)."""
    parts = path.stem.split("-")
    return "-".join(parts[2:-1])


class Journal:
    """An append-only, fsynced JSON-lines journal of one runbook run (and its resumes)."""

    def __init__(self, path: Path, clock: Any = time.time) -> None:
        self.path = path
        self._clock = clock

    @property
    def run_id(self) -> str:
        return self.path.stem.removeprefix("journal-")

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append ``{"event": event, "at": now, **fields}``."""
        entry = {"event": event, "at": round(self._clock(), 3), "run": self.run_id, **fields}
        _append_line(self.path, entry)
        record_journal_entry(self.path, entry)  # best effort: never fails the runbook
        return entry

    def entries(self) -> list[dict[str, Any]]:
        return read_lines(self.path)

    def state(self) -> RunState:
        return replay(self.entries())


@dataclass
class DrState:
    """Which cluster clients use now, and what the last failover changed that failback must undo."""

    active: str
    since: float | None = None
    operation: str | None = None
    """The runbook that made ``active`` active (``failover``/``failback``), None when never switched."""
    fenced: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cluster alias -> what fencing it replaced: ``method``, per-topic previous values (``topics``), and
    for an ACL fence exactly the DENY bindings it added (``bindings``, :meth:`AclRule.to_dict` each); an
    NSG fence's record under ``nsg`` (the NSG, ``created``, its ``rules``; ``method`` "nsg" when it is the
    only fence)."""
    reverse_flow: str | None = None
    """The ``source->target`` flow started by the last failover's reverse replication."""
    run: str | None = None
    """The run (journal id) that made ``active`` active: a resumed run knows the switch was its own."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "since": self.since,
            "operation": self.operation,
            "fenced": self.fenced,
            "reverse_flow": self.reverse_flow,
            "run": self.run,
        }


STATE_OPERATIONS = ("failover", "failback", "rollback")
"""The runbooks that write the DR state."""
FENCE_METHODS = ("reject-writes", "acl", "acls", "nsg")
"""What a ``fenced`` entry may say it did (``acls``: an ACL fence recorded before ``acl`` kept its
bindings)."""


class StateInvalid(ValueError):
    """``state.json`` cannot be trusted: every problem as ``state.json: field: message``."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(
            f"DR state unreadable ({path}): " + "; ".join(f"state.json: {p}" for p in problems[:5])
        )

    @property
    def repair(self) -> str:
        """How to put it right."""
        return (
            "the journals hold the truth: `kdrtui state rebuild --plan PLAN --dry-run` shows the state they "
            "give, `kdrtui state rebuild --plan PLAN` writes it"
        )


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _binding_problems(where: str, bindings: object) -> list[str]:
    """What is wrong with an ACL fence's ``bindings`` (the DENY bindings it added, for failback to delete)."""
    from kdrtui.domain.acl_fence import AclRule

    if not isinstance(bindings, list):
        return [f"{where}.bindings: must be a list of ACL bindings, not {type(bindings).__name__}"]
    for n, item in enumerate(bindings):
        try:
            AclRule.from_dict(item)
        except ValueError as exc:
            return [f"{where}.bindings[{n}]: {exc}"]
    return []


def _nsg_problems(where: str, nsg: object) -> list[str]:
    """What is wrong with an NSG fence's record (the NSG, whether the fence created it, its rule names)."""
    if not isinstance(nsg, dict):
        return [f"{where}.nsg: must be an object (the NSG fence's record), not {type(nsg).__name__}"]
    rules = nsg.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, str) and r for r in rules):
        return [f"{where}.nsg.rules: must be a list of security rule names"]
    if not isinstance(nsg.get("nsg", ""), str) or not isinstance(nsg.get("created", False), bool):
        return [f"{where}.nsg: nsg must be the NSG's name and created true or false"]
    return []


def parse_state(text: str, clusters: Collection[str] | None = None) -> DrState:
    """Read ``state.json``'s text; raise :class:`StateInvalid` (as ``field: message``) on anything that is
    not a DR state this version wrote, naming an unknown cluster when ``clusters`` are given."""
    from kdrtui.domain.safe_text import quoted, shown

    def echo(value: object, limit: int) -> str:
        return quoted(value, limit) if isinstance(value, str) else shown(repr(value), limit)

    problems: list[str] = []
    try:
        raw: Any = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise StateInvalid(Path("state.json"), [f"not JSON ({echo(str(exc), 80)})"]) from None
    if not isinstance(raw, dict):
        raise StateInvalid(Path("state.json"), [f"must be a JSON object, not {type(raw).__name__}"])
    known = ("active", "since", "operation", "fenced", "reverse_flow", "run")
    problems += [f"{shown(str(key), 40)}: unknown key" for key in raw if key not in known]

    def alias(field_name: str, value: object) -> str | None:
        if not isinstance(value, str) or not value:
            problems.append(f"{field_name}: must be a cluster alias (a string), not {echo(value, 40)}")
            return None
        if clusters is not None and value not in clusters:
            problems.append(
                f"{field_name}: unknown cluster {echo(value, 40)}; the plan's clusters are: "
                + ", ".join(sorted(clusters))
            )
            return None
        return value

    active = alias("active", raw.get("active"))
    since = raw.get("since")
    if since is not None and not _number(since):
        problems.append(f"since: must be a time (epoch seconds) or null, not {echo(since, 40)}")
    operation = raw.get("operation")
    if operation is not None and operation not in STATE_OPERATIONS:
        problems.append(
            f"operation: must be one of {', '.join(STATE_OPERATIONS)} or null, not {echo(operation, 40)}"
        )
    fenced_raw = raw.get("fenced", {})
    fenced: dict[str, dict[str, Any]] = {}
    if not isinstance(fenced_raw, dict):
        problems.append(f"fenced: must be an object (cluster -> fence), not {type(fenced_raw).__name__}")
    else:
        for who, record in fenced_raw.items():
            where = f"fenced.{shown(str(who), 40)}"
            if alias(where, who) is None:
                continue
            if not isinstance(record, dict):
                problems.append(f"{where}: must be an object, not {type(record).__name__}")
                continue
            method, topics = record.get("method"), record.get("topics", {})
            if method not in FENCE_METHODS:
                problems.append(
                    f"{where}.method: must be one of {', '.join(FENCE_METHODS)}, not {echo(method, 40)}"
                )
            if not isinstance(topics, dict) or not all(
                isinstance(t, str) and (v is None or (isinstance(v, int) and not isinstance(v, bool)))
                for t, v in topics.items()
            ):
                problems.append(f"{where}.topics: must map topic names to a previous value (integer or null)")
                continue
            if "bindings" in record:
                problems += _binding_problems(where, record["bindings"])
            if "nsg" in record:
                problems += _nsg_problems(where, record["nsg"])
            fenced[who] = dict(record)
    for name in ("reverse_flow", "run"):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name}: must be a string or null, not {echo(value, 40)}")
    if problems or active is None:
        raise StateInvalid(Path("state.json"), problems or ["active: missing"])
    return DrState(
        active=active,
        since=float(since) if isinstance(since, (int, float)) else None,
        operation=operation,
        fenced=fenced,
        reverse_flow=raw.get("reverse_flow"),
        run=raw.get("run"),
    )


class RunbookStore:
    """A plan's runbook directory."""

    def __init__(self, plan_name: str, plan_path: Path | None, root: Path | None = None) -> None:
        base = root if root is not None else settings.state_dir()
        self.dir = plan_dir(plan_name, plan_path, base)
        self.audit_path = base / "audit.log"
        self.plan_name = plan_name

    def lock(self) -> PlanLock:
        """The plan's operation lock (not taken: see :class:`~kdrtui.services.runbook.lock.PlanLock`)."""
        return PlanLock(self.dir, self.plan_name)

    # -- journals ------------------------------------------------------------------------------------

    def new_journal(self, operation: str, clock: Any = time.time) -> Journal:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(clock()))
        name = f"journal-{stamp}-{operation}-{os.urandom(2).hex()}.jsonl"
        return Journal(self.dir / name, clock)

    def journals(self, operations: Collection[str] | None = None) -> list[Journal]:
        """Every journal of the plan (of one of ``operations`` when given), oldest first."""
        paths = sorted(self.dir.glob("journal-*.jsonl"))
        if operations is not None:
            paths = [p for p in paths if journal_operation(p) in operations]
        return [Journal(p) for p in paths]

    def incomplete(self, operations: Collection[str] | None = None) -> Journal | None:
        """The newest journal (of ``operations`` when given: provisioning and failover keep separate
        histories) whose run did not complete (to resume), if the newest did not."""
        journals = self.journals(operations)
        if not journals:
            return None
        newest = journals[-1]
        return None if newest.state().complete else newest

    # -- DR state ------------------------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.dir / "state.json"

    def load_state(self, default_active: str, clusters: Collection[str] | None = None) -> DrState:
        """The DR state (``default_active`` active and nothing fenced when there is none yet).

        Raises:
            StateInvalid: the file exists but is not a valid DR state (never guessed from it).
        """
        try:
            text = self.state_path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return DrState(active=default_active)
        except (OSError, UnicodeDecodeError) as exc:
            raise StateInvalid(self.state_path, [f"unreadable: {exc}"]) from None
        try:
            return parse_state(text, clusters)
        except StateInvalid as exc:
            raise StateInvalid(self.state_path, exc.problems) from None

    def save_state(self, state: DrState) -> None:
        """Write the state atomically (temp file, fsync, rename)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump(state.to_dict(), handle, sort_keys=True, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.state_path)

    # -- audit ---------------------------------------------------------------------------------------

    def audit(self, action: str, plan: str, outcome: str, **details: Any) -> None:
        """One line in the audit log: who ($USER, $SSH_CLIENT), what, when, outcome."""
        try:
            user = os.environ.get("USER") or getpass.getuser()
        except (KeyError, OSError):
            user = "?"
        entry = {
            "at": round(time.time(), 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "user": user,
            "ssh_client": os.environ.get("SSH_CLIENT", ""),
            "action": action,
            "plan": plan,
            "outcome": outcome,
            **details,
        }
        _append_line(self.audit_path, entry)
