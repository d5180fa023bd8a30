"""MirrorMaker on edge nodes: configuration rendered from the plan, and the processes that run it.

:mod:`~kdrtui.services.mirrormaker.render` is pure (plan in, file texts and argv out); the manager
uploads, starts, stops and watches what it renders over SSH.
"""
