# shellcheck shell=sh disable=SC2154
# The jars of a Kafka release kdrtui ships to an edge node, run over SSH by `kdrtui mm deploy` and
# `mm start` before uploading (parsed by kdrtui.services.mirrormaker.release). kdrtui sets d (the release's
# libs directory) before it and drops these comments.
# Out: "<sha256>  <name>" per jar (sha256sum's own format); nothing when the directory does not exist;
# "nosha256sum" when the node has no sha256sum.
command -v sha256sum >/dev/null 2>&1 || { echo nosha256sum; exit 0; }
[ -d "$d" ] || exit 0
cd "$d" || exit 0
for f in *.jar; do
    [ -f "$f" ] && sha256sum -- "$f"
done
true
