"""CUSRES <-> DEC_DATA receipt and MT9999: NOT IMPLEMENTED YET (see docs/mappings.md, "Not done").

Both directions raise `UnknownMessageType` with a clear message instead of producing partial data.
"""

from __future__ import annotations

from messages.edifact import GroupNode, Segment
from messages.errors import UnknownMessageType
from messages.mapping.common import Issues
from messages.models.receipts import DecResultReceipt, ManifestResponse

_TODO = "the CUSRES <-> DEC_DATA / MT9999 mapping is not implemented yet"


def to_dec_data(tree: GroupNode, issues: Issues) -> DecResultReceipt:
    raise UnknownMessageType(_TODO)


def to_manifest_response(tree: GroupNode, sender: str, receiver: str, issues: Issues) -> ManifestResponse:
    raise UnknownMessageType(_TODO)


def dec_data_segments(model: DecResultReceipt, bgm_code: str) -> list[Segment]:
    raise UnknownMessageType(_TODO)


def manifest_response_segments(model: ManifestResponse, bgm_code: str) -> list[Segment]:
    raise UnknownMessageType(_TODO)
