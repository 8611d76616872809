"""Use cases of the support service: a request or an officer's reply in, events out.

Each runs inside the caller's transaction and returns what happened: the request's statuses
(`StatusChanged`, `dossier_kind` `support`), what notify's emails say (`SupportNotice`), or a
`DeadLetter`; `stream` routes them and the caller writes them to the outbox in that same
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.support import db, domain
from shared.auth import Staff
from shared.consumer import Incoming
from shared.contract import (
    Envelope,
    PayloadRejectedError,
    Reason,
    ReasonCode,
    StatusChanged,
    SupportRequested,
    parse_payload,
)
from shared.contract.bounds import pruned, readable_code, readable_id, storable, unreadable_id
from shared.contract.deadlines import WorkingCalendar
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import DossierKind, Status
from shared.contract.internal import SupportNotice, SupportNoticeKind
from shared.directory import load_entries
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.outbound import DeadLetter, Event
from shared.signing import content_digest_or
from shared.status import reasons_json, rejection_reasons, status_of

Outcome = Callable[[str], None]
FirstAnswer = Callable[[str, float], None]


@dataclass
class Deps:
    calendar: WorkingCalendar
    working_days: int
    clock: Callable[[], dt.datetime]
    new_id: Callable[[], str]
    observe_intake: Outcome = lambda outcome: None
    observe_first_answer: FirstAnswer = lambda office, seconds: None


async def handle_requested(
    session: AsyncSession, envelope: Envelope, message: Incoming, *, deps: Deps
) -> list[Event]:
    """A `support.requested` from a portal: record it, route it to the unit's office."""
    now = deps.clock()
    raw = envelope.payload
    request_id = readable_id(raw.get("request_id"))
    unit_code = readable_code(raw.get("unit_code"))
    if request_id is None:
        deps.observe_intake("dead_letter")
        problem = unreadable_id("request_id", raw.get("request_id"))
        return [DeadLetter(message, f"support.requested: {problem}")]
    try:
        asked: SupportRequested | None = parse_payload(envelope, SupportRequested)
        rejected_for: list[Reason] = []
    except PayloadRejectedError as err:
        asked, rejected_for = None, rejection_reasons(err)
    digest = content_digest_or(raw, fallback=message.value or b"")
    known = await db.get_request(session, request_id, lock=True)
    if known is not None:
        return await _asked_again(session, deps, known, digest)
    entry = (await load_entries(session, db.directory, {unit_code})).get(unit_code)
    if asked is not None:
        rejected_for = domain.intake_reasons(unit_code, entry)
    request = db.Request(
        request_id=request_id,
        unit_code=unit_code,
        treasury_code=domain.office_of(entry) if entry else readable_code(raw.get("treasury_code")),
        category=asked.category.value if asked else readable_code(raw.get("category")),
        subject=asked.subject if asked else "",
        body=asked.body if asked else "",
        dossier_id=asked.dossier_id if asked else None,
        contact_email=asked.contact_email if asked else None,
        status=Status.REJECTED.value if rejected_for else Status.RECEIVED.value,
        sequence=1,
        last_sequence=1,
        content_hash=digest,
        payload=raw if asked is not None else pruned(raw),
        reasons=reasons_json(rejected_for),
        deadline=None,
        received_at=now,
        first_answer_at=None,
        closed_at=None,
        replies=0,
    )
    if rejected_for or asked is None or entry is None:
        await db.insert_request(session, request)
        await db.record_status(
            session,
            request_id=request_id,
            sequence=1,
            status=Status.REJECTED.value,
            reasons=reasons_json(rejected_for),
            decided_by="system",
            at=now,
        )
        deps.observe_intake(Status.REJECTED.value)
        return [_status(request, Status.REJECTED, 1, reasons=rejected_for, decided_by="system")]
    due = domain.response_deadline(now, working_days=deps.working_days, calendar=deps.calendar)
    request = db.Request(**{**request.__dict__, "deadline": due})
    await db.insert_request(session, request)
    await db.record_status(
        session,
        request_id=request_id,
        sequence=1,
        status=Status.RECEIVED.value,
        reasons=[],
        decided_by=None,
        at=now,
    )
    deps.observe_intake(Status.RECEIVED.value)
    question = _notice(
        request,
        entry,
        kind=SupportNoticeKind.RECEIVED,
        number=0,
        message=request.body,
        status=Status.RECEIVED.value,
        at=now,
        deadline=due,
    )
    return [_status(request, Status.RECEIVED, 1), question]


