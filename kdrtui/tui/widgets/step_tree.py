"""The Provisioning pane's widgets: the step tree and the overall progress bar.

The tree has one node per step (mark, title, status, elapsed, outcome) with, below it, the dry run's lines
until the step runs, then one child per resource (name, status, fraction, Azure's state text), and the
ARM error in full when it failed. It is redrawn by diff: a label is set only when its text changed and
children are rebuilt only when their set changed, so a poll that changed nothing sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.widgets import ProgressBar, Tree
from textual.widgets.tree import TreeNode

from kdrtui.domain.runbook import StepStatus
from kdrtui.tui.screens.provisioning_model import (
    STATUS_MARKS,
    STEP_COLOURS,
    ResourceView,
    StepView,
    duration_text,
)

NodeData = tuple[str, str]
"""(step key, child key): ``""`` for the step's own node, ``plan:N``, ``res:<name>`` or ``error``."""

Colour = Callable[[str], str]
"""Theme colour name -> Rich style."""

RESOURCE_COLOURS = {"running": "warning", "done": "success", "failed": "error", "skipped": "text-muted"}
"""Each resource status's theme colour."""

TITLE_WIDTH = 25
"""Cells for a step's title (cut with an ellipsis beyond)."""
RESOURCE_WIDTH = 24
"""Cells for a resource's name."""


def step_label(view: StepView, now: float, colour: Colour) -> Text:
    """``✓ Resource groups  done  12s  2 created`` (the outcome in red when the step failed)."""
    style = colour(STEP_COLOURS[view.status])
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{STATUS_MARKS[view.status]} ", style=style)
    title = view.title if len(view.title) <= TITLE_WIDTH else view.title[: TITLE_WIDTH - 1] + "…"
    text.append(f"{title:<{TITLE_WIDTH}} ", style="bold" if view.status is StepStatus.RUNNING else "")
    text.append(f"{view.status!s:<8}", style=style)
    text.append(f"{duration_text(view.elapsed(now)):>7}")
    if view.summary:
        summary_style = colour("error") if view.status is StepStatus.FAILED else colour("text-muted")
        text.append(f"  {view.summary}", style=summary_style)
    return text


def resource_label(resource: ResourceView, colour: Colour) -> Text:
    """``cluster kdrlab-dr  running  45%  clusterState HdInsightConfiguration``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    name = resource.name
    if len(name) > RESOURCE_WIDTH:
        name = name[: RESOURCE_WIDTH - 1] + "…"
    text.append(f"{name:<{RESOURCE_WIDTH}} ")
    text.append(f"{resource.status:<8}", style=colour(RESOURCE_COLOURS.get(resource.status, "")))
    percent = "" if resource.fraction is None else f"{resource.progress:.0%}"
    text.append(f"{percent:>5}")
    if resource.state:
        text.append(f"  {resource.state}", style=colour("text-muted"))
    return text


def child_labels(view: StepView, colour: Colour) -> list[tuple[str, Text]]:
    """(child key, label) of a step's children as it stands."""
    children: list[tuple[str, Text]] = []
    if view.resources:
        children = [(f"res:{r.name}", resource_label(r, colour)) for r in view.resources.values()]
    elif view.status is StepStatus.PENDING:
        children = [(f"plan:{i}", Text(line, style=colour("text-muted"))) for i, line in enumerate(view.plan)]
    if view.status is StepStatus.FAILED and view.summary:
        children.append(("error", Text(view.summary, style=colour("error"))))
    return children


def expand_for(view: StepView, default: bool | None) -> bool | None:
    """Whether a step's node opens: always while it runs or once it failed, else ``default`` (None: as
    it is)."""
    if view.status in (StepStatus.RUNNING, StepStatus.FAILED):
        return True
    return default


