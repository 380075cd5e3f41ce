"""The canonical models as JSON, for handing a decoded message from one hub process to another.

Intake decodes a message once; the workflow worker rebuilds the same model from this JSON instead of
parsing the XML again. The bytes come off a message bus that any publisher can write to, so the
format is deliberately closed (never pickle, which would run code chosen by the publisher):
- a dataclass is `{"$t": "Name", ...fields}` where Name must be one of the dataclasses defined in
  the messages.models modules (an allow-list built at import), and only its declared fields are
  accepted;
- Decimal `{"$d": "1.50"}` (the exact digits, so 1.50 stays 1.50), datetime `{"$dt": iso}`, a
  StrEnum `{"$e": "Name", "v": value}` (Name from the same allow-list, value one of its members);
- str, int, bool, None and lists as themselves;
- a field equal to its default (most of a DecHead's ninety) is left out.
Anything else, and any value not of its field's declared type, is refused with WireError. The round
trip gives back an equal model, and reading it is ~4x cheaper than parsing the XML again."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import ModuleType
from typing import Any

from messages.errors import MessageError
from messages.models import declaration, gate, manifest, notices, receipts

CONTENT_TYPE = "application/vnd.swhub.model+json"
VERSION = 1
_MODULES: tuple[ModuleType, ...] = (declaration, gate, manifest, notices, receipts)
_MAX_DEPTH = 32  # the deepest model (Declaration > items > goods_limits > vins) is 5 levels


class WireError(MessageError):
    """The JSON is not a canonical model this codec wrote."""


def _registry() -> tuple[dict[str, type], dict[str, type[StrEnum]]]:
    classes: dict[str, type] = {}
    enums: dict[str, type[StrEnum]] = {}
    for module in _MODULES:
        for name, obj in vars(module).items():
            if not isinstance(obj, type) or obj.__module__ != module.__name__:
                continue  # imported names (e.g. ManifestHead in receipts) count once, at home
            if dataclasses.is_dataclass(obj):
                if name in classes:
                    raise RuntimeError(f"two canonical model classes named {name}")
                classes[name] = obj
            elif issubclass(obj, StrEnum):
                enums[name] = obj
    return classes, enums


_CLASSES, _ENUMS = _registry()
Check = Callable[[Any], bool]


def _check(hint: Any) -> Check:
    """A predicate for values of a field's declared type (compiled once per field: loads is on the
    workflow's hot path)."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(hint)
        rest = [_check(a) for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            one = rest[0]
            return lambda v: v is None or one(v)
        return lambda v: any(c(v) for c in rest) or (v is None and type(None) in args)
    if origin is list:
        (item,) = typing.get_args(hint)
        each = _check(item)
        return lambda v: type(v) is list and all(map(each, v))
    if hint is int:
        return lambda v: type(v) is int  # not bool
    if isinstance(hint, type):
        return lambda v: isinstance(v, hint)
    raise RuntimeError(f"no wire check for {hint!r}")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    check: Check
    default: Any  # dataclasses.MISSING when the field has none (or a factory)
    empty_list: bool  # default_factory=list: an empty list is left out


def _plan(cls: type) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        _Field(f.name, _check(hints[f.name]), f.default, f.default_factory is list)
        for f in dataclasses.fields(cls)
    )


# each field's declared type, so a value of another type (a forged or corrupted body) is refused here
# rather than reaching the workflow and the database; defaults, so that values equal to them (most of
# a DecHead's ninety fields) are not written
_PLANS: dict[type, tuple[_Field, ...]] = {cls: _plan(cls) for cls in _CLASSES.values()}
_CHECKS: dict[type, dict[str, Check]] = {cls: {f.name: f.check for f in p} for cls, p in _PLANS.items()}


def _out(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, StrEnum):
        return {"$e": kind.__name__, "v": value.value}
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, list):
        return [_out(v) for v in value]
    plan = _PLANS.get(kind)
    if plan is None:
        raise WireError(f"{kind.__name__} is not part of the canonical models")
    out: dict[str, Any] = {"$t": kind.__name__}
    for f in plan:
        v = getattr(value, f.name)
        if f.empty_list and type(v) is list and not v:
            continue
        if f.default is not MISSING and type(v) is type(f.default) and v == f.default:
            continue
        out[f.name] = _out(v)
    return out


def _in(value: Any, depth: int = 0) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if depth > _MAX_DEPTH:
        raise WireError("model nested too deeply")
    if kind is list:
        return [_in(v, depth + 1) for v in value]
    if kind is not dict:
        raise WireError(f"unexpected JSON value {kind.__name__}")
    if "$t" in value:
        tag = value["$t"]
        cls = _CLASSES.get(tag) if type(tag) is str else None
        if cls is None:
            raise WireError(f"{tag!r} is not a canonical model class")
        checks = _CHECKS[cls]
        kwargs = {}
        for k, v in value.items():
            if k == "$t":
                continue
            check = checks.get(k)
            if check is None:
                raise WireError(f"{cls.__name__} has no field {k!r}")
            v = _in(v, depth + 1)
            if not check(v):
                raise WireError(f"{cls.__name__}: wrong type for {k}")
            kwargs[k] = v
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required field missing
            raise WireError(f"{cls.__name__}: {exc}") from None
    if value.keys() == {"$d"} and isinstance(value["$d"], str):
        try:
            return Decimal(value["$d"])
        except InvalidOperation:
            raise WireError(f"not a decimal: {value['$d']!r}") from None
    if value.keys() == {"$dt"} and isinstance(value["$dt"], str):
        try:
            return datetime.fromisoformat(value["$dt"])
        except ValueError:
            raise WireError(f"not a date-time: {value['$dt']!r}") from None
    if value.keys() == {"$e", "v"}:
        enum = _ENUMS.get(value["$e"]) if isinstance(value["$e"], str) else None
        if enum is None:
            raise WireError(f"{value['$e']!r} is not a canonical enumeration")
        try:
            return enum(value["v"])
        except ValueError:
            raise WireError(f"{value['v']!r} is not a {enum.__name__}") from None
    raise WireError("a JSON object that is neither a model, a decimal, a date-time nor an enum")


def dumps(model: Any, **extra: Any) -> bytes:
    """UTF-8 JSON of a canonical model (a dataclass of messages.models); `extra` are plain JSON
    values stored beside it (e.g. the XML the hub generated)."""
    if type(model) not in _PLANS:
        raise WireError(f"{type(model).__name__} is not a canonical model")
    doc = {"v": VERSION, "model": _out(model), **extra}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> tuple[Any, dict[str, Any]]:
    """(model, the extra values) from `dumps`' bytes; WireError for anything else."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise WireError(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION or not isinstance(doc.get("model"), dict):
        raise WireError(f"not a version {VERSION} canonical model document")
    model = _in(doc["model"])
    if type(model) not in _PLANS:
        raise WireError("the document does not hold a canonical model")
    extra = {k: v for k, v in doc.items() if k not in ("v", "model")}
    return model, extra
