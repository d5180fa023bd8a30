"""systemd units for MirrorMaker on edge nodes that run systemd (HDInsight's do): pure text.

On such a node a unit (:func:`systemd_unit`) runs the same supervisor script as kdrtui starts over SSH,
so the state files are the same either way. Cold standby: a timer (:func:`systemd_timer`) starts a batch
unit (:func:`systemd_batch_unit`) at every batch start, which runs the scheduler for one batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kdrtui.domain.mirrormaker_deployment import SCHEDULER, SUPERVISOR
from kdrtui.domain.schedule import Batches

# --- systemd ----------------------------------------------------------------------------------------

_UNIT_NAME_BAD = re.compile(r"[^A-Za-z0-9:_.\-]")
_SYSTEMD_SAFE = re.compile(r"[A-Za-z0-9_./:=@+,\-]+")


def unit_name(deployment: str) -> str:
    """``kdrtui-mm-<deployment>.service``, with characters systemd refuses replaced by ``-``."""
    return f"kdrtui-mm-{_UNIT_NAME_BAD.sub('-', deployment)}.service"


def _systemd_word(word: str) -> str:
    # systemd expands %specifiers and $VARIABLES even inside quotes: double them to keep them literal.
    word = word.replace("%", "%%").replace("$", "$$")
    if word and _SYSTEMD_SAFE.fullmatch(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(flow_name: str, run_dir: str, argv: Sequence[str], *, user: str | None = None) -> str:
    """A systemd unit (``unit_name(flow_name)``) running ``argv`` under the supervisor script.

    systemd restarts it on failure and stops it with SIGTERM (30 s, then SIGKILL); the supervisor
    keeps the same state files as when kdrtui starts it over SSH. Give ``user`` for a system unit;
    without it the unit is meant for ``systemctl --user``.
    """
    exec_start = " ".join(
        _systemd_word(w) for w in ["/bin/sh", f"{run_dir}/{SUPERVISOR}", run_dir, "--", *argv]
    )
    lines = [
        f"# Written by kdrtui: MirrorMaker deployment {flow_name}. Edits are overwritten on deploy.",
        "[Unit]",
        f"Description=kdrtui MirrorMaker {flow_name}",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        *([f"User={user}"] if user else []),
        f"WorkingDirectory={_systemd_word(run_dir)}",
        f"ExecStart={exec_start}",
        # SIGTERM to the supervisor only; it stops MirrorMaker itself. SIGKILL to all at the timeout.
        "KillMode=mixed",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=30",
        # A JVM stopped by SIGTERM exits 143: that is a clean stop, not a failure.
        "SuccessExitStatus=143",
        "Restart=on-failure",
        "RestartSec=10",
        # 75: another copy already runs here; 64/66: broken usage. Restarting cannot help.
        "RestartPreventExitStatus=64 66 75",
        "",
        "[Install]",
        f"WantedBy={'multi-user.target' if user else 'default.target'}",
    ]
    return "\n".join(lines) + "\n"


# --- systemd: scheduled batches -----------------------------------------------------------------------

_WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


def timer_name(deployment: str) -> str:
    """``kdrtui-mm-<deployment>.timer``: starts :func:`unit_name`'s batch unit on the schedule."""
    return unit_name(deployment).removesuffix(".service") + ".timer"


def _listed(values: frozenset[int], full: range, *, width: int = 2) -> str:
    if set(values) == set(full):
        return "*"
    return ",".join(f"{v:0{width}d}" for v in sorted(values))


def on_calendar(batches: Batches) -> list[str]:
    """systemd ``OnCalendar=`` expressions (UTC) that fire at every batch start of ``batches``.

    ``every_minutes`` that divides a day (or is a week, starting on Thursdays like the epoch) and every
    cron expression map exactly (cron's either-day rule as two expressions); any other ``every_minutes``
    fires every minute, and the batch unit runs MirrorMaker only when a window is open.
    """
    cron = batches.cron
    if cron is None:
        every = batches.every_minutes
        assert every is not None
        if every == 10080:
            return ["Thu *-*-* 00:00:00 UTC"]
        if 1440 % every:
            return ["*-*-* *:*:00 UTC"]
        by_hours: dict[frozenset[int], set[int]] = {}
        minutes_of: dict[int, set[int]] = {}
        for start in range(0, 1440, every):
            minutes_of.setdefault(start % 60, set()).add(start // 60)
        for minute, hours in minutes_of.items():
            by_hours.setdefault(frozenset(hours), set()).add(minute)
        return [
            f"*-*-* {_listed(hours, range(24))}:{_listed(frozenset(minutes), range(60))}:00 UTC"
            for hours, minutes in sorted(by_hours.items(), key=lambda kv: min(kv[1]))
        ]
    months = _listed(cron.months, range(1, 13))
    days = _listed(cron.days, range(1, 32))
    time = f"{_listed(cron.hours, range(24))}:{_listed(cron.minutes, range(60))}:00 UTC"
    weekdays = (
        ""
        if cron.weekdays == frozenset(range(7))
        else ",".join(_WEEKDAYS[d] for d in sorted(cron.weekdays)) + " "
    )
    if cron.days_star or cron.weekdays_star:
        return [f"{weekdays}*-{months}-{days} {time}"]
    # Both day fields restricted: cron starts on a day matching either; systemd's fields must all match.
    return [f"{weekdays}*-{months}-* {time}", f"*-{months}-{days} {time}"]


def systemd_timer(deployment: str, batches: Batches) -> str:
    """The timer (``timer_name(deployment)``) that starts the deployment's batch unit on the schedule."""
    lines = [
        f"# Written by kdrtui: MirrorMaker batches of {deployment}. Edits are overwritten on start.",
        "[Unit]",
        f"Description=kdrtui MirrorMaker batches of {deployment}: {batches.describe()} (UTC)",
        "",
        "[Timer]",
        *(f"OnCalendar={spec}" for spec in on_calendar(batches)),
        # systemd's default accuracy is a minute: a batch should start on time.
        "AccuracySec=1s",
        # A batch missed while the node was down is not run late: the next one catches up.
        "Persistent=false",
        f"Unit={unit_name(deployment)}",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return "\n".join(lines) + "\n"


def systemd_batch_unit(
    deployment: str, run_dir: str, argv: Sequence[str], batches: Batches, *, user: str | None = None
) -> str:
    """The unit (``unit_name(deployment)``) a timer starts for one batch: the scheduler with ``--once``.

    The scheduler runs MirrorMaker under the supervisor until the window closes (started outside a
    window it exits at once), keeping the same state files as without systemd. ``RuntimeMaxSec=`` (a
    run plus two minutes) is the backstop should it not stop by itself.
    """
    exec_start = " ".join(
        _systemd_word(w) for w in ["/bin/sh", f"{run_dir}/{SCHEDULER}", run_dir, "--once", "--", *argv]
    )
    lines = [
        f"# Written by kdrtui: one MirrorMaker batch of {deployment}. Edits are overwritten on start.",
        "[Unit]",
        f"Description=kdrtui MirrorMaker batch {deployment} ({batches.describe()})",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        *([f"User={user}"] if user else []),
        f"WorkingDirectory={_systemd_word(run_dir)}",
        f"ExecStart={exec_start}",
        "KillMode=mixed",
        "KillSignal=SIGTERM",
        # The supervisor gives MirrorMaker 30 s after SIGTERM.
        "TimeoutStopSec=45",
        "SuccessExitStatus=143",
        f"RuntimeMaxSec={batches.run_minutes * 60 + 120}",
    ]
    return "\n".join(lines) + "\n"
