"""The customs simulator's decisions: pure logic, no I/O. `CustomsEngine.handle(type, xml)` returns the
answers to send back to the hub (single-window XML), each with the delay to wait before sending it.

Steering by the first characters of DecSign/ClientSeqNo (documented in README.md):
  R...    rejected at registration (DecImportResponse ResponseCode 1, DEC_DATA channel E)
  I...    customs orders its own port inspection (DEC_DATA SpC); the inspection finds nothing
  X...    every inspection of this declaration finds an anomaly (InspectionNotice outcome ANOMALY)
  F...    every check the hub orders fails: inspection / lab test ANOMALY, documents not accepted
          (DEC_DATA Sp1); a complete declaration with a stage-2 hold is then never cleared
  D<n>... every answer for this declaration is delayed by n seconds (D0-D9)
  other   registered (SpL summary / L complete); checks the hub orders pass; complete -> R (cleared)
Manifest-family messages (MT1101, MT3101, MT5101, MT6102) are answered with an MT9999 (01 accepted).

The hub's instructions (InspectionNotice with Outcome PENDING; DocumentsRequiredNotice, JSON, for a
stage-2 documents hold) name the declaration by ClientSeqNo/EntryId. One that arrives before its
declaration is kept and answered right after that declaration's registration; a complete declaration
with such a hold gets DEC_DATA R only after the hold's result, and only if it passed."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from messages.models.declaration import Declaration
from messages.models.manifest import Manifest, ManifestHead
from messages.models.notices import InspectionNotice, InspectionOutcome, ReleaseNotice
from messages.models.receipts import (
    ConsignmentResponse,
    DecImportResponse,
    DecResult,
    DecResultReceipt,
    ManifestResponse,
)
from messages.xml import decode, encode

CST = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Answer:
    delay: float
    message_type: str
    body: bytes
    in_reply_to: str = ""  # the hub's id of the message answered (carried back as its correlation id)


@dataclass(slots=True)
class Registered:
    client_seq_no: str
    kind: str
    bill_no: str
    seq_no: str = ""
    entry_id: str = ""
    status: str = "received"
    history: list[str] = field(default_factory=list)
    failed: bool = False  # a check the hub ordered failed: a complete declaration is not cleared


@dataclass(slots=True)
class Hold:
    """A check the hub ordered for a declaration: an inspection notice or a documents request."""

    notice_id: str
    ids: tuple[str, ...]  # ClientSeqNo / EntryId it names
    inspection: InspectionNotice | None = None  # None: a documents request
    reply_to: str = ""  # the hub's message id of the instruction


def steering(client_seq_no: str) -> tuple[str, float]:
    """(scenario, delay seconds) from the ClientSeqNo prefix."""
    delay = 0.0
    code = client_seq_no[:1].upper()
    if code == "D" and client_seq_no[1:2].isdigit():
        delay = float(client_seq_no[1])
        code = client_seq_no[2:3].upper()
    return {"R": "reject", "I": "inspect", "X": "anomaly", "F": "fail"}.get(code, "normal"), delay


class CustomsEngine:
    def __init__(self, customs_code: str = "4227", base_delay: float = 0.0) -> None:
        self.customs_code = customs_code
        self.base_delay = base_delay
        self.declarations: dict[str, Registered] = {}
        self.releases: list[str] = []
        self.pending: list[Hold] = []  # instructions waiting for their declaration
        self.answered: set[str] = set()  # notice ids already answered (the hub may redeliver)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def handle(self, message_type: str, body: bytes, message_id: str = "") -> list[Answer]:
        """Answers to one hub message; each carries back `message_id` (the hub's id of what it answers,
        or of the instruction answered), so the hub matches it against what it forwarded."""
        answers = self._handle(message_type, body, message_id)
        return [a if a.in_reply_to else dataclasses.replace(a, in_reply_to=message_id) for a in answers]

    def _handle(self, message_type: str, body: bytes, message_id: str) -> list[Answer]:
        if message_type == "DocumentsRequiredNotice":  # the hub's own JSON notice (no XML shape)
            data = json.loads(body)
            hold = Hold(str(data["notice_id"]), (str(data.get("client_seq_no", "")),), reply_to=message_id)
            return self._hold(hold)
        model = decode(body)
        if isinstance(model, Declaration):
            return self._declaration(model)
        if isinstance(model, Manifest):
            return [self._answer(0, "MT9999", self._mt9999(model))]
        if isinstance(model, InspectionNotice):
            if model.outcome != InspectionOutcome.PENDING:
                return []  # a result (ours, echoed), not an instruction
            return self._hold(Hold(model.notice_id, tuple(model.declaration_ids), model, message_id))
        if isinstance(model, ReleaseNotice):
            self.releases.append(model.bill_no)
            return []
        return []

    # ----- declarations -------------------------------------------------------------------------
    def _declaration(self, decl: Declaration) -> list[Answer]:
        scenario, delay = steering(decl.client_seq_no)
        with self._lock:
            n = next(self._seq)
            reg = self.declarations.setdefault(
                decl.client_seq_no, Registered(decl.client_seq_no, decl.kind.value, decl.head.bill_no)
            )
            if reg.seq_no:  # the same declaration again: answer as before (idempotent)
                pass
            else:
                reg.seq_no = f"{n:018d}"
                year = datetime.now(CST).year
                reg.entry_id = f"{self.customs_code}{year}{reg.kind == 'complete' and 1 or 0}{n:09d}"
        if scenario == "reject":
            reg.status = "rejected"
            return [
                self._answer(
                    delay,
                    "DecImportResponse",
                    encode(
                        DecImportResponse(
                            "1", "模拟退单: ClientSeqNo 以 R 开头 (steered rejection)", decl.client_seq_no
                        )
                    ),
                )
            ]
        answers = [
            self._answer(
                delay, "DecImportResponse", encode(DecImportResponse("0", "", decl.client_seq_no, reg.seq_no))
            ),
            self._dec_data(delay, reg, "SpL" if reg.kind == "summary" else "L", "海关已接收入库"),
        ]
        reg.status = "registered"
        if reg.kind == "summary" and scenario in ("inspect", "anomaly"):
            answers.append(self._dec_data(delay, reg, "SpC", "海关布控查验"))
            notice = InspectionNotice(
                notice_id=f"CUSINSP{reg.seq_no[-10:]}",
                bill_no=reg.bill_no,
                issued_at=datetime.now(CST),
                location="PORT",
                instruction="MANUAL",  # type: ignore[arg-type]
                outcome=InspectionOutcome.ANOMALY if scenario == "anomaly" else InspectionOutcome.PASSED,
                declaration_ids=[i for i in (reg.client_seq_no, reg.entry_id) if len(i) == 18],
                reasons=["customs selection"],
            )
            answers.append(self._answer(delay, "InspectionNotice", encode(notice)))
        held = [h for h in self.pending if reg.client_seq_no in h.ids or reg.entry_id in h.ids]
        self.pending = [h for h in self.pending if h not in held]
        for hold in held:  # instructions that came before the declaration: answered now, in order
            answers += [dataclasses.replace(a, in_reply_to=hold.reply_to) for a in self._result(reg, hold)]
        if reg.kind == "complete" and scenario in ("normal", "fail") and not reg.failed:
            answers.append(self._dec_data(delay, reg, "R", "已结关"))
            reg.status = "cleared"
        elif reg.kind == "complete" and reg.failed:
            reg.status = "held"
        return answers

    def _hold(self, hold: Hold) -> list[Answer]:
        """An instruction from the hub: answered now if its declaration is registered, else kept."""
        if hold.notice_id in self.answered or any(h.notice_id == hold.notice_id for h in self.pending):
            return []  # redelivered
        reg = next(
            (
                r
                for r in self.declarations.values()
                if r.seq_no and {r.client_seq_no, r.entry_id} & set(hold.ids)
            ),
            None,
        )
        if reg is None and any(hold.ids):
            self.pending.append(hold)
            return []
        if reg is None:  # names no declaration: nothing to steer by, the check passes
            self.answered.add(hold.notice_id)
            if hold.inspection is None:
                return []
            hold.inspection.outcome = InspectionOutcome.PASSED
            return [self._answer(0.0, "InspectionNotice", encode(hold.inspection))]
        answers = self._result(reg, hold)
        scenario, delay = steering(reg.client_seq_no)
        if reg.kind == "complete" and scenario in ("normal", "fail") and not reg.failed:
            answers.append(self._dec_data(delay, reg, "R", "已结关"))  # cleared once the hold passed
            reg.status = "cleared"
        elif reg.kind == "complete" and reg.failed:
            reg.status = "held"
        return answers

    def _result(self, reg: Registered, hold: Hold) -> list[Answer]:
        """The result of one check: the inspection notice with its outcome, or for documents a DEC_DATA
        G (已审结: examined with the documents) / Sp1 (要求补充申报通知: supplementary documents)."""
        self.answered.add(hold.notice_id)
        scenario, delay = steering(reg.client_seq_no)
        fails = scenario in ("anomaly", "fail")
        reg.failed = reg.failed or fails
        if hold.inspection is None:
            reg.history.append(f"documents -> {'not accepted' if fails else 'accepted'}")
            if fails:
                return [self._dec_data(delay, reg, "Sp1", "单证不全, 要求补充申报")]
            return [self._dec_data(delay, reg, "G", "单证审核通过, 已审结")]
        notice = hold.inspection
        notice.outcome = InspectionOutcome.ANOMALY if fails else InspectionOutcome.PASSED
        reg.history.append(f"inspection {notice.instruction} -> {notice.outcome}")
        return [self._answer(delay, "InspectionNotice", encode(notice))]

    def _dec_data(self, delay: float, reg: Registered, channel: str, note: str) -> Answer:
        stamp = datetime.now(CST).strftime("%Y-%m-%dT%H:%M:%S")
        reg.history.append(channel)
        receipt = DecResultReceipt(
            DecResult(
                seq_no=reg.seq_no,
                entry_id=reg.entry_id,
                custom_master=self.customs_code,
                channel=channel,
                notice_date=stamp,
                note=f"{note} #{len(reg.history)}",
                bill_no=reg.bill_no,
                decl_port=self.customs_code,
            ),
            interface_version="1.0",
            result_info=note,
        )
        return self._answer(delay, "DEC_DATA", encode(receipt))

    # ----- manifests ----------------------------------------------------------------------------
    def _mt9999(self, manifest: Manifest) -> bytes:
        n = next(self._seq)
        stamp = datetime.now(CST).strftime("%Y%m%d%H%M%S%f")[:17]
        head = ManifestHead(
            f"CN_MT9999_1p0_{self.customs_code}_{stamp}{n:06d}"[:64],
            "3",
            manifest.head.message_type,
            self.customs_code,
            manifest.head.sender_id,
            stamp,
        )
        bills = [c.bill_no for c in manifest.declaration.consignments]
        bills += [e.bill_no for e in manifest.declaration.transport_equipment if e.bill_no]
        conveyance = manifest.declaration.conveyance
        return encode(
            ManifestResponse(
                head=head,
                journey_id=conveyance.journey_id if conveyance else "",
                conveyance_id=conveyance.id if conveyance else "",
                consignments=[
                    ConsignmentResponse(b, "01", text="00000 海关接受申报") for b in dict.fromkeys(bills)
                ],
            )
        )

    def _answer(self, delay: float, message_type: str, body: bytes) -> Answer:
        return Answer(delay + self.base_delay, message_type, body)

    def snapshot(self) -> dict[str, Any]:
        return {"declarations": [vars_of(r) for r in self.declarations.values()], "releases": self.releases}


def vars_of(reg: Registered) -> dict[str, Any]:
    return {
        "client_seq_no": reg.client_seq_no,
        "kind": reg.kind,
        "bill_no": reg.bill_no,
        "seq_no": reg.seq_no,
        "entry_id": reg.entry_id,
        "status": reg.status,
        "history": list(reg.history),
    }
