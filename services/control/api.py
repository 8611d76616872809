"""HTTP routes of the control service: officers' review queue and decisions, budgets.

No `from __future__ import annotations` here: FastAPI must see the dependency aliases built
inside `router()` as objects, not as strings it cannot resolve.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.control import capital_db, db, handlers, ledger_db
from services.control.domain import line_amounts
from shared.auth import Caller, Staff
from shared.contract import DossierKind, InvestmentSubmitted, Reason, VoucherSubmitted
from shared.errors import NotFound
from shared.outbound import Outbound
from shared.paging import FiscalYear, Page, PageSize
from shared.service import Runtime


class ReviewItem(BaseModel):
    dossier_id: str
    unit_code: str
    treasury_code: str
    total_amount: int
    deadline: dt.datetime
    received_at: dt.datetime
    review_since: dt.datetime | None
    voucher: dict[str, Any]


class ReviewDecision(BaseModel):
    decision: Literal["approve", "refuse", "return"]
    reasons: list[Reason] = Field(default_factory=list)


class DecisionResult(BaseModel):
    dossier_id: str
    status: str


class BudgetLineView(BaseModel):
    """A budget line (`kind` budget) or an investment project's capital plan line (`kind`
    capital_plan, which has no chapter or sector)."""

    kind: Literal["budget", "capital_plan"]
    fiscal_year: int
    chapter: str | None = None
    sector_code: str | None = None
    source_code: str
    allocated: int
    committed: int
    available: int


class ContractView(BaseModel):
    """A contract's position: `paid` sums approved payments' gross amounts (not advances)."""

    unit_code: str
    contract_number: str
    value: int
    advanced: int
    recovered: int
    open_advance: int
    paid: int
    last_completed_value: int


class TouchedLine(BudgetLineView):
    """A budget line a voucher spends on: its state now, and what the voucher asks of it."""

    requested: int


class ReviewDetail(BaseModel):
    dossier_id: str
    unit_code: str
    treasury_code: str
    status: str
    total_amount: int
    deadline: dt.datetime
    received_at: dt.datetime
    review_since: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str | None
    reasons: list[dict[str, Any]]
    voucher: dict[str, Any]
    budget_lines: list[TouchedLine]
    contract: ContractView | None = None
    """For an investment request: its contract's position before this request."""


class ReviewCounts(BaseModel):
    in_review: int
    at_risk: int
    overdue: int


async def _budget_lines(session: AsyncSession, payload: dict[str, Any]) -> list[TouchedLine]:
    """Each budget line a voucher spends on, as it is now, and what the voucher asks of it."""
    lines = []
    for key, amount in sorted(line_amounts(VoucherSubmitted.model_validate(payload)).items()):
        state = await ledger_db.line_state(session, key)
        allocated, committed = (state.allocated, state.committed) if state else (0, 0)
        _, year, chapter, sector, source = key
        lines.append(
            TouchedLine(
                kind="budget",
                fiscal_year=year,
                chapter=chapter,
                sector_code=sector,
                source_code=source,
                allocated=allocated,
                committed=committed,
                available=allocated - committed,
                requested=amount,
            )
        )
    return lines


async def _investment_lines(
    session: AsyncSession, payload: dict[str, Any]
) -> tuple[list[TouchedLine], ContractView | None]:
    """An investment request's plan line, as it is now, with the money that would leave it,
    and its contract's position."""
    r = InvestmentSubmitted.model_validate(payload)
    plans = await capital_db.plan_lines(session, r.unit_code, r.fiscal_year)
    found = next((p for p in plans if p["source_code"] == r.source_code), None)
    allocated, committed = (found["allocated"], found["committed"]) if found else (0, 0)
    line = TouchedLine(
        kind="capital_plan",
        fiscal_year=r.fiscal_year,
        source_code=r.source_code,
        allocated=allocated,
        committed=committed,
        available=allocated - committed,
        requested=r.plan_amount,
    )
    contract = None
    if r.contract is not None:
        row = await capital_db.position(session, r.unit_code, r.contract.number)
        if row is not None:
            contract = ContractView(**row, open_advance=row["advanced"] - row["recovered"])
    return [line], contract


