"""Inbox and outbox: how every service applies a message exactly once and publishes after commit.

A consumer applies each message inside one PostgreSQL transaction that also records the
message's `event_id` in the inbox and writes every outgoing event to the outbox. The relay
publishes outbox rows only after that transaction has committed, so a crash between the two
repeats a publication (consumers are idempotent) but never loses one.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import driver

KEPT_BODY_BYTES: Final = 64 * 1024
"""How much of a message too large to publish is kept (in a dead letter or a parked row)."""
KEPT_KEY_BYTES: Final = 1024
MAX_DEAD_LETTER_BYTES: Final = 1024 * 1024
"""A dead letter carries the received value whole up to the contract's 1 MiB; beyond, a part."""


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
    parked: sa.Table


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
    parked = sa.Table(
        "parked_messages",
        metadata,
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary()),
        sa.Column("headers", sa.JSON(), nullable=False, server_default=sa.text("'[]'::json")),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("value_bytes", sa.Integer(), nullable=False),
        sa.Column("value_sha256", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )
    return MessagingTables(inbox=inbox, outbox=outbox, parked=parked)


@functools.cache
def _claim_sql(inbox: sa.Table) -> str:
    """One statement for any number of events, so it is prepared once per connection."""
    return (
        f"INSERT INTO {inbox.fullname} (event_id, source_topic)"  # noqa: S608 (names from the code)
        " SELECT * FROM unnest($1::text[], $2::text[])"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    )


async def claim(
    session: AsyncSession, tables: MessagingTables, events: Sequence[tuple[str, str]]
) -> set[str]:
    """Record (event_id, topic) pairs as applied; the ids not applied before (to apply now)."""
    if not events:
        return set()
    connection = await driver(session)
    rows = await connection.fetch(
        _claim_sql(tables.inbox), [e for e, _ in events], [t for _, t in events]
    )
    return {r[0] for r in rows}


@functools.cache
def _enqueue_sql(outbox: sa.Table) -> str:
    return (
        f"INSERT INTO {outbox.fullname} (topic, key, value, headers)"  # noqa: S608
        " SELECT t, k, v, h::json FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[])"
        " AS rows(t, k, v, h)"
    )


async def enqueue(
    session: AsyncSession, tables: MessagingTables, messages: Sequence[Outgoing]
) -> None:
    """Write messages to the outbox, in the caller's transaction: one statement."""
    if not messages:
        return
    connection = await driver(session)
    await connection.execute(
        _enqueue_sql(tables.outbox),
        [m.topic for m in messages],
        [m.key for m in messages],
        [m.value for m in messages],
        [orjson.dumps([list(h) for h in m.headers]).decode() for m in messages],
    )


def dead_letter(
    *,
    topic: str,
    source_topic: str,
    key: bytes | None,
    raw: bytes,
    error: str,
    limit: int = MAX_DEAD_LETTER_BYTES,
) -> Outgoing:
    """The raw bytes that could not be applied, with headers `error` and `source-topic`.

    A value over `limit` could not be published whole (the producer and the broker refuse
    it), so its first `KEPT_BODY_BYTES` are sent with headers `truncated`, `original-bytes`
    and `sha256` (of the whole value), which identify what the sender sent.
    """
    headers: tuple[tuple[str, str], ...] = (
        ("error", error[:1000]),
        ("source-topic", source_topic),
    )
    if len(raw) + len(key or b"") > limit:
        headers += (
            ("truncated", "true"),
            ("original-bytes", str(len(raw))),
            ("sha256", hashlib.sha256(raw).hexdigest()),
        )
        raw = raw[:KEPT_BODY_BYTES]
        key = key[:KEPT_KEY_BYTES] if key else key
    return Outgoing(topic=topic, key=key, value=raw, headers=headers)
