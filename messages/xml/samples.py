"""Realistic sample messages (Qingdao / Rizhao / Yantai) for golden files, tests, benchmarks and
simulators. Deterministic: the same arguments always build the same model.

Text deliberately contains characters that are separators in EDIFACT (+ : ' ? *) and full-width
forms (＋), so every codec and mapping sees them.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from messages.models.declaration import (
    DecContainer,
    DecCopPromise,
    DecFreeTxt,
    DecHead,
    Declaration,
    DecListItem,
    DecSign,
    DecTpAccess,
    EdocRealation,
    LicenseDocu,
)
from messages.models.gate import GateOut, GateOutReport
from messages.models.manifest import (
    BorderTransportMeans,
    Communication,
    Consignment,
    ConsignmentItem,
    Location,
    Manifest,
    ManifestDeclaration,
    ManifestHead,
    Party,
    Site,
    TransportEquipment,
)
from messages.models.notices import (
    InspectionCheck,
    InspectionInstruction,
    InspectionLocation,
    InspectionNotice,
    InspectionOutcome,
    ReleaseNotice,
    ReleaseType,
)
from messages.models.receipts import (
    ConsignmentResponse,
    DecImportResponse,
    DecResult,
    DecResultReceipt,
    EquipmentResponse,
    ManifestResponse,
)

CST = timezone(timedelta(hours=8))

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(body17: str) -> str:
    """Complete a 17-char USCC body with its GB 32100-2015 check character."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return body17 + _USCC_CHARS[(31 - total % 31) % 31]


_OWNER_CODES = ("TGH", "CSN", "COS", "MSC", "OOL", "SIT")


