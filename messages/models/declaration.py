"""Canonical customs declaration (报关单), independent of wire format.

Field names follow the single-window DecMessage element names in snake_case (DecHead/GrossWet ->
gross_wet), so a reader who knows the official field table can find every field. The XML codec
(DecMessage) and the EDIFACT mapping (CUSDEC) both map to and from these classes; the risk engine
screens them. Plain dataclasses with slots: cheap to build in bulk, no I/O, no validation magic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class DeclarationKind(StrEnum):
    ORDINARY = "ordinary"  # DecHead/Type position 3 = '0' or blank: one-time declaration
    SUMMARY = "summary"  # position 3 = '5': 概要申报 (two-step, step 1)
    COMPLETE = "complete"  # position 3 = '6': 完整申报 (two-step, step 2)


# Position 3 (index 2) of DecHead/Type. Older specs used '3' for two-step; kept configurable here.
TYPE_POS3_KIND: dict[str, DeclarationKind] = {
    "": DeclarationKind.ORDINARY,
    "0": DeclarationKind.ORDINARY,
    " ": DeclarationKind.ORDINARY,
    "5": DeclarationKind.SUMMARY,
    "6": DeclarationKind.COMPLETE,
}


@dataclass(slots=True)
class DecGoodsLimitVin:
    """VIN line of a goods licence (vehicles)."""

    licence_no: str = ""
    lic_type_code: str = ""
    vin_no: str = ""
    bill_lad_date: str = ""
    quality_qgp: str = ""
    motor_no: str = ""
    vin_code: str = ""
    chassis_no: str = ""
    invoice_num: Decimal | None = None
    prod_cnnm: str = ""
    prod_ennm: str = ""
    model_en: str = ""
    price_per_unit: Decimal | None = None


@dataclass(slots=True)
class DecGoodsLimit:
    """产品资质: a licence of one goods line, with its VIN lines."""

    goods_no: str = ""
    lic_type_code: str = ""
    licence_no: str = ""
    lic_wrtof_detail_no: str = ""
    lic_wrtof_qty: Decimal | None = None
    lic_wrtof_qty_unit: str = ""
    vins: list[DecGoodsLimitVin] = field(default_factory=list)


@dataclass(slots=True)
class DecListItem:
    """One goods line (DecList)."""

    g_no: int
    code_ts: str  # HS code: 10 digits (6 allowed on a summary declaration without inspection)
    g_name: str
    g_model: str = ""
    g_qty: Decimal | None = None
    g_unit: str = ""
    first_qty: Decimal | None = None
    first_unit: str = ""
    second_qty: Decimal | None = None
    second_unit: str = ""
    decl_price: Decimal | None = None
    decl_total: Decimal | None = None
    trade_curr: str = ""  # ISO/customs currency code, e.g. USD / 502
    origin_country: str = ""  # customs country code (e.g. CHN/142 style or ISO alpha-3)
    destination_country: str = ""
    duty_mode: str = ""
    ciq_code: str = ""
    goods_attr: str = ""
    purpose: str = ""
    uncode: str = ""  # UN number for dangerous goods
    dang_name: str = ""
    goods_brand: str = ""
    prod_batch_no: str = ""
    # Added with the XML codec (all optional, official DecList names in snake_case).
    class_mark: str = ""
    contr_item: str = ""
    factor: Decimal | None = None
    use_to: str = ""
    work_usd: Decimal | None = None
    exg_no: str = ""
    exg_version: str = ""
    decl_goods_ename: str = ""
    orig_place_code: str = ""
    prod_valid_dt: str = ""
    prod_qgp: str = ""
    stuff: str = ""
    dang_pack_type: str = ""
    dang_pack_spec: str = ""
    eng_man_ent_cnm: str = ""
    no_dang_flag: str = ""
    dest_code: str = ""
    goods_spec: str = ""
    goods_model: str = ""
    produce_date: str = ""
    district_code: str = ""
    ciq_name: str = ""
    mnufctr_reg_no: str = ""
    mnufctr_reg_name: str = ""
    goods_limits: list[DecGoodsLimit] = field(default_factory=list)


@dataclass(slots=True)
class DecContainer:
    container_id: str
    container_md: str = ""  # size/type code
    goods_no: str = ""  # "1,3": the GNo lines in this container
    lcl_flag: str = ""  # 0 FCL, 1 LCL
    goods_conta_wt: Decimal | None = None
    container_wt: Decimal | None = None


@dataclass(slots=True)
class LicenseDocu:
    docu_code: str  # 随附单证代码
    cert_code: str


@dataclass(slots=True)
class DecFreeTxt:
    rel_id: str = ""
    rel_man_no: str = ""
    bon_no: str = ""
    voy_no: str = ""
    dec_bp_no: str = ""
    cus_fie: str = ""
    dec_no: str = ""


@dataclass(slots=True)
class DecSign:
    oper_type: str = "C"
    ic_code: str = ""
    cop_code: str = ""
    oper_name: str = ""
    client_seq_no: str = ""  # the client's own unique id: correlation key of every receipt
    sign: str = ""
    sign_date: str = ""
    host_id: str = ""
    domain_id: str = ""
    note: str = ""
    certificate: str = ""
    bill_seq_no: str = ""


@dataclass(slots=True)
class DecTpAccess:
    """Two-stage admission (两段准入) applications made by the declarant."""

    transition_apply: str = ""
    transition_site: str = ""
    conditional_liftoff_apply: str = ""  # '1' = applies for conditional removal (附条件提离)
    port_dest_merge_check_apply: str = ""  # '1' = port/destination combined inspection


@dataclass(slots=True)
class EdocRealation:
    """An attached electronic document (随附单据). Official element name EdocRealation kept."""

    edoc_id: str
    edoc_code: str = ""
    edoc_fomat_type: str = ""  # official spelling kept (EdocFomatType)
    op_note: str = ""
    edoc_cop_id: str = ""
    edoc_owner_code: str = ""
    sign_unit: str = ""
    sign_time: str = ""
    edoc_owner_name: str = ""
    edoc_size: str = ""


@dataclass(slots=True)
class DecCopPromise:
    """Enterprise promise (DecCopPromises/DecCopPromise); DeclaratioMaterialCode spelling kept."""

    declaratio_material_code: str


@dataclass(slots=True)
class DecHead:
    ie_flag: str  # I import / E export
    type: str = ""  # DecHead/Type; position 3 selects summary (5) / complete (6)
    seq_no: str = ""
    entry_id: str = ""  # 18-digit customs number, assigned by customs
    pre_entry_id: str = ""
    custom_master: str = ""  # declaring customs district (4 digits)
    ie_port: str = ""
    ie_date: str = ""  # yyyyMMdd
    d_date: str = ""
    agent_code: str = ""
    agent_code_scc: str = ""  # USCC of the declaring agent (broker)
    agent_name: str = ""
    trade_code: str = ""
    trade_co_scc: str = ""  # USCC of the domestic consignee/consignor (importer/exporter)
    trade_name: str = ""
    owner_code: str = ""
    owner_code_scc: str = ""
    owner_name: str = ""
    cop_code: str = ""
    cop_code_scc: str = ""
    cop_name: str = ""
    bill_no: str = ""  # bill of lading: the link to the manifest
    traf_mode: str = ""  # 2 sea, 3 rail, 4 road, 5 air
    traf_name: str = ""  # vessel name
    trade_mode: str = ""  # 监管方式, e.g. 0110 general trade
    cut_mode: str = ""
    trans_mode: str = ""  # 1 CIF, 3 FOB ...
    trade_country: str = ""  # country shipped from (import)
    trade_area_code: str = ""
    desp_port_code: str = ""
    enty_port_code: str = ""
    distinate_port: str = ""  # official spelling kept
    goods_place: str = ""
    gross_wet: Decimal | None = None  # official spelling kept (GrossWet)
    net_wt: Decimal | None = None
    pack_no: int | None = None
    wrap_type: str = ""
    entry_type: str = ""
    decl_trn_rel: str = ""
    edi_id: str = ""
    note_s: str = ""
    promise_itmes: str = ""  # official spelling kept
    input_er_name: str = ""
    # Added with the XML codec (all optional, official DecHead names in snake_case).
    appr_no: str = ""
    contr_no: str = ""
    fee_curr: str = ""
    fee_mark: str = ""  # 1 rate, 2 unit price, 3 total
    fee_rate: Decimal | None = None
    insur_curr: str = ""
    insur_mark: str = ""
    insur_rate: Decimal | None = None
    license_no: str = ""
    manual_no: str = ""
    other_curr: str = ""
    other_mark: str = ""
    other_rate: Decimal | None = None
    risk: str = ""
    p_date: str = ""
    typist_no: str = ""
    partener_id: str = ""  # official spelling kept (PartenerID)
    tgd_no: str = ""
    data_source: str = ""
    chk_surety: str = ""
    bill_type: str = ""
    check_flow: str = ""
    tax_aamin_mark: str = ""  # official spelling kept (TaxAaminMark)
    mark_no: str = ""
    bl_no: str = ""
    insp_org_code: str = ""
    spec_decl_flag: str = ""
    purp_org_code: str = ""
    desp_date: str = ""
    cmpl_dschrg_dt: str = ""
    correlation_reason_flag: str = ""
    vsa_org_code: str = ""
    orig_box_flag: str = ""
    declare_name: str = ""
    no_other_pack: str = ""
    org_code: str = ""
    overseas_consignor_code: str = ""
    overseas_consignor_cname: str = ""
    overseas_consignor_ename: str = ""
    overseas_consignor_addr: str = ""
    overseas_consignee_code: str = ""
    overseas_consignee_ename: str = ""
    domestic_consignee_ename: str = ""
    correlation_no: str = ""
    edi_remark2: str = ""
    edi_remark: str = ""
    trade_ciq_code: str = ""
    owner_ciq_code: str = ""
    decl_ciq_code: str = ""
    business_items: str = ""


@dataclass(slots=True)
class DecRequestCert:
    """申请单证: a certificate the declarant applies for (originals / copies)."""

    app_cert_code: str = ""
    appl_ori: str = ""
    appl_copy_quan: str = ""


@dataclass(slots=True)
class DecOtherPack:
    """其他包装: another package type of the consignment."""

    pack_qty: Decimal | None = None
    pack_type: str = ""


@dataclass(slots=True)
class DecCopLimit:
    """企业资质: a qualification of the enterprise."""

    ent_qualif_no: str = ""
    ent_qualif_type_code: str = ""


@dataclass(slots=True)
class DecUser:
    """使用单位: who uses the goods."""

    use_org_person_code: str = ""
    use_org_person_tel: str = ""


@dataclass(slots=True)
class Declaration:
    """A DecMessage: head, goods lines and attached blocks."""

    head: DecHead
    items: list[DecListItem] = field(default_factory=list)
    containers: list[DecContainer] = field(default_factory=list)
    licences: list[LicenseDocu] = field(default_factory=list)
    free_txt: DecFreeTxt | None = None
    sign: DecSign | None = None
    tp_access: DecTpAccess | None = None
    version: str = "4.0"
    edocs: list[EdocRealation] = field(default_factory=list)
    cop_promises: list[DecCopPromise] = field(default_factory=list)
    request_certs: list[DecRequestCert] = field(default_factory=list)
    other_packs: list[DecOtherPack] = field(default_factory=list)
    cop_limits: list[DecCopLimit] = field(default_factory=list)
    users: list[DecUser] = field(default_factory=list)

    @property
    def kind(self) -> DeclarationKind:
        pos3 = self.head.type[2:3]
        return TYPE_POS3_KIND.get(pos3, DeclarationKind.ORDINARY)

    @property
    def client_seq_no(self) -> str:
        return self.sign.client_seq_no if self.sign else ""

    @property
    def declaration_id(self) -> str:
        """Stable identity for deduplication and deterministic sampling: EntryId, else SeqNo,
        else the client's ClientSeqNo."""
        return self.head.entry_id or self.head.seq_no or self.client_seq_no
