"""The office's day: received, decided, refused, returned, overdue and at risk, and a chart
of the day by hour drawn on the server (SVG)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.workspace import present
from services.workspace.sessions import Officer
from services.workspace.web import Web
from shared.contract.enums import Status

SERIES = tuple(s.value for s in (Status.RECEIVED, Status.APPROVED, Status.REFUSED, Status.RETURNED))


def router(web: Web) -> APIRouter:
    api = APIRouter()
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806

    @api.get("/today")
    async def today(request: Request, officer: OfficerDep) -> Response:
        office_day = await web.services.get(officer, "vouchers", "/offices/day")
        counts = await web.services.get(
            officer,
            "control",
            "/reviews/counts",
            warning_minutes=web.settings.deadline_warning_minutes,
        )
        return web.render(
            request,
            "today.html.j2",
            officer=officer,
            office=office_day,
            counts=counts,
            series=SERIES,
            chart=present.bars(office_day["hours"], SERIES),
        )

    return api
