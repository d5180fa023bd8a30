# shellcheck shell=sh disable=SC2154
# The state of one MirrorMaker deployment, run over SSH by `kdrtui mm status` and the Edge pane (parsed by
# kdrtui.domain.mirrormaker.parse_probe). kdrtui sets d (the run directory), lines (how many log lines) and
# libs (the jars the deployment runs from) before it, and drops these comments: every byte crosses the SSH
# link, every refresh.
# Out: name=value lines (deployed, the state files, alive, scheduler, timer, kafkajar: a jar whose name
# carries the Kafka release, now), ---log---, the log tail.
if [ ! -f "$d/supervise.sh" ]; then echo deployed=0; exit 0; fi
echo deployed=1
for f in supervisor.pid mm.pid started_at exit_code exited_at stop_requested scheduler.pid \
    next_run_at run_until last_run_started_at last_run_ended_at; do
    [ -f "$d/$f" ] && printf "%s=%s\n" "$f" "$(cat "$d/$f")"
done
# Alive: the pid runs and its command line is MirrorMaker's (a reused pid is not).
pid=$(cat "$d/mm.pid" 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr "\000" " " < "/proc/$pid/cmdline" 2>/dev/null | grep -q MirrorMaker; then
    echo alive=1
    # The release it runs is the one on its own classpath (-cp <libs>/*), whatever the plan says now.
    libs=$(tr "\000" "\n" < "/proc/$pid/cmdline" | awk 'p { sub("/[*]$", ""); print; exit } $0 == "-cp" { p = 1 }')
fi
# shellcheck disable=SC2010
[ -n "$libs" ] && echo "kafkajar=$(ls "$libs" 2>/dev/null | grep -E '^(connect-mirror|kafka_2[.0-9]+)-[0-9]' | head -n 1)"
pid=$(cat "$d/scheduler.pid" 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    tr "\000" " " < "/proc/$pid/cmdline" 2>/dev/null | grep -q schedule.sh; then echo scheduler=1; fi
if [ -f "$d/timer_unit" ] && systemctl is-active --quiet "$(cat "$d/timer_unit")" 2>/dev/null; then echo timer=1; fi
echo "now=$(date +%s)"
echo ---log---
tail -n "$lines" "$d/mm.log" 2>/dev/null
true
