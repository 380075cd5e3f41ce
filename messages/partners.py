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
    "CODECO_gate_out": "36",
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
    # picks this profile when none is named: {unb_sender: ID} compared with the interchange's UNB
    match: dict[str, str] = field(default_factory=dict)
    # facts the partner's messages leave out (enrichment, docs/mappings.md "Enrichment"):
    # customs_office, tally_party, unloading_location
    defaults: dict[str, str] = field(default_factory=dict)
    # relaxations of what the partner gets wrong in practice; each is reported as a warning
    lenient: tuple[str, ...] = ()
    container_check: str = "warning"  # ISO 6346 check digit: "warning" (default) or "error"
    decimal_mark: str = ""  # "," or "." written in UNA; empty: the UNA default (".")
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
    "lenient",
    "container_check",
    "decimal_mark",
    "xml_envelope",
}
DEFAULT_KEYS = ("customs_office", "tally_party", "unloading_location")
MATCH_KEYS = ("unb_sender", "party")
LENIENCIES = ("lowercase_in_unoa",)


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
        issues += _profile_issues(where, values)
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
            match={str(k): str(v) for k, v in (values.get("match") or {}).items()},
            defaults={str(k): str(v) for k, v in (values.get("defaults") or {}).items()},
            lenient=tuple(str(x) for x in values.get("lenient") or ()),
            container_check=str(values.get("container_check", "warning")),
            decimal_mark=str(values.get("decimal_mark", "")),
            xml_envelope=str(values.get("xml_envelope", "")),
        )
    if issues:
        raise ValidationFailed(issues)
    return out


def load_partners_file(path: str | Path) -> dict[str, Partner]:
    return load_partners(Path(path).read_text(encoding="utf-8"))


def _profile_issues(where: str, values: dict[str, Any]) -> list[ValidationIssue]:
    """Checks of the enrichment/tolerance settings (match, defaults, lenient, container_check)."""
    out: list[ValidationIssue] = []
    for key, allowed in (("match", MATCH_KEYS), ("defaults", DEFAULT_KEYS)):
        if key not in values:
            continue
        if not isinstance(values[key], dict):
            out.append(ValidationIssue(f"{where}.{key}", "expected a mapping"))
            continue
        out += [
            ValidationIssue(f"{where}.{key}.{k}", f"unknown key (known: {', '.join(allowed)})")
            for k in values[key]
            if k not in allowed
        ]
    lenient = values.get("lenient")
    if lenient is not None:
        if not isinstance(lenient, list):
            out.append(ValidationIssue(f"{where}.lenient", "expected a list"))
        else:
            out += [
                ValidationIssue(
                    f"{where}.lenient", f"unknown relaxation {x!r} (known: {', '.join(LENIENCIES)})"
                )
                for x in lenient
                if x not in LENIENCIES
            ]
    if values.get("container_check", "warning") not in ("warning", "error"):
        out.append(ValidationIssue(f"{where}.container_check", "must be 'warning' or 'error'"))
    if values.get("decimal_mark", "") not in ("", ",", "."):
        out.append(ValidationIssue(f"{where}.decimal_mark", "must be ',' or '.'"))
    return out


def select_profile(
    profiles: dict[str, Partner], unb_sender: str | None, *, party: str = ""
) -> Partner | None:
    """The profile whose ``match.unb_sender`` is the interchange's UNB sender (S002), else None.

    Used when no partner is named (CLI without --partner, API without ?partner=). The hub's intake
    also passes the authenticated ``party`` (USCC): ``match.party`` wins over the UNB sender."""
    if party:
        for profile in profiles.values():
            if profile.match.get("party", "").strip() == party:
                return profile
    sender = (unb_sender or "").strip()
    for profile in profiles.values():
        if sender and profile.match.get("unb_sender", "").strip() == sender:
            return profile
    return None


def sniff_unb_sender(data: bytes) -> str:
    """UNB sender id of an EDIFACT interchange without parsing it (for `select_profile`)."""
    at = data.find(b"UNB")
    if at < 0:
        return ""
    sep = data[at + 3 : at + 4] or b"+"
    comp = b":"
    una = data.find(b"UNA", 0, at)
    if una >= 0 and at - una >= 9:
        comp = data[una + 3 : una + 4]
    parts = data[at : at + 200].split(sep)
    return parts[2].split(comp)[0].decode("latin-1").strip() if len(parts) > 2 else ""
