"""HTTP routes of the control service: officers' review queue and decisions, budgets.

No `from __future__ import annotations` here: FastAPI must see the dependency aliases built
inside `router()` as objects, not as strings it cannot resolve.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.control import db, handlers
from shared.auth import Caller, Staff
from shared.contract import Reason
from shared.messaging import enqueue
from shared.paging import Page, PageSize
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
    fiscal_year: int
    chapter: str
    sector_code: str
    source_code: str
    allocated: int
    committed: int
    available: int


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
        tags=["staff", "portals"],
        summary="A unit's budget lines: allocated, committed",
    )
    async def budgets(
        unit_code: str, caller: CallerDep, fiscal_year: int | None = None
    ) -> list[BudgetLineView]:
        del caller
        async with runtime.sessionmaker() as session:
            rows = await db.budget(session, unit_code, fiscal_year)
        return [
            BudgetLineView(
                **{k: r[k] for k in BudgetLineView.model_fields if k in r},
                available=r["allocated"] - r["committed"],
            )
            for r in rows
        ]

    return api
