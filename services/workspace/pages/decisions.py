"""The three steps every decision takes, for any kind of dossier: the form on the dossier's
page, a check-your-answers page, then the service's decision and the result in place."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.workspace.domain import DecisionForm
from services.workspace.errors import Rejected
from services.workspace.i18n import translator
from services.workspace.sessions import Officer
from services.workspace.web import Web

Detail = Callable[[Officer, str], Awaitable[dict[str, Any]]]
Rows = Callable[[Callable[..., str], dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class DecisionFlow:
    """`prefix` is the pages' path (`/dossiers`), `service`/`endpoint` where decisions go."""

    prefix: str
    template: str
    service: str
    endpoint: str
    choices: tuple[str, ...]
    reasons: dict[str, tuple[str, ...]]
    detail: Detail
    rows: Rows

    def router(self, web: Web) -> APIRouter:
        api = APIRouter()
        OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806
        FormDep = Annotated[dict[str, str], Depends(web.form)]  # noqa: N806
        prefix = self.prefix

        async def page(
            request: Request, officer: Officer, key: str, status: int = 200, **extra: Any
        ) -> Response:
            context = await self.detail(officer, key)
            return web.render(
                request, self.template, status=status, officer=officer, **context, **extra
            )

        def problems(request: Request, chosen: DecisionForm) -> dict[str, str]:
            t = translator(web.lang(request))
            return {k: t(v) for k, v in chosen.errors(self.reasons, self.choices).items()}

        @api.get(prefix + "/{key}")
        async def show(request: Request, key: str, officer: OfficerDep, done: str = "") -> Response:
            return await page(request, officer, key, done=done, chosen=DecisionForm("", "", ""))

        @api.post(prefix + "/{key}/check")
        async def check(request: Request, key: str, officer: OfficerDep, form: FormDep) -> Response:
            chosen = DecisionForm.read(form)
            if errors := problems(request, chosen):
                return await page(request, officer, key, 400, errors=errors, chosen=chosen)
            context = await self.detail(officer, key)
            return web.render(
                request,
                "check.html.j2",
                officer=officer,
                chosen=chosen,
                base=f"{prefix}/{key}",
                rows=self.rows(translator(web.lang(request)), context),
            )

        @api.post(prefix + "/{key}/decision")
        async def decide(
            request: Request, key: str, officer: OfficerDep, form: FormDep
        ) -> Response:
            chosen = DecisionForm.read(form)
            if errors := problems(request, chosen):
                return await page(request, officer, key, 400, errors=errors, chosen=chosen)
            label = translator("vi")(f"reason.{chosen.reason_code}")
            try:
                result = await web.services.post(
                    officer, self.service, self.endpoint.format(key=key), chosen.body(label)
                )
            except Rejected as err:
                errors = {"decision": err.message}
                return await page(request, officer, key, 409, errors=errors, chosen=chosen)
            return RedirectResponse(f"{prefix}/{key}?done={result['status']}", 303)

        return api
