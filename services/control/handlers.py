"""Use cases of the control service, in the caller's transaction: allocations, received
vouchers and officers' decisions. Decisions go back to the vouchers service, which publishes
them as the voucher's next status; allocation outcomes are published here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.control import db, domain
from shared import codes
from shared.auth import Staff
from shared.consumer import Incoming, Item
from shared.contract import (
    AllocationRecorded,
    Envelope,
    PayloadRejectedError,
    Reason,
    ReasonCode,
    VoucherSubmitted,
    encode,
    make_envelope,
    parse_payload,
)
from shared.contract.bounds import pruned, readable_code, readable_id, unreadable_id
from shared.contract.enums import AllocationKind, DossierKind, Status
from shared.contract.internal import VOUCHER_DECIDED, VoucherDecided, VoucherReceived
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.messaging import Outgoing, dead_letter
from shared.settings import TopicSettings
from shared.signing import content_digest_or
from shared.status import reasons_json, rejection_reasons, status_changed

SOURCE = "control"
SYSTEM = "system"


@dataclass
class Deps:
    topics: TopicSettings
    rules: domain.ControlRules
    clock: Callable[[], dt.datetime]
    new_id: Callable[[], str]
    observe_decision: Callable[[str, Sequence[str]], None] = lambda outcome, reasons: None
    observe_commit: Callable[[float], None] = lambda seconds: None
    observe_review: Callable[[float], None] = lambda seconds: None


def _decided(
    deps: Deps,
    *,
    dossier_id: str,
    unit_code: str,
    status: str,
    reasons: Sequence[Reason],
    by: str,
    now: dt.datetime,
) -> Outgoing:
    decision = VoucherDecided(
        dossier_id=dossier_id,
        unit_code=unit_code,
        status=status,
        reasons=tuple(reasons),
        decided_by=by,
        decided_at=now,
    )
    envelope = make_envelope(
        decision.model_dump(mode="json"),
        event_type=VOUCHER_DECIDED,
        event_id=deps.new_id(),
        occurred_at=now,
        source=SOURCE,
    )
    return Outgoing(topic=deps.topics.decisions, key=unit_code.encode(), value=encode(envelope))


async def _lock_ledger(
    session: AsyncSession, vouchers: Sequence[VoucherSubmitted]
) -> domain.Ledger:
    """The rows these vouchers touch, locked in key order until the transaction ends."""
    keys = [k for v in vouchers if not domain.settles(v) for k in domain.line_amounts(v)]
    contract_keys = [k for v in vouchers if (k := domain.contract_key(v)) is not None]
    advance_ids = [
        v.advance_dossier_id for v in vouchers if domain.settles(v) and v.advance_dossier_id
    ]
    return domain.Ledger(
        lines=await db.lock_lines(session, keys),
        advances=await db.lock_advances(session, advance_ids),
        contracts=await db.lock_contracts(session, contract_keys),
    )


async def _write_ledger(session: AsyncSession, ledger: domain.Ledger, now: dt.datetime) -> None:
    """Conditional updates: a decision that no longer fits rolls the whole batch back."""
    await db.insert_rows(
        session,
        db.advances,
        [
            {"dossier_id": a.dossier_id, "unit_code": a.unit_code, "amount": a.amount, "settled": 0}
            for a in ledger.new_advances
        ],
    )
    await db.commit_amounts(session, dict(ledger.line_deltas), now)
    for advance_id, amount in sorted(ledger.settled.items()):
        await db.settle(session, advance_id, amount)
    for contract, amount in sorted(ledger.paid.items()):
        await db.add_contract_payment(session, contract, amount)
    await db.insert_rows(
        session,
        db.commitments,
        [
            {
                **dict(zip(db.LINE_COLUMNS, key, strict=True)),
                "dossier_id": dossier,
                "amount": amount,
            }
            for dossier, key, amount in ledger.commitments
        ],
    )


async def handle_received(
    session: AsyncSession, items: Sequence[Item], *, deps: Deps
) -> list[Outgoing]:
    """Vouchers accepted at intake: return, refuse, hold for review, or approve and commit."""
    now = deps.clock()
    received = [VoucherReceived.model_validate(envelope.payload) for envelope, _ in items]
    vouchers = [VoucherSubmitted.model_validate(r.voucher) for r in received]
    superseded_ids = [v.supersedes_dossier_id for v in vouchers if v.supersedes_dossier_id]
    known = await db.lock_vouchers(session, [r.dossier_id for r in received] + superseded_ids)
    ledger = await _lock_ledger(session, vouchers)
    rows, out = [], []
    for r, v in zip(received, vouchers, strict=True):
        if r.dossier_id in known:
            continue
        earlier = known.get(v.supersedes_dossier_id or "")
        returned_once = bool(
            earlier and earlier["status"] == "returned" and earlier["unit_code"] == v.unit_code
        )
        decision = ledger.decide(v, superseded_returned=returned_once, rules=deps.rules)
        ledger.take(v, decision)
        row = {
            "dossier_id": r.dossier_id,
            "unit_code": r.unit_code,
            "treasury_code": r.treasury_code,
            "total_amount": v.total_amount,
            "status": decision.status,
            "reasons": reasons_json(decision.reasons),
            "payload": r.voucher,
            "received_at": r.received_at,
            "deadline": r.deadline,
            "review_since": now if decision.status == "in_review" else None,
            "decided_at": None if decision.status == "in_review" else now,
            "decided_by": None if decision.status == "in_review" else SYSTEM,
        }
        known[r.dossier_id] = row
        rows.append(row)
        out.append(
            _decided(
                deps,
                dossier_id=r.dossier_id,
                unit_code=r.unit_code,
                status=decision.status,
                reasons=decision.reasons,
                by=SYSTEM,
                now=now,
            )
        )
        deps.observe_decision(decision.status, [x.code for x in decision.reasons])
        if decision.status == "approved":
            deps.observe_commit((now - r.received_at).total_seconds())
    await db.insert_rows(session, db.vouchers, rows)
    await _write_ledger(session, ledger, now)
    return out


async def decide_review(
    session: AsyncSession,
    *,
    dossier_id: str,
    decision: str,
    reasons: Sequence[Reason],
    staff: Staff,
    deps: Deps,
) -> tuple[str, list[Outgoing]]:
    """An officer's decision on a voucher held for review; approval re-checks the money."""
    now = deps.clock()
    row = (await db.lock_vouchers(session, [dossier_id])).get(dossier_id)
    if row is None:
        raise NotFound(f"no voucher {dossier_id} in spending control")
    staff.require_office(row["treasury_code"])
    staff.require_role("controller", "head")
    if row["status"] != "in_review":
        raise Conflict(f"voucher {dossier_id} is {row['status']}, not in_review")
    v = VoucherSubmitted.model_validate(row["payload"])
    if decision == "approve":
        ledger = await _lock_ledger(session, [v])
        outcome = ledger.decide(v, superseded_returned=False, rules=deps.rules, by_officer=True)
        ledger.take(v, outcome)
        await _write_ledger(session, ledger, now)
        status, reasons = outcome.status, list(outcome.reasons)
    else:
        if not reasons:
            raise InvalidRequest(f"to {decision} a voucher, give at least one reason")
        status = "refused" if decision == "refuse" else "returned"
        if status == "returned" and v.supersedes_dossier_id:
            earlier = (await db.lock_vouchers(session, [v.supersedes_dossier_id])).get(
                v.supersedes_dossier_id
            )
            if earlier and earlier["status"] == "returned":
                raise Conflict(
                    "this dossier already supersedes a returned one: additions may "
                    "be requested only once; refuse it instead"
                )
    await db.update_voucher(
        session,
        dossier_id,
        status=status,
        reasons=reasons_json(reasons),
        decided_at=now,
        decided_by=staff.sub,
    )
    deps.observe_decision(status, [r.code for r in reasons])
    if row["review_since"] is not None:
        deps.observe_review((now - row["review_since"]).total_seconds())
    return status, [
        _decided(
            deps,
            dossier_id=dossier_id,
            unit_code=row["unit_code"],
            status=status,
            reasons=reasons,
            by=staff.sub,
            now=now,
        )
    ]


