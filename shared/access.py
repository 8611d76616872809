"""Who may call which route: one rule per route, checked on the server (docs/contract.md §7).

Every route takes exactly one dependency made by its service's `Doors`:

    doors.public()                     anyone (health, metrics)
    doors.portal()                     a portal API key (`X-API-Key`)
    doors.staff(*roles)                a staff token of one of `roles`
    doors.caller(*roles)               a portal API key, or a staff token of one of `roles`

For staff, the same dependency then resolves, on the server, the office of every key the
request names (`dossier_id`, `unit_code`, `delivery_id`, … in the path or the query string)
through the service's `OfficeOf` look-ups, and compares it with the token's office:

- a key of another office answers 404, exactly as a key that does not exist, so that a
  member of staff cannot learn that another office's dossier, unit or delivery exists;
- an explicit `treasury_code` of another office answers 403 (offices are public).

A request parameter that looks like a key but that the service cannot resolve is a
programming error: the route fails closed (500) instead of answering for every office.
Portal keys keep their documented reach (portals act for the units they serve).

Each route's rule is written into its OpenAPI operation as `x-access`, so that a test can
walk every route of every service and try every kind of credential on it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import ROLES, Caller, Staff, decode_staff_token
from shared.errors import InvalidRequest, NotFound, ServiceError, Unauthorized

# The office of a key's value, or None when nothing of that key exists (SQL in each db.py).
OfficeOf = Callable[[AsyncSession, str], Awaitable[str | None]]
OFFICE_PARAMETER = "treasury_code"
F = TypeVar("F")


class UnscopedKey(ServiceError):
    """A route names a key that its service cannot resolve to an office: fail closed."""


@dataclass(frozen=True)
class Rule:
    """What opens one route; written into the route's OpenAPI operation as `x-access`."""

    portal: bool = False
    roles: frozenset[str] = frozenset()
    public: bool = False
    keys: tuple[str, ...] = field(default=())

    def document(self) -> dict[str, Any]:
        return {
            "public": self.public,
            "portal": self.portal,
            "staff_roles": sorted(self.roles),
            "office_keys": list(self.keys),
            "office_parameter": OFFICE_PARAMETER,
            "other_office": {"key": 404, OFFICE_PARAMETER: 403},
        }


class Doors:
    """A service's access rules: its credentials and how it finds the office of each key."""

    def __init__(
        self,
        *,
        secret: str,
        api_keys: frozenset[str],
        sessionmaker: async_sessionmaker[AsyncSession],
        office_of: Mapping[str, OfficeOf],
    ) -> None:
        self._secret = secret
        self._api_keys = api_keys
        self._sessionmaker = sessionmaker
        self._office_of = dict(office_of)

    @staticmethod
    def public() -> Callable[..., None]:
        return public

    def portal(self) -> Callable[..., Awaitable[str]]:
        async def portal(
            request: Request, x_api_key: Annotated[str | None, Header()] = None
        ) -> str:
            key = self._portal_key(x_api_key)
            _storable(request)
            return key

        return _ruled(portal, Rule(portal=True))

    def staff(self, *roles: str) -> Callable[..., Awaitable[Staff]]:
        wanted = _roles(roles)

        async def staff(
            request: Request, authorization: Annotated[str | None, Header()] = None
        ) -> Staff:
            member = self._staff(authorization, wanted)
            await self._within_office(request, member)
            return member

        return _ruled(staff, Rule(roles=wanted, keys=self.keys()))

    def caller(self, *roles: str) -> Callable[..., Awaitable[Caller]]:
        wanted = _roles(roles)

        async def caller(
            request: Request,
            authorization: Annotated[str | None, Header()] = None,
            x_api_key: Annotated[str | None, Header()] = None,
        ) -> Caller:
            if x_api_key is not None:
                self._portal_key(x_api_key)
                _storable(request)
                return Caller(portal=True, staff=None)
            member = self._staff(authorization, wanted)
            await self._within_office(request, member)
            return Caller(portal=False, staff=member)

        return _ruled(caller, Rule(portal=True, roles=wanted, keys=self.keys()))

    def keys(self) -> tuple[str, ...]:
        return tuple(sorted(self._office_of))

    def _portal_key(self, x_api_key: str | None) -> str:
        if x_api_key is None:
            raise Unauthorized("a portal API key is required in X-API-Key")
        if not any(hmac.compare_digest(x_api_key, key) for key in self._api_keys):
            raise Unauthorized("unknown portal API key")
        return x_api_key

    def _staff(self, authorization: str | None, roles: frozenset[str]) -> Staff:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthorized("a staff bearer token is required")
        member = decode_staff_token(authorization[7:].strip(), secret=self._secret)
        member.require_role(*roles)
        return member

    async def _within_office(self, request: Request, member: Staff) -> None:
        _storable(request)
        named = {**request.query_params, **request.path_params}
        office = named.pop(OFFICE_PARAMETER, None)
        if office is not None:
            member.require_office(office)
        keys = sorted((k, str(v)) for k, v in named.items() if _looks_like_key(k))
        if not keys:
            return
        async with self._sessionmaker() as session:
            for name, value in keys:
                look_up = self._office_of.get(name)
                if look_up is None:
                    raise UnscopedKey(f"{request.url.path}: no office look-up for `{name}`")
                if await look_up(session, value) != member.treasury_code:
                    raise NotFound(f"no {name.removesuffix('_id').replace('_', ' ')} {value}")


def _storable(request: Request) -> None:
    """No parameter can hold U+0000: PostgreSQL cannot compare or store it."""
    named = {**request.query_params, **request.path_params}
    for name, value in named.items():
        if "\x00" in str(value):
            raise InvalidRequest(f"parameter `{name}` holds a U+0000 character")


def _public() -> None:
    """Open to anyone: the process's health and its metrics."""


def _looks_like_key(name: str) -> bool:
    return name.endswith(("_id", "_code", "_number"))


def _roles(roles: tuple[str, ...]) -> frozenset[str]:
    chosen = frozenset(roles) or ROLES
    unknown = chosen - ROLES
    if unknown:
        raise ValueError(f"unknown staff roles {sorted(unknown)}")
    return chosen


def _ruled(dependency: F, rule: Rule) -> F:
    dependency.__access_rule__ = rule  # type: ignore[attr-defined]
    return dependency


public = _ruled(_public, Rule(public=True))


def rule_of(route: APIRoute) -> Rule | None:
    """The access rule of a route: that of the one `Doors` dependency it takes."""
    stack = list(route.dependant.dependencies)
    found: list[Rule] = []
    while stack:
        dep = stack.pop()
        rule = getattr(dep.call, "__access_rule__", None)
        if isinstance(rule, Rule):
            found.append(rule)
        stack.extend(dep.dependencies)
    if len(found) > 1:
        raise RuntimeError(f"{route.path} takes {len(found)} access rules; it must take one")
    return found[0] if found else None


def document_access(router: APIRouter) -> APIRouter:
    """Write each route's rule into its OpenAPI operation (`x-access`); none may lack one."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        rule = rule_of(route)
        if rule is None:
            raise RuntimeError(
                f"route {sorted(route.methods or ())} {route.path} has no access rule"
            )
        route.openapi_extra = {**(route.openapi_extra or {}), "x-access": rule.document()}
    return router
