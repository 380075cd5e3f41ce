"""Vessel calls for the port simulator tests: unique bills and ISO 6346 container numbers per test (the
broker is shared, so another test's notices must never match ours)."""

from __future__ import annotations

import random
from typing import Any

from hub.bus.vhost import private_vhost  # noqa: F401  (the tests import it from here)
from messages.xml import samples

CONTROL_KEY = "port-control-key"


def unique_boxes(n: int, owner: str = "PSM") -> list[str]:
    serials = random.sample(range(1_000_000), n)
    return [samples.container_no(owner, s) for s in serials]


def unique_bill(prefix: str = "PSIM") -> str:
    return f"{prefix}{random.randrange(10**10):010d}"


def call_body(
    call_id: str,
    consignments: int = 2,
    containers: int = 3,
    *,
    arrival: str = "2026-11-21T08:00:00+08:00",  # a Saturday
    manifest_at: str = "2026-11-21T02:00:00+08:00",
    discharge_start: str = "2026-11-21T09:00:00+08:00",
    interval: float = 120,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "vessel_name": "COSCO TAURUS",
        "voyage_no": "088E",
        "imo": "9784049",
        "arrival": arrival,
        "manifest_at": manifest_at,
        "discharge_start": discharge_start,
        "discharge_interval_seconds": interval,
        "consignments": [
            {
                "bill_no": unique_bill(),
                "goods": "笔记本电脑 LAPTOP COMPUTERS",
                "hs_code": "847130",
                "containers": [
                    {"number": box, "size_type": "45R1", "packages": 600, "gross_kg": "12425.25"}
                    for box in unique_boxes(containers)
                ],
            }
            for _ in range(consignments)
        ],
        **extra,
    }
