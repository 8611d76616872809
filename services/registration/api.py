"""HTTP routes of the registration service: portal intake, staff review, the unit directory.

No `from __future__ import annotations` here: FastAPI must see the dependency aliases built
inside `router()` as objects, not as strings it cannot resolve.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.registration import db, handlers
from services.registration.metrics import RegistrationMetrics
from shared.auth import Staff
from shared.contract import Reason
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import EventType
from shared.errors import NotFound
from shared.intake import Accepted, submit
from shared.outbound import Event, Outbound
from shared.paging import Page, PageSize
from shared.service import Runtime


class DossierView(BaseModel):
    dossier_id: str
    unit_code: str
    treasury_code: str
    request_type: str
    status: str
    sequence: int
    reasons: list[dict[str, Any]]
    deadline: dt.datetime | None
    received_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    history: list[dict[str, Any]] = Field(default_factory=list)
    # The registration as submitted (unit, accounts, signers and their certificates): detail only.
    registration: dict[str, Any] | None = None


class Decision(BaseModel):
    decision: Literal["approve", "refuse"]
    reasons: list[Reason] = Field(default_factory=list)


def _view(d: db.Dossier, history: list[dict[str, Any]] | None = None) -> DossierView:
    fields = {k: v for k, v in d.__dict__.items() if k not in {"payload", "content_hash"}}
    return DossierView(**fields, history=history or [])


def router(
    runtime: Runtime, deps: handlers.Deps, metrics: RegistrationMetrics, out: Outbound
) -> APIRouter:
    api = APIRouter()
    settings = runtime.settings
    # Type aliases, named as FastAPI's documentation names them.
    doors = runtime.doors(dossier_id=db.office_of_dossier, unit_code=db.office_of_unit)
    StaffDep = Annotated[Staff, Depends(doors.staff())]  # noqa: N806
    HeadDep = Annotated[Staff, Depends(doors.staff("head"))]  # noqa: N806
    PortalDep = Annotated[str, Depends(doors.portal())]  # noqa: N806

    async def in_transaction(work: Any) -> Any:
        async with runtime.unit_of_work() as tx:
            result, events = await work(tx.session)
            tx.publish(out.messages(events))
        return result

    @api.post(
        "/registrations",
        status_code=202,
        response_model=Accepted,
        tags=["portals"],
        summary="Submit a registration (the payload of registration.submitted)",
    )
    async def post_registration(
        body: Annotated[dict[str, Any], Body()], portal: PortalDep
    ) -> Accepted:
        del portal
        return await submit(
            producer=runtime.producer,
            topic=settings.topics.registrations,
            body=body,
            event_type=EventType.REGISTRATION_SUBMITTED.value,
            key_of=lambda p: u.get("code") if isinstance(u := p.get("unit"), dict) else None,
            source="http-api",
            event_id=deps.new_id(),
            now=deps.clock(),
        )

    @api.get(
        "/registrations",
        response_model=list[DossierView],
        tags=["staff"],
        summary="Registrations of the caller's office, earliest deadline first",
    )
    async def list_registrations(
        staff: StaffDep,
        status: str | None = None,
        treasury_code: str | None = None,
        page: Page = 1,
        page_size: PageSize = 50,
    ) -> list[DossierView]:
        office = staff.office(treasury_code)
        async with runtime.sessionmaker() as session:
            found = await db.list_dossiers(
                session,
                treasury_code=office,
                status=status,
                limit=page_size,
                offset=(page - 1) * page_size,
            )
        return [_view(d) for d in found]

    @api.get("/registrations/{dossier_id}", response_model=DossierView, tags=["staff"])
    async def get_registration(dossier_id: str, staff: StaffDep) -> DossierView:
        async with runtime.sessionmaker() as session:
            d = await db.get_dossier(session, dossier_id)
            if d is None:
                raise NotFound(f"no registration dossier {dossier_id}")
            staff.require_office(d.treasury_code)
            view = _view(d, await db.dossier_history(session, dossier_id))
        return view.model_copy(update={"registration": d.payload})

    @api.post(
        "/registrations/{dossier_id}/decision",
        response_model=DossierView,
        tags=["staff"],
        summary="Approve or refuse a registration under review",
    )
    async def decide(dossier_id: str, decision: Decision, staff: StaffDep) -> DossierView:
        async def work(session: AsyncSession) -> tuple[None, list[Event]]:
            events = await handlers.decide(
                session,
                dossier_id=dossier_id,
                approve=decision.decision == "approve",
                reasons=decision.reasons,
                staff=staff,
                deps=deps,
            )
            return None, events

        await in_transaction(work)
        metrics.decisions.labels(decision.decision).inc()
        return await get_registration(dossier_id, staff)

    @api.get(
        "/units",
        response_model=list[DirectoryEntry],
        tags=["staff"],
        summary="The office's units whose code starts with `q` or whose name contains it",
    )
    async def search_units(
        staff: StaffDep,
        q: str = "",
        treasury_code: str | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[DirectoryEntry]:
        office = staff.office(treasury_code)
        async with runtime.sessionmaker() as session:
            return await db.search_units(session, treasury_code=office, text=q.strip(), limit=limit)

    @api.get(
        "/units/{unit_code}",
        response_model=DirectoryEntry,
        tags=["staff"],
        summary="A registered unit: office, status, accounts, signers",
    )
    async def get_unit(unit_code: str, staff: StaffDep) -> DirectoryEntry:
        async with runtime.sessionmaker() as session:
            entry = await db.get_unit(session, unit_code)
        if entry is None:
            raise NotFound(f"no registered unit {unit_code}")
        staff.require_office(entry.treasury_code)
        return entry

    async def _set_status(unit_code: str, suspend: bool, staff: Staff) -> DirectoryEntry:
        async def work(session: AsyncSession) -> tuple[DirectoryEntry, list[Event]]:
            return await handlers.set_unit_status(
                session, unit_code=unit_code, suspend=suspend, staff=staff, deps=deps
            )

        entry: DirectoryEntry = await in_transaction(work)
        return entry

    @api.post(
        "/units/{unit_code}/suspend",
        response_model=DirectoryEntry,
        tags=["staff"],
        summary="Suspend a unit: its vouchers are rejected until it is reinstated",
    )
    async def suspend(unit_code: str, staff: HeadDep) -> DirectoryEntry:
        return await _set_status(unit_code, True, staff)

    @api.post("/units/{unit_code}/reinstate", response_model=DirectoryEntry, tags=["staff"])
    async def reinstate(unit_code: str, staff: HeadDep) -> DirectoryEntry:
        return await _set_status(unit_code, False, staff)

    return api
