# shellcheck shell=sh disable=SC2154
# SIGKILL what is left of one MirrorMaker deployment that ignored SIGTERM for 30 s, run over SSH by
# `kdrtui mm stop`: MirrorMaker (pid, when kdrtui knew it; may be empty), its scheduler and its supervisor.
# kdrtui sets run (the run directory) and pid before it and drops these comments.
# ours PID: PID runs and (where /proc tells) its command line names this run directory: a stale pid
# (a crash, a reboot) never kills a process that has since been given the same number.
ours() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/cmdline" ] || return 0
    tr '\000' '\n' <"/proc/$1/cmdline" | grep -F -q -e "$run/"
}
ours "$pid" && kill -KILL "$pid" 2>/dev/null
sch=$(cat "$run/scheduler.pid" 2>/dev/null)
ours "$sch" && kill -KILL "$sch" 2>/dev/null
sup=$(cat "$run/supervisor.pid" 2>/dev/null)
ours "$sup" && kill -KILL "$sup" 2>/dev/null
true
