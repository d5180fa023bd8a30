# shellcheck shell=sh disable=SC2154
# The secrets directory of one MirrorMaker deployment, run over SSH by `kdrtui mm deploy` and `mm status`
# (parsed by kdrtui.domain.mirrormaker_drift.parse_secrets_probe). kdrtui sets d (the directory) before it.
# Out: "dir <mode>", then "<mode> <sha256> <name>" per file: a digest, never a file's content. Nothing
# when the directory does not exist.
[ -d "$d" ] || exit 0
printf 'dir %s\n' "$(stat -c %a "$d")"
for f in "$d"/*; do
    [ -f "$f" ] || continue
    printf '%s %s %s\n' "$(stat -c %a "$f")" "$(sha256sum < "$f" | cut -d ' ' -f 1)" "${f##*/}"
done
true
