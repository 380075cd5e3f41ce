"""DecMessage (报关单) <-> canonical `Declaration`.

`parse_declaration` / `render_declaration` are the stable entry points used by the risk engine's CLI.
Element tables below are in official xsd order (message-formats.md 1.3-1.6); xsd/dec/DecMessage.xsd
declares the same order, and the tests validate every rendered document against it.
"""

from __future__ import annotations

from lxml import etree

from messages.errors import ValidationFailed, ValidationIssue
from messages.models.declaration import (
    DecContainer,
    DecCopLimit,
    DecCopPromise,
    DecFreeTxt,
    DecGoodsLimit,
    DecGoodsLimitVin,
    DecHead,
    Declaration,
    DecListItem,
    DecOtherPack,
    DecRequestCert,
    DecSign,
    DecTpAccess,
    DecUser,
    EdocRealation,
    LicenseDocu,
)
from messages.xml import safe
from messages.xml.binding import Binding, Child, decode_into, encode_into, set_text, unbound_fields
from messages.xml.codec import expect_root
from messages.xml.schemas import DEC_NS, validate_tree
from messages.xml.spec import leaves

DEC_HEAD = Binding(
    DecHead,
    leaves("""
    SeqNo IEFlag! Type AgentCode AgentName ApprNo BillNo ContrNo CustomMaster CutMode
    DistinatePort FeeCurr FeeMark FeeRate:dec GrossWet:dec IEDate IEPort InsurCurr InsurMark
    InsurRate:dec LicenseNo ManualNo NetWt:dec NoteS OtherCurr OtherMark OtherRate:dec OwnerCode
    OwnerName PackNo:int TradeCode TradeCountry TradeMode TradeName TrafMode TrafName TransMode
    WrapType EntryId PreEntryId EdiId Risk CopName CopCode EntryType PDate TypistNo
    InputerName=input_er_name PartenerID TgdNo DataSource DeclTrnRel ChkSurety BillType CopCodeScc
    OwnerCodeScc AgentCodeScc TradeCoScc PromiseItmes TradeAreaCode CheckFlow TaxAaminMark
    MarkNo DespPortCode EntyPortCode GoodsPlace BLNo InspOrgCode SpecDeclFlag PurpOrgCode
    DespDate CmplDschrgDt CorrelationReasonFlag VsaOrgCode OrigBoxFlag DeclareName NoOtherPack
    OrgCode OverseasConsignorCode OverseasConsignorCname OverseasConsignorEname
    OverseasConsignorAddr OverseasConsigneeCode OverseasConsigneeEname DomesticConsigneeEname
    CorrelationNo EdiRemark2 EdiRemark TradeCiqCode OwnerCiqCode DeclCiqCode DDate BusinessItems
"""),
)

GOODS_LIMIT_VIN = Binding(
    DecGoodsLimitVin,
    leaves("""
    LicenceNo LicTypeCode VinNo BillLadDate QualityQgp MotorNo VinCode ChassisNo InvoiceNum:dec
    ProdCnnm ProdEnnm ModelEn PricePerUnit:dec
"""),
)
GOODS_LIMIT = Binding(
    DecGoodsLimit,
    (
        *leaves("GoodsNo LicTypeCode LicenceNo LicWrtofDetailNo LicWrtofQty:dec LicWrtofQtyUnit"),
        Child("DecGoodsLimitVin", "vins", GOODS_LIMIT_VIN, many=True),
    ),
)

DEC_LIST = Binding(
    DecListItem,
    leaves("""
    ClassMark CodeTS! ContrItem DeclPrice:dec DutyMode Factor:dec GModel GName! GNo!:int
    OriginCountry TradeCurr DeclTotal:dec GQty:dec FirstQty:dec SecondQty:dec GUnit FirstUnit
    SecondUnit UseTo WorkUsd:dec ExgNo ExgVersion DestinationCountry CiqCode DeclGoodsEname
    OrigPlaceCode Purpose ProdValidDt ProdQgp GoodsAttr Stuff Uncode DangName DangPackType
    DangPackSpec EngManEntCnm NoDangFlag DestCode GoodsSpec GoodsModel GoodsBrand ProduceDate
    ProdBatchNo DistrictCode CiqName MnufctrRegNo MnufctrRegName
""")
    + (Child("DecGoodsLimit", "goods_limits", GOODS_LIMIT, wrapper="DecGoodsLimits"),),
)

CONTAINER = Binding(
    DecContainer, leaves("ContainerId! ContainerMd GoodsNo LclFlag GoodsContaWt:dec ContainerWt:dec")
)
LICENSE = Binding(LicenseDocu, leaves("DocuCode! CertCode!"))
FREE_TXT = Binding(DecFreeTxt, leaves("RelId RelManNo BonNo VoyNo DecBpNo CusFie DecNo"))
SIGN = Binding(
    DecSign,
    leaves("""
    OperType! ICCode CopCode OperName ClientSeqNo Sign SignDate Certificate HostId BillSeqNo DomainId Note
"""),
)
EDOC = Binding(
    EdocRealation,
    leaves("""
    EdocID!=edoc_id EdocCode EdocFomatType OpNote EdocCopId EdocOwnerCode SignUnit SignTime
    EdocOwnerName EdocSize
"""),
)
REQUEST_CERT = Binding(DecRequestCert, leaves("AppCertCode ApplOri ApplCopyQuan"))
OTHER_PACK = Binding(DecOtherPack, leaves("PackQty:dec PackType"))
COP_LIMIT = Binding(DecCopLimit, leaves("EntQualifNo EntQualifTypeCode"))
USER = Binding(DecUser, leaves("UseOrgPersonCode UseOrgPersonTel"))
COP_PROMISE = Binding(DecCopPromise, leaves("DeclaratioMaterialCode!"))
TP_ACCESS = Binding(
    DecTpAccess, leaves("TransitionApply TransitionSite ConditionalLiftoffApply PortDestMergeCheckApply")
)

