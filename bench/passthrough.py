"""The transport ceiling: consumers that only forward each message to the next topic.

`python -m bench.passthrough <bootstrap> <topic0> <topic1> … <topicN>` forwards topic i to
topic i+1 for every i, one consumer group per hop, until killed.
"""

from __future__ import annotations

import asyncio
import itertools
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def hop(bootstrap: str, source: str, target: str, producer: AIOKafkaProducer) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"pass-{source}",
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=50)
            pending = [
                await producer.send(target, r.value, key=r.key)
                for records in batches.values()
                for r in records
            ]
            await asyncio.gather(*pending)
            if pending:
                await consumer.commit()
    finally:
        await consumer.stop()


async def main(bootstrap: str, topics: list[str]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=True
    )
    await producer.start()
    try:
        await asyncio.gather(
            *(hop(bootstrap, a, b, producer) for a, b in itertools.pairwise(topics))
        )
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
