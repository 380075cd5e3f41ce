"""Registers every XML family with the dispatcher (imported lazily by messages.xml.codec)."""

from __future__ import annotations

from messages.models.declaration import Declaration
from messages.models.gate import GateOutReport
from messages.models.manifest import Manifest
from messages.models.notices import InspectionNotice, ReleaseNotice
from messages.models.receipts import DecImportResponse, DecResultReceipt, ManifestResponse
from messages.xml import declaration as dec
from messages.xml import manifest as mft
from messages.xml import notices, receipts
from messages.xml.codec import Family, register
from messages.xml.schemas import MANIFEST_TYPES

register(
    ("DecMessage",),
    Declaration,
    Family(
        dec.decode_tree,
        dec.build_tree,
        lambda _m: "DecMessage",
        dec.semantic_issues,
        binding_of=lambda _m: dec.DECLARATION,
        ignore=frozenset({"version"}),
    ),
)
register(
    ("DecImportResponse",),
    DecImportResponse,
    Family(
        receipts.decode_import_response,
        receipts.build_import_response,
        lambda _m: "DecImportResponse",
        binding_of=lambda _m: receipts.IMPORT_RESPONSE,
    ),
)
register(
    ("DEC_DATA",),
    DecResultReceipt,
    Family(
        receipts.decode_dec_data,
        receipts.build_dec_data,
        lambda _m: "DEC_DATA",
        binding_of=lambda _m: receipts.DEC_DATA,
    ),
)
_manifest = Family(
    mft.decode_tree,
    mft.build_tree,
    mft.schema_key,
    mft.semantic_issues,
    mft.head_type_issues,
    binding_of=mft.binding_of,
)
register(MANIFEST_TYPES, Manifest, _manifest)
register((), ManifestResponse, _manifest)
register(
    ("InspectionNotice",),
    InspectionNotice,
    Family(
        notices.decode_inspection,
        notices.build_inspection,
        lambda _m: "InspectionNotice",
        binding_of=lambda _m: notices.INSPECTION,
    ),
)
register(
    ("ReleaseNotice",),
    ReleaseNotice,
    Family(
        notices.decode_release,
        notices.build_release,
        lambda _m: "ReleaseNotice",
        binding_of=lambda _m: notices.RELEASE,
    ),
)
register(
    ("GateOutReport",),
    GateOutReport,
    Family(
        notices.decode_gate_out,
        notices.build_gate_out,
        lambda _m: "GateOutReport",
        binding_of=lambda _m: notices.GATE_OUT_REPORT,
    ),
)
