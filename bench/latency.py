"""Where a voucher's time goes, hop by hop, from timestamps the pipeline already keeps.

For each voucher of a sample: the Kafka timestamp of each record it causes on its way
(submission, control, decision, final status: the time the producer handed it to the
client), and in each service the inbox row of the message applied (`processed_at`, the start
of the transaction, and the commit time PostgreSQL records when `track_commit_timestamp` is
on). Between them:

- wait: from the record's timestamp to the start of the transaction that applied it (the
  producer's linger, the broker, the fetch, and the batch window);
- transaction: from its start to its commit;
- relay: from the commit to the timestamp of the record the outbox relay published.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.settings import TopicSettings

TERMINAL = {"approved", "refused", "returned", "rejected"}


@dataclass(frozen=True)
class Hop:
    topic: str
    """The topic of the record that starts the hop."""
    schema: str
    """The service (and database schema) that applies it."""


def hops(topics: TopicSettings) -> list[Hop]:
    return [
        Hop(topics.vouchers, "vouchers"),
        Hop(topics.control, "control"),
        Hop(topics.decisions, "vouchers"),
    ]


async def read_timestamps(
    bootstrap: str, topics: Sequence[str], wanted: set[str], partitions: int
) -> dict[tuple[str, str], tuple[float, str]]:
    """(topic, dossier) → (Kafka timestamp in s, event_id) of the first record for a sampled
    dossier; on the status topic, of its final status."""
    found: dict[tuple[str, str], tuple[float, str]] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        remaining = {tp for tp in parts if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
            for tp, records in batches.items():
                for r in records:
                    doc = orjson.loads(r.value or b"{}")
                    payload = doc.get("payload") or {}
                    dossier = payload.get("dossier_id")
                    if dossier not in wanted or (tp.topic, dossier) in found:
                        continue
                    if tp.topic == topics[-1] and payload.get("status") not in TERMINAL:
                        continue
                    found[(tp.topic, dossier)] = (r.timestamp / 1000, doc.get("event_id", ""))
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return found


def inbox_times(dsn: str, schema: str, event_ids: list[str]) -> dict[str, tuple[float, float, str]]:
    """event_id → (transaction start, commit, transaction id) from `schema`'s inbox."""
    columns = (
        "event_id, extract(epoch FROM processed_at)::float8,"
        " extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8, xmin::text"
    )
    query = f"SELECT {columns} FROM {schema}.processed_events WHERE event_id = ANY(%s)"  # noqa: S608
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(query, (event_ids,)).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows if r[2] is not None}


def batch_sizes(dsn: str, schema: str, xids: set[str]) -> list[int]:
    """Messages applied in each of these transactions (the batch each sampled one was in)."""
    if not xids:
        return []
    query = (
        f"SELECT count(*) FROM {schema}.processed_events"  # noqa: S608
        " WHERE xmin::text = ANY(%s) GROUP BY xmin::text"
    )
    with psycopg.connect(dsn) as conn:
        return [int(r[0]) for r in conn.execute(query, (sorted(xids),)).fetchall()]


@dataclass(frozen=True)
class Source:
    """Where the timestamps are: the broker and its topics, the database."""

    bootstrap: str
    dsn: str
    topics: TopicSettings
    partitions: int


async def budget(
    source: Source,
    sent: dict[str, float],
    done: dict[str, float],
    dossiers: Sequence[str],
    sample: int = 300,
) -> dict[str, object]:
    """Mean and median of each segment of a submission's way, over a sample of `dossiers`."""
    bootstrap, dsn, topics = source.bootstrap, source.dsn, source.topics
    finished = [d for d in dossiers if d in done]
    chosen = set(
        random.Random(2026).sample(  # noqa: S311
            finished, min(sample, len(finished))
        )
    )
    path = hops(topics)
    names = [h.topic for h in path] + [topics.status]
    stamps = await read_timestamps(bootstrap, names, chosen, source.partitions)
    inbox: dict[str, dict[str, tuple[float, float, str]]] = {}
    for schema in {h.schema for h in path}:
        ids = [
            stamps[(h.topic, d)][1]
            for h in path
            if h.schema == schema
            for d in chosen
            if (h.topic, d) in stamps
        ]
        inbox[schema] = inbox_times(dsn, schema, ids)
    segments: dict[str, list[float]] = defaultdict(list)
    xids: dict[int, set[str]] = defaultdict(set)
    complete = 0
    for d in chosen:
        keys = [(t, d) for t in names]
        if not all(k in stamps for k in keys):
            continue
        applied = [inbox[h.schema].get(stamps[(h.topic, d)][1]) for h in path]
        if any(a is None for a in applied):
            continue
        complete += 1
        segments["submission: bench producer to Kafka"].append(stamps[keys[0]][0] - sent[d])
        for i, (hop, row) in enumerate(zip(path, applied, strict=True)):
            assert row is not None
            start, commit, xid = row
            label = f"{i + 1}. {hop.schema} ({hop.topic.split('.')[-2]})"
            segments[f"{label}: wait (Kafka, fetch, batch window)"].append(
                start - stamps[keys[i]][0]
            )
            segments[f"{label}: transaction"].append(commit - start)
            segments[f"{label}: outbox relay"].append(stamps[keys[i + 1]][0] - commit)
            xids[i].add(xid)
        segments["final status: Kafka to the bench's reader"].append(done[d] - stamps[keys[-1]][0])
    total = [done[d] - sent[d] for d in chosen if d in done]
    return {
        "sampled": len(chosen),
        "complete": complete,
        "segments_ms": {
            name: {
                "mean": 1000 * statistics.fmean(v),
                "p50": 1000 * statistics.median(v),
                "p99": 1000 * sorted(v)[min(len(v) - 1, int(0.99 * len(v)))],
            }
            for name, v in segments.items()
        },
        "end_to_end_ms": {
            "mean": 1000 * statistics.fmean(total) if total else 0.0,
            "p50": 1000 * statistics.median(total) if total else 0.0,
        },
        "mean_batch_size": {
            f"{i + 1}. {path[i].schema}": statistics.fmean(s) if s else 0.0
            for i, s in ((i, batch_sizes(dsn, path[i].schema, x)) for i, x in sorted(xids.items()))
        },
    }
