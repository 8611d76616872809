"""The services' HTTP APIs, called with the signed-in officer's identity.

Each call carries a staff token minted for the officer (`sub` = their email, their office
and role, five minutes of life), so every rule — office, role, what may be decided — is
checked by the service that owns it, and the service records the officer as `decided_by`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from services.workspace.errors import Missing, Refused, Rejected, Unavailable
from services.workspace.sessions import Officer
from shared.auth import issue_staff_token

TOKEN_LIFE = dt.timedelta(minutes=5)


class Services:
    def __init__(self, *, urls: dict[str, str], secret: str, timeout: float = 10.0) -> None:
        self._secret = secret
        self._http = {
            name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()
        }

    async def close(self) -> None:
        for client in self._http.values():
            await client.aclose()

    def _token(self, officer: Officer) -> str:
        return issue_staff_token(
            secret=self._secret,
            sub=officer.email,
            role=officer.role,
            treasury_code=officer.treasury_code,
            now=dt.datetime.now(dt.UTC),
            ttl=TOKEN_LIFE,
        )

    async def call(
        self,
        officer: Officer,
        service: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """The service's JSON answer; its refusals as the workspace's errors."""
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            answer = await self._http[service].request(
                method,
                path,
                params=query,
                json=json,
                headers={"Authorization": f"Bearer {self._token(officer)}"},
            )
        except httpx.HTTPError as err:
            raise Unavailable(f"{service}: {type(err).__name__}") from None
        if answer.status_code < 300:
            return answer.json()
        detail = _detail(answer)
        if answer.status_code == 404:
            raise Missing(detail)
        if answer.status_code in (401, 403):
            raise Refused(detail)
        if answer.status_code in (400, 409, 422):
            raise Rejected(detail)
        raise Unavailable(f"{service} answered {answer.status_code}: {detail}")

    async def get(self, officer: Officer, service: str, path: str, **params: Any) -> Any:
        return await self.call(officer, service, "GET", path, params=params)

    async def maybe(self, officer: Officer, service: str, path: str, **params: Any) -> Any:
        """Like `get`, but None when the service holds nothing under that key."""
        try:
            return await self.get(officer, service, path, **params)
        except Missing:
            return None

    async def post(self, officer: Officer, service: str, path: str, body: Any = None) -> Any:
        return await self.call(officer, service, "POST", path, json=body)


def _detail(answer: httpx.Response) -> str:
    try:
        doc = answer.json()
    except ValueError:
        return answer.text[:300]
    if isinstance(doc, dict):
        for key in ("message", "detail", "error"):
            if isinstance(doc.get(key), str):
                return str(doc[key])
    return str(doc)[:300]
