"""Tables of the notify service (schema `notify`): the delivery ledger and what it watches."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bulk import any_of, arrays, insert_arrays
from shared.contract.enums import Status
from shared.directory import directory_table
from shared.messaging import messaging_tables

SCHEMA = "notify"
BIGINT_MAX = 2**63 - 1
metadata = sa.MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata, SCHEMA)
directory = directory_table(metadata, SCHEMA)

# A delivery is pending until the recipient has it (sent), or until a webhook has used its
# last attempt (dead).
PENDING, SENT, DEAD = "pending", "sent", "dead"

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
    sa.Column("dedupe_key", sa.Text(), nullable=False, unique=True),
    sa.Column("channel", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("dossier_id", sa.Text(), nullable=False),
    sa.Column("recipient", sa.Text(), nullable=False),
    sa.Column("subject", sa.Text()),
    sa.Column("body_text", sa.Text()),
    sa.Column("body_html", sa.Text()),
    sa.Column("body", sa.LargeBinary()),
    sa.Column("message_id", sa.Text()),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    # Attempts a crash (or a connection lost mid-message) left unknown: each may have given
    # the recipient a copy, and the delivery was sent again under the same Message-ID.
    sa.Column("attempts_in_doubt", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(
        "attempts_in_doubt >= 0 AND attempts_in_doubt <= attempts", name="in_doubt_within_attempts"
    ),
)
# The senders' queue: each takes the oldest due rows of its channel, and the scan stops there.
sa.Index(
    "deliveries_due_by_channel",
    deliveries.c.channel,
    deliveries.c.next_attempt_at,
    deliveries.c.id,
    postgresql_where=sa.text("status = 'pending'"),
)
# The rest of a notice whose rows a sender's limit cut.
sa.Index(
    "deliveries_pending_notice",
    deliveries.c.message_id,
    postgresql_where=sa.text("status = 'pending'"),
)
sa.Index("deliveries_dossier", deliveries.c.dossier_id)

# An attempt's row is committed just before the delivery leaves, its `taken_at` as soon as the
# server (or portal) has it, and the row is deleted in the transaction that records the
# outcome. One still there was interrupted by a crash: taken, the delivery arrived; not taken,
# its fate is unknown.
attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
    sa.Column("delivery_id", sa.BigInteger(), sa.ForeignKey("deliveries.id"), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("taken_at", sa.DateTime(timezone=True)),
)
sa.Index("delivery_attempts_delivery", attempts.c.delivery_id)

dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("dossier_kind", sa.Text(), nullable=False),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("treasury_code", sa.Text()),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True)),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("warned", sa.Boolean(), nullable=False),
    sa.Column("overdue_alerted", sa.Boolean(), nullable=False),
    sa.Column("reasons", JSONB(), nullable=False),
)
sa.Index(
    "dossiers_watch", dossiers.c.deadline, postgresql_where=dossiers.c.status == Status.IN_REVIEW
)
# Support requests not answered yet, whose deadline the scan watches beside reviews'.
sa.Index(
    "dossiers_support_watch",
    dossiers.c.deadline,
    postgresql_where=sa.text("dossier_kind = 'support' AND status = 'received'"),
)

# A status whose unit the directory does not hold yet (the status topic and the directory
# topic are read apart): its notices are written when the unit's entry arrives.
awaiting = sa.Table(
    "awaiting_unit",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("status", sa.Text(), primary_key=True),
    sa.Column("sequence", sa.Integer(), primary_key=True),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("payload", JSONB(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("awaiting_unit_unit", awaiting.c.unit_code)


async def keep_awaiting(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Keep statuses until their unit is known; a redelivered one is kept once."""
    if rows:
        stmt = pg_insert(awaiting).values(rows).on_conflict_do_nothing()
        await session.execute(stmt)


