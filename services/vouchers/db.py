"""Tables of the vouchers service (schema `vouchers`) and the queries on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bulk import any_of, insert_rows, update_rows
from shared.contract.enums import TERMINAL_STATUSES, Status
from shared.directory import directory_table
from shared.directory import office_of_unit as office_in_directory
from shared.messaging import messaging_tables
from shared.outcomes import outcome_columns

SCHEMA = "vouchers"
metadata = sa.MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata, SCHEMA)
directory = directory_table(metadata, SCHEMA)

dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("treasury_code", sa.Text(), nullable=False),
    *outcome_columns("dossiers"),
    sa.Column("deadline", sa.DateTime(timezone=True)),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decided_by", sa.Text()),
    sa.Column("dossier_kind", sa.Text(), nullable=False, server_default="voucher"),
)
sa.Index("dossiers_unit", dossiers.c.unit_code, dossiers.c.received_at)
sa.Index("dossiers_status", dossiers.c.status, dossiers.c.deadline)
sa.Index("dossiers_office_received", dossiers.c.treasury_code, dossiers.c.received_at)

history = sa.Table(
    "dossier_history",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("sequence", sa.Integer(), primary_key=True),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("reasons", JSONB(), nullable=False),
    sa.Column("decided_by", sa.Text()),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("dossier_history_at", history.c.at)


@dataclass(frozen=True)
class Dossier:
    dossier_id: str
    unit_code: str
    treasury_code: str
    status: str
    sequence: int
    last_sequence: int
    content_hash: str
    payload: dict[str, Any]
    reasons: list[dict[str, Any]]
    deadline: dt.datetime | None
    submitted_at: dt.datetime
    received_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    dossier_kind: str = "voucher"
    """`voucher`, or `investment` for an `investment.submitted` request."""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def advanced(self, **changes: Any) -> Dossier:
        return replace(self, **changes)


async def lock_dossiers(session: AsyncSession, ids: Sequence[str]) -> dict[str, Dossier]:
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(dossiers).where(any_of(dossiers.c.dossier_id, sorted(set(ids)))).with_for_update()
    )
    return {r["dossier_id"]: Dossier(**r) for r in rows.mappings()}


async def insert_dossiers(session: AsyncSession, rows: Sequence[Dossier]) -> None:
    await insert_rows(session, dossiers, [d.__dict__ for d in rows])


async def update_dossiers(session: AsyncSession, rows: Sequence[Dossier]) -> None:
    """One statement for the whole batch (each dossier at most once)."""
    await update_rows(
        session,
        dossiers,
        "dossier_id",
        [
            {
                "dossier_id": d.dossier_id,
                "status": d.status,
                "sequence": d.sequence,
                "last_sequence": d.last_sequence,
                "reasons": d.reasons,
                "decided_at": d.decided_at,
                "decided_by": d.decided_by,
            }
            for d in rows
        ],
    )


async def append_history(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await insert_rows(session, history, rows)


async def get_dossier(session: AsyncSession, dossier_id: str) -> Dossier | None:
    row = (
        (await session.execute(sa.select(dossiers).where(dossiers.c.dossier_id == dossier_id)))
        .mappings()
        .first()
    )
    return Dossier(**row) if row else None


async def dossier_history(session: AsyncSession, dossier_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(history).where(history.c.dossier_id == dossier_id).order_by(history.c.sequence)
    )
    return [dict(r) for r in rows.mappings()]


async def list_dossiers(
    session: AsyncSession,
    *,
    unit_code: str | None,
    treasury_code: str | None,
    status: str | None,
    limit: int,
    offset: int,
    received_from: dt.datetime | None = None,
    received_before: dt.datetime | None = None,
) -> list[Dossier]:
    stmt = sa.select(dossiers)
    if received_from is not None:
        stmt = stmt.where(dossiers.c.received_at >= received_from)
    if received_before is not None:
        stmt = stmt.where(dossiers.c.received_at < received_before)
    if unit_code:
        stmt = stmt.where(dossiers.c.unit_code == unit_code)
    if treasury_code:
        stmt = stmt.where(dossiers.c.treasury_code == treasury_code)
    if status:
        stmt = stmt.where(dossiers.c.status == status)
    stmt = stmt.order_by(dossiers.c.received_at.desc(), dossiers.c.dossier_id)
    rows = await session.execute(stmt.limit(limit).offset(offset))
    return [Dossier(**r) for r in rows.mappings()]


async def office_day(
    session: AsyncSession, treasury_code: str, start: dt.datetime, end: dt.datetime
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """An office's day: dossiers received, and status changes by status, in all and per hour
    (hours counted from `start`)."""
    received = sa.select(
        dossiers.c.received_at.label("t"), sa.literal(Status.RECEIVED.value).label("status")
    ).where(
        dossiers.c.treasury_code == treasury_code,
        dossiers.c.received_at >= start,
        dossiers.c.received_at < end,
    )
    changed = (
        sa.select(history.c.at.label("t"), history.c.status.label("status"))
        .select_from(history.join(dossiers, dossiers.c.dossier_id == history.c.dossier_id))
        .where(
            dossiers.c.treasury_code == treasury_code,
            history.c.at >= start,
            history.c.at < end,
            history.c.status != Status.RECEIVED.value,
        )
    )
    events = sa.union_all(received, changed).subquery("events")
    hour = sa.func.floor(sa.extract("epoch", events.c.t - start) / 3600)
    rows = await session.execute(
        sa.select(events.c.status, hour, sa.func.count())
        .select_from(events)
        .group_by(events.c.status, hour)
    )
    totals: dict[str, int] = {}
    hours: list[dict[str, Any]] = []
    for status, at_hour, count in rows.tuples():
        totals[status] = totals.get(status, 0) + int(count)
        hours.append({"hour": int(at_hour), "status": status, "count": int(count)})
    return totals, sorted(hours, key=lambda h: (h["hour"], h["status"]))


async def office_of_dossier(session: AsyncSession, dossier_id: str) -> str | None:
    """The office of a voucher dossier (for staff access)."""
    stmt = sa.select(dossiers.c.treasury_code).where(dossiers.c.dossier_id == dossier_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def office_of_unit(session: AsyncSession, unit_code: str) -> str | None:
    """The office of a unit: the directory's, else that of the unit's latest voucher."""
    office = await office_in_directory(session, directory, unit_code)
    if office is not None:
        return office
    stmt = (
        sa.select(dossiers.c.treasury_code)
        .where(dossiers.c.unit_code == unit_code)
        .order_by(dossiers.c.received_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
