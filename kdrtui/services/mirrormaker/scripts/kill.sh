# shellcheck shell=sh disable=SC2154
# SIGKILL what is left of one MirrorMaker deployment that ignored SIGTERM for 30 s, run over SSH by
# `kdrtui mm stop`: MirrorMaker (pid, when kdrtui knew it; may be empty), its scheduler and its supervisor.
# kdrtui sets run (the run directory) and pid before it and drops these comments.
[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
sch=$(cat "$run/scheduler.pid" 2>/dev/null)
[ -n "$sch" ] && kill -KILL "$sch"
sup=$(cat "$run/supervisor.pid" 2>/dev/null)
[ -n "$sup" ] && kill -KILL "$sup"
true
