"""Applying a batch of Kafka messages to PostgreSQL: once, in one transaction, never lost.

The fast path applies the whole batch in one transaction, with one statement per table for
the whole batch where the service's handler allows it. If a message makes its handler fail,
the batch is rolled back and replayed one message per savepoint, so that only the poison
message goes to the dead-letter topic and every other message is applied. A lost
database connection is retried with backoff, for as long as it takes: the offsets of a batch
are acknowledged only after it has been committed. Anything else that escapes stops the worker
on purpose (Faust would otherwise acknowledge the batch and it would be gone), and the batch
is delivered again when the worker restarts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, RetryCallState

from shared.batching import QUIET_SECONDS, take_ready
from shared.contract import Envelope, MalformedMessageError, decode_envelope
from shared.messaging import MessagingTables, Outgoing, claim, dead_letter
from shared.retry import backoff, failure, next_wait
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# SQLSTATE classes worth retrying: connection exception, transaction rollback (serialization,
# deadlock), insufficient resources, operator intervention (server shutting down).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")


@dataclass(frozen=True)
class Incoming:
    """A Kafka message as received, before any decoding."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float
    """Seconds since the epoch at which the producer created the message."""
    headers: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def from_event(cls, event: Any) -> Incoming:
        message = event.message
        raw = message.headers or ()
        return cls(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            timestamp=message.timestamp,
            headers=tuple((str(k), _bytes(v)) for k, v in _pairs(raw)),
        )

    def header(self, name: str) -> str | None:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), None)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()


def _pairs(headers: Any) -> list[tuple[Any, Any]]:
    """Kafka headers as pairs, whether the client gave a mapping or a list of pairs."""
    return list(headers.items()) if hasattr(headers, "items") else list(headers)


Item = tuple[Envelope, Incoming]
Handler = Callable[[AsyncSession, Envelope, Incoming], Awaitable[Sequence[Outgoing]]]
"""Applies one message in the caller's transaction; returns the events it causes."""
BatchHandler = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Outgoing]]]
"""Applies messages never applied before, in order, in the caller's transaction."""


def per_message(handler: Handler) -> BatchHandler:
    """A batch handler that applies each message in turn with `handler`."""

    async def apply(session: AsyncSession, items: Sequence[Item]) -> Sequence[Outgoing]:
        out: list[Outgoing] = []
        for envelope, message in items:
            out.extend(await handler(session, envelope, message))
        return out

    return apply


def is_transient(exc: BaseException) -> bool:
    """True for failures of the database or network that a retry can outlive, raised through
    SQLAlchemy or by asyncpg itself (`shared.db.driver`)."""
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None)
        return isinstance(state, str) and state[:2] in _TRANSIENT_SQLSTATE_CLASSES
    if isinstance(exc, asyncpg.InterfaceError):
        return True  # e.g. the connection was closed under the statement
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(state, str) and state[:2] in _TRANSIENT_SQLSTATE_CLASSES:
            return True
        return type(exc).__name__ in {"OperationalError", "InterfaceError"}
    return isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError))


def stop_worker(reason: str) -> None:
    """Exit at once, without committing offsets, so the unfinished batch is delivered again."""
    log.critical("stopping the worker so that nothing is acknowledged: %s", reason)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(70)


@dataclass
class BatchStats:
    applied: int = 0
    duplicates: int = 0
    dead_lettered_from: list[str] = field(default_factory=list)


