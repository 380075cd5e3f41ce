"""Who may send what: the business authority of a message, beyond the sender's role.

Checked in the intake transaction (the workflow's accept hook), so a refused message is archived as
rejected, changes nothing and is forwarded nowhere:
- a bill of lading belongs to the sender of its first manifest; manifests, amendments and
  distribution applications (MT6102) for it from anyone else are refused (409);
- arrival (MT3101) and tally (MT5101) reports come from a site the sender operates or is assigned to;
- a gate-out report (GateOutReport, CODECO 36) names containers the hub knows under their bills, at
  their bill's terminal or distribution destination, and comes from an operator of that site;
- a broker's declaration names the broker as declarant and a consignee that entrusted the broker,
  the one the manifest names for the bill (when the manifest is there)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.among import among
from hub.db.clearance_tables import ClrConsignment, ClrContainer
from hub.db.models import Party
from hub.services import entrustments, party_cache
from hub.services.intake import Accepted, IntakeRejected, Problem
from hub.services.party_cache import PartyView

MANIFEST_TYPES = ("MT1101", "MT6102")
SITE_REPORTS = ("MT3101", "MT5101")
GATE_OUT = "GateOutReport"
UNKNOWN_CONTAINER = "unknown_container"
BILL = "Declaration/Consignment/TransportContractDocument/ID"
SITE = "Declaration/UnloadingLocation/ID"


def uscc_of(party_id: str) -> str:
    """Manifest party IDs carry a scheme ('USCI+9137...'); the USCC is what follows it."""
    return party_id.rsplit("+", 1)[-1].strip()


def manifest_consignee(cons: Any) -> str:
    return uscc_of(cons.consignee.id) if cons.consignee is not None and cons.consignee.id else ""


def prefetch(session: Session, batch: Iterable[Accepted]) -> None:
    """The consignments a batch's authority checks read, in ONE query instead of one per bill: they
    land in the batch session's identity map (which keeps them: Database.unit_of_work(batch=True)),
    where the checks' session.get finds them; a bill not found is queried as on its own. Call it once
    per batch, before its messages are accepted."""
    batch = list(batch)
    bills = set().union(*(_bills_checked(msg) for msg in batch)) - {"", None}
    boxes = {(g.bill_no, g.container_id) for msg in batch for g in _gate_outs(msg)}
    with session.no_autoflush:  # the batch's own rows are not flushed: added as each is accepted
        if bills:
            session.scalars(select(ClrConsignment).where(among(session, ClrConsignment.bill_no, bills))).all()
        if boxes:  # the gate-outs' containers (_gate_out, then the workflow's gate_out): a superset
            query = select(ClrContainer).where(
                among(session, ClrContainer.bill_no, {b for b, _ in boxes}),
                among(session, ClrContainer.container_no, {c for _, c in boxes}),
            )
            session.scalars(query).all()


def _gate_outs(msg: Accepted) -> list[Any]:
    return list(getattr(msg.model, "gate_outs", None) or []) if msg.message_type == GATE_OUT else []


def _bills_checked(msg: Accepted) -> set[str]:
    """The bills whose consignment row the authority checks of `msg` read (problems, declarations)."""
    model = msg.model
    try:
        if msg.message_type in MANIFEST_TYPES:
            return {c.bill_no for c in model.declaration.consignments}
        if msg.message_type in SITE_REPORTS:
            decl = model.declaration
            return {c.bill_no for c in decl.consignments} | {
                e.bill_no for e in decl.transport_equipment if getattr(e, "bill_no", "")
            }
        if msg.message_type == GATE_OUT:
            return {g.bill_no for g in model.gate_outs}
        if msg.message_type == "DecMessage":
            return {model.head.bill_no or ""}
    except AttributeError:  # not the model this type usually has: its checks query on their own
        pass
    return set()


def check(session: Session, msg: Accepted) -> None:
    found = problems(session, msg)
    if found and msg.message_type in MANIFEST_TYPES:
        raise IntakeRejected(409, msg.message_id, found, f"{len(found)} bill(s) of another party")
    if any(p.code == UNKNOWN_CONTAINER for p in found):
        raise IntakeRejected(422, msg.message_id, found, f"{len(found)} gate-out problem(s)")
    if found:
        raise IntakeRejected(403, msg.message_id, found, f"{len(found)} site problem(s)")


def problems(session: Session, msg: Accepted) -> list[Problem]:
    """Every authority problem of a manifest or site report (none for other types); read-only."""
    if msg.message_type in MANIFEST_TYPES:
        return _owner(session, msg)
    if msg.message_type in SITE_REPORTS:
        return _site(session, msg)
    if msg.message_type == GATE_OUT:
        return _gate_out(session, msg)
    return []


def _owner(session: Session, msg: Accepted) -> list[Problem]:
    problems = []
    consignments = msg.model.declaration.consignments
    for i, cons in enumerate(consignments, 1):
        row = session.get(ClrConsignment, cons.bill_no)
        if row is not None and row.manifest_sender and row.manifest_sender != msg.sender:
            where = BILL if len(consignments) == 1 else BILL.replace("Consignment", f"Consignment[{i}]")
            problems.append(
                Problem(
                    where,
                    f"bill of lading {cons.bill_no} belongs to the party that sent its first manifest; "
                    "only that party may amend it or apply for its distribution: check the bill number",
                    "not_bill_owner",
                )
            )
    return problems


def sites_of(party: Party | PartyView | None) -> set[str]:
    if party is None:
        return set()
    return {s for s in [party.terminal_code or "", *(party.terminals or [])] if s}


def _site(session: Session, msg: Accepted) -> list[Problem]:
    """A site report names a site the sender operates (or, for a tally company, is assigned to).
    The operator of the bill's own terminal may also report the box at another site (a distribution
    destination): the workflow counts that only after an MT6102 names the site."""
    if "port_operator" not in msg.sender_roles and "tally" not in msg.sender_roles:
        return []  # another role allowed by the intake matrix (e.g. a tester): nothing site-bound
    party = party_cache.party(session, msg.sender)
    allowed = sites_of(party)
    decl = msg.model.declaration
    site = decl.unloading_location.id if decl.unloading_location else ""
    kind = "arrival" if msg.message_type == "MT3101" else "tally"
    bills = {c.bill_no for c in decl.consignments} | {
        e.bill_no for e in decl.transport_equipment if getattr(e, "bill_no", "")
    }
    problems = []
    for bill in sorted(bills):
        row = session.get(ClrConsignment, bill)
        home = {row.terminal_code} - {""} if row else set()
        if site in allowed or home & allowed or (not site and not home):
            continue
        problems.append(
            Problem(
                SITE if site else BILL,
                f"{kind} report for bill {bill} at site {site or sorted(home)!r}, but you are registered "
                f"for {sorted(allowed) or 'no site'}: report only for a site you operate or are assigned "
                "to (the hub administrator registers terminal_code / terminals)",
                "site_not_registered",
            )
        )
    return problems


def _gate_out(session: Session, msg: Accepted) -> list[Problem]:
    """Each box leaves through the gate of its bill's terminal or distribution destination (the
    sites arrivals count from, workflow._arrival_site_ok), reported by an operator of that site or,
    as arrivals are (_site), by the operator of the bill's terminal."""
    operator = "port_operator" in msg.sender_roles
    allowed = sites_of(party_cache.party(session, msg.sender)) if operator else set()
    boxes = msg.model.gate_outs
    problems = []
    for i, g in enumerate(boxes, 1):
        where = "GateOuts/GateOut" + (f"[{i}]" if len(boxes) > 1 else "")
        row = session.get(ClrConsignment, g.bill_no)
        if row is None or session.get(ClrContainer, (g.bill_no, g.container_id)) is None:
            problems.append(
                Problem(
                    f"{where}/ContainerId",
                    f"container {g.container_id} is not known under bill {g.bill_no}: no manifest or "
                    "arrival lists it; check the container and bill numbers (RFF+BM)",
                    UNKNOWN_CONTAINER,
                )
            )
            continue
        homes = {row.terminal_code or "", row.destination_site or ""} - {""}
        if homes and g.site_code not in homes:
            problems.append(
                Problem(
                    f"{where}/SiteCode",
                    f"container {g.container_id} of bill {g.bill_no} is at {sorted(homes)}, not at site "
                    f"{g.site_code!r}: a gate-out counts only from the bill's terminal or the destination "
                    "of its distribution application (MT6102)",
                    "not_container_site",
                )
            )
        elif operator and g.site_code not in allowed and (row.terminal_code or "") not in allowed:
            # (as for arrivals, the bill's terminal operator may report for its distribution destination)
            problems.append(
                Problem(
                    f"{where}/SiteCode",
                    f"gate-out of container {g.container_id} at site {g.site_code!r}, but you are "
                    f"registered for {sorted(allowed) or 'no site'}: only the operator of the container's "
                    "terminal or site may report its gate-out",
                    "site_not_registered",
                )
            )
    return problems


