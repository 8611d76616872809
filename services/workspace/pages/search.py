"""Dossiers of the office by id, unit, status and the day they were received."""

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.workspace.present import LOCAL
from services.workspace.sessions import Officer
from services.workspace.web import Web
from shared.contract.enums import Status

STATUSES = tuple(
    s.value
    for s in (
        Status.RECEIVED,
        Status.IN_REVIEW,
        Status.APPROVED,
        Status.REFUSED,
        Status.RETURNED,
        Status.REJECTED,
    )
)


def _day(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=LOCAL)
    except ValueError:
        return None


def router(web: Web) -> APIRouter:
    api = APIRouter()
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806

    @api.get("/search")
    async def search(
        request: Request,
        officer: OfficerDep,
        dossier_id: str = "",
        unit_code: str = "",
        status: str = "",
        received_from: str = "",
        received_to: str = "",
    ) -> Response:
        if dossier_id.strip():
            return RedirectResponse(f"/dossiers/{dossier_id.strip()}", 303)
        asked = any((unit_code, status, received_from, received_to))
        start, end = _day(received_from), _day(received_to)
        found = (
            await web.services.get(
                officer,
                "vouchers",
                "/vouchers",
                unit_code=unit_code.strip(),
                status=status if status in STATUSES else "",
                received_from=start.isoformat() if start else None,
                received_before=(end + dt.timedelta(days=1)).isoformat() if end else None,
                page_size=200,
            )
            if asked
            else []
        )
        return web.render(
            request,
            "search.html.j2",
            officer=officer,
            found=found,
            asked=asked,
            statuses=STATUSES,
            query={
                "unit_code": unit_code,
                "status": status,
                "received_from": received_from,
                "received_to": received_to,
            },
        )

    return api