class BatchApplier:
    """Decodes each message, skips those already applied, runs the handler, writes the outbox."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        handler: BatchHandler,
        deadletter_topic: str,
        on_committed: Callable[[], None] = lambda: None,
        on_dead_letter: Callable[[str], None] = lambda topic: None,
        max_backoff: float = 10.0,
    ) -> None:
        self._tables = tables
        # Committed batches wake the relay (`on_committed`) through the unit of work.
        self._work = UnitOfWork(sessionmaker, tables, on_committed)
        self._handler = handler
        self._deadletter_topic = deadletter_topic
        self._on_dead_letter = on_dead_letter
        self._max_backoff = max_backoff

    async def apply(self, batch: Sequence[Incoming]) -> BatchStats:
        """Apply `batch` durably; returns only once it is committed."""
        try:
            stats: BatchStats = await self._retrying(self._apply_once, batch, isolate=False)
        except Exception:
            log.warning("a message failed; replaying the batch one message at a time")
            try:
                stats = await self._retrying(self._apply_once, batch, isolate=True)
            except Exception as exc:
                stop_worker(f"the batch could not be applied even message by message: {exc!r}")
                raise
        for topic in stats.dead_lettered_from:
            self._on_dead_letter(topic)
        return stats

    @property
    def _retrying(self) -> AsyncRetrying:
        """A lost database is waited for, as long as it takes; any other failure is raised."""

        def waiting(state: RetryCallState) -> None:
            log.warning(
                "database unavailable, retrying the batch in %.1f s: %s",
                next_wait(state),
                failure(state),
            )

        return backoff(
            first=0.2, cap=self._max_backoff, retry_on=is_transient, before_sleep=waiting
        )

    async def _apply_once(self, batch: Sequence[Incoming], *, isolate: bool) -> BatchStats:
        stats = BatchStats()
        out: list[Outgoing] = []
        items: list[Item] = []
        for message in batch:
            try:
                items.append((decode_envelope(message.value), message))
            except MalformedMessageError as err:
                out.append(self._dead(message, str(err)))
        async with self._work() as tx:
            if not isolate:
                out.extend(await self._apply_items(tx.session, items, stats))
            else:
                for item in items:
                    out.extend(await self._apply_isolated(tx.session, item, stats))
            tx.publish(out)
        stats.dead_lettered_from = [
            dict(m.headers).get("source-topic", "")
            for m in out
            if m.topic == self._deadletter_topic
        ]
        return stats

    async def _apply_items(
        self, session: AsyncSession, items: Sequence[Item], stats: BatchStats
    ) -> Sequence[Outgoing]:
        claimed = await claim(
            session, self._tables, [(env.event_id, msg.topic) for env, msg in items]
        )
        fresh: list[Item] = []
        for item in items:
            if item[0].event_id in claimed:
                claimed.discard(item[0].event_id)
                fresh.append(item)
        stats.duplicates += len(items) - len(fresh)
        stats.applied += len(fresh)
        return await self._handler(session, fresh) if fresh else []

    async def _apply_isolated(
        self, session: AsyncSession, item: Item, stats: BatchStats
    ) -> Sequence[Outgoing]:
        envelope, message = item
        try:
            async with session.begin_nested():
                return await self._apply_items(session, [item], stats)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception(
                "handler failed; message dead-lettered",
                extra={
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                },
            )
            # Counted as applied, so that a redelivery is not dead-lettered a second time.
            await claim(session, self._tables, [(envelope.event_id, message.topic)])
            return [self._dead(message, f"handler failed: {exc!r}")]

    def _dead(self, message: Incoming, error: str) -> Outgoing:
        return dead_letter(
            topic=self._deadletter_topic,
            source_topic=message.topic,
            key=message.key,
            raw=message.value or b"",
            error=error,
        )


async def consume_batches(
    stream: Any,
    applier: BatchApplier,
    *,
    size: int,
    within: float,
    quiet: float = QUIET_SECONDS,
    observe: Callable[[int, float], None] = lambda n, seconds: None,
) -> None:
    """The body of a Faust agent: batches from the stream, each applied before it is acked."""
    async for events in take_ready(stream, size, within=within, quiet=quiet):
        began = time.perf_counter()
        batch = [Incoming.from_event(e) for e in events]
        try:
            await applier.apply(batch)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                stop_worker("cancelled in the middle of a batch")
            stop_worker(f"unexpected failure applying a batch: {exc!r}")
            raise
        observe(len(batch), time.perf_counter() - began)