def _allocation_status(
    deps: Deps,
    allocation_id: str,
    unit_code: str,
    status: str,
    sequence: int,
    reasons: Sequence[Reason],
    now: dt.datetime,
) -> Outgoing:
    return status_changed(
        topic=deps.topics.status,
        source=SOURCE,
        event_id=deps.new_id(),
        occurred_at=now,
        dossier_id=allocation_id,
        dossier_kind=DossierKind.ALLOCATION,
        unit_code=unit_code,
        status=Status(status),
        sequence=sequence,
        reasons=reasons,
        decided_by=SYSTEM,
    )


def _allocation_problems(a: AllocationRecorded) -> list[Reason]:
    found = [
        ("unit_code", codes.unit_code(a.unit_code)),
        ("chapter", codes.chapter(a.chapter)),
        ("sector_code", codes.sector(a.sector_code)),
        ("source_code", codes.source(a.source_code)),
    ]
    reasons = [
        Reason(code=ReasonCode.CODE_INVALID.value, field=f, message=m)
        for f, m in found
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
) -> list[Outgoing]:
    """An allocation from the budget system: change the line, or refuse and change nothing."""
    now = deps.clock()
    raw = envelope.payload
    allocation_id = readable_id(raw.get("allocation_id"))
    if allocation_id is None:
        problem = unreadable_id("allocation_id", raw.get("allocation_id"))
        return [
            dead_letter(
                topic=deps.topics.deadletter,
                source_topic=message.topic,
                key=message.key,
                raw=message.value or b"",
                error=f"allocation.recorded: {problem}",
            )
        ]
    unit_code = readable_code(raw.get("unit_code"))
    digest = content_digest_or(raw, fallback=message.value or b"")
    rows = await session.execute(
        db.allocations.select()
        .where(db.allocations.c.allocation_id == allocation_id)
        .with_for_update()
    )
    existing = rows.mappings().first()
    if existing is not None:
        if existing["content_hash"] == digest:
            reasons = [Reason.model_validate(r) for r in existing["reasons"]]
            return [
                _allocation_status(
                    deps,
                    allocation_id,
                    unit_code,
                    existing["status"],
                    existing["sequence"],
                    reasons,
                    now,
                )
            ]
        # The refusal takes the next number; the allocation keeps its status and sequence.
        sequence = existing["last_sequence"] + 1
        await session.execute(
            db.allocations.update()
            .where(db.allocations.c.allocation_id == allocation_id)
            .values(last_sequence=sequence)
        )
        duplicate = Reason(
            code=ReasonCode.DUPLICATE_MODIFIED.value,
            field="allocation_id",
            message=f"{allocation_id} đã ghi nhận với nội dung khác "
            "(allocation id already used for other content)",
        )
        return [
            _allocation_status(
                deps, allocation_id, unit_code, "refused", sequence, [duplicate], now
            )
        ]
    try:
        allocation: AllocationRecorded | None = parse_payload(envelope, AllocationRecorded)
        reasons = _allocation_problems(allocation) if allocation else []
    except PayloadRejectedError as err:
        allocation, reasons = None, rejection_reasons(err)
    if allocation is not None and not reasons:
        key = (
            allocation.unit_code,
            allocation.fiscal_year,
            allocation.chapter,
            allocation.sector_code,
            allocation.source_code,
        )
        delta = (
            -allocation.amount if allocation.kind is AllocationKind.REDUCTION else allocation.amount
        )
        if await db.change_allocation(session, key, delta, now) is None:
            reasons = [await _reduction_refused(session, key, allocation.amount)]
    status = "refused" if reasons else "approved"
    await db.insert_rows(
        session,
        db.allocations,
        [
            {
                "allocation_id": allocation_id,
                "unit_code": unit_code,
                "content_hash": digest,
                "status": status,
                "sequence": 1,
                "last_sequence": 1,
                "reasons": reasons_json(reasons),
                "payload": raw if allocation is not None else pruned(raw),
                "recorded_at": now,
            }
        ],
    )
    return [_allocation_status(deps, allocation_id, unit_code, status, 1, reasons, now)]


async def _reduction_refused(session: AsyncSession, key: domain.LineKey, amount: int) -> Reason:
    state = await db.line_state(session, key)
    if state is None:
        return Reason(
            code=ReasonCode.BUDGET_LINE_UNKNOWN.value,
            field=None,
            message="Giảm dự toán cho dòng chưa có dự toán (no such budget line)",
        )
    return Reason(
        code=ReasonCode.ALLOCATION_BELOW_COMMITTED.value,
        field="amount",
        message=f"Giảm {domain.vnd(amount)} làm dự toán {domain.vnd(state.allocated - amount)} "
        f"thấp hơn số đã cam kết {domain.vnd(state.committed)} "
        "(reduction below what is committed)",
    )
