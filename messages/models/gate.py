"""Gate-out report (放行提离): a terminal or supervised site tells the hub which containers left
through its gate, when, and under which bill. The single window has no manifest message for it, so
the hub carries it in its own XML (urn:swhub:notice:1, GateOutReport); terminals send it as an SMDG
CODECO gate-out report (BGM 36), mapped in messages.mapping.codeco_gate_out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class GateOut:
    """One container through the gate (one EQD group of the CODECO)."""

    container_id: str
    bill_no: str  # the bill of lading the box leaves under (RFF+BM)
    gated_out_at: datetime  # timezone-aware (DTM+7, or DTM+203 as SMDG guides write it)
    site_code: str  # the gate's site: the terminal or supervised site code (LOC+165)
    size_type: str = ""  # ISO 6346 size-type code (EQD 8155)
    status_code: str = ""  # EQD 8249: 2 import, 3 export, 6 transhipment, ...
    fullness_code: str = ""  # EQD 8169: 4 empty, 5 full
    vehicle_id: str = ""  # the truck or train it left on (TDT+1 in the EQD group)


@dataclass(slots=True)
class GateOutReport:
    report_id: str  # the sender's reference (BGM 1004): the hub deduplicates on it
    sender_id: str  # the reporting terminal (NAD+MS, else the UNB sender)
    carrier_id: str = ""  # the container operator (NAD+CF)
    gate_outs: list[GateOut] = field(default_factory=list)
