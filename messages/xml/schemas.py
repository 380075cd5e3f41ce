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
NOTICE_ROOTS = ("InspectionNotice", "ReleaseNotice", "GateOutReport")  # the hub's own documents
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
    "GateOutReport": "notice/GateOutReport.xsd",
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


_NS_IN_MSG = re.compile(r"\{(?:https?|urn):[^}]*\}")  # Clark namespaces only, not "{'4', '5'}" sets
_POSITIONAL = re.compile(r"^(/\*(\[\d+\])?)+$")
# libxml2 names an element whose namespace it has no prefix for "ns0:Name" (the namespace-less
# manifest inside MFTMessage gets its namespace from us): the sender wrote plain "Name"
_PREFIX = re.compile(r"(?<=/)[A-Za-z_][\w.-]*:")


class _PathNamer:
    """Turns libxml2's positional paths (/*/*[2]/*[8]) into readable ones
    (/Manifest/Declaration/Consignment[7]/...). Children lists and same-name ordinals are computed
    once per parent and cached, so thousands of errors in a 5,000-consignment manifest stay cheap."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self._kids: dict[int, tuple[etree._Element, list[etree._Element], list[str]]] = {}

    def _children(self, parent: etree._Element) -> tuple[list[etree._Element], list[str]]:
        cached = self._kids.get(id(parent))
        if cached is None:
            kids = list(parent)
            names = [etree.QName(k).localname for k in kids]
            totals: dict[str, int] = {}
            for name in names:
                totals[name] = totals.get(name, 0) + 1
            seen: dict[str, int] = {}
            labels = []
            for name in names:
                seen[name] = seen.get(name, 0) + 1
                labels.append(f"{name}[{seen[name]}]" if totals[name] > 1 else name)
            cached = self._kids[id(parent)] = (parent, kids, labels)
        return cached[1], cached[2]

    def name(self, libxml_path: str) -> str:
        if not libxml_path:
            return "/"
        if not _POSITIONAL.match(libxml_path):
            return _PREFIX.sub("", libxml_path)  # libxml2 already writes names (maybe prefixed)
        steps = libxml_path.strip("/").split("/")
        node = self.root
        parts = [etree.QName(node).localname]
        for step in steps[1:]:
            position = int(step[2:-1]) if step.startswith("*[") else 1
            kids, labels = self._children(node)
            if not 0 < position <= len(kids):
                break
            node = kids[position - 1]
            parts.append(labels[position - 1])
        return "/" + "/".join(parts)


def schema_code(message: str) -> str:
    """The CODES entry for one libxml2 schema message (its wording is stable across versions)."""
    if "Missing child element" in message:
        return "missing_element"
    if "This element is not expected" in message or "No matching global declaration" in message:
        return "unexpected_element"
    if "attribute" in message and "is required but missing" in message:
        return "missing_attribute"
    if "attribute" in message and "is not allowed" in message:
        return "unexpected_attribute"
    return "invalid_value"


def validate_tree(root: etree._Element, key: str) -> list[ValidationIssue]:
    xsd = schema(key)
    if xsd.validate(root):
        return []
    namer = _PathNamer(root)
    # a document opened inside a client envelope (MFTMessage/MFTData) is named from the envelope,
    # as the sender wrote it
    outer = "".join(f"/{etree.QName(a).localname}" for a in reversed(list(root.iterancestors())))
    return [
        ValidationIssue(
            location=outer + namer.name(entry.path or ""),
            message=_NS_IN_MSG.sub("", entry.message),
            line=entry.line or None,
            column=entry.column or None,
            code=schema_code(entry.message),
        )
        for entry in xsd.error_log
    ]
