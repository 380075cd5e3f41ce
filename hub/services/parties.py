"""Parties and their API keys: bootstrap from a YAML file, look up callers by key."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum.cn import uscc as gb32100

from hub.clock import now
from hub.db.models import ApiKey, CreditClass, Party, Role
from hub.services import entrustments

# GB 32100-2015: registering authority and kind (alphabet), 6-digit region, 9-character organisation
# code and the check character, from the 31-letter alphabet (no I, O, S, V, Z); ASCII only: `\d`
# would take full-width or Arabic-Indic digits, so look-alike parties could be created.
USCC_PATTERN = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}", re.ASCII)


def uscc_problem(value: object) -> str | None:
    """Why `value` is not a USCC as GB 32100-2015 writes it (None when it is one). Taken as given:
    no upper-casing or stripping, so one party cannot be named two ways."""
    text = str(value) if value is not None else ""
    if len(text) != 18:
        return f"{text!r} is not an 18-character USCC (it has {len(text)} characters)"
    if not USCC_PATTERN.fullmatch(text):
        return (
            f"{text!r}: a USCC is 2 characters, 6 ASCII digits, then 10 characters, each of 0-9 and"
            " upper-case A-Z without I, O, S, V, Z (GB 32100-2015)"
        )
    if not gb32100.is_valid(text):
        return f"{text!r}: check digit wrong (GB 32100-2015 gives {gb32100.calc_check_digit(text[:17])!r})"
    return None


def valid_uscc(value: object) -> bool:
    return uscc_problem(value) is None


VALID_ROLES = {r.value for r in Role}
VALID_CREDIT = {c.value for c in CreditClass}


class BootstrapError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a party acting with a set of roles."""

    party_id: int
    uscc: str
    name: str
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def authenticate(session: Session, raw_key: str) -> Principal | None:
    row = session.execute(
        select(ApiKey, Party)
        .join(Party)
        .where(ApiKey.key_sha256 == hash_key(raw_key), ApiKey.revoked.is_(False))
    ).first()
    if row is None:
        return None
    key, party = row
    # The party's roles, read at every request, are the ceiling: a key's own roles only narrow them, so
    # removing a role from the party removes it from all its keys at once. An empty key role list = all.
    roles = frozenset(party.roles)
    if key.roles:
        roles &= frozenset(key.roles)
    return Principal(party_id=party.id, uscc=party.uscc, name=party.name, roles=roles)


def check_party(i: int, p: dict[str, Any]) -> list[str]:
    where = f"parties[{i}]"
    problems = []
    problem = uscc_problem(p.get("uscc"))
    if problem:
        problems.append(f"{where}.uscc: {problem}")
    if not p.get("name"):
        problems.append(f"{where}.name: missing")
    for role in p.get("roles", []):
        if role not in VALID_ROLES:
            problems.append(f"{where}.roles: unknown role {role!r}")
    if p.get("credit_class", "general") not in VALID_CREDIT:
        problems.append(f"{where}.credit_class: {p.get('credit_class')!r} not in {sorted(VALID_CREDIT)}")
    if p.get("refund_class") not in (None, 1, 2, 3, 4):
        problems.append(f"{where}.refund_class: must be 1-4")
    for j, k in enumerate(p.get("keys", [])):
        if not (k.get("key") or re.fullmatch(r"[0-9a-f]{64}", str(k.get("sha256", "")))):
            problems.append(f"{where}.keys[{j}]: needs `key` or a 64-hex `sha256`")
    return problems


def load_bootstrap(path: Path) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BootstrapError([f"{path}: {exc}"]) from exc
    parties = data.get("parties")
    if not isinstance(parties, list):
        raise BootstrapError([f"{path}: top-level `parties` list missing"])
    problems = [msg for i, p in enumerate(parties) for msg in check_party(i, p)]
    if problems:
        raise BootstrapError(problems)
    return parties


def seed_parties(session: Session, parties: list[dict[str, Any]]) -> int:
    """First-run seeding from the bootstrap file: a party is created from it only when the database does
    not know its USCC yet, and a key only when its hash is unknown. What the API changed later (roles,
    attributes, revoked keys) is never overwritten by the file. Returns the number of parties created."""
    known = set(session.scalars(select(Party.uscc)))
    new = [p for p in parties if p["uscc"] not in known]
    upsert_parties(session, new)
    for p in parties:
        if p["uscc"] in known:
            party = session.scalar(select(Party).where(Party.uscc == p["uscc"]))
            assert party is not None
            for k in p.get("keys", []):
                digest = k.get("sha256") or hash_key(k["key"])
                if session.get(ApiKey, digest) is None:
                    session.add(
                        ApiKey(
                            key_sha256=digest,
                            party_id=party.id,
                            roles=list(k.get("roles", [])),
                            label=k.get("label", ""),
                            revoked=bool(k.get("revoked", False)),
                            created_at=now(),
                        )
                    )
    return len(new)


