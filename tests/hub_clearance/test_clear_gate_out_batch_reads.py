"""A batch of gate-out reports reads what their authority checks need once: the bills and the boxes
in one query each (authority.prefetch), the reporting operator from the party register's snapshot;
checking each report afterwards sends no statement. A box the hub does not know is still refused.
SQLite and PostgreSQL.

Why it matters: at a port every box leaves through the gate, so these checks run once per container;
a query per box was a tenth of a worker's CPU on bench/port_day.py."""

from __future__ import annotations

from datetime import datetime

from hub.clock import SHANGHAI, now
from hub.db.clearance_tables import ClrConsignment, ClrContainer
from hub.db.models import Party
from hub.db.session import Database
from hub.services import party_cache
from hub.services.clearance import authority
from hub.services.intake import Accepted
from messages.models.gate import GateOut, GateOutReport
from tests.hub.hubfixtures import recorded

TERMINAL = "CNTAO/4227"
OPERATOR = "91370200MA3T0GATE1"
AT = datetime(2026, 11, 22, 4, 10, tzinfo=SHANGHAI)


def gate_out(ref: str, bill: str, box: str) -> Accepted:
    report = GateOutReport(ref, OPERATOR, "COSU", [GateOut(box, bill, AT, TERMINAL, "45G1", "2", "5")])
    return Accepted(ref, "GateOutReport", "edifact", OPERATOR, frozenset({"port_operator"}), report, b"")


def test_a_batch_of_gate_outs_checks_its_boxes_without_a_query_per_box(db: Database) -> None:
    bills = {f"COSU6140{i}" for i in range(3)}
    with db.unit_of_work() as session:
        session.add(
            Party(
                uscc=OPERATOR, name="Yard", roles=["port_operator"], terminal_code=TERMINAL, created_at=now()
            )
        )
        for bill in bills:
            session.add(
                ClrConsignment(bill_no=bill, terminal_code=TERMINAL, created_at=now(), updated_at=now())
            )
            session.add_all(ClrContainer(bill_no=bill, container_no=f"{bill[-1]}BOX{n}") for n in range(2))
    party_cache.cache_for(db.engine).invalidate()
    batch = [gate_out(f"GO{b}{n}", b, f"{b[-1]}BOX{n}") for b in sorted(bills) for n in range(2)]
    batch.append(gate_out("GOUNKNOWN", "COSU61400", "NOTABOX1"))  # never listed or reported

    with db.unit_of_work(batch=True) as session:
        party_cache.party(session, OPERATOR)  # the register's snapshot, as a running worker has it
        with recorded(db.engine) as prefetch:
            authority.prefetch(session, batch)
        with recorded(db.engine) as checks:
            found = {msg.message_id: authority.problems(session, msg) for msg in batch}

    assert len(prefetch) == 2, prefetch  # the bills, the boxes
    assert "FROM clr_consignment" in prefetch[0] and "FROM clr_container" in prefetch[1], prefetch
    # the known boxes are in the session; only the unknown one is looked up on its own
    assert len(checks) == 1 and "FROM clr_container" in checks[0], checks
    assert all(found[msg.message_id] == [] for msg in batch[:-1]), found
    assert [p.code for p in found["GOUNKNOWN"]] == [authority.UNKNOWN_CONTAINER]
