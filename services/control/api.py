"""HTTP routes of the control service: officers' review queue and decisions, budgets.

No `from __future__ import annotations` here: FastAPI must see the dependency aliases built
inside `router()` as objects, not as strings it cannot resolve.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.control import capital_db, db, handlers
from shared.auth import Caller, Staff
from shared.contract import Reason, bounds
from shared.errors import NotFound
from shared.messaging import enqueue
from shared.paging import Page, PageSize
from shared.service import Runtime

# Bounded as in the payloads, so that no year reaches PostgreSQL outside its INTEGER column.
FiscalYearQuery = Annotated[int | None, Query(ge=bounds.MIN_FISCAL_YEAR, le=bounds.MAX_FISCAL_YEAR)]


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


def router(runtime: Runtime, deps: handlers.Deps) -> APIRouter:
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
        office = treasury_code or staff.treasury_code
        staff.require_office(office)
        async with runtime.sessionmaker() as session:
            rows = await db.review_queue(session, office, page_size, (page - 1) * page_size)
        return [
            ReviewItem(
                **{k: v for k, v in r.items() if k in ReviewItem.model_fields}, voucher=r["payload"]
            )
            for r in rows
        ]

    @api.post(
        "/reviews/{dossier_id}/decision",
        response_model=DecisionResult,
        tags=["staff"],
        summary="Approve (re-checking the budget now), refuse or return a voucher",
    )
    async def decide(dossier_id: str, body: ReviewDecision, staff: DeciderDep) -> DecisionResult:
        async with runtime.sessionmaker() as session, session.begin():
            status, events = await handlers.decide_review(
                session,
                dossier_id=dossier_id,
                decision=body.decision,
                reasons=body.reasons,
                staff=staff,
                deps=deps,
            )
            await enqueue(session, runtime.tables, events)
        runtime.relay.wake()
        return DecisionResult(dossier_id=dossier_id, status=status)

    @api.get(
        "/budgets/{unit_code}",
        response_model=list[BudgetLineView],
        response_model_exclude_none=True,
        tags=["staff", "portals"],
        summary="A unit's budget lines and a project's capital plan lines: allocated, committed",
    )
    async def budgets(
        unit_code: str, caller: CallerDep, fiscal_year: FiscalYearQuery = None
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
