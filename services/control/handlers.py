"""Use cases of the control service, in the caller's transaction: received vouchers and
investment requests, and officers' decisions on them. Decisions go back to the vouchers
service, which publishes them as the dossier's next status. (Allocations and capital plans:
`allocations`.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from services.control import capital_db, db, domain, investment, ledger_db
from services.control.ledger import Ledger
from shared.auth import Staff
from shared.bulk import insert_rows
from shared.consumer import Item
from shared.contract import (
    InvestmentSubmitted,
    Reason,
    VoucherSubmitted,
)
from shared.contract.enums import SYSTEM, Status
from shared.contract.internal import VoucherDecided, VoucherReceived
from shared.errors import Conflict, InvalidRequest, NotFound
from shared.status import reasons_json


@dataclass
class Deps:
    rules: domain.ControlRules
    clock: Callable[[], dt.datetime]
    new_id: Callable[[], str]
    investment_rules: investment.InvestmentRules = field(default_factory=investment.InvestmentRules)
    observe_decision: Callable[[str, Sequence[str]], None] = lambda outcome, reasons: None
    observe_commit: Callable[[float], None] = lambda seconds: None
    observe_review: Callable[[float], None] = lambda seconds: None


def _decided(
    *,
    dossier_id: str,
    unit_code: str,
    status: Status,
    reasons: Sequence[Reason],
    by: str,
    now: dt.datetime,
) -> VoucherDecided:
    return VoucherDecided(
        dossier_id=dossier_id,
        unit_code=unit_code,
        status=status,
        reasons=tuple(reasons),
        decided_by=by,
        decided_at=now,
    )


def _parse(r: VoucherReceived) -> VoucherSubmitted | InvestmentSubmitted:
    if r.dossier_kind == "investment":
        return InvestmentSubmitted.model_validate(r.voucher)
    return VoucherSubmitted.model_validate(r.voucher)


@dataclass
class _Books:
    """The budget ledger and the investment ledger of one transaction, locked in that order."""

    budget: Ledger
    capital: investment.InvestmentLedger

    @classmethod
    async def lock(
        cls,
        session: AsyncSession,
        dossiers: Sequence[VoucherSubmitted | InvestmentSubmitted],
        now: dt.datetime,
    ) -> _Books:
        vouchers = [d for d in dossiers if isinstance(d, VoucherSubmitted)]
        requests = [d for d in dossiers if isinstance(d, InvestmentSubmitted)]
        return cls(
            await ledger_db.lock_ledger(session, vouchers),
            await capital_db.lock_ledger(session, requests, now),
        )

    def decide(
        self,
        d: VoucherSubmitted | InvestmentSubmitted,
        *,
        superseded_returned: bool,
        deps: Deps,
        by_officer: bool = False,
    ) -> tuple[Status, tuple[Reason, ...]]:
        """Decide on `d` and take what an approval changes into the books."""
        if isinstance(d, InvestmentSubmitted):
            asked = self.capital.decide(
                d,
                superseded_returned=superseded_returned,
                rules=deps.investment_rules,
                by_officer=by_officer,
            )
            self.capital.take(d, asked)
            return asked.status, asked.reasons
        decision = self.budget.decide(
            d, superseded_returned=superseded_returned, rules=deps.rules, by_officer=by_officer
        )
        self.budget.take(d, decision)
        return decision.status, decision.reasons

    async def write(self, session: AsyncSession, now: dt.datetime) -> None:
        await ledger_db.write_ledger(session, self.budget, now)
        await capital_db.write_ledger(session, self.capital, now)


def _amount(d: VoucherSubmitted | InvestmentSubmitted) -> int:
    return d.amount if isinstance(d, InvestmentSubmitted) else d.total_amount


async def handle_received(
    session: AsyncSession, items: Sequence[Item], *, deps: Deps
) -> list[VoucherDecided]:
    """Vouchers and investment requests accepted at intake: return, refuse, hold for review,
    or approve and commit, all in the caller's transaction."""
    now = deps.clock()
    received = [VoucherReceived.model_validate(envelope.payload) for envelope, _ in items]
    dossiers = [_parse(r) for r in received]
    superseded_ids = [d.supersedes_dossier_id for d in dossiers if d.supersedes_dossier_id]
    known = await db.lock_vouchers(session, [r.dossier_id for r in received] + superseded_ids)
    books = await _Books.lock(session, dossiers, now)
    rows, out = [], []
    for r, d in zip(received, dossiers, strict=True):
        if r.dossier_id in known:
            continue
        earlier = known.get(d.supersedes_dossier_id or "")
        returned_once = bool(
            earlier and earlier["status"] == Status.RETURNED and earlier["unit_code"] == d.unit_code
        )
        status, reasons = books.decide(d, superseded_returned=returned_once, deps=deps)
        row = {
            "dossier_id": r.dossier_id,
            "dossier_kind": r.dossier_kind,
            "unit_code": r.unit_code,
            "treasury_code": r.treasury_code,
            "total_amount": _amount(d),
            "status": status.value,
            "reasons": reasons_json(reasons),
            "payload": r.voucher,
            "received_at": r.received_at,
            "deadline": r.deadline,
            "review_since": now if status is Status.IN_REVIEW else None,
            "decided_at": None if status is Status.IN_REVIEW else now,
            "decided_by": None if status is Status.IN_REVIEW else SYSTEM,
        }
        known[r.dossier_id] = row
        rows.append(row)
        out.append(
            _decided(
                dossier_id=r.dossier_id,
                unit_code=r.unit_code,
                status=status,
                reasons=reasons,
                by=SYSTEM,
                now=now,
            )
        )
        deps.observe_decision(status, [x.code for x in reasons])
        if status is Status.APPROVED:
            deps.observe_commit((now - r.received_at).total_seconds())
    await insert_rows(session, db.vouchers, rows)
    await books.write(session, now)
    return out


