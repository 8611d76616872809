"""Tables of the support service (schema `support`) and the queries on them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contract.enums import Status
from shared.directory import directory_table
from shared.messaging import messaging_tables

SCHEMA = "support"
metadata = sa.MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata, SCHEMA)
directory = directory_table(metadata, SCHEMA)

STATUSES = tuple(
    s.value
    for s in (Status.RECEIVED, Status.ANSWERED, Status.RESOLVED, Status.DEFERRED, Status.REJECTED)
)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("request_id", sa.Text(), primary_key=True),
    sa.Column("unit_code", sa.Text(), nullable=False),
    # The office the request is routed to: the unit's, from the directory.
    sa.Column("treasury_code", sa.Text(), nullable=False),
    sa.Column("category", sa.Text(), nullable=False),
    sa.Column("subject", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("dossier_id", sa.Text()),
    sa.Column("contact_email", sa.Text()),
    sa.Column("status", sa.Text(), nullable=False),
    # `sequence` is the current status's; `last_sequence` the highest the request has used,
    # which a DUPLICATE_MODIFIED rejection advances without changing the status.
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("last_sequence", sa.Integer(), nullable=False),
    sa.Column("content_hash", sa.Text(), nullable=False),
    sa.Column("payload", JSONB(), nullable=False),
    sa.Column("reasons", JSONB(), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True)),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_answer_at", sa.DateTime(timezone=True)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.Column("replies", sa.Integer(), nullable=False),
    sa.CheckConstraint("sequence <= last_sequence", name="requests_status_sequence_used"),
    sa.CheckConstraint(
        "status IN ('received', 'answered', 'resolved', 'deferred', 'rejected')",
        name="requests_status_known",
    ),
    # Answered or closed only by a reply; closed exactly when final.
    sa.CheckConstraint(
        "(replies = 0) = (first_answer_at IS NULL) "
        "AND (replies = 0 OR status IN ('answered', 'resolved', 'deferred'))",
        name="requests_answered_by_a_reply",
    ),
    sa.CheckConstraint(
        "(closed_at IS NOT NULL) = (status IN ('resolved', 'deferred'))",
        name="requests_closed_when_final",
    ),
)
sa.Index("requests_office_status", requests.c.treasury_code, requests.c.status, requests.c.deadline)
sa.Index("requests_received_at", requests.c.received_at)

replies = sa.Table(
    "replies",
    metadata,
    sa.Column("request_id", sa.Text(), sa.ForeignKey("requests.request_id"), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True),
    sa.Column("resolution", sa.Text(), nullable=False),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("officer", sa.Text(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("number >= 1", name="replies_numbered_from_one"),
    sa.CheckConstraint(
        "resolution IN ('answered', 'resolved', 'deferred')", name="replies_resolution_known"
    ),
)

history = sa.Table(
    "request_history",
    metadata,
    sa.Column("request_id", sa.Text(), primary_key=True),
    sa.Column("sequence", sa.Integer(), primary_key=True),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("reasons", JSONB(), nullable=False),
    sa.Column("decided_by", sa.Text()),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Request:
    request_id: str
    unit_code: str
    treasury_code: str
    category: str
    subject: str
    body: str
    dossier_id: str | None
    contact_email: str | None
    status: str
    sequence: int
    last_sequence: int
    content_hash: str
    payload: dict[str, Any]
    reasons: list[dict[str, Any]]
    deadline: dt.datetime | None
    received_at: dt.datetime
    first_answer_at: dt.datetime | None
    closed_at: dt.datetime | None
    replies: int


async def get_request(
    session: AsyncSession, request_id: str, *, lock: bool = False
) -> Request | None:
    stmt = sa.select(requests).where(requests.c.request_id == request_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    return Request(**row) if row else None


async def insert_request(session: AsyncSession, request: Request) -> None:
    await session.execute(sa.insert(requests).values(**request.__dict__))


async def record_status(
    session: AsyncSession,
    *,
    request_id: str,
    sequence: int,
    status: str,
    reasons: list[dict[str, Any]],
    decided_by: str | None,
    at: dt.datetime,
) -> None:
    await session.execute(
        sa.insert(history).values(
            request_id=request_id,
            sequence=sequence,
            status=status,
            reasons=reasons,
            decided_by=decided_by,
            at=at,
        )
    )


async def used_sequence(session: AsyncSession, *, request_id: str, sequence: int) -> None:
    """A status published without changing the request's own (DUPLICATE_MODIFIED)."""
    await session.execute(
        sa.update(requests)
        .where(requests.c.request_id == request_id)
        .values(last_sequence=sequence)
    )


async def add_reply(
    session: AsyncSession,
    *,
    request: Request,
    number: int,
    resolution: str,
    message: str,
    officer: str,
    at: dt.datetime,
    sequence: int,
    final: bool,
) -> None:
    """The reply and the request's new status, only if nobody replied meanwhile."""
    values: dict[str, Any] = {
        "status": resolution,
        "sequence": sequence,
        "last_sequence": sequence,
        "replies": number,
        "first_answer_at": request.first_answer_at or at,
    }
    if final:
        values["closed_at"] = at
    changed = await session.execute(
        sa.update(requests)
        .where(requests.c.request_id == request.request_id, requests.c.replies == number - 1)
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError(f"request {request.request_id} changed under its lock")
    await session.execute(
        sa.insert(replies).values(
            request_id=request.request_id,
            number=number,
            resolution=resolution,
            message=message,
            officer=officer,
            at=at,
        )
    )


async def conversation(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(replies).where(replies.c.request_id == request_id).order_by(replies.c.number)
    )
    return [dict(r) for r in rows.mappings()]


async def request_history(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(history).where(history.c.request_id == request_id).order_by(history.c.sequence)
    )
    return [dict(r) for r in rows.mappings()]


async def list_requests(
    session: AsyncSession, *, treasury_code: str, statuses: list[str], limit: int, offset: int
) -> list[Request]:
    """An office's requests, earliest deadline first (rejected ones have none: last)."""
    stmt = sa.select(requests).where(requests.c.treasury_code == treasury_code)
    if statuses:
        stmt = stmt.where(requests.c.status.in_(statuses))
    stmt = stmt.order_by(
        requests.c.deadline.asc().nulls_last(), requests.c.received_at, requests.c.request_id
    )
    rows = await session.execute(stmt.limit(limit).offset(offset))
    return [Request(**r) for r in rows.mappings()]


async def office_of_request(session: AsyncSession, request_id: str) -> str | None:
    """The office a request is routed to (for staff access)."""
    stmt = sa.select(requests.c.treasury_code).where(requests.c.request_id == request_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def counts(
    session: AsyncSession, now: dt.datetime
) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Requests per (office, status), and per office those not answered by their deadline."""
    by_status = await session.execute(
        sa.select(requests.c.treasury_code, requests.c.status, sa.func.count()).group_by(
            requests.c.treasury_code, requests.c.status
        )
    )
    late = await session.execute(
        sa.select(requests.c.treasury_code, sa.func.count())
        .where(requests.c.status == Status.RECEIVED, requests.c.deadline <= now)
        .group_by(requests.c.treasury_code)
    )
    return (
        {(str(o), str(s)): int(n) for o, s, n in by_status.tuples()},
        {str(o): int(n) for o, n in late.tuples()},
    )
