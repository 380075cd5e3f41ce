"""The canonical models as JSON, for handing a decoded message from one hub process to another.

Intake decodes a message once; the workflow worker rebuilds the same model from this JSON instead of
parsing the XML again. The bytes come off a message bus that any publisher can write to, so the
format is deliberately closed (never pickle, which would run code chosen by the publisher):
- a dataclass is `{"$t": "Name", ...fields}` where Name must be one of the dataclasses defined in
  the messages.models modules (an allow-list built at import), and only its declared fields are
  accepted;
- Decimal `{"$d": "1.50"}` (the exact digits, so 1.50 stays 1.50), datetime `{"$dt": iso}`, a
  StrEnum `{"$e": "Name", "v": value}` (Name from the same allow-list, value one of its members);
- str, int, bool, None and lists as themselves.
Anything else is refused with WireError. The round trip gives back an equal model."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import ModuleType
from typing import Any

from messages.errors import MessageError
from messages.models import declaration, manifest, notices, receipts

CONTENT_TYPE = "application/vnd.swhub.model+json"
VERSION = 1
_MODULES: tuple[ModuleType, ...] = (declaration, manifest, notices, receipts)
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
_FIELDS: dict[type, frozenset[str]] = {
    cls: frozenset(f.name for f in dataclasses.fields(cls)) for cls in _CLASSES.values()
}


def _out(value: Any) -> Any:
    # order matters: StrEnum is a str, bool is an int
    if value is None or isinstance(value, bool | int) and not isinstance(value, StrEnum):
        return value
    if isinstance(value, StrEnum):
        return {"$e": type(value).__name__, "v": value.value}
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, list):
        return [_out(v) for v in value]
    cls = type(value)
    if cls in _FIELDS:
        out: dict[str, Any] = {"$t": cls.__name__}
        for f in dataclasses.fields(value):
            out[f.name] = _out(getattr(value, f.name))
        return out
    raise WireError(f"{cls.__name__} is not part of the canonical models")


def _in(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise WireError("model nested too deeply")
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, list):
        return [_in(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        raise WireError(f"unexpected JSON value {type(value).__name__}")
    if "$t" in value:
        cls = _CLASSES.get(value["$t"]) if isinstance(value["$t"], str) else None
        if cls is None:
            raise WireError(f"{value['$t']!r} is not a canonical model class")
        names = _FIELDS[cls]
        kwargs = {k: _in(v, depth + 1) for k, v in value.items() if k != "$t"}
        unknown = set(kwargs) - names
        if unknown:
            raise WireError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
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
    if type(model) not in _FIELDS:
        raise WireError(f"{type(model).__name__} is not a canonical model")
    doc = {"v": VERSION, "model": _out(model), **extra}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> tuple[Any, dict[str, Any]]:
    """(model, the extra values) from `dumps`' bytes; WireError for anything else."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION or not isinstance(doc.get("model"), dict):
        raise WireError(f"not a version {VERSION} canonical model document")
    model = _in(doc["model"])
    if type(model) not in _FIELDS:
        raise WireError("the document does not hold a canonical model")
    extra = {k: v for k, v in doc.items() if k not in ("v", "model")}
    return model, extra
