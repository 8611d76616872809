"""Inbox and outbox: how every service applies a message exactly once and publishes after commit.

A consumer applies each message inside one PostgreSQL transaction that also records the
message's `event_id` in the inbox and writes every outgoing event to the outbox. The relay
publishes outbox rows only after that transaction has committed, so a crash between the two
repeats a publication (consumers are idempotent) but never loses one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.producer import Producer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One Kafka message to publish once the transaction that made it commits."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class MessagingTables:
    inbox: sa.Table
    outbox: sa.Table


def messaging_tables(metadata: sa.MetaData, schema: str) -> MessagingTables:
    """The inbox and outbox of `schema`, as created by `shared.migrations`."""
    inbox = sa.Table(
        "processed_events",
        metadata,
        sa.Column("event_id", sa.Text(), primary_key=True),
        sa.Column("source_topic", sa.Text(), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary()),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False, server_default=sa.text("'[]'::json")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )
    return MessagingTables(inbox=inbox, outbox=outbox)


async def claim(
    session: AsyncSession, tables: MessagingTables, events: Sequence[tuple[str, str]]
) -> set[str]:
    """Record (event_id, topic) pairs as applied; the ids not applied before (to apply now)."""
    if not events:
        return set()
    rows = [{"event_id": event_id, "source_topic": topic} for event_id, topic in events]
    stmt = (
        pg_insert(tables.inbox)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(tables.inbox.c.event_id)
    )
    return set((await session.execute(stmt)).scalars())


async def enqueue(
    session: AsyncSession, tables: MessagingTables, messages: Sequence[Outgoing]
) -> None:
    """Write messages to the outbox, in the caller's transaction."""
    if not messages:
        return
    rows = [
        {"topic": m.topic, "key": m.key, "value": m.value, "headers": [list(h) for h in m.headers]}
        for m in messages
    ]
    await session.execute(sa.insert(tables.outbox), rows)


def dead_letter(
    *, topic: str, source_topic: str, key: bytes | None, raw: bytes, error: str
) -> Outgoing:
    """The raw bytes that could not be applied, with headers `error` and `source-topic`."""
    return Outgoing(
        topic=topic,
        key=key,
        value=raw,
        headers=(("error", error[:1000]), ("source-topic", source_topic)),
    )


class OutboxRelay:
    """Publishes committed outbox rows in id order, then deletes exactly the rows published.

    One relay per service publishes at a time (a transaction-scoped advisory lock); the others
    wait their turn. Events about one dossier are written under its row lock, so they leave in
    the order they were committed.
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        producer: Producer,
        lock_id: int,
        batch_size: int = 1000,
        idle_seconds: float = 0.05,
        on_published: Callable[[int], None] = lambda n: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._tables = tables
        self._producer = producer
        self._lock_id = lock_id
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._wake = asyncio.Event()
        self._on_published = on_published

    def wake(self) -> None:
        """Tell the relay that a transaction with outbox rows has just committed."""
        self._wake.set()

    async def publish_once(self) -> int:
        """Publish one batch; the number of messages published (0 if none, or another relay is)."""
        outbox = self._tables.outbox
        async with self._sessionmaker() as session, session.begin():
            locked = await session.scalar(
                sa.select(sa.func.pg_try_advisory_xact_lock(self._lock_id))
            )
            if not locked:
                return 0
            rows = (
                await session.execute(
                    sa.select(outbox).order_by(outbox.c.id).limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            pending = [
                await self._producer.send(
                    row.topic,
                    value=row.value,
                    key=row.key,
                    headers=[(name, value.encode()) for name, value in row.headers],
                )
                for row in rows
            ]
            await asyncio.gather(*pending)
            # Exactly the rows read: ids are handed out before commit, so a concurrent
            # transaction may commit a smaller id after this one was read.
            await session.execute(sa.delete(outbox).where(outbox.c.id.in_([r.id for r in rows])))
        self._on_published(len(rows))
        return len(rows)

    async def backlog(self) -> int:
        async with self._sessionmaker() as session:
            count = await session.scalar(
                sa.select(sa.func.count()).select_from(self._tables.outbox)
            )
        return int(count or 0)

    async def run(self) -> None:
        """Publish until cancelled; on a broker or database failure, retry with backoff."""
        delay = 0.1
        while True:
            self._wake.clear()
            try:
                published = await self.publish_once()
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            if published < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle)
