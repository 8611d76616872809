"""Deadline warnings, overdue alerts and digests fire once each (clock injected, real DB)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notify import db, domain, handlers
from services.notify.render import Renderer
from shared.db import make_engine, make_sessionmaker
from stack.runner import Endpoints

ICT = dt.timezone(dt.timedelta(hours=7))
OFFICE = "0042"
STAFF = ("ksv.a@kbnn.gov.vn", "ksv.b@kbnn.gov.vn")


@pytest.fixture
async def engine(stack: Endpoints) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(stack.database_url)
    yield engine
    await engine.dispose()


def _deps(now: dt.datetime) -> handlers.Deps:
    offices = domain.TreasuryDirectory(
        offices=(
            domain.Office(
                treasury_code=OFFICE,
                name="KBNN khu vực XLII",
                staff=tuple(domain.Staff(email=e, role="controller") for e in STAFF),
            ),
        )
    )
    return handlers.Deps(
        renderer=Renderer(),
        offices=offices,
        webhooks=(),
        clock=lambda: now,
        digest_at=dt.time(17, 0),
    )


async def _in_review(engine: AsyncEngine, deadline: dt.datetime) -> str:
    dossier = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(db.dossiers).values(
                dossier_id=dossier,
                dossier_kind="voucher",
                unit_code="1000042",
                treasury_code=OFFICE,
                status="in_review",
                sequence=2,
                deadline=deadline,
                first_seen=deadline - dt.timedelta(days=1),
                warned=False,
                overdue_alerted=False,
                reasons=[],
            )
        )
    return dossier


async def _kinds(engine: AsyncEngine, dossier: str) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(db.deliveries.c.kind, db.deliveries.c.recipient)
            .where(db.deliveries.c.dossier_id == dossier)
            .order_by(db.deliveries.c.id)
        )
        return [(k, r) for k, r in rows]


async def test_staff_are_warned_once_before_the_deadline_and_alerted_once_after(
    engine: AsyncEngine,
) -> None:
    deadline = dt.datetime(2026, 12, 30, 16, 30, tzinfo=ICT)
    dossier = await _in_review(engine, deadline)
    sessions = make_sessionmaker(engine)
    written = []
    for minutes_before in (180, 119, 60, 1, -1, -30, -600):
        async with sessions() as session, session.begin():
            now = deadline - dt.timedelta(minutes=minutes_before)
            written.append(await handlers.scan_deadlines(session, deps=_deps(now)))
    kinds = await _kinds(engine, dossier)
    assert [k for k, _ in kinds] == ["deadline_warning"] * 2 + ["overdue"] * 2
    assert {r for _, r in kinds} == set(STAFF)
    assert sum(written) >= 4
    async with engine.connect() as conn:
        subject = await conn.scalar(
            sa.select(db.deliveries.c.subject)
            .where(db.deliveries.c.dossier_id == dossier, db.deliveries.c.kind == "overdue")
            .limit(1)
        )
    assert subject is not None
    assert "Quá hạn" in subject
    assert "Overdue" in subject


async def test_a_dossier_found_only_after_its_deadline_gets_the_overdue_alert_alone(
    engine: AsyncEngine,
) -> None:
    deadline = dt.datetime(2026, 12, 29, 16, 30, tzinfo=ICT)
    dossier = await _in_review(engine, deadline)
    async with make_sessionmaker(engine)() as session, session.begin():
        await handlers.scan_deadlines(session, deps=_deps(deadline + dt.timedelta(hours=3)))
    assert [k for k, _ in await _kinds(engine, dossier)] == ["overdue"] * 2


async def test_each_office_gets_one_digest_a_day_from_the_configured_time(
    engine: AsyncEngine,
) -> None:
    day = dt.date(2027, 1, 5)
    sessions = make_sessionmaker(engine)
    counts = []
    for hour in (9, 17, 18, 23):
        async with sessions() as session, session.begin():
            now = dt.datetime.combine(day, dt.time(hour), ICT)
            counts.append(await handlers.send_digests(session, deps=_deps(now)))
    assert counts == [0, len(STAFF), 0, 0]
    kinds = await _kinds(engine, f"digest-{OFFICE}-{day.isoformat()}")
    assert sorted(r for _, r in kinds) == sorted(STAFF)
