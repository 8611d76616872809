"""The outbox relay against the real PostgreSQL and Kafka: nothing committed is ever skipped;
and the unit of work that fills the outbox and wakes the relay after the commit."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from aiokafka.errors import KafkaConnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import make_engine, make_sessionmaker
from shared.messaging import (
    KEPT_BODY_BYTES,
    MessagingTables,
    Outgoing,
    dead_letter,
    enqueue,
    messaging_tables,
)
from shared.producer import MAX_REQUEST_BYTES, Producer
from shared.relay import OutboxRelay
from shared.unit_of_work import UnitOfWork
from stack import kafka
from stack.runner import Endpoints
from tests.support import TopicLog

SCHEMA = "outbox_test"


@pytest.fixture
async def engine(stack: Endpoints) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(stack.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def tables(engine: AsyncEngine) -> MessagingTables:
    metadata = sa.MetaData(schema=SCHEMA)
    messaging = messaging_tables(metadata, SCHEMA)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    return messaging


async def _new_topic(stack: Endpoints) -> str:
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    await kafka.ensure_topics(
        stack.kafka_bootstrap_servers, [topic], set(), partitions=1, replication=1
    )
    return topic


async def _committed(
    engine: AsyncEngine, tables: MessagingTables, messages: list[Outgoing]
) -> async_sessionmaker[AsyncSession]:
    """`messages` in the outbox, committed; the sessionmaker that wrote them."""
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await enqueue(session, tables, messages)
    return sessionmaker


class CommitsDuringSend:
    """The real producer; the first send lets a slower transaction commit meanwhile."""

    def __init__(self, producer: Producer, slow: AsyncConnection) -> None:
        self.producer, self.slow = producer, slow

    async def send(self, topic: str, value: bytes, **kwargs: Any) -> Any:
        if self.slow.in_transaction():
            await self.slow.commit()
        return await self.producer.send(topic, value, **kwargs)


async def test_a_row_committed_late_with_a_smaller_id_is_still_published(
    stack: Endpoints, engine: AsyncEngine, tables: MessagingTables
) -> None:
    topic = await _new_topic(stack)
    outbox = tables.outbox
    async with engine.connect() as slow, engine.connect() as fast:
        await slow.execute(sa.insert(outbox).values(topic=topic, value=b"first id", headers=[]))
        await fast.execute(sa.insert(outbox).values(topic=topic, value=b"second id", headers=[]))
        await fast.commit()
        producer = Producer(stack.kafka_bootstrap_servers)
        await producer.start()
        try:
            relay = OutboxRelay(
                sessionmaker=make_sessionmaker(engine),
                tables=tables,
                producer=CommitsDuringSend(producer, slow),  # type: ignore[arg-type]
                lock_id=7,
            )
            published = [await relay.publish_once(), await relay.publish_once()]
        finally:
            await producer.stop()
    async with TopicLog(stack.kafka_bootstrap_servers, topic) as log:
        await log.wait_for(
            lambda: [r.value for r in log.records],
            lambda values: len(values) == 2,
            what="the 2 published outbox rows on the topic (values on it)",
        )
    assert published == [1, 1]
    assert sorted(r.value for r in log.records) == [b"first id", b"second id"]
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 0


async def test_enqueued_messages_carry_their_headers_to_kafka(
    stack: Endpoints, engine: AsyncEngine, tables: MessagingTables
) -> None:
    topic = await _new_topic(stack)
    sessionmaker = await _committed(
        engine,
        tables,
        [Outgoing(topic=topic, key=b"1012345", value=b"v", headers=(("error", "lỗi"),))],
    )
    producer = Producer(stack.kafka_bootstrap_servers)
    await producer.start()
    try:
        relay = OutboxRelay(sessionmaker=sessionmaker, tables=tables, producer=producer, lock_id=8)
        assert await relay.publish_once() == 1
    finally:
        await producer.stop()
    async with TopicLog(stack.kafka_bootstrap_servers, topic) as log:
        await log.wait_for(
            lambda: [r.value for r in log.records],
            lambda values: len(values) == 1,
            what="the published outbox row on the topic (values on it)",
        )
    [record] = log.records
    assert (record.key, record.value) == (b"1012345", b"v")
    assert dict(record.headers) == {"error": "lỗi".encode()}


async def test_a_row_that_can_never_be_published_is_parked_and_the_rows_behind_it_go_on(
    stack: Endpoints, engine: AsyncEngine, tables: MessagingTables
) -> None:
    topic = await _new_topic(stack)
    too_large = b"x" * (MAX_REQUEST_BYTES + 1)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await enqueue(
            session,
            tables,
            [
                Outgoing(topic=topic, key=b"k", value=b"before"),
                Outgoing(topic=topic, key=b"k", value=too_large, headers=(("error", "big"),)),
                Outgoing(topic=topic, key=b"k", value=b"after"),
            ],
        )
    parked_topics: list[str] = []
    producer = Producer(stack.kafka_bootstrap_servers)
    await producer.start()
    try:
        relay = OutboxRelay(
            sessionmaker=sessionmaker,
            tables=tables,
            producer=producer,
            lock_id=9,
            on_parked=parked_topics.append,
        )
        began = time.monotonic()
        done = await relay.publish_once()
        took = time.monotonic() - began
    finally:
        await producer.stop()
    async with TopicLog(stack.kafka_bootstrap_servers, topic) as log:
        await log.wait_for(
            lambda: [r.value for r in log.records],
            lambda values: len(values) == 2,
            what="the 2 published messages on the topic (their values)",
            within=20,
        )
    assert done == 3
    assert took < 10, f"one pass of the relay took {took:.1f} s"
    assert [r.value for r in log.records] == [b"before", b"after"]
    assert parked_topics == [topic]
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(tables.outbox)) == 0
        [row] = (await conn.execute(sa.select(tables.parked))).mappings().all()
    assert (row["topic"], row["key"]) == (topic, b"k")
    assert row["headers"] == [["error", "big"]]
    assert row["value"] == too_large[:KEPT_BODY_BYTES]
    assert row["value_bytes"] == len(too_large)
    assert row["value_sha256"] == hashlib.sha256(too_large).hexdigest()
    assert row["error"].startswith("MessageSizeTooLargeError")


def test_a_dead_letter_of_an_oversized_value_carries_its_start_and_the_digest_of_the_whole() -> (
    None
):
    raw = b"{" + b"a" * (2 * 1024 * 1024)
    letter = dead_letter(topic="dl", source_topic="in", key=b"k", raw=raw, error="too large")
    headers = dict(letter.headers)
    assert letter.value == raw[:KEPT_BODY_BYTES]
    assert headers["sha256"] == hashlib.sha256(raw).hexdigest()
    assert headers["original-bytes"] == str(len(raw))
    assert (headers["error"], headers["source-topic"], headers["truncated"]) == (
        "too large",
        "in",
        "true",
    )
    small = dead_letter(topic="dl", source_topic="in", key=b"k", raw=b"{", error="not JSON")
    assert small.value == b"{"
    assert "sha256" not in dict(small.headers)


async def _published(engine: AsyncEngine, tables: MessagingTables) -> list[bytes]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(tables.outbox.c.value).order_by(tables.outbox.c.id))
        return [bytes(v) for v in rows.scalars()]


async def test_the_relay_is_woken_after_the_commit_and_sees_every_event(
    engine: AsyncEngine, tables: MessagingTables
) -> None:
    sessions: list[AsyncSession] = []
    woken_inside_a_transaction: list[bool] = []

    def wake() -> None:
        woken_inside_a_transaction.append(sessions[0].in_transaction())

    work = UnitOfWork(make_sessionmaker(engine), tables, wake)
    async with work() as tx:
        sessions.append(tx.session)
        tx.publish([Outgoing(topic="t", value=b"first"), Outgoing(topic="t", value=b"second")])
        tx.publish([Outgoing(topic="t", value=b"third")])
        assert await _published(engine, tables) == []
    assert woken_inside_a_transaction == [False]
    assert await _published(engine, tables) == [b"first", b"second", b"third"]


async def test_a_failed_unit_of_work_publishes_nothing_and_wakes_nobody(
    engine: AsyncEngine, tables: MessagingTables
) -> None:
    woken: list[bool] = []
    work = UnitOfWork(make_sessionmaker(engine), tables, lambda: woken.append(True))

    async def refused() -> None:
        async with work() as tx:
            tx.publish([Outgoing(topic="t", value=b"never")])
            raise LookupError("no such dossier")

    with pytest.raises(LookupError, match="no such dossier"):
        await refused()
    assert await _published(engine, tables) == []
    assert woken == []


class BrokerLostAfterFirstSend:
    """The real producer for the first row; then the broker is gone, as in an outage."""

    def __init__(self, producer: Producer) -> None:
        self.producer, self.sent = producer, 0

    async def send(self, topic: str, value: bytes, **kwargs: Any) -> Any:
        self.sent += 1
        if self.sent > 1:
            raise KafkaConnectionError("the broker went away")
        return await self.producer.send(topic, value, **kwargs)


async def test_rows_stay_in_the_outbox_until_the_broker_has_them_and_one_relay_at_a_time(
    stack: Endpoints, engine: AsyncEngine, tables: MessagingTables
) -> None:
    topic = await _new_topic(stack)
    sessionmaker = await _committed(
        engine, tables, [Outgoing(topic=topic, value=v) for v in (b"one", b"two", b"three")]
    )
    producer = Producer(stack.kafka_bootstrap_servers)
    await producer.start()
    try:
        failing = OutboxRelay(
            sessionmaker=sessionmaker,
            tables=tables,
            producer=BrokerLostAfterFirstSend(producer),  # type: ignore[arg-type]
            lock_id=10,
        )
        with pytest.raises(KafkaConnectionError):
            await failing.publish_once()
        after_failure = await _published(engine, tables)

        relay = OutboxRelay(sessionmaker=sessionmaker, tables=tables, producer=producer, lock_id=10)
        async with engine.connect() as other:
            # Another instance's relay holds the lock: this one takes nothing meanwhile.
            await other.execute(sa.select(sa.func.pg_advisory_xact_lock(10)))
            while_held = await relay.publish_once()
            rows_while_held = await _published(engine, tables)
            await other.rollback()
        once_free = await relay.publish_once()
    finally:
        await producer.stop()
    async with TopicLog(stack.kafka_bootstrap_servers, topic) as log:
        await log.wait_for(
            lambda: [r.value for r in log.records],
            lambda values: len(values) >= 4,
            what="the row sent before the failure and the 3 sent again (values on the topic)",
        )
    assert after_failure == [b"one", b"two", b"three"]
    assert (while_held, rows_while_held) == (0, [b"one", b"two", b"three"])
    assert once_free == 3
    assert await _published(engine, tables) == []
    # The row the broker took before the failure goes again (consumers are idempotent).
    assert [r.value for r in log.records] == [b"one", b"one", b"two", b"three"]
