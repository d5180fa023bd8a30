"""Keeping MirrorMaker running on an edge node: the supervisor script and the systemd unit (pure text).

The supervisor (a POSIX sh script) runs one MirrorMaker in its run directory, records its pid, start
time, exit code and log, survives SSH disconnects and refuses to run a second copy. On nodes with
systemd, a unit runs the same supervisor, so the state files are the same either way.

Cold standby runs MirrorMaker in scheduled batches: the scheduler (:func:`scheduler_script`, a companion
loop) runs the supervisor at each batch start and stops it at the window's end, sleeping in between. Its
schedule maths is kdrtui's own (:mod:`kdrtui.domain.schedule`), in awk, so kdrtui and the node agree on
every time. On nodes with systemd a timer (:func:`systemd_timer`) starts a batch unit instead
(:func:`systemd_batch_unit`), which runs the scheduler for one batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kdrtui.domain.schedule import AWK_PROGRAM, Batches, supervisor_settings

SUPERVISOR = "supervise.sh"
"""The supervisor script's name in a run directory."""
SCHEDULER = "schedule.sh"
"""The scheduler script's name in a run directory (scheduled flows only)."""
SCHEDULE_CONF = "schedule.conf"
"""The schedule's settings for the scheduler's awk (``name=value`` lines)."""
SCHEDULE_AWK = "schedule.awk"
"""kdrtui's schedule maths in awk."""

# --- the supervisor ---------------------------------------------------------------------------------

_RUN_DIR_FUNCTIONS = r"""# put FILE VALUE: write atomically, so a reader never sees half a number.
put() {
    printf '%s\n' "$2" >"$run_dir/.$1.tmp" && mv -f "$run_dir/.$1.tmp" "$run_dir/$1"
}

# alive PID: PID runs and (where /proc tells) belongs to this run directory, so a pid reused by an
# unrelated process after a crash or a reboot does not count.
alive() {
    [ -n "$1" ] || return 1
    kill -0 "$1" 2>/dev/null || return 1
    if [ -r "/proc/$1/cmdline" ]; then
        tr '\000' '\n' <"/proc/$1/cmdline" | grep -F -q -e "$run_dir"
    fi
}
"""
"""Shell functions both scripts use: ``put`` (atomic write) and ``alive`` (a pid of this run directory)."""

