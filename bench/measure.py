"""What a benchmark run measures: when each voucher's final status arrives, latency
percentiles, per-second throughput, and each service's CPU time and peak memory."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
import psutil
from aiokafka import AIOKafkaConsumer

from shared.contract.enums import TERMINAL_STATUSES, DossierKind


@dataclass
class Collector:
    """Terminal statuses as they arrive, with the time each voucher was sent."""

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
                now = time.monotonic()
                for records in batches.values():
                    for r in records:
                        payload = orjson.loads(r.value)["payload"]
                        voucher = payload.get("dossier_kind") == DossierKind.VOUCHER
                        if voucher and payload["status"] in TERMINAL_STATUSES:
                            self.done.setdefault(payload["dossier_id"], now)
        finally:
            await consumer.stop()


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1]}


class Sampler:
    """CPU seconds and peak RSS of each service process, sampled every second."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {n: psutil.Process(p) for n, p in pids.items()}
        self.peak_rss: dict[str, int] = dict.fromkeys(pids, 0)
        self.start_cpu = {n: self._cpu(p) for n, p in self.procs.items()}

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def sample(self) -> None:
        for name, proc in self.procs.items():
            self.peak_rss[name] = max(self.peak_rss[name], proc.memory_info().rss)

    def cpu_since_start(self) -> dict[str, float]:
        return {n: self._cpu(p) - self.start_cpu[n] for n, p in self.procs.items()}


def timeline(collector: Collector, ids: list[str]) -> list[dict[str, float]]:
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
