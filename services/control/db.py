"""Tables of the control service (schema `control`) and the queries on them.

The budget arithmetic is guarded three times: rows are locked (`FOR UPDATE`, in key order)
while a decision is taken, every commitment is a conditional update, and CHECK constraints
refuse any row whose committed amount would pass its allocation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.control.domain import AdvanceState, ContractKey, LineKey, LineState
from shared.contract.enums import Status
from shared.directory import directory_table
from shared.directory import office_of_unit as _office_in_directory
from shared.messaging import messaging_tables

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
allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("allocation_id", sa.Text(), primary_key=True),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("content_hash", sa.Text(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    # `sequence` is the status's; `last_sequence` the highest used, which each
    # DUPLICATE_MODIFIED refusal advances.
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("last_sequence", sa.Integer(), nullable=False),
    sa.Column("reasons", JSONB(), nullable=False),
    sa.Column("payload", JSONB(), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("sequence <= last_sequence", name="allocations_status_sequence_used"),
)
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


class CommitmentRefused(Exception):
    """A conditional update found less room than the decision assumed: nothing is committed."""


def _line_match(table: sa.Table, key: LineKey) -> sa.ColumnElement[bool]:
    return sa.and_(*(table.c[name] == value for name, value in zip(LINE_COLUMNS, key, strict=True)))


async def lock_lines(session: AsyncSession, keys: Iterable[LineKey]) -> dict[LineKey, LineState]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    columns = [budget_lines.c[n] for n in LINE_COLUMNS]
    rows = await session.execute(
        sa.select(budget_lines)
        .where(sa.tuple_(*columns).in_(wanted))
        .order_by(*columns)
        .with_for_update()
    )
    return {
        (r.unit_code, r.fiscal_year, r.chapter, r.sector_code, r.source_code): LineState(
            r.allocated, r.committed
        )
        for r in rows
    }


async def commit_amount(session: AsyncSession, key: LineKey, amount: int, now: dt.datetime) -> None:
    """Add `amount` to the line's commitments only if the allocation still covers it."""
    updated = await session.execute(
        sa.update(budget_lines)
        .where(
            _line_match(budget_lines, key),
            budget_lines.c.committed + amount <= budget_lines.c.allocated,
        )
        .values(committed=budget_lines.c.committed + amount, updated_at=now)
        .returning(budget_lines.c.committed)
    )
    if updated.first() is None:
        raise CommitmentRefused(f"line {key} cannot take {amount} more")


async def commit_amounts(
    session: AsyncSession, deltas: dict[LineKey, int], now: dt.datetime
) -> None:
    """`commit_amount` for many lines in one statement: all of them, or nothing."""
    if not deltas:
        return
    if len(deltas) == 1:
        [(key, amount)] = deltas.items()
        await commit_amount(session, key, amount, now)
        return
    incoming = sa.values(
        sa.column("unit_code", sa.Text()),
        sa.column("fiscal_year", sa.Integer()),
        sa.column("chapter", sa.Text()),
        sa.column("sector_code", sa.Text()),
        sa.column("source_code", sa.Text()),
        sa.column("amount", sa.BigInteger()),
        name="incoming",
    ).data([(*key, amount) for key, amount in sorted(deltas.items())])
    b = budget_lines
    updated = await session.execute(
        sa.update(b)
        .where(
            *(b.c[n] == incoming.c[n] for n in LINE_COLUMNS),
            b.c.committed + incoming.c.amount <= b.c.allocated,
        )
        .values(committed=b.c.committed + incoming.c.amount, updated_at=now)
        .returning(b.c.unit_code)
    )
    if len(updated.all()) != len(deltas):
        raise CommitmentRefused("a budget line cannot take what the batch commits to it")


async def change_allocation(
    session: AsyncSession, key: LineKey, delta: int, now: dt.datetime
) -> LineState | None:
    """Add `delta` (negative for a reduction) to the allocation, never below what is
    committed; the line's new state, or None if a reduction would go below it."""
    values = dict(zip(LINE_COLUMNS, key, strict=True))
    if delta >= 0:
        insert = pg_insert(budget_lines).values(
            **values, allocated=delta, committed=0, updated_at=now
        )
        stmt = insert.on_conflict_do_update(
            index_elements=list(LINE_COLUMNS),
            set_={"allocated": budget_lines.c.allocated + delta, "updated_at": now},
        ).returning(budget_lines.c.allocated, budget_lines.c.committed)
        row = (await session.execute(stmt)).one()
        return LineState(row.allocated, row.committed)
    row2 = (
        await session.execute(
            sa.update(budget_lines)
            .where(
                _line_match(budget_lines, key),
                budget_lines.c.allocated + delta >= budget_lines.c.committed,
            )
            .values(allocated=budget_lines.c.allocated + delta, updated_at=now)
            .returning(budget_lines.c.allocated, budget_lines.c.committed)
        )
    ).first()
    return LineState(row2.allocated, row2.committed) if row2 else None


async def line_state(session: AsyncSession, key: LineKey) -> LineState | None:
    row = (
        await session.execute(sa.select(budget_lines).where(_line_match(budget_lines, key)))
    ).first()
    return LineState(row.allocated, row.committed) if row else None


async def lock_advances(session: AsyncSession, ids: Iterable[str]) -> dict[str, AdvanceState]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(advances)
        .where(advances.c.dossier_id.in_(wanted))
        .order_by(advances.c.dossier_id)
        .with_for_update()
    )
    return {
        r.dossier_id: AdvanceState(r.dossier_id, r.unit_code, r.amount, r.settled) for r in rows
    }


async def settle(session: AsyncSession, advance_id: str, amount: int) -> None:
    updated = await session.execute(
        sa.update(advances)
        .where(
            advances.c.dossier_id == advance_id, advances.c.settled + amount <= advances.c.amount
        )
        .values(settled=advances.c.settled + amount)
        .returning(advances.c.settled)
    )
    if updated.first() is None:
        raise CommitmentRefused(f"advance {advance_id} cannot settle {amount} more")


async def lock_contracts(
    session: AsyncSession, keys: Iterable[ContractKey]
) -> dict[ContractKey, int]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    columns = (contracts.c.unit_code, contracts.c.number, contracts.c.signed_on)
    rows = await session.execute(
        sa.select(contracts)
        .where(sa.tuple_(*columns).in_(wanted))
        .order_by(*columns)
        .with_for_update()
    )
    return {(r.unit_code, r.number, r.signed_on): r.paid for r in rows}


async def add_contract_payment(session: AsyncSession, key: ContractKey, amount: int) -> None:
    stmt = pg_insert(contracts).values(
        unit_code=key[0], number=key[1], signed_on=key[2], paid=amount
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["unit_code", "number", "signed_on"],
            set_={"paid": contracts.c.paid + amount},
        )
    )


async def lock_vouchers(session: AsyncSession, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(vouchers)
        .where(vouchers.c.dossier_id.in_(wanted))
        .order_by(vouchers.c.dossier_id)
        .with_for_update()
    )
    return {r["dossier_id"]: dict(r) for r in rows.mappings()}


async def insert_rows(
    session: AsyncSession, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    if rows:
        await session.execute(sa.insert(table), list(rows))


async def update_voucher(session: AsyncSession, dossier_id: str, **values: Any) -> None:
    await session.execute(
        sa.update(vouchers).where(vouchers.c.dossier_id == dossier_id).values(**values)
    )


async def review_queue(
    session: AsyncSession, treasury_code: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(vouchers)
        .where(vouchers.c.treasury_code == treasury_code, vouchers.c.status == "in_review")
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
    where = [vouchers.c.status == "in_review"]
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