_SUPERVISOR_SCRIPT = (
    r"""#!/bin/sh
# Written by kdrtui: supervises one MirrorMaker process. Do not edit: kdrtui overwrites it on deploy.
#
#   sh RUN_DIR/supervise.sh RUN_DIR -- COMMAND [ARG...]
#
# started detached by kdrtui as
#   setsid nohup sh RUN_DIR/supervise.sh RUN_DIR -- java ... </dev/null >/dev/null 2>&1 &
#
# In RUN_DIR: lock/ (a directory: made atomically, held while running; lock/pid = this script),
# supervisor.pid, mm.pid (the command), started_at and exited_at (epoch seconds), exit_code (128+n when
# the command died of signal n), mm.log (the command's stdout and stderr, and these notes).
# SIGTERM or SIGINT stops the command with SIGTERM (an asynchronous command of a non-interactive shell
# ignores SIGINT), then SIGKILL after KDRTUI_STOP_GRACE seconds (default 30).
# Exit status: the command's; 75 when this RUN_DIR already has a running supervisor or MirrorMaker;
# 64 on bad usage; 66 when RUN_DIR is missing.

if [ "$#" -lt 3 ] || [ "$2" != "--" ]; then
    echo "usage: sh supervise.sh RUN_DIR -- COMMAND [ARG...]" >&2
    exit 64
fi
run_dir=$1
shift 2
cd "$run_dir" || exit 66
log=$run_dir/mm.log
lock=$run_dir/lock
grace=${KDRTUI_STOP_GRACE:-30}
child=
killer=
stopping=0
got_signal=0

note() {
    printf '[%s] kdrtui-supervisor[%s]: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$$" "$*" >>"$log"
}

"""
    + _RUN_DIR_FUNCTIONS
    + r"""
take_lock() {
    tries=0
    while :; do
        if mkdir "$lock" 2>/dev/null; then
            printf '%s\n' "$$" >"$lock/pid"
            return 0
        fi
        holder=$(cat "$lock/pid" 2>/dev/null)
        if [ -z "$holder" ] && [ "$tries" -lt 3 ]; then
            # The holder may be between its mkdir and writing its pid.
            tries=$((tries + 1))
            sleep 1
            continue
        fi
        if alive "$holder"; then
            note "not starting: supervisor $holder already runs here"
            return 1
        fi
        # Stale: its supervisor is gone. mv is atomic, so of two starters only one moves it; the
        # other's mv fails and it tries again.
        if mv "$lock" "$lock.stale.$$" 2>/dev/null; then
            moved=$(cat "$lock.stale.$$/pid" 2>/dev/null)
            if [ "$moved" = "$holder" ]; then
                note "removed the stale lock of supervisor ${holder:-?} (not running)"
                rm -rf "$lock.stale.$$"
            else
                # Another starter took the lock over in between: give it back.
                mv "$lock.stale.$$" "$lock" 2>/dev/null || rm -rf "$lock.stale.$$"
            fi
        fi
        tries=0
    done
}

cleanup() {
    rm -f "$run_dir/mm.pid" "$run_dir/supervisor.pid"
    rm -rf "$lock"
}

on_signal() {
    got_signal=1
    if [ "$stopping" = 0 ]; then
        stopping=1
        note "received SIG$1; stopping ${child:-nothing yet}"
    fi
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
        if [ -z "$killer" ]; then
            (
                n=0
                while [ "$n" -lt "$grace" ]; do
                    sleep 1
                    kill -0 "$child" 2>/dev/null || exit 0
                    n=$((n + 1))
                done
                note "pid $child ignored SIGTERM for $grace s; sending SIGKILL"
                kill -KILL "$child" 2>/dev/null
            ) &
            killer=$!
        fi
    fi
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT

take_lock || exit 75
orphan=$(cat "$run_dir/mm.pid" 2>/dev/null)
if alive "$orphan"; then
    # Its supervisor was killed (kill -9, OOM) but MirrorMaker still runs: never start a second one.
    note "not starting: MirrorMaker pid $orphan still runs here without a supervisor; stop it first"
    rm -rf "$lock"
    exit 75
fi
if [ "$stopping" = 1 ]; then
    cleanup
    exit 143
fi

rm -f "$run_dir/exit_code" "$run_dir/exited_at"
put supervisor.pid "$$"
put started_at "$(date +%s)"
"$@" </dev/null >>"$log" 2>&1 &
child=$!
put mm.pid "$child"
note "started pid $child: $*"
# A signal that came while the command was being started.
[ "$stopping" = 1 ] && on_signal TERM

# wait returns early (status > 128) when a trapped signal arrives; wait again until the command has
# really ended. A second wait for an already-reaped pid answers 127: keep the status from before.
rc=
while :; do
    got_signal=0
    wait "$child"
    status=$?
    if [ "$status" -eq 127 ] && [ -n "$rc" ]; then
        break
    fi
    rc=$status
    [ "$got_signal" = 1 ] || break
done

put exit_code "$rc"
put exited_at "$(date +%s)"
if [ -n "$killer" ]; then
    kill "$killer" 2>/dev/null
fi
note "pid $child exited with code $rc"
cleanup
exit "$rc"
"""
)


def supervisor_script() -> str:
    """The POSIX sh script that supervises one MirrorMaker in its run directory (see its header)."""
    return _SUPERVISOR_SCRIPT


# --- the scheduler (cold standby) -------------------------------------------------------------------

