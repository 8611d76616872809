"""The office's units: search by code or name, a unit's page with its budget of the year,
and suspending or reinstating it (the head of the office only, as the service rules)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.workspace.errors import Refused
from services.workspace.present import LOCAL
from services.workspace.sessions import Officer
from services.workspace.web import Web

ACTIONS = {"suspend": "suspended", "reinstate": "active"}


def router(web: Web) -> APIRouter:
    api = APIRouter()
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806
    FormDep = Annotated[dict[str, str], Depends(web.form)]  # noqa: N806

    @api.get("/units")
    async def units(request: Request, officer: OfficerDep, q: str = "") -> Response:
        found = await web.services.get(officer, "registration", "/units", q=q.strip()) if q else []
        return web.render(request, "units.html.j2", officer=officer, q=q, found=found)

    @api.get("/units/{unit_code}")
    async def unit(
        request: Request, unit_code: str, officer: OfficerDep, done: str = "", confirm: str = ""
    ) -> Response:
        entry = await web.services.get(officer, "registration", f"/units/{unit_code}")
        year = web.clock().astimezone(LOCAL).year
        budget = await web.services.maybe(
            officer, "control", f"/budgets/{unit_code}", fiscal_year=year
        )
        return web.render(
            request,
            "unit.html.j2",
            officer=officer,
            unit=entry,
            budget=budget or [],
            year=year,
            done=done,
            confirm=confirm if confirm in ACTIONS else "",
        )

    @api.post("/units/{unit_code}/{action}")
    async def change(unit_code: str, action: str, officer: OfficerDep, form: FormDep) -> Response:
        del form
        if action not in ACTIONS:
            raise Refused(f"no action {action}")
        entry = await web.services.post(officer, "registration", f"/units/{unit_code}/{action}")
        return RedirectResponse(f"/units/{unit_code}?done={entry['status']}", 303)

    return api
