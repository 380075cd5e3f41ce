"""Receipt XML: DecImportResponse (导入回执) and DEC_DATA (业务回执) <-> canonical receipt models.
(The manifest receipt MT9999 lives with the manifest family in messages.xml.manifest.)"""

from __future__ import annotations

from lxml import etree

from messages.models.receipts import DecImportResponse, DecResult, DecResultReceipt
from messages.xml.binding import Binding, Child, decode_into, encode_into
from messages.xml.schemas import DEC_NS
from messages.xml.spec import leaves

IMPORT_RESPONSE = Binding(DecImportResponse, leaves("ResponseCode! ErrorMessage ClientSeqNo SeqNo TrnPreId"))

# DEC_RESULT uses upper snake case already: element name lower-cased is the attribute name.
_RESULT_FIELDS = (
    "SEQ_NO CUS_CIQ_NO CUSTOM_MASTER ENTRY_ID NOTICE_DATE CHANNEL! NOTE DECL_PORT AGENT_NAME DECLARE_NO "
    "TRADE_CO CUSTOMS_FIELD BONDED_NO I_E_DATE PACK_NO:int BILL_NO TRAF_MODE VOYAGE_NO NET_WT:dec "
    "GROSS_WT:dec D_DATE"
)
DEC_RESULT = Binding(
    DecResult,
    leaves(" ".join(f"{tok}={tok.split(':')[0].rstrip('!').lower()}" for tok in _RESULT_FIELDS.split())),
)
DEC_DATA = Binding(
    DecResultReceipt,
    (
        *leaves("INTERFACE_VERSION=interface_version"),
        Child("DEC_RESULT", "result", DEC_RESULT, required=True),
        *leaves("RESULT_INFO=result_info"),
    ),
)


def decode_import_response(root: etree._Element) -> DecImportResponse:
    return decode_into(root, IMPORT_RESPONSE)


def build_import_response(model: DecImportResponse) -> etree._Element:
    root = etree.Element(f"{{{DEC_NS}}}DecImportResponse", nsmap={None: DEC_NS})
    encode_into(root, model, IMPORT_RESPONSE, DEC_NS)
    return root


def decode_dec_data(root: etree._Element) -> DecResultReceipt:
    return decode_into(root, DEC_DATA)


def build_dec_data(model: DecResultReceipt) -> etree._Element:
    root = etree.Element("DEC_DATA")
    encode_into(root, model, DEC_DATA, "")
    return root