def declaration_problems(session: Session, decl: Any, sender: str, roles: frozenset[str]) -> list[Problem]:
    """A broker declares as itself, for a consignee that entrusted it; the manifest, once there,
    must name that consignee."""
    if "broker" not in roles:
        return []
    problems = []
    head = decl.head
    if head.agent_code_scc and head.agent_code_scc != sender:
        problems.append(
            Problem(
                "DecHead/AgentCodeScc",
                f"declarant {head.agent_code_scc} is not you ({sender}): declare under your own USCC",
                "not_declarant",
            )
        )
    elif not head.agent_code_scc:
        problems.append(
            Problem("DecHead/AgentCodeScc", f"required: your USCC {sender} as the declarant", "missing_value")
        )
    consignee = head.trade_co_scc
    if not consignee:
        problems.append(
            Problem(
                "DecHead/TradeCoScc", "required: the USCC of the consignee you declare for", "missing_value"
            )
        )
    elif not entrustments.entrusted(session, consignee, sender):
        problems.append(
            Problem(
                "DecHead/TradeCoScc",
                f"consignee {consignee} has not entrusted you (代理报关委托): the consignee registers the "
                "entrustment with POST /api/v1/entrustments",
                "not_entrusted",
            )
        )
    mismatch = consignee_mismatch(session, head.bill_no, consignee)
    if mismatch:
        problems.append(Problem("DecHead/TradeCoScc", mismatch, "consignee_mismatch"))
    return problems


