"""The customs simulator's decisions: pure logic, no I/O. `CustomsEngine.handle(type, xml)` returns the
answers to send back to the hub (single-window XML), each with the delay to wait before sending it.

Steering by the first characters of DecSign/ClientSeqNo (documented in README.md):
  R...    rejected at registration (DecImportResponse ResponseCode 1, DEC_DATA channel E)
  I...    customs orders its own port inspection (DEC_DATA SpC); the inspection finds nothing
  X...    every inspection of this declaration finds an anomaly (InspectionNotice outcome ANOMALY)
  D<n>... every answer for this declaration is delayed by n seconds (D0-D9)
  other   registered (SpL summary / L complete); inspections the hub orders pass; complete -> R (cleared)
Manifest-family messages (MT1101, MT3101, MT5101, MT6102) are answered with an MT9999 (01 accepted)."""

from __future__ import annotations

import itertools
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


@dataclass(slots=True)
class Registered:
    client_seq_no: str
    kind: str
    bill_no: str
    seq_no: str = ""
    entry_id: str = ""
    status: str = "received"
    history: list[str] = field(default_factory=list)


def steering(client_seq_no: str) -> tuple[str, float]:
    """(scenario, delay seconds) from the ClientSeqNo prefix."""
    delay = 0.0
    code = client_seq_no[:1].upper()
    if code == "D" and client_seq_no[1:2].isdigit():
        delay = float(client_seq_no[1])
        code = client_seq_no[2:3].upper()
    return {"R": "reject", "I": "inspect", "X": "anomaly"}.get(code, "normal"), delay


class CustomsEngine:
    def __init__(self, customs_code: str = "4227", base_delay: float = 0.0) -> None:
        self.customs_code = customs_code
        self.base_delay = base_delay
        self.declarations: dict[str, Registered] = {}
        self.releases: list[str] = []
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def handle(self, message_type: str, body: bytes) -> list[Answer]:
        model = decode(body)
        if isinstance(model, Declaration):
            return self._declaration(model)
        if isinstance(model, Manifest):
            return [self._answer(0, "MT9999", self._mt9999(model))]
        if isinstance(model, InspectionNotice):
            return self._inspect(model)
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
        if reg.kind == "complete" and scenario == "normal":
            answers.append(self._dec_data(delay, reg, "R", "已结关"))
            reg.status = "cleared"
        return answers

    def _inspect(self, notice: InspectionNotice) -> list[Answer]:
        reg = next(
            (
                r
                for r in self.declarations.values()
                if r.client_seq_no in notice.declaration_ids or r.entry_id in notice.declaration_ids
            ),
            None,
        )
        scenario, delay = steering(reg.client_seq_no) if reg else ("normal", 0.0)
        notice.outcome = InspectionOutcome.ANOMALY if scenario == "anomaly" else InspectionOutcome.PASSED
        if reg:
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
