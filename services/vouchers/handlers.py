"""Use cases of the vouchers service, applied to whole batches in the caller's transaction.

The service is the single writer of each voucher's status stream: it records intake outcomes,
then the decisions that spending control sends back, each under the dossier's next sequence.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.vouchers import db, domain
from services.vouchers import submissions as intake
from services.vouchers.signatures import CertificateChecker
from shared.consumer import Item
from shared.contract import Reason, StatusChanged
from shared.contract.bounds import pruned, readable_code
from shared.contract.deadlines import WorkingCalendar
from shared.contract.duplicates import Republish, resubmission
from shared.contract.enums import SYSTEM, DossierKind, Status
from shared.contract.internal import VoucherDecided, VoucherReceived
from shared.directory import load_entries
from shared.outbound import Event
from shared.status import reasons_json, status_changed

log = logging.getLogger(__name__)


@dataclass
class Deps:
    calendar: WorkingCalendar
    rules: domain.IntakeRules
    checker: CertificateChecker
    clock: Callable[[], dt.datetime]
    new_id: Callable[[], str]
    observe_outcome: Callable[[str, Sequence[str]], None] = lambda outcome, reasons: None
    observe_stage: Callable[[str, float], None] = lambda stage, seconds: None


def _status(d: db.Dossier) -> StatusChanged:
    """The dossier's current status, as stored."""
    return status_changed(
        kind=DossierKind(d.dossier_kind),
        dossier_id=d.dossier_id,
        unit_code=d.unit_code,
        status=Status(d.status),
        sequence=d.sequence,
        reasons=[Reason.model_validate(r) for r in d.reasons],
        deadline=d.deadline,
        decided_by=d.decided_by,
    )


def _history(d: db.Dossier, now: dt.datetime) -> dict[str, Any]:
    return {
        "dossier_id": d.dossier_id,
        "sequence": d.sequence,
        "status": d.status,
        "reasons": d.reasons,
        "decided_by": d.decided_by,
        "at": now,
    }


def _to_control(d: db.Dossier) -> VoucherReceived:
    """A dossier accepted at intake, handed to spending control."""
    assert d.deadline is not None
    return VoucherReceived(
        dossier_id=d.dossier_id,
        unit_code=d.unit_code,
        treasury_code=d.treasury_code,
        received_at=d.received_at,
        deadline=d.deadline,
        voucher=d.payload,
        dossier_kind="investment" if d.dossier_kind == DossierKind.INVESTMENT else "voucher",
    )


INLINE_CHECKS = 8
"""A batch of up to this many submissions is checked on the event loop (about 0.3 ms of CPU
each); a larger one in a worker thread, so the loop keeps serving. A small batch's trip to the
thread and back costs more than its checks: two thread switches, each waiting for a core when
the machine is busy."""


async def handle_submissions(
    session: AsyncSession, items: Sequence[Item], *, deps: Deps
) -> list[Event]:
    """`voucher.submitted` and `investment.submitted` messages: record each dossier and its
    intake outcome."""
    now = deps.clock()
    submissions, dead = intake.read(items)
    out: list[Event] = list(dead)
    known = await db.lock_dossiers(session, [s.dossier_id for s in submissions])
    entries = await load_entries(
        session, db.directory, {s.unit_code for s in submissions if s.voucher is not None}
    )
    check = partial(
        intake.check_all, submissions, entries, now, checker=deps.checker, rules=deps.rules
    )
    if len(submissions) <= INLINE_CHECKS:
        check()
    else:
        await asyncio.to_thread(check)
    inserted: dict[str, db.Dossier] = {}
    changed: dict[str, db.Dossier] = {}
    history: list[dict[str, Any]] = []
    for s in submissions:
        current = inserted.get(s.dossier_id) or changed.get(s.dossier_id) or known.get(s.dossier_id)
        if current is not None:
            out += _resubmitted(deps, s, current, now, inserted, changed, history)
            continue
        received = not s.rejected_for
        d = db.Dossier(
            dossier_id=s.dossier_id,
            unit_code=s.unit_code,
            treasury_code=readable_code(s.envelope.payload.get("treasury_code")),
            status=(Status.RECEIVED if received else Status.REJECTED).value,
            sequence=1,
            last_sequence=1,
            content_hash=s.content_hash,
            payload=s.envelope.payload if s.voucher is not None else pruned(s.envelope.payload),
            reasons=reasons_json(s.rejected_for),
            deadline=intake.deadline(s, now, calendar=deps.calendar) if received else None,
            submitted_at=dt.datetime.fromtimestamp(s.message.timestamp, dt.UTC),
            received_at=now,
            decided_at=None if received else now,
            decided_by=None if received else SYSTEM,
            dossier_kind=s.kind,
        )
        inserted[d.dossier_id] = d
        history.append(_history(d, now))
        out.append(_status(d))
        if received:
            out.append(_to_control(d))
        deps.observe_outcome(d.status, [r.code for r in s.rejected_for])
        deps.observe_stage("intake", now.timestamp() - s.message.timestamp)
        if not received:
            deps.observe_stage("end_to_end", now.timestamp() - s.message.timestamp)
    await db.insert_dossiers(session, list(inserted.values()))
    await db.update_dossiers(session, [d for k, d in changed.items() if k not in inserted])
    await db.append_history(session, history)
    return out


