"""Click sub-command groups, one module per group, assembled by :mod:`kdrtui.cli`."""
