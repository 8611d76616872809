"""The outbox relay: committed outbox rows to Kafka, in order, and never stuck behind one row.

Rows leave in id order and are deleted once the broker has them. A row that can never be
published (too large for the producer, refused by the broker for good) would otherwise be
retried forever and hold back every row behind it, so it is parked instead: moved, in the
same transaction that deletes the published rows, to the service's `parked_messages` table
with the error, counted and logged. Failures a retry can outlive (broker unreachable,
leader moving, timeouts) roll the whole batch back and retry it with backoff, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from aiokafka import errors as kafka_errors
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import RetryCallState

from shared.db import driver
from shared.messaging import KEPT_BODY_BYTES, MessagingTables
from shared.producer import Producer
from shared.retry import backoff, failure, next_wait

log = logging.getLogger(__name__)

# Non-retriable in aiokafka's classification, yet about the producer or the connection, not
# the row: parking rows for these would empty the outbox into the parked table.
_PRODUCER_STATE_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.ProducerClosed,
    kafka_errors.IllegalStateError,
    kafka_errors.ProducerFenced,
    kafka_errors.OutOfOrderSequenceNumber,
    kafka_errors.KafkaConnectionError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.UnknownError,
)


def is_permanent(exc: BaseException) -> bool:
    """True when publishing this row again can only fail again (e.g. it is too large)."""
    if isinstance(exc, _PRODUCER_STATE_ERRORS) or type(exc) is kafka_errors.KafkaError:
        return False
    if isinstance(exc, kafka_errors.KafkaError):
        return not exc.retriable
    # Raised by the client for arguments it cannot send (a header value, a key type).
    return isinstance(exc, (TypeError, ValueError))


@functools.cache
def _take_sql(outbox: sa.Table) -> str:
    """The relay's advisory lock (`held`), then, if held, the first `limit` outbox rows in id
    order, deleted in the caller's transaction: always one row with `held`, and `id` null
    when no row was taken.

    Exactly the rows returned are deleted: ids are handed out before commit, so a concurrent
    transaction may commit a smaller id after this one has read; that row waits for the next
    batch.
    """
    table = outbox.fullname  # from the code, never from input
    return (
        "WITH lock AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS held), "  # noqa: S608
        f"taken AS (DELETE FROM {table} WHERE id IN ("
        f"  SELECT id FROM {table} WHERE (SELECT held FROM lock) ORDER BY id LIMIT $2"
        ") RETURNING id, topic, key, value, headers::text AS headers, created_at) "
        "SELECT lock.held, taken.* FROM lock LEFT JOIN taken ON true"
    )


@dataclass(frozen=True)
class _Row:
    id: int
    topic: str
    key: bytes | None
    value: bytes
    headers: list[list[str]]
    created_at: dt.datetime


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
        idle_seconds: float = 0.5,
        busy_seconds: float = 0.01,
        on_published: Callable[[int], None] = lambda n: None,
        on_parked: Callable[[str], None] = lambda topic: None,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._tables = tables
        self._producer = producer
        self._lock_id = lock_id
        self._batch_size = batch_size
        # Woken at each commit of this process, the relay polls only for rows committed
        # elsewhere (another instance's); when another instance holds the lock, it tries
        # again soon, since that one may have read its rows before ours were committed.
        self._idle = idle_seconds
        self._busy = busy_seconds
        self._lock_was_busy = False
        self._wake = asyncio.Event()
        self._on_published = on_published
        self._on_failure = on_failure
        self._on_parked = on_parked

    def wake(self) -> None:
        """Tell the relay that a transaction with outbox rows has just committed."""
        self._wake.set()

    async def publish_once(self) -> int:
        """Publish one batch; the number of rows done with (published or parked)."""
        async with self._sessionmaker() as session, session.begin():
            # One round trip takes the lock and the rows: deleted here, but only for this
            # transaction until it commits, after the broker has every one of them.
            connection = await driver(session)
            result = await connection.fetch(
                _take_sql(self._tables.outbox), self._lock_id, self._batch_size
            )
            self._lock_was_busy = not result[0]["held"]
            rows = sorted(
                (
                    _Row(
                        id=r["id"],
                        topic=r["topic"],
                        key=r["key"],
                        value=r["value"],
                        headers=orjson.loads(r["headers"]),
                        created_at=r["created_at"],
                    )
                    for r in result
                    if r["id"] is not None
                ),
                key=lambda r: r.id,
            )
            if not rows:
                return 0
            failed = await self._send_all(rows)
            if failed:
                await self._park(session, failed)
        for row, exc in failed:
            self._on_parked(row.topic)
            log.error(
                "outbox row parked: it can never be published (%s: %s)",
                type(exc).__name__,
                exc,
                extra={"topic": row.topic, "outbox_id": row.id, "bytes": len(row.value)},
            )
        self._on_published(len(rows) - len(failed))
        return len(rows)

    async def _send_all(self, rows: Sequence[Any]) -> list[tuple[Any, BaseException]]:
        """Send every row; the rows refused for good. A transient failure raises."""
        failed: list[tuple[Any, BaseException]] = []
        pending: list[tuple[Any, asyncio.Future[Any]]] = []
        for row in rows:
            try:
                future = await self._producer.send(
                    row.topic,
                    value=row.value,
                    key=row.key,
                    headers=[(name, value.encode()) for name, value in row.headers],
                )
            except Exception as exc:
                if not is_permanent(exc):
                    raise
                failed.append((row, exc))
                continue
            pending.append((row, future))
        outcomes = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        for (row, _), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                if not is_permanent(outcome):
                    raise outcome
                failed.append((row, outcome))
        return failed

    async def _park(
        self, session: AsyncSession, failed: Sequence[tuple[Any, BaseException]]
    ) -> None:
        await session.execute(
            sa.insert(self._tables.parked),
            [
                {
                    "outbox_id": row.id,
                    "topic": row.topic,
                    "key": row.key,
                    "headers": row.headers,
                    "value": row.value[:KEPT_BODY_BYTES],
                    "value_bytes": len(row.value),
                    "value_sha256": hashlib.sha256(row.value).hexdigest(),
                    "error": f"{type(exc).__name__}: {exc}"[:2000],
                    "created_at": row.created_at,
                }
                for row, exc in failed
            ],
        )

    async def backlog(self) -> int:
        async with self._sessionmaker() as session:
            count = await session.scalar(
                sa.select(sa.func.count()).select_from(self._tables.outbox)
            )
        return int(count or 0)

    async def run(self) -> None:
        """Publish until cancelled; on a broker or database failure, retry with backoff."""

        def waiting(state: RetryCallState) -> None:
            self._on_failure()
            log.error(
                "outbox relay failed; retrying in %.1f s",
                next_wait(state),
                exc_info=failure(state),
            )

        while True:
            self._wake.clear()
            done: int = await backoff(first=0.1, cap=10.0, before_sleep=waiting)(self.publish_once)
            if done < self._batch_size:
                wait = self._busy if self._lock_was_busy else self._idle
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
