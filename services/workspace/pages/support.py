"""The office's support requests, earliest deadline first, and the reply to one of them:
the question, the dossier it names (its status and history), the conversation so far, and
the three resolutions the contract gives (answered, resolved, deferred)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.workspace import present
from services.workspace.domain import SUPPORT_RESOLUTIONS, ReplyForm
from services.workspace.errors import Rejected
from services.workspace.i18n import translator
from services.workspace.sessions import Officer
from services.workspace.web import Web
from shared.contract.enums import Status


async def _dossier(web: Web, officer: Officer, dossier_id: str | None) -> dict[str, Any] | None:
    """The dossier a request names, as its service shows it to this officer (None when it
    is not one of the office's, or not known)."""
    if not dossier_id:
        return None
    if dossier_id.startswith("DK-"):
        found = await web.services.maybe(officer, "registration", f"/registrations/{dossier_id}")
        return {**found, "kind": "registration"} if found else None
    found = await web.services.maybe(officer, "vouchers", f"/vouchers/{dossier_id}")
    return {**found, "kind": "voucher"} if found else None


def router(web: Web) -> APIRouter:
    api = APIRouter()
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806
    FormDep = Annotated[dict[str, str], Depends(web.form)]  # noqa: N806

    @api.get("/support")
    async def inbox(request: Request, officer: OfficerDep) -> Response:
        found = await web.services.get(officer, "support", "/support", status="open", page_size=200)
        now = web.clock()
        rows = [
            {"item": r, "urgency": present.urgency(r["deadline"], now, web.warn)} for r in found
        ]
        return web.render(request, "support_inbox.html.j2", officer=officer, rows=rows)

    async def page(
        request: Request, officer: Officer, request_id: str, status: int = 200, **extra: Any
    ) -> Response:
        found = await web.services.get(officer, "support", f"/support/{request_id}")
        return web.render(
            request,
            "support_request.html.j2",
            status=status,
            officer=officer,
            request_id=request_id,
            asked=found,
            dossier=await _dossier(web, officer, found.get("dossier_id")),
            resolutions=SUPPORT_RESOLUTIONS,
            **{"errors": {}, "chosen": ReplyForm("", Status.ANSWERED.value), "done": "", **extra},
        )

    @api.get("/support/{request_id}")
    async def show(
        request: Request, request_id: str, officer: OfficerDep, done: str = ""
    ) -> Response:
        return await page(request, officer, request_id, done=done)

    @api.post("/support/{request_id}/reply")
    async def reply(
        request: Request, request_id: str, officer: OfficerDep, form: FormDep
    ) -> Response:
        chosen = ReplyForm.read(form)
        t = translator(web.lang(request))
        if errors := {k: t(v) for k, v in chosen.errors().items()}:
            return await page(request, officer, request_id, 400, errors=errors, chosen=chosen)
        try:
            result = await web.services.post(
                officer,
                "support",
                f"/support/{request_id}/reply",
                {"message": chosen.message, "resolution": chosen.resolution},
            )
        except Rejected as err:
            errors = {"message": err.message}
            return await page(request, officer, request_id, 409, errors=errors, chosen=chosen)
        return RedirectResponse(f"/support/{request_id}?done={result['status']}", 303)

    return api
