"""Issue 12 item 9: refund application numbers are scoped to the exporter. Exporter B filing A's number
(before or after A) gets its own case; neither learns that the other exists; each sees only its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.api.app import create_app
from hub.bus.memory import InProcessBus
from hub.db.refund_tables import RefundCase
from hub.runtime import Hub
from tests.hub_refunds.refundfixtures import (
    EXPORTER_USCC,
    OTHER_EXPORTER_USCC,
    app_no,
    auth,
    filing_xml,
    settings_for,
)


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    hub = Hub(settings_for(db_url, tmp_path), bus=InProcessBus())
    with TestClient(create_app(hub)) as test_client:
        yield test_client


def file(client: TestClient, who: str, number: str, refund: str = "1300.00") -> dict:
    response = client.post("/api/v1/refunds", content=filing_xml(number, refund=refund), headers=auth(who))
    assert response.status_code == 202, response.text
    return response.json()


def test_another_exporter_cannot_squat_a_number_nor_learn_it_exists(client: TestClient) -> None:
    number = app_no()
    squatter = file(client, "other_exporter", number, refund="1.00")  # B takes A's number first
    owner = file(client, "exporter", number)  # A can still file it: no 409, nothing said about B
    assert squatter.keys() == owner.keys()
    assert squatter["application_no"] == owner["application_no"] == number

    mine = client.get(f"/api/v1/refunds/{number}", headers=auth("exporter")).json()
    theirs = client.get(f"/api/v1/refunds/{number}", headers=auth("other_exporter")).json()
    assert mine["exporter_uscc"] == EXPORTER_USCC and theirs["exporter_uscc"] == OTHER_EXPORTER_USCC
    assert mine["application_no"] == theirs["application_no"] == number
    for uscc in (EXPORTER_USCC, OTHER_EXPORTER_USCC):
        public = client.get(f"/api/v1/public/refunds/{number}", params={"uscc": uscc})
        assert public.status_code == 200 and public.json()["application_no"] == number

    # the same answer for another's number as for a number nobody filed
    unknown = app_no()
    third = "91370200M3C5EXP11F"
    assert client.get(f"/api/v1/public/refunds/{number}", params={"uscc": third}).json() == (
        client.get(f"/api/v1/public/refunds/{unknown}", params={"uscc": third}).json()
    )
    with client.app.state.hub.db.sessions() as session:  # type: ignore[attr-defined]
        cases = session.scalars(select(RefundCase).where(RefundCase.application_no.startswith(number))).all()
        owners = {c.exporter_uscc: c.refund_amount_cny for c in cases}
    assert owners == {EXPORTER_USCC: "1300.00", OTHER_EXPORTER_USCC: "1.00"}


def test_a_number_that_cannot_be_scoped_is_refused_with_the_reason(client: TestClient) -> None:
    response = client.post("/api/v1/refunds", content=filing_xml("A" * 26), headers=auth("exporter"))
    assert response.status_code == 422
    assert "ApplicationNo" in response.text
