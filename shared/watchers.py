"""Figures every service reports about itself while it runs: outbox backlog, consumer lag.

A watcher that fails logs why, counts it (`<service>_background_failures_total{loop}`) and
tries again at its next turn."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

if TYPE_CHECKING:
    from shared.service import Runtime

log = logging.getLogger(__name__)


async def watch_outbox(runtime: Runtime, every: float = 5.0) -> None:
    while True:
        try:
            runtime.metrics.outbox_backlog.set(await runtime.relay.backlog())
        except Exception as exc:
            runtime.failed("outbox_watch")
            log.warning("outbox backlog unavailable: %s", exc)
        await asyncio.sleep(every)


async def _consumer_lag(
    runtime: Runtime, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer
) -> dict[str, int]:
    committed = await admin.list_consumer_group_offsets(runtime.faust.conf.id)
    partitions = [
        TopicPartition(topic, p)
        for topic in runtime.topics
        for p in (consumer.partitions_for_topic(topic) or await _partitions(consumer, topic))
    ]
    ends = await consumer.end_offsets(partitions)
    lag: dict[str, int] = dict.fromkeys(runtime.topics, 0)
    for tp, end in ends.items():
        done = committed.get(tp)
        lag[tp.topic] += end - (done.offset if done is not None and done.offset >= 0 else 0)
    return lag


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer.topics()
    return consumer.partitions_for_topic(topic) or set()


async def watch_lag(runtime: Runtime, every: float = 10.0) -> None:
    """Consumer lag per topic, through clients opened once for the life of the process."""
    bootstrap = runtime.settings.kafka_bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    started: list[Any] = []
    try:
        while True:
            try:
                for client in (admin, consumer):
                    if client not in started:
                        await client.start()
                        started.append(client)
                for topic, lag in (await _consumer_lag(runtime, admin, consumer)).items():
                    runtime.metrics.consumer_lag.labels(topic).set(lag)
            except Exception as exc:
                runtime.failed("lag_watch")
                log.warning("consumer lag unavailable: %s", exc)
            await asyncio.sleep(every)
    finally:
        if consumer in started:
            await consumer.stop()
        if admin in started:
            await admin.close()
