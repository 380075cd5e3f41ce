"""Directory data (segment-group trees) loaded from ``directories/<DIR>/<MESSAGE>.yaml``.

The files are data, not code: adding D96B or D00B means adding YAML files. Each file is parsed and
compiled once per process (``functools.cache``) into `Level` objects with a per-level
``tag -> entry positions`` index, which is what the structure state machine needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from messages.edifact.errors import DirectoryNotFound

DIRECTORIES = Path(__file__).with_name("directories")
_NAME = re.compile(r"[A-Z0-9]{1,12}")


class DirectoryFormatError(Exception):
    """A directory file is malformed (a defect in our data files, not in the input message)."""


@dataclass(slots=True)
class Entry:
    tag: str  # segment tag, or the trigger tag of the group
    min: int
    max: int
    group: Level | None = None

    @property
    def label(self) -> str:
        return f"{self.group.name} ({self.tag})" if self.group else self.tag


@dataclass(slots=True)
class Level:
    """The root message or one segment group: ordered entries plus a lookup index."""

    name: str
    entries: list[Entry]
    positions: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # entries to check when moving past / closing: index > 0 with min > 0, or any with min > 1
    required: tuple[int, ...] = ()
    # follow[cur][tag] = (k, max of entry k, group of entry k or None, must check skipped entries):
    # the first entry k >= cur matching tag, precomputed so the parser's hot path is one dict lookup
    follow: list[dict[str, tuple[int, int, Level | None, bool]]] = field(default_factory=list)

    @property
    def trigger(self) -> str:
        return self.entries[0].tag


@dataclass(slots=True)
class MessageDefinition:
    message: str
    directory: str
    title: str
    root: Level
    tags: frozenset[str]  # every segment tag that occurs anywhere in the message
    groups: dict[str, Level]


def normalise_directory(directory: str) -> str:
    """``D.95B`` / ``d95b`` -> ``D95B``; anything else than letters/digits is refused."""
    name = directory.replace(".", "").upper()
    if not _NAME.fullmatch(name):
        raise DirectoryNotFound(f"invalid directory name {directory!r}")
    return name


def available(directory: str = "D95B") -> list[str]:
    path = DIRECTORIES / normalise_directory(directory)
    return sorted(p.stem for p in path.glob("*.yaml")) if path.is_dir() else []


def _release_order(name: str) -> tuple[int, str]:
    """``D95B`` < ``D00B`` < ``D13B``: two-digit years from 90 on are 19xx, the rest 20xx."""
    year = int(name[1:3]) if name[1:3].isdigit() else 0
    return (1900 + year if year >= 90 else 2000 + year, name)


def shipped_directories() -> list[str]:
    """Directories with structure data, oldest release first (D95B, D96A, ... D13B)."""
    return sorted((p.name for p in DIRECTORIES.iterdir() if p.is_dir()), key=_release_order)


def load(directory: str, message: str) -> MessageDefinition:
    """Compiled definition of ``message`` in ``directory``; raises `DirectoryNotFound`."""
    directory = normalise_directory(directory)
    message = message.upper()
    if not _NAME.fullmatch(message):
        raise DirectoryNotFound(f"invalid message type {message!r}")
    return _load(directory, message)


@cache
def _load(directory: str, message: str) -> MessageDefinition:
    path = DIRECTORIES / directory / f"{message}.yaml"
    if not (DIRECTORIES / directory).is_dir():
        shipped = ", ".join(shipped_directories())
        raise DirectoryNotFound(f"directory {directory} is not shipped (shipped: {shipped})")
    if not path.is_file():
        have = ", ".join(available(directory)) or "none"
        raise DirectoryNotFound(f"no directory definition for {message} {directory} (available: {have})")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=loader)
    return _compile(raw, path)


def _compile(raw: Any, path: Path) -> MessageDefinition:
    if not isinstance(raw, dict) or not isinstance(raw.get("structure"), list):
        raise DirectoryFormatError(f"{path}: expected a mapping with a 'structure' list")
    groups: dict[str, Level] = {}
    tags: set[str] = set()
    root = _level(str(raw.get("message", path.stem)), raw["structure"], path, groups, tags, is_root=True)
    if root.entries[0].tag != "UNH" or root.entries[-1].tag != "UNT":
        raise DirectoryFormatError(f"{path}: structure must start with UNH and end with UNT")
    return MessageDefinition(
        message=str(raw.get("message", path.stem)),
        directory=str(raw.get("directory", path.parent.name)),
        title=str(raw.get("title", "")),
        root=root,
        tags=frozenset(tags),
        groups=groups,
    )


def _level(
    name: str,
    items: list[Any],
    path: Path,
    groups: dict[str, Level],
    tags: set[str],
    *,
    is_root: bool = False,
) -> Level:
    entries: list[Entry] = []
    for item in items:
        if isinstance(item, list) and len(item) == 3:
            tag, lo, hi = item
            entries.append(Entry(str(tag), int(lo), int(hi)))
            tags.add(str(tag))
        elif isinstance(item, dict) and "group" in item:
            group_name = str(item["group"])
            if group_name in groups:
                raise DirectoryFormatError(f"{path}: group {group_name} defined twice")
            level = _level(group_name, item.get("segments") or [], path, groups, tags)
            first = level.entries[0] if level.entries else None
            if first is None or first.group is not None or (first.min, first.max) != (1, 1):
                raise DirectoryFormatError(
                    f"{path}: {group_name} must start with a trigger segment [TAG, 1, 1]"
                )
            groups[group_name] = level
            entries.append(Entry(first.tag, int(item.get("min", 0)), int(item["max"]), level))
        else:
            raise DirectoryFormatError(f"{path}: bad entry {item!r} in {name}")
        if entries[-1].min > entries[-1].max or entries[-1].max < 1:
            raise DirectoryFormatError(f"{path}: bad repeat range for {entries[-1].label} in {name}")
    if not entries:
        raise DirectoryFormatError(f"{path}: {name} is empty")
    positions: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        positions.setdefault(entry.tag, []).append(index)
    required = tuple(i for i, entry in enumerate(entries) if (i > 0 and entry.min > 0) or entry.min > 1)
    follow: list[dict[str, tuple[int, int, Level | None, bool]]] = []
    for cur in range(len(entries)):
        table: dict[str, tuple[int, int, Level | None, bool]] = {}
        for k in range(len(entries) - 1, cur - 1, -1):  # backwards: the first k >= cur wins
            if k == 0 and not is_root:
                # a group's trigger never repeats inside its instance: the same tag again means the
                # next instance, found one level up (so it is left out of the group's own table)
                continue
            entry = entries[k]
            check = entries[cur].min > 1 or any(cur < r < k for r in required)
            table[entry.tag] = (k, entry.max, entry.group, check)
        follow.append(table)
    return Level(name, entries, {tag: tuple(found) for tag, found in positions.items()}, required, follow)
