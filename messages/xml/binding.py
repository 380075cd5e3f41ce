"""Declarative element <-> dataclass bindings.

One `Binding` says, in schema order, which XML element carries which dataclass attribute. The same
table drives decoding and encoding, so the two directions cannot drift apart, and encoding emits
elements in exactly the order the XSD's xs:sequence demands.

Building blocks:
* `Leaf`     element with text -> scalar attribute (str / Decimal / int), optional XML attributes.
* `LeafList` repeated element with text -> list[str].
* `Group`    wrapper element whose children map onto the SAME object (flattens WCO nesting such as
             TransportContractDocument/ID into `consignment.bill_no`).
* `Child`    element -> nested dataclass (or list of them, optionally inside a wrapper element).
* `Choice`   one attribute written as one of several element names depending on its value.

Decoding assumes the tree already passed schema validation (so no unknown elements, types parse),
but still never raises anything other than MessageError subclasses.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from messages.errors import MalformedMessage, ValidationFailed, ValidationIssue

Conv = str  # "str" | "dec" | "int" | "dt" (timezone-aware datetime as xs:dateTime)


def _to_text(value: Any, conv: Conv) -> str:
    if conv == "dec":
        # 'f' formatting: xs:decimal forbids exponent notation (Decimal("1E+2") -> "100").
        return format(value, "f")
    if conv == "dt":
        return value.isoformat()
    return str(value)


def _from_text(text: str, conv: Conv, where: str) -> Any:
    try:
        if conv == "dec":
            return Decimal(text.strip())
        if conv == "int":
            return int(text.strip())
        if conv == "dt":
            return datetime.fromisoformat(text.strip())
    except (InvalidOperation, ValueError) as exc:
        raise MalformedMessage(f"{where}: not a {conv}: {text!r}") from exc
    return text


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


@dataclass(frozen=True, slots=True)
class Leaf:
    tag: str
    attr: str
    conv: Conv = "str"
    required: bool = False  # always emitted, even empty, so validation can name the missing value
    xml_attrs: tuple[tuple[str, str], ...] = ()  # (xml attribute name, dataclass attribute)
    const_attrs: tuple[tuple[str, str], ...] = ()  # always written, ignored on read (unitCode="KGM")


@dataclass(frozen=True, slots=True)
class LeafList:
    tag: str
    attr: str
    inner: str = ""  # item text sits in a child: <EquipmentIdentification><ID>..</ID></...>
    # (XML attribute, model list attribute) carried by each item, e.g. SealID/@AgencyCode; the
    # model list runs parallel to `attr` ("" where an item has none)
    xml_attr: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Group:
    tag: str
    members: tuple[Node, ...]
    required: bool = False


@dataclass(frozen=True, slots=True)
class Child:
    tag: str
    attr: str
    binding: Binding
    many: bool = False
    wrapper: str = ""  # e.g. DecLists around DecList
    required: bool = False


@dataclass(frozen=True, slots=True)
class Choice:
    attr: str
    options: tuple[tuple[str, Callable[[str], bool]], ...]  # (tag, value predicate); first match wins


Node = Leaf | LeafList | Group | Child | Choice


@dataclass(frozen=True, slots=True)
class Binding:
    cls: type
    nodes: tuple[Node, ...]


def local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""  # comments / processing instructions
    return tag.rpartition("}")[2]


# ----------------------------------------------------------------------------------------- decode


def decode_into(el: etree._Element, binding: Binding) -> Any:
    ns = el.tag[1:].partition("}")[0] if el.tag[:1] == "{" else ""
    return _decode(el, binding, ns)


def _decode(el: etree._Element, binding: Binding, ns: str) -> Any:
    values: dict[str, Any] = {}
    _fill(el, binding.nodes, values, ns)
    try:
        return binding.cls(**values)
    except TypeError as exc:  # a required model field had no element: only if validation was skipped
        raise MalformedMessage(f"<{local(el.tag)}> is incomplete: {exc}", el.sourceline) from exc


# Node kinds, resolved once per binding so the hot loop dispatches on a small int.
_LEAF, _LEAF_NUM, _LIST, _CHOICE, _GROUP, _WRAPPED, _MANY, _ONE = range(8)


def _kind(node: Node) -> int:
    if isinstance(node, Leaf):
        plain = node.conv == "str" and not node.xml_attrs and not node.const_attrs
        return _LEAF if plain else _LEAF_NUM
    if isinstance(node, LeafList):
        return _LIST
    if isinstance(node, Choice):
        return _CHOICE
    if isinstance(node, Group):
        return _GROUP
    return _WRAPPED if node.wrapper else (_MANY if node.many else _ONE)


def _index(nodes: Sequence[Node], ns: str) -> dict[str, tuple[int, Node]]:
    """Clark tag ({ns}Local) -> (kind, node): the children a binding reads, matched without any
    per-element string splitting."""
    q = (lambda tag: f"{{{ns}}}{tag}") if ns else (lambda tag: tag)
    out: dict[str, tuple[int, Node]] = {}
    for node in nodes:
        if isinstance(node, Choice):
            for tag, _ in node.options:
                out[q(tag)] = (_CHOICE, node)
        else:
            tag = node.wrapper if isinstance(node, Child) and node.wrapper else node.tag
            out[q(tag)] = (_kind(node), node)
    return out


_INDEX_CACHE: dict[tuple[int, str], dict[str, tuple[int, Node]]] = {}


def _lookup(nodes: tuple[Node, ...], ns: str) -> dict[str, tuple[int, Node]]:
    key = (id(nodes), ns)
    idx = _INDEX_CACHE.get(key)
    if idx is None:
        idx = _INDEX_CACHE[key] = _index(nodes, ns)
    return idx


def _fill(el: etree._Element, nodes: tuple[Node, ...], values: dict[str, Any], ns: str) -> None:
    idx = _lookup(nodes, ns)
    for child in el:
        entry = idx.get(child.tag)
        if entry is None:
            continue  # not bound (schema allows it, model does not carry it), or a comment
        kind, node = entry
        if kind == _LEAF:
            values[node.attr] = child.text or ""  # type: ignore[union-attr]
        elif kind == _LEAF_NUM:
            assert isinstance(node, Leaf)
            text = child.text or ""
            values[node.attr] = (
                _from_text(text, node.conv, node.tag) if (node.conv == "str" or text.strip()) else None
            )
            for xml_attr, attr in node.xml_attrs:
                v = child.get(xml_attr)
                if v is not None:
                    values[attr] = v
        elif kind == _LIST:
            assert isinstance(node, LeafList)
            holder = next((c for c in child if local(c.tag) == node.inner), None) if node.inner else child
            values.setdefault(node.attr, []).append((holder.text if holder is not None else "") or "")
            if node.xml_attr is not None:
                found = values.setdefault(node.xml_attr[1], [""] * (len(values[node.attr]) - 1))
                found.append(child.get(node.xml_attr[0]) or "")
                if not any(found):
                    del values[node.xml_attr[1]]  # none named: the same as absent ([])
        elif kind == _CHOICE:
            values[node.attr] = child.text or ""  # type: ignore[union-attr]
        elif kind == _GROUP:
            assert isinstance(node, Group)
            _fill(child, node.members, values, ns)
        else:
            assert isinstance(node, Child)
            if kind == _WRAPPED:
                values[node.attr] = [_decode(c, node.binding, ns) for c in child if local(c.tag) == node.tag]
            elif kind == _MANY:
                values.setdefault(node.attr, []).append(_decode(child, node.binding, ns))
            else:
                values[node.attr] = _decode(child, node.binding, ns)


# ----------------------------------------------------------------------------------------- encode


def encode_into(parent: etree._Element, obj: Any, binding: Binding, ns: str) -> None:
    _emit(parent, obj, binding.nodes, ns)


def _sub(parent: etree._Element, tag: str, ns: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{ns}}}{tag}" if ns else tag)


def _xml_path(el: etree._Element) -> str:
    names = [local(a.tag) for a in el.iterancestors()][::-1] + [local(el.tag)]
    return "/" + "/".join(names)


def set_text(el: etree._Element, text: str, xml_attr: str = "") -> None:
    """Set text (or an attribute); characters XML 1.0 cannot carry become a typed error, not ValueError."""
    try:
        if xml_attr:
            el.set(xml_attr, text)
        else:
            el.text = text
    except ValueError:
        where = _xml_path(el) + (f"/@{xml_attr}" if xml_attr else "")
        raise ValidationFailed(
            [
                ValidationIssue(
                    where,
                    f"value {text!r} contains characters XML 1.0 cannot carry (NUL or control characters)",
                )
            ]
        ) from None


def _has_content(obj: Any, nodes: tuple[Node, ...]) -> bool:
    for node in nodes:
        if isinstance(node, Group):
            if node.required or _has_content(obj, node.members):
                return True
        elif (isinstance(node, Leaf | Child) and node.required) or not _empty(getattr(obj, node.attr)):
            return True
    return False


_PLAN_CACHE: dict[tuple[int, str], list[tuple[int, Node, str]]] = {}


def _plan(nodes: tuple[Node, ...], ns: str) -> list[tuple[int, Node, str]]:
    key = (id(nodes), ns)
    plan = _PLAN_CACHE.get(key)
    if plan is None:
        plan = _PLAN_CACHE[key] = [
            (_CHOICE, n, "") if isinstance(n, Choice) else (_kind(n), n, f"{{{ns}}}{n.tag}" if ns else n.tag)
            for n in nodes
        ]
    return plan


def _emit(parent: etree._Element, obj: Any, nodes: tuple[Node, ...], ns: str) -> None:
    sub = etree.SubElement
    for kind, node, clark in _plan(nodes, ns):
        if kind == _LEAF:  # hot path: plain text element
            value = getattr(obj, node.attr)  # type: ignore[union-attr]
            if value:
                set_text(sub(parent, clark), value)
            elif node.required:  # type: ignore[union-attr]
                sub(parent, clark).text = ""
            continue
        if isinstance(node, Group):
            if node.required or _has_content(obj, node.members):
                _emit(_sub(parent, node.tag, ns), obj, node.members, ns)
            continue
        value = getattr(obj, node.attr)
        if isinstance(node, Leaf):
            # An empty optional leaf is skipped, unless it carries attribute data (a package type
            # code without a quantity): then the empty element is written so schema validation
            # names it, rather than dropping the code silently.
            if (
                _empty(value)
                and not node.required
                and all(_empty(getattr(obj, attr)) for _, attr in node.xml_attrs)
            ):
                continue
            el = _sub(parent, node.tag, ns)
            set_text(el, "" if value is None else _to_text(value, node.conv))
            for xml_attr, attr in node.xml_attrs:
                attr_value = getattr(obj, attr)
                if not _empty(attr_value):
                    set_text(el, str(attr_value), xml_attr)
            for xml_attr, const in node.const_attrs:
                el.set(xml_attr, const)
        elif isinstance(node, LeafList):
            extra = getattr(obj, node.xml_attr[1]) if node.xml_attr is not None else []
            for k, item in enumerate(value):
                el = _sub(parent, node.tag, ns)
                set_text(_sub(el, node.inner, ns) if node.inner else el, item)
                if node.xml_attr is not None and k < len(extra) and extra[k]:
                    el.set(node.xml_attr[0], extra[k])
        elif isinstance(node, Choice):
            if _empty(value):
                continue
            tag = next((t for t, pred in node.options if pred(value)), node.options[-1][0])
            set_text(_sub(parent, tag, ns), value)
        elif node.many or node.wrapper:
            if not value:
                if node.required and node.wrapper:
                    _sub(parent, node.wrapper, ns)
                continue
            holder = _sub(parent, node.wrapper, ns) if node.wrapper else parent
            for item in value:
                _emit(_sub(holder, node.tag, ns), item, node.binding.nodes, ns)
        else:
            if value is None:
                if node.required:
                    _sub(parent, node.tag, ns)
                continue
            _emit(_sub(parent, node.tag, ns), value, node.binding.nodes, ns)


# ------------------------------------------------------------------------------ lossless check


_ATTRS_CACHE: dict[int, dict[str, Binding | None]] = {}


def bound_attrs(binding: Binding) -> dict[str, Binding | None]:
    """Dataclass attributes a binding writes -> nested binding (None for scalars)."""
    key = id(binding)
    found = _ATTRS_CACHE.get(key)
    if found is None:
        found = _ATTRS_CACHE[key] = _collect(binding.nodes)
    return found


def _collect(nodes: tuple[Node, ...]) -> dict[str, Binding | None]:
    out: dict[str, Binding | None] = {}
    for node in nodes:
        if isinstance(node, Group):
            out.update(_collect(node.members))
        elif isinstance(node, Child):
            out[node.attr] = node.binding
        else:
            out[node.attr] = None
            if isinstance(node, Leaf):
                out.update((attr, None) for _, attr in node.xml_attrs)
            elif isinstance(node, LeafList) and node.xml_attr is not None:
                out[node.xml_attr[1]] = None
    return out


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def unbound_fields(obj: Any, binding: Binding, path: str, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Paths of model fields that hold data the target XML cannot carry (the encoder would drop
    them silently). Encoders refuse such models instead of losing data."""
    attrs = bound_attrs(binding)
    lost: list[str] = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name in attrs:
            nested = attrs[f.name]
            if nested is None or value is None:
                continue
            if isinstance(value, list):
                for i, item in enumerate(value, start=1):
                    lost += unbound_fields(item, nested, f"{path}.{f.name}[{i}]")
            else:
                lost += unbound_fields(value, nested, f"{path}.{f.name}")
        elif f.name not in ignore and not _empty(value) and value != _default_of(f):
            lost.append(f"{path}.{f.name}")
    return lost


