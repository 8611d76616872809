"""The Kafka producer of a service, created when its event loop runs (aiokafka requires it)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import RecordMetadata

MAX_REQUEST_BYTES = 1_100_000
"""Kafka's per-message limit everywhere in the product: the broker's `message.max.bytes`, the
producers' `max_request_size` and the consumers' per-partition fetch size. It leaves room
above the contract's 1 MiB value for the key, the headers and the record overhead, so any
message the contract allows can be published, and a dead letter of one too."""


class Producer:
    """Idempotent, acks=all; built in `start()` on the running loop, not at construction."""

    def __init__(self, bootstrap_servers: str, **options: Any) -> None:
        self._options = {
            "bootstrap_servers": bootstrap_servers,
            "acks": "all",
            "enable_idempotence": True,
            # No lingering: the relay hands a whole batch of rows to the client before it
            # yields, so they share requests anyway, and a lone event leaves at once.
            "linger_ms": 0,
            "max_request_size": MAX_REQUEST_BYTES,
            **options,
        }
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect; on failure nothing is left open, so `start()` can be tried again."""
        producer = AIOKafkaProducer(**self._options)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def topics(self) -> set[str]:
        """The topics the cluster has now."""
        metadata = await self._started.client.fetch_all_metadata()
        return set(metadata.topics())

    @property
    def started(self) -> bool:
        return self._producer is not None

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def _started(self) -> AIOKafkaProducer:
        if self._producer is None:
            # A KafkaError, as when the broker cannot be reached: callers answer "try again".
            raise KafkaConnectionError("not connected to the broker yet")
        return self._producer

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue a message; the returned future resolves once the broker has it."""
        future: asyncio.Future[RecordMetadata] = await self._started.send(
            topic, value=value, key=key, headers=headers
        )
        return future

    async def send_and_wait(self, topic: str, value: bytes, *, key: bytes | None = None) -> None:
        await self._started.send_and_wait(topic, value=value, key=key)
