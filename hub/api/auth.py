"""API-key authentication (header X-API-Key) and role checks. Every route depends on one of these
except the deliberately public ones (health, public refund query)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from hub.api.errors import ApiError
from hub.runtime import Hub
from hub.services.parties import Principal, authenticate

API_KEY_HEADER = "X-API-Key"
_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="API key issued to a party")


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


def current_principal(request: Request, key: str | None = Depends(_scheme)) -> Principal:
    if not key:
        raise ApiError(401, f"missing {API_KEY_HEADER} header")
    hub: Hub = request.app.state.hub
    with hub.db.sessions() as session:
        principal = authenticate(session, key)
    if principal is None:
        raise ApiError(401, "unknown or revoked API key")
    return principal


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """Dependency: the caller must hold at least one of `roles` (admin holds all)."""

    def check(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.has("admin", *roles):
            return principal
        raise ApiError(403, f"requires one of the roles: {', '.join(roles)}")

    return check
