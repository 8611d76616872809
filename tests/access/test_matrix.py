"""Every route of every service, tried with every kind of credential (docs/contract.md §7).

The routes come from each running service's OpenAPI document, so a route added later is
tried too; a route that declares no access rule (`x-access`) fails. Office 0011 holds a unit,
a registration, an approved voucher and its emails; office 0012's staff must not see them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.auth import ROLES
from tests.access.conftest import OFFICE, OTHER, SERVICES, Office0011
from tests.support import API_KEY, ROOT, staff_token

KEY_SUFFIXES = ("_id", "_code", "_number")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    url: str
    params: dict[str, str]
    body: dict[str, Any] | None
    access: dict[str, Any]

    @property
    def names(self) -> set[str]:
        return set(self.params) | {p.strip("{}") for p in self.path.split("/") if p.startswith("{")}


def _calls(document: dict[str, Any], keys: dict[str, str]) -> tuple[list[Call], list[str]]:
    calls, undeclared = [], []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            access = op.get("x-access")
            if access is None:
                undeclared.append(f"{method.upper()} {path}")
                continue
            url, params = path, {}
            for param in op.get("parameters", []):
                name, where = param["name"], param["in"]
                if where == "path":
                    assert name in keys, f"{method.upper()} {path}: no test value for `{name}`"
                    url = url.replace(f"{{{name}}}", keys[name])
                elif where == "query" and name in keys:
                    if param.get("required") or name.endswith(KEY_SUFFIXES):
                        params[name] = keys[name]
                elif where == "query" and param.get("required"):
                    raise AssertionError(f"{method.upper()} {path}: no value for `{name}`")
            body: dict[str, Any] | None = {} if "requestBody" in op else None
            calls.append(Call(method.upper(), path, url, params, body, access))
    return calls, undeclared


def _expectations(call: Call) -> dict[str, tuple[dict[str, str], set[int] | None]]:
    """Each credential: its headers, and the statuses allowed (None: anything but 401/403/404)."""
    access = call.access
    if access["public"]:
        return {"no credential": ({}, {200})}
    roles: list[str] = access["staff_roles"]
    staff_ok = bool(roles)
    role = roles[0] if roles else "controller"
    keyed = call.names & set(access["office_keys"])
    other_office = {404} if keyed else {403} if access["office_parameter"] in call.names else None
    cases: dict[str, tuple[dict[str, str], set[int] | None]] = {
        "no credential": ({}, {401}),
        "portal key": ({"X-API-Key": API_KEY}, None if access["portal"] else {401}),
        "staff of the office": (_bearer(staff_token(OFFICE, role)), None if staff_ok else {401}),
        "staff of another office": (
            _bearer(staff_token(OTHER, role)),
            other_office if staff_ok else {401},
        ),
        "expired token": (_bearer(staff_token(OFFICE, role, ttl=-60)), {401}),
        "token of another secret": (
            _bearer(staff_token(OFFICE, role, secret="another-secret-of-at-least-32-bytes")),
            {401},
        ),
    }
    outsiders = sorted(ROLES - set(roles))
    if staff_ok and outsiders:
        cases["role without the right"] = (_bearer(staff_token(OFFICE, outsiders[0])), {403})
    return cases


def _check(call: Call, answer: httpx.Response, allowed: set[int] | None) -> str | None:
    if answer.status_code >= 500:
        return f"answered {answer.status_code}: {answer.text[:200]}"
    if allowed is None:
        if answer.status_code in {401, 403, 404}:
            return f"refused with {answer.status_code}: {answer.text[:200]}"
    elif answer.status_code not in allowed:
        return f"answered {answer.status_code}, expected {sorted(allowed)}: {answer.text[:200]}"
    return None


@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_answers_each_credential_as_documented(
    office_0011: Office0011, service: str
) -> None:
    process = office_0011.pipeline.services[service]
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as http:
        document = (await http.get("/openapi.json")).json()
        calls, undeclared = _calls(document, office_0011.keys(service))
        assert not undeclared, f"{service}: routes without an access rule: {undeclared}"
        assert calls, f"{service}: no routes found in its OpenAPI document"
        failures = []
        for call in calls:
            for credential, (headers, allowed) in _expectations(call).items():
                answer = await http.request(
                    call.method, call.url, params=call.params, json=call.body, headers=headers
                )
                problem = _check(call, answer, allowed)
                if credential != "staff of the office" and answer.status_code < 300:
                    leaked = [s for s in office_0011.secrets if s in answer.text]
                    if leaked and credential != "portal key":
                        problem = f"returned office {OFFICE}'s data: {leaked}"
                if problem:
                    failures.append(f"{call.method} {call.url} [{credential}] {problem}")
    assert not failures, f"{service}: {len(failures)} doors open:\n" + "\n".join(failures)


# Services without an OpenAPI document (pages for people), each with an access test of its own.
OWN_ACCESS_TESTS = {"workspace": ROOT / "tests" / "workspace" / "test_access.py"}


def test_every_service_is_in_the_matrix() -> None:
    found = sorted(p.parent.name for p in (ROOT / "services").glob("*/main.py"))
    covered = sorted([*SERVICES, *OWN_ACCESS_TESTS])
    assert covered == found, f"services not tried by the access matrix: {found}"
    missing = [str(path) for path in OWN_ACCESS_TESTS.values() if not path.exists()]
    assert not missing, f"access tests missing: {missing}"


async def test_staff_of_another_office_cannot_retry_read_deliveries_or_budgets(
    office_0011: Office0011,
) -> None:
    """The three doors found open: each now answers 404 and changes nothing."""
    p = office_0011.pipeline
    other = _bearer(staff_token(OTHER, "ops"))
    row = "SELECT status, attempts, next_attempt_at FROM notify.deliveries WHERE id = %s"
    before = p.query(row, office_0011.delivery_id)
    async with httpx.AsyncClient(base_url=p.services["notify"].url) as notify:
        retry = await notify.post(f"/notifications/{office_0011.delivery_id}/retry", headers=other)
        log = await notify.get(
            "/notifications", params={"dossier_id": office_0011.voucher_id}, headers=other
        )
    async with httpx.AsyncClient(base_url=p.services["control"].url) as control:
        budget = await control.get(
            f"/budgets/{office_0011.unit.code}",
            params={"fiscal_year": dt.date.today().year},
            headers=_bearer(staff_token(OTHER, "controller")),
        )
    assert [retry.status_code, log.status_code, budget.status_code] == [404, 404, 404]
    assert p.query(row, office_0011.delivery_id) == before
    for answer in (retry, log, budget):
        assert not [s for s in office_0011.secrets if s in answer.text], answer.text
