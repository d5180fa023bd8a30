#!/bin/sh
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

# put FILE VALUE: write atomically, so a reader never sees half a number.
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
    # shellcheck disable=SC2086  # awk's answer is three numbers: split into $1 $2 $3
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

# shellcheck disable=SC2317  # called by the trap below
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
