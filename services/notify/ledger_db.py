"""The delivery ledger's statements: writing deliveries, the senders' claim and record, and
what staff read and retry. The tables are in `db`."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import PENDING, SENT, attempts, deliveries
from shared.bulk import any_of, arrays, insert_arrays


@functools.cache
def _insert_deliveries(columns: tuple[str, ...]) -> sa.Insert:
    # One statement per set of columns, compiled once: the rows travel as arrays.
    return (
        insert_arrays(deliveries, columns)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(deliveries.c.channel, deliveries.c.kind)
    )


async def insert_deliveries(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[tuple[str, str]]:
    """Add the deliveries the ledger does not hold yet (by `dedupe_key`); (channel, kind) of
    each new one. Every row has the same keys (`deliveries.email_row`, `webhook_row`)."""
    if not rows:
        return []
    columns = tuple(rows[0])
    stmt = _insert_deliveries(columns)
    return [
        (str(c), str(k))
        for c, k in (await session.execute(stmt, arrays(deliveries, rows, columns))).all()
    ]


# `status = 'pending'` written into the statement, not bound: the services ask for custom
# plans (`shared.db.make_engine`), but where a generic plan is used anyway (a pooler that
# drops the setting), it can only use the queue's partial indexes with the status known (a
# bound status can be anything, and that generic plan scanned and sorted the whole table).
_PENDING: sa.ColumnClause[str] = sa.literal_column(f"'{PENDING}'")


def due_statement(channel: str, now: dt.datetime, limit: int) -> sa.Select[Any]:
    """The oldest `limit` due deliveries of `channel` (`deliveries_due_by_channel`), locked,
    rows another sender holds skipped."""
    return (
        sa.select(deliveries)
        .where(
            deliveries.c.status == _PENDING,
            deliveries.c.channel == channel,
            deliveries.c.next_attempt_at <= now,
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )


def rest_statement(message_id: str, now: dt.datetime, taken: Sequence[int]) -> sa.Select[Any]:
    """The due rows of a notice not among `taken`, locked. Found by its Message-ID alone
    (`deliveries_pending_notice`): a condition on the channel or a range of ids would let
    PostgreSQL scan the backlog instead."""
    return (
        sa.select(deliveries)
        .where(
            deliveries.c.message_id == message_id,
            deliveries.c.status == _PENDING,
            deliveries.c.next_attempt_at <= now,
            deliveries.c.id
            != sa.func.all(sa.bindparam("taken", list(taken), type_=ARRAY(sa.BigInteger()))),
        )
        .order_by(deliveries.c.id)
        .with_for_update(skip_locked=True, key_share=True)
    )


async def lock_due(
    session: AsyncSession, *, channel: str, now: dt.datetime, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` pending deliveries of `channel` due by `now`, the oldest first, locked
    until the transaction ends; rows another sender holds are skipped. The rows of one notice
    (one Message-ID, written together) come together: if the limit cuts a notice, the rest of
    its due rows are taken too."""
    stmt = due_statement(channel, now, limit)
    rows = [dict(r) for r in (await session.execute(stmt)).mappings()]
    if len(rows) == limit and rows[-1]["message_id"] is not None:
        rest = rest_statement(rows[-1]["message_id"], now, [r["id"] for r in rows])
        rows += [dict(r) for r in (await session.execute(rest)).mappings()]
    return rows


