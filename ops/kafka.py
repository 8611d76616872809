"""Reading Kafka for `dvc`: no consumer group, partitions assigned by hand, bounded by offsets.

Every topic is keyed by unit code, so the messages about a dossier are in one partition per
topic (the producer's murmur2 partitioner); a time window turns into offsets with
`offsets_for_times`. Nothing is committed: reading never moves a service's position.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.partitioner import murmur2

from ops.errors import BrokerUnreachable, NotFound


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None


def partition_of(key: bytes, count: int) -> int:
    """The partition the default (Java and aiokafka) partitioner gives `key`."""
    return int(murmur2(key) & 0x7FFFFFFF) % count


@asynccontextmanager
async def reader(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer outside any group; Kafka unreachable becomes `BrokerUnreachable`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        request_timeout_ms=10_000,
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    try:
        await asyncio.wait_for(consumer.start(), timeout=15)
    except (KafkaConnectionError, TimeoutError, OSError) as err:
        await consumer.stop()
        raise BrokerUnreachable(bootstrap, str(err) or type(err).__name__) from None
    try:
        yield consumer
    finally:
        await consumer.stop()


@asynccontextmanager
async def admin_client(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(admin.start(), timeout=15)
    except (KafkaError, TimeoutError, OSError) as err:
        await admin.close()
        raise BrokerUnreachable(bootstrap, str(err) or type(err).__name__) from None
    try:
        yield admin
    finally:
        await admin.close()


@asynccontextmanager
async def writer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        max_request_size=1_100_000,
        request_timeout_ms=10_000,
    )
    try:
        await asyncio.wait_for(producer.start(), timeout=15)
    except (KafkaConnectionError, TimeoutError, OSError) as err:
        await producer.stop()
        raise BrokerUnreachable(bootstrap, str(err) or type(err).__name__) from None
    try:
        yield producer
    finally:
        await producer.stop()


async def partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions in order; a topic that does not exist is `NotFound`."""
    # `topics()` does not refresh the consumer's own metadata, and a consumer outside any
    # group tracks no topic: tracking it makes its partitions, leaders and offsets known.
    await consumer._client.add_topic(topic)
    found = consumer.partitions_for_topic(topic)
    if not found and topic in await consumer.topics():
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
    if not found:
        raise NotFound(f"Kafka has no topic {topic!r} (see the TOPIC_* settings).")
    return [TopicPartition(topic, p) for p in sorted(found)]


async def offsets_since(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], since_ms: int | None
) -> dict[TopicPartition, int]:
    """The first offset at or after `since_ms` in each partition (its end when none is)."""
    if since_ms is None:
        return dict(await consumer.beginning_offsets(tps))
    ends = await consumer.end_offsets(tps)
    found = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
    return {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in tps}


async def scan(
    consumer: AIOKafkaConsumer,
    ranges: dict[TopicPartition, tuple[int, int]],
    *,
    keep: Callable[[Record], bool] = lambda r: True,
    advanced: Callable[[int], None] = lambda n: None,
) -> list[Record]:
    """Every record kept by `keep` in [start, end) of each partition; `advanced(n)` as it reads."""
    wanted = {tp: span for tp, span in ranges.items() if span[0] < span[1]}
    kept: list[Record] = []
    if not wanted:
        return kept
    consumer.assign(list(wanted))
    for tp, (start, _) in wanted.items():
        consumer.seek(tp, start)
    open_ = set(wanted)
    while open_:
        batches: dict[TopicPartition, list[Any]] = await consumer.getmany(
            *open_, timeout_ms=1000, max_records=2000
        )
        for tp, records in batches.items():
            end = wanted[tp][1]
            for r in records:
                if r.offset >= end:
                    break
                advanced(1)
                record = Record(
                    r.topic,
                    r.partition,
                    r.offset,
                    r.timestamp,
                    r.key,
                    r.value or b"",
                    tuple(r.headers or ()),
                )
                if keep(record):
                    kept.append(record)
        for tp in list(open_):
            if await consumer.position(tp) >= wanted[tp][1]:
                open_.discard(tp)
    consumer.unsubscribe()
    return kept
