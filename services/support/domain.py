"""The rules of support requests (docs/contract.md §10), pure: no I/O, no clock, no ids.

A request is `received` with a deadline of N working days at 16:30; each officer's reply is
recorded and publishes `answered` (which may repeat), `resolved` or `deferred`; the last two
are final, and a new question is a new request.

    SupportError
    ├── ReplyInvalid    the reply itself breaks a rule (empty, too long, unknown resolution)
    └── ReplyRefused    the request is in a status that takes no reply (final, or rejected)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from shared.contract import Reason, ReasonCode
from shared.contract.bounds import MAX_SUPPORT_TEXT_CHARS
from shared.contract.deadlines import WorkingCalendar, deadline
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import Status

RECEIVED, ANSWERED, RESOLVED, DEFERRED = (
    Status.RECEIVED,
    Status.ANSWERED,
    Status.RESOLVED,
    Status.DEFERRED,
)
OPEN: Final = frozenset({RECEIVED, ANSWERED})
FINAL: Final = frozenset({RESOLVED, DEFERRED})
RESOLUTIONS: Final = (ANSWERED, RESOLVED, DEFERRED)


class SupportError(Exception):
    """A rule of support requests refused what was asked."""


class ReplyInvalid(SupportError):
    """The reply breaks a rule of its own."""


class ReplyRefused(SupportError):
    """The request cannot take a reply in its current status."""


@dataclass(frozen=True)
class Reply:
    """An officer's reply, as recorded and told to the unit."""

    number: int
    status: Status
    message: str
    officer: str
    at: dt.datetime


def response_deadline(
    received_at: dt.datetime, *, working_days: int, calendar: WorkingCalendar
) -> dt.datetime:
    """16:30 local on the `working_days`-th working day after the day of receipt; no
    extension at year end."""
    return deadline(received_at, working_days=working_days, calendar=calendar)


def intake_reasons(unit_code: str, entry: DirectoryEntry | None) -> list[Reason]:
    """Why a well-formed request is not taken: its unit is not registered. A suspended unit
    may still ask (that is often why it asks)."""
    if entry is None:
        return [
            Reason(
                code=ReasonCode.UNIT_UNKNOWN.value,
                field="unit_code",
                message=f"Đơn vị {unit_code} chưa đăng ký (unit not registered)",
            )
        ]
    return []


def office_of(entry: DirectoryEntry) -> str:
    """A request goes to the office that holds the unit's accounts."""
    return entry.treasury_code


def reply(
    *, status: str, resolution: str, message: str, number: int, officer: str, at: dt.datetime
) -> Reply:
    """The reply an officer may give to a request in `status`, or why not."""
    text = message.strip()
    if not text:
        raise ReplyInvalid("a reply needs a message for the unit")
    if len(message) > MAX_SUPPORT_TEXT_CHARS:
        raise ReplyInvalid(f"a reply's message has at most {MAX_SUPPORT_TEXT_CHARS} characters")
    if "\x00" in message:
        raise ReplyInvalid("a reply's message cannot hold U+0000")
    if resolution not in {r.value for r in RESOLUTIONS}:
        raise ReplyInvalid(
            f"resolution must be one of {', '.join(r.value for r in RESOLUTIONS)}, "
            f"not {resolution!r}"
        )
    if status not in OPEN:
        raise ReplyRefused(
            f"the request is {status}: it takes no more replies (a new question is a new request)"
        )
    return Reply(number=number, status=Status(resolution), message=message, officer=officer, at=at)


def recipients(contact_email: str | None, entry: DirectoryEntry | None) -> list[str]:
    """Where a reply goes: the request's contact address, then the unit's notify addresses,
    each once whatever its case."""
    return _unique([contact_email] if contact_email else [], entry.notify_emails if entry else ())


def _unique(first: Iterable[str], then: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in [*first, *then]:
        seen.setdefault(address.strip().lower(), address.strip())
    return [a for a in seen.values() if a]


def overdue(*, status: str, deadline_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Not answered by its deadline: the office owes the unit a first answer."""
    return status == RECEIVED and deadline_at is not None and now >= deadline_at


def resolved_share(resolved: int, deferred: int) -> float | None:
    """Of the requests closed, the share resolved (None when none is closed)."""
    closed = resolved + deferred
    return resolved / closed if closed else None
