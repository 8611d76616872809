"""The status stream as the bench reads it: when each voucher was sent and reached its end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer

from bench.latency import TERMINAL


@dataclass
class Collector:
    """Final statuses as they arrive, with the time each voucher was sent (epoch seconds, so
    that they compare with Kafka's and PostgreSQL's timestamps)."""

    sent: dict[str, float] = field(default_factory=dict)
    done: dict[str, float] = field(default_factory=dict)

    async def read(self, bootstrap: str, topic: str) -> None:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_records=2000,
        )
        await consumer.start()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=100)
                now = time.time()
                for records in batches.values():
                    for r in records:
                        payload = orjson.loads(r.value)["payload"]
                        if (
                            payload.get("dossier_kind") == "voucher"
                            and payload["status"] in TERMINAL
                        ):
                            self.done.setdefault(payload["dossier_id"], now)
        finally:
            await consumer.stop()


async def pace(began: float, i: int, rate: float | None) -> None:
    """Wait for the turn of the `i`-th message offered at `rate` per second since `began`
    (`time.monotonic()`); no wait when `rate` is None (as fast as possible)."""
    if rate is None:
        return
    wait = began + i / rate - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1]}


def timeline(collector: Collector, ids: list[str]) -> list[dict[str, float]]:
    """Throughput and latency of each second of a phase."""
    done = sorted(
        (collector.done[d], collector.done[d] - collector.sent[d])
        for d in ids
        if d in collector.done
    )
    if not done:
        return []
    start = min(collector.sent[d] for d in ids)
    seconds: dict[int, list[float]] = {}
    for at, latency in done:
        seconds.setdefault(int(at - start), []).append(latency)
    return [
        {
            "second": s,
            "throughput": len(v),
            "p50": percentiles(v)["p50"],
            "p99": percentiles(v)["p99"],
        }
        for s, v in sorted(seconds.items())
    ]