def _resubmitted(
    deps: Deps,
    s: intake.Submission,
    current: db.Dossier,
    now: dt.datetime,
    inserted: dict[str, db.Dossier],
    changed: dict[str, db.Dossier],
    history: list[dict[str, Any]],
) -> list[Event]:
    """The dossier id sent again: `shared.contract.duplicates` decides."""
    decision = resubmission(current, record_id=current.dossier_id, content_hash=s.content_hash)
    if isinstance(decision, Republish):
        # The stored dossier is that status, under that sequence, with those reasons.
        deps.observe_outcome("duplicate", [])
        return [_status(current)]
    bumped = current.advanced(last_sequence=decision.next_sequence)
    (inserted if current.dossier_id in inserted else changed)[current.dossier_id] = bumped
    rejection = bumped.advanced(
        status=decision.status.value,
        sequence=decision.next_sequence,
        reasons=reasons_json([decision.reason]),
        decided_by=SYSTEM,
    )
    history.append(_history(rejection, now))
    deps.observe_outcome(decision.status, [decision.reason.code])
    return [_status(rejection)]


async def handle_decisions(
    session: AsyncSession, items: Sequence[Item], *, deps: Deps
) -> list[StatusChanged]:
    """Spending control's decisions: each becomes the dossier's next status, once."""
    now = deps.clock()
    decisions = [VoucherDecided.model_validate(envelope.payload) for envelope, _ in items]
    state = await db.lock_dossiers(session, [d.dossier_id for d in decisions])
    changed: dict[str, db.Dossier] = {}
    history: list[dict[str, Any]] = []
    out: list[StatusChanged] = []
    for decision in decisions:
        d = state.get(decision.dossier_id)
        if d is None or d.terminal:
            log.warning(
                "decision ignored: dossier %s is %s",
                decision.dossier_id,
                "unknown" if d is None else d.status,
            )
            continue
        reviewed = d.status == Status.IN_REVIEW
        d = d.advanced(
            status=decision.status.value,
            sequence=d.last_sequence + 1,
            last_sequence=d.last_sequence + 1,
            reasons=reasons_json(decision.reasons),
            decided_by=decision.decided_by,
            decided_at=decision.decided_at,
        )
        state[d.dossier_id] = changed[d.dossier_id] = d
        history.append(_history(d, now))
        out.append(_status(d))
        if d.status != Status.IN_REVIEW:
            deps.observe_stage("control", (now - d.received_at).total_seconds())
        if d.terminal:
            # Decisions an officer took are hours apart from the automatic ones: kept apart.
            stage = "end_to_end_reviewed" if reviewed else "end_to_end"
            deps.observe_stage(stage, (now - d.submitted_at).total_seconds())
    await db.update_dossiers(session, list(changed.values()))
    await db.append_history(session, history)
    return out
