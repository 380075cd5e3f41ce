"""Registers every XML family with the dispatcher (imported lazily by messages.xml.codec)."""

from __future__ import annotations

from messages.models.declaration import Declaration
from messages.xml import declaration as dec
from messages.xml.codec import Family, register

register(("DecMessage",), Declaration, Family(
    "DecMessage", dec.decode_tree, dec.build_tree, lambda _m: "DecMessage", dec.semantic_issues,
))
