"""Transport ceilings and floors: the vouchers through as many Kafka hops as a voucher takes,
no work done.

Two layers, each in a child process of its own: plain aiokafka consumers and producer
(`bench.passthrough`), and the services' Faust consumer with their producer
(`bench.passthrough_faust`), on the services' event loop (uvloop) and on asyncio's. The
pipeline's rate against each shows the cost of each layer.

The **ceiling** is how fast each layer forwards a burst. The **floor** is the services' layer
offered the fixed loads of the pipeline's phases: its latency and the CPU it costs per message
(the broker's, the pass-through's and the bench's own producer and reader) are what any
pipeline built on this transport pays on this machine before it does any work.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from bench.collect import pace, percentiles
from bench.cpu import CpuBudget, Tracked
from stack import kafka

# A voucher crosses four topics: vouchers, control, decisions, status.
HOPS = 4
LAYERS = {
    "aiokafka": ["bench.passthrough"],
    # The services' consumer on their event loop, and on asyncio's: what uvloop buys.
    "faust": ["bench.passthrough_faust", "uvloop"],
    "faust on asyncio's loop": ["bench.passthrough_faust", "asyncio"],
}
FLOOR_LAYER = "faust"
"""The floor is measured on the services' own transport."""


@contextlib.asynccontextmanager
async def _hops(
    bootstrap: str, layer: str
) -> AsyncIterator[tuple[list[str], subprocess.Popen[bytes], AIOKafkaConsumer]]:
    """Fresh topics, the pass-through of `layer` forwarding along them, and a consumer of the
    last one, once one message has gone all the way (every group has joined). The topics are
    deleted afterwards, so their partitions cost the broker nothing in the phases that follow."""
    run = uuid.uuid4().hex[:6]
    topics = [f"bench.{layer.split()[0]}.{run}.hop{i}" for i in range(HOPS)]
    await kafka.ensure_topics(bootstrap, topics, set(), partitions=12, replication=1)
    # A long-lived child, stopped at the end of this phase; nothing waits on it here.
    forward = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", *LAYERS[layer], bootstrap, *topics]
    )
    try:
        consumer = AIOKafkaConsumer(
            topics[-1],
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            max_poll_records=2000,
        )
        await consumer.start()
        try:
            async with _producer(bootstrap) as producer:
                await producer.send_and_wait(topics[0], b"{}", key=b"warm-up")
            if await _arrive(consumer, 1, within=120) < 1:
                raise RuntimeError(
                    f"the {layer} pass-through forwarded nothing to {topics[-1]} within 120 s"
                )
            yield topics, forward, consumer
        finally:
            await consumer.stop()
    finally:
        forward.kill()
        forward.wait()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics(topics)
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def _producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def ceiling(bootstrap: str, messages: list[tuple[str, str, bytes]], layer: str) -> float:
    """Messages per second through HOPS topics, forwarded by the pass-through of `layer`."""
    async with _hops(bootstrap, layer) as (topics, _, consumer):
        began = time.monotonic()
        async with _producer(bootstrap) as producer:
            pending = [await producer.send(topics[0], v, key=k.encode()) for k, _, v in messages]
            await asyncio.gather(*pending)
        arrived = await _arrive(consumer, len(messages), within=600)
        elapsed = time.monotonic() - began
    return arrived / elapsed


async def floor(
    bootstrap: str, messages: list[tuple[str, str, bytes]], rate: int, broker_pid: int
) -> dict[str, Any]:
    """`messages` offered at `rate` per second through the services' transport, no work done:
    latency from sending to the last topic, and the CPU per message of each process."""
    async with _hops(bootstrap, FLOOR_LAYER) as (topics, forward, consumer):
        budget = CpuBudget(
            [
                Tracked("kafka", broker_pid),
                Tracked(f"{FLOOR_LAYER} pass-through", forward.pid),
                Tracked("bench (producer, reader)", os.getpid()),
            ]
        )
        sent: dict[bytes, float] = {}
        arrived: dict[bytes, float] = {}

        async def read() -> None:
            while len(arrived) < len(messages):
                batches = await consumer.getmany(timeout_ms=200)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        if record.key in sent:
                            arrived.setdefault(record.key, now)

        reader = asyncio.create_task(read())
        budget.start()
        began = time.monotonic()
        async with _producer(bootstrap) as producer:
            for i, (_, _, value) in enumerate(messages):
                await pace(began, i, rate)
                # Keys of its own, so each message's arrival is told from the others'.
                key = f"floor-{i}".encode()
                sent[key] = time.time()
                await producer.send(topics[0], value, key=key)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), timeout=120)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        seconds = time.monotonic() - began
        budget.stop()
    latencies = [arrived[k] - sent[k] for k in arrived]
    return {
        "offered_per_second": rate,
        "messages": len(messages),
        "arrived": len(arrived),
        "latency_seconds": percentiles(latencies),
        "cpu": budget.table(vouchers=len(messages), seconds=seconds),
    }


async def _arrive(consumer: AIOKafkaConsumer, count: int, *, within: float) -> int:
    """Read until `count` messages have arrived or `within` seconds passed; how many did."""
    arrived, deadline = 0, time.monotonic() + within
    while arrived < count and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=200)
        arrived += sum(len(r) for r in batches.values())
    return arrived