async def _asked_again(
    session: AsyncSession, deps: Deps, known: db.Request, digest: str
) -> list[Event]:
    """Same content: the current status again, under the sequence it was published with.
    Other content: DUPLICATE_MODIFIED under the request's next sequence, the request kept."""
    if digest == known.content_hash:
        deps.observe_intake("duplicate")
        reasons = [Reason.model_validate(r) for r in known.reasons]
        decided_by = await _decided_by(session, known)
        return [
            _status(
                known, Status(known.status), known.sequence, reasons=reasons, decided_by=decided_by
            )
        ]
    sequence = known.last_sequence + 1
    reason = Reason(
        code=ReasonCode.DUPLICATE_MODIFIED.value,
        field="request_id",
        message=f"Yêu cầu {known.request_id} đã gửi với nội dung khác "
        "(request id already used for other content)",
    )
    await db.used_sequence(session, request_id=known.request_id, sequence=sequence)
    await db.record_status(
        session,
        request_id=known.request_id,
        sequence=sequence,
        status=Status.REJECTED.value,
        reasons=reasons_json([reason]),
        decided_by="system",
        at=deps.clock(),
    )
    deps.observe_intake(Status.REJECTED.value)
    return [_status(known, Status.REJECTED, sequence, reasons=[reason], decided_by="system")]


async def _decided_by(session: AsyncSession, request: db.Request) -> str | None:
    history = await db.request_history(session, request.request_id)
    return next((h["decided_by"] for h in history if h["sequence"] == request.sequence), None)


async def reply(
    session: AsyncSession,
    *,
    request_id: str,
    message: str,
    resolution: str,
    staff: Staff,
    deps: Deps,
) -> list[Event]:
    """An officer of the request's office replies: recorded, published, emailed to the unit."""
    request = await db.get_request(session, request_id, lock=True)
    if request is None:
        raise NotFound(f"no support request {request_id}")
    staff.require_office(request.treasury_code)
    now = deps.clock()
    try:
        answer = domain.reply(
            status=request.status,
            resolution=resolution,
            message=message,
            number=request.replies + 1,
            officer=staff.sub,
            at=now,
        )
    except domain.ReplyRefused as err:
        raise Conflict(str(err)) from None
    except domain.ReplyInvalid as err:
        raise InvalidRequest(str(err)) from None
    sequence = request.last_sequence + 1
    await db.add_reply(
        session,
        request=request,
        number=answer.number,
        resolution=answer.status.value,
        message=storable(answer.message),
        officer=answer.officer,
        at=now,
        sequence=sequence,
        final=answer.status in domain.FINAL,
    )
    await db.record_status(
        session,
        request_id=request_id,
        sequence=sequence,
        status=answer.status.value,
        reasons=[],
        decided_by=staff.sub,
        at=now,
    )
    if request.first_answer_at is None:
        deps.observe_first_answer(
            request.treasury_code, max(0.0, (now - request.received_at).total_seconds())
        )
    entry = (await load_entries(session, db.directory, {request.unit_code})).get(request.unit_code)
    return [
        _status(request, answer.status, sequence, decided_by=staff.sub),
        _notice(
            request,
            entry,
            kind=SupportNoticeKind.REPLY,
            number=answer.number,
            message=answer.message,
            status=answer.status.value,
            officer=answer.officer,
            at=answer.at,
            recipients=tuple(domain.recipients(request.contact_email, entry)),
        ),
    ]


def _status(
    r: db.Request,
    status: Status,
    sequence: int,
    *,
    reasons: Sequence[Reason] = (),
    decided_by: str | None = None,
) -> StatusChanged:
    kind = DossierKind.SUPPORT
    return status_of(
        kind, r.request_id, r, status, sequence, reasons=reasons, decided_by=decided_by
    )


def _notice(request: db.Request, entry: DirectoryEntry | None, **about: Any) -> SupportNotice:
    """What notify's emails about `request` say: the request, and what the notice is `about`
    (the question on receipt, or an officer's reply)."""
    return SupportNotice(
        request_id=request.request_id,
        unit_code=request.unit_code,
        unit_name=entry.name if entry else request.unit_code,
        treasury_code=request.treasury_code,
        category=request.category,
        subject=request.subject,
        dossier_id=request.dossier_id,
        **about,
    )