class StepTree(Tree[NodeData]):
    """The provisioning steps and their resources.

    The pane moves the cursor itself (:meth:`move_to`, following the running step); only the operator's
    moves reach it as ``Tree.NodeHighlighted``.
    """

    ICON_NODE = "▸ "
    ICON_NODE_EXPANDED = "▾ "

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("steps", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self._step_nodes: dict[str, TreeNode[NodeData]] = {}
        self._drawn: dict[int, Text] = {}
        self._wanted: str | None = None
        self._echoes: list[str] = []

    def set_steps(self, views: list[StepView], now: float, colour: Colour) -> None:
        """Start over with these steps (all collapsed but the ones with something to show)."""
        self.clear()
        self._step_nodes.clear()
        self._drawn.clear()
        for view in views:
            label = step_label(view, now, colour)
            node = self.root.add(label, (view.key, ""), expand=True)
            self._step_nodes[view.key] = node
            self._drawn[node.id] = label
            self.draw_step(view, now, colour)

    def render_label(self, node: TreeNode[NodeData], base_style: Style, style: Style) -> Text:
        label = super().render_label(node, base_style, style)
        if node.data is not None and not node.data[1] and not node.allow_expand:
            label = Text.assemble("  ", label)  # a step without children lines up with the others
        return label

    def step_node(self, key: str) -> TreeNode[NodeData] | None:
        """The node of step ``key``."""
        return self._step_nodes.get(key)

    def move_to(self, step: str) -> None:
        """Put the cursor on ``step`` after the next refresh (when the tree's lines are laid out), unless
        another step is wanted by then."""
        self._wanted = step
        self.call_after_refresh(self._move_cursor, step)

    def _move_cursor(self, step: str) -> None:
        node = self._step_nodes.get(step)
        if node is None or self.cursor_node is node or step != self._wanted:
            return
        self._echoes.append(step)
        self.move_cursor(node)

    def on_tree_node_highlighted(self, message: Tree.NodeHighlighted[NodeData]) -> None:
        data = message.node.data
        if data is None:
            return
        if data[0] in self._echoes:  # the pane moved the cursor there: not the operator's choice
            self._echoes.remove(data[0])
            message.stop()
        elif data[0] != self._wanted:
            self._wanted = None  # the operator chose another step: a pending move is dropped

    def _set(self, node: TreeNode[NodeData], label: Text) -> None:
        if self._drawn.get(node.id) != label:
            self._drawn[node.id] = label
            node.set_label(label)

    def draw_step(self, view: StepView, now: float, colour: Colour, *, expand: bool | None = None) -> None:
        """Redraw one step's label and children where they changed; ``expand`` opens or closes it."""
        node = self._step_nodes.get(view.key)
        if node is None:
            return
        self._set(node, step_label(view, now, colour))
        wanted = child_labels(view, colour)
        have = [child.data[1] if child.data else "" for child in node.children]
        if have == [key for key, _ in wanted]:
            for child, (_, label) in zip(node.children, wanted, strict=True):
                self._set(child, label)
        else:
            for child in node.children:
                self._drawn.pop(child.id, None)
            node.remove_children()
            for key, label in wanted:
                child = node.add_leaf(label, (view.key, key))
                self._drawn[child.id] = label
        node.allow_expand = bool(wanted)
        if expand is True and not node.is_expanded:
            node.expand()
        elif expand is False and node.is_expanded:
            node.collapse()

    def draw_elapsed(self, view: StepView, now: float, colour: Colour) -> None:
        """Redraw a running step's label only (its elapsed seconds)."""
        node = self._step_nodes.get(view.key)
        if node is not None:
            self._set(node, step_label(view, now, colour))


class StepsBar(ProgressBar):
    """The overall determinate bar: steps finished plus the running step's resource fractions.

    Unlike Textual's ProgressBar it does not wake every second to re-estimate an ETA it does not show:
    it repaints only when its progress changes.
    """

    @on(events.Mount)
    def _no_eta_interval(self, event: events.Mount) -> None:
        event.prevent_default()  # ProgressBar.on_mount (its 1 s update interval) does not run
        self.update()
