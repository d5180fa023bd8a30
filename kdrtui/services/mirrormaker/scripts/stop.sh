# shellcheck shell=sh disable=SC2154
# Stop one MirrorMaker deployment started without systemd, run over SSH by `kdrtui mm stop`: mark the stop
# as asked for, then SIGTERM its scheduler first (it stops its batch and starts no other), its supervisor
# (it stops MirrorMaker, SIGKILL after its grace) and MirrorMaker itself. kdrtui sets run (the run
# directory) before it and drops these comments; it then watches the state until everything is gone.
# ours PID: PID runs and (where /proc tells) its command line names this run directory: a pid file left
# behind by a crash never signals a process that has since been given the same number.
ours() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/cmdline" ] || return 0
    tr '\000' '\n' <"/proc/$1/cmdline" | grep -F -q -e "$run/"
}
touch "$run/stop_requested"
sch=$(cat "$run/scheduler.pid" 2>/dev/null)
ours "$sch" && kill -TERM "$sch" 2>/dev/null
sup=$(cat "$run/supervisor.pid" 2>/dev/null)
pid=$(cat "$run/mm.pid" 2>/dev/null)
ours "$sup" && kill -TERM "$sup" 2>/dev/null
ours "$pid" && kill -TERM "$pid" 2>/dev/null
true
