"""A voucher dossier laid out as the paper form, and the officer's decision on it."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from services.workspace import present
from services.workspace.domain import VOUCHER_REASONS
from services.workspace.errors import Missing
from services.workspace.pages.decisions import DecisionFlow
from services.workspace.sessions import Officer
from services.workspace.web import Web
from shared.contract.enums import Status

DECIDERS = ("controller", "head")


async def gather(web: Web, officer: Officer, dossier_id: str) -> dict[str, Any]:
    """Everything the page shows, from the services that hold each part."""
    review = await web.services.maybe(officer, "control", f"/reviews/{dossier_id}")
    status = await web.services.maybe(officer, "vouchers", f"/vouchers/{dossier_id}")
    if review is None and status is None:
        raise Missing(f"no dossier {dossier_id}")
    head = review or status or {}
    voucher = (review or {}).get("voucher") or (status or {}).get("voucher") or {}
    unit = await web.services.maybe(officer, "registration", f"/units/{head['unit_code']}")
    deliveries = await web.services.maybe(
        officer, "notify", "/notifications", dossier_id=dossier_id
    )
    signers = {s["certificate_serial"]: s for s in (unit or {}).get("signers", [])}
    signatures = [
        {**sig, "signer": signers.get(sig["certificate_serial"])}
        for sig in voucher.get("signatures", [])
    ]
    in_review = (review or {}).get("status") == Status.IN_REVIEW
    return {
        "dossier_id": dossier_id,
        "head": head,
        "state": status or review,
        "review": review,
        "voucher": voucher,
        "unit": unit,
        "signatures": signatures,
        "history": (status or {}).get("history", []),
        "deliveries": deliveries or [],
        "reasons": VOUCHER_REASONS,
        "may_decide": in_review and officer.may(*DECIDERS),
    }


def rows(t: Callable[..., str], context: dict[str, Any]) -> list[tuple[str, str]]:
    head, unit = context["head"], context["unit"] or {}
    return [
        (t("check.dossier"), context["dossier_id"]),
        (t("col.unit"), f"{head['unit_code']} · {unit.get('name', '')}"),
        (t("col.amount"), present.amount(head.get("total_amount"))),
        (t("col.deadline"), present.when(head.get("deadline"))),
    ]


def router(web: Web) -> APIRouter:
    async def detail(officer: Officer, dossier_id: str) -> dict[str, Any]:
        return await gather(web, officer, dossier_id)

    return DecisionFlow(
        prefix="/dossiers",
        template="dossier.html.j2",
        service="control",
        endpoint="/reviews/{key}/decision",
        choices=("approve", "refuse", "return"),
        reasons=VOUCHER_REASONS,
        detail=detail,
        rows=rows,
    ).router(web)
