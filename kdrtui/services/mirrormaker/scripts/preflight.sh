# shellcheck shell=sh disable=SC2154
# What MirrorMaker needs on an edge node, run over SSH before a deployment: Java, and Kafka's jars in
# home/libs. kdrtui sets home (the plan's kafka_home) before it and drops these comments.
# Out: java=<the line of java -version that says the version> or java=missing; libs=1 with the number of
# connect-mirror (mm2=) and Kafka core (core=) jars and the first of each (mm2jar=, corejar=: their
# names carry the release), or libs=0.
if command -v java >/dev/null 2>&1; then
    # The version line, not the first one: JAVA_TOOL_OPTIONS makes java print "Picked up ..." before it.
    line=$(java -version 2>&1 | grep ' version "' | head -n 1)
    [ -n "$line" ] || line=$(java -version 2>&1 | head -n 1)
    echo "java=$line"
else
    echo java=missing
fi
if [ -d "$home/libs" ]; then
    echo libs=1
    # The names are jar names: ls | grep -c counts the ones the regex names (a glob cannot say [.0-9]+).
    # shellcheck disable=SC2010
    echo "mm2=$(ls "$home/libs" | grep -c -E '^connect-mirror-[0-9]')"
    # shellcheck disable=SC2010
    echo "core=$(ls "$home/libs" | grep -c -E '^kafka_2[.0-9]+-[0-9]')"
    # shellcheck disable=SC2010
    echo "mm2jar=$(ls "$home/libs" | grep -E '^connect-mirror-[0-9]' | head -n 1)"
    # shellcheck disable=SC2010
    echo "corejar=$(ls "$home/libs" | grep -E '^kafka_2[.0-9]+-[0-9]' | head -n 1)"
else
    echo libs=0
fi
