# shellcheck shell=sh disable=SC2154
# The automated failover policy's probe from an edge node (`kdrtui watch`): is the primary up as seen from
# here? A metadata request (and an ApiVersions request per broker) by Kafka's own BrokerApiVersionsCommand,
# run with the node's Java on the jars MirrorMaker runs from. kdrtui sets libs (those jars), b (the
# primary's bootstrap servers as this node reaches them), t (seconds the whole command may take, the JVM's
# start included: the Kafka requests' own timeouts are in the properties), props (where to write the
# client properties read from stdin: timeouts, security settings and ${file:...} references to the
# deployment's secrets, never a password) and drops these comments.
# Out: rc=<exit code; 124 when it was cut at t>, brokers=<brokers listed>, ---out---, its last lines.
umask 077
cat >"$props" || { echo "rc=noprops"; exit 0; }
command -v java >/dev/null 2>&1 || { echo "rc=nojava"; exit 0; }
ask() {
    if command -v timeout >/dev/null 2>&1; then
        timeout "$t" java -cp "$libs/*" "$1" --bootstrap-server "$b" --command-config "$props" 2>&1
    else
        java -cp "$libs/*" "$1" --bootstrap-server "$b" --command-config "$props" 2>&1
    fi
}
out=$(ask kafka.admin.BrokerApiVersionsCommand)
rc=$?
case $out in
*"Could not find or load main class"*)
    out=$(ask org.apache.kafka.tools.BrokerApiVersionsCommand)
    rc=$?
    case $out in *"Could not find or load main class"*) rc=noclass ;; esac
    ;;
esac
echo "rc=$rc"
echo "brokers=$(printf '%s\n' "$out" | grep -c ' (id: ')"
echo ---out---
printf '%s\n' "$out" | grep -v '^[[:space:]]' | tail -n 4
true
