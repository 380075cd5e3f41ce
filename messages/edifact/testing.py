"""Deterministic generator of realistic CUSCAR D.95B interchanges (tests and benchmarks).

Used by bench/edifact_parse.py and by the later full-conversion benchmark (EDIFACT -> MT1101
XML), so the content follows what a China manifest needs: bill of lading per consignment, Chinese
consignor/consignee names (UNOY), goods description, packages, gross weight, container link.
Values deliberately contain the service characters ``+ : ' ?`` so the escaped path is exercised.
"""

from __future__ import annotations

import random
from datetime import datetime

from messages.edifact.model import EdifactMessage, Interchange, Segment
from messages.edifact.writer import write

_CN_COMPANIES = [
    "青岛海丰国际物流有限公司",
    "山东港口集团日照港",
    "烟台万华化学进出口公司",
    "济南重型汽车贸易有限公司",
    "潍坊+临沂联合纺织品公司",
    "威海蓝色海洋食品:冷链部",
    "淄博陶瓷出口集团",
    "东营石化设备?有限公司",
]
_FOREIGN = [
    "O'NEIL TRADING LTD",
    "HAMBURG IMPORT GMBH",
    "ROTTERDAM FOODS B.V.",
    "OSAKA MACHINERY K.K.",
    "BUSAN ELECTRONICS CO:LTD",
    "SANTOS+CO IMPORTADORA",
    "DUBAI GENERAL TRADING LLC",
]
_GOODS = [
    "机械零件 MACHINE PARTS",
    "纺织品+服装 GARMENTS",
    "冷冻水产品 FROZEN FISH",
    "陶瓷餐具 CERAMICS",
    "化工原料?非危险品",
    "轮胎 TYRES 295/80R22.5",
    "家具 FURNITURE: OAK",
]
_CITIES = ["QINGDAO", "YANTAI", "RIZHAO", "WEIHAI", "JINAN", "HAMBURG", "ROTTERDAM", "OSAKA"]


def _container(rng: random.Random) -> str:
    owner = rng.choice(["CBHU", "MSKU", "COSU", "TGHU", "OOLU"])
    return f"{owner}{rng.randrange(1_000_000, 9_999_999)}"


def cuscar_message(
    consignments: int = 5000, *, seed: int = 1101, ref: str = "1", release: str = "95B"
) -> EdifactMessage:
    """One CUSCAR message with ``consignments`` CNI groups (8 segments each) plus header. The
    segment sequence is valid for both D.95B and D.96B (``release``)."""
    rng = random.Random(seed)
    containers = [_container(rng) for _ in range(max(1, consignments // 25))]
    segs: list[Segment] = [
        Segment.of("BGM", "85", f"MFT{seed:06d}", "9"),
        Segment.of("DTM", ["137", "202611221200", "203"]),
        Segment.of("RFF", ["VON", "V2611E"]),
        Segment.of("NAD", "CA", ["COSCO", "160", "ZZZ"]),
        Segment.of(
            "TDT",
            "20",
            "V2611E",
            "1",
            "",
            ["COSCO", "172", "20"],
            "",
            "",
            ["9300001", "146", "", "COSCO QINGDAO"],
        ),
        Segment.of("LOC", "5", ["CNTAO", "139", "6"]),
        Segment.of("DTM", ["133", "202611230800", "203"]),
    ]
    for container in containers:
        segs.append(Segment.of("EQD", "CN", container, ["45G1", "102", "5"], "", "", "5"))
        segs.append(Segment.of("SEL", f"SL{rng.randrange(100000, 999999)}", "CA"))
    total_weight = 0
    total_packages = 0
    body: list[Segment] = []
    for n in range(1, consignments + 1):
        bill = f"COSU{6_000_000_000 + n * 7919 % 999_999_999:010d}"
        packages = rng.randrange(1, 500)
        weight = rng.randrange(100, 28000)
        total_weight += weight
        total_packages += packages
        shipper = rng.choice(_CN_COMPANIES)
        consignee = rng.choice(_FOREIGN)
        body += [
            Segment.of("CNI", str(n), bill),
            Segment.of("RFF", ["BM", bill]),
            Segment.of(
                "NAD",
                "CZ",
                f"9137{rng.randrange(10**7, 10**8)}",
                "",
                shipper,
                "",
                rng.choice(_CITIES[:5]),
                "",
                "",
                "CN",
            ),
            Segment.of("NAD", "CN", "", "", consignee, "", rng.choice(_CITIES[5:]), "", "", "DE"),
            Segment.of("GID", "1", [str(packages), "CT"]),
            Segment.of("FTX", "AAA", "", "", rng.choice(_GOODS)),
            Segment.of("MEA", "AAE", "G", ["KGM", str(weight)]),
            Segment.of("SGP", rng.choice(containers), str(packages)),
        ]
    segs += [
        Segment.of("CNT", ["7", str(total_weight), "KGM"]),
        Segment.of("CNT", ["11", str(total_packages)]),
        Segment.of("CNT", ["16", str(len(containers))]),
        *body,
    ]
    return EdifactMessage(
        ref=ref, type="CUSCAR", version="D", release=release, agency="UN", association="LOT10", segments=segs
    )


def cuscar_interchange(consignments: int = 5000, *, seed: int = 1101, release: str = "95B") -> Interchange:
    return Interchange(
        sender="SENDERQD",
        recipient="CNCUSTOMS",
        control_ref=f"IC{seed:08d}",
        syntax_id="UNOY",
        syntax_version=3,
        prepared=datetime(2026, 11, 22, 12, 0),
        sender_qualifier="ZZZ",
        recipient_qualifier="ZZZ",
        messages=[cuscar_message(consignments, seed=seed, release=release)],
    )


def cuscar_bytes(
    consignments: int = 5000, *, seed: int = 1101, newline: bool = True, release: str = "95B"
) -> bytes:
    """The benchmark payload: ~1.2 MB and ~40,000 segments for 5,000 consignments."""
    return write(cuscar_interchange(consignments, seed=seed, release=release), una=True, newline=newline)
