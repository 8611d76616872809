"""HTTP routes of the support service: portal intake, the office's requests, replies.

No `from __future__ import annotations` here: FastAPI must see the dependency aliases built
inside `router()` as objects, not as strings it cannot resolve.
"""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, Field

from services.support import db, handlers
from services.support.metrics import SupportMetrics
from shared.auth import Caller, Staff
from shared.contract.enums import EventType, Status, SupportResolution, SupportStatusFilter
from shared.errors import NotFound
from shared.intake import submit
from shared.outbound import Outbound
from shared.paging import Page, PageSize
from shared.service import Runtime

OPEN = [Status.RECEIVED.value, Status.ANSWERED.value]


class SupportAccepted(BaseModel):
    request_id: str
    event_id: str


class ReplyView(BaseModel):
    number: int
    resolution: str
    message: str
    officer: str
    at: dt.datetime


class RequestView(BaseModel):
    request_id: str
    unit_code: str
    treasury_code: str
    category: str
    subject: str
    body: str
    dossier_id: str | None
    contact_email: str | None
    status: str
    sequence: int
    reasons: list[dict[str, Any]]
    deadline: dt.datetime | None
    received_at: dt.datetime
    first_answer_at: dt.datetime | None
    closed_at: dt.datetime | None
    # The conversation, each reply with who gave it and when; and every status published.
    replies: list[ReplyView] = Field(default_factory=list)
    history: list[dict[str, Any]] = Field(default_factory=list)


class ReplyBody(BaseModel):
    message: str = Field(min_length=1, description="What the unit is told, quoted in its email.")
    resolution: SupportResolution = SupportResolution.ANSWERED


def _view(
    r: db.Request,
    replies: list[dict[str, Any]] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> RequestView:
    fields = {
        k: v
        for k, v in r.__dict__.items()
        if k not in {"payload", "content_hash", "last_sequence", "replies"}
    }
    return RequestView(
        **fields,
        replies=[
            ReplyView(**{k: v for k, v in x.items() if k != "request_id"}) for x in replies or []
        ],
        history=history or [],
    )


def router(
    runtime: Runtime, deps: handlers.Deps, metrics: SupportMetrics, out: Outbound
) -> APIRouter:
    api = APIRouter()
    settings = runtime.settings
    # Type aliases, named as FastAPI's documentation names them.
    doors = runtime.doors(request_id=db.office_of_request)
    StaffDep = Annotated[Staff, Depends(doors.staff())]  # noqa: N806
    CallerDep = Annotated[Caller, Depends(doors.caller())]  # noqa: N806
    PortalDep = Annotated[str, Depends(doors.portal())]  # noqa: N806

    @api.post(
        "/support",
        status_code=202,
        response_model=SupportAccepted,
        tags=["portals"],
        summary="Ask the unit's treasury office for help (the payload of support.requested)",
    )
    async def post_support(
        body: Annotated[dict[str, Any], Body()], portal: PortalDep
    ) -> SupportAccepted:
        del portal
        accepted = await submit(
            producer=runtime.producer,
            topic=settings.topics.support,
            body=body,
            event_type=EventType.SUPPORT_REQUESTED.value,
            key_of=lambda p: p.get("unit_code"),
            source="http-api",
            event_id=deps.new_id(),
            now=deps.clock(),
            id_field="request_id",
        )
        return SupportAccepted(request_id=accepted.dossier_id, event_id=accepted.event_id)

    @api.get(
        "/support",
        response_model=list[RequestView],
        tags=["staff"],
        summary="The office's support requests, earliest deadline first",
        description="`status=open` lists those received or answered, not yet resolved or deferred.",
    )
    async def list_support(
        staff: StaffDep,
        treasury_code: str | None = None,
        status: SupportStatusFilter | None = None,
        page: Page = 1,
        page_size: PageSize = 50,
    ) -> list[RequestView]:
        office = staff.office(treasury_code)
        statuses: list[str] = (
            OPEN if status is SupportStatusFilter.OPEN else [status.value] if status else []
        )
        async with runtime.sessionmaker() as session:
            found = await db.list_requests(
                session,
                treasury_code=office,
                statuses=statuses,
                limit=page_size,
                offset=(page - 1) * page_size,
            )
        return [_view(r) for r in found]

    @api.get(
        "/support/{request_id}",
        response_model=RequestView,
        tags=["staff", "portals"],
        summary="A support request: the question, each reply (who, when), its statuses",
    )
    async def get_support(request_id: str, caller: CallerDep) -> RequestView:
        async with runtime.sessionmaker() as session:
            r = await db.get_request(session, request_id)
            if r is None:
                raise NotFound(f"no support request {request_id}")
            caller.require_office(r.treasury_code)
            return _view(
                r,
                await db.conversation(session, request_id),
                await db.request_history(session, request_id),
            )

    @api.post(
        "/support/{request_id}/reply",
        response_model=RequestView,
        tags=["staff"],
        summary="Reply to a request: answered (more may follow), resolved or deferred",
    )
    async def post_reply(request_id: str, body: ReplyBody, staff: StaffDep) -> RequestView:
        async with runtime.unit_of_work() as tx:
            events = await handlers.reply(
                tx.session,
                request_id=request_id,
                message=body.message,
                resolution=body.resolution,
                staff=staff,
                deps=deps,
            )
            tx.publish(out.messages(events))
        metrics.replies.labels(body.resolution).inc()
        return await get_support(request_id, Caller(portal=False, staff=staff))

    return api
