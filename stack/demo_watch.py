"""What the demo watches and reports: each dossier's statuses as they arrive on the status
topic, and the summary printed at the end (outcomes, reasons, throughput, latency)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from rich.table import Table

from shared.contract.enums import TERMINAL_STATUSES


@dataclass
class Summary:
    submitted: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    reviewed: int = 0
    kept_in_review: str | None = None
    seconds: float = 0.0
    investment: Table | None = None
    support: Table | None = None

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def table(self) -> Table:
        table = Table(title=f"Demo: {self.submitted} vouchers", show_header=True)
        table.add_column("final status")
        table.add_column("count", justify="right")
        table.add_column("reasons")
        for status, count in self.statuses.most_common():
            reasons = ", ".join(
                f"{code} {n}"
                for code, n in self.reasons.most_common()
                if code.startswith(f"{status}:")
            ).replace(f"{status}:", "")
            table.add_row(status, str(count), reasons)
        return table

    def lines(self) -> list[str]:
        rate = sum(self.statuses.values()) / self.seconds if self.seconds else 0.0
        return [
            f"Throughput: {rate:.0f} vouchers/s to a final status ({self.seconds:.1f} s in all).",
            f"Latency from submission to final status, decided without an officer: "
            f"p50 {self.percentile(0.5) * 1000:.0f} ms, p95 {self.percentile(0.95) * 1000:.0f} ms, "
            f"p99 {self.percentile(0.99) * 1000:.0f} ms ({len(self.latencies)} vouchers).",
            f"Held for an officer and decided by the demo's officer: {self.reviewed}.",
            f"Left in review, deadline within 2 hours (for the dashboard): {self.kept_in_review}.",
            "One message that is not JSON went to the dead-letter topic: `dvc deadletters list`.",
        ]


class StatusWatch:
    """Reads the status topic in the background and remembers each dossier's events."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.arrived: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _read(self) -> None:
        async for record in self._consumer:
            payload = orjson.loads(record.value).get("payload", {})
            dossier = payload.get("dossier_id")
            if isinstance(dossier, str):
                self.events.setdefault(dossier, []).append(payload)
                if payload.get("status") in TERMINAL_STATUSES:
                    self.arrived.setdefault(dossier, time.monotonic())

    def final(self, dossier: str) -> dict[str, Any] | None:
        for event in self.events.get(dossier, []):
            if event["status"] in TERMINAL_STATUSES:
                return event
        return None

    def has(self, dossier: str, status: str) -> bool:
        return any(e["status"] == status for e in self.events.get(dossier, []))


async def wait_until(count: Callable[[], int], target: int, within: float, what: str) -> None:
    """Wait until `count()` reaches `target`; fail saying how far it got."""
    deadline = time.monotonic() + within
    while (seen := count()) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"demo: after {within:.0f} s, still waiting for {what}: {seen} of {target}"
            )
        await asyncio.sleep(0.2)
