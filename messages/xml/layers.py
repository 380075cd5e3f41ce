"""Schema and semantic layers in one pass, every problem located in the sender's document.

A document with schema problems is still checked further when those problems sit in leaf elements:
the offending leaves are left out (the model then simply lacks those values) and, when what remains
meets the schema, the semantic rules run on it and callers may run their business checks too. When
the problems are in the structure (a missing required element, a broken wrapper) there is no usable
model, and `not_run` says why the later layers were not run (docs/errors.md).

Locations are always the path of the element in the document as sent (`/DecMessage/DecHead/X`, the
transport envelope included) with its line, never a path in a document the hub built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from messages.errors import SEMANTIC, ValidationIssue
from messages.xml import safe
from messages.xml.binding import Binding, field_path, local

_STEP = re.compile(r"^([^\[\]]+)(?:\[(\d+)\])?$")


def _element_kids(node: etree._Element) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str)]


class Locator:
    """Element paths (labelled: `Name[k]` only where siblings share a name) -> the sender's path and
    line. `freeze()` records every element's path before the tree is pruned, so positions stay the
    sender's even after leaves were left out."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._index: dict[etree._Element, tuple[str, int | None]] | None = None

    def freeze(self) -> None:
        top = self.root.getroottree().getroot()
        # a wrapper the reader built around the sender's root (bare DEC_RESULT -> DEC_DATA) has no
        # source line: paths start at the sender's own root
        base = "" if top.sourceline is None else f"/{local(top.tag)}"
        index: dict[etree._Element, tuple[str, int | None]] = {top: (base, top.sourceline)}
        todo = [top]
        while todo:
            parent = todo.pop()
            base = index[parent][0]
            kids = _element_kids(parent)
            for kid, label in zip(kids, _labels(kids), strict=True):
                index[kid] = (f"{base}/{label}", kid.sourceline)
                todo.append(kid)
        self._index = index

    def element(self, path: str) -> etree._Element | None:
        """The element a path names: absolute (`/DecMessage/DecHead/X`) or relative to the document
        element (`DecHead/X`); `Name` is the first of its name, `Name[k]` the k-th."""
        # libxml2 writes prefixed names (ns0:Manifest) for a retagged envelope: compare local names
        steps = [s.rsplit(":", 1)[-1] for s in path.split(" ", 1)[0].split("/") if s]
        # an absolute path may start at the transport envelope (/MFTMessage/MFTData/Manifest/...)
        chain = [local(a.tag) for a in reversed(list(self.root.iterancestors()))] + [local(self.root.tag)]
        if path.startswith("/") and steps[: len(chain)] == chain:
            steps = steps[len(chain) :]
        elif steps and path.startswith("/") and steps[0] == local(self.root.tag):
            steps = steps[1:]
        node = self.root
        for step in steps:
            match = _STEP.match(step)
            if match is None:
                return None
            name, k = match.group(1), int(match.group(2) or 1)
            same = [c for c in _element_kids(node) if local(c.tag) == name]
            if not 0 < k <= len(same):
                return None
            node = same[k - 1]
        return node

    def locate(self, path: str) -> tuple[str, int | None]:
        """(sender's path, line) of what `path` names; an unknown path comes back absolute, lineless."""
        el = self.element(path)
        if el is None:
            return (path if path.startswith("/") else f"/{local(self.root.tag)}/{path}"), None
        if self._index is not None and el in self._index:
            return self._index[el]
        return _path_of(el), el.sourceline

    def relocate(self, issue: ValidationIssue, **changes: Any) -> ValidationIssue:
        location, line = self.locate(issue.location)
        return replace(issue, location=location, line=issue.line or line, **changes)


def _labels(kids: list[etree._Element]) -> list[str]:
    names = [local(k.tag) for k in kids]
    totals = {n: names.count(n) for n in set(names)}
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(f"{name}[{seen[name]}]" if totals[name] > 1 else name)
    return out


