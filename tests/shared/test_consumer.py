"""The batch applier against the real PostgreSQL: once-only effects, poison isolated, outbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.consumer import BatchApplier, Incoming, per_message
from shared.contract import Envelope
from shared.db import make_engine, make_sessionmaker
from shared.messaging import MessagingTables, Outgoing, messaging_tables
from stack.runner import Endpoints

SCHEMA = "consumer_test"


@pytest.fixture
async def engine(stack: Endpoints) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(stack.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def tables(engine: AsyncEngine) -> tuple[MessagingTables, sa.Table]:
    metadata = sa.MetaData(schema=SCHEMA)
    messaging = messaging_tables(metadata, SCHEMA)
    applied = sa.Table("applied", metadata, sa.Column("event_id", sa.Text(), primary_key=True))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    return messaging, applied


def _message(offset: int, body: dict[str, object] | bytes) -> Incoming:
    value = body if isinstance(body, bytes) else orjson.dumps(body)
    return Incoming(
        topic="in", partition=0, offset=offset, key=b"1012345", value=value, timestamp=0.0
    )


def _envelope(payload: dict[str, object]) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "test.event",
        "schema_version": 1,
        "occurred_at": "2026-12-28T09:15:02+07:00",
        "source": "test",
        "payload": payload,
    }


async def test_a_batch_is_applied_once_and_a_poison_message_goes_alone_to_the_dead_letters(
    engine: AsyncEngine, tables: tuple[MessagingTables, sa.Table]
) -> None:
    messaging, applied = tables

    async def handler(
        session: AsyncSession, envelope: Envelope, message: Incoming
    ) -> Sequence[Outgoing]:
        if envelope.payload.get("explode"):
            raise KeyError("a handler bug")
        await session.execute(sa.insert(applied).values(event_id=envelope.event_id))
        return [Outgoing(topic="out", key=message.key, value=b"done")]

    applier = BatchApplier(
        sessionmaker=make_sessionmaker(engine),
        tables=messaging,
        handler=per_message(handler),
        deadletter_topic="dead",
    )
    good_1, bomb, good_2 = _envelope({}), _envelope({"explode": True}), _envelope({})
    batch = [_message(0, good_1), _message(1, bomb), _message(2, b"not json"), _message(3, good_2)]
    stats = await applier.apply(batch)
    again = await applier.apply(batch)

    async with engine.connect() as conn:
        done = set((await conn.execute(sa.select(applied.c.event_id))).scalars())
        outbox = (
            await conn.execute(sa.select(messaging.outbox).order_by(messaging.outbox.c.id))
        ).all()
    assert done == {good_1["event_id"], good_2["event_id"]}
    assert (stats.applied, stats.duplicates) == (3, 0)
    assert (again.applied, again.duplicates) == (0, 3)
    by_topic = {t: [row for row in outbox if row.topic == t] for t in ("out", "dead")}
    assert [row.value for row in by_topic["out"]] == [b"done", b"done"]
    # The malformed message has no event id to remember: each delivery is dead-lettered.
    assert sorted(row.value for row in by_topic["dead"]) == sorted(
        [b"not json", orjson.dumps(bomb), b"not json"]
    )
    bomb_row = next(row for row in by_topic["dead"] if row.value == orjson.dumps(bomb))
    assert dict(map(tuple, bomb_row.headers))["source-topic"] == "in"
    assert "a handler bug" in dict(map(tuple, bomb_row.headers))["error"]
