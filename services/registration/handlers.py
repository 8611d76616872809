"""Use cases of the registration service: a message or a request in, domain events out.

Each runs inside the caller's transaction and returns what happened (a dossier's
`StatusChanged`, a unit's new `DirectoryEntry`, a `DeadLetter`); `stream` routes them, and
the caller writes them to the outbox in that same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.registration import db, domain
from shared.auth import Staff
from shared.consumer import Incoming
from shared.contract import (
    Envelope,
    PayloadRejectedError,
    Reason,
    ReasonCode,
    RegistrationSubmitted,
    StatusChanged,
    parse_payload,
)
from shared.contract.bounds import pruned, readable_code, readable_id, unreadable_id
from shared.contract.deadlines import WorkingCalendar, registration_deadline
from shared.contract.directory import DirectoryEntry
from shared.contract.duplicates import Republish, resubmission
from shared.contract.enums import SYSTEM, DossierKind, RequestType, Status
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.outbound import DeadLetter, Event
from shared.signing import TrustStore, content_digest_or
from shared.status import reasons_json, rejection_reasons, status_of

Outcome = Callable[[str, Sequence[str], float], None]
KIND = DossierKind.REGISTRATION


@dataclass
class Deps:
    trust: TrustStore
    calendar: WorkingCalendar
    approval: Literal["manual", "auto"]
    clock: Callable[[], dt.datetime]
    new_id: Callable[[], str]
    observe: Outcome = lambda outcome, reasons, seconds: None


async def _transition(
    session: AsyncSession,
    deps: Deps,
    d: db.Dossier,
    status: Status,
    sequence: int,
    reasons: Sequence[Reason] = (),
    decided_by: str | None = None,
) -> StatusChanged:
    await db.record_status(
        session,
        dossier_id=d.dossier_id,
        sequence=sequence,
        status=status.value,
        reasons=reasons_json(reasons),
        decided_by=decided_by,
        at=deps.clock(),
    )
    return status_of(
        KIND, d.dossier_id, d, status, sequence, reasons=reasons, decided_by=decided_by
    )


async def _approve(
    session: AsyncSession,
    deps: Deps,
    d: db.Dossier,
    reg: RegistrationSubmitted,
    sequence: int,
    decided_by: str,
) -> list[Event]:
    existing = await db.get_unit(session, reg.unit.code, lock=True)
    entry = domain.apply(reg, existing, now=deps.clock())
    await db.save_unit(session, entry)
    approved = await _transition(session, deps, d, Status.APPROVED, sequence, (), decided_by)
    return [approved, entry]


async def handle_submitted(
    session: AsyncSession, envelope: Envelope, message: Incoming, *, deps: Deps
) -> list[Event]:
    """A `registration.submitted` from a portal: validate, record, decide or queue for staff."""
    now = deps.clock()
    raw = envelope.payload
    dossier_id, unit = readable_id(raw.get("dossier_id")), raw.get("unit")
    if dossier_id is None:
        problem = unreadable_id("dossier_id", raw.get("dossier_id"))
        return [DeadLetter(message, f"registration.submitted: {problem}")]
    unit_code = readable_code(unit.get("code") if isinstance(unit, dict) else None)
    try:
        reg: RegistrationSubmitted | None = parse_payload(envelope, RegistrationSubmitted)
        rejected_for: list[Reason] = []
    except PayloadRejectedError as err:
        reg, rejected_for = None, rejection_reasons(err)
    digest = content_digest_or(raw, fallback=message.value or b"")
    known = await db.get_dossier(session, dossier_id, lock=True)
    if known is not None:
        return await _resubmitted(session, deps, known, digest, message)
    treasury = raw.get("treasury_code")
    dossier = db.Dossier(
        dossier_id=dossier_id,
        unit_code=unit_code,
        treasury_code=readable_code(treasury),
        request_type=readable_code(raw.get("request_type")),
        status=Status.RECEIVED.value,
        sequence=0,
        last_sequence=0,
        content_hash=digest,
        payload=raw if reg is not None else pruned(raw),
        reasons=[],
        deadline=None,
        received_at=now,
        decided_at=None,
        decided_by=None,
    )
    if reg is not None:
        existing = await db.get_unit(session, reg.unit.code, lock=True)
        rejected_for = domain.reasons_of(
            domain.check(reg, raw, existing=existing, trust=deps.trust, now=now)
        )
    if rejected_for:
        dossier = _with(dossier, status=Status.REJECTED.value)
        await db.insert_dossier(session, dossier)
        rejected = await _transition(
            session, deps, dossier, Status.REJECTED, 1, rejected_for, SYSTEM
        )
        _observe(deps, Status.REJECTED, rejected_for, message)
        return [rejected]
    assert reg is not None
    dossier = _with(dossier, deadline=registration_deadline(now, calendar=deps.calendar))
    await db.insert_dossier(session, dossier)
    out: list[Event] = [await _transition(session, deps, dossier, Status.RECEIVED, 1)]
    if deps.approval == "auto":
        out += await _approve(session, deps, dossier, reg, 2, SYSTEM)
        _observe(deps, Status.APPROVED, [], message)
    else:
        out.append(await _transition(session, deps, dossier, Status.IN_REVIEW, 2))
        _observe(deps, Status.IN_REVIEW, [], message)
    return out


def _with(d: db.Dossier, **changes: Any) -> db.Dossier:
    return db.Dossier(**{**d.__dict__, **changes})


def _observe(deps: Deps, outcome: str, reasons: Sequence[Reason], message: Incoming) -> None:
    latency = max(0.0, deps.clock().timestamp() - message.timestamp)
    deps.observe(outcome, [r.code for r in reasons], latency)


async def _resubmitted(
    session: AsyncSession, deps: Deps, known: db.Dossier, digest: str, message: Incoming
) -> list[Event]:
    """The dossier id sent again: `shared.contract.duplicates` decides."""
    decision = resubmission(known, record_id=known.dossier_id, content_hash=digest)
    if isinstance(decision, Republish):
        _observe(deps, "duplicate", [], message)
        return [
            status_of(
                KIND,
                known.dossier_id,
                known,
                decision.status,
                decision.sequence,
                reasons=decision.reasons,
                decided_by=known.decided_by,
            )
        ]
    await db.record_status(
        session,
        dossier_id=known.dossier_id,
        sequence=decision.next_sequence,
        status=None,
        reasons=reasons_json([decision.reason]),
        decided_by=SYSTEM,
        at=deps.clock(),
        logged_status=decision.status.value,
    )
    _observe(deps, decision.status, [decision.reason], message)
    return [
        status_of(
            KIND,
            known.dossier_id,
            known,
            decision.status,
            decision.next_sequence,
            reasons=[decision.reason],
            decided_by=SYSTEM,
        )
    ]


async def decide(
    session: AsyncSession,
    *,
    dossier_id: str,
    approve: bool,
    reasons: Sequence[Reason],
    staff: Staff,
    deps: Deps,
) -> list[Event]:
    """An officer approves or refuses a registration held for review."""
    d = await db.get_dossier(session, dossier_id, lock=True)
    if d is None:
        raise NotFound(f"no registration dossier {dossier_id}")
    staff.require_office(d.treasury_code)
    if d.status != Status.IN_REVIEW.value:
        raise Conflict(f"dossier {dossier_id} is {d.status}, not in_review")
    if not approve:
        if not reasons:
            raise InvalidRequest("a refusal needs at least one reason")
        return [
            await _transition(
                session, deps, d, Status.REFUSED, d.last_sequence + 1, reasons, staff.sub
            )
        ]
    reg = RegistrationSubmitted.model_validate(d.payload)
    existing = await db.get_unit(session, reg.unit.code, lock=True)
    if reg.request_type is RequestType.NEW and existing is not None and existing.status != "closed":
        reason = Reason(
            code=ReasonCode.UNIT_ALREADY_REGISTERED.value,
            field="unit.code",
            message=f"Đơn vị {reg.unit.code} đã đăng ký (unit already registered)",
        )
        return [
            await _transition(
                session, deps, d, Status.REFUSED, d.last_sequence + 1, [reason], staff.sub
            )
        ]
    return await _approve(session, deps, d, reg, d.last_sequence + 1, staff.sub)


async def set_unit_status(
    session: AsyncSession, *, unit_code: str, suspend: bool, staff: Staff, deps: Deps
) -> tuple[DirectoryEntry, list[Event]]:
    """Suspend a unit (it can no longer submit vouchers) or reinstate it."""
    entry = await db.get_unit(session, unit_code, lock=True)
    if entry is None:
        raise NotFound(f"no registered unit {unit_code}")
    staff.require_office(entry.treasury_code)
    wanted, allowed_from = ("suspended", "active") if suspend else ("active", "suspended")
    if entry.status != allowed_from:
        raise Conflict(f"unit {unit_code} is {entry.status}; it cannot become {wanted}")
    updated = domain.set_status(entry, wanted, now=deps.clock())
    await db.save_unit(session, updated)
    return updated, [updated]
