"""Key lifecycle for a party: issue, list, rotate, revoke. Only the SHA-256 of a key is stored; the key
itself is shown once, when issued. A key is named afterwards by the first characters of its hash (its
prefix), which is all a listing shows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.clock import now
from hub.db.models import ApiKey, Party
from hub.services.parties import VALID_ROLES, hash_key

PREFIX_LENGTH = 12
MIN_PREFIX = 8  # shorter prefixes would name more than one key too easily


class KeyError_(LookupError):
    """A party or key that does not exist (404), or input that names none unambiguously (422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class KeyInfo:
    prefix: str
    label: str
    roles: list[str]  # empty: every role of the party
    revoked: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: str  # shown once
    info: KeyInfo


def _party(session: Session, uscc: str) -> Party:
    party = session.scalar(select(Party).where(Party.uscc == uscc))
    if party is None:
        raise KeyError_(404, f"no party with USCC {uscc}")
    return party


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(key.key_sha256[:PREFIX_LENGTH], key.label, list(key.roles), key.revoked, key.created_at)


def issue(session: Session, uscc: str, roles: list[str] | None = None, label: str = "") -> IssuedKey:
    """A new key for the party. `roles` may only narrow the party's roles (checked again at every
    request, so a role the party loses is lost by its keys at once)."""
    party = _party(session, uscc)
    roles = list(roles or [])
    unknown = [r for r in roles if r not in VALID_ROLES]
    if unknown:
        raise KeyError_(422, f"roles: unknown {unknown}; use some of {sorted(VALID_ROLES)}")
    beyond = [r for r in roles if r not in party.roles]
    if beyond:
        raise KeyError_(422, f"roles: {beyond} not roles of party {uscc} ({party.roles}); a key only narrows")
    raw = "swk_" + secrets.token_urlsafe(24)
    key = ApiKey(key_sha256=hash_key(raw), party_id=party.id, roles=roles, label=label, created_at=now())
    session.add(key)
    session.flush()
    return IssuedKey(raw, _info(key))


def list_keys(session: Session, uscc: str) -> list[KeyInfo]:
    party = _party(session, uscc)
    keys = session.scalars(select(ApiKey).where(ApiKey.party_id == party.id).order_by(ApiKey.created_at))
    return [_info(k) for k in keys]


def _find(session: Session, uscc: str, prefix: str) -> ApiKey:
    party = _party(session, uscc)
    prefix = prefix.lower()
    if len(prefix) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in prefix):
        raise KeyError_(422, f"key prefix {prefix!r}: give at least {MIN_PREFIX} hex characters as listed")
    found = list(
        session.scalars(
            select(ApiKey).where(ApiKey.party_id == party.id, ApiKey.key_sha256.startswith(prefix))
        )
    )
    if not found:
        raise KeyError_(404, f"party {uscc} has no key with prefix {prefix}")
    if len(found) > 1:
        raise KeyError_(422, f"prefix {prefix} names {len(found)} keys of {uscc}; give more characters")
    return found[0]


def revoke(session: Session, uscc: str, prefix: str) -> KeyInfo:
    key = _find(session, uscc, prefix)
    key.revoked = True
    session.flush()
    return _info(key)


def rotate(session: Session, uscc: str, prefix: str) -> IssuedKey:
    """A new key with the old one's roles and label; the old one is revoked in the same transaction."""
    old = _find(session, uscc, prefix)
    if old.revoked:
        raise KeyError_(409, f"key {prefix} of {uscc} is revoked; issue a new one instead")
    old.revoked = True
    session.flush()
    return issue(session, uscc, list(old.roles), old.label)
