"""The office's dossiers in review, earliest deadline first, with the time each has left."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.workspace import present
from services.workspace.sessions import Officer
from services.workspace.web import Web

PAGE_SIZE = 50


def router(web: Web) -> APIRouter:
    api = APIRouter()
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806

    @api.get("/")
    async def home() -> Response:
        return RedirectResponse("/queue", 303)

    @api.get("/queue")
    async def queue(
        request: Request,
        officer: OfficerDep,
        page: Annotated[int, Query(ge=1, le=10_000)] = 1,
        part: str = "",
    ) -> Response:
        items, counts = await asyncio.gather(
            web.services.get(officer, "control", "/reviews", page=page, page_size=PAGE_SIZE),
            web.services.get(
                officer,
                "control",
                "/reviews/counts",
                warning_minutes=web.settings.deadline_warning_minutes,
            ),
        )
        now = web.clock()
        rows = [
            {
                "item": item,
                "voucher": item["voucher"],
                "urgency": present.urgency(item["deadline"], now, web.warn),
            }
            for item in items
        ]
        return web.render(
            request,
            "queue_part.html.j2" if part == "table" else "queue.html.j2",
            officer=officer,
            rows=rows,
            counts=counts,
            page=page,
            more=len(items) == PAGE_SIZE,
            refresh=web.settings.workspace_refresh_seconds,
        )

    return api
