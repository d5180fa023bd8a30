# shellcheck shell=sh disable=SC2154
# Stop one MirrorMaker deployment started without systemd, run over SSH by `kdrtui mm stop`: mark the stop
# as asked for, then SIGTERM its scheduler first (it stops its batch and starts no other), its supervisor
# (it stops MirrorMaker, SIGKILL after its grace) and MirrorMaker itself. kdrtui sets run (the run
# directory) before it and drops these comments; it then watches the state until everything is gone.
touch "$run/stop_requested"
sch=$(cat "$run/scheduler.pid" 2>/dev/null)
[ -n "$sch" ] && kill -TERM "$sch" 2>/dev/null
sup=$(cat "$run/supervisor.pid" 2>/dev/null)
pid=$(cat "$run/mm.pid" 2>/dev/null)
[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null
[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
true