async def interrupted(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> dict[int, list[dt.datetime | None]]:
    """The attempts a crash left behind, per delivery: the `taken_at` of each (None: unknown)."""
    stmt = sa.select(attempts.c.delivery_id, attempts.c.taken_at).where(
        any_of(attempts.c.delivery_id, delivery_ids)
    )
    found: dict[int, list[dt.datetime | None]] = {}
    for delivery_id, taken_at in (await session.execute(stmt)).tuples():
        found.setdefault(int(delivery_id), []).append(taken_at)
    return found


_START_ATTEMPTS = (
    f"INSERT INTO {attempts.fullname} (delivery_id, started_at)"
    " SELECT unnest($1::bigint[]), $2::timestamptz RETURNING delivery_id, id"
)
_MARK_TAKEN = (
    f"UPDATE {attempts.fullname} SET taken_at = $2::timestamptz WHERE id = ANY($1::bigint[])"  # noqa: S608
)


async def start_attempts(
    conn: asyncpg.Connection, delivery_ids: Sequence[int], *, at: dt.datetime
) -> dict[int, int]:
    """Outside any transaction (each statement commits as it runs): committed before the
    deliveries leave, one statement for all the recipients of one mail; the attempt id of
    each delivery. On the driver: a mail costs two of these, on the senders' hot path."""
    rows = await conn.fetch(_START_ATTEMPTS, list(delivery_ids), at)
    return {int(r["delivery_id"]): int(r["id"]) for r in rows}


async def mark_taken(
    conn: asyncpg.Connection, attempt_ids: Sequence[int], *, at: dt.datetime
) -> None:
    """Outside any transaction: the server (or portal) has the deliveries."""
    if attempt_ids:
        await conn.execute(_MARK_TAKEN, list(attempt_ids), at)


_ids = sa.func.unnest(sa.bindparam("ids", type_=ARRAY(sa.BigInteger()))).label("id")
_doubt = sa.func.unnest(sa.bindparam("doubt", type_=ARRAY(sa.Integer()))).label("doubt")
_sent_rows = sa.select(_ids, _doubt).subquery("sent_rows")
_record_sent = (
    sa.update(deliveries)
    .where(deliveries.c.id == _sent_rows.c.id)
    .values(
        status=SENT,
        sent_at=sa.bindparam("at"),
        attempts=deliveries.c.attempts + _sent_rows.c.doubt + 1,
        attempts_in_doubt=deliveries.c.attempts_in_doubt + _sent_rows.c.doubt,
    )
)


async def record_sent(
    session: AsyncSession, sent: Iterable[tuple[int, int]], *, at: dt.datetime
) -> None:
    """Deliveries (id, attempts in doubt found or left) the recipients have: one statement."""
    pairs = list(sent)
    if pairs:
        ids, doubt = zip(*pairs, strict=True)
        await session.execute(_record_sent, {"ids": list(ids), "doubt": list(doubt), "at": at})


async def record_failed(session: AsyncSession, delivery_id: int, **values: Any) -> None:
    """A failed attempt's outcome: pending with a later `next_attempt_at`, or dead."""
    await session.execute(
        sa.update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
    )


async def forget_attempts(session: AsyncSession, delivery_ids: Sequence[int]) -> None:
    """The attempts of deliveries whose outcome this transaction records."""
    if delivery_ids:
        await session.execute(
            sa.delete(attempts).where(any_of(attempts.c.delivery_id, delivery_ids))
        )


async def pending_by_channel(session: AsyncSession) -> dict[str, int]:
    """How many deliveries wait to be sent, per channel."""
    rows = await session.execute(
        sa.select(deliveries.c.channel, sa.func.count())
        .where(deliveries.c.status == PENDING)
        .group_by(deliveries.c.channel)
    )
    return {str(c): int(n) for c, n in rows.tuples().all()}


async def deliveries_of(
    session: AsyncSession, dossier_id: str, *, columns: Sequence[sa.Column[Any]]
) -> list[dict[str, Any]]:
    """A dossier's deliveries in the order they were written."""
    stmt = (
        sa.select(*columns).where(deliveries.c.dossier_id == dossier_id).order_by(deliveries.c.id)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def lock_delivery(
    session: AsyncSession, delivery_id: int, *, columns: Sequence[sa.Column[Any]]
) -> dict[str, Any] | None:
    stmt = sa.select(*columns).where(deliveries.c.id == delivery_id).with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return None if row is None else dict(row)


async def send_again(session: AsyncSession, delivery_id: int, *, at: dt.datetime) -> None:
    """Put a delivery back in the queue, due at `at`."""
    await session.execute(
        sa.update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(status=PENDING, next_attempt_at=at)
    )
