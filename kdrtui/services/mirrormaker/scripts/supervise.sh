#!/bin/sh
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