_STEP_RE = re.compile(r"^([^\[\]]+)(?:\[(\d+)\])?$")


def field_path(binding: Binding, path: str) -> str | None:
    """The dataclass field an element path names, through the binding: relative to the document
    element, `Name[k]` the k-th of its name (`Declaration/Consignment[2]/TransportContractDocument/ID`
    -> `declaration.consignments.1.bill_no`; list positions 0-based). None when the path names no
    bound field. The inverse of what encoding does, so it cannot drift from the XML written."""
    steps: list[tuple[str, int]] = []
    for raw in (s for s in path.split("/") if s):
        match = _STEP_RE.match(raw.rsplit(":", 1)[-1])
        if match is None:
            return None
        steps.append((match.group(1), int(match.group(2) or 1)))
    out: list[str] = []
    nodes = binding.nodes
    i = 0
    while i < len(steps):
        name, k = steps[i]
        node = _node_named(nodes, name)
        if node is None:
            return None
        if isinstance(node, Group):
            nodes, i = node.members, i + 1
            continue
        if isinstance(node, Leaf | Choice):
            return ".".join([*out, node.attr])
        if isinstance(node, LeafList):
            return ".".join([*out, node.attr, str(k - 1)])
        # a Child, named by its own tag or by its wrapper
        if node.wrapper and name == node.wrapper:
            if i + 1 >= len(steps):
                return ".".join([*out, node.attr])
            i += 1
            name, k = steps[i]
            if name != node.tag:
                return None
        out.append(node.attr)
        if node.many or node.wrapper:
            out.append(str(k - 1))
        nodes, i = node.binding.nodes, i + 1
    return ".".join(out) if out else ""


def _node_named(nodes: tuple[Node, ...], name: str) -> Node | None:
    for node in nodes:
        if isinstance(node, Choice):
            if any(tag == name for tag, _ in node.options):
                return node
        elif node.tag == name or (isinstance(node, Child) and node.wrapper == name):
            return node
    return None
