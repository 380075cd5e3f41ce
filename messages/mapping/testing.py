"""Benchmark/test payload: the EDIFACT helper's CUSCAR generator plus what MT1101 makes mandatory.

`messages.edifact.testing.cuscar_message` has no declaring customs office and no port of loading /
discharge (MT1101 requires DeclarationOfficeID and LoadingLocation/UnloadingLocation), so the
vessel's TDT group gets LOC+22 (office), LOC+9 (loading) and LOC+11 (discharge) here.
"""

from __future__ import annotations

from messages.edifact import Segment, write
from messages.edifact.testing import cuscar_interchange


def manifest_cuscar_bytes(consignments: int = 5000, *, seed: int = 1101, newline: bool = True) -> bytes:
    interchange = cuscar_interchange(consignments, seed=seed)
    segments = interchange.messages[0].segments
    tdt = next(k for k, s in enumerate(segments) if s.tag == "TDT")
    segments[tdt + 1 : tdt + 1] = [
        Segment.of("LOC", "22", "4227"),
        Segment.of("LOC", "9", "AUMEL"),
        Segment.of("LOC", "11", "CNTAO/4227"),
    ]
    return write(interchange, una=True, newline=newline)