def consignee_mismatch(session: Session, bill: str, consignee: str) -> str:
    """The reason a declaration's consignee is not the manifest's, or ''."""
    row = session.get(ClrConsignment, bill) if bill else None
    if row is None or not row.consignee_uscc or not consignee or row.consignee_uscc == consignee:
        return ""
    return (
        f"consignee {consignee} is not the consignee the manifest names for bill {bill}: "
        "check DecHead/BillNo and DecHead/TradeCoScc"
    )


def report_sender(session: Session, answered: str, bill: str, receiver_id: str) -> str | None:
    """Who sent the site report (MT3101/MT5101) an MT9999 answers: the party its ReceiverID names,
    else the latest sender of that report type for the bill (never the manifest owner by default)."""
    from hub.db.models import Message, MessageRef

    ids = select(MessageRef.message_id).where(MessageRef.kind == "bill", MessageRef.value == bill)
    senders = list(
        session.scalars(
            select(Message.sender)
            .where(
                Message.direction == "in",
                Message.message_type == answered,
                Message.status.in_(("accepted", "processed")),
                (Message.bill_no == bill) | Message.id.in_(ids),
            )
            .order_by(Message.received_at.desc())
        )
    )
    if receiver_id in senders:
        return receiver_id
    return senders[0] if senders else None
