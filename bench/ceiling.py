"""Transport ceilings: the vouchers through as many Kafka hops as a voucher takes, no work done.

Two layers, each in a child process of its own: plain aiokafka consumers and producer
(`bench.passthrough`), and the services' Faust consumer with their producer
(`bench.passthrough_faust`), on the services' event loop (uvloop) and on asyncio's. The
pipeline's rate against each shows the cost of each layer.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stack import kafka

# A voucher crosses four topics: vouchers, control, decisions, status.
HOPS = 4
LAYERS = {
    "aiokafka": ["bench.passthrough"],
    # The services' consumer on their event loop, and on asyncio's: what uvloop buys.
    "faust": ["bench.passthrough_faust", "uvloop"],
    "faust on asyncio's loop": ["bench.passthrough_faust", "asyncio"],
}


async def ceiling(bootstrap: str, messages: list[tuple[str, str, bytes]], layer: str) -> float:
    """Messages per second through HOPS topics, forwarded by the pass-through of `layer`."""
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
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        # The clock starts once one message has gone through: every group has joined.
        await producer.send_and_wait(topics[0], b"{}", key=b"warm-up")
        await _arrive(consumer, 1, within=120)
        began = time.monotonic()
        pending = [await producer.send(topics[0], v, key=k.encode()) for k, _, v in messages]
        await asyncio.gather(*pending)
        await producer.stop()
        arrived = await _arrive(consumer, len(messages), within=600)
        elapsed = time.monotonic() - began
        await consumer.stop()
    finally:
        forward.kill()
        forward.wait()
    return arrived / elapsed


async def _arrive(consumer: AIOKafkaConsumer, count: int, *, within: float) -> int:
    """Read until `count` messages have arrived or `within` seconds passed; how many did."""
    arrived, deadline = 0, time.monotonic() + within
    while arrived < count and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=200)
        arrived += sum(len(r) for r in batches.values())
    return arrived
