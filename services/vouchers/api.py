"""HTTP routes of the vouchers service: portal intake, and a voucher's status and history.

No `from __future__ import annotations` here: FastAPI must see the dependency aliases built
inside `router()` as objects, not as strings it cannot resolve.
"""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from services.vouchers import db, handlers
from shared.auth import Caller, Staff
from shared.contract.deadlines import TZ
from shared.contract.enums import EventType
from shared.errors import InvalidRequest, NotFound
from shared.intake import Accepted, submit
from shared.paging import Page, PageSize
from shared.service import Runtime


class VoucherView(BaseModel):
    dossier_id: str
    unit_code: str
    treasury_code: str
    status: str
    sequence: int
    reasons: list[dict[str, Any]]
    deadline: dt.datetime | None
    submitted_at: dt.datetime
    received_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    dossier_kind: str = "voucher"
    total_amount: int | None = None
    """A voucher's `total_amount`, an investment request's `amount`."""
    history: list[dict[str, Any]] = Field(default_factory=list)
    # The voucher as submitted (lines, payee, attachments, signatures): detail only.
    voucher: dict[str, Any] | None = None


class HourCount(BaseModel):
    hour: int
    status: str
    count: int


class OfficeDay(BaseModel):
    treasury_code: str
    date: dt.date
    start: dt.datetime
    totals: dict[str, int]
    hours: list[HourCount]


def _view(d: db.Dossier, history: list[dict[str, Any]] | None = None) -> VoucherView:
    fields = {k: v for k, v in d.__dict__.items() if k not in {"payload", "content_hash"}}
    total = d.payload.get("amount" if d.dossier_kind == "investment" else "total_amount")
    return VoucherView(
        **fields, total_amount=total if isinstance(total, int) else None, history=history or []
    )


def router(runtime: Runtime, deps: handlers.Deps) -> APIRouter:
    api = APIRouter()
    settings = runtime.settings
    # Type aliases, named as FastAPI's documentation names them.
    doors = runtime.doors(dossier_id=db.office_of_dossier, unit_code=db.office_of_unit)
    PortalDep = Annotated[str, Depends(doors.portal())]  # noqa: N806
    CallerDep = Annotated[Caller, Depends(doors.caller())]  # noqa: N806
    StaffDep = Annotated[Staff, Depends(doors.staff())]  # noqa: N806

    @api.post(
        "/vouchers",
        status_code=202,
        response_model=Accepted,
        tags=["portals"],
        summary="Submit a voucher (the payload of voucher.submitted)",
    )
    async def post_voucher(body: Annotated[dict[str, Any], Body()], portal: PortalDep) -> Accepted:
        del portal
        return await submit(
            producer=runtime.producer,
            topic=settings.topics.vouchers,
            body=body,
            event_type=EventType.VOUCHER_SUBMITTED.value,
            key_of=lambda p: p.get("unit_code"),
            source="http-api",
            event_id=deps.new_id(),
            now=deps.clock(),
        )

    @api.get(
        "/vouchers/{dossier_id}",
        response_model=VoucherView,
        tags=["portals", "staff"],
        summary="A voucher's current status, reasons, deadline and history",
    )
    async def get_voucher(dossier_id: str, caller: CallerDep) -> VoucherView:
        async with runtime.sessionmaker() as session:
            d = await db.get_dossier(session, dossier_id)
            if d is None:
                raise NotFound(f"no voucher dossier {dossier_id}")
            caller.require_office(d.treasury_code)
            view = _view(d, await db.dossier_history(session, dossier_id))
        return view.model_copy(update={"voucher": d.payload})

    @api.get(
        "/vouchers",
        response_model=list[VoucherView],
        tags=["portals", "staff"],
        summary="Vouchers of a unit (or of the caller's office), newest first",
    )
    async def list_vouchers(
        caller: CallerDep,
        unit_code: str | None = None,
        status: str | None = None,
        received_from: dt.datetime | None = None,
        received_before: dt.datetime | None = None,
        page: Page = 1,
        page_size: PageSize = 50,
    ) -> list[VoucherView]:
        office = caller.staff.treasury_code if caller.staff else None
        if office is None and unit_code is None:
            raise InvalidRequest("portals list vouchers by unit_code")
        async with runtime.sessionmaker() as session:
            found = await db.list_dossiers(
                session,
                unit_code=unit_code,
                treasury_code=office,
                status=status,
                limit=page_size,
                offset=(page - 1) * page_size,
                received_from=received_from,
                received_before=received_before,
            )
        return [_view(d) for d in found]

    @api.get(
        "/offices/day",
        response_model=OfficeDay,
        tags=["staff"],
        summary="The office's day (Asia/Ho_Chi_Minh): dossiers received and decided, by hour",
    )
    async def office_day(
        staff: StaffDep,
        treasury_code: str | None = None,
        date: Annotated[
            dt.date | None, Query(ge=dt.date(1000, 1, 1), le=dt.date(9999, 12, 30))
        ] = None,
    ) -> OfficeDay:
        office = staff.office(treasury_code)
        day = date or deps.clock().astimezone(TZ).date()
        start = dt.datetime.combine(day, dt.time(), tzinfo=TZ)
        async with runtime.sessionmaker() as session:
            totals, hours = await db.office_day(
                session, office, start, start + dt.timedelta(days=1)
            )
        return OfficeDay(
            treasury_code=office,
            date=day,
            start=start,
            totals=totals,
            hours=[HourCount(**h) for h in hours],
        )

    return api