def _path_of(el: etree._Element) -> str:
    parts = []
    node: etree._Element | None = el
    while node is not None:
        parent = node.getparent()
        if parent is None:
            parts.append(local(node.tag))
        else:
            kids = _element_kids(parent)
            parts.append(_labels(kids)[kids.index(node)])
        node = parent
    return "/" + "/".join(reversed(parts))


@dataclass(frozen=True, slots=True)
class Layered:
    """The schema and semantic layers of one XML document."""

    key: str  # schema key: DecMessage, MT1101, ...
    model: Any | None  # None: no usable model, later layers were not run
    issues: list[ValidationIssue]
    not_run: str  # why the semantic (and business) layers were not run; '' when they were
    locator: Locator

    @property
    def usable(self) -> bool:
        return self.model is not None


def _leaves(
    root: etree._Element, issues: list[ValidationIssue], locator: Locator
) -> list[etree._Element] | int:
    """The leaves the schema problems name, or the index of the first problem that is not in a leaf."""
    targets = []
    for n, issue in enumerate(issues):
        el = locator.element(issue.location)
        if el is None or el is root or _element_kids(el):
            return n
        targets.append(el)
    return targets


def check_layers(data: bytes, *, max_bytes: int = safe.DEFAULT_MAX_BYTES) -> Layered:
    """Schema, then semantic (on a usable model). Raises MessageError only for what has no document
    at all (not well-formed, unsafe, unknown type, too large)."""
    from messages.xml.codec import check, family_for_key
    from messages.xml.schemas import validate_tree

    root, key, issues = check(data, max_bytes=max_bytes)
    locator = Locator(root)
    family = family_for_key(key)
    if issues:
        locator.freeze()  # paths and lines as sent, before any leaf is left out
        targets = _leaves(root, issues, locator)
        issues = [locator.relocate(i) for i in issues]  # the sender's paths, then leave the leaves out
        reason = ""
        if isinstance(targets, int):
            reason = (
                f"the schema problem at {issues[targets].location} is in the document's structure, not "
                "in a single value, so the document cannot be read into a declaration or manifest"
            )
            targets = []
        for el in targets:
            parent = el.getparent()
            if parent is not None:
                parent.remove(el)
        if not reason:
            rest = validate_tree(root, key)
            if rest:
                left = ", ".join(sorted({i.location for i in issues}))
                reason = (
                    f"leaving out the invalid value(s) at {left} still leaves a document that breaks "
                    f"its schema ({rest[0].message.rstrip('.')}): a required element is missing or "
                    "has an invalid value, so there is no declaration or manifest to check further"
                )
        if reason:
            return Layered(key, None, issues, reason, locator)
    semantic = family.tree_check(root)
    model = family.decode(root)
    semantic += family.semantic(model)
    issues += [locator.relocate(i, layer=SEMANTIC) for i in semantic]
    return Layered(key, model, issues, "", locator)


class FieldLocator:
    """The `Locator` of a document the hub converted from EDIFACT: a path in that document names a
    field (through the XML binding), and the field names the input segment it was read from
    (`message 7 segment 12 RFF+BM`), so problems found in the converted document are in the
    sender's terms, never a path in XML the sender did not write. ``origins`` is a
    `messages.mapping.provenance.Origins`; ``binding`` None (no usable model) locates every path at
    the message as a whole."""

    def __init__(self, origins: Any, binding: Binding | None, root: str) -> None:
        self.origins = origins
        self.binding = binding
        self.root = root  # the converted document's element name (Manifest, DecMessage)

    def locate(self, path: str) -> tuple[str, int | None]:
        steps = [s.rsplit(":", 1)[-1] for s in path.split(" ", 1)[0].split("/") if s]
        if path.startswith("/") and self.root in steps:  # absolute, perhaps inside an envelope
            steps = steps[steps.index(self.root) + 1 :]
        field = field_path(self.binding, "/".join(steps)) if self.binding is not None and steps else None
        if field is None:
            return self.origins.message, None
        return self.origins.locate(field), None

    def relocate(self, issue: ValidationIssue, **changes: Any) -> ValidationIssue:
        location, _ = self.locate(issue.location)
        return replace(issue, location=location, **changes)
