"""Signed session cookies and form tokens; nothing about a session is kept on the server.

A session is a JSON document signed with HMAC-SHA256 under the workspace's secret key: the
officer's email, role and office, a random session id and an expiry. A form token is the
HMAC of (session id, the path the form posts to), so a form taken from one session, or
aimed at another path, is refused: a replayed or forged post answers 403.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Officer:
    """A signed-in member of staff, as the session cookie carries them."""

    email: str
    role: str
    treasury_code: str
    office_name: str
    sid: str
    expires: int

    def may(self, *roles: str) -> bool:
        return self.role in roles


class Signer:
    """Signs and checks cookies and form tokens with one key."""

    def __init__(self, key: str) -> None:
        self._key = hashlib.sha256(f"workspace:{key}".encode()).digest()

    def _mac(self, data: bytes) -> str:
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())

    def sign(self, doc: dict[str, object]) -> str:
        body = _b64(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body.encode())}"

    def unsign(self, value: str) -> dict[str, object] | None:
        body, _, mac = value.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body.encode())):
            return None
        try:
            doc = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def session(
        self,
        *,
        email: str,
        role: str,
        treasury_code: str,
        office_name: str,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> tuple[Officer, str]:
        officer = Officer(
            email=email,
            role=role,
            treasury_code=treasury_code,
            office_name=office_name,
            sid=secrets.token_urlsafe(16),
            expires=int((now + ttl).timestamp()),
        )
        return officer, self.sign({"kind": "session", **asdict(officer)})

    def officer(self, cookie: str | None, now: dt.datetime) -> Officer | None:
        doc = self.unsign(cookie) if cookie else None
        if doc is None or doc.pop("kind", None) != "session":
            return None
        try:
            officer = Officer(**doc)  # type: ignore[arg-type]
        except TypeError:
            return None
        return officer if officer.expires > now.timestamp() else None

    def form_token(self, sid: str, action: str) -> str:
        return self._mac(f"form|{sid}|{action}".encode())

    def form_token_valid(self, sid: str, action: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.form_token(sid, action), token or "")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
