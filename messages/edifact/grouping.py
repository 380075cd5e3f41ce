"""Segment-group tree building and structure validation in one forward pass.

A deterministic state machine: the state is a stack of open group instances, each with the index
of its current entry and the repeat counts of its entries. For each segment we look, from the
innermost open group outwards, for the first entry at or after the current position whose tag
matches and whose repeat limit is not exhausted (the standard EDIFACT "greedy, no backtracking"
reading). Entering a later entry reports skipped mandatory entries; leaving a group reports its
missing mandatory entries. A segment that matches nothing is reported as unexpected or out of order
and skipped; one that only matches an exhausted entry is reported and accepted. Cost is
O(segments x nesting depth) with small dict lookups, no backtracking.
"""

from __future__ import annotations

from collections.abc import Iterator

from messages.edifact.directory import Level, MessageDefinition
from messages.edifact.model import Segment


class GroupNode:
    """One instance of a segment group (or the whole message for the root).

    ``segments`` are the segments directly in this instance (the trigger first), ``children`` the
    nested group instances in message order. ``position`` is the 1-based segment number (from UNH)
    of the trigger segment.
    """

    __slots__ = ("_count", "_cur", "_follow", "_level", "children", "name", "position", "segments", "trigger")

    def __init__(self, name: str, trigger: str, position: int, level: Level | None = None) -> None:
        self.name = name
        self.trigger = trigger
        self.position = position
        self.segments: list[Segment] = []
        # shared empty tuple until the first child arrives: most group instances are leaves
        self.children: list[GroupNode] | tuple[()] = ()
        # parser state while the instance is open: current entry index and its repeat count.
        # Entries after the current one have count 0 and earlier ones are never revisited, so one
        # counter is enough.
        self._level = level
        self._cur = 0
        self._count = 1
        self._follow = level.follow[0] if level is not None else {}

    def groups(self, key: str) -> list[GroupNode]:
        """Child instances of group ``key``: a group name (``"SG4"``) or its trigger tag (``"CNI"``)."""
        return [child for child in self.children if child.name == key or child.trigger == key]

    def group(self, key: str) -> GroupNode | None:
        for child in self.children:
            if child.name == key or child.trigger == key:
                return child
        return None

    def segment(self, tag: str, qualifier: str | None = None) -> Segment | None:
        """First segment ``tag`` directly in this group; with ``qualifier``, the first whose first
        component of the first element equals it (``node.segment("NAD", "CZ")``)."""
        for seg in self.segments:
            if seg.tag == tag and (qualifier is None or seg.get(0) == qualifier):
                return seg
        return None

    def value(
        self, tag: str, i: int = 0, j: int = 0, *, qualifier: str | None = None, default: str = ""
    ) -> str:
        """Shortcut for mappings: component ``j`` of element ``i`` of the first ``tag`` segment
        (optionally the one qualified by ``qualifier``) directly in this group, else ``default``."""
        seg = self.segment(tag, qualifier)
        return seg.get(i, j, default) if seg is not None else default

    def segments_of(self, tag: str) -> list[Segment]:
        return [seg for seg in self.segments if seg.tag == tag]

    def descendants(self, key: str) -> list[GroupNode]:
        """All instances of group ``key`` (name or trigger tag) at any depth below this node, in
        message order: ``tree.descendants("GID")`` lists every goods item of every consignment."""
        out: list[GroupNode] = []
        todo = list(reversed(self.children))
        while todo:
            node = todo.pop()
            if node.name == key or node.trigger == key:
                out.append(node)
            if node.children:
                todo.extend(reversed(node.children))
        return out

    def walk(self) -> Iterator[GroupNode]:
        """This node and all descendants, depth first in message order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def __repr__(self) -> str:
        return (
            f"GroupNode({self.name} {self.trigger}@{self.position}, {len(self.segments)} segs, "
            f"{len(self.children)} groups)"
        )


Problem = tuple[int, str, str]  # (segment number from UNH, tag, message)
MAX_PROBLEMS = 1000  # per message; the rest is summarised (a garbage message would list every segment)


def build_tree(segments: list[Segment], definition: MessageDefinition) -> tuple[GroupNode, list[Problem]]:
    """Group the body segments (UNH/UNT excluded) of one message; return the tree and problems."""
    problems: list[Problem] = []
    report = problems.append
    root_node = GroupNode(definition.message, "UNH", 1, definition.root)
    stack: list[GroupNode] = [root_node]  # open group instances, innermost last
    n = len(segments)
    new_node = GroupNode
    pop = stack.pop

    # UNT closes the message like any segment (its mandatory checks run); it is removed afterwards
    unt = Segment("UNT")
    for position, segment in enumerate([*segments, unt], 2):
        tag = segment.tag

        # Fast path: the first open level (innermost outwards) whose precomputed table knows the tag.
        node = stack[-1]
        act = node._follow.get(tag)
        depth = -1
        if act is None:
            depth = len(stack) - 1
            while act is None and depth:
                depth -= 1
                node = stack[depth]
                act = node._follow.get(tag)
        if act is not None:
            k, k_max, group, check = act
            if k != node._cur or node._count < k_max:
                if depth >= 0:
                    while len(stack) - 1 > depth:
                        closing = pop()
                        if closing._level.required:  # type: ignore[union-attr]
                            _close(closing, position, tag, report)
                if k == node._cur:
                    node._count += 1  # another repeat of a segment, or a new instance of a group
                else:
                    if check:
                        _leave(node, k, position, tag, report)
                    node._cur = k
                    node._count = 1
                    node._follow = node._level.follow[k]  # type: ignore[union-attr]
                if group is None:
                    node.segments.append(segment)
                else:
                    child = new_node(group.name, tag, position, group)
                    child.segments.append(segment)
                    if node.children:
                        node.children.append(child)  # type: ignore[union-attr]
                    else:
                        node.children = [child]
                    stack.append(child)
                continue

        prev_tag = segments[position - 3].tag if position > 2 else "UNH"
        _general_step(stack, tag, segment, position, prev_tag, definition, report)

    while len(stack) > 1:
        _close(stack.pop(), n + 2, "UNT", report)
    if root_node.segments and root_node.segments[-1] is unt:
        root_node.segments.pop()
    if len(problems) > MAX_PROBLEMS:
        extra = len(problems) - MAX_PROBLEMS
        del problems[MAX_PROBLEMS:]
        problems.append((n + 2, "UNT", f"{extra} further structure issue(s) not listed"))
    return root_node, problems


def _general_step(
    stack: list[GroupNode],
    tag: str,
    segment: Segment,
    position: int,
    prev_tag: str,
    definition: MessageDefinition,
    report,  # type: ignore[no-untyped-def]
) -> bool:
    """Search outer levels, close groups, handle exhausted repeats and unexpected segments.
    Returns False when the segment was rejected (not placed in the tree)."""
    chosen_depth = -1
    chosen_k = -1
    over_depth = -1
    over_k = -1
    depth = len(stack) - 1
    while depth >= 0:
        node = stack[depth]
        level = node._level
        ks = level.positions.get(tag)  # type: ignore[union-attr]
        if ks:
            cur = node._cur
            for k in ks:
                if k > cur:
                    chosen_depth, chosen_k = depth, k
                    break
                if k == cur:
                    if node._count < level.entries[k].max:  # type: ignore[union-attr]
                        chosen_depth, chosen_k = depth, k
                        break
                    # an exhausted group trigger means "next instance of the group", never "too many
                    # triggers": the group entry one level up is the candidate to report
                    if over_depth < 0 and (k or not depth):
                        over_depth, over_k = depth, k
            if chosen_depth >= 0:
                break
        depth -= 1

    exceeded = False
    if chosen_depth < 0:
        if over_depth < 0:
            top = stack[-1].name
            if tag in definition.tags:
                report((position, tag, f"segment {tag} out of order: not allowed after {prev_tag} in {top}"))
            else:
                report(
                    (
                        position,
                        tag,
                        f"unexpected segment {tag}: not part of {definition.message} {definition.directory}",
                    )
                )
            return False
        chosen_depth, chosen_k, exceeded = over_depth, over_k, True

    while len(stack) - 1 > chosen_depth:
        _close(stack.pop(), position, tag, report)
    node = stack[chosen_depth]
    level = node._level
    assert level is not None
    if chosen_k > node._cur:
        _leave(node, chosen_k, position, tag, report)
        node._cur = chosen_k
        node._count = 1
        node._follow = level.follow[chosen_k]
    else:
        node._count += 1
    entry = level.entries[chosen_k]
    if exceeded:
        where = f"{entry.group.name}" if entry.group else level.name
        report((position, tag, f"exceeds max repeat {entry.max} in {where}"))
    if entry.group is not None:
        child = GroupNode(entry.group.name, tag, position, entry.group)
        if node.children:
            node.children.append(child)  # type: ignore[union-attr]
        else:
            node.children = [child]
        child.segments.append(segment)
        stack.append(child)
    else:
        node.segments.append(segment)
    return True


def _leave(node: GroupNode, k: int, position: int, tag: str, report) -> None:  # type: ignore[no-untyped-def]
    """Moving from the current entry of ``node`` to a later entry ``k`` of the same instance."""
    level = node._level
    assert level is not None
    cur = node._cur
    entries = level.entries
    entry = entries[cur]
    if node._count < entry.min:
        report(
            (
                position,
                tag,
                f"{entry.label} occurs {node._count} time(s) in {level.name}, at least {entry.min} required",
            )
        )
    for skipped in level.required:
        if cur < skipped < k:
            missing = entries[skipped]
            kind = "group" if missing.group else "segment"
            report(
                (
                    position,
                    tag,
                    f"mandatory {kind} {missing.label} missing in {level.name} before this segment",
                )
            )


def _close(node: GroupNode, position: int, tag: str, report) -> None:  # type: ignore[no-untyped-def]
    """A group instance ends (a segment belonging to an outer level arrived)."""
    level = node._level
    assert level is not None
    if not level.required:
        return
    cur = node._cur
    entries = level.entries
    entry = entries[cur]
    if node._count < entry.min:
        report(
            (
                position,
                tag,
                f"{entry.label} occurs {node._count} time(s) in {level.name} started at "
                f"segment {node.position}, at least {entry.min} required",
            )
        )
    for later in level.required:
        if later > cur:
            missing = entries[later]
            kind = "group" if missing.group else "segment"
            report(
                (
                    position,
                    tag,
                    f"mandatory {kind} {missing.label} missing in {level.name} started at "
                    f"segment {node.position}",
                )
            )
