"""Request bodies of the port simulator's control API (pydantic), converted to the engine's specs."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from simulators.common.clock import SHANGHAI
from simulators.port.engine import CallSpec, ConsignmentSpec, ContainerSpec, iso6346_ok
from simulators.port.faults import FaultKind

Kg = Decimal  # kg with at most 4 decimals and 14 digits (manifest MeasureValueType)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)


class ContainerIn(BaseModel):
    number: str = Field(pattern=r"^[A-Z]{3}[UJZR][0-9]{7}$", description="ISO 6346 with check digit")
    size_type: str = Field("45R1", pattern=r"^[0-9A-Z]{4}$")
    packages: int = Field(600, ge=1, le=99_999_999)
    gross_kg: Kg = Field(Decimal("12425.25"), gt=0, max_digits=14, decimal_places=4)
    tally_packages: int | None = Field(None, ge=0, le=99_999_999)
    tally_gross_kg: Kg | None = Field(None, ge=0, max_digits=14, decimal_places=4)
    discharged: bool = True

    @field_validator("number")
    @classmethod
    def _check_digit(cls, value: str) -> str:
        if not iso6346_ok(value):
            raise ValueError(f"{value} has a wrong ISO 6346 check digit")
        return value


class ConsignmentIn(BaseModel):
    bill_no: str = Field(pattern=r"^[A-Z0-9]{1,35}$")
    goods: str = Field("笔记本电脑 LAPTOP COMPUTERS", min_length=1, max_length=512)
    hs_code: str = Field("847130", pattern=r"^[0-9]{4}([0-9]{2}([0-9]{2}([0-9]{2})?)?)?$")
    destination_site: str | None = Field(
        None, pattern=r"^[A-Z]{2}[A-Z0-9]{3}(/[0-9A-Z]{1,10})?$", max_length=17
    )
    containers: list[ContainerIn] = Field(min_length=1)
    # the consignee's USCC on the manifest (the hub matches declarations against it); None: the sample's
    consignee: str | None = Field(None, pattern=r"^[0-9A-Z]{18}$")


class VesselCallIn(BaseModel):
    call_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,40}$")
    vessel_name: str = Field(min_length=1, max_length=70)
    voyage_no: str = Field(min_length=1, max_length=17)
    imo: str | None = Field(None, pattern=r"^[0-9]{7}$")
    arrival: datetime
    manifest_at: datetime | None = None  # default: 6 h before arrival
    manifest_format: Literal["MT1101", "CUSCAR"] = "MT1101"
    tally_format: Literal["MT5101", "COARRI"] = "MT5101"
    gate_format: Literal["MT3101", "CODECO"] = "MT3101"
    discharge_start: datetime | None = None  # default: 1 h after arrival
    discharge_interval_seconds: float = Field(120.0, gt=0, le=86_400)
    loading_port: str = Field("KRPUS", pattern=r"^[A-Z]{2}[A-Z0-9]{3}$")
    consignments: list[ConsignmentIn] = Field(min_length=1)

    @field_validator("imo")
    @classmethod
    def _imo_check_digit(cls, value: str | None) -> str | None:
        if value is not None and sum(int(d) * (7 - i) for i, d in enumerate(value[:6])) % 10 != int(value[6]):
            raise ValueError(f"IMO number {value} has a wrong check digit")
        return value

    def to_spec(self) -> CallSpec:
        arrival = _aware(self.arrival)
        return CallSpec(
            call_id=self.call_id,
            vessel_name=self.vessel_name,
            voyage_no=self.voyage_no,
            imo=self.imo,
            arrival=arrival,
            manifest_at=_aware(self.manifest_at) if self.manifest_at else arrival - timedelta(hours=6),
            discharge_start=_aware(self.discharge_start)
            if self.discharge_start
            else arrival + timedelta(hours=1),
            manifest_format=self.manifest_format,
            tally_format=self.tally_format,
            gate_format=self.gate_format,
            discharge_interval_seconds=self.discharge_interval_seconds,
            loading_port=self.loading_port,
            consignments=tuple(
                ConsignmentSpec(
                    bill_no=c.bill_no,
                    goods=c.goods,
                    hs_code=c.hs_code,
                    destination_site=c.destination_site,
                    consignee=c.consignee,
                    containers=tuple(
                        ContainerSpec(
                            b.number,
                            b.size_type,
                            b.packages,
                            b.gross_kg,
                            b.tally_packages,
                            b.tally_gross_kg,
                            b.discharged,
                        )
                        for b in c.containers
                    ),
                )
                for c in self.consignments
            ),
        )


class FaultIn(BaseModel):
    flow: Literal["manifest", "tally", "arrival", "distribution", "gate_out", "*"] = "*"
    kind: FaultKind
    count: int | None = Field(1, ge=1)
    seconds: float = Field(0.0, ge=0, le=3600)
