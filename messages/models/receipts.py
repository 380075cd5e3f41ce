"""Canonical receipts (回执): declaration import response, declaration business receipt, manifest MT9999.

Field names follow the official element names in snake_case. These are what CUSRES maps onto.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from messages.models.manifest import ManifestHead

# DEC_DATA/DEC_RESULT/CHANNEL status codes (HXT CusDecStatus). The Sp* two-step codes are HXT
# mnemonics whose raw wire value is unconfirmed; they are accepted so two-step receipts validate.
CHANNEL_CODES: dict[str, str] = {
    "0": "申报成功",
    "1": "申报成功",
    "7": "申报成功",
    "a": "检务",
    "b": "检务",
    "c": "检务",
    "d": "检务",
    "A": "海关放行前删除或异常处理",
    "B": "担保放行",
    "C": "出口查验通知",
    "D": "海关删单",
    "E": "退单/不受理",
    "F": "放行交单",
    "G": "已审结",
    "H": "挂起需手工申报",
    "I": "无纸放行通知",
    "J": "通关无纸化审结",
    "K": "无纸化担保放行",
    "L": "海关已接收(入库)",
    "M": "重审",
    "N": "重传",
    "P": "海关已放行",
    "R": "已结关",
    "S": "施检",
    "T": "需交税费",
    "W": "无纸验放通知(审结)",
    "X": "准予进港",
    "Y": "申报失败",
    "Z": "退回修改",
    "f0": "客户端错误",
    "F1": "暂存失败",
    "S0": "暂存成功",
    "SpL": "概要申报海关入库",
    "SpE": "概要申报海关退单",
    "SpJ": "概要申报海关审结",
    "Sp1": "要求补充申报通知",
    "SpC": "查验通知",
    "SpK": "提货放行",
}

# MT9999 ResponseType/Code (CC020). "0" is seen in HXT receipts besides the documented codes.
MANIFEST_RESPONSE_CODES: dict[str, str] = {
    "01": "海关接受申报",
    "02": "传输待人工审核",
    "03": "不允许传输/退单",
    "11": "提运单放行",
    "12": "提(运)单或集装箱(器)拒装",
    "13": "禁卸",
    "0": "未分类",
}


@dataclass(slots=True)
class DecImportResponse:
    """导入回执: did the single window accept the DecMessage file? ResponseCode 0 ok / 1 failed."""

    response_code: str
    error_message: str = ""
    client_seq_no: str = ""
    seq_no: str = ""
    trn_pre_id: str = ""

    @property
    def accepted(self) -> bool:
        return self.response_code == "0"


@dataclass(slots=True)
class DecResult:
    """DEC_DATA/DEC_RESULT: the customs business status of a declaration (CHANNEL)."""

    seq_no: str = ""
    cus_ciq_no: str = ""
    custom_master: str = ""
    entry_id: str = ""
    notice_date: str = ""
    channel: str = ""
    note: str = ""
    decl_port: str = ""
    agent_name: str = ""
    declare_no: str = ""
    trade_co: str = ""
    customs_field: str = ""
    bonded_no: str = ""
    i_e_date: str = ""
    pack_no: int | None = None
    bill_no: str = ""
    traf_mode: str = ""
    voyage_no: str = ""
    net_wt: Decimal | None = None
    gross_wt: Decimal | None = None
    d_date: str = ""

    @property
    def channel_text(self) -> str:
        return CHANNEL_CODES.get(self.channel, "")


@dataclass(slots=True)
class DecResultReceipt:
    """业务回执 root DEC_DATA."""

    result: DecResult
    interface_version: str = ""
    result_info: str = ""


@dataclass(slots=True)
class ConsignmentResponse:
    bill_no: str  # TransportContractDocument/ID
    code: str  # ResponseType/Code
    house_bill_no: str = ""  # AssociatedTransportDocument/ID
    text: str = ""  # ResponseType/Text: 5-digit reason + message


@dataclass(slots=True)
class EquipmentResponse:
    equipment_id: str
    code: str
    bill_no: str = ""
    text: str = ""


@dataclass(slots=True)
class ManifestResponse:
    """MT9999 customs response. head.message_type is the business type answered (or MT9999)."""

    head: ManifestHead
    response_id: str = ""
    journey_id: str = ""
    conveyance_id: str = ""
    consignments: list[ConsignmentResponse] = field(default_factory=list)
    equipment: list[EquipmentResponse] = field(default_factory=list)
    statement_code: str = ""
    statement_description: str = ""
