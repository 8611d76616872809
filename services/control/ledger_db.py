"""Queries on the budget ledger: budget lines (and, with another table, capital plan lines),
advances and contract payments.

Rows are locked in key order while a decision is taken; every change is a conditional update
that refuses (`CommitmentRefused`, rolling the batch back) what no longer fits, and the CHECK
constraints of `db` refuse it again if a bug let it through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.control import db, domain
from services.control.domain import AdvanceState, ContractKey, LineState
from services.control.ledger import Ledger
from shared.bulk import any_of, insert_rows
from shared.contract import VoucherSubmitted


class CommitmentRefused(Exception):
    """A conditional update found less room than the decision assumed: nothing is committed."""


async def lock_lines(
    session: AsyncSession,
    keys: Iterable[Any],
    *,
    table: sa.Table = db.budget_lines,
    columns: Sequence[str] = db.LINE_COLUMNS,
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
    table: sa.Table = db.budget_lines,
    columns: Sequence[str] = db.LINE_COLUMNS,
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
    table: sa.Table = db.budget_lines,
    columns: Sequence[str] = db.LINE_COLUMNS,
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
    table: sa.Table = db.budget_lines,
    columns: Sequence[str] = db.LINE_COLUMNS,
) -> LineState | None:
    match = (table.c[n] == v for n, v in zip(columns, key, strict=True))
    row = (await session.execute(sa.select(table).where(*match))).first()
    return LineState(row.allocated, row.committed) if row else None


async def lock_advances(session: AsyncSession, ids: Iterable[str]) -> dict[str, AdvanceState]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(db.advances)
        .where(any_of(db.advances.c.dossier_id, wanted))
        .order_by(db.advances.c.dossier_id)
        .with_for_update()
    )
    return {
        r.dossier_id: AdvanceState(r.dossier_id, r.unit_code, r.amount, r.settled) for r in rows
    }


async def settle(session: AsyncSession, advance_id: str, amount: int) -> None:
    updated = await session.execute(
        sa.update(db.advances)
        .where(
            db.advances.c.dossier_id == advance_id,
            db.advances.c.settled + amount <= db.advances.c.amount,
        )
        .values(settled=db.advances.c.settled + amount)
        .returning(db.advances.c.settled)
    )
    if updated.first() is None:
        raise CommitmentRefused(f"advance {advance_id} cannot settle {amount} more")


async def lock_contracts(
    session: AsyncSession, keys: Iterable[ContractKey]
) -> dict[ContractKey, int]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    columns = (db.contracts.c.unit_code, db.contracts.c.number, db.contracts.c.signed_on)
    rows = await session.execute(
        sa.select(db.contracts)
        .where(sa.tuple_(*columns).in_(wanted))
        .order_by(*columns)
        .with_for_update()
    )
    return {(r.unit_code, r.number, r.signed_on): r.paid for r in rows}


async def add_contract_payment(session: AsyncSession, key: ContractKey, amount: int) -> None:
    stmt = pg_insert(db.contracts).values(
        unit_code=key[0], number=key[1], signed_on=key[2], paid=amount
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["unit_code", "number", "signed_on"],
            set_={"paid": db.contracts.c.paid + amount},
        )
    )


async def lock_ledger(session: AsyncSession, vouchers: Sequence[VoucherSubmitted]) -> Ledger:
    """The rows these vouchers touch, locked in key order until the transaction ends."""
    keys = [k for v in vouchers if not domain.settles(v) for k in domain.line_amounts(v)]
    contract_keys = [k for v in vouchers if (k := domain.contract_key(v)) is not None]
    advance_ids = [
        v.advance_dossier_id for v in vouchers if domain.settles(v) and v.advance_dossier_id
    ]
    return Ledger(
        lines=await lock_lines(session, keys),
        advances=await lock_advances(session, advance_ids),
        contracts=await lock_contracts(session, contract_keys),
    )


async def write_ledger(session: AsyncSession, ledger: Ledger, now: dt.datetime) -> None:
    """Conditional updates: a decision that no longer fits rolls the whole batch back."""
    await insert_rows(
        session,
        db.advances,
        [
            {"dossier_id": a.dossier_id, "unit_code": a.unit_code, "amount": a.amount, "settled": 0}
            for a in ledger.new_advances
        ],
    )
    await commit_amounts(session, dict(ledger.line_deltas), now)
    for advance_id, amount in sorted(ledger.settled.items()):
        await settle(session, advance_id, amount)
    for contract, amount in sorted(ledger.paid.items()):
        await add_contract_payment(session, contract, amount)
    await insert_rows(
        session,
        db.commitments,
        [
            {
                **dict(zip(db.LINE_COLUMNS, key, strict=True)),
                "dossier_id": dossier,
                "amount": amount,
            }
            for dossier, key, amount in ledger.commitments
        ],
    )
