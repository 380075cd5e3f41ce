"""Partner profiles: how one trading partner writes EDIFACT (charset, directory, BGM codes, UNB ids).

A profile only changes the envelope and a few codes; the canonical mapping stays the same. Loaded
from a YAML file (see docs/mappings.md, "Partner profiles", and config/partners.yaml). The file is
read by the caller (CLI/hub) and handed to `load_partners`, so this module does no I/O beyond the
optional convenience `load_partners_file`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from messages.errors import ValidationFailed, ValidationIssue

# Default BGM document codes written per message/purpose (read side accepts every listed alternative).
DEFAULT_BGM_CODES: dict[str, str] = {
    "CUSCAR": "85",
    "CODECO_gate_in": "34",
    "COARRI_discharge": "44",
    "COARRI_loading": "46",
    "CUSDEC_import": "929",
    "CUSDEC_export": "830",
    "CUSRES_dec_data": "962",
    "CUSRES_mt9999": "961",
}
DEFAULT_ASSOCIATION: dict[str, str] = {"CUSCAR": "LOT10", "CODECO": "SMDG16", "COARRI": "ITG13"}

_SYNTAX_IDS = {
    "UNOA",
    "UNOB",
    "UNOC",
    "UNOD",
    "UNOE",
    "UNOF",
    "UNOG",
    "UNOH",
    "UNOI",
    "UNOJ",
    "UNOK",
    "UNOW",
    "UNOX",
    "UNOY",
    "KECA",
}


@dataclass(frozen=True, slots=True)
class Partner:
    name: str = "default"
    syntax_id: str = "UNOY"
    syntax_version: int = 3
    encoding: str | None = None  # codec override, e.g. "gbk" for partners declaring UNOC
    directory: str = "D95B"
    association: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ASSOCIATION))
    bgm_codes: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BGM_CODES))
    unb_sender: str = ""  # empty: the sender id of the message itself
    unb_sender_qualifier: str = "ZZZ"
    unb_recipient: str = ""
    unb_recipient_qualifier: str = "ZZZ"
    match: dict[str, str] = field(default_factory=dict)  # e.g. {unb_sender: CNTAOQQCT}
    defaults: dict[str, str] = field(default_factory=dict)  # facts the partner's messages leave out
    xml_envelope: str = ""  # "MFTMessage": manifests written inside the client's transport envelope

    def bgm(self, key: str) -> str:
        return self.bgm_codes.get(key) or DEFAULT_BGM_CODES[key]


DEFAULT_PARTNER = Partner()

_FIELDS = {
    "syntax_id",
    "syntax_version",
    "encoding",
    "directory",
    "association",
    "bgm_codes",
    "unb_sender",
    "unb_sender_qualifier",
    "unb_recipient",
    "unb_recipient_qualifier",
    "match",
    "defaults",
    "xml_envelope",
}


def load_partners(text: str) -> dict[str, Partner]:
    """Parse a partners YAML document (``partners: {NAME: {...}}``); all problems at once."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValidationFailed([ValidationIssue("partners", f"not valid YAML: {exc}")]) from None
    issues: list[ValidationIssue] = []
    entries = doc.get("partners") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise ValidationFailed([ValidationIssue("partners", "expected a mapping 'partners: {NAME: {...}}'")])
    out: dict[str, Partner] = {}
    for name, raw in entries.items():
        where = f"partners.{name}"
        if not isinstance(raw, dict):
            issues.append(ValidationIssue(where, "expected a mapping of settings"))
            continue
        unknown = set(raw) - _FIELDS
        issues += [ValidationIssue(f"{where}.{k}", "unknown setting") for k in sorted(unknown, key=str)]
        values: dict[str, Any] = {k: raw[k] for k in raw if k in _FIELDS}
        syntax_id = str(values.get("syntax_id", "UNOY")).upper()
        if syntax_id not in _SYNTAX_IDS:
            issues.append(ValidationIssue(f"{where}.syntax_id", f"unknown syntax identifier {syntax_id!r}"))
        version = values.get("syntax_version", 3)
        if version not in (1, 2, 3, 4):
            issues.append(ValidationIssue(f"{where}.syntax_version", "must be 1, 2, 3 or 4"))
        encoding = values.get("encoding")
        if encoding is not None:
            try:
                "".encode(str(encoding))
            except LookupError:
                issues.append(ValidationIssue(f"{where}.encoding", f"unknown codec {encoding!r}"))
        for key in ("association", "bgm_codes", "match", "defaults"):
            if key in values and not isinstance(values[key], dict):
                issues.append(ValidationIssue(f"{where}.{key}", "expected a mapping"))
        if values.get("xml_envelope", "") not in ("", "MFTMessage"):
            issues.append(ValidationIssue(f"{where}.xml_envelope", "expected MFTMessage or nothing"))
        if issues:
            continue
        out[str(name)] = Partner(
            name=str(name),
            syntax_id=syntax_id,
            syntax_version=int(version),
            encoding=str(encoding) if encoding else None,
            directory=str(values.get("directory", "D95B")).replace(".", "").upper(),
            association={
                **DEFAULT_ASSOCIATION,
                **{str(k): str(v) for k, v in values.get("association", {}).items()},
            },
            bgm_codes={
                **DEFAULT_BGM_CODES,
                **{str(k): str(v) for k, v in values.get("bgm_codes", {}).items()},
            },
            unb_sender=str(values.get("unb_sender", "")),
            unb_sender_qualifier=str(values.get("unb_sender_qualifier", "ZZZ")),
            unb_recipient=str(values.get("unb_recipient", "")),
            unb_recipient_qualifier=str(values.get("unb_recipient_qualifier", "ZZZ")),
            match={str(k): str(v) for k, v in values.get("match", {}).items()},
            defaults={str(k): str(v) for k, v in values.get("defaults", {}).items()},
            xml_envelope=str(values.get("xml_envelope", "")),
        )
    if issues:
        raise ValidationFailed(issues)
    return out


def select_profile(profiles: dict[str, Partner], unb_sender: str | None) -> Partner | None:
    """The profile whose `match: {unb_sender: ...}` names this interchange's UNB sender, if any."""
    if not unb_sender:
        return None
    for profile in profiles.values():
        if profile.match.get("unb_sender") == unb_sender:
            return profile
    return None


def load_partners_file(path: str | Path) -> dict[str, Partner]:
    return load_partners(Path(path).read_text(encoding="utf-8"))