def container_no(owner: str, serial: int) -> str:
    """ISO 6346 container number with a correct check digit."""
    body = f"{owner}U{serial % 1_000_000:06d}"
    values = {c: v for c, v in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", _letter_values(), strict=True)}
    total = sum((int(c) if c.isdigit() else values[c]) * (2**i) for i, c in enumerate(body))
    return body + str(total % 11 % 10)


def _letter_values() -> list[int]:
    out, v = [], 10
    for _ in range(26):
        if v % 11 == 0:
            v += 1
        out.append(v)
        v += 1
    return out


TRADE_CO_SCC = uscc("91370200MA3C4XYW7")  # 青岛 importer
AGENT_SCC = uscc("91371100MA3N8K2P4")  # 日照 broker
OWNER_SCC = uscc("91370600MA3R5T6U1")  # 烟台 consumer


def declaration(kind: str = "complete") -> Declaration:
    """An import declaration at Qingdao (DecHead/Type pos 3: summary 5, complete 6, ordinary 0)."""
    pos3 = {"summary": "5", "complete": "6", "ordinary": "0"}[kind]
    summary = kind == "summary"
    head = DecHead(
        ie_flag="I",
        type=f"  {pos3}",
        seq_no="" if summary else "000000001234567890",
        entry_id="" if summary else "422720261000012345",
        custom_master="4227",
        ie_port="4227",
        ie_date="20261120",
        d_date="20261121093015",
        agent_code="3711980123",
        agent_code_scc=AGENT_SCC,
        agent_name="日照港通报关有限公司",
        trade_code="3702961234",
        trade_co_scc=TRADE_CO_SCC,
        trade_name="青岛海丰＋国际贸易有限公司",
        owner_code="3706960456",
        owner_code_scc=OWNER_SCC,
        owner_name="烟台福山食品有限公司",
        cop_code="MA3N8K2P4",
        cop_code_scc=AGENT_SCC,
        cop_name="日照港通报关有限公司",
        bill_no="COSU6312345670",
        traf_mode="2",
        traf_name="COSCO QINGDAO/V2611E",
        trade_mode="0110",
        cut_mode="101",
        trans_mode="1",
        trade_country="AUS",
        trade_area_code="AUS",
        desp_port_code="AUMEL",
        enty_port_code="370201",
        distinate_port="CNTAO",
        goods_place="青岛前湾港区 QQCT 堆场: 3号'库*",
        gross_wet=Decimal("24850.5"),
        net_wt=Decimal("24000"),
        pack_no=1200,
        wrap_type="22",
        entry_type="M",
        edi_id="1",
        decl_trn_rel="0",
        note_s="冷冻牛肉 (frozen beef) 'AU?' 备注+说明:无",
        promise_itmes="0000",
        input_er_name="王晓明",
        fee_mark="3",
        fee_rate=Decimal("1500.00"),
        fee_curr="USD",
        declare_name="李强",
    )
    items = [
        DecListItem(
            g_no=1,
            code_ts="020230" if summary else "0202300090",
            g_name="冷冻去骨牛肉",
            g_model="" if summary else "1|2|冷冻|去骨|无品牌|牛腩 BRISKET+",
            g_qty=Decimal("12000"),
            g_unit="035",
            first_qty=Decimal("12000"),
            first_unit="035",
            decl_price=Decimal("6.2500"),
            decl_total=Decimal("75000.0000"),
            trade_curr="USD",
            origin_country="AUS",
            destination_country="CHN",
            duty_mode="1",
            district_code="37021",
        ),
        DecListItem(
            g_no=2,
            code_ts="020629" if summary else "0206290000",
            g_name="冷冻牛杂碎＊牛尾",
            g_qty=Decimal("12000.5"),
            g_unit="035",
            decl_total=Decimal("30000"),
            trade_curr="USD",
            origin_country="AUS",
            destination_country="CHN",
            duty_mode="1",
        ),
    ]
    containers = [
        DecContainer(container_no("TGH", 123456), "45R1", "1,2", "0", Decimal("12425.25")),
        DecContainer(container_no("CSN", 654321), "45R1", "1", "0", Decimal("12425.25")),
    ]
    return Declaration(
        head=head,
        items=items,
        containers=containers,
        licences=[] if summary else [LicenseDocu("A", "437020261234567")],
        free_txt=DecFreeTxt(voy_no="V2611E", dec_bp_no="0633-8381234", cus_fie="QQCT"),
        sign=DecSign(
            oper_type="C",
            ic_code="8900000012345",
            cop_code="MA3N8K2P4",
            oper_name="王晓明",
            client_seq_no=f"RZ2611{pos3}000000001"[:18],
            sign_date="20261121093000",
            host_id="RZHOST01",
            domain_id="1",
            note="两步申报 test: 'A'+B?C*D",
        ),
        tp_access=DecTpAccess(conditional_liftoff_apply="1", port_dest_merge_check_apply="0"),
        edocs=[] if summary else [EdocRealation("20261121QD0001", "00000001", "US", "发票 invoice")],
        cop_promises=[DecCopPromise("101040")],
    )


def _head(mt: str, function_code: str, sender: str = "4227371190123_DXPESW0001", n: int = 1) -> ManifestHead:
    ts = f"20261120{(8 + n % 10):02d}1530123"
    return ManifestHead(f"CN_{mt}_1p0_{sender}_{ts}", function_code, mt, sender, "EPORT", ts, "1.0")


def _party(kind: str, i: int) -> Party:
    if kind == "consignee":
        return Party(
            name=f"青岛海丰＋国际贸易有限公司{i}",
            id=f"USCI+{TRADE_CO_SCC}",
            address_line="山东省青岛市黄岛区前湾港路88号: 'B'座",
            city_name="QINGDAO",
            country_sub_entity_id="37",
            country_code="CN",
            communications=[Communication("0532-86981234", "TE")],
            contact_name="张伟",
        )
    if kind == "consignor":
        return Party(
            name=f"MELBOURNE MEAT EXPORTS PTY LTD {i}",
            address_line="12 DOCKLANDS DR?, MELBOURNE VIC 3008",
            city_name="MELBOURNE",
            country_code="AU",
            communications=[Communication("export@mme.example", "EM")],
        )
    return Party(name="日照港通报关有限公司*通知方", id=f"USCI+{AGENT_SCC}", country_code="CN")


def mt1101(consignments: int = 3, containers_per_bill: int = 2) -> Manifest:
    """Original import manifest of a vessel arriving at Qingdao from Melbourne."""
    cons: list[Consignment] = []
    for i in range(1, consignments + 1):
        boxes = [
            TransportEquipment(
                container_no(_OWNER_CODES[(i + k) % len(_OWNER_CODES)], i * 10 + k),
                "45R1" if k % 2 == 0 else "22G1",
                "2",
                "8",
                [f"AU{i:05d}{k}"],
            )
            for k in range(containers_per_bill)
        ]
        items = [
            ConsignmentItem(
                sequence_numeric=k + 1,
                cargo_description=f"冷冻牛肉 FROZEN BEEF+{k} 'A' grade",
                package_quantity=600,
                package_type_code="CT",
                marks_numbers="N/M",
                hs_code="020230",
                gross_mass=Decimal("12425.25"),
                equipment_ids=[box.equipment_id],
            )
            for k, box in enumerate(boxes)
        ]
        cons.append(
            Consignment(
                bill_no=f"COSU63{i:08d}",
                condition_code="10",
                gross_volume=Decimal("67.5"),
                value_amount=Decimal("75000"),
                value_currency="USD",
                package_quantity=600 * max(1, containers_per_bill),
                package_type_code="CT",
                gross_mass=Decimal("12425.25") * max(1, containers_per_bill),
                freight_payment_method_code="PP",
                loading_location_id="AUMEL",
                unloading_location_id="CNTAO/4227",
                consignor=_party("consignor", i),
                consignee=_party("consignee", i),
                notify_party=_party("notify", i),
                transport_equipment=boxes,
                items=items
                or [ConsignmentItem(1, "冷冻牛肉 break bulk", 10, "PK", gross_mass=Decimal("1000"))],
            )
        )
    return Manifest(
        _head("MT1101", "9"),
        ManifestDeclaration(
            declaration_office_id="4227",
            carrier_id="COSCO",
            agent_id="4227371190123",
            representative_person_name="青岛外代 PENAVICO QINGDAO",
            conveyance=BorderTransportMeans(
                journey_id="V2611E",
                type_code="1",
                id="UN9133329",
                name="COSCO QINGDAO",
                first_arrival_location_id="CNTAO",
                arrival_date_time="20261120083000",
            ),
            loading_location=Location("AUMEL", "20261101"),
            unloading_location=Location("CNTAO/4227", "20261120083000"),
            consignments=cons,
        ),
    )


def _bill_only(
    bill: str, boxes: list[TransportEquipment], qty: int = 600, mass: str = "12425.25"
) -> Consignment:
    return Consignment(
        bill_no=bill,
        package_quantity=qty,
        package_type_code="CT",
        gross_mass=Decimal(mass),
        transport_equipment=boxes,
    )


def mt2101() -> Manifest:
    m = mt1101(2)
    m.head = _head("MT2101", "9", n=2)
    d = m.declaration
    d.exit_customs_office_id = "4228"
    d.conveyance = BorderTransportMeans(
        journey_id="2611W", type_code="1", id="UN9795610", name="RIZHAO EXPRESS"
    )
    d.loading_location = Location("CNRZH/4228", "20261125")
    d.unloading_location = Location("KRPUS", "20261127")
    for c in d.consignments:
        c.loading_location_id, c.unloading_location_id = "CNRZH", "KRPUS"
        c.consignor, c.consignee = _party("consignee", 9), _party("consignor", 9)
    return m


def mt3101() -> Manifest:
    box = TransportEquipment(
        container_no("TGH", 300001), "22G1", "2", "8", ["RZ000001"], bill_no="RZHU26110001"
    )
    return Manifest(
        _head("MT3101", "2", "4228913702123", 3),
        ManifestDeclaration(
            declaration_office_id="4228",
            conveyance=BorderTransportMeans(
                journey_id="2611W", type_code="1", id="UN9795610", name="RIZHAO EXPRESS"
            ),
            unloading_location=Location("CNRZH/4228", "20261124"),
            consignments=[
                Consignment(
                    "RZHU26110001", package_quantity=800, package_type_code="BG", gross_mass=Decimal("20000")
                )
            ],
            transport_equipment=[box],
        ),
    )


def mt4101() -> Manifest:
    boxes = [TransportEquipment(container_no("COS", 400001), "45G1", fullness_code="8", seal_ids=["YT77+1"])]
    return Manifest(
        _head("MT4101", "2", n=4),
        ManifestDeclaration(
            declaration_office_id="4231",
            carrier_id="COSCO",
            exit_customs_office_id="4231",
            conveyance=BorderTransportMeans(
                journey_id="2611N",
                type_code="1",
                id="UN9321483",
                name="YANTAI GLORY",
                actual_date_time="20261126221500",
                loading_location_id="CNYNT",
            ),
            loading_location=Location("CNYNT/4231", "20261126221500"),
            consignments=[_bill_only("YTHU26110042", boxes)],
        ),
    )


def _tally(mt: str) -> Manifest:
    boxes = [
        TransportEquipment(
            container_no("TGH", 500001 + k),
            "45R1",
            "2",
            "8",
            [f"AU7{k}"],
            package_quantity=600,
            gross_mass=Decimal("12425.25"),
        )
        for k in range(2)
    ]
    decl = ManifestDeclaration(
        declaration_office_id="4227",
        conveyance=BorderTransportMeans(
            journey_id="V2611E",
            type_code="1",
            id="UN9133329",
            name="COSCO QINGDAO",
            actual_date_time="20261120090000",
            completed_date_time="20261121030000",
        ),
        tally_party_id="4227370212345",
        consignments=[
            Consignment(
                "COSU6300000001",
                package_quantity=1200,
                package_type_code="CT",
                gross_mass=Decimal("24850.5"),
                transport_equipment=boxes,
            )
        ],
        additional_information="理货正常: 无残损'无溢短",
    )
    if mt == "MT5101":
        decl.unloading_location = Location("CNTAO/4227", "20261120")
    else:
        decl.loading_location = Location("CNTAO/4227", "20261121030000")
        decl.conveyance.loading_location_id = "CNTAO"
    return Manifest(_head(mt, "2", "4227370212345", 5), decl)


def mt5101() -> Manifest:
    return _tally("MT5101")


def mt5102() -> Manifest:
    return _tally("MT5102")


def _transfer(mt: str) -> Manifest:
    boxes = [TransportEquipment(container_no("OOL", 610001), "45R1", fullness_code="8")]
    return Manifest(
        _head(mt, "2", "4227370299999", 6),
        ManifestDeclaration(
            declaration_office_id="4227",
            id=f"{mt}QD2611000001",
            additional_information="分拨至保税物流中心 查验+冷链" if mt == "MT6102" else "分流: 泊位调整",
            conveyance=BorderTransportMeans(journey_id="V2611E", id="UN9133329", name="COSCO QINGDAO"),
            unloading_location=Location("CNTAO/4227", "20261120"),
            origin_site=Site("CNTAO4227QQCT", "青岛前湾集装箱码头", "4227"),
            destination_site=Site("4227W001", "青岛保税港区冷链监管仓", "4258"),
            consignments=[_bill_only("COSU6300000001", boxes)],
        ),
    )


def mt6101() -> Manifest:
    return _transfer("MT6101")


def mt6102() -> Manifest:
    return _transfer("MT6102")


def mt9999() -> ManifestResponse:
    head = ManifestHead(
        "CN_MT9999_1p0_4227_20261120091500123",
        "3",
        "MT2101",
        "4227",
        "4227371190123_DXPESW0001",
        "20261120091500123",
    )
    return ManifestResponse(
        head=head,
        journey_id="2611W",
        conveyance_id="UN9795610",
        consignments=[
            ConsignmentResponse("COSU6300000001", "01", text="21301 预配舱单主要数据传输成功"),
            ConsignmentResponse("COSU6300000002", "03", text="21302 收货人名称不能为空: 'X'"),
        ],
        equipment=[EquipmentResponse(container_no("TGH", 123456), "11", "COSU6300000001", "2313 放行")],
    )


def import_response(ok: bool = True) -> DecImportResponse:
    if ok:
        return DecImportResponse("0", "", "RZ26116000000001", "000000001234567890")
    return DecImportResponse("1", "表头[TradeCoScc]校验失败: 统一社会信用代码格式错误'?'", "RZ26116000000001")


def dec_data(channel: str = "L") -> DecResultReceipt:
    return DecResultReceipt(
        DecResult(
            seq_no="000000001234567890",
            custom_master="4227",
            entry_id="422720261000012345",
            notice_date="2026-11-21T09:40:12",
            channel=channel,
            note="海关已接收+入库",
            decl_port="4227",
            agent_name="日照港通报关有限公司",
            trade_co="3702961234",
            i_e_date="20261120",
            pack_no=1200,
            bill_no="COSU6312345670",
            traf_mode="2",
            voyage_no="V2611E",
            net_wt=Decimal("24000"),
            gross_wt=Decimal("24850.5"),
            d_date="20261121",
        ),
        interface_version="1.0",
        result_info="入库成功: 报关单号 422720261000012345",
    )


def inspection_notice() -> InspectionNotice:
    return InspectionNotice(
        notice_id="INSP-4227-20261121-0001",
        bill_no="COSU6312345670",
        issued_at=datetime(2026, 11, 21, 10, 5, tzinfo=CST),
        location=InspectionLocation.PORT,
        instruction=InspectionInstruction.MACHINE_THEN_MANUAL,
        site_code="4227/QQCT",
        outcome=InspectionOutcome.PENDING,
        declaration_ids=["422720261000012345"],
        container_ids=[container_no("TGH", 123456), container_no("CSN", 654321)],
        checks=[
            InspectionCheck("QTY", "数量核对: 1200 CT"),
            InspectionCheck("QUARANTINE", "检疫'冷链'+消毒"),
        ],
        reasons=["RULE:ORIGIN-AU-BEEF", "RANDOM:2%"],
    )


def release_notice() -> ReleaseNotice:
    return ReleaseNotice(
        notice_id="REL-4227-20261121-0001",
        bill_no="COSU6312345670",
        released_at=datetime(2026, 11, 22, 2, 30, tzinfo=CST),  # a Sunday night: gates run 24x7
        release_type=ReleaseType.CONDITIONAL,
        entry_id="422720261000012345",
        container_ids=[container_no("TGH", 123456)],
        note="附条件提离: 目的地检验",
    )


def gate_out_report() -> GateOutReport:
    return GateOutReport(
        report_id="GO-QQCT-20261122-0001",
        sender_id="91370200M3C0PRT01B",
        carrier_id="COSU",
        gate_outs=[
            GateOut(
                container_id=container_no("TGH", 123456),
                bill_no="COSU6312345670",
                gated_out_at=datetime(2026, 11, 22, 3, 15, tzinfo=CST),  # after the night release
                site_code="CNTAO/4227",
                size_type="45G1",
                status_code="2",
                fullness_code="5",
                vehicle_id="LUB12345",
            )
        ],
    )


def all_samples() -> dict[str, object]:
    """Golden sample name -> model."""
    return {
        "DecMessage_summary": declaration("summary"),
        "DecMessage_complete": declaration("complete"),
        "DecImportResponse_ok": import_response(True),
        "DecImportResponse_failed": import_response(False),
        "DEC_DATA_L": dec_data("L"),
        "DEC_DATA_P": dec_data("P"),
        "MT1101": mt1101(),
        "MT2101": mt2101(),
        "MT3101": mt3101(),
        "MT4101": mt4101(),
        "MT5101": mt5101(),
        "MT5102": mt5102(),
        "MT6101": mt6101(),
        "MT6102": mt6102(),
        "MT9999": mt9999(),
        "InspectionNotice": inspection_notice(),
        "ReleaseNotice": release_notice(),
        "GateOutReport": gate_out_report(),
    }
