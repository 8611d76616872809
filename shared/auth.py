"""Who calls: portals with an API key (`X-API-Key`), treasury staff with an HS256 JWT.

Which route each may call is `shared.access`; this module only knows the credentials.

Staff tokens carry `sub`, `role` (`controller`, `head`, `ops`) and `treasury_code`; staff act
only within their own office.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import jwt

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

    def office(self, treasury_code: str | None = None) -> str:
        """The office a request is about: the one named, if it is the member's, else theirs."""
        office = treasury_code or self.treasury_code
        self.require_office(office)
        return office

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


@dataclass(frozen=True)
class Caller:
    """A portal (by API key) or a member of staff (by token)."""

    portal: bool
    staff: Staff | None

    def require_office(self, treasury_code: str) -> None:
        if self.staff is not None:
            self.staff.require_office(treasury_code)
