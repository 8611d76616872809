"""Emails and webhooks of the office that failed, with a retry (operators and the head)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.workspace.sessions import Officer
from services.workspace.web import Web


def router(web: Web) -> APIRouter:
    api = APIRouter()
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806
    FormDep = Annotated[dict[str, str], Depends(web.form)]  # noqa: N806

    @api.get("/deliveries")
    async def deliveries(request: Request, officer: OfficerDep, done: str = "") -> Response:
        troubled = await web.services.get(officer, "notify", "/notifications/troubled")
        return web.render(
            request, "deliveries.html.j2", officer=officer, troubled=troubled, done=done
        )

    @api.post("/deliveries/{delivery_id}/retry")
    async def retry(delivery_id: int, officer: OfficerDep, form: FormDep) -> Response:
        del form
        await web.services.post(officer, "notify", f"/notifications/{delivery_id}/retry")
        return RedirectResponse(f"/deliveries?done={delivery_id}", 303)

    return api
