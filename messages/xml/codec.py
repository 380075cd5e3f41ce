"""Family dispatch for the XML side: which schema and which binder belong to a root element.

Every family registers a `Family` (schema key, decode, encode, semantic checks). `decode`, `encode`
and `validate` in messages.xml look the family up by root element + namespace (decode/validate)
or by model class (encode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from lxml import etree

from messages.errors import UnknownMessageType, ValidationFailed, ValidationIssue
from messages.xml import safe
from messages.xml.binding import Binding, unbound_fields
from messages.xml.schemas import MANIFEST_NS_PREFIX, validate_tree


def _none(_: object) -> list[ValidationIssue]:
    return []


@dataclass(frozen=True, slots=True)
class Family:
    decode: Callable[[etree._Element], Any]
    build: Callable[[Any], etree._Element]
    schema_key: Callable[[Any], str]  # model -> schema key (manifests depend on message_type)
    semantic: Callable[[Any], list[ValidationIssue]] = _none  # rules on the bound model
    tree_check: Callable[[etree._Element], list[ValidationIssue]] = _none  # rules on the valid tree
    binding_of: Callable[[Any], Binding] | None = None  # for the "no silent data loss" check on encode
    ignore: frozenset[str] = frozenset()  # model attributes written outside the binding (root attributes)


def identify(root: etree._Element) -> str:
    """Schema key of a parsed document (e.g. "DecMessage", "MT1101"); UnknownMessageType otherwise."""
    qname = etree.QName(root)
    ns, name = qname.namespace or "", qname.localname
    from messages.xml.schemas import DEC_NS, MANIFEST_TYPES, NOTICE_NS, NOTICE_ROOTS

    if ns == DEC_NS and name in ("DecMessage", "DecImportResponse"):
        return name
    if ns == "" and name == "DEC_DATA":
        return name
    if ns == NOTICE_NS and name in NOTICE_ROOTS:
        return name
    if name == "Manifest" and ns.startswith(MANIFEST_NS_PREFIX):
        mt = ns[len(MANIFEST_NS_PREFIX) :].removesuffix(":1")
        if mt in MANIFEST_TYPES:
            return mt
        raise UnknownMessageType(f"manifest message type {mt!r} is not supported")
    raise UnknownMessageType(f"unknown root element {{{ns}}}{name}" if ns else f"unknown root element {name}")


def expect_root(root: etree._Element, key: str) -> None:
    found = identify(root)
    if found != key:
        raise UnknownMessageType(f"expected {key}, got {found}")


_FAMILIES: dict[str, Family] = {}
_BY_CLASS: dict[type, Family] = {}


def register(keys: tuple[str, ...], model_cls: type, family: Family) -> None:
    for key in keys:
        _FAMILIES[key] = family
    _BY_CLASS[model_cls] = family


def family_for_key(key: str) -> Family:
    _load()
    return _FAMILIES[key]


def family_for_model(model: object) -> Family:
    _load()
    try:
        return _BY_CLASS[type(model)]
    except KeyError:
        raise UnknownMessageType(f"no XML codec for {type(model).__name__}") from None


def _load() -> None:
    if _FAMILIES:
        return
    # Importing the family modules registers them; done lazily to keep import cycles out.
    from messages.xml import families  # noqa: F401


def check(
    data: bytes, *, max_bytes: int = safe.DEFAULT_MAX_BYTES
) -> tuple[etree._Element, str, list[ValidationIssue]]:
    from messages.xml.normalise import normalise, open_envelope

    parsed = safe.parse(data, max_bytes=max_bytes)
    root = open_envelope(parsed)
    key = identify(root)
    root = normalise(root, key)
    issues = validate_tree(root, key)
    if root.getparent() is None and parsed.getparent() is root:
        # a wrapper the reader built around the sender's root (bare DEC_RESULT -> DEC_DATA): name
        # the elements as the sender wrote them, without the wrapper
        issues = [replace(i, location=_without_first_step(i.location)) for i in issues]
    return root, key, issues


def _without_first_step(location: str) -> str:
    rest = location.split("/", 2)
    return "/" + rest[2] if len(rest) == 3 else location


def _checked(data: bytes, max_bytes: int) -> tuple[Any, list[ValidationIssue]]:
    """(model or None, all issues): schema issues, then semantic ones when the model is usable
    (messages.xml.layers: invalid leaves are left out for the semantic rules)."""
    from messages.xml.layers import check_layers

    layered = check_layers(data, max_bytes=max_bytes)
    return (None if layered.issues else layered.model), layered.issues


def validate(data: bytes, *, max_bytes: int = safe.DEFAULT_MAX_BYTES) -> list[ValidationIssue]:
    return _checked(data, max_bytes)[1]


def decode(data: bytes, *, max_bytes: int = safe.DEFAULT_MAX_BYTES) -> Any:
    model, issues = _checked(data, max_bytes)
    if issues:
        raise ValidationFailed(issues)
    return model


def lossless_issues(model: object, family: Family) -> list[ValidationIssue]:
    if family.binding_of is None:
        return []
    key = family.schema_key(model)
    return [
        ValidationIssue(path, f"{key} has no element for this field: encoding would lose the value")
        for path in unbound_fields(model, family.binding_of(model), "model", family.ignore)
    ]


def encode(model: object) -> bytes:
    family = family_for_model(model)
    root = family.build(model)
    issues = validate_tree(root, family.schema_key(model)) + family.semantic(model)
    issues += lossless_issues(model, family)
    if issues:
        raise ValidationFailed(issues)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
