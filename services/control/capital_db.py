"""Queries on investment capital: capital plan lines and contract positions.

The same three guards as budget lines: rows locked in key order while a decision is taken,
conditional updates, and CHECK constraints (`db.capital_plan_lines`, `db.contract_positions`)
that refuse a plan line paid above its amount or a contract above its value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.control import db, ledger_db
from services.control.investment import (
    InvestmentLedger,
    Position,
    PositionKey,
    plan_key,
    position_key,
)
from shared.contract import InvestmentSubmitted

positions = db.contract_positions
POSITION_COLUMNS = ("unit_code", "contract_number")


async def lock_ledger(
    session: AsyncSession, requests: Sequence[InvestmentSubmitted], now: dt.datetime
) -> InvestmentLedger:
    """The positions and plan lines these requests touch, locked in key order until the
    transaction ends. A contract seen for the first time gets its (empty) position first, so
    that two workers deciding on it wait for each other instead of both assuming it empty."""
    values: dict[PositionKey, int] = {}
    for r in requests:
        key = position_key(r)
        if key is not None and r.contract is not None:
            values[key] = max(values.get(key, 0), r.contract.value)
    if values:
        await session.execute(
            pg_insert(positions)
            .values(
                [
                    {
                        "unit_code": unit,
                        "contract_number": number,
                        "value": value,
                        "advanced": 0,
                        "recovered": 0,
                        "paid": 0,
                        "last_completed_value": 0,
                        "updated_at": now,
                    }
                    for (unit, number), value in sorted(values.items())
                ]
            )
            .on_conflict_do_nothing(index_elements=list(POSITION_COLUMNS))
        )
    return InvestmentLedger(
        positions=await _lock_positions(session, list(values)),
        lines=await ledger_db.lock_lines(
            session,
            [plan_key(r) for r in requests],
            table=db.capital_plan_lines,
            columns=db.PLAN_COLUMNS,
        ),
    )


async def _lock_positions(
    session: AsyncSession, keys: Sequence[PositionKey]
) -> dict[PositionKey, Position]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    columns = [positions.c[n] for n in POSITION_COLUMNS]
    rows = await session.execute(
        sa.select(positions)
        .where(sa.tuple_(*columns).in_(wanted))
        .order_by(*columns)
        .with_for_update()
    )
    return {(r.unit_code, r.contract_number): _position(r) for r in rows}


def _position(r: Any) -> Position:
    return Position(r.value, r.advanced, r.recovered, r.paid, r.last_completed_value)


async def write_ledger(session: AsyncSession, ledger: InvestmentLedger, now: dt.datetime) -> None:
    """Conditional updates: a decision that no longer fits rolls the whole batch back."""
    await ledger_db.commit_amounts(
        session,
        {k: v for k, v in ledger.plan_deltas.items() if v},
        now,
        table=db.capital_plan_lines,
        columns=db.PLAN_COLUMNS,
    )
    p = positions.c
    for (unit, number), d in sorted(ledger.deltas.items()):
        advanced, recovered = p.advanced + d.advanced, p.recovered + d.recovered
        paid = p.paid + d.paid
        updated = await session.execute(
            sa.update(positions)
            .where(
                p.unit_code == unit,
                p.contract_number == number,
                recovered <= advanced,
                paid + advanced - recovered <= d.value,
            )
            .values(
                value=d.value,
                advanced=advanced,
                recovered=recovered,
                paid=paid,
                last_completed_value=d.last_completed_value if d.paid else p.last_completed_value,
                updated_at=now,
            )
            .returning(p.unit_code)
        )
        if updated.first() is None:
            raise ledger_db.CommitmentRefused(f"contract {number} of {unit} cannot take this")


async def position(session: AsyncSession, unit_code: str, number: str) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                sa.select(positions).where(
                    positions.c.unit_code == unit_code, positions.c.contract_number == number
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def plan_lines(
    session: AsyncSession, unit_code: str, fiscal_year: int | None
) -> list[dict[str, Any]]:
    t = db.capital_plan_lines
    stmt = sa.select(t).where(t.c.unit_code == unit_code)
    if fiscal_year is not None:
        stmt = stmt.where(t.c.fiscal_year == fiscal_year)
    rows = await session.execute(stmt.order_by(t.c.fiscal_year, t.c.source_code))
    return [dict(r) for r in rows.mappings()]
