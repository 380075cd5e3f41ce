"""CUSDEC (BGM 929 import / 830 export) <-> DecMessage (ordinary, summary and complete).

UN segments where D.95B has a natural place: BGM (I/E + entry id), LOC (ports, customs), DTM
(dates), NAD (trade/agent/owner parties), EQD (containers), DOC (licences), CST (one per goods line:
GNo + CodeTS), FTX+AAA (GName). Single-window fields with no UN counterpart travel as swhub
references ``RFF+ZZZ:<value>::<model path>`` (header: SG1; per goods line: SG35), so the mapping is
lossless for every field of the canonical Declaration. A goods line's licences (DecGoodsLimits)
stay inside that line's customs item group: one SG37 ``DOC+<LicTypeCode>::ZZZ+<LicenceNo>`` per
licence (3055 ZZZ: the code is from the single-window list, not UNCL 1001), the rest of the licence
and its VIN lines as SG35 ``RFF+ZZZ:<value>::limits.<k>[.vins.<j>].<field>`` (paths kept within the
an..35 of data element 4000). Table: docs/mappings.md, "CUSDEC".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from messages.edifact import GroupNode, Segment
from messages.mapping.common import Issues, at, dtm, fmt_decimal, joined, text_chunks
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

if TYPE_CHECKING:
    from messages.mapping.provenance import Sources

EXPORT_CODES = ("830",)
_HEAD_LOC = {
    "custom_master": "22",
    "ie_port": "41",
    "desp_port_code": "5",
    "enty_port_code": "24",
    "distinate_port": "8",
    "trade_country": "35",
    "goods_place": "14",
}
_HEAD_DTM = {"ie_date": "132", "d_date": "137"}
_HEAD_NAD = {"trade": "IM", "agent": "DT", "owner": "CN"}  # <prefix>_code / _code_scc|_co_scc / _name
_SPECIAL_HEAD = {
    "ie_flag",
    "entry_id",
    *(_HEAD_LOC),
    *(_HEAD_DTM),
    "trade_code",
    "trade_co_scc",
    "trade_name",
    "agent_code",
    "agent_code_scc",
    "agent_name",
    "owner_code",
    "owner_code_scc",
    "owner_name",
}
_SPECIAL_ITEM = {"g_no", "code_ts", "g_name"}


def _head_parties(tree: GroupNode) -> Iterator[tuple[str, Segment, GroupNode]]:
    """Each header NAD group the declaration head names: its field prefix, the NAD, the group."""
    roles = {role: prefix for prefix, role in _HEAD_NAD.items()}
    for party in tree.groups("NAD"):
        nad = party.segments[0]
        prefix = roles.get(nad.get(0))
        if prefix is not None:
            yield prefix, nad, party


def _scc_attr(prefix: str) -> str:
    return "trade_co_scc" if prefix == "trade" else f"{prefix}_code_scc"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return fmt_decimal(value)


def _zzz(value: str, path: str) -> Segment:
    return Segment.of("RFF", ["ZZZ", value, "", path])


def _generic(obj: object, prefix: str, skip: set[str] = frozenset()) -> list[Segment]:  # type: ignore[assignment]
    out = []
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        if f.name in skip:
            continue
        raw = getattr(obj, f.name)
        if isinstance(raw, list):
            continue  # nested blocks are written with their own paths (goods_limits)
        value = _text(raw)
        if value:
            out.append(_zzz(value, f"{prefix}{f.name}"))
    return out


def to_segments(model: Declaration, bgm_code: str) -> list[Segment]:
    h = model.head
    segs = [Segment.of("BGM", bgm_code, h.entry_id, "9")]
    segs += [Segment.of("LOC", q, getattr(h, a)) for a, q in _HEAD_LOC.items() if getattr(h, a)]
    segs += [dtm(q, getattr(h, a)) for a, q in _HEAD_DTM.items() if getattr(h, a)]
    for c in model.containers:
        segs.append(Segment.of("EQD", "CN", c.container_id, c.container_md))
    refs: list[Segment] = [_zzz(model.version, "version")] if model.version != "4.0" else []
    refs += _generic(h, "head.", _SPECIAL_HEAD)
    for k, c in enumerate(model.containers):
        refs += _generic(c, f"containers.{k}.", {"container_id", "container_md"})
    for attr in ("free_txt", "sign", "tp_access"):
        part = getattr(model, attr)
        if part is not None:
            refs += _generic(part, f"{attr}.") or [_zzz("-", f"{attr}")]
    for k, e in enumerate(model.edocs):
        refs += _generic(e, f"edocs.{k}.")
    for k, p in enumerate(model.cop_promises):
        refs += _generic(p, f"cop_promises.{k}.")
    for attr in _BLOCKS:
        for k, block in enumerate(getattr(model, attr)):
            refs += _generic(block, f"{attr}.{k}.") or [_zzz("-", f"{attr}.{k}")]
    segs += refs
    segs += [Segment.of("DOC", lic.docu_code, lic.cert_code) for lic in model.licences]
    for prefix, role in _HEAD_NAD.items():
        code, scc, name = (
            getattr(h, f"{prefix}_code"),
            getattr(h, _scc_attr(prefix)),
            getattr(h, f"{prefix}_name"),
        )
        if code or scc or name:
            segs.append(Segment.of("NAD", role, code, "", text_chunks(name, 35, 5)))
            if scc:
                segs.append(Segment.of("RFF", ["ZZZ", scc, "", "scc"]))
    segs.append(Segment.of("UNS", "D"))
    for item in model.items:
        segs.append(Segment.of("CST", str(item.g_no), [item.code_ts, "HS"] if item.code_ts else ""))
        if item.g_name:
            segs.append(Segment.of("FTX", "AAA", "", "", text_chunks(item.g_name, 512, 5)))
        segs += _generic(item, "", _SPECIAL_ITEM)
        segs += _limit_segments(item.goods_limits)
    segs.append(Segment.of("UNS", "S"))
    return segs


_LIMIT_DOC = {"lic_type_code", "licence_no"}  # in the SG37 DOC itself


def _limit_segments(limits: list[DecGoodsLimit]) -> list[Segment]:
    """SG35 references of every licence (and VIN line) of one goods line, then one SG37 DOC per
    licence: the customs item group orders RFF groups before DOC groups."""
    refs: list[Segment] = []
    for k, lim in enumerate(limits):
        refs += _generic(lim, f"limits.{k}.", _LIMIT_DOC)
        for j, vin in enumerate(lim.vins):
            refs += _generic(vin, f"limits.{k}.vins.{j}.") or [_zzz("-", f"limits.{k}.vins.{j}")]
    docs = [Segment.of("DOC", [lim.lic_type_code, "", "ZZZ"], lim.licence_no) for lim in limits]
    return refs + docs


# ------------------------------------------------------------------------------ EDIFACT -> model


def _set(obj: object, attr: str, value: str, issues: Issues, where: str) -> bool:
    types = {f.name: str(f.type) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]
    kind = types.get(attr)
    if kind is None:
        return False
    if "Decimal" in kind:
        setattr(obj, attr, issues.decimal(value, where, attr))
    elif kind.startswith("int"):
        setattr(obj, attr, issues.integer(value, where, attr))
    else:
        setattr(obj, attr, value)
    return True


def _container(model: Declaration, k: int) -> DecContainer | None:
    return model.containers[k] if 0 <= k < len(model.containers) else None


# DecMessage blocks of the real format, carried as RFF+ZZZ paths (no CUSDEC segment of their own)
_BLOCKS: dict[str, type] = {
    "request_certs": DecRequestCert,
    "other_packs": DecOtherPack,
    "cop_limits": DecCopLimit,
    "users": DecUser,
}


def _nth(items: list[Any], k: int, cls: type) -> Any:
    while len(items) <= k:
        items.append(cls())
    return items[k]


def _apply_block(model: Declaration, parts: list[str], value: str, issues: Issues, where: str) -> bool:
    if parts[0] in _BLOCKS and len(parts) in (2, 3) and parts[1].isdigit() and int(parts[1]) < 10000:
        block = _nth(getattr(model, parts[0]), int(parts[1]), _BLOCKS[parts[0]])
        return len(parts) == 2 or _set(block, parts[2], value, issues, where)
    return False


def _apply_limit(item: DecListItem, parts: list[str], value: str, issues: Issues, where: str) -> bool:
    """``limits.<k>.<field>`` / ``limits.<k>.vins.<j>[.<field>]`` of one goods line."""
    if len(parts) < 3 or not parts[1].isdigit() or int(parts[1]) >= 25:  # SG37 repeats 25 times
        return False
    lim = _nth(item.goods_limits, int(parts[1]), DecGoodsLimit)
    rest = parts[2:]
    if len(rest) == 1:
        return rest[0] not in (*_LIMIT_DOC, "vins") and _set(lim, rest[0], value, issues, where)
    if rest[0] == "vins" and rest[1].isdigit() and int(rest[1]) < 1000 and len(rest) <= 3:
        vin = _nth(lim.vins, int(rest[1]), DecGoodsLimitVin)
        return len(rest) == 2 or _set(vin, rest[2], value, issues, where)
    return False


def _apply_path(model: Declaration, path: str, value: str, issues: Issues, where: str) -> None:
    parts = path.split(".")
    ok = False
    if parts[0] in _BLOCKS:
        ok = _apply_block(model, parts, value, issues, where)
    elif parts == ["version"]:
        model.version, ok = value, True
    elif len(parts) == 2 and parts[0] == "head" and parts[1] not in _SPECIAL_HEAD:
        ok = _set(model.head, parts[1], value, issues, where)
    elif len(parts) == 1 and parts[0] in ("free_txt", "sign", "tp_access"):
        _part(model, parts[0])
        ok = True
    elif len(parts) == 2 and parts[0] in ("free_txt", "sign", "tp_access"):
        ok = _set(_part(model, parts[0]), parts[1], value, issues, where)
    elif len(parts) == 3 and parts[1].isdigit():
        k = int(parts[1])
        if parts[0] == "containers" and (box := _container(model, k)) is not None:
            ok = _set(box, parts[2], value, issues, where)
        elif parts[0] == "edocs" and k < 10000:
            while len(model.edocs) <= k:
                model.edocs.append(EdocRealation(""))
            ok = _set(model.edocs[k], parts[2], value, issues, where)
        elif parts[0] == "cop_promises" and k < 10000:
            while len(model.cop_promises) <= k:
                model.cop_promises.append(DecCopPromise(""))
            ok = _set(model.cop_promises[k], parts[2], value, issues, where)
    if not ok:
        issues.add(where, f"RFF+ZZZ names no declaration field: {path!r}")


def _part(model: Declaration, attr: str) -> object:
    part = getattr(model, attr)
    if part is None:
        part = {"free_txt": DecFreeTxt, "sign": DecSign, "tp_access": DecTpAccess}[attr]()
        if attr == "sign":
            part.oper_type = ""  # the default 'C' would otherwise appear from nowhere
        setattr(model, attr, part)
    return part


def to_model(tree: GroupNode, issues: Issues, *, export: bool = False) -> Declaration:
    bgm = tree.segment("BGM")
    head = DecHead(ie_flag="E" if export else "I", entry_id=bgm.get(1) if bgm else "")
    model = Declaration(head=head)
    for seg in tree.segments:
        q = seg.get(0)
        if seg.tag == "LOC":
            for attr, code in _HEAD_LOC.items():
                if q == code:
                    setattr(head, attr, seg.get(1))
        elif seg.tag == "DTM":
            for attr, code in _HEAD_DTM.items():
                if q == code:
                    setattr(head, attr, seg.get(0, 1))
        elif seg.tag == "EQD":
            model.containers.append(DecContainer(seg.get(1), seg.get(2)))
    for ref in tree.groups("RFF"):
        rff = ref.segments[0]
        if rff.get(0) == "ZZZ":
            _apply_path(model, rff.get(0, 3), rff.get(0, 1), issues, at(ref))
    model.licences = [LicenseDocu(d.segments[0].get(0), d.segments[0].get(1)) for d in tree.groups("DOC")]
    for prefix, nad, party in _head_parties(tree):
        setattr(head, f"{prefix}_code", nad.get(1))
        setattr(head, f"{prefix}_name", joined(nad, 3))
        for rff in party.segments[1:]:
            if rff.tag == "RFF" and rff.get(0, 3) == "scc":
                setattr(head, _scc_attr(prefix), rff.get(0, 1))
    for line in tree.groups("CST"):
        cst = line.segments[0]
        where = at(line)
        item = DecListItem(
            g_no=issues.integer(cst.get(0), where, "goods line number") or 0, code_ts=cst.get(1), g_name=""
        )
        for seg in line.segments[1:]:
            if seg.tag == "FTX" and seg.get(0) == "AAA":
                item.g_name = joined(seg, 3)
        for ref in line.groups("RFF"):
            rff = ref.segments[0]
            attr = rff.get(0, 3)
            if rff.get(0) == "ZZZ" and attr.startswith("limits."):
                ok = _apply_limit(item, attr.split("."), rff.get(0, 1), issues, at(ref))
            else:
                ok = (
                    rff.get(0) == "ZZZ"
                    and attr not in _SPECIAL_ITEM
                    and _set(item, attr, rff.get(0, 1), issues, at(ref))
                )
            if not ok:
                issues.add(at(ref), f"RFF+ZZZ names no goods-line field: {attr!r}")
        _read_limit_docs(item, line, issues)
        model.items.append(item)
    return model


def _read_limit_docs(item: DecListItem, line: GroupNode, issues: Issues) -> None:
    """The k-th SG37 DOC of a goods line is its k-th licence; a licence named only by references
    (no DOC of its own) is refused rather than read as a licence without number."""
    docs = line.groups("DOC")
    for k, group in enumerate(docs):
        doc = group.segments[0]
        lim = _nth(item.goods_limits, k, DecGoodsLimit)
        lim.lic_type_code, lim.licence_no = doc.get(0), doc.get(1)
    if len(item.goods_limits) > len(docs):
        issues.add(
            at(line),
            f"goods line references licence {len(item.goods_limits) - 1} (RFF+ZZZ limits.*) but has "
            f"{len(docs)} licence DOC segment(s): add DOC+<LicTypeCode>::ZZZ+<LicenceNo>",
        )


# --------------------------------------------------------------------------- where fields came from

# how a sender adds a field the business checks ask for (field path -> EDIFACT)
SPELLING = {
    "head.ie_flag": "BGM 929 (import) / 830 (export)",
    "head.entry_id": "BGM 1004",
    "head.trade_co_scc": "RFF+ZZZ:<USCC>::scc in the NAD+IM group",
    "head.agent_code_scc": "RFF+ZZZ:<USCC>::scc in the NAD+DT group",
    "head.owner_code_scc": "RFF+ZZZ:<USCC>::scc in the NAD+CN group",
    "head.bill_no": "RFF+ZZZ:<bill>::head.bill_no",
    "head.type": "RFF+ZZZ:<type>::head.type",
    "head.correlation_no": "RFF+ZZZ:<entry id>::head.correlation_no",
    "sign.client_seq_no": "RFF+ZZZ:<number>::sign.client_seq_no",
}


def note(tree: GroupNode, model: Declaration, sources: Sources) -> None:
    """Which segment fed which field, by field path (the reader above, the other way round)."""
    bgm = tree.segment("BGM")
    if bgm is not None:
        for path in ("head", "head.entry_id", "head.ie_flag"):
            sources.path(path, bgm)
    for seg in tree.segments:
        q = seg.get(0)
        table = _HEAD_LOC if seg.tag == "LOC" else _HEAD_DTM if seg.tag == "DTM" else {}
        for attr, code in table.items():
            if q == code:
                sources.path(f"head.{attr}", seg)
    for ref in tree.groups("RFF"):
        rff = ref.segments[0]
        if rff.get(0) == "ZZZ":
            sources.path(rff.get(0, 3), rff)
    for k, doc in enumerate(tree.groups("DOC")):
        sources.path(f"licences.{k}", doc.segments[0])
    for prefix, nad, party in _head_parties(tree):
        sources.path(f"head.{prefix}_code", nad)
        sources.path(f"head.{prefix}_name", nad)
        for rff in party.segments[1:]:
            if rff.tag == "RFF" and rff.get(0, 3) == "scc":
                sources.path(f"head.{_scc_attr(prefix)}", rff)
    for i, line in enumerate(tree.groups("CST")):
        cst = line.segments[0]
        for path in ("", ".g_no", ".code_ts"):
            sources.path(f"items.{i}{path}", cst)
        for seg in line.segments[1:]:
            if seg.tag == "FTX" and seg.get(0) == "AAA":
                sources.path(f"items.{i}.g_name", seg)
        for ref in line.groups("RFF"):
            rff = ref.segments[0]
            attr = rff.get(0, 3)
            name = "goods_limits" + attr[len("limits") :] if attr.startswith("limits.") else attr
            sources.path(f"items.{i}.{name}", rff)
        for k, doc in enumerate(line.groups("DOC")):
            for path in ("", ".lic_type_code", ".licence_no"):
                sources.path(f"items.{i}.goods_limits.{k}{path}", doc.segments[0])
