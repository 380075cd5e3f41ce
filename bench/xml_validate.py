"""Benchmark: XML side of the message codecs on a large original manifest (MT1101).

Builds an MT1101 with N consignments (default 5,000; each 2 containers and 2 goods lines, CJK
text), then measures, best of R runs:
  * encode: canonical model -> bytes (includes the schema validation every encode does);
  * safe parse (hardened lxml parser);
  * schema validation with lxml/libxml2 (the validator swhub uses);
  * decode: bytes -> canonical model (parse + validate + bind + semantic checks), end to end;
  * baseline in the same run: validating the same document with the pure-Python `xmlschema`
    package (the alternative we rejected), reported as a ratio.

Usage: .venv/bin/python bench/xml_validate.py [--consignments 5000] [--repeat 3] [--no-baseline]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from messages.xml import decode, encode
from messages.xml.safe import parse
from messages.xml.samples import mt1101
from messages.xml.schemas import XSD_DIR, schema, validate_tree


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--consignments", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()

    model = mt1101(args.consignments)
    schema("MT1101")  # compile once, as the codec does (cached per process)
    data = encode(model)
    size_mib = len(data) / 1024 / 1024
    print(f"MT1101: {args.consignments} consignments, {size_mib:.2f} MiB")

    t_encode = best_of(args.repeat, lambda: encode(model))
    t_parse = best_of(args.repeat, lambda: parse(data, max_bytes=64 * 1024 * 1024))
    root = parse(data, max_bytes=64 * 1024 * 1024)
    issues = validate_tree(root, "MT1101")
    assert issues == [], issues[:3]
    t_validate = best_of(args.repeat, lambda: validate_tree(root, "MT1101"))
    t_decode = best_of(args.repeat, lambda: decode(data, max_bytes=64 * 1024 * 1024))
    assert decode(data, max_bytes=64 * 1024 * 1024) == model

    rows = [
        ("encode (model -> bytes, incl. validation)", t_encode),
        ("safe parse (lxml, hardened)", t_parse),
        ("schema validation, lxml/libxml2", t_validate),
        ("decode end to end (parse + validate + bind + semantic)", t_decode),
    ]
    if not args.no_baseline:
        import xmlschema

        py_schema = xmlschema.XMLSchema(str(XSD_DIR / "manifest" / "MT1101.xsd"))
        start = time.perf_counter()
        errors = list(py_schema.iter_errors(root))
        t_py = time.perf_counter() - start
        assert not errors, errors[:3]
        rows.append(("baseline: schema validation, xmlschema (pure Python), 1 run", t_py))

    for label, seconds in rows:
        print(f"  {label:<62} {seconds * 1000:9.1f} ms")
    if not args.no_baseline:
        print(f"  lxml validation is {rows[-1][1] / t_validate:.0f}x faster than xmlschema")


if __name__ == "__main__":
    main()
