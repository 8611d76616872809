"""The unit directory: what the registration service publishes about each registered unit.

Entries travel on a compacted topic (`TOPIC_UNITS`), keyed by unit code, wrapped in the usual
envelope (`event_type` `unit.directory`). Consumers keep the latest version of each entry in a
table of their own schema, so validating a voucher never needs a call to another service.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bulk import any_of
from shared.consumer import Handler, Incoming
from shared.contract import Envelope
from shared.contract.directory import DirectoryEntry
from shared.messaging import Outgoing


def directory_table(metadata: sa.MetaData, schema: str) -> sa.Table:
    """A consumer's local copy of the directory, one row per unit, latest version wins."""
    return sa.Table(
        "unit_directory",
        metadata,
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entry", JSONB(), nullable=False),
        schema=schema,
    )


def create_directory_table(schema: str) -> None:
    """For a consuming service's migration (frozen at the revision that calls it)."""
    from alembic import op

    op.create_table(
        "unit_directory",
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entry", JSONB(), nullable=False),
        schema=schema,
    )


async def store_entry(session: AsyncSession, table: sa.Table, entry: DirectoryEntry) -> None:
    """Keep `entry` unless a newer version of the unit is already held."""
    doc: dict[str, Any] = entry.model_dump(mode="json")
    stmt = pg_insert(table).values(unit_code=entry.unit_code, version=entry.version, entry=doc)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.unit_code],
        set_={"version": stmt.excluded.version, "entry": stmt.excluded.entry},
        where=table.c.version < stmt.excluded.version,
    )
    await session.execute(stmt)


async def load_entries(
    session: AsyncSession, table: sa.Table, unit_codes: set[str]
) -> dict[str, DirectoryEntry]:
    if not unit_codes:
        return {}
    rows = await session.execute(
        sa.select(table.c.entry).where(any_of(table.c.unit_code, sorted(unit_codes)))
    )
    entries = (DirectoryEntry.model_validate(row.entry) for row in rows)
    return {e.unit_code: e for e in entries}


async def office_of_unit(session: AsyncSession, table: sa.Table, unit_code: str) -> str | None:
    """The office of a unit in a consumer's copy of the directory, if it holds the unit."""
    stmt = sa.select(table.c.entry["treasury_code"].astext).where(table.c.unit_code == unit_code)
    return (await session.execute(stmt)).scalar_one_or_none()


def directory_handler(table: sa.Table) -> Handler:
    """The consumer of the directory topic for a service keeping its copy in `table`."""

    async def handle_directory(
        session: AsyncSession, envelope: Envelope, message: Incoming
    ) -> list[Outgoing]:
        del message
        await store_entry(session, table, DirectoryEntry.model_validate(envelope.payload))
        return []

    return handle_directory
