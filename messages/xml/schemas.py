"""XSD registry and validation (lxml / libxml2).

Schemas are compiled once per process (functools.cache) and reused: compiling costs milliseconds,
validating a 5,000-consignment manifest a few tens of milliseconds. libxml2 keeps going after the
first error, so the error_log holds ALL schema errors of a document, each with line, column and the
element path; we turn each into a ValidationIssue.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lxml import etree

from messages.errors import MessageError, ValidationIssue

XSD_DIR = Path(__file__).resolve().parents[2] / "xsd"

DEC_NS = "http://www.chinaport.gov.cn/dec"
NOTICE_NS = "urn:swhub:notice:1"
MANIFEST_NS_PREFIX = "urn:Declaration:datamodel:standard:CN:"
MANIFEST_TYPES = ("MT1101", "MT2101", "MT3101", "MT4101", "MT5101", "MT5102", "MT6101", "MT6102", "MT9999")


def manifest_ns(message_type: str) -> str:
    return f"{MANIFEST_NS_PREFIX}{message_type}:1"


# schema key -> file under xsd/
SCHEMA_FILES: dict[str, str] = {
    "DecMessage": "dec/DecMessage.xsd",
    "DecImportResponse": "dec/DecImportResponse.xsd",
    "DEC_DATA": "dec/DecData.xsd",
    "InspectionNotice": "notice/InspectionNotice.xsd",
    "ReleaseNotice": "notice/ReleaseNotice.xsd",
    **{mt: f"manifest/{mt}.xsd" for mt in MANIFEST_TYPES},
}


@cache
def schema(key: str) -> etree.XMLSchema:
    try:
        path = XSD_DIR / SCHEMA_FILES[key]
    except KeyError:
        raise MessageError(f"no schema registered for {key!r}") from None
    # Our own trusted files: a plain parser is fine here (xs:include needs file access).
    return etree.XMLSchema(etree.parse(str(path)))


_NS_IN_PATH = re.compile(r"\{[^}]*\}|[A-Za-z_][\w.-]*:(?=[A-Za-z_])")
_NS_IN_MSG = re.compile(r"\{[^}]*\}")


def _path_of(el: etree._Element | None, fallback: str) -> str:
    if el is None:
        return _NS_IN_PATH.sub("", fallback or "/")
    parts: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def validate_tree(root: etree._Element, key: str) -> list[ValidationIssue]:
    xsd = schema(key)
    if xsd.validate(root):
        return []
    issues: list[ValidationIssue] = []
    tree = root.getroottree()
    for entry in xsd.error_log:
        el = None
        if entry.path:
            try:
                found = tree.xpath(entry.path)
                el = found[0] if isinstance(found, list) and found else None
            except etree.XPathError:
                el = None
        issues.append(
            ValidationIssue(
                location=_path_of(el, entry.path or ""),
                message=_NS_IN_MSG.sub("", entry.message),
                line=entry.line or None,
                column=entry.column or None,
            )
        )
    return issues
