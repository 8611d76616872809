"""Tables of the control service (schema `control`) and the queries on them.

The budget arithmetic is guarded three times: rows are locked (`FOR UPDATE`, in key order)
while a decision is taken, every commitment is a conditional update, and CHECK constraints
refuse any row whose committed amount would pass its allocation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bulk import any_of
from shared.contract.enums import Status
from shared.directory import directory_table
from shared.directory import office_of_unit as _office_in_directory
from shared.messaging import messaging_tables
from shared.outcomes import outcome_columns

SCHEMA = "control"
metadata = sa.MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata, SCHEMA)
# The unit directory, so that staff are held to the office of the units they look at.
directory = directory_table(metadata, SCHEMA)
LINE_COLUMNS = ("unit_code", "fiscal_year", "chapter", "sector_code", "source_code")


def _line_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("fiscal_year", sa.Integer(), primary_key=True),
        sa.Column("chapter", sa.Text(), primary_key=True),
        sa.Column("sector_code", sa.Text(), primary_key=True),
        sa.Column("source_code", sa.Text(), primary_key=True),
    ]


budget_lines = sa.Table(
    "budget_lines",
    metadata,
    *_line_columns(),
    sa.Column("allocated", sa.BigInteger(), nullable=False),
    sa.Column("committed", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("committed >= 0", name="committed_not_negative"),
    sa.CheckConstraint("committed <= allocated", name="never_beyond_allocation"),
)


def _record_columns(table: str, id_name: str) -> list[sa.Column[Any] | sa.CheckConstraint]:
    """A record from the budget system (an allocation, a capital plan) and its outcome."""
    return [
        sa.Column(id_name, sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        *outcome_columns(table),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    ]


allocations = sa.Table("allocations", metadata, *_record_columns("allocations", "allocation_id"))
vouchers = sa.Table(
    "vouchers",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("treasury_code", sa.Text(), nullable=False),
    sa.Column("total_amount", sa.BigInteger(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("reasons", JSONB(), nullable=False),
    sa.Column("payload", JSONB(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
    sa.Column("review_since", sa.DateTime(timezone=True)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("decided_by", sa.Text()),
    sa.Column("dossier_kind", sa.Text(), nullable=False, server_default="voucher"),
)
sa.Index(
    "vouchers_review_queue",
    vouchers.c.treasury_code,
    vouchers.c.deadline,
    postgresql_where=vouchers.c.status == Status.IN_REVIEW,
)
commitments = sa.Table(
    "commitments",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    *_line_columns(),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.CheckConstraint("amount > 0", name="commitment_positive"),
)
advances = sa.Table(
    "advances",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("amount", sa.BigInteger(), nullable=False),
    sa.Column("settled", sa.BigInteger(), nullable=False),
    sa.CheckConstraint("settled >= 0 AND settled <= amount", name="settled_within_advance"),
)
contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("unit_code", sa.Text(), primary_key=True),
    sa.Column("number", sa.Text(), primary_key=True),
    sa.Column("signed_on", sa.Text(), primary_key=True),
    sa.Column("paid", sa.BigInteger(), nullable=False),
)

# Investment capital: plan lines (project, fiscal year, source), the plans recorded on them,
# and each contract's position, under the same three guards as budget lines.
PLAN_COLUMNS = ("unit_code", "fiscal_year", "source_code")
capital_plan_lines = sa.Table(
    "capital_plan_lines",
    metadata,
    sa.Column("unit_code", sa.Text(), primary_key=True),
    sa.Column("fiscal_year", sa.Integer(), primary_key=True),
    sa.Column("source_code", sa.Text(), primary_key=True),
    sa.Column("allocated", sa.BigInteger(), nullable=False),
    sa.Column("committed", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("committed >= 0", name="plan_committed_not_negative"),
    sa.CheckConstraint("committed <= allocated", name="never_beyond_plan"),
)
capital_plans = sa.Table("capital_plans", metadata, *_record_columns("capital_plans", "plan_id"))
contract_positions = sa.Table(
    "contract_positions",
    metadata,
    sa.Column("unit_code", sa.Text(), primary_key=True),
    sa.Column("contract_number", sa.Text(), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
    sa.Column("advanced", sa.BigInteger(), nullable=False),
    sa.Column("recovered", sa.BigInteger(), nullable=False),
    sa.Column("paid", sa.BigInteger(), nullable=False),
    sa.Column("last_completed_value", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("paid >= 0 AND recovered >= 0", name="position_not_negative"),
    sa.CheckConstraint("recovered <= advanced", name="recovered_within_advanced"),
    sa.CheckConstraint("paid + advanced - recovered <= value", name="never_beyond_contract"),
)


async def lock_vouchers(session: AsyncSession, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(vouchers)
        .where(any_of(vouchers.c.dossier_id, wanted))
        .order_by(vouchers.c.dossier_id)
        .with_for_update()
    )
    return {r["dossier_id"]: dict(r) for r in rows.mappings()}


async def lock_record(
    session: AsyncSession, table: sa.Table, id_field: str, record_id: str
) -> dict[str, Any] | None:
    """An allocation or capital plan record by its id, locked until the transaction ends."""
    stmt = table.select().where(table.c[id_field] == record_id).with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return None if row is None else dict(row)


async def use_sequence(
    session: AsyncSession, table: sa.Table, id_field: str, record_id: str, sequence: int
) -> None:
    """Take `sequence` as the record's highest, its status and that status's sequence kept."""
    await session.execute(
        table.update().where(table.c[id_field] == record_id).values(last_sequence=sequence)
    )


async def update_voucher(session: AsyncSession, dossier_id: str, **values: Any) -> None:
    await session.execute(
        sa.update(vouchers).where(vouchers.c.dossier_id == dossier_id).values(**values)
    )


async def review_queue(
    session: AsyncSession, treasury_code: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(vouchers)
        .where(
            vouchers.c.treasury_code == treasury_code, vouchers.c.status == Status.IN_REVIEW.value
        )
        .order_by(vouchers.c.deadline, vouchers.c.dossier_id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in rows.mappings()]


async def review_counts(
    session: AsyncSession,
    now: dt.datetime,
    warn: dt.timedelta,
    treasury_code: str | None = None,
) -> tuple[int, int, int]:
    """Vouchers in review (of one office, or of all): all of them, those due within `warn`,
    and those overdue."""
    where = [vouchers.c.status == Status.IN_REVIEW.value]
    if treasury_code is not None:
        where.append(vouchers.c.treasury_code == treasury_code)
    row = (
        await session.execute(
            sa.select(
                sa.func.count(),
                sa.func.count().filter(
                    vouchers.c.deadline > now, vouchers.c.deadline <= now + warn
                ),
                sa.func.count().filter(vouchers.c.deadline <= now),
            )
            .select_from(vouchers)
            .where(*where)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def voucher_row(session: AsyncSession, dossier_id: str) -> dict[str, Any] | None:
    row = (
        (await session.execute(sa.select(vouchers).where(vouchers.c.dossier_id == dossier_id)))
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def budget(
    session: AsyncSession, unit_code: str, fiscal_year: int | None
) -> list[dict[str, Any]]:
    stmt = sa.select(budget_lines).where(budget_lines.c.unit_code == unit_code)
    if fiscal_year is not None:
        stmt = stmt.where(budget_lines.c.fiscal_year == fiscal_year)
    rows = await session.execute(stmt.order_by(*(budget_lines.c[n] for n in LINE_COLUMNS)))
    return [dict(r) for r in rows.mappings()]


async def office_of_dossier(session: AsyncSession, dossier_id: str) -> str | None:
    """The office of a voucher in spending control (for staff access)."""
    stmt = sa.select(vouchers.c.treasury_code).where(vouchers.c.dossier_id == dossier_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def office_of_unit(session: AsyncSession, unit_code: str) -> str | None:
    """The office of a unit, from the directory (for staff access)."""
    return await _office_in_directory(session, directory, unit_code)
