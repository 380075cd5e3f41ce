"""What real client tools write, brought to the one shape the schemas describe (before validation).

* Every element written, unused ones empty: an empty optional element is the same as an absent one,
  numeric ones included. Empty leaves (no children, no attributes, no text) are removed,
  then wrappers left empty by that; a required element removed this way is reported by the schema
  as missing, under its own name. Only removals, so every line number stays the sender's.
* The bare DEC_RESULT root the client writes to its inbox is read as DEC_DATA/DEC_RESULT.
* The manifest family's transport envelope MFTMessage (MFTHead, MFTData, a namespace-less Manifest
  inside) is opened: the Manifest is read in its message type's namespace.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from messages.errors import UnknownMessageType
from messages.xml.binding import local
from messages.xml.schemas import MANIFEST_NS_PREFIX, MANIFEST_TYPES, SCHEMA_FILES, XSD_DIR, manifest_ns

_XS = {"xs": "http://www.w3.org/2001/XMLSchema"}

# Empty: no text at all, or only the line breaks and indentation of a pretty-printed empty wrapper.
# Spaces alone are kept: in fixed-position codes ("  " in DecHead/Type) they are a value.
_EMPTY = etree.XPath(
    "//*[not(*) and not(@*) and (not(text()) or (not(normalize-space()) and contains(., '\n')))]"
)


@cache
def known_names(key: str) -> frozenset[str]:
    """Element names the schema of `key` declares (its includes too): only those may be dropped
    when empty, so an unknown element is still refused by name, empty or not."""
    names: set[str] = set()
    todo = [XSD_DIR / SCHEMA_FILES[key]]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        tree = etree.parse(str(path))
        names.update(tree.xpath("//xs:element/@name", namespaces=_XS))
        todo += [path.parent / loc for loc in tree.xpath("//xs:include/@schemaLocation", namespaces=_XS)]
    return frozenset(names)


def drop_empty(root: etree._Element, known: frozenset[str] | None = None) -> etree._Element:
    while True:
        empties = [
            el for el in _EMPTY(root)
            if el is not root and (known is None or local(el.tag) in known)
        ]
        if not empties:
            return root
        for el in empties:
            parent = el.getparent()
            if parent is not None:
                _remove_keeping_tail(parent, el)


def _remove_keeping_tail(parent: etree._Element, el: etree._Element) -> None:
    if el.tail and el.tail.strip():  # mixed content: keep the text (never in these formats)
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def open_envelope(root: etree._Element) -> etree._Element:
    """The document inside a client envelope (MFTMessage, bare DEC_RESULT); else the root itself."""
    name = local(root.tag)
    ns = etree.QName(root).namespace
    if name == "DEC_RESULT" and not ns:
        wrapper = etree.Element("DEC_DATA")
        wrapper.append(root)
        return wrapper
    if name == "MFTMessage":
        return _manifest_in(root)
    return root


def mft_message_type(root: etree._Element) -> str:
    for path in ("MFTHead/MessageType", "MFTData/Manifest/Head/MessageType"):
        found = root.findtext(path) if not etree.QName(root).namespace else None
        if found is None:
            found = next((el.text for el in root.iter() if local(el.tag) == "MessageType"), None)
        if found and found.strip():
            return found.strip()
    return ""


def _manifest_in(root: etree._Element) -> etree._Element:
    manifest = next(
        (el for el in root.iter() if local(el.tag) == "Manifest" and local(el.getparent().tag) == "MFTData"),
        None,
    )
    if manifest is None:
        raise UnknownMessageType("MFTMessage without MFTData/Manifest: the manifest must sit in MFTData")
    ns = etree.QName(manifest).namespace or ""
    if ns.startswith(MANIFEST_NS_PREFIX):
        return manifest
    mt = mft_message_type(root)
    if mt not in MANIFEST_TYPES:
        raise UnknownMessageType(
            f"MFTMessage: MFTHead/MessageType {mt!r} is not a supported manifest type "
            f"({', '.join(MANIFEST_TYPES)})"
        )
    target = manifest_ns(mt)
    for el in manifest.iter():
        if isinstance(el.tag, str) and not etree.QName(el).namespace:
            el.tag = f"{{{target}}}{el.tag}"
    return manifest


def normalise(root: etree._Element, key: str) -> etree._Element:
    """`root` already opened (open_envelope) and identified as `key`."""
    return drop_empty(root, known_names(key))


def build_mft_message(manifest: etree._Element, message_type: str, head: dict[str, str]) -> etree._Element:
    """Wrap a manifest the way the client's transport envelope carries it (namespace-less inside)."""
    envelope = etree.Element("MFTMessage")
    mft_head = etree.SubElement(envelope, "MFTHead")
    for tag in ("MessageID", "FunctionCode", "MessageType", "SenderID", "ReceiverID", "SendTime", "Version"):
        etree.SubElement(mft_head, tag).text = head.get(tag, message_type if tag == "MessageType" else "")
    data = etree.SubElement(envelope, "MFTData")
    inner = etree.fromstring(etree.tostring(manifest))
    for el in inner.iter():
        if isinstance(el.tag, str):
            el.tag = local(el.tag)
    etree.cleanup_namespaces(inner)
    data.append(inner)
    return envelope
