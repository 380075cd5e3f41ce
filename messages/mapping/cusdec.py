"""CUSDEC <-> DecMessage: NOT IMPLEMENTED YET (see docs/mappings.md, "Not done").

Both directions raise `UnknownMessageType` with a clear message instead of producing partial data.
"""

from __future__ import annotations

from messages.edifact import GroupNode, Segment
from messages.errors import UnknownMessageType
from messages.mapping.common import Issues
from messages.models.declaration import Declaration

_TODO = "the CUSDEC <-> DecMessage mapping is not implemented yet"


def to_model(tree: GroupNode, issues: Issues) -> Declaration:
    raise UnknownMessageType(_TODO)


def to_segments(model: Declaration, bgm_code: str) -> list[Segment]:
    raise UnknownMessageType(_TODO)