DECLARATION = Binding(
    Declaration,
    (
        Child("DecHead", "head", DEC_HEAD, required=True),
        Child("DecList", "items", DEC_LIST, wrapper="DecLists"),
        Child("Container", "containers", CONTAINER, wrapper="DecContainers"),
        Child("LicenseDocu", "licences", LICENSE, wrapper="DecLicenseDocus"),
        Child("DecRequestCert", "request_certs", REQUEST_CERT, wrapper="DecRequestCerts"),
        Child("DecOtherPack", "other_packs", OTHER_PACK, wrapper="DecOtherPacks"),
        Child("DecCopLimit", "cop_limits", COP_LIMIT, wrapper="DecCopLimits"),
        Child("DecUser", "users", USER, wrapper="DecUsers"),
        Child("DecFreeTxt", "free_txt", FREE_TXT),
        Child("DecSign", "sign", SIGN),
        Child("EdocRealation", "edocs", EDOC, many=True),
        Child("DecCopPromise", "cop_promises", COP_PROMISE, wrapper="DecCopPromises"),
        Child("DecTpAccess", "tp_access", TP_ACCESS),
    ),
)


def semantic_issues(decl: Declaration) -> list[ValidationIssue]:
    """Rules an XSD cannot express. Returned together with schema issues (all at once)."""
    issues: list[ValidationIssue] = []
    numbers = [item.g_no for item in decl.items]
    if numbers != list(range(1, len(numbers) + 1)):
        issues.append(
            ValidationIssue(
                "/DecMessage/DecLists",
                f"GNo must run 1..n without gaps, got {numbers}",
                code="goods_numbering",
            )
        )
    summary = decl.kind == "summary"
    for i, item in enumerate(decl.items, start=1):
        if len(item.code_ts) == 6 and not summary:
            issues.append(
                ValidationIssue(
                    f"/DecMessage/DecLists/DecList[{i}]/CodeTS",
                    f"6-digit CodeTS {item.code_ts!r} is only allowed on a summary declaration "
                    f"(DecHead/Type position 3 = 5)",
                    code="code_ts_length",
                )
            )
    known = {str(n) for n in numbers}
    for i, box in enumerate(decl.containers, start=1):
        refs = [r.strip() for r in box.goods_no.split(",") if r.strip()]
        missing = [r for r in refs if r not in known]
        if missing:
            issues.append(
                ValidationIssue(
                    f"/DecMessage/DecContainers/Container[{i}]/GoodsNo",
                    f"refers to goods lines {missing} that do not exist",
                    code="unknown_reference",
                )
            )
    return issues


def decode_tree(root: etree._Element) -> Declaration:
    """Bind an already schema-valid DecMessage tree."""
    decl: Declaration = decode_into(root, DECLARATION)
    decl.version = root.get("Version", "")
    return decl


def build_tree(decl: Declaration) -> etree._Element:
    root = etree.Element(f"{{{DEC_NS}}}DecMessage", nsmap={None: DEC_NS})
    if decl.version:  # client tools write none; keep what was read
        set_text(root, decl.version, "Version")
    encode_into(root, decl, DECLARATION, DEC_NS)
    return root


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def parse_declaration(data: bytes, *, max_bytes: int = safe.DEFAULT_MAX_BYTES) -> Declaration:
    """Safe-parse, validate (schema + semantic rules, all issues at once) and bind a DecMessage."""
    from messages.xml.normalise import normalise, open_envelope

    root = open_envelope(safe.parse(data, max_bytes=max_bytes))
    expect_root(root, "DecMessage")
    root = normalise(root, "DecMessage")
    issues = validate_tree(root, "DecMessage")
    if issues:
        raise ValidationFailed(issues)
    decl = decode_tree(root)
    issues = semantic_issues(decl)
    if issues:
        raise ValidationFailed(issues)
    return decl


def render_declaration(decl: Declaration) -> bytes:
    """Canonical model -> UTF-8 DecMessage bytes. The output is validated before it is returned, so
    it is always schema-valid; a model that cannot be rendered validly raises ValidationFailed."""
    root = build_tree(decl)
    issues = validate_tree(root, "DecMessage") + semantic_issues(decl)
    issues += [
        ValidationIssue(path, "DecMessage has no element for this field: encoding would lose the value")
        for path in unbound_fields(decl, DECLARATION, "model", frozenset({"version"}))
    ]
    if issues:
        raise ValidationFailed(issues)
    return to_bytes(root)
