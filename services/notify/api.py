"""HTTP routes of the notify service: the delivery log, and a retry for staff.

No `from __future__ import annotations` here: FastAPI must see the dependency aliases built
inside `router()` as objects, not as strings it cannot resolve.
"""

import datetime as dt
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from services.notify import db, ledger_db
from shared.auth import Caller, Staff
from shared.errors import Conflict, NotFound
from shared.service import Runtime
from shared.unit_of_work import UnitOfWork


class DeliveryView(BaseModel):
    id: int
    channel: str
    kind: str
    dossier_id: str
    recipient: str
    subject: str | None
    message_id: str | None
    status: str
    attempts: int
    # Attempts a crash left unknown: each may have given the recipient a copy, sent again
    # under the same Message-ID.
    attempts_in_doubt: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    # voucher, registration or allocation: in the list of troubled deliveries only.
    dossier_kind: str | None = None


def router(
    runtime: Runtime, wake: Callable[[], None], clock: Callable[[], dt.datetime]
) -> APIRouter:
    api = APIRouter()
    # Type aliases, named as FastAPI's documentation names them.
    doors = runtime.doors(dossier_id=db.office_of_dossier, delivery_id=db.office_of_delivery)
    StaffDep = Annotated[Staff, Depends(doors.staff())]  # noqa: N806
    CallerDep = Annotated[Caller, Depends(doors.caller())]  # noqa: N806
    OpsDep = Annotated[Staff, Depends(doors.staff("ops", "head"))]  # noqa: N806
    # A delivery put back in the ledger wakes the senders once it is committed.
    requeue = UnitOfWork(runtime.sessionmaker, runtime.tables, wake)
    columns = [db.deliveries.c[n] for n in DeliveryView.model_fields if n in db.deliveries.c]

    @api.get(
        "/notifications",
        response_model=list[DeliveryView],
        tags=["staff", "portals"],
        summary="The delivery log of a dossier: every email and webhook, with its state",
    )
    async def notifications(dossier_id: str, caller: CallerDep) -> list[DeliveryView]:
        del caller
        async with runtime.sessionmaker() as session:
            rows = await ledger_db.deliveries_of(session, dossier_id, columns=columns)
        return [DeliveryView(**r) for r in rows]

    @api.get(
        "/notifications/troubled",
        response_model=list[DeliveryView],
        tags=["staff"],
        summary="The office's emails and webhooks that failed and are not sent (dead or retrying)",
    )
    async def troubled(
        staff: OpsDep,
        treasury_code: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[DeliveryView]:
        office = staff.office(treasury_code)
        async with runtime.sessionmaker() as session:
            rows = await db.troubled(session, treasury_code=office, columns=columns, limit=limit)
        return [DeliveryView(**r) for r in rows]

    @api.post(
        "/notifications/{delivery_id}/retry",
        response_model=DeliveryView,
        tags=["staff"],
        summary="Send a failed or dead delivery again, now",
    )
    async def retry(
        delivery_id: Annotated[int, Path(ge=1, le=db.BIGINT_MAX)], staff: StaffDep
    ) -> DeliveryView:
        async with requeue() as tx:
            row = await ledger_db.lock_delivery(tx.session, delivery_id, columns=columns)
            if row is None:
                raise NotFound(f"no delivery {delivery_id}")
            if row["status"] == db.SENT:
                raise Conflict(f"delivery {delivery_id} was sent; it is not sent twice")
            now = clock()
            await ledger_db.send_again(tx.session, delivery_id, at=now)
        return DeliveryView(**{**row, "status": db.PENDING, "next_attempt_at": now})

    return api
