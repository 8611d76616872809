"""Tables of the registration service (schema `registration`) and the queries on them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contract.directory import DirectoryEntry
from shared.messaging import messaging_tables
from shared.outcomes import outcome_columns

SCHEMA = "registration"
metadata = sa.MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata, SCHEMA)

dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("treasury_code", sa.Text(), nullable=False),
    sa.Column("request_type", sa.Text(), nullable=False),
    *outcome_columns("dossiers"),
    sa.Column("deadline", sa.DateTime(timezone=True)),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decided_by", sa.Text()),
)
sa.Index("dossiers_office_status", dossiers.c.treasury_code, dossiers.c.status, dossiers.c.deadline)

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

units = sa.Table(
    "units",
    metadata,
    sa.Column("unit_code", sa.Text(), primary_key=True),
    sa.Column("treasury_code", sa.Text(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("entry", JSONB(), nullable=False),
)


@dataclass(frozen=True)
class Dossier:
    dossier_id: str
    unit_code: str
    treasury_code: str
    request_type: str
    status: str
    sequence: int
    last_sequence: int
    content_hash: str
    payload: dict[str, Any]
    reasons: list[dict[str, Any]]
    deadline: dt.datetime | None
    received_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None


async def get_dossier(
    session: AsyncSession, dossier_id: str, *, lock: bool = False
) -> Dossier | None:
    stmt = sa.select(dossiers).where(dossiers.c.dossier_id == dossier_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return Dossier(**row) if row else None


async def insert_dossier(session: AsyncSession, dossier: Dossier) -> None:
    await session.execute(sa.insert(dossiers).values(**dossier.__dict__))


async def record_status(
    session: AsyncSession,
    *,
    dossier_id: str,
    sequence: int,
    status: str | None,
    reasons: list[dict[str, Any]],
    decided_by: str | None,
    at: dt.datetime,
    logged_status: str | None = None,
) -> None:
    """Append to the history under `sequence`, the dossier's next; `status=None` leaves the
    dossier's current status, and the sequence it was published with, as they are."""
    values: dict[str, Any] = {"last_sequence": sequence}
    if status is not None:
        values.update(status=status, sequence=sequence, reasons=reasons)
        if decided_by is not None:
            values.update(decided_by=decided_by, decided_at=at)
    await session.execute(
        sa.update(dossiers).where(dossiers.c.dossier_id == dossier_id).values(**values)
    )
    await session.execute(
        sa.insert(history).values(
            dossier_id=dossier_id,
            sequence=sequence,
            status=logged_status or status,
            reasons=reasons,
            decided_by=decided_by,
            at=at,
        )
    )


async def dossier_history(session: AsyncSession, dossier_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(history).where(history.c.dossier_id == dossier_id).order_by(history.c.sequence)
    )
    return [dict(r) for r in rows.mappings()]


async def list_dossiers(
    session: AsyncSession, *, treasury_code: str, status: str | None, limit: int, offset: int
) -> list[Dossier]:
    stmt = sa.select(dossiers).where(dossiers.c.treasury_code == treasury_code)
    if status:
        stmt = stmt.where(dossiers.c.status == status)
    stmt = stmt.order_by(dossiers.c.deadline.asc().nulls_last(), dossiers.c.dossier_id)
    rows = await session.execute(stmt.limit(limit).offset(offset))
    return [Dossier(**r) for r in rows.mappings()]


async def get_unit(
    session: AsyncSession, unit_code: str, *, lock: bool = False
) -> DirectoryEntry | None:
    stmt = sa.select(units.c.entry).where(units.c.unit_code == unit_code)
    if lock:
        stmt = stmt.with_for_update()
    entry = (await session.execute(stmt)).scalar_one_or_none()
    return DirectoryEntry.model_validate(entry) if entry is not None else None


async def search_units(
    session: AsyncSession, *, treasury_code: str, text: str, limit: int
) -> list[DirectoryEntry]:
    """An office's units whose code starts with `text` or whose name contains it."""
    stmt = sa.select(units.c.entry).where(units.c.treasury_code == treasury_code)
    if text:
        pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(
            sa.or_(
                units.c.unit_code.like(f"{pattern}%"),
                units.c.entry["name"].astext.ilike(f"%{pattern}%"),
            )
        )
    rows = await session.execute(stmt.order_by(units.c.unit_code).limit(limit))
    return [DirectoryEntry.model_validate(e) for e in rows.scalars()]


async def save_unit(session: AsyncSession, entry: DirectoryEntry) -> None:
    values = {
        "treasury_code": entry.treasury_code,
        "status": entry.status,
        "version": entry.version,
        "entry": entry.model_dump(mode="json"),
    }
    updated = await session.execute(
        sa.update(units).where(units.c.unit_code == entry.unit_code).values(**values)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(sa.insert(units).values(unit_code=entry.unit_code, **values))


async def office_of_dossier(session: AsyncSession, dossier_id: str) -> str | None:
    """The office a registration dossier belongs to (for staff access)."""
    stmt = sa.select(dossiers.c.treasury_code).where(dossiers.c.dossier_id == dossier_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def office_of_unit(session: AsyncSession, unit_code: str) -> str | None:
    """The office of a registered unit (for staff access)."""
    stmt = sa.select(units.c.treasury_code).where(units.c.unit_code == unit_code)
    return (await session.execute(stmt)).scalar_one_or_none()
