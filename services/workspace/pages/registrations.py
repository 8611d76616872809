"""Registrations waiting for the office's approval: the unit, its accounts, its signers and
their certificates; approve, or refuse with a reason, after a check-your-answers step."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.workspace import present
from services.workspace.domain import REGISTRATION_REFUSALS
from services.workspace.pages.decisions import DecisionFlow
from services.workspace.sessions import Officer
from services.workspace.web import Web
from shared.contract.enums import Status


def rows(t: Callable[..., str], context: dict[str, Any]) -> list[tuple[str, str]]:
    unit = context["submitted"].get("unit", {})
    return [
        (t("check.dossier"), context["dossier_id"]),
        (t("col.unit"), f"{unit.get('code', '')} · {unit.get('name', '')}"),
    ]


def router(web: Web) -> APIRouter:
    OfficerDep = Annotated[Officer, Depends(web.officer)]  # noqa: N806

    async def detail(officer: Officer, dossier_id: str) -> dict[str, Any]:
        found = await web.services.get(officer, "registration", f"/registrations/{dossier_id}")
        submitted = found.get("registration") or {}
        signers = [
            {**s, "certificate": present.certificate(s.get("certificate_pem", ""))}
            for s in submitted.get("signers", [])
        ]
        return {
            "dossier_id": dossier_id,
            "dossier": found,
            "submitted": submitted,
            "signers": signers,
            "reasons": REGISTRATION_REFUSALS,
        }

    api = DecisionFlow(
        prefix="/registrations",
        template="registration.html.j2",
        service="registration",
        endpoint="/registrations/{key}/decision",
        choices=("approve", "refuse"),
        reasons=REGISTRATION_REFUSALS,
        detail=detail,
        rows=rows,
    ).router(web)

    @api.get("/registrations")
    async def registrations(request: Request, officer: OfficerDep) -> Response:
        waiting = await web.services.get(
            officer, "registration", "/registrations", status=Status.IN_REVIEW.value, page_size=200
        )
        return web.render(request, "registrations.html.j2", officer=officer, waiting=waiting)

    return api
