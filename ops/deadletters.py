"""Dead letters: the raw messages a service could not decode, and their replay by an operator.

A dead letter is named `PARTITION:OFFSET` on the dead-letter topic. A replay sends bytes (the
original, or a fixed copy) back to the topic the message came from, under its original key,
and records who sent what in `ops.replays`. The row is written first, in the transaction that
waits for Kafka's acknowledgement: its unique (dead letter, digest) refuses a second replay of
the same bytes even when two operators try at once, and a send that fails leaves no row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.engine import Connection

from ops.database import table_exists, unreachable
from ops.errors import NotFound, OpsError, Refused
from ops.kafka import Record, offsets_since, partitions, scan

metadata = sa.MetaData(schema="ops")
replays = sa.Table(
    "replays",
    metadata,
    sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
    sa.Column("deadletter_topic", sa.Text(), nullable=False),
    sa.Column("deadletter_partition", sa.Integer(), nullable=False),
    sa.Column("deadletter_offset", sa.BigInteger(), nullable=False),
    sa.Column("source_topic", sa.Text(), nullable=False),
    sa.Column("digest", sa.Text(), nullable=False),
    sa.Column("edited", sa.Boolean(), nullable=False),
    sa.Column("replayed_by", sa.Text(), nullable=False),
    sa.Column("replayed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("new_partition", sa.Integer()),
    sa.Column("new_offset", sa.BigInteger()),
)


@dataclass(frozen=True)
class LetterId:
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> LetterId:
        part, sep, off = text.partition(":")
        if not sep or not part.isdigit() or not off.isdigit():
            raise OpsError(f"{text!r} is not a dead-letter id: PARTITION:OFFSET, as `list` shows.")
        return cls(int(part), int(off))

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


def digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def preview(value: bytes, width: int = 60) -> str:
    text = value.decode("utf-8", errors="replace").replace("\n", " ").replace("\r", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


async def list_letters(
    consumer: AIOKafkaConsumer,
    topic: str,
    *,
    since_ms: int | None,
    source_topic: str | None,
    on_total: Callable[[int], None] = lambda n: None,
    advanced: Callable[[int], None] = lambda n: None,
) -> list[Record]:
    """The dead letters since `since_ms` (all when None), from `source_topic` when given."""
    tps = await partitions(consumer, topic)
    starts = await offsets_since(consumer, tps, since_ms)
    ends = await consumer.end_offsets(tps)
    ranges = {tp: (starts[tp], ends[tp]) for tp in tps}
    on_total(sum(max(0, e - s) for s, e in ranges.values()))
    found = await scan(
        consumer,
        ranges,
        keep=lambda r: source_topic is None or r.header("source-topic") == source_topic,
        advanced=advanced,
    )
    return sorted(found, key=lambda r: (r.timestamp_ms, r.partition, r.offset))


async def fetch(consumer: AIOKafkaConsumer, topic: str, letter: LetterId) -> Record:
    """One dead letter; `NotFound` when the topic has no such offset (or no longer has it)."""
    tps = {tp.partition: tp for tp in await partitions(consumer, topic)}
    tp = tps.get(letter.partition)
    if tp is None:
        raise NotFound(f"Dead letter {letter}: {topic} has no partition {letter.partition}.")
    first = (await consumer.beginning_offsets([tp]))[tp]
    end = (await consumer.end_offsets([tp]))[tp]
    if not first <= letter.offset < end:
        raise NotFound(
            f"Dead letter {letter} does not exist: partition {letter.partition} of {topic} "
            f"holds offsets {first} to {end - 1}."
        )
    [record] = await scan(consumer, {tp: (letter.offset, letter.offset + 1)})
    return record


def ensure_schema(database_url: str) -> None:
    """`ops.replays` at its latest revision (idempotent, as `make run` and the migrate job do)."""
    from alembic import command

    from shared.migrations import Migrations, alembic_config

    scripts = Path(__file__).resolve().parent / "migrations"
    try:
        command.upgrade(alembic_config(Migrations("ops", scripts), database_url), "head")
    except sa.exc.OperationalError as err:
        raise unreachable(err, database_url) from None


def earlier_replays(conn: Connection, topic: str, letter: LetterId) -> list[sa.Row[Any]]:
    """Replays of the letter recorded so far (none when `ops.replays` does not exist yet)."""
    if not table_exists(conn, "ops", "replays"):
        return []
    t = replays.c
    return list(
        conn.execute(
            sa.select(replays)
            .where(
                t.deadletter_topic == topic,
                t.deadletter_partition == letter.partition,
                t.deadletter_offset == letter.offset,
            )
            .order_by(t.id)
        ).all()
    )


async def replay(
    conn: Connection,
    producer: AIOKafkaProducer,
    *,
    topic: str,
    letter: Record,
    value: bytes,
    by: str,
) -> dict[str, object]:
    """Send `value` to the letter's source topic once; the recorded replay, as a dict."""
    source = letter.header("source-topic")
    if not source:
        raise Refused(f"Dead letter {letter.partition}:{letter.offset} names no source topic.")
    sent_digest = digest(value)
    t = replays.c
    same = conn.execute(
        sa.select(t.replayed_by, t.replayed_at, t.new_partition, t.new_offset).where(
            t.deadletter_topic == topic,
            t.deadletter_partition == letter.partition,
            t.deadletter_offset == letter.offset,
            t.digest == sent_digest,
        )
    ).first()
    if same is not None:
        raise Refused(_twice(letter, same))
    inserted = conn.execute(
        sa.dialects.postgresql.insert(replays)
        .values(
            deadletter_topic=topic,
            deadletter_partition=letter.partition,
            deadletter_offset=letter.offset,
            source_topic=source,
            digest=sent_digest,
            edited=value != letter.value,
            replayed_by=by,
        )
        .on_conflict_do_nothing(constraint="replayed_once")
        .returning(t.id, t.replayed_at)
    ).first()
    if inserted is None:
        raise Refused(
            f"Dead letter {letter.partition}:{letter.offset} is being replayed with the same "
            "content by someone else right now."
        )
    headers = [("replay-of", f"{topic}:{letter.partition}:{letter.offset}".encode())]
    meta = await producer.send_and_wait(source, value=value, key=letter.key, headers=headers)
    conn.execute(
        sa.update(replays)
        .where(t.id == inserted.id)
        .values(new_partition=meta.partition, new_offset=meta.offset)
    )
    return {
        "deadletter": f"{letter.partition}:{letter.offset}",
        "source_topic": source,
        "replayed_by": by,
        "replayed_at": inserted.replayed_at,
        "new_partition": meta.partition,
        "new_offset": meta.offset,
        "digest": sent_digest,
        "edited": value != letter.value,
    }


def _twice(letter: Record, same: Any) -> str:
    by, at, part, off = same
    return (
        f"Dead letter {letter.partition}:{letter.offset} was already replayed with this exact "
        f"content by {by} at {at:%Y-%m-%d %H:%M:%S %Z} (now {part}:{off} on its source topic); "
        "fix it with --edit or --from-file to send something different."
    )
