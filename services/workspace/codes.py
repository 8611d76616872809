"""One-time sign-in codes: six digits, single use, short-lived, limited per address.

Only a hash of each code is kept, in the memory of this process: a restart ends every code
that was not used (officers ask for another), and no password exists anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field


class TooManyCodes(Exception):
    """The address asked for more codes than the window allows."""


@dataclass
class _Pending:
    digest: bytes
    expires: dt.datetime
    attempts_left: int


@dataclass
class CodeBook:
    lifetime: dt.timedelta
    per_window: int
    window: dt.timedelta
    attempts: int
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _issued: dict[str, list[dt.datetime]] = field(default_factory=dict)

    def issue(self, email: str, now: dt.datetime) -> str:
        """A new code for `email`, replacing any earlier one."""
        key = email.lower()
        recent = [t for t in self._issued.get(key, []) if now - t < self.window]
        if len(recent) >= self.per_window:
            raise TooManyCodes(key)
        self._issued[key] = [*recent, now]
        code = f"{secrets.randbelow(1_000_000):06d}"
        self._pending[key] = _Pending(_digest(key, code), now + self.lifetime, self.attempts)
        self._forget_expired(now)
        return code

    def redeem(self, email: str, code: str, now: dt.datetime) -> bool:
        """True once for the right code within its lifetime; wrong tries use it up."""
        key = email.lower()
        pending = self._pending.get(key)
        if pending is None or pending.expires <= now:
            self._pending.pop(key, None)
            return False
        if hmac.compare_digest(pending.digest, _digest(key, code.strip())):
            del self._pending[key]
            return True
        pending.attempts_left -= 1
        if pending.attempts_left <= 0:
            del self._pending[key]
        return False

    def _forget_expired(self, now: dt.datetime) -> None:
        for key in [k for k, p in self._pending.items() if p.expires <= now]:
            del self._pending[key]
        for key in [k for k, ts in self._issued.items() if all(now - t >= self.window for t in ts)]:
            del self._issued[key]


def _digest(email: str, code: str) -> bytes:
    return hashlib.sha256(f"{email}|{code}".encode()).digest()
