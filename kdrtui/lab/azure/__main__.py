"""``python -m kdrtui.lab.azure serve --home H``: run the emulator in the foreground."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m kdrtui.lab.azure")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", help="serve the emulator of HOME (settings from HOME/emulator.json)")
    serve_cmd.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    from kdrtui.lab.azure.serve import serve

    serve(args.home.resolve())


if __name__ == "__main__":
    main(sys.argv[1:])
