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

from services.control.domain import AdvanceState, ContractKey, LineState
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


def _record_columns(table: str, id_name: str) -> list[sa.Column[Any] | sa.CheckConstraint]:
    """A record from the budget system (an allocation, a capital plan) and its outcome."""
    return [
        sa.Column(id_name, sa.Text(), primary_key=True),
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
        sa.CheckConstraint("sequence <= last_sequence", name=f"{table}_status_sequence_used"),
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


class CommitmentRefused(Exception):
    """A conditional update found less room than the decision assumed: nothing is committed."""


async def lock_lines(
    session: AsyncSession,
    keys: Iterable[Any],
    *,
    table: sa.Table = budget_lines,
    columns: Sequence[str] = LINE_COLUMNS,
) -> dict[Any, LineState]:
    """The lines of `table` (budget lines, or capital plan lines) locked in key order."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    key_columns = [table.c[n] for n in columns]
    rows = await session.execute(
        sa.select(table)
        .where(sa.tuple_(*key_columns).in_(wanted))
        .order_by(*key_columns)
        .with_for_update()
    )
    return {
        tuple(getattr(r, n) for n in columns): LineState(r.allocated, r.committed) for r in rows
    }


async def commit_amounts(
    session: AsyncSession,
    deltas: dict[Any, int],
    now: dt.datetime,
    *,
    table: sa.Table = budget_lines,
    columns: Sequence[str] = LINE_COLUMNS,
) -> None:
    """Add each amount to its line's commitments only if the allocation still covers it, in
    one statement: all of them, or nothing."""
    if not deltas:
        return
    incoming = sa.values(
        *(sa.column(n, table.c[n].type) for n in columns),
        sa.column("amount", sa.BigInteger()),
        name="incoming",
    ).data([(*key, amount) for key, amount in sorted(deltas.items())])
    updated = await session.execute(
        sa.update(table)
        .where(
            *(table.c[n] == incoming.c[n] for n in columns),
            table.c.committed + incoming.c.amount <= table.c.allocated,
        )
        .values(committed=table.c.committed + incoming.c.amount, updated_at=now)
        .returning(table.c.unit_code)
    )
    if len(updated.all()) != len(deltas):
        raise CommitmentRefused("a line cannot take what the batch commits to it")


async def change_allocation(
    session: AsyncSession,
    key: tuple[Any, ...],
    delta: int,
    now: dt.datetime,
    *,
    table: sa.Table = budget_lines,
    columns: Sequence[str] = LINE_COLUMNS,
) -> LineState | None:
    """Add `delta` (negative for a reduction) to the allocation, never below what is
    committed; the line's new state, or None if a reduction would go below it."""
    values = dict(zip(columns, key, strict=True))
    if delta >= 0:
        insert = pg_insert(table).values(**values, allocated=delta, committed=0, updated_at=now)
        stmt = insert.on_conflict_do_update(
            index_elements=list(columns),
            set_={"allocated": table.c.allocated + delta, "updated_at": now},
        ).returning(table.c.allocated, table.c.committed)
        row = (await session.execute(stmt)).one()
        return LineState(row.allocated, row.committed)
    row2 = (
        await session.execute(
            sa.update(table)
            .where(
                *(table.c[n] == v for n, v in values.items()),
                table.c.allocated + delta >= table.c.committed,
            )
            .values(allocated=table.c.allocated + delta, updated_at=now)
            .returning(table.c.allocated, table.c.committed)
        )
    ).first()
    return LineState(row2.allocated, row2.committed) if row2 else None


async def line_state(
    session: AsyncSession,
    key: tuple[Any, ...],
    *,
    table: sa.Table = budget_lines,
    columns: Sequence[str] = LINE_COLUMNS,
) -> LineState | None:
    match = (table.c[n] == v for n, v in zip(columns, key, strict=True))
    row = (await session.execute(sa.select(table).where(*match))).first()
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
