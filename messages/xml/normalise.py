"""What real client tools write, brought to the one shape the schemas describe (before validation).

* Every element written, unused ones empty: an empty optional element is the same as an absent one,
  numeric ones included (also when marked xsi:nil="true", as .NET tools write unset values).
  Empty leaves (no children, no attributes, no text) are removed,
  then wrappers left empty by that; a required element removed this way is reported by the schema
  as missing, under its own name. Only removals, so every line number stays the sender's.
* Children in another order than the schema's sequence (client tools write DecHead's fields in
  their own order, e.g. IEFlag first and the *Scc codes last) are put in the schema's order where
  that order is unambiguous; elements keep their source lines, and repeated ones their order.
* The bare DEC_RESULT root the client writes to its inbox is read as DEC_DATA/DEC_RESULT.
* DecMessage / DecImportResponse without the declaration namespace, and a Manifest without its
  typed namespace (its type from Head/MessageType), are read in their namespace.
* The manifest family's transport envelope MFTMessage (MFTHead, MFTData, a namespace-less Manifest
  inside) is opened: the Manifest is read in its message type's namespace.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from messages.errors import UnknownMessageType
from messages.xml.binding import local
from messages.xml.schemas import (
    DEC_NS,
    MANIFEST_NS_PREFIX,
    MANIFEST_TYPES,
    SCHEMA_FILES,
    XSD_DIR,
    manifest_ns,
)

_XS = {"xs": "http://www.w3.org/2001/XMLSchema"}

# Empty: no text at all, or only the line breaks and indentation of a pretty-printed empty wrapper.
# Spaces alone are kept: in fixed-position codes ("  " in DecHead/Type) they are a value.
# xsi:nil="true" (as .NET XmlSerializer writes unset values) counts as no attribute: empty is empty.
_EMPTY = etree.XPath(
    "//*[not(*) and not(@*[not(local-name()='nil' and "
    "namespace-uri()='http://www.w3.org/2001/XMLSchema-instance')]) "
    "and (not(text()) or (not(normalize-space()) and contains(., '\n')))]"
)


@cache
def known_names(key: str) -> frozenset[str]:
    """Element names the schema of `key` declares (its includes too): only those may be dropped
    when empty, so an unknown element is still refused by name, empty or not."""
    return frozenset(
        name for tree in _schema_trees(key) for name in tree.xpath("//xs:element/@name", namespaces=_XS)
    )


def _schema_trees(key: str) -> list[etree._ElementTree]:
    trees: list[etree._ElementTree] = []
    todo = [XSD_DIR / SCHEMA_FILES[key]]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        tree = etree.parse(str(path))
        trees.append(tree)
        todo += [path.parent / loc for loc in tree.xpath("//xs:include/@schemaLocation", namespaces=_XS)]
    return trees


def _sequence_order(complex_type: etree._Element) -> tuple[str, ...] | None:
    """Child names of a complexType that is one plain xs:sequence of distinct xs:elements."""
    particles = [c for c in complex_type if isinstance(c.tag, str) and local(c.tag) != "annotation"]
    if len(particles) != 1 or local(particles[0].tag) != "sequence":
        return None
    names: list[str] = []
    for child in particles[0]:
        if not isinstance(child.tag, str) or local(child.tag) == "annotation":
            continue
        if local(child.tag) != "element" or not child.get("name"):
            return None  # a choice, a nested sequence or a ref: leave its order to the schema
        names.append(child.get("name"))
    return tuple(names) if len(set(names)) == len(names) else None


@cache
def child_orders(key: str) -> dict[str, dict[str, int]]:
    """Parent element name -> {child name: position} for the schema of `key`, only where every
    declaration of that parent name has the same sequence."""
    trees = _schema_trees(key)
    named: dict[str, tuple[str, ...] | None] = {}
    for tree in trees:
        for ct in tree.xpath("//xs:complexType[@name]", namespaces=_XS):
            named[ct.get("name")] = _sequence_order(ct)
    orders: dict[str, set[tuple[str, ...] | None]] = {}
    for tree in trees:
        for el in tree.xpath("//xs:element[@name]", namespaces=_XS):
            inline = el.find("xs:complexType", namespaces=_XS)
            if inline is not None:
                order = _sequence_order(inline)
            else:
                type_name = (el.get("type") or "").split(":")[-1]
                if type_name not in named:
                    continue  # a simple type: a leaf
                order = named[type_name]
            orders.setdefault(el.get("name"), set()).add(order)
    return {
        name: {child: i for i, child in enumerate(next(iter(found)))}  # type: ignore[arg-type]
        for name, found in orders.items()
        if len(found) == 1 and None not in found
    }


def reorder(root: etree._Element, orders: dict[str, dict[str, int]]) -> etree._Element:
    """Put each element's children in its schema sequence's order (stable: repeated children keep
    theirs). Only elements whose children are all elements with whitespace between them."""
    by_tag: dict[str, dict[str, int] | None] = {}  # Clark tag -> order keyed by Clark child tags
    for el in root.iter():
        if len(el) < 2:
            continue  # leaves and single children: the common case, decided without a lookup
        tag = el.tag
        order = by_tag.get(tag, False) if isinstance(tag, str) else None
        if order is False:
            local_order = orders.get(local(tag))
            ns = tag[1 : tag.index("}")] if tag.startswith("{") else ""
            prefix = f"{{{ns}}}" if ns else ""
            order = by_tag[tag] = (
                None if local_order is None else {prefix + k: i for k, i in local_order.items()}
            )
        if order is None:
            continue
        end = len(order)
        last = -1
        for child in el:
            rank = order.get(child.tag, end)
            if rank < last:
                break
            last = rank
        else:
            continue  # already in the schema's order
        children = list(el)
        if any(not isinstance(c.tag, str) or (c.tail and c.tail.strip()) for c in children):
            continue
        ranked = sorted(
            ((order.get(c.tag, end), i, c) for i, c in enumerate(children)), key=lambda r: (r[0], r[1])
        )
        tails = [c.tail for c in children]  # indentation stays where it was
        for c in children:
            el.remove(c)
        for (_rank, _i, c), tail in zip(ranked, tails, strict=True):
            c.tail = tail
            el.append(c)
    return root


def drop_empty(root: etree._Element, known: frozenset[str] | None = None) -> etree._Element:
    while True:
        empties = [el for el in _EMPTY(root) if el is not root and (known is None or local(el.tag) in known)]
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
    if not ns and name in ("DecMessage", "DecImportResponse"):
        # written without the declaration namespace (tools that strip it): read in it
        _into_namespace(root, DEC_NS)
    elif not ns and name == "Manifest":
        # a manifest without its typed namespace: the type from Head/MessageType
        mt = next((el.text.strip() for el in root.iter() if local(el.tag) == "MessageType" and el.text), "")
        if mt in MANIFEST_TYPES:
            _into_namespace(root, manifest_ns(mt))
    return root


def _into_namespace(root: etree._Element, target: str) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and not etree.QName(el).namespace:
            el.tag = f"{{{target}}}{el.tag}"


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
    _into_namespace(manifest, manifest_ns(mt))
    return manifest


def normalise(root: etree._Element, key: str) -> etree._Element:
    """`root` already opened (open_envelope) and identified as `key`."""
    return reorder(drop_empty(root, known_names(key)), child_orders(key))


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
