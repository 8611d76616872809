"""What can go wrong behind a page, each with the status the page answers with.

PageError
├── SignInNeeded     no session, or it expired            → 303 to the sign-in page
├── Refused          no right to this (a service said 403, or a bad form token) → 403
├── Missing          nothing of this office by that key    → 404
├── Rejected         a service refused the request (400/409/422); the page says why → 409
└── Unavailable      a service does not answer             → 503
"""

from __future__ import annotations


class PageError(Exception):
    status = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class SignInNeeded(PageError):
    status = 303


class Refused(PageError):
    status = 403


class Missing(PageError):
    status = 404


class Rejected(PageError):
    status = 409


class Unavailable(PageError):
    status = 503