async def take_awaiting(
    session: AsyncSession, unit_code: str
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The statuses kept for `unit_code`, each with its dossier as notify holds it, removed
    from the waiting list (in the caller's transaction)."""
    taken = (
        await session.execute(
            sa.delete(awaiting)
            .where(awaiting.c.unit_code == unit_code)
            .returning(awaiting.c.dossier_id, awaiting.c.payload)
        )
    ).all()
    if not taken:
        return []
    ids = sorted({dossier_id for dossier_id, _ in taken})
    rows = await session.execute(sa.select(dossiers).where(any_of(dossiers.c.dossier_id, ids)))
    known = {r["dossier_id"]: dict(r) for r in rows.mappings()}
    return [(payload, known[d]) for d, payload in taken if d in known]


async def awaiting_count(session: AsyncSession) -> int:
    return int(
        (await session.execute(sa.select(sa.func.count()).select_from(awaiting))).scalar_one()
    )


def _office() -> sa.ColumnElement[str]:
    return sa.func.coalesce(dossiers.c.treasury_code, directory.c.entry["treasury_code"].astext)


def _with_directory() -> sa.FromClause:
    return dossiers.outerjoin(directory, directory.c.unit_code == dossiers.c.unit_code)


async def office_of_dossier(session: AsyncSession, dossier_id: str) -> str | None:
    """The office of a dossier notify has seen: its own, else its unit's (for staff access)."""
    stmt = (
        sa.select(_office())
        .select_from(_with_directory())
        .where(dossiers.c.dossier_id == dossier_id)
    )
    office: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return office


async def office_of_delivery(session: AsyncSession, delivery_id: str) -> str | None:
    """The office of the dossier a delivery belongs to (for staff access)."""
    if not delivery_id.isdigit() or int(delivery_id) > BIGINT_MAX:
        return None
    stmt = sa.select(deliveries.c.dossier_id).where(deliveries.c.id == int(delivery_id))
    dossier_id = (await session.execute(stmt)).scalar_one_or_none()
    return None if dossier_id is None else await office_of_dossier(session, dossier_id)


async def troubled(
    session: AsyncSession, *, treasury_code: str, columns: list[sa.Column[Any]], limit: int
) -> list[dict[str, Any]]:
    """An office's deliveries that failed at least once and are not sent: dead, or pending a
    retry after an error; the latest first, with the kind of dossier each is about."""
    in_office = (
        sa.select(dossiers.c.dossier_id)
        .select_from(_with_directory())
        .where(_office() == treasury_code)
    )
    stmt = (
        sa.select(*columns, dossiers.c.dossier_kind)
        .select_from(
            deliveries.outerjoin(dossiers, dossiers.c.dossier_id == deliveries.c.dossier_id)
        )
        .where(
            deliveries.c.dossier_id.in_(in_office),
            sa.or_(
                deliveries.c.status == DEAD,
                sa.and_(deliveries.c.status == PENDING, deliveries.c.attempts > 0),
            ),
        )
        .order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def lock_dossiers(session: AsyncSession, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The watched dossiers among `ids`, locked in id order until the transaction ends."""
    stmt = (
        sa.select(dossiers).where(any_of(dossiers.c.dossier_id, sorted(set(ids)))).with_for_update()
    )
    return {r["dossier_id"]: dict(r) for r in (await session.execute(stmt)).mappings()}


async def save_dossiers(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or update watched dossiers; `first_seen` stays as first written."""
    if not rows:
        return
    columns = tuple(rows[0])
    await session.execute(_save_statement(columns), arrays(dossiers, rows, columns))


@functools.cache
def _save_statement(columns: tuple[str, ...]) -> sa.Insert:
    """One statement for any number of rows (`shared.bulk`), compiled once."""
    upsert = insert_arrays(dossiers, columns)
    return upsert.on_conflict_do_update(
        index_elements=["dossier_id"],
        set_={
            c.name: upsert.excluded[c.name]
            for c in dossiers.columns
            if c.name not in ("dossier_id", "first_seen")
        },
    )


async def watch_request(
    session: AsyncSession,
    *,
    request_id: str,
    unit_code: str,
    treasury_code: str,
    deadline: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Watch a support request's deadline from its receipt; a request already watched only
    takes the office given."""
    stmt = pg_insert(dossiers).values(
        dossier_id=request_id,
        dossier_kind="support",
        unit_code=unit_code,
        treasury_code=treasury_code,
        status="",
        sequence=0,
        deadline=deadline,
        first_seen=now,
        warned=False,
        overdue_alerted=False,
        reasons=[],
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["dossier_id"],
            set_={"treasury_code": stmt.excluded.treasury_code},
        )
    )


async def due_for_warning(session: AsyncSession, *, until: dt.datetime) -> list[dict[str, Any]]:
    """Dossiers under review whose deadline falls before `until` and that have not been told
    overdue yet, locked; rows another scanner holds are skipped."""
    stmt = (
        sa.select(dossiers)
        .where(
            # Reviews, and support requests that have no answer yet.
            sa.or_(
                dossiers.c.status == Status.IN_REVIEW.value,
                sa.and_(
                    dossiers.c.dossier_kind == "support",
                    dossiers.c.status == Status.RECEIVED.value,
                ),
            ),
            dossiers.c.deadline.is_not(None),
            dossiers.c.deadline <= until,
            sa.not_(dossiers.c.overdue_alerted),
        )
        .with_for_update(skip_locked=True)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]


async def mark_warned(session: AsyncSession, dossier_id: str, *, overdue: bool) -> None:
    flags = {"warned": True, "overdue_alerted": True} if overdue else {"warned": True}
    await session.execute(
        sa.update(dossiers).where(dossiers.c.dossier_id == dossier_id).values(**flags)
    )


async def waiting_for_review(session: AsyncSession, treasury_code: str) -> list[dict[str, Any]]:
    """An office's dossiers under review, the nearest deadline first."""
    stmt = (
        sa.select(dossiers)
        .where(
            dossiers.c.status == Status.IN_REVIEW.value,
            dossiers.c.treasury_code == treasury_code,
        )
        .order_by(dossiers.c.deadline)
    )
    return [dict(r) for r in (await session.execute(stmt)).mappings()]