_SCHEDULER_SCRIPT = (
    r"""#!/bin/sh
# Written by kdrtui: runs MirrorMaker in scheduled batches (cold standby). Do not edit: kdrtui
# overwrites it on deploy.
#
#   sh RUN_DIR/schedule.sh RUN_DIR [--once] -- COMMAND [ARG...]
#
# started detached by kdrtui as
#   setsid nohup sh RUN_DIR/schedule.sh RUN_DIR -- java ... </dev/null >/dev/null 2>&1 &
#
# When a batch's window opens (RUN_DIR/schedule.conf and schedule.awk: kdrtui's schedule maths) it runs
# the command under RUN_DIR/supervise.sh; when the window closes it stops it with SIGTERM (as
# `kdrtui mm stop` does); in between it sleeps. A batch that fails to start is tried again after 10 s,
# at most 3 times a window.
# In RUN_DIR: schedule.lock/ (held while running; schedule.lock/pid = this script), scheduler.pid,
# next_run_at, run_until (while a batch runs), last_run_started_at, last_run_ended_at (epoch seconds);
# the supervisor keeps its own files (mm.pid, exit_code...). Notes go to mm.log.
# --once (a systemd timer's unit): run the batch whose window is open now, if any, then exit.
# SIGTERM or SIGINT: stop the batch that runs (if any) and exit.
# Exit status: 0; 75 when RUN_DIR already has a running scheduler; 64 bad usage; 66 RUN_DIR missing;
# 65 the schedule files are missing or awk cannot read them.

usage() {
    echo "usage: sh schedule.sh RUN_DIR [--once] -- COMMAND [ARG...]" >&2
    exit 64
}
[ "$#" -ge 3 ] || usage
run_dir=$1
shift
once=0
if [ "$1" = "--once" ]; then
    once=1
    shift
fi
[ "$1" = "--" ] || usage
shift
[ "$#" -ge 1 ] || usage
cd "$run_dir" || exit 66
log=$run_dir/mm.log
lock=$run_dir/schedule.lock
sup=
napper=
stopping=0

note() {
    printf '[%s] kdrtui-scheduler[%s]: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$$" "$*" >>"$log"
}

utc() {
    date -u -d "@$1" '+%Y-%m-%d %H:%M:%S UTC' 2>/dev/null || echo "$1"
}

"""
    + _RUN_DIR_FUNCTIONS
    + r"""
take_lock() {
    if mkdir "$lock" 2>/dev/null; then
        printf '%s\n' "$$" >"$lock/pid"
        return 0
    fi
    holder=$(cat "$lock/pid" 2>/dev/null)
    if [ -z "$holder" ]; then
        sleep 1  # the holder may be between its mkdir and writing its pid
        holder=$(cat "$lock/pid" 2>/dev/null)
    fi
    if alive "$holder"; then
        note "not starting: scheduler $holder already runs here"
        return 1
    fi
    note "removed the stale lock of scheduler ${holder:-?} (not running)"
    rm -rf "$lock"
    mkdir "$lock" 2>/dev/null || return 1
    printf '%s\n' "$$" >"$lock/pid"
}

# when NOW: sets w_start w_end w_next (epoch seconds; w_start = -1 between runs; w_next = -1: never).
when() {
    [ -r "$run_dir/schedule.conf" ] && [ -r "$run_dir/schedule.awk" ] || return 1
    settings=$(sed -e '/^#/d' -e '/^$/d' -e 's/^/-v /' "$run_dir/schedule.conf" | tr '\n' ' ')
    # shellcheck disable=SC2086  # the settings are name=digits,commas words
    answer=$(awk $settings -v now="$1" -f "$run_dir/schedule.awk") || return 1
    set -- $answer
    [ "$#" = 3 ] || return 1
    w_start=$1
    w_end=$2
    w_next=$3
}

# running PID: PID runs and is not a zombie (an exited child this shell has not reaped yet).
running() {
    kill -0 "$1" 2>/dev/null || return 1
    if [ -r "/proc/$1/stat" ]; then
        [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d ' ' -f 1)" != Z ] || return 1
    fi
}

# nap SECONDS: sleep, but wake at once for SIGTERM (a foreground sleep would delay the trap).
nap() {
    sleep "$1" &
    napper=$!
    wait "$napper"
    napper=
}

# stop_batch: SIGTERM to the supervisor (it stops MirrorMaker, SIGKILL after its grace), wait for it.
stop_batch() {
    [ -n "$sup" ] || return 0
    touch "$run_dir/stop_requested"
    kill -TERM "$sup" 2>/dev/null
    while running "$sup"; do
        wait "$sup" 2>/dev/null
    done
    wait "$sup" 2>/dev/null
    sup=
    put last_run_ended_at "$(date +%s)"
    rm -f "$run_dir/run_until"
}

on_signal() {
    stopping=1
    [ -n "$napper" ] && kill "$napper" 2>/dev/null
}
trap 'on_signal' TERM INT

take_lock || exit 75
put scheduler.pid "$$"
ran=
tries=0
code=0
note "started: batches from $run_dir/schedule.conf$([ "$once" = 1 ] && echo ' (one batch)')"
while [ "$stopping" = 0 ]; do
    now=$(date +%s)
    if ! when "$now"; then
        note "cannot read the schedule ($run_dir/schedule.conf, schedule.awk): stopping"
        code=65
        break
    fi
    if [ "$w_start" -lt 0 ]; then
        # Between runs.
        [ -n "$sup" ] && note "window closed: stopping the batch (supervisor $sup)"
        stop_batch
        put next_run_at "$w_next"
        [ "$once" = 1 ] && break
        if [ "$w_next" -lt 0 ]; then
            note "the schedule never starts a batch again"
            nap 3600
            continue
        fi
        left=$((w_next - now))
        [ "$left" -gt 60 ] && left=60  # look again every minute: the clock may be set meanwhile
        [ "$left" -lt 1 ] && left=1
        nap "$left"
        continue
    fi
    put run_until "$w_end"
    put next_run_at "$w_next"
    if [ "$ran" != "$w_start" ]; then
        ran=$w_start
        tries=0
    fi
    if [ -z "$sup" ] && [ "$tries" -lt 3 ]; then
        tries=$((tries + 1))
        rm -f "$run_dir/stop_requested" "$run_dir/exit_code"
        put last_run_started_at "$now"
        sh "$run_dir/supervise.sh" "$run_dir" -- "$@" </dev/null >/dev/null 2>&1 &
        sup=$!
        note "batch started (supervisor $sup) until $(utc "$w_end"); next batch $(utc "$w_next")"
    fi
    # Sleep until the window closes, waking to notice a batch that ended early.
    while [ "$stopping" = 0 ]; do
        now=$(date +%s)
        [ "$now" -lt "$w_end" ] || break
        if [ -n "$sup" ] && ! running "$sup"; then
            wait "$sup"
            rc=$?
            code_seen=$(cat "$run_dir/exit_code" 2>/dev/null || echo "? (supervisor $rc)")
            note "batch ended early: MirrorMaker exit code $code_seen"
            sup=
            put last_run_ended_at "$now"
            [ "$tries" -lt 3 ] && nap 10
            break
        fi
        left=$((w_end - now))
        [ "$left" -gt 2 ] && left=2
        nap "$left"
    done
    # At the window's end the next pass finds it closed (stop the batch) or extended (run on).
done
if [ -n "$sup" ]; then
    note "stopping the batch (supervisor $sup)"
    stop_batch
fi
note "stopped"
rm -f "$run_dir/scheduler.pid" "$run_dir/run_until"
rm -rf "$lock"
exit "$code"
"""
)


def scheduler_script() -> str:
    """The POSIX sh script that runs MirrorMaker in scheduled batches (see its header)."""
    return _SCHEDULER_SCRIPT


def schedule_conf(batches: Batches, deployment: str) -> str:
    """``schedule.conf``: the schedule's settings for the scheduler's awk, one ``name=value`` a line."""
    lines = [
        f"# Written by kdrtui: the batch schedule of MirrorMaker deployment {deployment}.",
        f"# {batches.describe()}, times in UTC. Edits are overwritten on deploy.",
        *(f"{name}={value}" for name, value in supervisor_settings(batches).items()),
    ]
    return "\n".join(lines) + "\n"


def schedule_awk() -> str:
    """``schedule.awk``: kdrtui's schedule maths (:data:`kdrtui.domain.schedule.AWK_PROGRAM`)."""
    return "# Written by kdrtui: do not edit, kdrtui overwrites it on deploy." + AWK_PROGRAM


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
