"""`dvc lag` and `dvc outbox`: what waits, computed as the services' own gauges compute it.

- Lag per consumer group and topic: the end offset of each partition minus the group's
  committed offset (0 when it has none), summed over partitions — the
  `<service>_consumer_lag_messages` gauge of the lag watcher.
- Outbox per service: the rows of `<schema>.outbox` — `<service>_outbox_backlog_messages`.
  Rows that can never be published ("parked") are counted apart, from the service's
  `<schema>.parked_messages` table (docs/contract.md §10).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import Connection

from ops.database import table_exists
from ops.kafka import partitions

# The services whose schemas keep an outbox (as `shared.migrations.SERVICES`).
SERVICES = ("registration", "vouchers", "control", "notify", "support")


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    lag: int
    partitions: int


@dataclass(frozen=True)
class Backlog:
    service: str
    waiting: int
    oldest_seconds: float | None
    parked: int | None


async def lag(
    admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, *, topics: set[str] | None
) -> list[Lag]:
    """Lag of every consumer group on the topics it has committed offsets for."""
    groups = sorted(g[0] for g in await admin.list_consumer_groups())
    found: list[Lag] = []
    for group in groups:
        committed = await admin.list_consumer_group_offsets(group)
        consumed = sorted(
            {tp.topic for tp in committed} & (topics or {tp.topic for tp in committed})
        )
        if not consumed:
            continue
        tps = [tp for t in consumed for tp in await partitions(consumer, t)]
        ends = await consumer.end_offsets(tps)
        per_topic: dict[str, int] = dict.fromkeys(consumed, 0)
        for tp, end in ends.items():
            done = committed.get(tp)
            per_topic[tp.topic] += end - (
                done.offset if done is not None and done.offset >= 0 else 0
            )
        for topic, waiting in per_topic.items():
            count = sum(1 for tp in tps if tp.topic == topic)
            found.append(Lag(group, topic, waiting, count))
    return found


def _has_column(conn: Connection, schema: str, table: str, column: str) -> bool:
    return bool(
        conn.execute(
            sa.text(
                "SELECT 1 FROM information_schema.columns "
                "WHERE table_schema = :s AND table_name = :t AND column_name = :c"
            ),
            {"s": schema, "t": table, "c": column},
        ).first()
    )


def outbox(conn: Connection) -> list[Backlog]:
    """Each service's outbox: rows waiting, age of the oldest, and parked rows if kept."""
    found = []
    for schema in SERVICES:
        if not table_exists(conn, schema, "outbox"):
            continue
        parked: int | None = None
        if table_exists(conn, schema, "parked_messages"):
            parked = conn.execute(
                sa.text(f'SELECT count(*) FROM "{schema}".parked_messages')
            ).scalar_one()
        waiting, oldest = conn.execute(
            sa.text(
                f"SELECT count(*), extract(epoch FROM now() - min(created_at)) "
                f'FROM "{schema}".outbox'
            )
        ).one()
        found.append(
            Backlog(schema, int(waiting), float(oldest) if oldest is not None else None, parked)
        )
    return found
