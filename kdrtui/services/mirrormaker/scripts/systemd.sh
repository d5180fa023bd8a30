# shellcheck shell=sh
# How MirrorMaker is run on an edge node, run over SSH once per node: root (systemd, as root), sudo
# (systemd, with passwordless sudo), nosudo (systemd, but no way to use it) or none (no systemd: kdrtui's
# supervisor runs MirrorMaker with setsid). kdrtui drops these comments.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then echo root; elif sudo -n true 2>/dev/null; then echo sudo; else echo nosudo; fi
else
    echo none
fi
