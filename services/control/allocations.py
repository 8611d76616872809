"""What the budget system records on `tabmis.allocations.v1`: allocations to budget lines
(`allocation.recorded`) and capital plans of investment projects (`capital_plan.recorded`).

Each changes its line, or is refused and changes nothing; a redelivered one is reported
again under its first sequence, an id reused for other content is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.control import db, domain, ledger_db
from services.control.handlers import Deps
from shared import codes
from shared.bulk import insert_rows
from shared.consumer import Incoming
from shared.contract import (
    AllocationRecorded,
    CapitalPlanRecorded,
    Envelope,
    PayloadRejectedError,
    Reason,
    ReasonCode,
    StatusChanged,
    parse_payload,
)
from shared.contract.bounds import pruned, readable_code, readable_id, unreadable_id
from shared.contract.duplicates import Republish, StoredRow, resubmission
from shared.contract.enums import SYSTEM, AllocationKind, DossierKind, EventType, Status
from shared.outbound import DeadLetter, Event
from shared.signing import content_digest_or
from shared.status import reasons_json, rejection_reasons, status_changed

Recorded = AllocationRecorded | CapitalPlanRecorded


@dataclass(frozen=True)
class Book:
    """One kind of record: its model, id, table of records, lines and how it is reported."""

    model: type[AllocationRecorded] | type[CapitalPlanRecorded]
    id_field: str
    records: sa.Table
    lines: sa.Table
    columns: tuple[str, ...]
    kind: DossierKind
    line_name: str
    codes: Callable[[Any], list[tuple[str, str | None]]]


def _codes(a: Any) -> list[tuple[str, str | None]]:
    if isinstance(a, AllocationRecorded):
        return [
            ("unit_code", codes.unit_code(a.unit_code)),
            ("chapter", codes.chapter(a.chapter)),
            ("sector_code", codes.sector(a.sector_code)),
            ("source_code", codes.source(a.source_code)),
        ]
    return [
        ("unit_code", codes.unit_code(a.unit_code) or codes.project(a.unit_code)),
        ("source_code", codes.source(a.source_code)),
    ]


ALLOCATIONS = Book(
    AllocationRecorded,
    "allocation_id",
    db.allocations,
    db.budget_lines,
    db.LINE_COLUMNS,
    DossierKind.ALLOCATION,
    "dự toán (budget line)",
    _codes,
)
CAPITAL_PLANS = Book(
    CapitalPlanRecorded,
    "plan_id",
    db.capital_plans,
    db.capital_plan_lines,
    db.PLAN_COLUMNS,
    DossierKind.CAPITAL_PLAN,
    "kế hoạch vốn (capital plan line)",
    _codes,
)


def _status(
    book: Book,
    record_id: str,
    unit_code: str,
    status: Status,
    sequence: int,
    reasons: Sequence[Reason],
) -> StatusChanged:
    return status_changed(
        kind=book.kind,
        dossier_id=record_id,
        unit_code=unit_code,
        status=status,
        sequence=sequence,
        reasons=reasons,
        decided_by=SYSTEM,
    )


def _problems(book: Book, a: Recorded) -> list[Reason]:
    reasons = [
        Reason(code=ReasonCode.CODE_INVALID.value, field=f, message=m)
        for f, m in book.codes(a)
        if m is not None
    ]
    if a.amount <= 0:
        reasons.append(
            Reason(
                code=ReasonCode.MALFORMED.value,
                field="amount",
                message=f"Số tiền phải dương, nhận {a.amount} (must be positive)",
            )
        )
    return reasons


async def handle_allocation(
    session: AsyncSession, envelope: Envelope, message: Incoming, *, deps: Deps
) -> list[Event]:
    """A record from the budget system: change the line, or refuse and change nothing."""
    book = CAPITAL_PLANS if envelope.event_type == EventType.CAPITAL_PLAN_RECORDED else ALLOCATIONS
    now = deps.clock()
    raw = envelope.payload
    record_id = readable_id(raw.get(book.id_field))
    if record_id is None:
        problem = unreadable_id(book.id_field, raw.get(book.id_field))
        return [DeadLetter(message, f"{envelope.event_type}: {problem}")]
    unit_code = readable_code(raw.get("unit_code"))
    digest = content_digest_or(raw, fallback=message.value or b"")
    existing = await db.lock_record(session, book.records, book.id_field, record_id)
    if existing is not None:
        decision = resubmission(
            StoredRow.of(existing),
            record_id=record_id,
            content_hash=digest,
            field=book.id_field,
            refused_as=Status.REFUSED,
        )
        if isinstance(decision, Republish):
            status, sequence, reasons = decision.status, decision.sequence, list(decision.reasons)
            return [_status(book, record_id, unit_code, status, sequence, reasons)]
        sequence = decision.next_sequence
        await db.use_sequence(session, book.records, book.id_field, record_id, sequence)
        return [_status(book, record_id, unit_code, decision.status, sequence, [decision.reason])]
    try:
        record: Recorded | None = parse_payload(envelope, book.model)
        reasons = _problems(book, record) if record else []
    except PayloadRejectedError as err:
        record, reasons = None, rejection_reasons(err)
    if record is not None and not reasons:
        key = tuple(getattr(record, n) for n in book.columns)
        delta = -record.amount if record.kind is AllocationKind.REDUCTION else record.amount
        changed = await ledger_db.change_allocation(
            session, key, delta, now, table=book.lines, columns=book.columns
        )
        if changed is None:
            reasons = [await _reduction_refused(session, book, key, record.amount)]
    status = Status.REFUSED if reasons else Status.APPROVED
    await insert_rows(
        session,
        book.records,
        [
            {
                book.id_field: record_id,
                "unit_code": unit_code,
                "content_hash": digest,
                "status": status.value,
                "sequence": 1,
                "last_sequence": 1,
                "reasons": reasons_json(reasons),
                "payload": raw if record is not None else pruned(raw),
                "recorded_at": now,
            }
        ],
    )
    return [_status(book, record_id, unit_code, status, 1, reasons)]


async def _reduction_refused(
    session: AsyncSession, book: Book, key: tuple[Any, ...], amount: int
) -> Reason:
    state = await ledger_db.line_state(session, key, table=book.lines, columns=book.columns)
    if state is None:
        unknown = (
            ReasonCode.CAPITAL_PLAN_UNKNOWN
            if book is CAPITAL_PLANS
            else ReasonCode.BUDGET_LINE_UNKNOWN
        )
        return Reason(
            code=unknown.value,
            field=None,
            message=f"Giảm {book.line_name} cho dòng chưa có (no such line)",
        )
    return Reason(
        code=ReasonCode.ALLOCATION_BELOW_COMMITTED.value,
        field="amount",
        message=f"Giảm {domain.vnd(amount)} làm {book.line_name} còn "
        f"{domain.vnd(state.allocated - amount)}, thấp hơn số đã chi/cam kết "
        f"{domain.vnd(state.committed)} (reduction below what is committed)",
    )