def upsert_parties(session: Session, parties: list[dict[str, Any]]) -> int:
    """Insert or update parties and their keys (by USCC / key hash). Returns the party count."""
    problems = [
        msg
        for i, p in enumerate(parties)
        if (u := uscc_problem(p.get("uscc")))
        for msg in [f"parties[{i}].uscc: {u}"]
    ]
    if problems:  # every path that creates a party passes here
        raise BootstrapError(problems)
    for p in parties:
        party = session.scalar(select(Party).where(Party.uscc == p["uscc"]))
        if party is None:
            party = Party(uscc=p["uscc"], created_at=now())
            session.add(party)
        party.name = p["name"]
        party.roles = list(p.get("roles", []))
        party.customs_code = p.get("customs_code")
        party.credit_class = p.get("credit_class", CreditClass.GENERAL.value)
        party.aeo_mra_country = p.get("aeo_mra_country")
        party.refund_class = p.get("refund_class")
        party.ftz = bool(p.get("ftz", False))
        party.reputable = bool(p.get("reputable", False))
        party.terminal_code = p.get("terminal_code")
        party.tax_office_level = p.get("tax_office_level")
        party.terminals = list(p["terminals"]) if p.get("terminals") else None
        session.flush()
        for consignee in p.get("entrusted_by", []):  # a broker's entrustments (代理报关委托)
            entrustments.register(session, str(consignee), party.uscc, party.uscc)
        for k in p.get("keys", []):
            digest = k.get("sha256") or hash_key(k["key"])
            key = session.get(ApiKey, digest)
            if key is None:
                key = ApiKey(key_sha256=digest, party_id=party.id, created_at=now())
                session.add(key)
            key.party_id = party.id
            key.roles = list(k.get("roles", []))  # empty: the party's roles, whatever they become
            key.label = k.get("label", "")
            key.revoked = bool(k.get("revoked", False))
    return len(parties)


# A first-run party set so `make run` gives a usable hub; keys are random and written to var/.
DEMO_PARTIES: list[dict[str, Any]] = [
    {"uscc": "91370200M3C0ADM1NM", "name": "swhub administrator", "roles": ["admin"]},
    {
        "uscc": "91370200M3C0BRK01N",
        "name": "青岛海通报关有限公司",
        "roles": ["broker"],
        "credit_class": "certified",
        # the demo importer's agency entrustment, so a first-run broker can declare for it at once
        "entrusted_by": ["91370200M3C0EXP01H"],
    },
    {
        "uscc": "91370200M3C0EXP01H",
        "name": "山东鲁货进出口有限公司",
        "roles": ["importer", "exporter"],
        "credit_class": "aeo",
        "refund_class": 1,
        "ftz": True,
        "reputable": True,
    },
    {
        "uscc": "91370200M3C0PRT01B",
        "name": "青岛前湾集装箱码头有限责任公司",
        "roles": ["port_operator"],
        "terminal_code": "CNTAO/4227",  # the manifest UnloadingLocation ID of the terminal
    },
    {
        "uscc": "91370200M3C0TLY015",
        "name": "中国外轮理货青岛分公司",
        "roles": ["tally"],
        "terminals": ["CNTAO/4227"],  # the terminals the tally company is assigned to
    },
    {"uscc": "11100000000013127D", "name": "青岛海关 Qingdao Customs", "roles": ["customs"]},
    {
        "uscc": "11370000M1C0TAX011",
        "name": "国家税务总局山东省税务局",
        "roles": ["tax_officer"],
        "tax_office_level": "province",
    },
    {"uscc": "91370200M3C0TET013", "name": "swhub test team", "roles": ["tester"]},
]


def write_demo_bootstrap(path: Path) -> dict[str, str]:
    """Create a bootstrap file with fresh random keys; returns {party name: key} to show once."""
    shown: dict[str, str] = {}
    parties = []
    for p in DEMO_PARTIES:
        key = "swk_" + secrets.token_urlsafe(24)
        shown[f"{p['name']} ({', '.join(p['roles'])})"] = key
        parties.append({**p, "keys": [{"key": key, "label": "first-run"}]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump({"parties": parties}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    path.chmod(0o600)
    return shown
