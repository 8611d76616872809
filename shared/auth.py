"""Who may call: portals with an API key (`X-API-Key`), treasury staff with an HS256 JWT.

Staff tokens carry `sub`, `role` (`controller`, `head`, `ops`) and `treasury_code`; staff act
only within their own office.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import jwt
from fastapi import Header

from shared.errors import Forbidden, Unauthorized

Role = Literal["controller", "head", "ops"]
ROLES: frozenset[str] = frozenset({"controller", "head", "ops"})


@dataclass(frozen=True)
class Staff:
    sub: str
    role: str
    treasury_code: str

    def require_office(self, treasury_code: str) -> None:
        if self.treasury_code != treasury_code:
            raise Forbidden(
                f"staff of office {self.treasury_code} cannot act on office {treasury_code}"
            )

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} cannot do this; needs one of {sorted(roles)}")


def decode_staff_token(token: str, *, secret: str) -> Staff:
    if not secret:
        raise Unauthorized("staff access is not configured (STAFF_JWT_SECRET is empty)")
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
    except jwt.PyJWTError as err:
        raise Unauthorized(f"invalid staff token: {err}") from None
    role, office = claims.get("role"), claims.get("treasury_code")
    if role not in ROLES or not isinstance(office, str) or not office:
        raise Unauthorized(
            "staff token needs a `role` in controller/head/ops and a `treasury_code`"
        )
    return Staff(sub=str(claims["sub"]), role=role, treasury_code=office)


def issue_staff_token(
    *, secret: str, sub: str, role: str, treasury_code: str, now: dt.datetime, ttl: dt.timedelta
) -> str:
    """A staff token, as the treasury's identity provider would issue it (demo and tests)."""
    claims = {
        "sub": sub,
        "role": role,
        "treasury_code": treasury_code,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def staff_dependency(secret: str) -> Callable[..., Staff]:
    """A FastAPI dependency returning the caller's `Staff`, or raising 401."""

    def current_staff(authorization: Annotated[str | None, Header()] = None) -> Staff:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("a staff bearer token is required")
        return decode_staff_token(authorization[7:].strip(), secret=secret)

    return current_staff


def api_key_dependency(keys: frozenset[str]) -> Callable[..., str]:
    """A FastAPI dependency accepting only the configured portal keys (constant-time compare)."""

    def portal(x_api_key: Annotated[str | None, Header()] = None) -> str:
        if x_api_key is None:
            raise Unauthorized("a portal API key is required in X-API-Key")
        if not any(hmac.compare_digest(x_api_key, key) for key in keys):
            raise Unauthorized("unknown portal API key")
        return x_api_key

    return portal


@dataclass(frozen=True)
class Caller:
    """A portal (by API key) or a member of staff (by token)."""

    portal: bool
    staff: Staff | None

    def require_office(self, treasury_code: str) -> None:
        if self.staff is not None:
            self.staff.require_office(treasury_code)


def caller_dependency(*, secret: str, keys: frozenset[str]) -> Callable[..., Caller]:
    """Accepts a portal API key or a staff bearer token (staff are held to their office)."""
    staff = staff_dependency(secret)
    portal = api_key_dependency(keys)

    def caller(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Caller:
        if x_api_key is not None:
            portal(x_api_key)
            return Caller(portal=True, staff=None)
        return Caller(portal=False, staff=staff(authorization))

    return caller