async def decide_review(
    session: AsyncSession,
    *,
    dossier_id: str,
    decision: str,
    reasons: Sequence[Reason],
    staff: Staff,
    deps: Deps,
) -> tuple[str, list[VoucherDecided]]:
    """An officer's decision on a voucher held for review; approval re-checks the money."""
    now = deps.clock()
    row = (await db.lock_vouchers(session, [dossier_id])).get(dossier_id)
    if row is None:
        raise NotFound(f"no voucher {dossier_id} in spending control")
    staff.require_office(row["treasury_code"])
    staff.require_role("controller", "head")
    if row["status"] != Status.IN_REVIEW:
        raise Conflict(f"voucher {dossier_id} is {row['status']}, not in_review")
    v = _parse(VoucherReceived.model_validate({**row, "voucher": row["payload"]}))
    if decision == "approve":
        books = await _Books.lock(session, [v], now)
        status, decided = books.decide(v, superseded_returned=False, deps=deps, by_officer=True)
        await books.write(session, now)
        reasons = list(decided)
    else:
        if not reasons:
            raise InvalidRequest(f"to {decision} a voucher, give at least one reason")
        status = Status.REFUSED if decision == "refuse" else Status.RETURNED
        if status is Status.RETURNED and v.supersedes_dossier_id:
            earlier = (await db.lock_vouchers(session, [v.supersedes_dossier_id])).get(
                v.supersedes_dossier_id
            )
            if earlier and earlier["status"] == Status.RETURNED:
                raise Conflict(
                    "this dossier already supersedes a returned one: additions may "
                    "be requested only once; refuse it instead"
                )
    await db.update_voucher(
        session,
        dossier_id,
        status=status.value,
        reasons=reasons_json(reasons),
        decided_at=now,
        decided_by=staff.sub,
    )
    deps.observe_decision(status, [r.code for r in reasons])
    if row["review_since"] is not None:
        deps.observe_review((now - row["review_since"]).total_seconds())
    return status, [
        _decided(
            dossier_id=dossier_id,
            unit_code=row["unit_code"],
            status=status,
            reasons=reasons,
            by=staff.sub,
            now=now,
        )
    ]