def router(runtime: Runtime, deps: handlers.Deps, out: Outbound) -> APIRouter:
    api = APIRouter()
    # Type aliases, named as FastAPI's documentation names them.
    doors = runtime.doors(dossier_id=db.office_of_dossier, unit_code=db.office_of_unit)
    StaffDep = Annotated[Staff, Depends(doors.staff())]  # noqa: N806
    DeciderDep = Annotated[Staff, Depends(doors.staff("controller", "head"))]  # noqa: N806
    CallerDep = Annotated[Caller, Depends(doors.caller())]  # noqa: N806

    @api.get(
        "/reviews",
        response_model=list[ReviewItem],
        tags=["staff"],
        summary="Vouchers held for review at the office, earliest deadline first",
    )
    async def reviews(
        staff: StaffDep,
        treasury_code: str | None = None,
        page: Page = 1,
        page_size: PageSize = 50,
    ) -> list[ReviewItem]:
        office = staff.office(treasury_code)
        async with runtime.sessionmaker() as session:
            rows = await db.review_queue(session, office, page_size, (page - 1) * page_size)
        return [
            ReviewItem(
                **{k: v for k, v in r.items() if k in ReviewItem.model_fields}, voucher=r["payload"]
            )
            for r in rows
        ]

    @api.get(
        "/reviews/counts",
        response_model=ReviewCounts,
        tags=["staff"],
        summary="Vouchers in review at the office: all, due within `warning_minutes`, overdue",
    )
    async def review_counts(
        staff: StaffDep,
        treasury_code: str | None = None,
        warning_minutes: Annotated[int, Query(ge=0, le=10_000)] = 120,
    ) -> ReviewCounts:
        office = staff.office(treasury_code)
        async with runtime.sessionmaker() as session:
            total, at_risk, overdue = await db.review_counts(
                session, deps.clock(), dt.timedelta(minutes=warning_minutes), office
            )
        return ReviewCounts(in_review=total, at_risk=at_risk, overdue=overdue)

    @api.get(
        "/reviews/{dossier_id}",
        response_model=ReviewDetail,
        tags=["staff"],
        summary="A voucher in spending control, with each budget line it touches as it is now",
    )
    async def review(dossier_id: str, staff: StaffDep) -> ReviewDetail:
        async with runtime.sessionmaker() as session:
            row = await db.voucher_row(session, dossier_id)
            if row is None:
                raise NotFound(f"no voucher {dossier_id} in spending control")
            staff.require_office(row["treasury_code"])
            if row["dossier_kind"] == DossierKind.INVESTMENT:
                lines, contract = await _investment_lines(session, row["payload"])
            else:
                lines, contract = await _budget_lines(session, row["payload"]), None
        fields = {k: v for k, v in row.items() if k in ReviewDetail.model_fields}
        return ReviewDetail(**fields, voucher=row["payload"], budget_lines=lines, contract=contract)

    @api.post(
        "/reviews/{dossier_id}/decision",
        response_model=DecisionResult,
        tags=["staff"],
        summary="Approve (re-checking the budget now), refuse or return a voucher",
    )
    async def decide(dossier_id: str, body: ReviewDecision, staff: DeciderDep) -> DecisionResult:
        async with runtime.unit_of_work() as tx:
            status, events = await handlers.decide_review(
                tx.session,
                dossier_id=dossier_id,
                decision=body.decision,
                reasons=body.reasons,
                staff=staff,
                deps=deps,
            )
            tx.publish(out.messages(events))
        return DecisionResult(dossier_id=dossier_id, status=status)

    @api.get(
        "/budgets/{unit_code}",
        response_model=list[BudgetLineView],
        response_model_exclude_none=True,
        tags=["staff", "portals"],
        summary="A unit's budget lines and a project's capital plan lines: allocated, committed",
    )
    async def budgets(
        unit_code: str, caller: CallerDep, fiscal_year: FiscalYear = None
    ) -> list[BudgetLineView]:
        del caller
        async with runtime.sessionmaker() as session:
            lines = [("budget", r) for r in await db.budget(session, unit_code, fiscal_year)]
            plans = await capital_db.plan_lines(session, unit_code, fiscal_year)
        lines += [("capital_plan", r) for r in plans]
        return [
            BudgetLineView(
                **{k: r[k] for k in BudgetLineView.model_fields if k in r},
                kind=kind,
                available=r["allocated"] - r["committed"],
            )
            for kind, r in lines
        ]

    @api.get(
        "/contracts/{unit_code}/{number:path}",
        response_model=ContractView,
        tags=["staff", "portals"],
        summary="An investment contract's position: advanced, recovered, paid",
    )
    async def contract(unit_code: str, number: str, caller: CallerDep) -> ContractView:
        """`number` is the contract number, the rest of the path (it may hold `/`, raw or
        percent-encoded: the path arrives decoded); staff reach it through the office of
        `unit_code`, the project's."""
        del caller
        async with runtime.sessionmaker() as session:
            row = await capital_db.position(session, unit_code, number)
        if row is None:
            raise NotFound(f"no contract {number} of project {unit_code}")
        return ContractView(**row, open_advance=row["advanced"] - row["recovered"])

    return api
