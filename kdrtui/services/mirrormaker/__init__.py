"""MirrorMaker on edge nodes: the processes that run what the plan renders.

What runs is rendered, purely, in :mod:`kdrtui.domain.mirrormaker_deployment` (plan in, file texts and
argv out); the scripts that supervise it on the node ship in ``scripts/`` (:mod:`.node_scripts`); the
manager uploads, starts, stops and watches it over SSH.
"""
