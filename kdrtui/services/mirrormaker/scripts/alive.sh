# shellcheck shell=sh disable=SC2154
# Whether MirrorMaker still runs, asked over SSH by `kdrtui mm stop` while it waits for the stop: prints
# alive when pid runs and is this deployment's. kdrtui sets run (the run directory) and pid before it and
# drops these comments.
# ours PID: PID runs and (where /proc tells) its command line names this run directory: a pid the
# deployment's process left behind and another process was given since is not it.
ours() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    [ -r "/proc/$1/cmdline" ] || return 0
    tr '\000' '\n' <"/proc/$1/cmdline" | grep -F -q -e "$run/"
}
ours "$pid" && echo alive
true
