"""One benchmark run: the real stack and services, a portal simulator, the status stream.

Phases, in order: the transport ceiling (pass-through consumers over as many Kafka hops as a
voucher takes), fixed offered loads, then as fast as possible. Every figure comes from this
one run.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import Progress

from bench.measure import Collector, Sampler, percentiles, timeline
from bench.workload import Workload, load_or_make
from shared.db import sync_url
from shared.settings import TopicSettings
from stack import apps, demo, kafka
from stack.config import ExternalServices
from stack.ports import stack_settings
from stack.runner import Endpoints, Stack

# A voucher crosses four topics: vouchers, control, decisions, status.
HOPS = 4


class Bench:
    def __init__(
        self, console: Console, *, size: int, rates: list[int], seconds: float, out: Path
    ) -> None:
        self.console, self.size, self.rates, self.seconds, self.out = (
            console,
            size,
            rates,
            seconds,
            out,
        )
        self.settings = stack_settings("bench", Path("var/bench"))
        self.topics = TopicSettings()
        self.timeline: list[dict[str, float]] = []

    def up(self, workload: Workload) -> tuple[Stack, Endpoints, dict[str, int]]:
        import shutil

        shutil.rmtree(self.settings.var_dir, ignore_errors=True)
        # A stack of its own: the environment's KAFKA_BOOTSTRAP_SERVERS etc. are not for it.
        stack = Stack(self.settings, ExternalServices.none())
        with self.console.status("Starting Kafka, PostgreSQL, SMTP and the services…") as s:
            endpoints = stack.up(foreground=True, progress=lambda m: s.update(m))
            home = self.settings.var_dir / "bench"
            home.mkdir(parents=True, exist_ok=True)
            (home / "ca.pem").write_bytes(workload.ca_pem)
            (home / "offices.json").write_text(json.dumps(demo.offices_document()))
            env = {
                **endpoints.environment(),
                "TRUSTED_CA_FILE": str((home / "ca.pem").resolve()),
                "TREASURY_DIRECTORY": str((home / "offices.json").resolve()),
                "REGISTRATION_APPROVAL": "auto",
                "STAFF_JWT_SECRET": secrets.token_hex(16),
                "PORTAL_API_KEYS": "bench",
                "PORTAL_WEBHOOKS": "",
                "LOG_LEVEL": "WARNING",
            }
            pids = {}
            procs = []
            for name, port in self.settings.service_ports().items():
                proc = apps.service_process(name, port, env, self.settings)
                stack.start(proc, foreground=True)
                procs.append((proc, port))
            for proc, port in procs:
                apps.wait_service(proc, port, 120)
                assert proc.pid is not None
                pids[proc.name] = proc.pid
        return stack, endpoints, pids

    async def populate(self, endpoints: Endpoints, workload: Workload) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=endpoints.kafka_bootstrap_servers, acks="all", linger_ms=10
        )
        await producer.start()
        try:
            for topic, items in (
                (self.topics.registrations, workload.registrations),
                (self.topics.allocations, []),
            ):
                await asyncio.gather(
                    *[await producer.send(topic, v, key=k.encode()) for k, v in items]
                )
            dsn = sync_url(endpoints.database_url).replace("postgresql+psycopg", "postgresql")
            units = len(workload.registrations)
            with self.console.status(f"Registering {units} units…"):
                await _until(lambda: _count(dsn, "vouchers.unit_directory") >= units, 300)
                await asyncio.gather(
                    *[
                        await producer.send(self.topics.allocations, v, key=k.encode())
                        for k, v in workload.allocations
                    ]
                )
                await _until(
                    lambda: _count(dsn, "control.budget_lines") >= len(workload.allocations), 300
                )
        finally:
            await producer.stop()

    async def ceiling(self, bootstrap: str, messages: list[tuple[str, str, bytes]]) -> float:
        """Messages per second through the same number of hops with pass-through consumers."""
        run = uuid.uuid4().hex[:6]
        topics = [f"bench.{run}.hop{i}" for i in range(HOPS)]
        await kafka.ensure_topics(bootstrap, topics, set(), partitions=12, replication=1)
        # A long-lived child, stopped at the end of this phase; nothing waits on it here.
        forward = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "bench.passthrough", bootstrap, *topics]
        )
        try:
            consumer = AIOKafkaConsumer(
                topics[-1],
                bootstrap_servers=bootstrap,
                auto_offset_reset="earliest",
                max_poll_records=2000,
            )
            await consumer.start()
            await asyncio.sleep(3)
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
            await producer.start()
            began = time.monotonic()
            pending = [await producer.send(topics[0], v, key=k.encode()) for k, _, v in messages]
            await asyncio.gather(*pending)
            await producer.stop()
            arrived = 0
            while arrived < len(messages):
                batches = await consumer.getmany(timeout_ms=200)
                arrived += sum(len(r) for r in batches.values())
                if time.monotonic() - began > 600:
                    break
            elapsed = time.monotonic() - began
            await consumer.stop()
        finally:
            forward.kill()
            forward.wait()
        return arrived / elapsed

    async def offer(
        self,
        producer: AIOKafkaProducer,
        collector: Collector,
        messages: list[tuple[str, str, bytes]],
        rate: float | None,
        sampler: Sampler,
        label: str,
    ) -> dict[str, Any]:
        """Send `messages` at `rate` per second (None: as fast as possible); wait for all."""
        began = time.monotonic()
        with Progress(console=self.console, transient=True) as bar:
            task = bar.add_task(label, total=len(messages))
            for i, (key, dossier, value) in enumerate(messages):
                if rate is not None:
                    wait = began + i / rate - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                collector.sent[dossier] = time.monotonic()
                await producer.send("dvc.vouchers.v1", value, key=key.encode())
                if i % 200 == 0:
                    bar.update(
                        task, completed=sum(1 for _, d, _ in messages if d in collector.done)
                    )
                    sampler.sample()
            while True:
                finished = sum(1 for _, d, _ in messages if d in collector.done)
                bar.update(task, completed=finished)
                sampler.sample()
                if finished == len(messages) or time.monotonic() - began > 1800:
                    break
                await asyncio.sleep(0.5)
        ids = [d for _, d, _ in messages if d in collector.done]
        latencies = [collector.done[d] - collector.sent[d] for d in ids]
        first = min(collector.sent[d] for _, d, _ in messages)
        last = max(collector.done[d] for d in ids)
        return {
            "offered_per_second": rate,
            "vouchers": len(messages),
            "finished": len(ids),
            "seconds": last - first,
            "throughput_per_second": len(ids) / (last - first),
            "latency_seconds": percentiles(latencies),
        }

    async def measure(
        self, endpoints: Endpoints, workload: Workload, pids: dict[str, int]
    ) -> dict[str, Any]:
        bootstrap = endpoints.kafka_bootstrap_servers
        vouchers = workload.vouchers
        fixed = [int(r * self.seconds) for r in self.rates]
        if sum(fixed) >= len(vouchers):
            raise SystemExit(
                f"BENCH_SIZE {self.size} is too small for the fixed-rate phases "
                f"({sum(fixed)} vouchers); raise it or lower the rates"
            )
        with self.console.status("Transport ceiling: pass-through consumers…"):
            ceiling = await self.ceiling(bootstrap, vouchers[sum(fixed) :])
        collector = Collector()
        reader = asyncio.create_task(collector.read(bootstrap, self.topics.status))
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        sampler = Sampler(pids)
        phases = []
        start = 0
        for rate, count in zip(self.rates, fixed, strict=True):
            part = vouchers[start : start + count]
            start += count
            phases.append(
                await self.offer(
                    producer, collector, part, rate, sampler, f"{rate} vouchers/s offered"
                )
            )
        cpu_before = sampler.cpu_since_start()
        burst = await self.offer(
            producer, collector, vouchers[start:], None, sampler, "as fast as possible"
        )
        cpu = {n: c - cpu_before[n] for n, c in sampler.cpu_since_start().items()}
        await producer.stop()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        self.timeline = timeline(collector, [d for _, d, _ in vouchers[start:]])
        return {
            "size": self.size,
            "units": len(workload.registrations),
            "ceiling_per_second": ceiling,
            "fixed_rates": phases,
            "as_fast_as_possible": burst,
            "ceiling_ratio": burst["throughput_per_second"] / ceiling,
            "cpu_seconds_during_burst": cpu,
            "cpu_share_during_burst": {n: c / burst["seconds"] for n, c in cpu.items()},
            "peak_rss_mib": {n: r / 2**20 for n, r in sampler.peak_rss.items()},
        }


def _count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


async def _until(check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark's set-up did not complete in time")
        await asyncio.sleep(0.5)


def run(
    console: Console, *, size: int, rates: list[int], seconds: float, out: Path
) -> dict[str, Any]:
    bench = Bench(console, size=size, rates=rates, seconds=seconds, out=out)
    units = max(200, size // 100)
    workload = load_or_make(size, units)
    stack, endpoints, pids = bench.up(workload)
    try:
        asyncio.run(bench.populate(endpoints, workload))
        results = asyncio.run(bench.measure(endpoints, workload, pids))
    finally:
        stack.stop_started()
    results["timeline"] = bench.timeline
    return results
